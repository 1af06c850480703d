"""The certificate as a one-page A4 (landscape) PDF, rendered with WeasyPrint.

The HTML comes from ``templates/credentials/certificate_pdf.html``, rendered in the
certificate's language. Logos are embedded as ``data:`` URIs and the QR code as inline SVG;
the URL fetcher refuses everything but ``data:`` URLs, so rendering never touches the network
or the file system. Fonts come from fontconfig (Noto CJK), so Chinese is real text.
"""

import base64

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from credentials.rendering.content import CertificateContent, IssuerContent
from credentials.rendering.qr import qr_svg

TEMPLATE = "credentials/certificate_pdf.html"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HTML_LANG = {"zh-hans": "zh-Hans", "en": "en"}


def certificate_pdf(content: CertificateContent) -> bytes:
    """Render ``content`` as PDF bytes (one A4 landscape page)."""
    pdf, pages = html_to_pdf(certificate_html(content))
    if pages != 1:
        raise RuntimeError(f"certificate {content.number} was laid out on {pages} pages")
    return pdf


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """(PDF bytes, page count) for ``html``; only ``data:`` URLs may be referenced.

    Any other absolute URL (http, file, ...) is a bug in the template: it raises ValueError
    instead of being fetched or silently leaving a hole in the certificate. (Relative URLs
    have nothing to resolve against, as base_url is None: WeasyPrint logs and skips them.)
    """
    import weasyprint  # heavy (Pango, HarfBuzz): loaded only when a PDF is made
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    try:
        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    except FatalURLFetchingError as exc:  # a BaseException: turn it into an ordinary error
        raise ValueError(f"certificate HTML refers to a URL that is not data: ({exc})") from exc
    return document.write_pdf(), len(document.pages)


def certificate_html(content: CertificateContent) -> str:
    """The HTML the PDF is made from (useful for previews and for debugging the layout)."""
    with translation.override(content.language):
        return render_to_string(TEMPLATE, _context(content))


def _context(content: CertificateContent) -> dict:
    return {
        "c": content,
        "html_lang": HTML_LANG.get(content.language, content.language),
        "issuers": [_issuer(issuer) for issuer in content.issuers],
        "qr_svg": mark_safe(qr_svg(content.verify_url, scale=1)),  # noqa: S308 - segno output
        "title_size": _title_size(content.course_title),
        "name_size": _name_size(content.holder_name),
    }


def _issuer(issuer: IssuerContent) -> dict:
    logo = None
    if issuer.logo_png and issuer.logo_png.startswith(PNG_SIGNATURE):
        logo = "data:image/png;base64," + base64.b64encode(issuer.logo_png).decode("ascii")
    return {
        "name": issuer.name,
        "role": issuer.role,
        "logo": logo,
        "monogram": monogram(issuer.name),
    }


def monogram(name: str) -> str:
    """One CJK character, or up to two Latin initials, standing in for a missing logo."""
    name = name.strip()
    if not name:
        return "?"
    if not name[0].isascii():
        return name[0]
    initials = [word[0] for word in name.split() if word[0].isalnum()]
    return "".join(initials[:2]).upper() or name[0]


def _visual_width(text: str) -> float:
    """Rough width in em: CJK characters are 1 em wide, Latin ones about 0.55 em."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in text)


def _title_size(title: str) -> str:
    width = _visual_width(title)
    if width <= 22:
        return "20pt"
    if width <= 40:
        return "17pt"
    if width <= 70:
        return "14pt"
    return "12pt"


def _name_size(name: str) -> str:
    width = _visual_width(name)
    if width <= 12:
        return "40pt"
    if width <= 22:
        return "32pt"
    return "24pt"
