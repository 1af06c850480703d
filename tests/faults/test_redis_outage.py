"""Redis, the broker and the shared cache, unavailable for a minute while drivers finish
courses and visitors read pages: the site keeps answering, nothing is lost, and once Redis is
back the running worker reconnects by itself and every certificate is issued exactly once.

A private redis-server on a free port (never the shared one) is both the Celery broker and the
Django cache (as in production, docs/deployment.md), and is stopped for
ROADWISE_REDIS_OUTAGE_SECONDS (60 by default; CI uses the full minute). Completions during the
outage cannot queue their certificate: the signal receiver logs it, and beat's sweeper
`issue_missing_credentials`, on its first run after the outage, queues what is missing."""

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import cache
from django.test import Client

from credentials import tasks
from credentials.models import Credential
from tests.credentials.conftest import (  # noqa: F401 - fixtures
    carmaker,
    co_developed,
    complete_course,
    school,
)
from tests.factories import DriverFactory
from tests.faults.conftest import (
    FAULTS,
    broker_mode,
    fault_worker,
    new_queue,
    stop_worker,
    wait_for,
)

pytestmark = FAULTS

OUTAGE_SECONDS = float(os.environ.get("ROADWISE_REDIS_OUTAGE_SECONDS", "60"))
NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return server
        time.sleep(0.1)
    server.kill()
    raise AssertionError("the private redis-server did not start")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=20)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_redis_down_for_a_minute_loses_nothing_and_the_worker_reconnects(
    settings,
    co_developed,  # noqa: F811 - the imported fixture
):
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {"default": {"BACKEND": "cms.cache.TolerantRedisCache", "LOCATION": url}}
    settings.ROADWISE_PAGE_CACHE = True
    drivers = [DriverFactory(display_name=name) for name in NAMES]
    visitor = Client()
    queue = new_queue()
    redis = _start_redis(port)
    course_url = co_developed.course.url
    worker = log = None
    try:
        with broker_mode(queue, url=url):
            worker, log = fault_worker(
                queue, {"CELERY_BROKER_URL": url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
            )
            # Before: the worker issues a certificate; the page cache fills.
            complete_course(drivers[0], co_developed)
            wait_for(lambda: Credential.objects.count() == 1, 120, "the first certificate")
            assert visitor.get(course_url).status_code == 200
            assert cache.get("courses:pagecache:generation") is not None

            _stop(redis)
            began = time.monotonic()
            answers = []
            # Drivers finish courses during the outage: nothing fails for them.
            for driver in drivers[1:]:
                complete_course(driver, co_developed)
                answers.append(visitor.get(course_url).status_code)
            while time.monotonic() - began < OUTAGE_SECONDS:
                answers.append(visitor.get(course_url).status_code)
                answers.append(visitor.get("/").status_code)
                time.sleep(2)
            outage = time.monotonic() - began
            assert set(answers) == {200}, answers
            assert worker.poll() is None, "the worker died while Redis was away"
            assert Credential.objects.count() == 1  # nothing could be queued meanwhile

            redis = _start_redis(port)  # empty, as a Redis without persistence comes back
            tasks.issue_missing_credentials.delay()  # beat's sweeper, its first run after

            def all_issued() -> bool:
                return Credential.objects.count() == len(drivers)

            wait_for(all_issued, 180, "the reconnected worker to issue every certificate")
            assert worker.poll() is None  # the same process: it reconnected by itself
            assert visitor.get(course_url).status_code == 200
    finally:
        if worker is not None:
            stop_worker(worker, log)
        if redis.poll() is None:
            _stop(redis)

    assert outage >= OUTAGE_SECONDS
    credentials = list(Credential.objects.all())
    assert sorted(c.holder_id for c in credentials) == sorted(d.pk for d in drivers)
    assert len({c.number for c in credentials}) == len(drivers)
