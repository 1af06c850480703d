"""Badge images (Pillow) and Open Badges 3.0 "baking" of a credential into a PNG.

Baking, as Open Badges 3.0 specifies it for PNG: the credential goes into an ``iTXt`` chunk
with the keyword ``openbadgecredential``; its text is the JSON of the credential (embedded
proof) or the compact JWS (VC-JWT). Compression MUST NOT be used; the language tag and the
translated keyword carry no meaning (left empty). The chunk MUST NOT appear more than once:
baking an image that already carries one replaces it. Extraction reads the first such chunk.
All other chunks, and the image data, are copied byte for byte.
"""

import functools
import io
import json
import math
import os
import shutil
import struct
import subprocess
import unicodedata
import zlib

from PIL import Image, ImageDraw, ImageFont

from credentials.rendering.content import CertificateContent

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BAKING_KEYWORD = b"openbadgecredential"

NAVY = (29, 53, 87, 255)
NAVY_DARK = (17, 33, 58, 255)
GOLD = (196, 160, 78, 255)
GOLD_LIGHT = (233, 216, 166, 255)
WHITE = (255, 255, 255, 255)

# Characters that must not start a line (kinsoku): closing punctuation, CJK and Latin.
_NO_LINE_START = set("，。、；：？！）》」』】〉”’…—,.;:?!)]}%")
_NO_LINE_END = set("（《「『【〈“‘([{")


# --- fonts -----------------------------------------------------------------------------------


