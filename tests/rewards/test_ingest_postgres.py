"""Concurrent batches of service events on PostgreSQL, in real threads: an id is reported
"accepted" by exactly one request, the one that inserted it; the others say "duplicate".
Two batches with the same new ids in opposite orders wait for each other, never deadlock."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from rewards.models import ServiceEvent
from tests.concurrency import race
from tests.factories import DriverFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
    ),
]


@pytest.fixture
def platform():
    platform = Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")
    for n in range(3):
        driver = DriverFactory(mobile=f"+861390000000{n}")
        request = services.link_request_create(
            platform=platform, mobile=driver.mobile, platform_driver_id=f"KX-{n}"
        )
        services.link_request_decide(request=request, driver=driver, approve=True)
    return platform


@pytest.fixture
def key(platform):
    _api_key, raw = platform_api_key_create(organization=platform, name="tests")
    return raw


# One moment for every batch of a test module: the same id must carry the same event.
START = timezone.now() - timedelta(hours=2)


def trip(n: int) -> dict:
    when = START - timedelta(seconds=n)
    return {"id": f"trip-{n}", "driver": f"KX-{n % 3}", "type": "trip",
            "occurred_at": when.isoformat(), "fare_fen": 1000 + n}  # fmt: skip


def post(key: str, events: list) -> dict:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/service-events",
        data=json.dumps({"events": events}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_overlapping_concurrent_batches_report_each_new_id_accepted_exactly_once(key):
    # Four requests at once: ids 0–599, 400–999 reversed, 200–799 shuffled, 0–999.
    batches = [
        [trip(n) for n in range(600)],
        [trip(n) for n in reversed(range(400, 1000))],
        [trip(n) for n in sorted(range(200, 800), key=lambda n: (n * 7919) % 600)],
        [trip(n) for n in range(1000)],
    ]
    answers = race([lambda events=events: post(key, events) for events in batches])
    assert all(isinstance(answer, dict) for answer in answers), answers  # no deadlock, no 500
    accepted: dict[str, int] = {}
    for answer in answers:
        for row in answer["results"]:
            assert row["status"] in ("accepted", "duplicate"), row
            if row["status"] == "accepted":
                accepted[row["id"]] = accepted.get(row["id"], 0) + 1
        assert answer["accepted"] + answer["duplicates"] == len(answer["results"])
    assert accepted == {f"trip-{n}": 1 for n in range(1000)}
    assert sum(answer["duplicates"] for answer in answers) == 600 + 600 + 600 + 1000 - 1000
    assert ServiceEvent.objects.count() == 1000


def _waiting_on_a_lock() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("holder_commits", [True, False])
def test_a_row_another_request_is_inserting_is_reported_by_what_became_of_it(
    platform, key, holder_commits
):
    """A request is still inside its transaction with trip-0..2 when a second one sends
    trip-0..4: the second waits for the first; if the first commits, trip-0..2 are duplicates
    for the second (before, they were reported accepted although nothing was written), and if
    it rolls back, the second inserts and accepts them."""
    inserted, release = threading.Event(), threading.Event()
    holder_results = []

    def holder():
        try:
            with transaction.atomic():
                holder_results.extend(
                    services.service_events_ingest(
                        platform=platform, rows=[trip(n) for n in range(3)]
                    )
                )
                inserted.set()
                release.wait(30)
                if not holder_commits:
                    transaction.set_rollback(True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert inserted.wait(30)
    answers = []
    second = threading.Thread(
        target=lambda: (
            answers.append(post(key, [trip(n) for n in range(5)])),
            connections.close_all(),
        )
    )
    second.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_on_a_lock(), "the second request should wait for the first"
    release.set()
    thread.join(30)
    second.join(30)
    assert [r.status for r in holder_results] == ["accepted"] * 3
    (answer,) = answers
    first_three = "duplicate" if holder_commits else "accepted"
    assert [row["status"] for row in answer["results"]] == [first_three] * 3 + ["accepted"] * 2
    assert ServiceEvent.objects.count() == 5
