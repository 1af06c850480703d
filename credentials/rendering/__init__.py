"""Pure renderers for certificates: PDF, QR codes, badge images, Open Badges baking.

Everything here works on plain data (``CertificateContent``) and returns bytes or strings;
nothing reads the database or the network. The caller fills the content from its models.
"""

from credentials.rendering.badge import badge_image, bake_png, unbake_png
from credentials.rendering.content import CertificateContent, IssuerContent
from credentials.rendering.pdf import certificate_pdf
from credentials.rendering.qr import qr_png, qr_svg

__all__ = [
    "CertificateContent",
    "IssuerContent",
    "badge_image",
    "bake_png",
    "certificate_pdf",
    "qr_png",
    "qr_svg",
    "unbake_png",
]
