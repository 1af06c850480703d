"""The reward tasks: the beat sweeper starts last month's runs once the platforms had a few days
to send late events, resumes an unfinished one, and leaves a finished one alone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cms.models import Organization
from rewards import rules, services, tasks
from rewards.ledger import external_account, platform_funding_account, post_transaction
from rewards.models import DriverLink, RewardRun, ServiceEvent, Transaction
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
QUALITY = {"min_trips": 3, "min_average_rating": "4.5", "max_upheld_complaints": 0}


def platform_named(slug: str, **fields) -> Organization:
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name=slug, name_en=slug, slug=slug, **fields
    )


@pytest.fixture
def platform():
    return platform_named("kuaixing")


def earning_driver(platform, n: int):
    driver = DriverFactory(mobile=f"+86139{n:08d}")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=f"KX-{n}"
    )
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=link.pk).update(linked_at=datetime(2026, 9, 1, tzinfo=CHINA))
    when = datetime(2026, 10, 10, 12, tzinfo=CHINA)
    ServiceEvent.objects.bulk_create(
        [
            ServiceEvent(
                platform=platform,
                driver=driver,
                external_id=f"{n}-{i}",
                kind=kind,
                occurred_at=when,
                **fields,
            )
            for i, (kind, fields) in enumerate(
                [("trip", {"fare_fen": 1500, "currency": "CNY"})] * 3 + [("rating", {"rating": 5})]
            )
        ]
    )
    return driver


def quality_rule(platform, amount_fen=5000):
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Five-star month",
        params=QUALITY,
        amount_fen=amount_fen,
        effective_from=date(2026, 10, 1),
        notice_days=30,
    )
    return rules.rule_version_publish(version=version, actor=None, today=date(2026, 8, 1))


def fund(platform, fen):
    post_transaction(
        idempotency_key=f"deposit-{platform.pk}-{fen}",
        kind="deposit",
        legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
    )


def test_nothing_is_due_in_the_first_days_of_a_month(platform, settings):
    settings.REWARDS_RUN_AFTER_DAYS = 3
    assert rules.reward_runs_due(today=date(2026, 11, 3)) == []
    assert rules.reward_runs_due(today=date(2026, 11, 4)) == [(platform, date(2026, 10, 1))]


def test_only_active_platforms_without_a_finished_run_are_due(platform, settings):
    settings.REWARDS_RUN_AFTER_DAYS = 3
    platform_named("closed", is_active=False)
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name="驾校", name_en="School", slug="school"
    )
    finished = platform_named("finished")
    rules.reward_run_execute(
        platform=finished, period_start=date(2026, 10, 1), period_end=date(2026, 10, 31)
    )
    due = rules.reward_runs_due(today=date(2026, 11, 20))
    assert due == [(platform, date(2026, 10, 1))]
    assert school not in [p for p, _start in due]


def test_january_runs_december(platform):
    assert rules.reward_runs_due(today=date(2027, 1, 10)) == [(platform, date(2026, 12, 1))]


def test_the_sweeper_runs_each_due_platform_once_and_again_changes_nothing(platform, settings):
    settings.REWARDS_RUN_AFTER_DAYS = 3
    quality_rule(platform)
    for n in range(3):
        earning_driver(platform, n)
    fund(platform, 100_000)
    today = date(2026, 11, 5)

    def sweep():
        # The beat task, with "today" pinned (tasks run eagerly in the tests).
        due = rules.reward_runs_due(today=today)
        return [tasks.run_rewards.delay(p.pk, start.isoformat()).get() for p, start in due]

    results = sweep()
    run = RewardRun.objects.get(platform=platform)
    assert results == [{"run": run.pk, "status": "finished"}]
    assert run.lines.count() == 3
    assert Transaction.objects.filter(kind="reward").count() == 3
    assert sweep() == []  # finished: not due any more
    assert tasks.run_rewards.delay(platform.pk, "2026-10-01").get()["status"] == "finished"
    assert Transaction.objects.filter(kind="reward").count() == 3


def test_an_underfunded_run_is_reported_not_retried_and_resumes_after_a_deposit(platform):
    quality_rule(platform)
    for n in range(3):
        earning_driver(platform, n)
    fund(platform, 10_000)  # two of three rewards
    result = tasks.run_rewards.delay(platform.pk, "2026-10-01").get()
    run = RewardRun.objects.get(pk=result["run"])
    assert result["status"] == "running"
    assert "Deposit at least 5000 fen" in run.last_error
    assert Transaction.objects.filter(kind="reward").count() == 2

    fund(platform, 5_000)
    assert tasks.run_rewards.delay(platform.pk, "2026-10-01").get()["status"] == "finished"
    assert Transaction.objects.filter(kind="reward").count() == 3


def test_the_beat_schedule_names_the_sweeper(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["run-due-rewards"]
    assert entry["task"] == "rewards.tasks.run_due_rewards"
    assert tasks.run_due_rewards.name == entry["task"]
