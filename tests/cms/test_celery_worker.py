"""A real Celery worker process, on Redis, against the test database.

The rest of the suite runs tasks eagerly; this proves the same code works when a separate
worker picks the task off the broker, as it does in production."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from cms import services
from cms.celery import app as celery_app
from cms.models import OneTimeCode, OutboundSms
from cms.sms import outbox as sms_outbox
from tests.conftest import redis_url

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The test database, as a URL the worker's settings understand."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db["USER"] or ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env():
    """Extra environment for the worker process; a test may add to it before use."""
    return {}


def start_worker(queue: str, extra_env: dict | None = None) -> tuple[subprocess.Popen, Path]:
    """A `celery worker` process consuming ``queue`` against the test database; its log path."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cms.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "ROADWISE_EAGER_TASKS": "0",  # a retry must go back through the broker
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # tasks the worker sends stay on this queue
        **(extra_env or {}),
    }
    log_path = ROOT / "var" / f"{queue}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "cms", "worker",
                "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-Q", queue, "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h", "-l", "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, log_path


def stop_worker(process: subprocess.Popen, log_path: Path) -> None:
    """Stop the worker (if still running) and print the end of its log (pytest shows it for a
    failed test)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
    output = log_path.read_text()
    log_path.unlink()
    print(output[-4000:])  # noqa: T201 - shown by pytest only when the test fails


@pytest.fixture
def worker(worker_env):
    """Start `celery worker` on a queue of its own; yield the queue name; stop it."""
    queue = f"roadwise-test-{uuid.uuid4().hex[:12]}"
    process, log_path = start_worker(queue, worker_env)
    try:
        yield queue
    finally:
        stop_worker(process, log_path)


@pytest.fixture
def real_broker(worker):
    """Make this process send tasks to Redis (to the worker's queue) instead of running them."""
    saved = {
        key: celery_app.conf[key]
        for key in ("broker_url", "task_always_eager", "task_default_queue")
    }
    celery_app.conf.update(
        broker_url=redis_url(), task_always_eager=False, task_default_queue=worker
    )
    _forget_connection_pools()
    try:
        yield worker
    finally:
        celery_app.conf.update(saved)
        _forget_connection_pools()


def _forget_connection_pools() -> None:
    """Celery caches its connection and producer pools; drop both (as Celery itself does
    after a fork) so that the next task goes to the broker now configured."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _wait_until_not_queued(sms: OutboundSms, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sms.refresh_from_db()
        if sms.status != OutboundSms.Status.QUEUED:
            return
        time.sleep(0.2)


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_process_delivers_the_sms_of_a_sign_up_code(real_broker):
    services.otp_request(mobile="13812345678", purpose=OneTimeCode.Purpose.SIGNUP)
    sms = OutboundSms.objects.get()

    _wait_until_not_queued(sms)

    assert sms.status == OutboundSms.Status.SENT, "the worker did not deliver the SMS in 60 s"
    assert sms.provider_message_id.startswith("outbox-")  # the worker's sender, not ours
    assert sms.body == ""
    assert sms.attempts == 1
    assert sms_outbox == [], "delivered in this process, not by the worker"


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    "worker_env",
    [
        {
            "SMS_SENDER": "tests.cms.flaky_sms.FlakySmsSender",
            "ROADWISE_FLAKY_SMS_FAILURES": "2",
            "SMS_RETRY_SECONDS": "0",
        }
    ],
)
def test_the_worker_retries_an_sms_the_provider_refused(real_broker):
    services.otp_request(mobile="13812345678", purpose=OneTimeCode.Purpose.SIGNUP)
    sms = OutboundSms.objects.get()
    _wait_until_not_queued(sms)
    assert sms.status == OutboundSms.Status.SENT
    assert sms.attempts == 3  # two refusals, then delivered, by Celery's retry
