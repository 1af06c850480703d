"""Personal data organisations see (issue 9, docs/decisions/0015): schools, carmakers and
platforms never see a driver's whole mobile number, in the admin (every page an author or
platform staff can reach from the dashboard, CSV exports included) or through the API; and
no model, form or API schema collects a national ID number."""

import json
import re
from html import unescape

import pytest
from django import forms
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import get_resolver

from cms.demo import demo_api_key
from cms.models import User
from rewards import selectors

pytestmark = pytest.mark.django_db

DRIVERS = ["+8613900000001", "+8613900000002", "+8613900000003", "+8613900000004"]
FULL_NUMBERS = [mobile[3:] for mobile in DRIVERS]  # 13900000001, in any formatting
# Pages that change things on GET confirmation, or only hold course content: not crawled.
SKIP = re.compile(
    r"logout|/delete|/revoke|/unpublish|/lock|/unlock|/copy|/move|/preview|/disable|run-now"
    r"|/publish|/workflow|/admin/pages/|/localize/|/block-preview/|/images/|/documents/|/snippets/|/search/|/account/"
)


@pytest.fixture
def demo(settings):
    settings.DEMO_SEEDERS = [
        "courses.demo.seed_demo",
        "credentials.demo.seed_demo",
        "rewards.demo.seed_demo",
    ]
    call_command("seed_demo", verbosity=0)


