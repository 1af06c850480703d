"""One-time codes: the happy path and the ways people (and attackers) get them wrong."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cms import services, sms
from cms.models import OneTimeCode, OutboundSms
from tests.cms.flaky_sms import FlakySmsSender
from tests.factories import DriverFactory

MOBILE = "+8613812345678"
pytestmark = pytest.mark.django_db


def _last_code() -> str:
    assert sms.outbox, "no SMS was sent"
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)


def _request(purpose=OneTimeCode.Purpose.SIGNUP, mobile=MOBILE, capture=None):
    with capture(execute=True):
        return services.otp_request(mobile=mobile, purpose=purpose)


def _age_codes(seconds: int) -> None:
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_a_code_is_sent_by_sms_and_only_its_hash_is_kept(django_capture_on_commit_callbacks):
    otp = _request(capture=django_capture_on_commit_callbacks)
    code = _last_code()
    assert sms.outbox[-1].mobile == MOBILE
    assert code not in otp.code_hash
    delivered = OutboundSms.objects.get()
    assert delivered.status == OutboundSms.Status.SENT
    assert delivered.body == "", "the text with the code must not stay in the database"


def test_the_right_code_verifies_once_and_cannot_be_replayed(django_capture_on_commit_callbacks):
    _request(capture=django_capture_on_commit_callbacks)
    code = _last_code()
    services.otp_verify(mobile="138 1234 5678", purpose="signup", code=code)
    with pytest.raises(ValidationError) as excinfo:
        services.otp_verify(mobile=MOBILE, purpose="signup", code=code)
    assert excinfo.value.code == "expired"


def test_a_code_for_one_purpose_does_not_work_for_another(django_capture_on_commit_callbacks):
    DriverFactory(mobile=MOBILE)
    _request(purpose="login", capture=django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        services.otp_verify(mobile=MOBILE, purpose="password_reset", code=_last_code())


def test_wrong_guesses_are_counted_and_five_kill_the_code(django_capture_on_commit_callbacks):
    _request(capture=django_capture_on_commit_callbacks)
    right = _last_code()
    wrong = "000000" if right != "000000" else "111111"
    for attempt in range(1, 6):
        with pytest.raises(ValidationError) as excinfo:
            services.otp_verify(mobile=MOBILE, purpose="signup", code=wrong)
        assert excinfo.value.code == "wrong_code"
        assert OneTimeCode.objects.get().attempts == attempt  # kept although it raised
    with pytest.raises(ValidationError) as excinfo:
        services.otp_verify(mobile=MOBILE, purpose="signup", code=right)
    assert excinfo.value.code == "too_many_attempts"


def test_an_expired_code_is_refused(django_capture_on_commit_callbacks):
    _request(capture=django_capture_on_commit_callbacks)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError) as excinfo:
        services.otp_verify(mobile=MOBILE, purpose="signup", code=_last_code())
    assert excinfo.value.code == "expired"


def test_only_the_newest_code_counts(django_capture_on_commit_callbacks):
    _request(capture=django_capture_on_commit_callbacks)
    first = _last_code()
    _age_codes(120)
    _request(capture=django_capture_on_commit_callbacks)
    second = _last_code()
    if first != second:
        with pytest.raises(ValidationError):
            services.otp_verify(mobile=MOBILE, purpose="signup", code=first)
    services.otp_verify(mobile=MOBILE, purpose="signup", code=second)


def test_asking_again_too_soon_is_throttled(django_capture_on_commit_callbacks, settings):
    settings.OTP_RESEND_SECONDS = 60
    _request(capture=django_capture_on_commit_callbacks)
    with pytest.raises(services.OtpThrottled) as excinfo:
        _request(capture=django_capture_on_commit_callbacks)
    assert 0 < excinfo.value.retry_after <= 60
    assert len(sms.outbox) == 1


def test_at_most_five_codes_an_hour(django_capture_on_commit_callbacks, settings):
    settings.OTP_MAX_PER_HOUR = 5
    for _ in range(5):
        _request(capture=django_capture_on_commit_callbacks)
        _age_codes(120)
    with pytest.raises(services.OtpThrottled):
        _request(capture=django_capture_on_commit_callbacks)
    assert len(sms.outbox) == 5


def test_sign_up_code_for_a_number_with_an_account_is_refused(django_capture_on_commit_callbacks):
    DriverFactory(mobile=MOBILE)
    with pytest.raises(ValidationError) as excinfo:
        _request(capture=django_capture_on_commit_callbacks)
    assert excinfo.value.code == "exists"
    assert sms.outbox == []


def test_reset_for_an_unknown_number_sends_nothing_and_says_nothing(
    django_capture_on_commit_callbacks,
):
    assert _request(purpose="password_reset", capture=django_capture_on_commit_callbacks) is None
    assert sms.outbox == []
    # ... and the same number is throttled like a real one, so timing tells nothing either.
    with pytest.raises(services.OtpThrottled):
        _request(purpose="password_reset", capture=django_capture_on_commit_callbacks)


def test_the_sms_text_follows_the_requested_language(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.otp_request(mobile=MOBILE, purpose="signup", language="zh-hans")
    assert "验证码" in sms.outbox[-1].body
    _age_codes(120)
    with django_capture_on_commit_callbacks(execute=True):
        services.otp_request(mobile=MOBILE, purpose="signup", language="en")
    assert "Your code is" in sms.outbox[-1].body


def test_delivering_the_same_sms_twice_sends_it_once():
    queued = OutboundSms.objects.create(mobile=MOBILE, body="hello")
    services.sms_deliver(sms_id=queued.pk)
    services.sms_deliver(sms_id=queued.pk)
    assert len(sms.outbox) == 1


def test_a_failed_sms_is_tried_again_until_it_goes_through(settings):
    settings.SMS_SENDER = "tests.cms.flaky_sms.FlakySmsSender"
    FlakySmsSender.failures_left = 2
    queued = OutboundSms.objects.create(mobile=MOBILE, body="hello")
    for expected_attempts in (1, 2):
        assert services.sms_deliver(sms_id=queued.pk).status == OutboundSms.Status.QUEUED
        queued.refresh_from_db()
        assert queued.attempts == expected_attempts
        assert queued.error == "provider busy"
    assert services.sms_deliver(sms_id=queued.pk).status == OutboundSms.Status.SENT
    assert len(sms.outbox) == 1


def test_an_sms_failure_does_not_break_the_page_that_asked_for_the_code(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SMS_SENDER = "tests.cms.flaky_sms.FlakySmsSender"
    FlakySmsSender.failures_left = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", {"mobile": MOBILE})
    assert response.status_code == 302
    assert OutboundSms.objects.get().status == OutboundSms.Status.QUEUED  # a worker retries


def test_an_sms_that_keeps_failing_is_marked_failed_and_forgotten(settings):
    settings.SMS_SENDER = "tests.cms.flaky_sms.FlakySmsSender"
    FlakySmsSender.failures_left = 99
    queued = OutboundSms.objects.create(mobile=MOBILE, body="secret 123456")
    for _ in range(services.SMS_MAX_ATTEMPTS + 2):
        services.sms_deliver(sms_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == OutboundSms.Status.FAILED
    assert queued.attempts == services.SMS_MAX_ATTEMPTS
    assert queued.body == ""
    assert sms.outbox == []
