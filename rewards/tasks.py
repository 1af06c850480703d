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


# --- money through Stripe ------------------------------------------------------------------


@shared_task(acks_late=True)
def payout_send(payout_id: int) -> str:
    """Send one requested payout to Stripe (a transfer, then the bank payout). Idempotent:
    Stripe sees the same idempotency keys every time. Errors are kept on the payout, and
    `payouts_retry` sends it again."""
    from rewards import payouts

    return payouts.payout_send(payout_id).status


@shared_task
def payouts_retry() -> list[str]:
    """Beat: pending payouts that are due again, and in-transit payouts to check with Stripe."""
    from rewards import payouts

    return payouts.payouts_retry()


@shared_task
def unposted_refunds_retry() -> list[str]:
    """Beat: refunds of funding top-ups the ledger could not book yet (the funding was spent)."""
    from rewards import payments_ledger

    booked = payments_ledger.unposted_refunds_retry()
    if booked:
        logger.info("Booked %d refunds that were waiting: %s", len(booked), ", ".join(booked))
    return booked


@shared_task
def reconcile_stripe() -> dict:
    """Beat (daily): compare the last two days of Stripe's balance with the ledger. Every
    difference is logged as an error; `manage.py reconcile_stripe` shows the same table."""
    from rewards import reconcile

    report = reconcile.reconcile_recent()
    for difference in report.differences:
        logger.error("Stripe reconciliation: %s", difference.as_line())
    return report.summary()