@functools.cache
def _cjk_font_location() -> tuple[str, int] | None:
    """(file, face index) of a bold CJK-capable font from fontconfig, or None."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [fc_match, "-f", "%{file}\n%{index}", "Noto Sans CJK SC:bold"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.splitlines()
    if not lines or not os.path.isfile(lines[0]):
        return None
    index = int(lines[1]) if len(lines) > 1 and lines[1].strip().isdigit() else 0
    return lines[0], index


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    location = _cjk_font_location()
    if location is not None:
        try:
            return ImageFont.truetype(location[0], size, index=location[1])
        except OSError:
            pass
    return ImageFont.load_default(size=size)


# --- the badge image -------------------------------------------------------------------------


def badge_image(content: CertificateContent, *, size: int = 600) -> bytes:
    """A round emblem (PNG, transparent corners): course title, level and year.

    Drawn at twice the size and scaled down, so edges and text are smooth. Nothing of the
    driver is on it, so every certificate of a course in a year and language shares one image
    (drawn once per process: it took about a quarter of a certificate's rendering, issue 8);
    the credential is baked into each copy afterwards (``bake_png``).
    """
    if size < 64:
        raise ValueError("badge size must be at least 64 pixels")
    return _badge_png(
        content.course_title, content.level, content.achievement_type, content.issued_on.year, size
    )


@functools.lru_cache(maxsize=64)
def _badge_png(course_title: str, level: str, achievement_type: str, year: int, size: int) -> bytes:
    ss = 2  # supersampling factor
    s = size * ss
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def circle(inset: float, **kwargs) -> None:
        draw.ellipse((inset * s, inset * s, s - inset * s, s - inset * s), **kwargs)

    circle(0.005, fill=GOLD)
    circle(0.045, fill=NAVY_DARK)
    circle(0.065, fill=NAVY)
    circle(0.085, outline=GOLD, width=max(2, s // 300))

    # Year and stars at the top.
    year_font = _font(round(s * 0.055))
    _centered(draw, str(year), s * 0.19, year_font, GOLD_LIGHT, s)
    star_r = s * 0.018
    for dx in (-0.12, 0.12):
        _star(draw, s * (0.5 + dx), s * 0.19 + year_font.size * 0.62, star_r, GOLD)

    # Course title, wrapped and shrunk until it fits the disc's middle band.
    box_w, box_h = s * 0.66, s * 0.30
    lines, title_font = _fit(course_title, box_w, box_h, start=round(s * 0.085))
    line_h = title_font.size * 1.25
    y = s * 0.47 - line_h * len(lines) / 2
    for line in lines:
        _centered(draw, line, y, title_font, WHITE, s)
        y += line_h

    # Ribbon with the level.
    level, level_font = _fit_line(level, s * 0.56, start=round(s * 0.052))
    ribbon_h = level_font.size * 1.9
    text_w = draw.textlength(level, font=level_font)
    ribbon_w = max(s * 0.46, text_w + s * 0.12)
    top = s * 0.66
    x0, x1 = (s - ribbon_w) / 2, (s + ribbon_w) / 2
    notch = ribbon_h * 0.35
    tail_w = s * 0.07
    for sign, edge in ((-1, x0), (1, x1)):  # the folded tails behind the band
        tail_edge = edge + sign * tail_w
        draw.polygon(
            [
                (edge, top + ribbon_h * 0.25),
                (tail_edge, top + ribbon_h * 0.25),
                (tail_edge - sign * notch, top + ribbon_h * 0.75),
                (tail_edge, top + ribbon_h * 1.25),
                (edge, top + ribbon_h * 1.25),
            ],
            fill=(160, 128, 58, 255),
        )
    draw.rectangle((x0, top, x1, top + ribbon_h), fill=GOLD)
    _centered(draw, level, top + (ribbon_h - level_font.size * 1.2) / 2, level_font, NAVY_DARK, s)

    # The achievement type, small, under the ribbon.
    kind, type_font = _fit_line(achievement_type, s * 0.44, start=round(s * 0.038))
    _centered(draw, kind, s * 0.815, type_font, GOLD_LIGHT, s)

    image = image.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _centered(draw, text: str, y: float, font, fill, width: float) -> None:
    text_w = draw.textlength(text, font=font)
    draw.text(((width - text_w) / 2, y), text, font=font, fill=fill)


def _star(draw, cx: float, cy: float, r: float, fill) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.42
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Break opportunities: each CJK character on its own, Latin words with their spaces."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if _is_wide(ch) or ch.isspace():
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def _wrap(text: str, font, max_width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _tokens(" ".join(text.split())):
        candidate = line + token
        if not line or font.getlength(candidate.rstrip()) <= max_width:
            line = candidate
            continue
        if token.isspace():
            lines.append(line.rstrip())
            line = ""
            continue
        if token[0] in _NO_LINE_START:  # keep closing punctuation on the line before
            line = candidate
            continue
        if len(line) > 1 and line[-1] in _NO_LINE_END:  # and opening punctuation after
            lines.append(line[:-1].rstrip())
            line = line[-1] + token
            continue
        lines.append(line.rstrip())
        line = token
    if line.strip():
        lines.append(line.rstrip())
    # A single word wider than the box is split by characters.
    result: list[str] = []
    for line in lines:
        while font.getlength(line) > max_width and len(line) > 1:
            cut = len(line)
            while cut > 1 and font.getlength(line[:cut]) > max_width:
                cut -= 1
            result.append(line[:cut])
            line = line[cut:]
        result.append(line)
    return result


def _fit(text: str, max_width: float, max_height: float, *, start: int):
    size = start
    while True:
        font = _font(size)
        lines = _wrap(text, font, max_width)
        if len(lines) * size * 1.25 <= max_height or size <= 12:
            break
        size = max(12, int(size * 0.9))
    max_lines = max(1, int(max_height // (size * 1.25)))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(lines[-1] + "…", font, max_width)
    return lines, font


def _fit_line(text: str, max_width: float, *, start: int):
    """One line: the font shrinks (to 70% at most) before the text is ellipsized."""
    text = " ".join(text.split())
    size = start
    font = _font(size)
    while font.getlength(text) > max_width and size > max(10, start * 0.7):
        size -= 1
        font = _font(size)
    return _ellipsize(text, font, max_width), font


def _ellipsize(text: str, font, max_width: float) -> str:
    if font.getlength(text) <= max_width:
        return text
    while text and font.getlength(text + "…") > max_width:
        text = text[:-1].rstrip("…")
    return text + "…"


# --- baking ----------------------------------------------------------------------------------


def _chunks(png: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """The PNG's chunks as (type, data, raw bytes) up to and including IEND.

    Raises ValueError if ``png`` is not a well-formed PNG datastream.
    """
    if not isinstance(png, bytes | bytearray | memoryview):
        raise ValueError("PNG data must be bytes")
    png = bytes(png)
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image (bad signature)")
    chunks = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(png):
            raise ValueError("truncated PNG: no IEND chunk")
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(png):
            raise ValueError(f"truncated PNG: chunk {kind!r} runs past the end of the data")
        data = png[pos + 8 : pos + 8 + length]
        chunks.append((kind, data, png[pos:end]))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("not a PNG image (IHDR is not the first chunk)")
    return chunks


def _is_credential_chunk(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.split(b"\0", 1)[0] == BAKING_KEYWORD


def _make_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _credential_text(credential: dict | str) -> str:
    if isinstance(credential, dict):
        return json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    if isinstance(credential, str):
        if not credential.strip():
            raise ValueError("the credential to bake is empty")
        return credential
    raise TypeError(f"credential must be a dict or a str, not {type(credential).__name__}")


def bake_png(png: bytes, credential: dict | str) -> bytes:
    """Embed ``credential`` (a dict, serialised as JSON, or a compact JWS string) in ``png``.

    An existing ``openbadgecredential`` chunk is replaced in place; otherwise the new chunk
    goes right after IHDR, where extractors that stop at the first match find it soonest.
    """
    text = _credential_text(credential)
    # keyword NUL, compression flag 0, compression method 0, language tag "" NUL,
    # translated keyword "" NUL, then the uncompressed UTF-8 text.
    chunk = _make_chunk(b"iTXt", BAKING_KEYWORD + b"\0\0\0" + b"\0" + b"\0" + text.encode())
    out = [PNG_SIGNATURE]
    placed = False
    chunks = _chunks(png)
    has_existing = any(_is_credential_chunk(kind, data) for kind, data, _ in chunks)
    for kind, data, raw in chunks:
        if _is_credential_chunk(kind, data):
            if not placed:
                out.append(chunk)
                placed = True
            continue
        out.append(raw)
        if kind == b"IHDR" and not has_existing:
            out.append(chunk)
            placed = True
    return b"".join(out)


# A compressed credential is inflated to at most this many bytes: a 2 MB upload of zeros
# would otherwise inflate to about 2 GB (a decompression bomb on the public check page).
MAX_BAKED_TEXT_BYTES = 1024 * 1024


def _inflate_bounded(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    body = inflater.decompress(data, MAX_BAKED_TEXT_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("the baked credential is too large once decompressed")
    return body


def unbake_png(png: bytes) -> dict | str | None:
    """The credential baked into ``png``: a dict if its text is a JSON object, else the
    string (e.g. a compact JWS); None if there is none. ValueError if ``png`` is not a PNG."""
    for kind, data, raw in _chunks(png):
        if not _is_credential_chunk(kind, data):
            continue
        if zlib.crc32(raw[4:-4]) & 0xFFFFFFFF != struct.unpack(">I", raw[-4:])[0]:
            raise ValueError("the openbadgecredential chunk is corrupt (CRC mismatch)")
        rest = data[len(BAKING_KEYWORD) + 1 :]
        if len(rest) < 2:
            raise ValueError("malformed iTXt chunk")
        compressed, _method = rest[0], rest[1]
        rest = rest[2:]
        try:
            _language, rest = rest.split(b"\0", 1)
            _translated, body = rest.split(b"\0", 1)
            if compressed:  # not allowed when baking, tolerated when reading
                body = _inflate_bounded(body)
            text = body.decode("utf-8")
        except (ValueError, zlib.error) as exc:
            raise ValueError(f"malformed openbadgecredential chunk: {exc}") from exc
        if text.lstrip().startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return text
            if isinstance(value, dict):
                return value
        return text
    return None
