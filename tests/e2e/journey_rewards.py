"""Reward runs for the end-to-end journeys, started the way Celery beat starts them
(`rewards.tasks.run_rewards.delay(platform_id, "YYYY-MM-01")`, as `run_due_rewards` does).

On SQLite (and whenever no broker is configured) tasks run eagerly, in this process. On
PostgreSQL with a broker (``DATABASE_URL`` postgres…, ``CELERY_BROKER_URL`` set) a real
`celery worker` process, pointed at the test database, takes the task off Redis — as in
production; it is started when the test begins, so that it is ready when the run is due."""

import os
import time
import uuid
from contextlib import contextmanager
from datetime import date

from django.db import connection

from cms.celery import app as celery_app
from rewards import tasks
from rewards.models import RewardRun
from tests.cms.test_celery_worker import _forget_connection_pools, start_worker, stop_worker
from tests.conftest import redis_url


def real_worker_wanted() -> bool:
    return connection.vendor == "postgresql" and bool(os.environ.get("CELERY_BROKER_URL"))


class RewardRunner:
    """``run(platform, months)``: queue each month's run and wait until all are finished."""

    def __init__(self, queue: str | None):
        self.queue = queue  # None: eager, in this process

    @property
    def mode(self) -> str:
        return "eager" if self.queue is None else "worker"

    def run(self, platform, months: list[date], *, seconds: float = 90) -> list[RewardRun]:
        with self._sending():
            for month in months:
                tasks.run_rewards.delay(platform.pk, month.isoformat())
        deadline = time.monotonic() + seconds
        while True:
            runs = list(
                RewardRun.objects.filter(platform=platform, period_start__in=months).order_by(
                    "period_start"
                )
            )
            if len(runs) == len(months) and all(
                run.status == RewardRun.Status.FINISHED for run in runs
            ):
                return runs
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the reward runs did not finish in {seconds} s ({self.mode}): "
                    + ", ".join(f"{r.period_start} {r.status} {r.last_error}" for r in runs)
                )
            time.sleep(0.2)

    @contextmanager
    def _sending(self):
        """Tasks go to the worker's queue on Redis meanwhile (else: eager, unchanged)."""
        if self.queue is None:
            yield
            return
        keys = ("broker_url", "task_always_eager", "task_default_queue")
        saved = {key: celery_app.conf[key] for key in keys}
        celery_app.conf.update(
            broker_url=redis_url(), task_always_eager=False, task_default_queue=self.queue
        )
        _forget_connection_pools()
        try:
            yield
        finally:
            celery_app.conf.update(saved)
            _forget_connection_pools()


@contextmanager
def reward_runner():
    """A RewardRunner; with PostgreSQL and a broker, a worker process runs for the duration."""
    if not real_worker_wanted():
        yield RewardRunner(None)
        return
    queue = f"roadwise-e2e-{uuid.uuid4().hex[:12]}"
    process, log_path = start_worker(queue)
    try:
        yield RewardRunner(queue)
    finally:
        stop_worker(process, log_path)
