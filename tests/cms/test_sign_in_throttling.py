"""Brakes on guessing: failed password sign-ins per number and per address (the site's form
and Wagtail's /admin/login/), one-time codes asked for and wrong codes typed per address."""

import re

import pytest
from django.urls import reverse

from cms import sms, throttling
from cms.models import User
from tests.factories import DriverFactory, OperatorFactory

pytestmark = pytest.mark.django_db
PASSWORD = "lane-keeping-2026"
LOGIN = "/en/accounts/login/"


def _login(client, username, password, *, ip="203.0.113.7", url=LOGIN):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _throttled(response) -> bool:
    form = response.context["form"]
    return any(e.code == "throttled" for e in form.errors.as_data().get("__all__", []))


@pytest.fixture
def driver():
    return DriverFactory(mobile="+8613900001234", password=PASSWORD)


def test_five_wrong_passwords_lock_the_number_even_for_the_right_one(client, driver):
    for _ in range(5):
        response = _login(client, "13900001234", "wrong-guess")
        assert response.status_code == 200
        assert not _throttled(response)
    locked = _login(client, "13900001234", PASSWORD)
    assert locked.status_code == 200
    assert _throttled(locked)
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert re.search(r"wait \d+ minutes", locked.content.decode())
    assert not _signed_in(client)


def test_the_lock_does_not_tell_whether_the_number_has_an_account(client, driver):
    answers = {}
    for number in ("13900001234", "13900005678"):  # the second has no account
        for _ in range(5):
            _login(client, number, "wrong-guess", ip="203.0.113.99")
        answers[number] = _login(client, number, "wrong-guess", ip="198.51.100.1")
    known, unknown = answers.values()
    assert _throttled(known) and _throttled(unknown)
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_format_variants_of_a_number_share_one_counter(client, driver):
    variants = [
        "13900001234",
        "139 0000 1234",
        "+86 139-0000-1234",
        "+8613900001234",
        "139-0000-1234",
    ]
    for variant in variants:
        assert not _throttled(_login(client, variant, "wrong-guess"))
    assert _throttled(_login(client, "(139) 0000 1234", PASSWORD))
    assert not _signed_in(client)


def test_a_right_password_resets_the_count(client, driver):
    for _round in range(3):
        for _ in range(4):
            assert not _throttled(_login(client, "13900001234", "wrong-guess"))
        response = _login(client, "13900001234", PASSWORD)
        assert response.status_code == 302  # 12 failures in all, never 5 in a row
        client.post(reverse("accounts:logout"))


def test_the_lock_ends_with_its_window(client, driver, monkeypatch):
    now = [60 * 15 * 100_000 + 10.0]
    monkeypatch.setattr(throttling, "_now", lambda: now[0])
    for _ in range(5):
        _login(client, "13900001234", "wrong-guess")
    assert _throttled(_login(client, "13900001234", PASSWORD))
    now[0] += 15 * 60
    assert _login(client, "13900001234", PASSWORD).status_code == 302


def test_one_address_cycling_numbers_is_stopped(client, driver, settings):
    settings.LOGIN_FAILURES_PER_IP = 4
    for n in range(4):
        assert not _throttled(_login(client, f"1390000{n:04d}", "wrong-guess", ip="192.0.2.5"))
    # The driver's own number has no failures, but this address is spent...
    blocked = _login(client, "13900001234", PASSWORD, ip="192.0.2.5")
    assert _throttled(blocked)
    # ...while the driver from another address signs in.
    assert _login(client, "13900001234", PASSWORD, ip="192.0.2.6").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, driver, settings):
    settings.LOGIN_FAILURES_PER_IP = 2
    settings.ROADWISE_TRUSTED_PROXIES = 1

    def attempt(forwarded):
        return client.post(
            LOGIN,
            {"username": "13900009999", "password": "wrong-guess"},
            REMOTE_ADDR="10.0.0.1",  # the load balancer
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    attempt("1.2.3.4, 192.0.2.10")  # the client may prepend anything; the LB appends
    attempt("192.0.2.10")
    assert _throttled(attempt("192.0.2.10"))
    assert not _throttled(attempt("192.0.2.11"))  # another visitor behind the same LB


def test_the_wagtail_admin_login_is_throttled_too(client):
    operator = OperatorFactory(mobile="+8613900007777", password=PASSWORD)
    for _ in range(3):
        _login(client, "13900007777", "wrong-guess", url="/admin/login/")
    for _ in range(2):  # the site's form and the admin's share the count
        _login(client, "139 0000 7777", "wrong-guess")
    locked = _login(client, "13900007777", PASSWORD, url="/admin/login/")
    assert locked.status_code == 200
    assert _throttled(locked)
    assert not _signed_in(client)
    assert User.objects.get(pk=operator.pk).last_login is None


def _code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)


def test_one_address_cannot_ask_codes_for_many_numbers(
    client, settings, django_capture_on_commit_callbacks
):
    settings.OTP_REQUESTS_PER_IP_PER_HOUR = 3
    for n in range(4):
        DriverFactory(mobile=f"+86139000020{n:02d}")

    def ask(number, ip, url=None):
        with django_capture_on_commit_callbacks(execute=True):
            url = url or reverse("accounts:login_code")
            return client.post(url, {"mobile": number}, REMOTE_ADDR=ip)

    for n in range(3):
        assert ask(f"1390000200{n}", "192.0.2.9").status_code == 302
    assert len(sms.outbox) == 3
    refused = ask("13900002003", "192.0.2.9", url="/en/accounts/login/code/")
    assert refused.status_code == 200
    assert "Too many codes were asked for from your network" in refused.content.decode()
    assert len(sms.outbox) == 3  # nothing sent
    assert ask("13900002003", "192.0.2.8").status_code == 302  # another address may
    assert len(sms.outbox) == 4


def test_the_number_limit_holds_across_format_variants(
    client, driver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("accounts:login_code"), {"mobile": "13900001234"})
        assert first.status_code == 302
        again = client.post("/en/accounts/login/code/", {"mobile": "+86 139-0000-1234"})
    assert again.status_code == 200
    assert "before asking for another code" in again.content.decode()
    assert len(sms.outbox) == 1


def test_one_address_typing_wrong_codes_is_stopped(
    client, driver, settings, django_capture_on_commit_callbacks
):
    settings.OTP_FAILURES_PER_IP_PER_HOUR = 3
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:login_code"), {"mobile": "13900001234"})
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    url = "/en/accounts/login/code/verify/"
    for _ in range(3):  # under the code's own limit of 5
        response = client.post(url, {"code": wrong}, REMOTE_ADDR="192.0.2.20")
        assert "That code is not right" in response.content.decode()
    refused = client.post(url, {"code": code}, REMOTE_ADDR="192.0.2.20")
    assert refused.status_code == 200
    assert "Too many wrong codes from your network" in refused.content.decode()
    assert not _signed_in(client)
    # The code itself is still good from elsewhere: the lock is on the address.
    assert client.post(url, {"code": code}, REMOTE_ADDR="192.0.2.21").status_code == 302
