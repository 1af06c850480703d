"""A driver's personal data (PIPL): everything we hold about them, as a download, and the
deletion of their account, after which the ledger keeps its balances under a pseudonym.

It reads and changes every app's records about one driver, so, like `cms.api` and `cms.urls`,
it is an assembly point that imports the other apps. The rules are in docs/decisions/0015."""

import io
import json
import logging
import secrets
import zipfile
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import audit
from cms.models import CheckoutPayment, OneTimeCode, OutboundSms, StripeEvent, User
from courses.models import Completion, Enrollment, LessonProgress, QuizAttempt, Voucher
from credentials.models import ConsentGrant, Credential
from credentials.services import credentials_revoke_for_deleted_holder
from rewards import ledger
from rewards.models import (
    Account,
    Award,
    Dispute,
    DriverLink,
    Entry,
    LinkRequest,
    Payout,
    PayoutAccount,
    RewardLine,
    ServiceEvent,
)
from rewards.statements import statement_months

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "roadwise-personal-data/1"
PSEUDONYM_PREFIX = "driver-deleted-"
# Shown to platforms and verifiers in the status list's reason: a record, not translated.
DELETED_REASON = "The holder deleted their Roadwise account."
DISPUTE_REASON_REMOVED = "(removed: the driver deleted their account)"
DISPUTE_CLOSED = "Closed without a decision: the driver deleted their account."


# --- export ---------------------------------------------------------------------------------


def _rows(queryset, *fields) -> list[dict]:
    return list(queryset.values(*fields))


def driver_data_export(*, user: User) -> dict:
    """Everything Roadwise holds about ``user``, as plain JSON-ready data: only rows that are
    theirs (their own foreign key, their mobile number, or their ledger accounts)."""
    enrollments = Enrollment.objects.filter(user=user)
    accounts = Account.objects.filter(user=user)
    credentials = Credential.objects.filter(holder=user).select_related("course", "issuer")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "profile": {
            "id": str(user.public_id),
            "mobile": user.mobile,
            "mobile_verified_at": user.mobile_verified_at,
            "display_name": user.display_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "timezone": user.timezone,
            "signed_up_at": user.date_joined,
            "last_signed_in_at": user.last_login,
        },
        # Codes are stored only as hashes; when each was asked for and used is the history.
        "sms_codes": _rows(
            OneTimeCode.objects.filter(mobile=user.mobile).order_by("created_at"),
            "purpose",
            "created_at",
            "expires_at",
            "consumed_at",
            "attempts",
        ),
        "consents": _rows(
            ConsentGrant.objects.filter(holder=user).order_by("granted_at"),
            "platform__name",
            "granted_at",
            "withdrawn_at",
        ),
        "enrollments": _rows(
            enrollments.order_by("created_at"),
            "public_id",
            "course__title",
            "status",
            "source",
            "voucher__code",
            "payment__public_id",
            "created_at",
            "updated_at",
        ),
        "lesson_progress": _rows(
            LessonProgress.objects.filter(enrollment__user=user).order_by("started_at"),
            "enrollment__public_id",
            "lesson__title",
            "started_at",
            "completed_at",
            "video_seconds_watched",
        ),
        "quiz_attempts": _rows(
            QuizAttempt.objects.filter(enrollment__user=user).order_by("submitted_at"),
            "enrollment__public_id",
            "lesson__title",
            "number",
            "answers",
            "results",
            "score",
            "max_score",
            "percent",
            "passed",
            "submitted_at",
        ),
        "completions": _rows(
            Completion.objects.filter(user=user).order_by("completed_at"),
            "public_id",
            "course__title",
            "score_percent",
            "completed_at",
        ),
        "vouchers_redeemed": _rows(Voucher.objects.filter(redeemed_by=user), "code", "redeemed_at"),
        "purchases": _rows(
            CheckoutPayment.objects.filter(user=user).order_by("created_at"),
            "public_id",
            "purpose",
            "reference",
            "description",
            "amount_fen",
            "currency",
            "quantity",
            "status",
            "amount_refunded_fen",
            "created_at",
            "paid_at",
        ),
        "certificates": [
            {
                "id": f"urn:uuid:{credential.public_id}",
                "number": credential.number,
                "course": credential.course.title,
                "issuer": credential.issuer.name,
                "name_on_certificate": credential.holder_name,
                "status": credential.status,
                "status_reason": credential.status_reason,
                "issued_at": credential.issued_at,
                "valid_until": credential.valid_until,
                "credential": json.loads(credential.document) if credential.document else None,
                "qr": credential.compact,
            }
            for credential in credentials
        ],
        "platform_links": _rows(
            DriverLink.objects.filter(driver=user).order_by("linked_at"),
            "platform__name",
            "platform_driver_id",
            "linked_at",
            "unlinked_at",
        ),
        "platform_link_requests": _rows(
            LinkRequest.objects.filter(Q(driver=user) | Q(mobile=user.mobile)).order_by(
                "created_at"
            ),
            "platform__name",
            "platform_driver_id",
            "status",
            "created_at",
            "decided_at",
        ),
        "service_events": _rows(
            ServiceEvent.objects.filter(driver=user).order_by("occurred_at", "pk"),
            "platform__name",
            "external_id",
            "kind",
            "occurred_at",
            "ended_at",
            "fare_fen",
            "currency",
            "rating",
            "outcome",
            "severity",
            "trip_external_id",
            "received_at",
        ),
        "reward_lines": _rows(
            RewardLine.objects.filter(driver=user).order_by("created_at", "pk"),
            "run__platform__name",
            "run__period_start",
            "rule_version__name",
            "amount_fen",
            "currency",
            "explanation",
            "created_at",
        ),
        "awards": _rows(
            Award.objects.filter(driver=user).order_by("created_at"),
            "platform__name",
            "external_id",
            "amount_fen",
            "currency",
            "reason",
            "created_at",
        ),
        "ledger_accounts": [
            {
                "code": account.code,
                "kind": account.kind,
                "currency": account.currency,
                "balance_fen": ledger.balance(account),
                "entries": _rows(
                    Entry.objects.filter(account=account).order_by("posted_at", "pk"),
                    "posted_at",
                    "amount_fen",
                    "currency",
                    "transaction__kind",
                    "transaction__description",
                ),
            }
            for account in accounts
        ],
        "statements": [
            {
                "month": month.key,
                "earned": [{"fen": m.fen, "currency": m.currency} for m in month.earned],
            }
            for month in statement_months(user)
        ],
        "disputes": _rows(
            Dispute.objects.filter(driver=user).order_by("opened_at"),
            "public_id",
            "platform__name",
            "period_start",
            "reason",
            "status",
            "opened_at",
            "resolved_at",
            "resolution",
            "correction_fen",
        ),
        "payout_account": _rows(
            PayoutAccount.objects.filter(driver=user),
            "stripe_account_id",
            "country",
            "details_submitted",
            "payouts_enabled",
            "created_at",
        ),
        "payouts": _rows(
            Payout.objects.filter(driver=user).order_by("created_at"),
            "public_id",
            "amount_fen",
            "currency",
            "status",
            "failure_message",
            "created_at",
            "paid_at",
        ),
    }


