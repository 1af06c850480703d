"""The verbs of the credentials app: issue, revoke, suspend, reinstate, share, consent.

Views, the admin, API handlers and Celery tasks call these; none of them changes a credential
any other way. A signed credential is never edited: its status lives in the status lists.
"""

import json
import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cms import platform_webhooks
from cms.audit import audit
from cms.models import Organization, User
from courses.models import Completion, CoursePage
from courses.models.pages import CourseCategory, CourseLevel
from credentials.compact import compact_claims, compact_sign
from credentials.documents import AchievementFacts, IssuerProfile, open_badge_credential
from credentials.keys import issuer_did, issuer_signing_key
from credentials.models import ConsentGrant, Credential, CredentialStatusChange, StatusList
from credentials.schema import schema_errors
from credentials.signing import EDDSA_JCS_2022, EDDSA_RDFC_2022, create_proof
from credentials.status import allocate_entry, entry, set_bit

NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REASON_MAX_LENGTH = 500
SIGNING_SUITES = (EDDSA_RDFC_2022, EDDSA_JCS_2022)

logger = logging.getLogger(__name__)


class CredentialStateError(ValidationError):
    """The change asked for does not apply to the credential's current status."""


# --- issuing -------------------------------------------------------------------------------


def _language_tag(code: str) -> str:
    return {"zh-hans": "zh-Hans", "en": "en"}.get(code, code)


def _site_url() -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/")


def _issuer_profile(organization: Organization, language: str) -> IssuerProfile:
    name = organization.name
    if language.startswith("en") and organization.name_en:
        name = organization.name_en
    return IssuerProfile(
        did=issuer_did(organization), name=name, url=organization.website or _site_url() + "/"
    )


def holder_display_name(user: User) -> str:
    # Never the full mobile number: the name is shown to platforms and the issuer.
    return (user.display_name or user.get_full_name() or user.masked_mobile).strip()


def _hours(course: CoursePage) -> float:
    return round(course.estimated_minutes / 60, 1)


def _achievement(course: CoursePage) -> AchievementFacts:
    language = course.locale.language_code
    with translation.override(language):
        lessons = course.lessons().count()
        criteria = _(
            "Study all %(lessons)s lessons of the course and pass every quiz with at least "
            "%(pass_mark)s%%."
        ) % {"lessons": lessons, "pass_mark": course.pass_mark}
        return AchievementFacts(
            id=f"{_site_url()}/achievements/{course.translation_key}",
            name=course.title,
            description=course.summary,
            criteria=criteria,
            field_of_study=str(CourseCategory(course.category).label),
            level=str(CourseLevel(course.level).label),
            hours=_hours(course),
            language=_language_tag(language),
        )


def _description(course: CoursePage, provider: Organization, co: list[Organization]) -> str:
    language = course.locale.language_code
    with translation.override(language):
        if co:
            return _(
                "Completed “%(course)s”, a course by %(provider)s co-developed with %(co)s."
            ) % {
                "course": course.title,
                "provider": _issuer_profile(provider, language).name,
                "co": ("、" if language.startswith("zh") else ", ").join(
                    _issuer_profile(org, language).name for org in co
                ),
            }
        return _("Completed “%(course)s”, a course by %(provider)s.") % {
            "course": course.title,
            "provider": _issuer_profile(provider, language).name,
        }


def _certificate_number(issued_at) -> str:
    suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"RW-{issued_at:%Y}-{suffix}"


def _sign(document: dict, signers: list[Organization], created) -> tuple[dict, object, str]:
    """Both cryptosuites' proofs from every signer, the issuer first (a proof set)."""
    issuer_key = None
    for organization in signers:
        private_key, verification_method = issuer_signing_key(organization=organization)
        if issuer_key is None:
            issuer_key = (private_key, verification_method)
        for suite in SIGNING_SUITES:
            document = create_proof(
                document,
                private_key=private_key,
                verification_method=verification_method,
                cryptosuite=suite,
                created=created,
            )
    return document, *issuer_key


