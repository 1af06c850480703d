"""The sign-up, sign-in and reset pages, driven the way a driver on a phone uses them."""

import re

import pytest
from django.urls import reverse

from cms import sms
from cms.models import User
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db
PASSWORD = "lane-keeping-2026"


def _code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)


def _post(client, capture, url, data, **kwargs):
    with capture(execute=True):
        return client.post(url, data, **kwargs)


def test_a_driver_signs_up_with_a_mobile_number(client, django_capture_on_commit_callbacks):
    cap = django_capture_on_commit_callbacks
    response = _post(client, cap, reverse("accounts:signup"), {"mobile": "139 0000 1234"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup_verify")
    page = client.get(response["Location"])
    assert "+86 139****1234" in page.content.decode()  # shown masked, never in full

    response = _post(
        client,
        cap,
        reverse("accounts:signup_verify"),
        {"code": _code(), "display_name": "王建国", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(mobile="+8613900001234")
    assert user.display_name == "王建国"
    assert user.mobile_verified_at is not None
    assert client.get("/").context["user"] == user


def test_a_wrong_code_keeps_the_form_and_says_why(client, django_capture_on_commit_callbacks):
    cap = django_capture_on_commit_callbacks
    _post(client, cap, reverse("accounts:signup"), {"mobile": "13900001234"})
    wrong = "000000" if _code() != "000000" else "111111"
    response = _post(
        client,
        cap,
        reverse("accounts:signup_verify"),
        {"code": wrong, "display_name": "王建国", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert response.context["form"]["display_name"].value() == "王建国"
    assert not User.objects.exists()


def test_a_weak_password_is_refused_next_to_the_password_field(
    client, django_capture_on_commit_callbacks
):
    cap = django_capture_on_commit_callbacks
    _post(client, cap, reverse("accounts:signup"), {"mobile": "13900001234"})
    response = _post(
        client,
        cap,
        reverse("accounts:signup_verify"),
        {"code": _code(), "display_name": "王", "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.exists()


def test_the_verify_step_without_a_number_goes_back_to_the_start(client):
    response = client.get(reverse("accounts:signup_verify"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup")


def test_an_existing_number_is_told_to_sign_in(client, django_capture_on_commit_callbacks):
    DriverFactory(mobile="+8613900001234")
    response = _post(
        client,
        django_capture_on_commit_callbacks,
        "/en/accounts/signup/",
        {"mobile": "13900001234"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert sms.outbox == []


def test_sign_in_with_password_and_sign_out(client):
    user = DriverFactory(mobile="+8613900001234", password=PASSWORD)
    response = client.post(
        reverse("accounts:login"), {"username": "139 0000 1234", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"] == user
    assert client.get(reverse("accounts:logout")).status_code == 405  # sign-out is a POST
    client.post(reverse("accounts:logout"))
    assert not client.get("/").context["user"].is_authenticated


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    DriverFactory(mobile="+8613900001234", password=PASSWORD)
    response = client.post(
        "/en/accounts/login/", {"username": "13900001234", "password": "nope-nope"}
    )
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_sign_in_with_an_sms_code(client, django_capture_on_commit_callbacks):
    user = DriverFactory(mobile="+8613900001234")
    cap = django_capture_on_commit_callbacks
    _post(client, cap, reverse("accounts:login_code"), {"mobile": "13900001234"})
    response = _post(client, cap, reverse("accounts:login_code_verify"), {"code": _code()})
    assert response.status_code == 302
    assert client.get("/").context["user"] == user


def test_password_reset_by_sms(client, django_capture_on_commit_callbacks):
    user = DriverFactory(mobile="+8613900001234", password="old-password-1")
    cap = django_capture_on_commit_callbacks
    _post(client, cap, reverse("accounts:password_reset"), {"mobile": "13900001234"})
    response = _post(
        client,
        cap,
        reverse("accounts:password_reset_verify"),
        {"code": _code(), "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_for_an_unknown_number_looks_the_same(
    client, django_capture_on_commit_callbacks
):
    response = _post(
        client,
        django_capture_on_commit_callbacks,
        reverse("accounts:password_reset"),
        {"mobile": "13900009999"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_verify")
    assert sms.outbox == []


def test_next_must_stay_on_this_site(client):
    DriverFactory(mobile="+8613900001234", password=PASSWORD)
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": "13900001234", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.parametrize(
    "name",
    ["accounts:signup", "accounts:login", "accounts:login_code", "accounts:password_reset"],
)
def test_account_pages_are_made_for_phones(client, name):
    html = client.get(reverse(name)).content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert 'inputmode="tel"' in html
    assert 'autocomplete="tel"' in html
