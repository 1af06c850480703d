"""Helpers of the fault tests: workers on Redis that can be killed, a row or table lock held
from outside to stop a worker at a known point, and waiting with a deadline.

The tests run on PostgreSQL with Redis (REQUIRE_SERVICES=1 in CI's PostgreSQL pass); they are
skipped on SQLite, and skipped without Redis unless REQUIRE_SERVICES=1. `pytest -m faults` runs
them alone."""

import contextlib
import os
import signal
import time
import uuid

import psycopg
import pytest
from django.db import connection

from cms.celery import app as celery_app
from tests.cms.test_celery_worker import (  # noqa: F401 - stop_worker for the tests
    _forget_connection_pools,
    start_worker,
    stop_worker,
)
from tests.conftest import redis_url
from tests.faults.worker_settings import VISIBILITY_TIMEOUT_SECONDS  # noqa: F401

FAULTS = [
    pytest.mark.faults,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="fault tests need PostgreSQL and Redis"
    ),
]


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@contextlib.contextmanager
def broker_mode(queue: str, url: str | None = None):
    """While inside, this process sends tasks to Redis (on ``queue``, at ``url`` or the tests'
    Redis) instead of running them."""
    keys = (
        "broker_url", "broker_read_url", "broker_write_url", "task_always_eager",
        "task_default_queue",
    )  # fmt: skip
    saved = {key: celery_app.conf[key] for key in keys}
    url = url or redis_url()
    # Celery copied the broker URL into the read and write URLs at start: all three move.
    celery_app.conf.update(
        broker_url=url, broker_read_url=url, broker_write_url=url, task_always_eager=False,
        task_default_queue=queue,
    )  # fmt: skip
    _forget_connection_pools()
    try:
        yield queue
    finally:
        celery_app.conf.update(saved)
        _forget_connection_pools()


def new_queue() -> str:
    return f"roadwise-faults-{uuid.uuid4().hex[:12]}"


def fault_worker(queue: str, env: dict | None = None):
    """A worker process on ``queue`` with the fault tests' settings (short visibility timeout)."""
    return start_worker(
        queue, {"DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings", **(env or {})}
    )


def kill(process) -> None:
    """SIGKILL: no signal handler, no reject, no cleanup; what the OOM killer does."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def blocker_connection() -> psycopg.Connection:
    """A connection of its own (outside the test's), to hold locks the worker waits on."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )


def waiting_on_lock(table: str) -> bool:
    """Whether some other session of the test database waits on a lock, in a query on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND query LIKE %s",
            [f"%{table}%"],
        )
        return cursor.fetchone()[0] >= 1


def redis_client():
    import redis

    return redis.Redis.from_url(redis_url())


def queue_drained(queue: str) -> bool:
    """Nothing waiting on ``queue`` and nothing delivered but unacknowledged (in this Redis db)."""
    client = redis_client()
    return client.llen(queue) == 0 and client.hlen("unacked") == 0
