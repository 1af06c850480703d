"""Celery tasks of the rewards app. Thin: each calls one service and can run twice safely."""

import logging
from datetime import date

from celery import shared_task

from cms.models import Organization
from rewards import rules

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_rewards(platform_id: int, period_start: str) -> dict:
    """Run (or resume) one platform's rewards for the month starting on ``period_start``."""
    platform = Organization.objects.get(pk=platform_id)
    start = date.fromisoformat(period_start)
    try:
        run = rules.reward_run_execute(
            platform=platform, period_start=start, period_end=rules.month_end(start)
        )
    except rules.RewardRunUnderfunded as exc:
        # Not retried: it needs a deposit first. The run keeps the message for the admin.
        logger.warning("%s", exc)
        return {"run": exc.run.pk, "status": exc.run.status}
    return {"run": run.pk, "status": run.status}


@shared_task
def run_due_rewards() -> list[int]:
    """Beat: once last month is over (and the platforms had a few days to send late events),
    start or resume every active platform's run for it. A finished run is left alone."""
    return [
        platform.pk
        for platform, period_start in rules.reward_runs_due()
        if run_rewards.delay(platform.pk, period_start.isoformat()) is not None
    ]
