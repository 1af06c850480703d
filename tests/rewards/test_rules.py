"""Reward rules are published with notice and never changed; a monthly run pays each driver what
the rules in effect say, explains why, and posts every line to the ledger exactly once."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.models import Organization
from credentials import services as credentials
from credentials.models import ConsentGrant, Credential
from rewards import rules, services
from rewards.ledger import (
    InsufficientFunds,
    balance,
    balances,
    check_invariants,
    driver_payable_account,
    external_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import (
    DriverLink,
    RewardLine,
    RewardRun,
    RuleVersion,
    ServiceEvent,
    SiteRewardPolicy,
    Transaction,
)
from rewards.policy import platform_policy_update, site_policy
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, OperatorFactory

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)
QUALITY = {"min_trips": 100, "min_average_rating": "4.9", "max_upheld_complaints": 0}
SAFETY = {"max_incidents": 0, "min_trips": 50}
SKILL = {"per_level_fen": {"1": 2000, "2": 5000, "3": 10000}}


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


@pytest.fixture
def operator(db):
    return OperatorFactory()


def at(day: int, hour: int = 12) -> datetime:
    return datetime.combine(date(2026, 10, day), time(hour), tzinfo=CHINA)


def linked_driver(platform, n: int):
    """A driver linked to the platform since September (so linked at the end of October)."""
    driver = DriverFactory(mobile=f"+86139{n:08d}")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=f"KX-{n}"
    )
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=link.pk).update(linked_at=datetime(2026, 9, 1, tzinfo=CHINA))
    return driver


def report(platform, driver, *, trips=0, ratings=(), upheld=0, dismissed=0, incidents=0, day=15):
    """Service events of one driver in October, straight into the table."""
    events = []

    def add(kind, **fields):
        events.append(
            ServiceEvent(
                platform=platform,
                driver=driver,
                external_id=f"{driver.pk}-{kind}-{len(events)}",
                kind=kind,
                occurred_at=fields.pop("occurred_at", at(day)),
                **fields,
            )
        )

    for _n in range(trips):
        add("trip", fare_fen=2000, currency="CNY")
    for rating in ratings:
        add("rating", rating=rating)
    for _n in range(upheld):
        add("complaint", outcome="upheld")
    for _n in range(dismissed):
        add("complaint", outcome="dismissed")
    for _n in range(incidents):
        add("safety_incident", severity="minor")
    ServiceEvent.objects.bulk_create(events)


def published(platform, kind, params, *, amount_fen=None, effective_from=OCT_1, **fields):
    version = rules.rule_version_create(
        platform=platform,
        kind=kind,
        name=fields.pop("name", f"{kind} rule"),
        params=params,
        amount_fen=amount_fen,
        effective_from=effective_from,
        **fields,
    )
    return rules.rule_version_publish(version=version, actor=None, today=date(2026, 8, 1))


def deposit(platform, fen: int, key: str = "deposit-1"):
    post_transaction(
        idempotency_key=key,
        kind="deposit",
        legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
    )


def good_driver(platform, n: int):
    driver = linked_driver(platform, n)
    report(platform, driver, trips=100, ratings=[5] * 19 + [4])  # 4.95
    return driver


def execute(platform):
    return rules.reward_run_execute(platform=platform, period_start=OCT_1, period_end=OCT_31)


# --- rule versions -------------------------------------------------------------------------


def test_publishing_is_refused_within_the_notice_period(platform, operator):
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Five-star month",
        params=QUALITY,
        amount_fen=5000,
        effective_from=OCT_1,
        created_by=operator,
    )
    with pytest.raises(ValidationError, match="30 days’ notice") as refused:
        rules.rule_version_publish(version=version, actor=operator, today=date(2026, 9, 15))
    assert "2026-10-15 at the earliest" in str(refused.value)
    version.refresh_from_db()
    assert version.published_at is None

    rules.rule_version_publish(version=version, actor=operator, today=date(2026, 9, 1))
    version.refresh_from_db()
    assert version.published_at is not None


def test_parameters_are_checked(platform):
    with pytest.raises(ValidationError, match="min_average_rating"):
        rules.rule_version_create(
            platform=platform,
            kind="quality",
            name="Bad",
            params={**QUALITY, "min_average_rating": "great"},
            amount_fen=5000,
            effective_from=OCT_1,
        )
    with pytest.raises(ValidationError, match="per_level_fen"):
        rules.rule_version_create(
            platform=platform,
            kind="skill_allowance",
            name="Bad",
            params={"per_level_fen": {"4": 100}},
            effective_from=OCT_1,
        )


def test_a_published_version_is_never_edited_but_superseded(platform, operator):
    version = published(platform, "quality", QUALITY, amount_fen=5000)
    with pytest.raises(ValidationError, match="never changed"):
        rules.rule_version_update(version=version, actor=operator, amount_fen=9000)
    with pytest.raises(ValidationError, match="never changed"):
        rules.rule_version_publish(version=version, actor=operator, today=date(2026, 8, 1))
    version.amount_fen = 9000
    with pytest.raises(ValidationError, match="cannot be changed"):
        version.save()
    assert RuleVersion.objects.get(pk=version.pk).amount_fen == 5000

    newer = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Five-star month, 2027",
        params=QUALITY,
        amount_fen=9000,
        effective_from=date(2027, 1, 1),
        supersedes=version,
    )
    rules.rule_version_update(version=newer, actor=operator, amount_fen=8000)  # still a draft
    assert RuleVersion.objects.get(pk=newer.pk).amount_fen == 8000


def test_a_version_applies_only_from_its_effective_date(platform):
    october = published(platform, "quality", QUALITY, amount_fen=5000)
    november = published(
        platform, "quality", QUALITY, amount_fen=8000, effective_from=date(2026, 11, 1)
    )
    rules.rule_version_create(  # a draft never applies
        platform=platform,
        kind="quality",
        name="draft",
        params=QUALITY,
        amount_fen=1,
        effective_from=OCT_1,
    )
    safety = published(platform, "safety", SAFETY, amount_fen=3000)

    assert rules.applicable_versions(platform, date(2026, 9, 1)) == []
    assert rules.applicable_versions(platform, OCT_1) == [october, safety]
    assert rules.applicable_versions(platform, date(2026, 11, 1)) == [november, safety]

    driver = good_driver(platform, 1)
    lines = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    assert {(line["driver_id"], line["amount_fen"]) for line in lines} == {
        (driver.pk, 5000),
        (driver.pk, 3000),
    }


# --- computing -----------------------------------------------------------------------------


def test_quality_is_paid_for_enough_trips_and_high_ratings_but_not_with_an_upheld_complaint(
    platform,
):
    version = published(platform, "quality", QUALITY, amount_fen=5000)
    good = good_driver(platform, 1)
    complained = linked_driver(platform, 2)
    report(platform, complained, trips=120, ratings=[5] * 10, upheld=1)
    dismissed = linked_driver(platform, 3)
    report(platform, dismissed, trips=100, ratings=[5] * 10, dismissed=2)
    too_few = linked_driver(platform, 4)
    report(platform, too_few, trips=99, ratings=[5] * 10)
    low = linked_driver(platform, 5)
    report(platform, low, trips=150, ratings=[5] * 8 + [4] * 2)  # 4.8
    september = linked_driver(platform, 6)  # the trips were in September (China time)
    report(platform, september, trips=100, ratings=[5] * 10, day=1)
    ServiceEvent.objects.filter(driver=september).update(
        occurred_at=datetime(2026, 9, 30, 23, 30, tzinfo=CHINA)
    )
    unlinked = good_driver(platform, 7)
    DriverLink.objects.filter(driver=unlinked).update(unlinked_at=at(20))

    with CaptureQueriesContext(connection) as queries:
        lines = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    # Set-based, whatever the number of drivers: versions, drivers, the two policy rows, the
    # sessions (fatigue guard), the figures and the evidence ids.
    assert len(queries) <= 7

    assert [(line["driver_id"], line["amount_fen"]) for line in lines] == [
        (good.pk, 5000),
        (dismissed.pk, 5000),
    ]
    assert lines[0]["rule_version_id"] == version.pk


def test_the_explanation_holds_the_figures_the_thresholds_and_the_evidence(platform):
    version = published(platform, "quality", QUALITY, amount_fen=5000, name="Five-star month")
    driver = good_driver(platform, 1)
    [line] = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    explanation = line["explanation"]
    assert explanation["rule_version"] == {
        "id": version.pk,
        "name": "Five-star month",
        "kind": "quality",
    }
    assert explanation["figures"] == {
        "trips": 100,
        "ratings": 20,
        "average_rating": "4.95",
        "upheld_complaints": 0,
    }
    assert explanation["thresholds"] == {
        "min_trips": 100,
        "min_average_rating": "4.9",
        "max_upheld_complaints": 0,
    }
    assert explanation["sentence"] == (
        "100 trips (at least 100 needed), average rating 4.95 from 20 ratings (at least 4.9 "
        "needed), 0 upheld complaints (at most 0 allowed): the quality reward of 50.00 CNY is "
        "earned."
    )
    trips = explanation["events"]["trips"]
    assert trips["count"] == 100 and len(trips["ids"]) == 50
    assert set(trips["ids"]) <= set(
        ServiceEvent.objects.filter(driver=driver, kind="trip").values_list("pk", flat=True)
    )
    assert explanation["events"]["ratings"]["count"] == 20


def test_safety_reward_needs_trips_and_no_incident(platform):
    published(platform, "safety", SAFETY, amount_fen=3000)
    safe = linked_driver(platform, 1)
    report(platform, safe, trips=50)
    incident = linked_driver(platform, 2)
    report(platform, incident, trips=80, incidents=1)
    lines = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    assert [(line["driver_id"], line["amount_fen"]) for line in lines] == [(safe.pk, 3000)]
    assert lines[0]["explanation"]["figures"] == {"trips": 50, "incidents": 0}
    assert lines[0]["explanation"]["thresholds"] == {"min_trips": 50, "max_incidents": 0}


def _credential(driver, school, *, level: int, title: str) -> Credential:
    built = build_course(organization=school, title=title, level=level)
    credential = credentials.credential_issue(completion=complete_course(driver, built))
    Credential.objects.filter(pk=credential.pk).update(issued_at=datetime(2026, 9, 1, tzinfo=CHINA))
    credential.refresh_from_db()
    return credential


def consent(driver, platform, *, granted_at, withdrawn_at=None) -> ConsentGrant:
    grant = credentials.consent_grant(holder=driver, platform=platform)
    ConsentGrant.objects.filter(pk=grant.pk).update(
        granted_at=granted_at, withdrawn_at=withdrawn_at
    )
    return grant


@pytest.fixture
def school(db):
    return Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name="鹏城交通职业学院", slug="pengcheng"
    )


def test_skill_allowance_counts_active_credentials_only(platform, school):
    published(platform, "skill_allowance", SKILL)
    driver = linked_driver(platform, 1)
    consent(driver, platform, granted_at=datetime(2026, 9, 1, tzinfo=CHINA))
    active = _credential(driver, school, level=2, title="新能源汽车安全")
    revoked = _credential(driver, school, level=3, title="高级防御性驾驶")
    expired = _credential(driver, school, level=1, title="文明服务")
    credentials.credential_revoke(
        credential=revoked, actor=OperatorFactory(), reason="Issued by mistake"
    )
    Credential.objects.filter(pk=expired.pk).update(valid_until=at(20))

    [line] = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
    assert line["driver_id"] == driver.pk
    assert line["amount_fen"] == 5000
    explanation = line["explanation"]
    assert explanation["figures"]["credentials"] == [
        {"number": active.number, "level": 2, "amount_fen": 5000}
    ]
    assert explanation["credentials"] == {"count": 1, "ids": [active.pk]}
    assert explanation["thresholds"] == SKILL
    assert active.number in explanation["sentence"]


def test_skill_allowance_needs_the_drivers_consent_at_the_end_of_the_month(platform, school):
    """Paying the allowance shows the platform the certificates: only with consent."""
    published(platform, "skill_allowance", SKILL)
    november = datetime(2026, 11, 1, tzinfo=CHINA)  # the end of October
    consented = linked_driver(platform, 1)
    consent(consented, platform, granted_at=datetime(2026, 9, 1, tzinfo=CHINA))
    never = linked_driver(platform, 2)
    withdrawn = linked_driver(platform, 3)
    consent(withdrawn, platform, granted_at=at(1), withdrawn_at=at(31, 23))
    withdrawn_later = linked_driver(platform, 4)  # withdrew at the end, or after: still counts
    consent(withdrawn_later, platform, granted_at=at(1), withdrawn_at=november)
    too_late = linked_driver(platform, 5)  # consented in November
    consent(too_late, platform, granted_at=november)
    other_platform = linked_driver(platform, 6)
    elsewhere = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="Other", name_en="Other", slug="other"
    )
    consent(other_platform, elsewhere, granted_at=at(1))
    drivers = [consented, never, withdrawn, withdrawn_later, too_late, other_platform]
    for n, driver in enumerate(drivers):
        _credential(driver, school, level=2, title=f"新能源汽车安全 {n}")

    with CaptureQueriesContext(connection) as queries:
        lines = rules.compute_lines(
            platform=platform, period_start=OCT_1, period_end=OCT_31, include_unpaid=True
        )
    credential_queries = [q for q in queries if "credentials_credential" in q["sql"]]
    assert len(credential_queries) == 1  # consent is a subquery, not a query per driver
    paid = {line["driver_id"]: line["amount_fen"] for line in lines}
    assert paid == {
        consented.pk: 5000,
        never.pk: 0,
        withdrawn.pk: 0,
        withdrawn_later.pk: 5000,
        too_late.pk: 0,
        other_platform.pk: 0,
    }
    unpaid = next(line for line in lines if line["driver_id"] == never.pk)["explanation"]
    assert unpaid["credentials"] == {"count": 0, "ids": []}  # nothing shown without consent
    assert "let the platform see" in unpaid["sentence"]


# --- site limits ---------------------------------------------------------------------------


def test_an_amount_above_the_sites_largest_reward_is_refused(platform, operator):
    site_policy()
    SiteRewardPolicy.objects.update(max_reward_fen=100_000)
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_create(
            platform=platform,
            kind="quality",
            name="Too generous",
            params=QUALITY,
            amount_fen=100_001,
            effective_from=OCT_1,
        )
    assert "more than the largest single reward" in refused.value.message_dict["amount_fen"][0]
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_create(
            platform=platform,
            kind="skill_allowance",
            name="Too generous",
            params={"per_level_fen": {"1": 2000, "3": 150_000}},
            effective_from=OCT_1,
        )
    assert refused.value.message_dict["params"] == [
        "Level 3 pays 150000 fen, more than the largest single reward operators allow, "
        "100000 fen (1000.00 yuan)."
    ]
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_create(
            platform=platform,
            kind="tier",
            name="Too generous",
            params={
                "tiers": [
                    {"name": "Gold", "min_trips": 1, "min_average_rating": "4", "amount_fen": 1},
                    {
                        "name": "Diamond",
                        "min_trips": 2,
                        "min_average_rating": "4",
                        "amount_fen": 200_000,
                    },
                ]
            },
            effective_from=OCT_1,
        )
    assert "Tier “Diamond” pays 200000 fen" in refused.value.message_dict["params"][0]
    assert not RuleVersion.objects.exists()

    # At the limit is fine; a draft raised above it, or published after the limit was lowered,
    # is refused.
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Generous",
        params=QUALITY,
        amount_fen=100_000,
        effective_from=OCT_1,
    )
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_update(version=version, actor=operator, amount_fen=100_001)
    assert "amount_fen" in refused.value.message_dict
    SiteRewardPolicy.objects.update(max_reward_fen=50_000)
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_publish(version=version, actor=operator, today=date(2026, 8, 1))
    assert "50000 fen (500.00 yuan)" in refused.value.message_dict["amount_fen"][0]
    version.refresh_from_db()
    assert version.published_at is None and version.amount_fen == 100_000


def test_the_notice_defaults_to_the_platforms_and_is_never_below_the_minimum(platform, operator):
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Default notice",
        params=QUALITY,
        amount_fen=5000,
        effective_from=OCT_1,
    )
    assert version.notice_days == 30  # the site's default

    platform_policy_update(platform=platform, actor=None, daily_cap_minutes=None, notice_days=45)
    version = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Platform's notice",
        params=QUALITY,
        amount_fen=5000,
        effective_from=OCT_1,
    )
    assert version.notice_days == 45
    with pytest.raises(ValidationError, match="45 days’ notice"):
        rules.rule_version_publish(version=version, actor=operator, today=date(2026, 9, 1))

    with pytest.raises(ValidationError) as refused:
        rules.rule_version_create(
            platform=platform,
            kind="quality",
            name="Short notice",
            params=QUALITY,
            amount_fen=5000,
            effective_from=OCT_1,
            notice_days=29,
        )
    assert refused.value.message_dict["notice_days"] == [
        "Drivers get at least 30 days’ notice of a rule (the operators’ limit), not 29."
    ]
    with pytest.raises(ValidationError) as refused:
        rules.rule_version_update(version=version, actor=operator, notice_days=7)
    assert "notice_days" in refused.value.message_dict
    longer = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Longer notice",
        params=QUALITY,
        amount_fen=5000,
        effective_from=OCT_1,
        notice_days=60,
    )
    assert longer.notice_days == 60


def test_simulate_writes_nothing(platform):
    good_driver(platform, 1)
    draft = rules.rule_version_create(
        platform=platform,
        kind="quality",
        name="Draft",
        params=QUALITY,
        amount_fen=7000,
        effective_from=date(2027, 1, 1),
    )
    with CaptureQueriesContext(connection) as queries:
        lines = rules.simulate(version=draft, period_start=OCT_1, period_end=OCT_31)
    assert [line["amount_fen"] for line in lines] == [7000]
    statements = [query["sql"].lstrip().upper() for query in queries]
    assert statements and all(sql.startswith("SELECT") for sql in statements), statements
    assert not RewardRun.objects.exists() and not RewardLine.objects.exists()
    assert not Transaction.objects.filter(kind="reward").exists()


# --- runs ----------------------------------------------------------------------------------


def test_running_twice_posts_nothing_twice(platform):
    published(platform, "quality", QUALITY, amount_fen=5000)
    published(platform, "safety", SAFETY, amount_fen=3000)
    first, second = good_driver(platform, 1), good_driver(platform, 2)
    deposit(platform, 100_000)

    run = execute(platform)
    assert run.status == RewardRun.Status.FINISHED and run.finished_at is not None
    lines = list(run.lines.order_by("pk"))
    assert len(lines) == 4 and all(line.transaction_id for line in lines)
    accounts = [
        platform_funding_account(platform),
        driver_payable_account(first),
        driver_payable_account(second),
    ]
    after_first = balances(accounts)
    assert list(after_first.values()) == [100_000 - 16_000, 8000, 8000]
    transactions = {line.pk: line.transaction_id for line in lines}
    count = Transaction.objects.count()
    assert Transaction.objects.get(pk=lines[0].transaction_id).idempotency_key == (
        f"reward:{run.pk}:{lines[0].pk}"
    )

    again = execute(platform)
    assert again.pk == run.pk
    assert {line.pk: line.transaction_id for line in again.lines.all()} == transactions
    assert Transaction.objects.count() == count
    assert balances(accounts) == after_first
    assert check_invariants() == []


def test_an_interrupted_run_completes_on_retry_with_the_same_total(platform, monkeypatch):
    published(platform, "quality", QUALITY, amount_fen=5000)
    drivers = [good_driver(platform, n) for n in range(1, 4)]
    deposit(platform, 100_000)

    calls = []

    def crash_after_one(real):
        def posting(*args, **kwargs):
            if calls:
                raise RuntimeError("the worker died")
            calls.append(args)
            return real(*args, **kwargs)

        return posting

    # One line per batch (PostgreSQL) or per posting (elsewhere): the second one dies.
    monkeypatch.setattr(rules, "RUN_BATCH_LINES", 1)
    monkeypatch.setattr(rules, "_post_batch", crash_after_one(rules._post_batch))
    monkeypatch.setattr(rules, "_post_line", crash_after_one(rules._post_line))
    with pytest.raises(RuntimeError):
        execute(platform)
    monkeypatch.undo()
    run = RewardRun.objects.get()
    assert run.status == RewardRun.Status.RUNNING
    assert run.lines.filter(transaction__isnull=False).count() == 1
    assert balance(platform_funding_account(platform)) == 95_000

    run = execute(platform)
    assert run.status == RewardRun.Status.FINISHED
    assert run.lines.count() == 3 and not run.lines.filter(transaction__isnull=True).exists()
    assert Transaction.objects.filter(kind="reward").count() == 3
    assert balance(platform_funding_account(platform)) == 100_000 - 15_000
    assert [balance(driver_payable_account(d)) for d in drivers] == [5000, 5000, 5000]
    assert check_invariants() == []


def test_insufficient_funding_stops_the_run_without_overdrawing(platform):
    published(platform, "quality", QUALITY, amount_fen=5000)
    good_driver(platform, 1), good_driver(platform, 2)
    deposit(platform, 7000)

    with pytest.raises(InsufficientFunds, match="Deposit at least 3000 fen") as stopped:
        execute(platform)
    assert isinstance(stopped.value, rules.RewardRunUnderfunded)
    run = RewardRun.objects.get()
    assert run.status == RewardRun.Status.RUNNING
    assert "Deposit at least 3000 fen" in run.last_error
    assert run.lines.filter(transaction__isnull=False).count() == 1
    assert balance(platform_funding_account(platform)) == 2000
    assert check_invariants() == []

    deposit(platform, 3000, key="deposit-2")
    run = execute(platform)
    assert run.status == RewardRun.Status.FINISHED and run.last_error == ""
    assert balance(platform_funding_account(platform)) == 0
    assert Transaction.objects.filter(kind="reward").count() == 2


def test_a_run_is_one_calendar_month(platform):
    with pytest.raises(ValidationError, match="calendar month"):
        rules.reward_run_execute(
            platform=platform, period_start=date(2026, 10, 2), period_end=OCT_31
        )
    assert not RewardRun.objects.exists()
