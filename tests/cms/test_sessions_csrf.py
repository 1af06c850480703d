"""Sessions and CSRF as Django intends: signing in gives a new session key, signing out
ends the session, a new password ends the other sessions, every form POST needs a CSRF token
(the bearer-key API by design does not), and the session cookie is HttpOnly and SameSite=Lax."""

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import get_resolver, reverse

from cms import sms
from cms.api_keys import platform_api_key_create
from cms.models import Organization
from tests.factories import DriverFactory, OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
PASSWORD = "lane-keeping-2026"
SESSION_COOKIE = django_settings.SESSION_COOKIE_NAME


@pytest.fixture
def driver():
    return DriverFactory(mobile="+8613900001234", password=PASSWORD)


def _code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)


def _session_key(client) -> str:
    return client.cookies[SESSION_COOKIE].value


def _is_signed_in(client) -> bool:
    return client.get("/en/").context["user"].is_authenticated


def test_signing_in_with_a_password_gives_a_new_session_key(client, driver):
    # A session that exists before sign-in (a visitor who began the SMS flow), as an
    # attacker could plant it in the victim's browser.
    client.post(reverse("accounts:login_code"), {"mobile": "13900009999"})
    before = _session_key(client)
    assert SessionStore(session_key=before).exists(before)

    response = client.post(
        reverse("accounts:login"), {"username": "13900001234", "password": PASSWORD}
    )
    assert response.status_code == 302
    after = _session_key(client)
    assert after != before
    assert not SessionStore(session_key=before).exists(before)  # the planted one is gone
    planted = Client()
    planted.cookies[SESSION_COOKIE] = before
    assert not _is_signed_in(planted)


