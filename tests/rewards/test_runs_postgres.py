"""Reward runs at the same moment, on PostgreSQL: one month executed by several workers pays
each line once; runs of two months competing for too little funding never overdraw it."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from rewards import rules
from rewards.ledger import balance, check_invariants, platform_funding_account
from rewards.models import DriverLink, RewardLine, RewardRun, ServiceEvent, Transaction
from tests.concurrency import race
from tests.rewards.test_tasks import earning_driver, fund, platform_named, quality_rule

CHINA = ZoneInfo("Asia/Shanghai")
SEP_1, SEP_30 = date(2026, 9, 1), date(2026, 9, 30)
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and threads need PostgreSQL"
    ),
]


def _execute(platform, start, end):
    def action():
        try:
            return rules.reward_run_execute(platform=platform, period_start=start, period_end=end)
        except rules.RewardRunUnderfunded as exc:
            return exc

    return action


def test_one_month_run_by_six_workers_at_once_pays_each_line_once():
    platform = platform_named("kuaixing")
    quality_rule(platform)
    drivers = [earning_driver(platform, n) for n in range(10)]
    fund(platform, 1_000_000)

    outcomes = race([_execute(platform, OCT_1, OCT_31)] * 6)

    assert all(isinstance(outcome, RewardRun) for outcome in outcomes), outcomes
    run = RewardRun.objects.get()
    assert run.status == RewardRun.Status.FINISHED
    assert run.lines.count() == len(drivers)
    assert not run.lines.filter(transaction__isnull=True).exists()
    assert Transaction.objects.filter(kind="reward").count() == len(drivers)
    assert balance(platform_funding_account(platform)) == 1_000_000 - 5000 * len(drivers)
    assert check_invariants() == []


def test_two_months_competing_for_too_little_funding_never_overdraw_it():
    platform = platform_named("kuaixing")
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Five-star month",
        params={"min_trips": 3, "min_average_rating": "4.5", "max_upheld_complaints": 0},
        amount_fen=5000,
        effective_from=SEP_1,
        notice_days=30,
    )
    rules.rule_version_publish(version=version, actor=None, today=date(2026, 7, 1))
    drivers = [earning_driver(platform, n) for n in range(8)]  # October's events
    # The same service in September.
    ServiceEvent.objects.bulk_create(
        [
            ServiceEvent(
                platform=platform,
                driver=event.driver,
                external_id=f"sep-{event.external_id}",
                kind=event.kind,
                occurred_at=datetime(2026, 9, 10, 12, tzinfo=CHINA),
                fare_fen=event.fare_fen,
                currency=event.currency,
                rating=event.rating,
            )
            for event in ServiceEvent.objects.all()
        ]
    )
    DriverLink.objects.update(linked_at=datetime(2026, 8, 1, tzinfo=CHINA))
    fund(platform, 11 * 5000)  # 16 lines are due, 11 can be paid

    outcomes = race([_execute(platform, SEP_1, SEP_30), _execute(platform, OCT_1, OCT_31)] * 3)

    funding = platform_funding_account(platform)
    assert balance(funding) == 0
    assert Transaction.objects.filter(kind="reward").count() == 11
    assert RewardLine.objects.filter(transaction__isnull=False).count() == 11
    assert RewardLine.objects.count() == 2 * len(drivers)
    stopped = [o for o in outcomes if isinstance(o, rules.RewardRunUnderfunded)]
    assert stopped, "at least one run ran out of funding"
    # Each stopped run says how much to deposit (threads speak the default language, Chinese).
    assert all(exc.shortfall_fen >= 5000 and "充值" in str(exc) for exc in stopped)
    assert check_invariants() == []

    fund(platform, 5 * 5000 + 1)
    for start, end in ((SEP_1, SEP_30), (OCT_1, OCT_31)):
        run = rules.reward_run_execute(platform=platform, period_start=start, period_end=end)
        assert run.status == RewardRun.Status.FINISHED
    assert Transaction.objects.filter(kind="reward").count() == 16
    assert balance(funding) == 1
    assert check_invariants() == []
