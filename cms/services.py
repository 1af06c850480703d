"""Verbs that change the site's own state: one-time codes, SMS delivery, sign-up, resets.

Views, admin actions and tasks call these; none of them holds a rule of its own."""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from cms.models import OneTimeCode, OutboundSms, User
from cms.phone import normalize_mobile
from cms.sms import SmsSendError, get_sms_sender

logger = logging.getLogger(__name__)

SMS_MAX_ATTEMPTS = 3


class OtpThrottled(ValidationError):
    """Too many codes asked for; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message, *, retry_after: int):
        super().__init__(message, code="throttled")
        self.retry_after = retry_after


def _code_hash(*, mobile: str, purpose: str, code: str) -> str:
    message = f"{mobile}|{purpose}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def otp_request(*, mobile: str, purpose: str, language: str | None = None) -> OneTimeCode | None:
    """Send a fresh one-time code to ``mobile`` for ``purpose``.

    For sign-in and password reset a number with no account gets no SMS, but the caller
    sees the same answer, so the form does not tell strangers who has an account.
    Raises OtpThrottled when the number asked too recently or too often."""
    mobile = normalize_mobile(mobile)
    if purpose not in OneTimeCode.Purpose.values:
        raise ValueError(f"unknown one-time code purpose {purpose!r}")
    now = timezone.now()
    with transaction.atomic():
        recent = OneTimeCode.objects.select_for_update().filter(
            mobile=mobile, created_at__gte=now - timedelta(hours=1)
        )
        recent_times = sorted((c.created_at for c in recent), reverse=True)
        if recent_times:
            wait = settings.OTP_RESEND_SECONDS - int((now - recent_times[0]).total_seconds())
            if wait > 0:
                raise OtpThrottled(
                    _("Please wait %(seconds)d seconds before asking for another code.")
                    % {"seconds": wait},
                    retry_after=wait,
                )
        if len(recent_times) >= settings.OTP_MAX_PER_HOUR:
            wait = 3600 - int((now - recent_times[-1]).total_seconds())
            raise OtpThrottled(
                _("Too many codes were sent to this number. Try again in %(minutes)d minutes.")
                % {"minutes": max(1, wait // 60)},
                retry_after=max(wait, 1),
            )
        account_exists = User.objects.filter(mobile=mobile).exists()
        if purpose == OneTimeCode.Purpose.SIGNUP and account_exists:
            raise ValidationError(
                _("An account with this mobile number already exists. Please sign in."),
                code="exists",
            )
        code = "".join(secrets.choice("0123456789") for _ in range(settings.OTP_LENGTH))
        otp = OneTimeCode.objects.create(
            mobile=mobile,
            purpose=purpose,
            code_hash=_code_hash(mobile=mobile, purpose=purpose, code=code),
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        if purpose != OneTimeCode.Purpose.SIGNUP and not account_exists:
            return None
        with override(language):
            body = _(
                "[Roadwise] Your code is %(code)s. It is valid for %(minutes)d minutes. "
                "Never share it with anyone."
            ) % {"code": code, "minutes": settings.OTP_TTL_SECONDS // 60}
        sms_enqueue(mobile=mobile, body=body)
    return otp


def otp_verify(*, mobile: str, purpose: str, code: str) -> OneTimeCode:
    """Consume the newest live code for ``mobile`` and ``purpose`` if ``code`` matches.

    A wrong guess counts against the code even though this raises; after
    OTP_MAX_ATTEMPTS wrong guesses the code is dead and a new one must be asked for."""
    mobile = normalize_mobile(mobile)
    code = (code or "").strip()
    failure: ValidationError | None = None
    with transaction.atomic():
        otp = (
            OneTimeCode.objects.select_for_update()
            .filter(mobile=mobile, purpose=purpose, consumed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if otp is None or otp.expires_at <= now:
            failure = ValidationError(
                _("This code has expired or was never sent. Ask for a new one."),
                code="expired",
            )
        elif otp.attempts >= settings.OTP_MAX_ATTEMPTS:
            failure = ValidationError(
                _("Too many wrong codes. Ask for a new one."), code="too_many_attempts"
            )
        elif not hmac.compare_digest(
            otp.code_hash, _code_hash(mobile=mobile, purpose=purpose, code=code)
        ):
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
            failure = ValidationError(_("That code is not right."), code="wrong_code")
        else:
            otp.consumed_at = now
            otp.save(update_fields=["consumed_at"])
    # Raised outside the transaction so that the counted wrong attempt is kept.
    if failure is not None:
        raise failure
    return otp


def driver_signup(*, mobile: str, code: str, password: str, display_name: str) -> User:
    """Create a driver's account once they prove they hold ``mobile``."""
    mobile = normalize_mobile(mobile)
    display_name = display_name.strip()
    if not display_name:
        raise ValidationError(_("Enter the name to show on your certificates."), code="required")
    candidate = User(mobile=mobile, display_name=display_name)
    validate_password(password, user=candidate)
    with transaction.atomic():
        otp_verify(mobile=mobile, purpose=OneTimeCode.Purpose.SIGNUP, code=code)
        if User.objects.filter(mobile=mobile).exists():
            raise ValidationError(
                _("An account with this mobile number already exists. Please sign in."),
                code="exists",
            )
        return User.objects.create_user(
            mobile=mobile,
            password=password,
            display_name=display_name,
            mobile_verified_at=timezone.now(),
        )


def login_code_check(*, mobile: str, code: str) -> User:
    """Return the active user whose sign-in code this is."""
    otp_verify(mobile=mobile, purpose=OneTimeCode.Purpose.LOGIN, code=code)
    user = User.objects.filter(mobile=normalize_mobile(mobile), is_active=True).first()
    if user is None:  # only possible if the account was closed after the code was sent
        raise ValidationError(_("That code is not right."), code="wrong_code")
    return user


def password_reset_with_code(*, mobile: str, code: str, new_password: str) -> User:
    mobile = normalize_mobile(mobile)
    user = User.objects.filter(mobile=mobile, is_active=True).first()
    if user is not None:
        validate_password(new_password, user=user)
    otp_verify(mobile=mobile, purpose=OneTimeCode.Purpose.PASSWORD_RESET, code=code)
    if user is None:
        raise ValidationError(_("That code is not right."), code="wrong_code")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


def sms_enqueue(*, mobile: str, body: str) -> OutboundSms:
    """Queue an SMS; it is handed to the sender by a task once this transaction commits."""
    from cms.tasks import deliver_sms

    sms = OutboundSms.objects.create(mobile=mobile, body=body)
    transaction.on_commit(lambda: deliver_sms.delay(sms.pk))
    return sms


def sms_deliver(*, sms_id: int) -> OutboundSms:
    """Hand one queued SMS to the sender. Delivering it again does nothing."""
    with transaction.atomic():
        sms = OutboundSms.objects.select_for_update().get(pk=sms_id)
        if sms.status != OutboundSms.Status.QUEUED:
            return sms
        sms.attempts += 1
        try:
            message_id = get_sms_sender().send(mobile=sms.mobile, body=sms.body)
        except SmsSendError as exc:
            sms.error = str(exc)
            if sms.attempts >= SMS_MAX_ATTEMPTS:
                sms.status = OutboundSms.Status.FAILED
                sms.body = ""
            sms.save(update_fields=["attempts", "error", "status", "body"])
            logger.warning("SMS %s to %s failed: %s", sms.pk, sms.mobile, exc)
            return sms
        sms.status = OutboundSms.Status.SENT
        sms.provider_message_id = message_id
        sms.sent_at = timezone.now()
        sms.body = ""
        sms.error = ""
        sms.save()
    return sms
