"""Service-event ingestion on its bad paths, over the API: a batch sent twice, rows that are
wrong mixed with good ones, events of drivers who are not linked, batches that are too long,
ids with the characters that array literals and SQL treat specially. The answer is the
documented ``EventsOut`` (the endpoint renders it itself)."""

import json
from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from rewards.api import EventsOut
from rewards.models import DriverLink, ServiceEvent
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(db):
    return Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")


@pytest.fixture
def linked(platform):
    driver = DriverFactory(mobile="+8613900000001")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-1001"
    )
    services.link_request_decide(request=request, driver=driver, approve=True)
    return driver


@pytest.fixture
def api(platform):
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def iso(delta=timedelta(hours=-2)) -> str:
    return (timezone.now() + delta).isoformat()


def trip(event_id, driver="KX-1001", fare=2350, **extra) -> dict:
    return {"id": event_id, "driver": driver, "type": "trip", "occurred_at": iso(),
            "fare_fen": fare, **extra}  # fmt: skip


def post(api, events) -> dict:
    response = api.post(
        "/api/v1/service-events",
        data=json.dumps({"events": events}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    EventsOut.model_validate(body)  # the documented answer, field for field
    assert list(body) == ["accepted", "duplicates", "updated", "refused", "results"]
    assert [list(row) for row in body["results"]] == [["index", "id", "status", "reason"]] * len(
        events
    )
    return body


def statuses(body) -> list[str]:
    return [row["status"] for row in body["results"]]


def test_the_same_batch_sent_twice_answers_duplicates_and_writes_nothing_twice(api, linked):
    events = [trip(f"t-{n}") for n in range(20)]
    events.append({"id": "c-1", "driver": "KX-1001", "type": "complaint", "occurred_at": iso(),
                   "outcome": "pending"})  # fmt: skip
    events.append({"id": "s-1", "driver": "KX-1001", "type": "online_session",
                   "occurred_at": iso(timedelta(hours=-5)), "ended_at": iso()})  # fmt: skip
    first = post(api, events)
    assert (first["accepted"], first["duplicates"], first["refused"]) == (22, 0, 0)
    stored = list(ServiceEvent.objects.order_by("pk").values())
    again = post(api, events)
    assert (again["accepted"], again["duplicates"], again["updated"], again["refused"]) == (
        0,
        22,
        0,
        0,
    )
    assert {row["reason"] for row in again["results"]} == {"Already received; nothing changed."}
    assert list(ServiceEvent.objects.order_by("pk").values()) == stored
    # The same ids with other content are refused, and change nothing either.
    changed = post(api, [trip("t-1", fare=1), {**events[-2], "outcome": "pending"}])
    assert statuses(changed) == ["refused", "duplicate"]
    assert "already used" in changed["results"][0]["reason"]
    assert list(ServiceEvent.objects.order_by("pk").values()) == stored


def test_wrong_rows_are_reported_and_the_good_ones_around_them_stored(api, linked):
    events = [
        trip("good-1"),
        trip("bad-fare", fare=-1),
        {},  # (a row that is not an object refuses the whole batch: see below)
        {"id": "no-type", "driver": "KX-1001", "occurred_at": iso()},
        trip("bad-time", occurred_at="yesterday"),
        trip("naive-time", occurred_at="2026-11-01T08:00:00"),
        trip("old", occurred_at=iso(timedelta(days=-500))),
        trip("good-2", currency="CNY"),
        trip("usd", currency="USD"),
        {"id": "r-1", "driver": "KX-1001", "type": "rating", "occurred_at": iso(), "rating": 0},
        {"id": "x-1", "driver": "KX-1001", "type": "teleport", "occurred_at": iso()},
        {"id": ["a", "list"], "driver": "KX-1001", "type": "trip", "occurred_at": iso()},
        {
            "id": "k-1",
            "driver": "KX-1001",
            "type": "complaint",
            "occurred_at": iso(),
            "outcome": ["upheld"],
        },  # fmt: skip
        trip("x" * 101),
        trip("good-3", driver=1001, fare=True),
        {
            "id": "s-1",
            "driver": "KX-1001",
            "type": "online_session",
            "occurred_at": iso(timedelta(hours=-30)),
            "ended_at": iso(),
        },  # fmt: skip
        trip("good-1"),  # the same id twice in one batch
        trip("good-4"),
    ]
    body = post(api, events)
    assert statuses(body) == [
        "accepted", "refused", "refused", "refused", "refused", "refused", "refused",
        "accepted", "refused", "refused", "refused", "refused", "refused", "refused",
        "refused", "refused", "refused", "accepted",
    ]  # fmt: skip
    reasons = [row["reason"] for row in body["results"]]
    assert reasons[0] == "" and reasons[7] == "" and reasons[17] == ""
    assert "fare_fen" in reasons[1] and "0 to 10000000" in reasons[1]
    assert reasons[2] == "“type” is missing."
    assert "“type” is missing" in reasons[3]
    assert "ISO 8601" in reasons[4]
    assert "time zone" in reasons[5]
    assert "too long ago" in reasons[6]
    assert reasons[8] == "Only CNY amounts are accepted."
    assert "rating" in reasons[9]
    assert reasons[10] == (
        "“type” must be one of: trip, rating, complaint, safety_incident, online_session."
    )
    assert reasons[11] == "“id” must be text."
    assert reasons[12] == "“outcome” must be one of: pending, upheld, dismissed."
    assert "longer than 100" in reasons[13]
    assert "fare_fen" in reasons[14]
    assert "24 hours" in reasons[15]
    assert reasons[16] == "The same id appears twice in this batch."
    ids = [row["id"] for row in body["results"]]
    assert (
        ids[2] is None
        and ids[3] == "no-type"
        and ids[11] == "['a', 'list']"
        and ids[16] == "good-1"
    )
    assert (body["accepted"], body["refused"]) == (3, 15)
    assert set(ServiceEvent.objects.values_list("external_id", flat=True)) == {
        "good-1",
        "good-2",
        "good-4",
    }


def test_events_of_a_driver_who_is_not_linked_are_refused(api, platform, linked):
    body = post(api, [trip("t-1", driver="KX-9999"), trip("t-2")])
    assert statuses(body) == ["refused", "accepted"]
    assert body["results"][0]["reason"] == (
        "This driver has not linked their Roadwise account to your platform."
    )
    link = DriverLink.objects.get()
    services.link_end(link=link, driver=linked)
    # After the driver unlinked: new events and even a resent one are refused, nothing stored.
    body = post(api, [trip("t-3"), trip("t-2")])
    assert statuses(body) == ["refused", "refused"]
    assert set(ServiceEvent.objects.values_list("external_id", flat=True)) == {"t-2"}


def test_a_batch_over_1000_events_is_refused_whole(api, linked):
    response = api.post(
        "/api/v1/service-events",
        data=json.dumps({"events": [trip(f"t-{n}") for n in range(1001)]}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "At most 1000 events per batch."}
    assert not ServiceEvent.objects.exists()
    body = post(api, [trip(f"t-{n}") for n in range(1000)])
    assert body["accepted"] == 1000
    assert ServiceEvent.objects.count() == 1000


def test_a_body_that_is_not_a_list_of_objects_is_refused_by_the_schema(api, linked):
    for payload in ({"events": "trip"}, {"events": [1, 2]}, {"rows": []}):
        response = api.post(
            "/api/v1/service-events", data=json.dumps(payload), content_type="application/json"
        )
        assert response.status_code == 422, payload
    assert not ServiceEvent.objects.exists()


def test_ids_and_text_with_quotes_backslashes_braces_and_chinese_are_stored_as_sent(api, platform):
    awkward = "a\"b\\c{d,e}NULL 'f' 中文"
    driver = DriverFactory(mobile="+8613900000002")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=awkward[:64]
    )
    services.link_request_decide(request=request, driver=driver, approve=True)
    nepal = dt_timezone(timedelta(hours=5, minutes=45))
    occurred = (timezone.now() - timedelta(days=1)).astimezone(nepal).isoformat()
    events = [
        trip(awkward, driver=awkward[:64], occurred_at=occurred),
        {
            "id": "NULL",
            "driver": awkward[:64],
            "type": "rating",
            "occurred_at": occurred,
            "rating": 4,
            "trip_id": awkward,
        },  # fmt: skip
        {"id": "", "driver": awkward[:64], "type": "trip", "occurred_at": occurred},
        {
            "id": "  padded  ",
            "driver": awkward[:64],
            "type": "safety_incident",
            "occurred_at": iso().replace("+00:00", "Z"),
            "severity": "minor",
        },  # fmt: skip
    ]
    body = post(api, events)
    assert statuses(body) == ["accepted", "accepted", "refused", "accepted"]
    assert [row["id"] for row in body["results"]] == [awkward, "NULL", "", "padded"]
    stored = {event.external_id: event for event in ServiceEvent.objects.all()}
    assert set(stored) == {awkward, "NULL", "padded"}
    assert stored[awkward].driver == driver
    assert stored[awkward].occurred_at == parse_datetime(occurred)
    assert stored["NULL"].trip_external_id == awkward
    assert stored["NULL"].rating == 4 and stored["NULL"].fare_fen is None
    assert stored["padded"].severity == "minor" and stored["padded"].ended_at is None
    again = post(api, events)
    assert statuses(again) == ["duplicate", "duplicate", "refused", "duplicate"]


def test_a_pending_complaint_gets_its_outcome_over_the_api(api, linked):
    complaint = {"id": "c-1", "driver": "KX-1001", "type": "complaint", "occurred_at": iso(),
                 "outcome": "pending"}  # fmt: skip
    post(api, [complaint])
    body = post(api, [{**complaint, "outcome": "upheld"}, trip("t-1")])
    assert statuses(body) == ["updated", "accepted"]
    assert body["updated"] == 1
    assert body["results"][0]["reason"] == "The complaint's outcome is recorded."
    assert ServiceEvent.objects.get(external_id="c-1").outcome == "upheld"
    body = post(api, [{**complaint, "outcome": "upheld"}, {**complaint, "outcome": "dismissed"}])
    assert statuses(body) == ["duplicate", "refused"]


def test_the_openapi_document_still_describes_the_answer(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/service-events"]["post"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/EventsOut"}
    out = schema["components"]["schemas"]["EventsOut"]
    assert set(out["properties"]) == {"accepted", "duplicates", "updated", "refused", "results"}
    assert "EventsIn" in json.dumps(operation["requestBody"])
