"""Platforms link drivers only with the driver's consent, and send service events that are
checked row by row, idempotent by the platform's own id."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from rewards.models import DriverLink, LinkRequest, ServiceEvent
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(db):
    return Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")


@pytest.fixture
def driver(db):
    return DriverFactory(mobile="+8613900000001", display_name="王建国")


@pytest.fixture
def linked(platform, driver):
    request = services.link_request_create(
        platform=platform, mobile="13900000001", platform_driver_id="KX-1001"
    )
    services.link_request_decide(request=request, driver=driver, approve=True)
    return driver


@pytest.fixture
def api(platform):
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def iso(delta=timedelta(hours=-2)) -> str:
    return (timezone.now() + delta).isoformat()


def trip(n=1, driver="KX-1001", fare=2350, **extra):
    return {"id": f"trip-{n}", "driver": driver, "type": "trip", "occurred_at": iso(),
            "fare_fen": fare, **extra}  # fmt: skip


# --- linking --------------------------------------------------------------------------------


def test_a_driver_approves_a_platforms_request(platform, driver):
    request = services.link_request_create(
        platform=platform, mobile="139 0000 0001", platform_driver_id="KX-1001"
    )
    assert request.mobile == "+8613900000001"
    assert list(services.pending_link_requests(driver=driver)) == [request]
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    assert link.platform_driver_id == "KX-1001"
    assert not services.pending_link_requests(driver=driver).exists()
    with pytest.raises(ValidationError):  # decided once
        services.link_request_decide(request=request, driver=driver, approve=True)


def test_a_driver_types_the_code_the_platform_showed_them(platform, driver):
    request = services.link_request_create(
        platform=platform, mobile="+8613900000001", platform_driver_id="KX-1001"
    )
    link = services.link_code_redeem(code=request.code.lower(), driver=driver)
    assert link.driver == driver
    with pytest.raises(ValidationError):
        services.link_code_redeem(code=request.code, driver=driver)  # used
    with pytest.raises(ValidationError):
        services.link_code_redeem(code="NOPE1234", driver=driver)


def test_someone_else_cannot_approve_or_decline_a_request(platform, driver):
    request = services.link_request_create(
        platform=platform, mobile="+8613900000001", platform_driver_id="KX-1001"
    )
    with pytest.raises(PermissionDenied):
        services.link_request_decide(request=request, driver=DriverFactory(), approve=True)
    assert not DriverLink.objects.exists()


def test_an_expired_request_cannot_be_used(platform, driver):
    request = services.link_request_create(
        platform=platform, mobile="+8613900000001", platform_driver_id="KX-1001"
    )
    LinkRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    with pytest.raises(ValidationError):
        services.link_code_redeem(code=request.code, driver=driver)


def test_only_platforms_link_drivers(driver):
    school = Organization.objects.create(kind="school", name="学校", slug="school")
    with pytest.raises(PermissionDenied):
        services.link_request_create(
            platform=school, mobile="+8613900000001", platform_driver_id="x"
        )


# --- events ---------------------------------------------------------------------------------


def test_a_batch_reports_each_row_and_refused_rows_never_touch_accepted_ones(platform, linked):
    rows = [
        trip(1),
        {
            "id": "r-1",
            "driver": "KX-1001",
            "type": "rating",
            "occurred_at": iso(),
            "rating": 5,
            "trip_id": "trip-1",
        },  # fmt: skip
        {"id": "r-2", "driver": "KX-1001", "type": "rating", "occurred_at": iso(), "rating": 6},
        trip(2, driver="KX-9999"),  # not linked
        {
            "id": "c-1",
            "driver": "KX-1001",
            "type": "complaint",
            "occurred_at": iso(),
            "outcome": "pending",
        },  # fmt: skip
        {
            "id": "s-1",
            "driver": "KX-1001",
            "type": "online_session",
            "occurred_at": iso(),
            "ended_at": iso(timedelta(hours=-3)),
        },  # fmt: skip
        trip(3, occurred_at=iso(timedelta(days=2))),  # the future
        trip(4, occurred_at="2026-11-01T08:00:00"),  # no time zone
        trip(5, fare=12.5),
        "not an object",
        trip(1),  # the same id twice in one batch
    ]
    results = services.service_events_ingest(platform=platform, rows=rows)
    assert [r.status for r in results] == [
        "accepted", "accepted", "refused", "refused", "accepted", "refused", "refused",
        "refused", "refused", "refused", "refused",
    ]  # fmt: skip
    assert "rating" in results[2].reason
    assert "linked" in results[3].reason
    assert "end after" in results[5].reason
    assert "future" in results[6].reason
    assert "time zone" in results[7].reason
    assert "twice" in results[10].reason
    assert set(ServiceEvent.objects.values_list("external_id", flat=True)) == {
        "trip-1",
        "r-1",
        "c-1",
    }


def test_sending_the_same_events_again_changes_nothing(platform, linked):
    rows = [trip(n) for n in range(1, 6)]
    services.service_events_ingest(platform=platform, rows=rows)
    again = services.service_events_ingest(platform=platform, rows=rows)
    assert {r.status for r in again} == {"duplicate"}
    assert ServiceEvent.objects.count() == 5
    changed = services.service_events_ingest(platform=platform, rows=[trip(1, fare=1)])
    assert changed[0].status == "refused"
    assert ServiceEvent.objects.get(external_id="trip-1").fare_fen == 2350


def test_a_pending_complaint_gets_its_outcome_once(platform, linked):
    complaint = {"id": "c-1", "driver": "KX-1001", "type": "complaint", "occurred_at": iso(),
                 "outcome": "pending"}  # fmt: skip
    services.service_events_ingest(platform=platform, rows=[complaint])
    upheld = services.service_events_ingest(
        platform=platform, rows=[{**complaint, "outcome": "upheld"}]
    )
    assert upheld[0].status == "updated"
    assert ServiceEvent.objects.get(external_id="c-1").outcome == "upheld"
    flip = services.service_events_ingest(
        platform=platform, rows=[{**complaint, "outcome": "dismissed"}]
    )
    assert flip[0].status == "refused"


def test_after_the_driver_unlinks_the_platforms_events_are_refused(platform, linked):
    link = DriverLink.objects.get()
    services.link_end(link=link, driver=linked)
    result = services.service_events_ingest(platform=platform, rows=[trip(1)])
    assert result[0].status == "refused"


def test_events_of_another_platform_do_not_collide(platform, linked):
    other = Organization.objects.create(kind="platform", name="别的平台", slug="other")
    request = services.link_request_create(
        platform=other, mobile=linked.mobile, platform_driver_id="KX-1001"
    )
    services.link_request_decide(request=request, driver=linked, approve=True)
    services.service_events_ingest(platform=platform, rows=[trip(1)])
    result = services.service_events_ingest(platform=other, rows=[trip(1)])
    assert result[0].status == "accepted"
    assert ServiceEvent.objects.count() == 2


# --- the API --------------------------------------------------------------------------------


def test_the_api_links_and_ingests(api, driver):
    response = api.post(
        "/api/v1/driver-links",
        data=json.dumps({"mobile": "+8613900000001", "driver": "KX-1001"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    code = response.json()["code"]
    services.link_code_redeem(code=code, driver=driver)
    assert api.get("/api/v1/driver-links").json()[0]["driver"] == "KX-1001"
    response = api.post(
        "/api/v1/service-events",
        data=json.dumps({"events": [trip(1), trip(2, fare=-5)]}),
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["refused"]) == (1, 1)
    assert body["results"][1]["reason"]


def test_the_api_refuses_oversized_batches_and_bad_numbers(api):
    response = api.post(
        "/api/v1/service-events",
        data=json.dumps({"events": [trip(n) for n in range(1001)]}),
        content_type="application/json",
    )
    assert response.status_code == 422
    response = api.post(
        "/api/v1/driver-links",
        data=json.dumps({"mobile": "not a number", "driver": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert (
        Client()
        .post("/api/v1/service-events", data="{}", content_type="application/json")
        .status_code
        == 401
    )


# --- the driver's page ----------------------------------------------------------------------


def test_the_driver_approves_types_a_code_and_unlinks_on_the_site(client, platform, driver):
    first = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-1001"
    )
    client.force_login(driver)
    page = client.get("/en/rewards/links/")
    assert page.status_code == 200
    assert "快行出行" in page.content.decode()
    client.post("/en/rewards/links/", {"action": "approve", "request": str(first.public_id)})
    link = DriverLink.objects.get(unlinked_at=None)
    client.post("/en/rewards/links/", {"action": "unlink", "link": link.pk})
    assert not DriverLink.objects.filter(unlinked_at=None).exists()
    second = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-1001"
    )
    client.post("/en/rewards/links/", {"action": "code", "code": second.code})
    assert DriverLink.objects.filter(unlinked_at=None).count() == 1
    response = client.post("/en/rewards/links/", {"action": "code", "code": "WRONG"}, follow=True)
    assert "not valid" in response.content.decode()


def test_another_driver_cannot_end_my_link(client, platform, linked):
    link = DriverLink.objects.get()
    client.force_login(DriverFactory())
    client.post("/en/rewards/links/", {"action": "unlink", "link": link.pk})
    link.refresh_from_db()
    assert link.unlinked_at is None


def test_the_page_needs_a_login(client):
    assert client.get("/rewards/links/").status_code == 302
