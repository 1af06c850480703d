"""Security headers and the Content Security Policy on every kind of response
(docs/decisions/0013-content-security-policy.md): the drivers' site signed out and signed in,
error pages, the Wagtail admin, the API docs and the JSON API."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from cms.demo import DEMO_PASSWORD

DRIVER = "+8613900000001"  # 王建国: certificates, statements, payouts
OPERATOR = "+8613800000001"


def policy(response) -> dict[str, set[str]]:
    """The Content-Security-Policy header as {directive: {sources}}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = set(sources)
    return directives


def assert_common_headers(response, *, frame_options: str = "DENY") -> None:
    path = response.request["PATH_INFO"]
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", path
    assert headers.get("X-Frame-Options") == frame_options, path
    features = dict(
        item.strip().split("=", 1) for item in headers.get("Permissions-Policy", "").split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features.get(feature) == "()", f"{path}: {feature} not turned off"


def assert_site_policy(response) -> None:
    """The drivers' site: nothing inline, nothing from elsewhere, never framed."""
    path = response.request["PATH_INFO"]
    csp = policy(response)
    assert csp["default-src"] == {"'self'"}, path
    assert csp["script-src"] == {"'self'"}, path  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == {"'self'"}, path
    assert csp["object-src"] == {"'none'"}, path
    assert csp["base-uri"] == {"'self'"}, path
    assert csp["frame-ancestors"] == {"'none'"}, path
    assert "'self'" in csp["form-action"], path
    assert not any("*" in source for sources in csp.values() for source in sources), path
    assert_common_headers(response)


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


def _driver_paths() -> list[str]:
    from courses.models import Completion, CoursePage
    from credentials.models import Credential
    from rewards.selectors import last_month

    completion = Completion.objects.filter(user__mobile=DRIVER).first()
    course = CoursePage.objects.get(pk=completion.course_id)
    credential = Credential.objects.filter(completion__user__mobile=DRIVER).first()
    month = last_month().strftime("%Y-%m")
    paths = [
        course.url,
        course.lessons()[0].url,
        reverse("courses:dashboard"),
        reverse("certificates:list"),
        reverse("certificates:detail", kwargs={"public_id": credential.public_id}),
        reverse("certificates:consents"),
        reverse("rewards:statements"),
        reverse("rewards:statement", kwargs={"month": month}),
        reverse("rewards:payouts"),
        reverse("rewards:disputes"),
    ]
    with translation.override("en"):
        paths += [reverse("rewards:statements"), reverse("certificates:list")]
    return paths


def _certificate_pdf() -> str:
    from credentials.models import Credential

    credential = Credential.objects.filter(completion__user__mobile=DRIVER).first()
    return reverse(
        "certificates:download",
        kwargs={"public_id": credential.public_id, "kind": "certificate.pdf"},
    )


def test_every_kind_of_page_carries_its_policy_and_the_security_headers(client, demo):
    from courses.models import CoursePage

    course = CoursePage.objects.live().filter(locale__language_code="zh-hans").first()
    anonymous = [
        "/",
        "/en/",
        course.url,
        "/accounts/login/",
        "/en/accounts/signup/",
        "/accounts/password-reset/",
        "/verify/",
        "/learn/offline/",
        "/en/learn/offline/",
    ]
    for path in anonymous:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_site_policy(response)
    # A page served from the anonymous page cache carries the same headers.
    again = client.get(course.url)
    assert again.headers.get("X-Page-Cache") == "hit"
    assert_site_policy(again)

    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_site_policy(missing)

    assert client.login(username=DRIVER, password=DEMO_PASSWORD)
    for path in _driver_paths():
        response = client.get(path)
        assert response.status_code == 200, path
        assert_site_policy(response)
    # A certificate's PDF gets no page policy: Chrome's PDF viewer is a page of its own that
    # one would break. nosniff still holds.
    response = client.get(_certificate_pdf())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    client.logout()

    assert client.login(username=OPERATOR, password=DEMO_PASSWORD)
    for path in [
        "/admin/",
        f"/admin/pages/{course.pk}/",
        f"/admin/pages/{course.pk}/edit/",
        "/admin/images/",
        "/admin/users/",
        "/admin/course-analytics/",
        "/admin/reward-rules/",
        "/admin/reward-disputes/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = policy(response)
        # Relaxed for Wagtail's own inline scripts and styles, and nothing more.
        assert csp["script-src"] == {"'self'", "'unsafe-inline'"}, path
        assert csp["default-src"] == {"'self'"}, path
        assert csp["object-src"] == {"'none'"}, path
        assert csp["base-uri"] == {"'self'"}, path
        assert csp["frame-ancestors"] == {"'self'"}, path  # the admin frames its preview
        assert_common_headers(response)
    # Wagtail's preview may be framed, by the admin only.
    response = client.get(f"/admin/pages/{course.pk}/edit/preview/")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert policy(response)["frame-ancestors"] == {"'self'"}
    # The site as an operator sees it (with Wagtail's userbar) keeps the site's policy.
    response = client.get("/")
    assert_site_policy(response)


def test_the_api_docs_run_on_files_only(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = policy(response)
    assert csp["script-src"] == {"'self'"}
    assert csp["style-src"] == {"'self'"}
    assert csp["frame-ancestors"] == {"'none'"}
    assert_common_headers(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/openapi.json", 200),
        ("post", "/api/v1/credentials/verify", 401),  # no key: still JSON, still locked down
        ("get", "/api/v1/no-such-endpoint/", 404),
    ],
)
def test_json_api_answers_load_nothing_and_are_never_framed(client, db, method, path, status):
    response = getattr(client, method)(path, content_type="application/json")
    assert response.status_code == status
    assert policy(response) == {"default-src": {"'none'"}, "frame-ancestors": {"'none'"}}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_forms_may_send_the_browser_to_stripe_and_nowhere_else(client, db, settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    assert policy(client.get("/accounts/login/"))["form-action"] == {
        "'self'",
        "https://checkout.stripe.com",
        "https://connect.stripe.com",
    }
    # Payments pointed at a stand-in (tests, staging): its pages take Stripe's place.
    settings.STRIPE_API_BASE = "http://127.0.0.1:41234/"
    assert policy(client.get("/accounts/login/"))["form-action"] == {
        "'self'",
        "http://127.0.0.1:41234",
    }


def _through_middleware(path: str, response, **request_attrs):
    from django.test import RequestFactory

    from cms.security import SecurityHeadersMiddleware

    request = RequestFactory().get(path)
    for name, value in request_attrs.items():
        setattr(request, name, value)
    return SecurityHeadersMiddleware(lambda request: response)(request)


def test_a_policy_a_view_set_itself_is_kept():
    from django.http import HttpResponse

    own = HttpResponse(b"%PDF-1.7", content_type="text/html")
    own["Content-Security-Policy"] = "default-src 'none'"
    response = _through_middleware("/documents/1/guide.pdf", own)
    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_wagtails_made_up_preview_request_leaves_the_headers_to_the_admins_request():
    """Wagtail runs a dummy request for the page's own URL (/...) through the middleware
    inside the admin's request; were the site's policy set there, its frame-ancestors 'none'
    would keep the admin from showing the preview."""
    from django.http import HttpResponse

    inner = _through_middleware("/", HttpResponse("<h1>preview</h1>"), is_dummy=True)
    assert "Content-Security-Policy" not in inner.headers
    outer = _through_middleware("/admin/pages/3/edit/preview/", inner)
    assert policy_of(outer)["frame-ancestors"] == {"'self'"}


def policy_of(response) -> dict[str, set[str]]:
    return {
        name: set(sources)
        for name, *sources in (
            part.split() for part in response["Content-Security-Policy"].split(";")
        )
    }
