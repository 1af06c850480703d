"""A Celery worker killed (SIGKILL) in the middle of a reward run: the retry finishes the run
with the same lines and the same money, and posts nothing twice.

The run is paused at a known point without touching its code. The run's lines are computed
first (the state a run is in once its first step committed); this test then holds a row lock on
the fourth line. On PostgreSQL a run posts its lines in batches (`rules.RUN_BATCH_LINES`), each
in one database transaction: the worker locks the funding, writes the batch's ledger
transactions and entries, then waits on the lock when it links the fourth line to its
transaction, before its commit. The worker is killed there: that transaction never commits, and
nothing of the batch is visible, not even the three lines before the locked one. The retry is
what the beat sweeper does for an unfinished run (`run_rewards` again), on a fresh worker.

(A lock on a driver's payable account would not do: Django's foreign keys are checked at commit
on PostgreSQL, so the worker would wait inside COMMIT, which then completes without it.)"""

import os
import signal
import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connection

from cms.celery import app as celery_app
from cms.models import Organization
from rewards import rules, services, tasks
from rewards.ledger import (
    balances,
    check_invariants,
    driver_payable_account,
    external_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import DriverLink, RewardLine, RewardRun, ServiceEvent, Transaction
from tests.cms.test_celery_worker import _forget_connection_pools, start_worker, stop_worker
from tests.conftest import redis_url
from tests.factories import DriverFactory

CHINA = ZoneInfo("Asia/Shanghai")
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)
DRIVERS = 8
REWARD_FEN = 5000

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks across processes need PostgreSQL"
    ),
]


@pytest.fixture
def queue():
    """This process sends tasks to Redis, on a queue of the test's own."""
    name = f"roadwise-test-{uuid.uuid4().hex[:12]}"
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(broker_url=redis_url(), task_always_eager=False, task_default_queue=name)
    _forget_connection_pools()
    try:
        yield name
    finally:
        celery_app.conf.update(saved)
        _forget_connection_pools()


def _month_of_service(platform) -> list:
    drivers = []
    for n in range(DRIVERS):
        driver = DriverFactory(mobile=f"+86137{n:08d}")
        request = services.link_request_create(
            platform=platform, mobile=driver.mobile, platform_driver_id=f"KW-{n}"
        )
        link = services.link_request_decide(request=request, driver=driver, approve=True)
        DriverLink.objects.filter(pk=link.pk).update(linked_at=datetime(2026, 9, 1, tzinfo=CHINA))
        when = datetime(2026, 10, 12, 9, tzinfo=CHINA)
        ServiceEvent.objects.bulk_create(
            [
                ServiceEvent(
                    platform=platform,
                    driver=driver,
                    external_id=f"{n}-trip-{i}",
                    kind="trip",
                    occurred_at=when,
                    fare_fen=2500,
                    currency="CNY",
                )
                for i in range(5)
            ]
            + [
                ServiceEvent(
                    platform=platform,
                    driver=driver,
                    external_id=f"{n}-rating",
                    kind="rating",
                    occurred_at=when,
                    rating=5,
                )
            ]
        )
        driver_payable_account(driver)  # opened now, so the worker only references it
        drivers.append(driver)
    return drivers


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_a_run_killed_mid_way_finishes_on_retry_with_the_same_result(queue):
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行", name_en="Kuaixing", slug="kuaixing"
    )
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Five-star month",
        params={"min_trips": 5, "min_average_rating": "4.8", "max_upheld_complaints": 0},
        amount_fen=REWARD_FEN,
        effective_from=OCT_1,
        notice_days=30,
    )
    rules.rule_version_publish(version=version, actor=None, today=date(2026, 8, 1))
    drivers = _month_of_service(platform)
    funding = platform_funding_account(platform)
    post_transaction(
        idempotency_key="deposit-kw",
        kind="deposit",
        legs=[(funding, 1_000_000), (external_account(), -1_000_000)],
    )
    # What an uninterrupted run pays (computing writes nothing).
    expected = {
        (line["driver_id"], line["rule_version_id"], line["amount_fen"])
        for line in rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    }
    assert len(expected) == DRIVERS
    run = RewardRun.objects.create(platform=platform, period_start=OCT_1, period_end=OCT_31)
    rules._create_lines(run)
    fourth = run.lines.order_by("pk")[3]

    blocker = psycopg.connect(
        host=connection.settings_dict["HOST"] or "127.0.0.1",
        port=connection.settings_dict["PORT"] or 5432,
        user=connection.settings_dict["USER"],
        password=connection.settings_dict["PASSWORD"] or None,
        dbname=connection.settings_dict["NAME"],
    )
    first, first_log = start_worker(queue)
    try:
        with blocker.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM rewards_rewardline WHERE id = %s FOR UPDATE", [fourth.pk]
            )
        tasks.run_rewards.delay(platform.pk, OCT_1.isoformat())

        def worker_waits_on_the_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database() AND query LIKE '%%rewards_rewardline%%'"
                )
                return cursor.fetchone()[0] == 1

        _wait_for(worker_waits_on_the_lock, 90, "the worker to wait on the fourth line's lock")
        # Inside the batch's transaction, its ledger rows written: none of it is visible.
        assert Transaction.objects.filter(kind="reward").count() == 0
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=20)
    finally:
        blocker.rollback()  # the lock goes; the killed worker's transaction never commits
        blocker.close()
        stop_worker(first, first_log)

    run.refresh_from_db()
    assert run.status == RewardRun.Status.RUNNING
    assert run.lines.filter(transaction__isnull=False).count() == 0
    assert Transaction.objects.filter(kind="reward").count() == 0  # nothing half-written
    assert check_invariants() == []

    second, second_log = start_worker(queue)
    try:
        tasks.run_rewards.delay(platform.pk, OCT_1.isoformat())
        _wait_for(
            lambda: RewardRun.objects.get(pk=run.pk).status == RewardRun.Status.FINISHED,
            90,
            "the retry to finish the run",
        )
    finally:
        stop_worker(second, second_log)

    lines = RewardLine.objects.filter(run=run)
    assert {(x.driver_id, x.rule_version_id, x.amount_fen) for x in lines} == expected
    assert not lines.filter(transaction__isnull=True).exists()
    rewards = Transaction.objects.filter(kind="reward")
    assert rewards.count() == DRIVERS
    assert len({line.transaction_id for line in lines}) == DRIVERS
    payable = balances([driver_payable_account(driver) for driver in drivers])
    assert sorted(payable.values()) == [REWARD_FEN] * DRIVERS
    assert balances([funding])[funding.pk] == 1_000_000 - DRIVERS * REWARD_FEN
    assert check_invariants() == []