def credential_issue(*, completion: Completion) -> Credential:
    """The credential of a completion, issued and signed the first time this is called.

    Idempotent: the completion row is locked and the one-to-one constraint backs it up, so a
    repeated or concurrent event returns the same credential.
    """
    existing = Credential.objects.filter(completion=completion).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            completion = Completion.objects.select_for_update().get(pk=completion.pk)
            existing = Credential.objects.filter(completion=completion).first()
            if existing is not None:
                return existing
            return _issue(completion)
    except IntegrityError:
        return Credential.objects.get(completion=completion)


def _issue(completion: Completion) -> Credential:
    course = CoursePage.objects.select_related("locale").get(pk=completion.course_id)
    provider = course.provider
    co_developers = [
        org
        for org in course.co_developers.order_by("name")
        if org.is_author_org and org.is_active and org != provider
    ]
    issued_at = timezone.now().replace(microsecond=0)
    valid_until = None
    if course.certificate_valid_days:
        valid_until = completion.completed_at.replace(microsecond=0) + timedelta(
            days=course.certificate_valid_days
        )
    revocation_list, revocation_index = allocate_entry(
        issuer=provider, purpose=StatusList.Purpose.REVOCATION
    )
    suspension_list, suspension_index = allocate_entry(
        issuer=provider, purpose=StatusList.Purpose.SUSPENSION
    )
    public_id = uuid.uuid4()
    language = course.locale.language_code
    holder_name = holder_display_name(completion.user)
    document = open_badge_credential(
        public_id=public_id,
        issuer=_issuer_profile(provider, language),
        co_developers=[_issuer_profile(org, language) for org in co_developers],
        achievement=_achievement(course),
        holder_name=holder_name,
        score_percent=completion.score_percent,
        completed_at=completion.completed_at,
        issued_at=issued_at,
        valid_until=valid_until,
        status=[
            entry(revocation_list, revocation_index),
            entry(suspension_list, suspension_index),
        ],
        description=_description(course, provider, co_developers),
    )
    number = _certificate_number(issued_at)
    document["credentialSubject"]["licenseNumber"] = number
    errors = schema_errors(document)
    if errors:  # a bug of ours, never the driver's: refuse to sign rather than issue junk
        raise ValueError(f"the credential would not follow the Open Badges schema: {errors}")
    signed, issuer_private_key, issuer_vm = _sign(document, [provider, *co_developers], issued_at)
    compact = compact_sign(
        compact_claims(signed, number=number, verification_method=issuer_vm), issuer_private_key
    )
    credential = Credential.objects.create(
        public_id=public_id,
        number=number,
        completion=completion,
        holder=completion.user,
        course=course,
        issuer=provider,
        holder_name=holder_name,
        document=json.dumps(signed, ensure_ascii=False, indent=2),
        compact=compact,
        issued_at=issued_at,
        valid_until=valid_until,
        revocation_list=revocation_list,
        revocation_index=revocation_index,
        suspension_list=suspension_list,
        suspension_index=suspension_index,
        share_token=secrets.token_urlsafe(16),
    )
    credential.co_signers.set(co_developers)
    transaction.on_commit(lambda: _render_files_later(credential.pk))
    _notify_platforms(credential, platform_webhooks.EVENT_CREDENTIAL_ISSUED)
    return credential


def _notify_platforms(credential: Credential, event_type: str) -> None:
    """Signed webhooks (cms.platform_webhooks) to each platform the driver lets see their
    certificates at this moment; no live consent, no event. Plain data, nothing personal."""
    token = credential.share_token
    data = {
        "credential": {
            "id": f"urn:uuid:{credential.public_id}",
            "number": credential.number,
            "url": f"{_site_url()}/verify/{token}/" if token else None,
            "status": credential.status,
            "status_reason": credential.status_reason,
        }
    }
    grants = ConsentGrant.objects.filter(holder_id=credential.holder_id, withdrawn_at=None)
    for platform_id in grants.values_list("platform_id", flat=True):
        driver = platform_webhooks.driver_reference(platform_id, credential.holder)
        platform_webhooks.webhook_emit(platform_id, event_type, {**data, "driver": driver})