def driver_data_export_zip(*, user: User) -> bytes:
    """The export as a zip: ``roadwise-data.json``, and each certificate's signed credential
    (``certificates/<number>.json``) and PDF where one was rendered. Built in memory: one
    driver's data is at most a few megabytes (the PDFs)."""
    data = driver_data_export(user=user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "roadwise-data.json",
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        )
        for credential in Credential.objects.filter(holder=user):
            if credential.document:
                archive.writestr(f"certificates/{credential.number}.json", credential.document)
            if credential.pdf:
                try:
                    with credential.pdf.open("rb") as pdf:
                        archive.writestr(f"certificates/{credential.number}.pdf", pdf.read())
                except OSError:  # not rendered yet or lost: the JSON is the certificate
                    logger.warning("PDF of %s missing from storage", credential.number)
    return buffer.getvalue()


# --- deletion -------------------------------------------------------------------------------


def deletion_blockers(*, user: User) -> list[str]:
    """Why ``user`` cannot delete their account now (empty: they can)."""
    reasons = []
    if user.role != User.Role.DRIVER:
        reasons.append(
            _("Accounts of organisations and operators are closed by an operator, not here.")
        )
    if Payout.objects.filter(driver=user, status__in=Payout.UNFINISHED).exists():
        reasons.append(
            _(
                "A payout to your bank is on its way. Wait until it is paid or returned, "
                "then delete your account."
            )
        )
    return reasons


def payable_balances(*, user: User) -> list[tuple[int, str]]:
    """What Roadwise owes ``user``, per currency (fen), where it is not zero."""
    return [
        (account.balance_fen, account.currency)
        for account in Account.objects.filter(user=user, kind=Account.Kind.DRIVER_PAYABLE)
        if account.balance_fen
    ]


def _new_pseudonym() -> str:
    """A random label, not derived from anything about the person."""
    while True:
        candidate = secrets.token_hex(4)
        if not User.objects.filter(
            Q(display_name=PSEUDONYM_PREFIX + candidate) | Q(mobile=f"deleted-{candidate}")
        ).exists():
            return candidate


def _end_sessions(user: User) -> None:
    # The unusable password already invalidates every session's auth hash; the rows go too.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


