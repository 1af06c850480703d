"""The files of a credential: the PDF certificate and the baked badge image.

Built from the stored credential by ``credentials.rendering`` (WeasyPrint, Pillow), saved to the
default storage, and rebuilt on demand (a new share link changes the QR code on the PDF).
"""

import json

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cms.models import Organization, PartnerPage
from courses.models.pages import CourseLevel
from credentials.models import Credential
from credentials.rendering.badge import badge_image, bake_png
from credentials.rendering.content import CertificateContent, IssuerContent
from credentials.rendering.pdf import certificate_pdf

LOGO_MAX_BYTES = 2 * 1024 * 1024


def site_url() -> str:
    from django.conf import settings

    return settings.WAGTAILADMIN_BASE_URL.rstrip("/")


def share_url(credential: Credential, *, language: str | None = None) -> str:
    """The public verification page of the credential's share link ("" when sharing is off)."""
    if not credential.share_token:
        return ""
    with translation.override(language or credential.course.locale.language_code):
        path = reverse("certificates:shared", kwargs={"token": credential.share_token})
    return site_url() + path


def _verify_page(language: str) -> str:
    """Where a certificate without a share link points: the page to check one by hand."""
    with translation.override(language):
        return site_url() + reverse("certificates:verify")


def _logo(organization: Organization) -> bytes | None:
    partner = (
        PartnerPage.objects.filter(organization=organization, logo__isnull=False)
        .select_related("logo")
        .first()
    )
    if partner is None:
        return None
    try:
        rendition = partner.logo.get_rendition("max-400x400|format-png")
        with rendition.file.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except Exception:  # noqa: BLE001 - a missing logo file must not stop the certificate
        return None
    return data if len(data) <= LOGO_MAX_BYTES else None


def certificate_content(
    credential: Credential, *, language: str | None = None
) -> CertificateContent:
    course = credential.course
    language = language or course.locale.language_code
    with translation.override(language):
        issuers = [
            IssuerContent(
                credential.issuer.display_name, _("Training provider"), _logo(credential.issuer)
            )
        ]
        issuers += [
            IssuerContent(org.display_name, _("Co-developed by"), _logo(org))
            for org in credential.co_signers.order_by("name")
        ]
        hours = round(course.estimated_minutes / 60, 1)
        return CertificateContent(
            number=credential.number,
            holder_name=credential.holder_name,
            course_title=course.title,
            achievement_type=_("Certificate of completion"),
            level=str(CourseLevel(course.level).label),
            hours=f"{hours:g}",
            score_percent=credential.completion.score_percent,
            issued_on=timezone.localtime(credential.issued_at).date(),
            valid_until=timezone.localtime(credential.valid_until).date()
            if credential.valid_until
            else None,
            issuers=tuple(issuers),
            verify_url=share_url(credential, language=language) or _verify_page(language),
            language=language,
        )


def credential_files_render(*, credential: Credential) -> Credential:
    """Render and store the PDF and the baked badge (replacing earlier ones)."""
    content = certificate_content(credential)
    pdf = certificate_pdf(content)
    badge = bake_png(badge_image(content), json.loads(credential.document))
    old = [credential.pdf.name, credential.badge.name]
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        if not credential.document:  # the holder deleted their account meanwhile (cms.privacy)
            return credential
        credential.pdf.save(f"{credential.number}.pdf", ContentFile(pdf), save=False)
        credential.badge.save(f"{credential.number}.png", ContentFile(badge), save=False)
        credential.files_generated_at = timezone.now()
        credential.save(update_fields=["pdf", "badge", "files_generated_at"])
    storage = credential.pdf.storage
    for name in old:
        if name and name not in (credential.pdf.name, credential.badge.name):
            storage.delete(name)
    return credential