def _render_files_later(credential_id: int) -> None:
    from credentials.tasks import render_credential_files

    try:
        render_credential_files.delay(credential_id)
    except Exception:  # a broker outage must not turn the driver's saved change into a 500
        logger.exception("Could not queue the files of credential %s", credential_id)


def credentials_issue_missing(*, limit: int = 500) -> int:
    """Issue the credentials of completions that have none (a missed or failed event)."""
    count = 0
    missing = Completion.objects.filter(
        credential__isnull=True,
        user__is_active=True,  # not for a deleted account
    ).order_by("completed_at", "pk")
    for completion in missing[:limit]:
        credential_issue(completion=completion)
        count += 1
    return count


# --- revocation and suspension -------------------------------------------------------------


def can_manage(*, user: User, credential: Credential) -> bool:
    """Operators, and members of the organisation that issued the credential."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        user.organization_id is not None
        and user.organization_id == credential.issuer_id
        and user.organization.is_active
    )


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason: drivers and platforms will see it."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            _("The reason is too long (at most %(max)s characters).") % {"max": REASON_MAX_LENGTH}
        )
    return reason


def _change_status(
    *,
    credential,
    actor,
    reason,
    action,
    allowed_from,
    new_status,
    bits,
    system=False,
    actor_label=None,
):
    if not system and not can_manage(user=actor, credential=credential):
        raise PermissionDenied(_("Only operators and the issuing organisation may do this."))
    reason = _check_reason(reason)
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        before = credential.status
        if credential.status not in allowed_from:
            raise CredentialStateError(
                _("This certificate is %(status)s; that cannot be changed this way.")
                % {"status": credential.get_status_display()}
            )
        for status_list_id, index, value in bits(credential):
            set_bit(status_list_id=status_list_id, index=index, value=value)
        credential.status = new_status
        credential.status_reason = reason
        credential.status_changed_at = timezone.now()
        credential.save(update_fields=["status", "status_reason", "status_changed_at"])
        CredentialStatusChange.objects.create(
            credential=credential, action=action, reason=reason, actor=actor
        )
        audit(
            f"roadwise.credential.{action}",
            credential,
            user=actor,
            actor_label=actor_label,
            data={
                "number": credential.number,
                "issuer": credential.issuer.slug,
                "status": {"before": before, "after": new_status},
                "reason": reason,
            },
        )
        revoked = action == CredentialStatusChange.Action.REVOKE
        _notify_platforms(
            credential,
            platform_webhooks.EVENT_CREDENTIAL_REVOKED
            if revoked
            else platform_webhooks.EVENT_CREDENTIAL_STATUS_CHANGED,
        )
    return credential


def credential_revoke(*, credential: Credential, actor: User, reason: str) -> Credential:
    """Revoke for good (an active or suspended credential); the revocation bit is set."""
    return _change_status(
        credential=credential,
        actor=actor,
        reason=reason,
        action=CredentialStatusChange.Action.REVOKE,
        allowed_from={Credential.Status.ACTIVE, Credential.Status.SUSPENDED},
        new_status=Credential.Status.REVOKED,
        bits=lambda c: [(c.revocation_list_id, c.revocation_index, True)],
    )


def credentials_revoke_for_deleted_holder(*, holder: User, reason: str) -> list[Credential]:
    """Revoke every active or suspended credential of a driver who deletes their account
    (`cms.privacy`): no actor, the site does it on the holder's request; platforms with a live
    consent get `credential.revoked` as for any revocation."""
    revoked = []
    for credential in Credential.objects.filter(
        holder=holder, status__in=[Credential.Status.ACTIVE, Credential.Status.SUSPENDED]
    ):
        revoked.append(
            _change_status(
                credential=credential,
                actor=None,
                reason=reason,
                action=CredentialStatusChange.Action.REVOKE,
                allowed_from={Credential.Status.ACTIVE, Credential.Status.SUSPENDED},
                new_status=Credential.Status.REVOKED,
                bits=lambda c: [(c.revocation_list_id, c.revocation_index, True)],
                system=True,
                actor_label="system: account deleted at the holder's request",
            )
        )
    return revoked


def credential_suspend(*, credential: Credential, actor: User, reason: str) -> Credential:
    """Suspend an active credential until the suspension is lifted."""
    return _change_status(
        credential=credential,
        actor=actor,
        reason=reason,
        action=CredentialStatusChange.Action.SUSPEND,
        allowed_from={Credential.Status.ACTIVE},
        new_status=Credential.Status.SUSPENDED,
        bits=lambda c: [(c.suspension_list_id, c.suspension_index, True)],
    )


def credential_reinstate(*, credential: Credential, actor: User, reason: str) -> Credential:
    """Lift a suspension."""
    return _change_status(
        credential=credential,
        actor=actor,
        reason=reason,
        action=CredentialStatusChange.Action.REINSTATE,
        allowed_from={Credential.Status.SUSPENDED},
        new_status=Credential.Status.ACTIVE,
        bits=lambda c: [(c.suspension_list_id, c.suspension_index, False)],
    )


# --- sharing -------------------------------------------------------------------------------


def _own(credential: Credential, user: User) -> None:
    if credential.holder_id != user.pk:
        raise PermissionDenied(_("This is not your certificate."))


def credential_share_renew(*, credential: Credential, user: User) -> Credential:
    """A new share link; the old one (and the QR code on old PDFs) stops working."""
    _own(credential, user)
    credential.share_token = secrets.token_urlsafe(16)
    credential.save(update_fields=["share_token"])
    transaction.on_commit(lambda: _render_files_later(credential.pk))
    return credential


def credential_share_disable(*, credential: Credential, user: User) -> Credential:
    """No public link at all until the driver turns it on again (the PDF's QR code then
    points to the page where anyone can check a certificate by hand)."""
    _own(credential, user)
    credential.share_token = ""
    credential.save(update_fields=["share_token"])
    transaction.on_commit(lambda: _render_files_later(credential.pk))
    return credential


# --- consent -------------------------------------------------------------------------------


def consent_grant(*, holder: User, platform: Organization) -> ConsentGrant:
    """Let ``platform`` list ``holder``'s credentials (idempotent while the grant stands)."""
    if platform.kind != Organization.Kind.PLATFORM:
        raise ValidationError(_("Only ride-hailing platforms can be given access."))
    with transaction.atomic():
        existing = (
            ConsentGrant.objects.select_for_update()
            .filter(holder=holder, platform=platform, withdrawn_at=None)
            .first()
        )
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                grant = ConsentGrant.objects.create(holder=holder, platform=platform)
                audit(
                    "roadwise.consent.grant",
                    grant,
                    user=holder,
                    title=_consent_title(grant),
                    data={"platform": platform.slug},
                )
                return grant
        except IntegrityError:
            return ConsentGrant.objects.get(holder=holder, platform=platform, withdrawn_at=None)


def consent_withdraw(*, grant: ConsentGrant, holder: User) -> ConsentGrant:
    if grant.holder_id != holder.pk:
        raise PermissionDenied(_("This is not your consent to withdraw."))
    with transaction.atomic():
        grant = ConsentGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.withdrawn_at is None:
            grant.withdrawn_at = timezone.now()
            grant.save(update_fields=["withdrawn_at"])
            audit(
                "roadwise.consent.withdraw",
                grant,
                user=holder,
                title=_consent_title(grant),
                data={"platform": grant.platform.slug, "granted_at": grant.granted_at},
            )
    return grant


def _consent_title(grant: ConsentGrant) -> str:
    # Not str(grant): that names the driver, and the log's list needs no personal data.
    return f"Consent #{grant.pk} → {grant.platform.slug}"


def platform_has_consent(*, platform: Organization, holder: User) -> bool:
    return ConsentGrant.objects.filter(holder=holder, platform=platform, withdrawn_at=None).exists()