def _scrub_stripe_events(user: User) -> None:
    """Stripe's copy of a checkout names the payer; ours keeps the amounts and ids only."""
    ids = set()
    for row in CheckoutPayment.objects.filter(user=user).values(
        "session_id", "payment_intent_id", "charge_id"
    ):
        ids.update(value for value in row.values() if value)
    if not ids:
        return
    for event in StripeEvent.objects.all().iterator():
        obj = (event.payload.get("data") or {}).get("object") or {}
        if not isinstance(obj, dict) or not (
            {obj.get("id"), obj.get("payment_intent"), obj.get("charge")} & ids
        ):
            continue
        for key in ("customer_details", "billing_details", "shipping_details", "shipping"):
            if obj.get(key):
                obj[key] = None
        for key in ("customer_email", "receipt_email"):
            if obj.get(key):
                obj[key] = None
        event.save(update_fields=["payload"])


def _relabel_log_entries(user: User, pseudonym: str) -> None:
    from wagtail.models import ModelLogEntry

    ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(get_user_model()), object_id=str(user.pk)
    ).update(label=pseudonym)


def driver_account_delete(*, user: User, password: str, now: datetime | None = None) -> str:
    """Delete ``user``'s account in one transaction, once they confirm with their password;
    return the pseudonym that now labels their ledger accounts and records.

    The row stays (ledger accounts, enrolments and certificates point at it) but holds
    nothing personal: certificates are revoked and their stored copies deleted, consents
    withdrawn, links ended, sessions and codes gone, the mobile number freed for a new
    sign-up. Money stays where it is: the ledger is never changed."""
    if not user.check_password(password or ""):
        raise ValidationError(_("That password is not right."), code="wrong_password")
    now = now or timezone.now()
    files = []
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            raise ValidationError(_("This account is already deleted."), code="deleted")
        blockers = deletion_blockers(user=user)
        if user.role != User.Role.DRIVER:
            raise PermissionDenied(blockers[0])
        if blockers:
            raise ValidationError(blockers[0], code="payout_in_flight")
        token = _new_pseudonym()
        pseudonym = PSEUDONYM_PREFIX + token
        placeholder = f"deleted-{token}"
        old_mobile = user.mobile

        # Revoked first, while consents stand: those platforms hear `credential.revoked`.
        revoked = credentials_revoke_for_deleted_holder(holder=user, reason=DELETED_REASON)
        for credential in Credential.objects.select_for_update().filter(holder=user):
            files += [f for f in (credential.pdf, credential.badge) if f]
            credential.holder_name = pseudonym
            credential.document = ""
            credential.compact = ""
            credential.share_token = ""
            credential.pdf = ""
            credential.badge = ""
            credential.save(
                update_fields=["holder_name", "document", "compact", "share_token", "pdf", "badge"]
            )
        withdrawn = ConsentGrant.objects.filter(holder=user, withdrawn_at=None).update(
            withdrawn_at=now
        )
        unlinked = DriverLink.objects.filter(driver=user, unlinked_at=None).update(unlinked_at=now)
        requests = LinkRequest.objects.filter(Q(driver=user) | Q(mobile=old_mobile))
        requests.filter(status=LinkRequest.Status.PENDING).update(
            status=LinkRequest.Status.DECLINED, decided_at=now
        )
        requests.update(mobile=placeholder)
        OneTimeCode.objects.filter(mobile=old_mobile).delete()
        OutboundSms.objects.filter(mobile=old_mobile).delete()
        Dispute.objects.filter(driver=user, status=Dispute.Status.OPEN).update(
            status=Dispute.Status.REJECTED, resolved_at=now, resolution=DISPUTE_CLOSED
        )
        Dispute.objects.filter(driver=user).update(reason=DISPUTE_REASON_REMOVED)
        _scrub_stripe_events(user)
        _relabel_log_entries(user, pseudonym)

        user.mobile = placeholder
        user.display_name = pseudonym
        user.first_name = ""
        user.last_name = ""
        user.email = ""
        user.timezone = ""
        user.mobile_verified_at = None
        user.is_active = False
        user.set_unusable_password()
        user.save()
        _end_sessions(user)
        # Nothing personal in the entry: the pseudonym names the account from now on.
        audit(
            "roadwise.account.delete",
            user,
            user=user,
            title=pseudonym,
            data={
                "pseudonym": pseudonym,
                "certificates_revoked": len(revoked),
                "consents_withdrawn": withdrawn,
                "links_ended": unlinked,
            },
        )
        transaction.on_commit(lambda: _delete_files(files))
    logger.info("account %s deleted; now %s", user.public_id, pseudonym)
    return pseudonym


def _delete_files(files) -> None:
    for file in files:
        try:
            file.storage.delete(file.name)
        except OSError:  # pragma: no cover - storage trouble: logged, an operator can sweep
            logger.exception("could not delete %s", file.name)
