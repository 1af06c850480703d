"""Certificate rendering: the PDF (text, fonts, page), QR codes, the badge and PNG baking.

The PDF checks read the output with poppler-utils (pdftotext, pdfinfo, pdffonts); they are
skipped when those tools are not installed (`make setup` installs them on Debian/Ubuntu).
"""

import base64
import datetime
import io
import json
import shutil
import struct
import subprocess
import zlib

import pytest
import segno
from defusedxml import ElementTree as ET
from PIL import Image, ImageDraw

from credentials.rendering import (
    CertificateContent,
    IssuerContent,
    badge_image,
    bake_png,
    certificate_pdf,
    qr_png,
    qr_svg,
    unbake_png,
)
from credentials.rendering.badge import _cjk_font_location
from credentials.rendering.pdf import html_to_pdf

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts"))
needs_poppler = pytest.mark.skipif(
    not POPPLER, reason="poppler-utils (pdftotext, pdfinfo, pdffonts) is not installed"
)
VERIFY_URL = "https://roadwise.example.cn/credentials/verify/3f9a1c2e-7b44-4d0e-9c61-2a8f5e0d1b77/"


def _png(size=(64, 32), colour=(200, 30, 40, 255)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((2, 2, size[0] - 2, size[1] - 2), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _content(language: str, **changes) -> CertificateContent:
    zh = language == "zh-hans"
    values = {
        "number": "RW-2026-000123",
        "holder_name": "王建国" if zh else "Wang Jianguo",
        "course_title": "网约车安全驾驶与乘客服务" if zh else "Safe driving for ride-hailing",
        "achievement_type": "结业证书" if zh else "Certificate of completion",
        "level": "中级" if zh else "Intermediate",
        "hours": "2.5",
        "score_percent": 92,
        "issued_on": datetime.date(2026, 5, 12),
        "valid_until": datetime.date(2028, 5, 11),
        "issuers": (
            IssuerContent("鹏城交通职业学院", "培训院校" if zh else "Training school", None),
            IssuerContent("比亚迪汽车", "联合开发车企" if zh else "Co-developing carmaker", _png()),
        ),
        "verify_url": VERIFY_URL,
        "language": language,
    }
    values.update(changes)
    return CertificateContent(**values)


def _poppler(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode()


def _without_spaces(text: str) -> str:
    return "".join(text.split())


def _assert_one_a4_page(pdf: bytes, tmp_path) -> None:
    info = _poppler("pdfinfo", pdf, tmp_path)
    assert "Pages:           1\n" in info
    assert "(A4)" in info


# --- PDF -------------------------------------------------------------------------------------


@needs_poppler
def test_pdf_in_chinese_has_real_chinese_text_on_one_a4_page(tmp_path):
    pdf = certificate_pdf(_content("zh-hans"))

    assert pdf.startswith(b"%PDF-")
    text = _without_spaces(_poppler("pdftotext", pdf, tmp_path))
    for expected in ("王建国", "网约车安全驾驶与乘客服务", "RW-2026-000123", "结业证书", "中级"):
        assert expected in text
    for issuer in ("鹏城交通职业学院", "比亚迪汽车", "培训院校", "联合开发车企"):
        assert issuer in text
    assert "2026年5月12日" in text  # dates in the Chinese format
    assert "92%" in text
    assert _without_spaces(VERIFY_URL) in text  # printed under the QR code
    _assert_one_a4_page(pdf, tmp_path)
    fonts = _poppler("pdffonts", pdf, tmp_path)
    assert "CJK" in fonts, fonts


@needs_poppler
def test_pdf_in_english_has_english_labels(tmp_path):
    pdf = certificate_pdf(_content("en"))

    text = " ".join(_poppler("pdftotext", pdf, tmp_path).split())
    for expected in (
        "Wang Jianguo",
        "Safe driving for ride-hailing",
        "RW-2026-000123",
        "This is to certify that",
        "Certificate number",
        "Level",
        "May 12, 2026",
        "May 11, 2028",
    ):
        assert expected in text
    _assert_one_a4_page(pdf, tmp_path)


@needs_poppler
def test_pdf_stays_on_one_page_with_long_text_one_issuer_and_no_expiry(tmp_path):
    content = _content(
        "zh-hans",
        holder_name="欧阳娜娜·阿卜杜热合曼·买买提江",
        course_title="网约车驾驶员夜间行车安全、恶劣天气应对、乘客突发疾病急救处置"
        "与车辆新能源电池安全使用综合培训课程（2026年修订版）",
        issuers=(IssuerContent("深圳市鹏城交通运输职业技术学院继续教育学院", "培训院校", None),),
        valid_until=None,
        verify_url=VERIFY_URL + "x" * 400,
    )
    pdf = certificate_pdf(content)

    _assert_one_a4_page(pdf, tmp_path)
    text = _without_spaces(_poppler("pdftotext", pdf, tmp_path))
    assert "欧阳娜娜" in text
    assert "Noexpiry" in text or "长期有效" in text  # until translated


def test_pdf_rendering_is_deterministic_and_ignores_a_logo_that_is_not_a_png():
    content = _content(
        "en", issuers=(IssuerContent("Pengcheng College", "Training school", b"GIF89a..."),)
    )
    assert certificate_pdf(content) == certificate_pdf(content)


@pytest.mark.parametrize("url", ["https://roadwise.example.cn/logo.png", "file:///etc/hostname"])
def test_pdf_rendering_fetches_nothing_but_data_urls(url):
    # (A relative URL has nothing to resolve against: base_url is None, WeasyPrint skips it.)
    with pytest.raises(ValueError, match="not data:"):
        html_to_pdf(f'<p>x</p><img src="{url}">')
    pdf, pages = html_to_pdf(
        '<img src="data:image/png;base64,' + base64.b64encode(_png()).decode() + '">'
    )
    assert pages == 1
    assert pdf.startswith(b"%PDF-")


# --- QR codes --------------------------------------------------------------------------------


def test_qr_svg_is_an_inline_svg_element():
    svg = qr_svg(VERIFY_URL)

    assert svg.startswith("<svg ")
    assert "<?xml" not in svg
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = int(root.get("width")), int(root.get("height"))
    assert width == height
    assert root.get("viewBox") == f"0 0 {width} {height}"
    qr = segno.make_qr(VERIFY_URL, error="m")
    assert width == (qr.symbol_size(scale=4)[0])  # 4 px a module, 4-module quiet zone


def test_qr_uses_error_correction_m_and_grows_with_the_data():
    short = segno.make_qr(VERIFY_URL, error="m", boost_error=False)
    assert short.designator.endswith("-M")
    long_payload = "https://roadwise.example.cn/v/?c=" + "A1b2C3d4" * 171  # 1,402 characters
    assert len(long_payload) >= 1400
    long = segno.make_qr(long_payload, error="m", boost_error=False)
    assert long.version > short.version
    assert long.designator == f"{long.version}-M"

    svg = qr_svg(long_payload)
    assert ET.fromstring(svg).get("width") == str(long.symbol_size(scale=4)[0])
    png = qr_png(long_payload)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == long.symbol_size(scale=6)


def test_qr_refuses_data_that_cannot_fit():
    with pytest.raises(ValueError, match="do not fit in a QR code"):
        qr_svg("x" * 10_000)
    with pytest.raises(ValueError, match="do not fit in a QR code"):
        qr_png("x" * 10_000)
    with pytest.raises(ValueError, match="empty"):
        qr_svg("")


# --- badge image -----------------------------------------------------------------------------


def test_badge_image_is_a_square_png_with_a_transparent_background():
    png = badge_image(_content("zh-hans"), size=300)

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (300, 300)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # the corners are transparent
        assert image.getpixel((150, 150))[3] == 255
    assert badge_image(_content("zh-hans"), size=300) == png  # deterministic


def test_badge_draws_chinese_with_a_cjk_font():
    location = _cjk_font_location()
    if location is None:
        pytest.skip("no CJK font known to fontconfig (install fonts-noto-cjk)")
    assert "CJK" in location[0]
    # Different Chinese titles give different pixels: glyphs, not one "missing" box for all.
    one = badge_image(_content("zh-hans", course_title="安全驾驶"), size=200)
    other = badge_image(_content("zh-hans", course_title="乘客服务"), size=200)
    assert one != other


# --- baking ----------------------------------------------------------------------------------


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking lengths and CRCs on the way."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks.append((kind, data))
        pos += 12 + length
    assert chunks[-1][0] == b"IEND"
    return chunks


def _credential_chunks(png: bytes) -> list[bytes]:
    return [
        data
        for kind, data in _chunks(png)
        if kind == b"iTXt" and data.split(b"\0", 1)[0] == b"openbadgecredential"
    ]


CREDENTIAL = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "网约车安全驾驶 🚗 结业证书",
    "credentialSubject": {"name": "王建国", "note": '“引号” \\ "quotes" \u0000 end'},
}


def test_bake_then_unbake_returns_the_same_credential():
    original = _png((40, 30))
    baked = bake_png(original, CREDENTIAL)

    assert unbake_png(baked) == CREDENTIAL
    (data,) = _credential_chunks(baked)
    # keyword, compression flag 0, method 0, empty language tag, empty translated keyword.
    prefix = b"openbadgecredential\0\0\0\0\0"
    assert data.startswith(prefix)
    assert json.loads(data[len(prefix) :].decode("utf-8")) == CREDENTIAL
    assert "王建国".encode() in data  # UTF-8 text, not escaped, not compressed


def test_baking_keeps_the_image_and_its_other_chunks():
    original = _png((40, 30))
    baked = bake_png(original, CREDENTIAL)

    without = [chunk for chunk in _chunks(baked) if chunk[0] != b"iTXt"]
    assert without == _chunks(original)
    with Image.open(io.BytesIO(baked)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.size == (40, 30)
        assert image.tobytes() == before.tobytes()


def test_baking_twice_leaves_exactly_one_credential_chunk():
    once = bake_png(_png(), {"id": "urn:uuid:1"})
    twice = bake_png(once, {"id": "urn:uuid:2"})

    assert len(_credential_chunks(twice)) == 1
    assert unbake_png(twice) == {"id": "urn:uuid:2"}
    assert len(twice) == len(once)  # replaced in place, same length here


def test_a_compact_jws_is_baked_as_a_string():
    jws = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6d2ViOmV4YW1wbGUuY24ifQ.c2lnbmF0dXJl"
    baked = bake_png(_png(), jws)

    assert unbake_png(baked) == jws


def test_chinese_and_emoji_round_trip_exactly():
    credential = {"name": "驾驶员 👩‍✈️ 认证 — ǅ 𠀀", "n": [1, 2.5, True, None]}
    assert unbake_png(bake_png(_png(), credential)) == credential
    text = '{"name":"王建国 🚕"}'
    assert unbake_png(bake_png(_png(), text)) == {"name": "王建国 🚕"}


def test_unbake_without_a_credential_returns_none():
    assert unbake_png(_png()) is None
    assert unbake_png(badge_image(_content("en"), size=100)) is None


def test_unbake_refuses_data_that_is_not_a_png():
    with pytest.raises(ValueError, match="not a PNG"):
        unbake_png(b"not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        bake_png(b"GIF89a", CREDENTIAL)
    with pytest.raises(ValueError, match="truncated"):
        unbake_png(_png()[:-20])


def test_a_baked_badge_image_unbakes():
    baked = bake_png(badge_image(_content("zh-hans"), size=120), CREDENTIAL)

    assert unbake_png(baked) == CREDENTIAL
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.size == (120, 120)
