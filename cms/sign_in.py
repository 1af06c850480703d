"""Brakes on guessing: failed password sign-ins per mobile number and per address, one-time
codes asked for and wrong codes typed per address. Counters live in the cache
(cms/throttling.py); numbers have their own limits in the database (cms/services.py).

The answer to a locked number is the same whether an account has that number or not, so the
lock does not tell strangers who has an account."""

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cms import throttling

OTP_WINDOW_SECONDS = 3600


class SignInThrottled(ValidationError):
    """Too many attempts; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message, *, retry_after: int):
        super().__init__(message, code="throttled")
        self.retry_after = retry_after


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _locked(retry_after: int) -> SignInThrottled:
    return SignInThrottled(
        _(
            "Too many failed sign-in attempts. Please wait %(minutes)d minutes and try again, "
            "or reset your password."
        )
        % {"minutes": _minutes(retry_after)},
        retry_after=retry_after,
    )


def password_attempt_begin(*, mobile: str, ip: str | None) -> None:
    """Before a password is checked: raise SignInThrottled if this number or this address
    has failed too often. ``mobile`` is normalised (or a placeholder for an invalid one).

    The number's counter is counted up here, atomically, so that guesses sent in parallel
    cannot slip past the limit; a right password takes the count back to zero."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    if ip is not None:
        by_ip = throttling.peek(
            bucket=f"login-ip:{ip}", limit=settings.LOGIN_FAILURES_PER_IP, window_seconds=window
        )
        if not by_ip.allowed:
            raise _locked(by_ip.retry_after)
    by_number = throttling.hit(
        bucket=f"login:{mobile}", limit=settings.LOGIN_FAILURES_PER_ACCOUNT, window_seconds=window
    )
    if not by_number.allowed:
        raise _locked(by_number.retry_after)


def password_attempt_failed(*, ip: str | None) -> None:
    if ip is not None:
        throttling.hit(
            bucket=f"login-ip:{ip}",
            limit=settings.LOGIN_FAILURES_PER_IP,
            window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        )


def password_attempt_succeeded(*, mobile: str) -> None:
    """The right password: the number's failures are forgotten (the address's are not, so
    that signing in to one's own account cannot wipe the record of guessing at others)."""
    throttling.reset(bucket=f"login:{mobile}", window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def code_request_check(*, ip: str) -> None:
    """Before a one-time code is sent: at most OTP_REQUESTS_PER_IP_PER_HOUR from one
    address, whatever numbers it asks for (each number has its own limit as well)."""
    window = throttling.hit(
        bucket=f"otp-request-ip:{ip}",
        limit=settings.OTP_REQUESTS_PER_IP_PER_HOUR,
        window_seconds=OTP_WINDOW_SECONDS,
    )
    if not window.allowed:
        raise SignInThrottled(
            _("Too many codes were asked for from your network. Try again in %(minutes)d minutes.")
            % {"minutes": _minutes(window.retry_after)},
            retry_after=window.retry_after,
        )


def code_attempt_check(*, ip: str) -> None:
    """Before a typed code is checked: refuse an address that typed too many wrong ones."""
    window = throttling.peek(
        bucket=f"otp-fail-ip:{ip}",
        limit=settings.OTP_FAILURES_PER_IP_PER_HOUR,
        window_seconds=OTP_WINDOW_SECONDS,
    )
    if not window.allowed:
        raise SignInThrottled(
            _("Too many wrong codes from your network. Try again in %(minutes)d minutes.")
            % {"minutes": _minutes(window.retry_after)},
            retry_after=window.retry_after,
        )


def code_attempt_failed(*, ip: str, error: ValidationError) -> None:
    """Count a wrong code against the address (not a refusal for other reasons)."""
    if any(item.code == "wrong_code" for item in error.error_list):
        throttling.hit(
            bucket=f"otp-fail-ip:{ip}",
            limit=settings.OTP_FAILURES_PER_IP_PER_HOUR,
            window_seconds=OTP_WINDOW_SECONDS,
        )