def _visible(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    return unescape(re.sub(r"\s+", "", text))  # "139 0000 0001" is still the number


def crawl(client: Client, start: str = "/admin/", limit: int = 120) -> dict[str, str]:
    """GET every admin page reachable from ``start`` by links (up to ``limit``)."""
    seen: dict[str, str] = {}
    queue = [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or SKIP.search(url):
            continue
        response = client.get(url)
        seen[url] = _visible(response) if response.status_code == 200 else ""
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        # Links, and the sidebar menu's, which Wagtail renders from JSON in the page.
        page = unescape(response.content.decode()).replace("\\/", "/")
        for href in re.findall(r"""["'](/admin/[^"'#<>\s\\]*)""", page):
            if "csv" not in href:  # orderings and page numbers of one listing: once
                href = href.split("?")[0]
            if href not in seen:
                queue.append(href)
    return seen


@pytest.mark.parametrize(
    ("mobile", "must_reach"),
    [
        # The school's author: its certificates (holders' names) and course analytics.
        ("+8613800000011", ["/admin/certificates/", "/admin/course-analytics/"]),
        # The platform's staff: reward runs (each driver masked), totals, service data.
        ("+8613800000021", ["/admin/reward-rules/runs/", "/admin/service-data/"]),
    ],
)
def test_organisations_never_see_a_drivers_whole_number_in_the_admin(demo, mobile, must_reach):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(mobile=mobile))
    pages = crawl(client)
    assert len(pages) > 20
    for prefix in must_reach:  # the crawl did reach the pages that name drivers
        assert any(url.startswith(prefix) and text for url, text in pages.items()), (
            prefix,
            sorted(pages),
        )
    csv_links = [url for url in pages if ".csv" in url or "/csv/" in url]
    for url, text in pages.items():
        for number in FULL_NUMBERS:
            assert number not in text, f"{number} on {url}"
    if mobile == "+8613800000021":
        run_pages = [t for u, t in pages.items() if re.match(r"/admin/reward-rules/runs/\d+/", u)]
        assert any("139****0001" in text for text in run_pages)  # masked, as intended
        assert csv_links


def test_platforms_see_no_whole_number_through_the_api(demo):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {demo_api_key()}", HTTP_ACCEPT_LANGUAGE="en")
    month = selectors.last_month().strftime("%Y-%m")
    consented = api.get("/api/v1/drivers/+8613900000001/credentials")
    assert consented.status_code == 200
    assert consented.json()["driver"] == "+86 139****0001"
    assert consented.json()["credentials"]  # the driver's certificates, by consent
    bodies = [consented]
    for url in (
        "/api/v1/driver-links",
        f"/api/v1/reward-totals/{month}",
        f"/api/v1/awards?month={month}",
        "/api/v1/webhooks",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        bodies.append(response)
    for response in bodies:
        text = _visible(response)
        for number in FULL_NUMBERS:
            assert number not in text
    from cms.models import PlatformWebhookDelivery

    payloads = json.dumps(list(PlatformWebhookDelivery.objects.values_list("payload", flat=True)))
    for number in FULL_NUMBERS:
        assert number not in payloads


def test_an_operator_sees_whole_numbers_where_they_support_people(demo):
    """Settings → Users: an operator finds the person who calls them by their number."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(mobile="+8613800000001"))
    page = _visible(client.get("/admin/users/?q=13900000001"))
    assert "13900000001" in page


# --- national ID numbers ----------------------------------------------------------------------

NATIONAL_ID = re.compile(
    r"id_?card|national_?id|identity_?(?:number|no|card|document)|id_?number|shenfen|sfz"
    r"|passport|citizen_?id|resident_?id|ssn\b|身份证|护照|证件号",
    re.IGNORECASE,
)


def _all_form_classes():
    get_resolver().url_patterns  # noqa: B018 - imports every view, and with them their forms
    pending, found = [forms.BaseForm], set()
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    ours = ("cms.", "courses.", "credentials.", "rewards.")
    return [cls for cls in found if cls.__module__.startswith(ours)]


def test_no_model_field_form_field_or_api_property_is_a_national_id():
    offenders = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            label = f"{field.name} {getattr(field, 'verbose_name', '')}"
            if NATIONAL_ID.search(label):
                offenders.append(f"{model._meta.label}.{field.name}")
    forms_seen = _all_form_classes()
    assert len(forms_seen) > 10  # the site's forms were found
    for form in forms_seen:
        for name, field in getattr(form, "base_fields", {}).items():
            if NATIONAL_ID.search(f"{name} {field.label or ''}"):
                offenders.append(f"{form.__module__}.{form.__name__}.{name}")
    schema = Client().get("/api/v1/openapi.json").json()

    def properties(node, path="$"):
        if isinstance(node, dict):
            for key in node.get("properties", {}):
                yield f"{path}.{key}", key
            for key, value in node.items():
                yield from properties(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                yield from properties(item, path)

    names = list(properties(schema))
    assert len(names) > 50  # the whole API was read
    offenders += [where for where, name in names if NATIONAL_ID.search(name)]
    offenders += [
        f"parameter {p['name']}"
        for path in schema["paths"].values()
        for operation in path.values()
        for p in operation.get("parameters", [])
        if NATIONAL_ID.search(p["name"])
    ]
    assert offenders == [], "collects a national ID number: " + ", ".join(offenders)


def test_the_pattern_catches_the_names_people_would_use():
    for name in ("id_card", "national_id", "identity_number", "shenfenzheng", "passport_no"):
        assert NATIONAL_ID.search(name)
    for name in ("public_id", "platform_driver_id", "external_id", "stripe_account_id", "idem"):
        assert not NATIONAL_ID.search(name)


def test_a_national_id_sent_with_a_service_event_is_not_kept(db):
    from cms.api_keys import platform_api_key_create
    from cms.models import Organization
    from rewards import services as rewards
    from tests.factories import DriverFactory

    platform = Organization.objects.create(kind="platform", name="平台", slug="p")
    driver = DriverFactory()
    request = rewards.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="P-1"
    )
    rewards.link_request_decide(request=request, driver=driver, approve=True)
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    event = {
        "id": "e-1",
        "driver": "P-1",
        "type": "rating",
        "rating": 5,
        "occurred_at": "2026-01-05T10:00:00+08:00",
        "id_card": "110101199003071234",
        "national_id": "110101199003071234",
    }
    body = api.post(
        "/api/v1/service-events", {"events": [event]}, content_type="application/json"
    ).json()
    assert body["accepted"] == 1
    from tests.cms.test_privacy import database_texts_containing

    assert database_texts_containing("110101199003071234") == []