def test_signing_in_with_an_sms_code_gives_a_new_session_key(
    client, driver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:login_code"), {"mobile": "13900001234"})
    before = _session_key(client)
    response = client.post(reverse("accounts:login_code_verify"), {"code": _code()})
    assert response.status_code == 302
    assert _session_key(client) != before
    assert not SessionStore(session_key=before).exists(before)


def test_signing_out_ends_the_session_for_good(client, driver):
    client.post(reverse("accounts:login"), {"username": "13900001234", "password": PASSWORD})
    key = _session_key(client)
    assert _is_signed_in(client)

    client.post(reverse("accounts:logout"))
    assert not SessionStore(session_key=key).exists(key)
    replay = Client()
    replay.cookies[SESSION_COOKIE] = key  # a copied cookie no longer works
    assert not _is_signed_in(replay)
    assert not _is_signed_in(client)


def test_a_password_reset_signs_out_the_other_sessions(driver, django_capture_on_commit_callbacks):
    phone, laptop = Client(), Client()
    laptop.post(reverse("accounts:login"), {"username": "13900001234", "password": PASSWORD})
    assert _is_signed_in(laptop)

    with django_capture_on_commit_callbacks(execute=True):
        phone.post(reverse("accounts:password_reset"), {"mobile": "13900001234"})
    new = "a-brand-new-password-9"
    response = phone.post(
        reverse("accounts:password_reset_verify"),
        {"code": _code(), "password1": new, "password2": new},
    )
    assert response.status_code == 302
    assert not _is_signed_in(laptop)  # whoever had the old password is out


def test_a_password_change_signs_out_the_other_sessions(driver):
    """Wagtail's account page calls update_session_auth_hash for the session that changed it;
    every other session is checked against the password hash on its next request."""
    first, second = Client(), Client()
    for client in (first, second):
        client.post(reverse("accounts:login"), {"username": "13900001234", "password": PASSWORD})
    driver.set_password("another-password-77")
    driver.save()
    assert not _is_signed_in(first)
    assert not _is_signed_in(second)


def test_the_session_cookie_is_httponly_and_samesite_lax(client, driver):
    response = client.post(
        reverse("accounts:login"), {"username": "13900001234", "password": PASSWORD}
    )
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    page = Client().get(reverse("accounts:login"))
    csrf = page.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["samesite"] == "Lax"


# --- CSRF -----------------------------------------------------------------------------------

# The only views that skip Django's CSRF middleware, and why each is safe.
CSRF_EXEMPT_ALLOWED = {
    # The JSON API authenticates with a bearer key, never a cookie: nothing to forge.
    "ninja.operation.PathView.get_view.<locals>.sync_view_wrapper",
    # Stripe signs its webhooks; the signature is checked instead.
    "cms.webhooks.stripe_webhook",
    # Checks CSRF itself (csrf_protect) once the body is known to be small enough to read.
    "credentials.site_views.verify_page",
    # Django REST framework views of Wagtail's admin: DRF's SessionAuthentication enforces
    # CSRF for signed-in users itself.
    "wagtail.admin.api.views.PagesAdminAPIViewSet",
    "wagtail.documents.api.admin.views.DocumentsAdminAPIViewSet",
    "wagtail.images.api.admin.views.ImagesAdminAPIViewSet",
    # The same two, limited to the author's own collections (courses/wagtail_hooks.py).
    "courses.wagtail_hooks.OwnCollectionDocumentsAdminAPIViewSet",
    "courses.wagtail_hooks.OwnCollectionImagesAdminAPIViewSet",
    "wagtail_localize.views.edit_translation.View.as_view.<locals>.view",
    "wagtail_localize.views.snippets_api.SnippetViewSet",
}


def _views(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _views(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def test_no_view_skips_csrf_unless_listed():
    exempt = {
        f"{view.__module__}.{getattr(view, '__qualname__', view)}": route
        for route, view in _views(get_resolver())
        if getattr(view, "csrf_exempt", False)
    }
    assert set(exempt) - CSRF_EXEMPT_ALLOWED == set(), exempt


FORMS = [
    ("/en/accounts/login/", {"username": "13900001234", "password": PASSWORD}),
    ("/en/accounts/signup/", {"mobile": "13900002222"}),
    ("/en/accounts/login/code/", {"mobile": "13900001234"}),
    ("/en/accounts/password-reset/", {"mobile": "13900001234"}),
    ("/en/verify/", {"text": "{}"}),
    ("/admin/login/", {"username": "13900001234", "password": PASSWORD}),
]


@pytest.mark.parametrize(("url", "data"), FORMS)
def test_anonymous_forms_refuse_a_post_without_the_token(driver, url, data):
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post(url, data)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    token = strict.get(url).cookies[django_settings.CSRF_COOKIE_NAME].value
    accepted = strict.post(url, {**data, "csrfmiddlewaretoken": token})
    assert accepted.status_code != 403


SIGNED_IN_POSTS = [
    "/en/accounts/logout/",
    "/en/lessons/1/complete/",
    reverse("courses:lesson_complete_sync", args=[1]),  # the offline-sync endpoint
    "/en/lessons/1/quiz/",
    "/en/courses/1/enrol/",
    "/admin/platform-api-keys/new/",
]


@pytest.mark.parametrize("url", SIGNED_IN_POSTS)
def test_signed_in_posts_refuse_a_forged_request(url):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(OperatorFactory())
    response = strict.post(url, {})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert _is_signed_in(strict)  # the forged sign-out did nothing


def test_the_api_needs_no_csrf_token_even_with_a_session(driver):
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    _key, raw = platform_api_key_create(organization=platform, name="csrf")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(driver)  # a session cookie alone must not authenticate the API
    without_key = strict.post(
        "/api/v1/service-events", {"events": []}, content_type="application/json"
    )
    assert without_key.status_code == 401
    with_key = strict.post(
        "/api/v1/service-events",
        {"events": []},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    # The key is enough: no CSRF token by design (the empty batch is then refused for itself).
    assert with_key.status_code == 422
    assert "empty" in with_key.json()["detail"]
