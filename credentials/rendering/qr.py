"""QR codes (segno) for the verification URL printed on certificates.

Error correction is "M" unless asked otherwise; segno picks the smallest version that holds
the data, up to version 40 (about 2,300 bytes at "M"), so payloads of ~1,500 characters fit.
"""

import io
import re

import segno

_SVG_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')


def _make(data: str, error: str) -> segno.QRCode:
    if not data:
        raise ValueError("QR code data is empty")
    try:
        # boost_error only raises the level when the chosen version has room for it, so it
        # never makes data fail that would fit at the requested level.
        return segno.make_qr(data, error=error, boost_error=True)
    except segno.DataOverflowError as exc:
        raise ValueError(
            f"{len(data)} characters ({len(data.encode())} bytes as UTF-8) do not fit in a QR "
            f'code at error correction level "{error.upper()}" (version 40 is the largest)'
        ) from exc


def qr_svg(data: str, *, scale: int = 4, error: str = "m") -> str:
    """An inline ``<svg>`` element (no XML declaration) with width, height and viewBox.

    Black modules on a transparent background, with the standard 4-module quiet zone. CSS may
    resize it freely: the viewBox keeps it sharp.
    """
    qr = _make(data, error)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, omitsize=True, nl=False)
    svg = out.getvalue().decode()
    match = _SVG_VIEWBOX.search(svg)
    if match is None:  # pragma: no cover - segno always writes a viewBox with omitsize
        return svg
    width, height = match.groups()
    return svg.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)


def qr_png(data: str, *, scale: int = 6, error: str = "m") -> bytes:
    """The QR code as a PNG (black on white, 4-module quiet zone), ``scale`` pixels a module."""
    qr = _make(data, error)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale)
    return out.getvalue()
