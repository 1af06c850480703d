"""Demo service data: drivers linked to the demo platform, its funding, last month's events,
its reward programme and last month's run.

What a newcomer sees: 王建国 (KX-1001) earns the quality, safety, tier and skill rewards, and one
long day (over 4 hours without a break) shows the fatigue guard: those trips did not count;
张伟 (KX-1002) received a one-off award; 马强 (KX-1004) lost the quality reward to an upheld
complaint and disputes it (open, for an operator to resolve).

Run by ``manage.py seed_demo`` (settings.DEMO_SEEDERS) after the site, course and certificate
demos. Everything goes through the services: links are approved by the drivers, events are
ingested as a platform's batch (idempotent by their ids), the deposit has an idempotency key.
Running it again changes nothing.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from cms.demo import DEMO_PLATFORM
from cms.models import Organization, User
from credentials.models import ConsentGrant
from rewards import awards, disputes, ledger, rules, services
from rewards.models import Award, Dispute, DriverLink, LinkRequest, RuleVersion, ServiceEvent

# (mobile, the platform's driver id, trips last month, rating pattern, upheld complaint, sessions)
DRIVERS = [
    ("+8613900000001", "KX-1001", 124, (5, 5, 5, 5, 5, 5, 5, 5, 5, 4), False),
    ("+8613900000002", "KX-1002", 86, (5, 4, 5, 4, 5, 4, 4, 5), False),
    ("+8613900000004", "KX-1004", 112, (5, 5, 5, 5, 5, 5, 5, 5, 5, 4), True),
]
FATIGUED = "KX-1001"
AWARD = ("KX-1002", "demo-award-1", 8_800, "恶劣天气保障出车奖 Served riders through the storm")
DISPUTING = "KX-1004"
DISPUTE_REASON = (
    "这次投诉与事实不符：行车记录仪显示我按导航路线行驶，请复核。"
    " The complaint is not what happened: my dashcam shows I followed the route."
)
DEPOSIT_FEN = 5_000_000  # ¥50,000 for the demo programme
DEPOSIT_KEY = "demo:kuaixing:deposit:1"


def _last_month(now: datetime) -> tuple[datetime, datetime]:
    first_this = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this


def _link(platform: Organization, driver: User, ref: str, since: datetime) -> None:
    if DriverLink.objects.filter(platform=platform, driver=driver, unlinked_at=None).exists():
        return
    if LinkRequest.objects.filter(platform=platform, mobile=driver.mobile).exists():
        return  # the driver decided once; a re-seed does not ask again
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=ref
    )
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    # Seeded history: the driver linked before last month, so last month's events count.
    DriverLink.objects.filter(pk=link.pk).update(linked_at=since)


def _events(ref: str, trips: int, ratings: tuple, upheld: bool, start: datetime) -> list[dict]:
    rng = random.Random(ref)  # noqa: S311 - demo data, reproducible per driver
    rows = []
    for n in range(trips):
        when = start + timedelta(days=rng.randrange(0, 27), hours=rng.randrange(7, 22))
        trip_id = f"{ref}-trip-{n:04d}"
        fare = rng.randrange(1500, 6800)
        rows.append({"id": trip_id, "driver": ref, "type": "trip",
                     "occurred_at": when.isoformat(), "fare_fen": fare})  # fmt: skip
        rows.append({"id": f"{ref}-rating-{n:04d}", "driver": ref, "type": "rating",
                     "occurred_at": (when + timedelta(minutes=40)).isoformat(),
                     "rating": ratings[n % len(ratings)], "trip_id": trip_id})  # fmt: skip
    for day in range(0, 26, 2):
        begin = start + timedelta(days=day, hours=8)
        rows.append({"id": f"{ref}-session-{day:02d}", "driver": ref, "type": "online_session",
                     "occurred_at": begin.isoformat(),
                     "ended_at": (begin + timedelta(hours=3, minutes=30)).isoformat()})  # fmt: skip
    if ref == FATIGUED:
        # One long day: 08:00 to 13:30 without a break; the trips after 12:00 do not count.
        begin = start + timedelta(days=27, hours=0)  # 08:00 China time
        rows.append({"id": f"{ref}-session-long", "driver": ref, "type": "online_session",
                     "occurred_at": begin.isoformat(),
                     "ended_at": (begin + timedelta(hours=5, minutes=30)).isoformat()})  # fmt: skip
        for n in range(4):
            when = begin + timedelta(hours=4, minutes=10 + 20 * n)
            rows.append({"id": f"{ref}-late-trip-{n}", "driver": ref, "type": "trip",
                         "occurred_at": when.isoformat(), "fare_fen": 3200})  # fmt: skip
    if upheld:
        rows.append({"id": f"{ref}-complaint-1", "driver": ref, "type": "complaint",
                     "occurred_at": (start + timedelta(days=12)).isoformat(),
                     "outcome": "upheld", "trip_id": f"{ref}-trip-0003"})  # fmt: skip
    return rows


RULES = [
    (
        "quality",
        "优质服务奖 Quality service",
        {"min_trips": 100, "min_average_rating": "4.9", "max_upheld_complaints": 0},
        30_000,
    ),
    ("safety", "安全驾驶奖 Safe driving", {"max_incidents": 0, "min_trips": 50}, 10_000),
    (
        "tier",
        "星级司机 Driver tiers",
        {
            "tiers": [
                {
                    "name": "银星 Silver",
                    "min_trips": 60,
                    "min_average_rating": "4.70",
                    "amount_fen": 5_000,
                },
                {
                    "name": "金星 Gold",
                    "min_trips": 100,
                    "min_average_rating": "4.80",
                    "amount_fen": 15_000,
                },
                {
                    "name": "钻石 Diamond",
                    "min_trips": 160,
                    "min_average_rating": "4.90",
                    "amount_fen": 30_000,
                },
            ]
        },
        None,
    ),  # fmt: skip
    (
        "skill_allowance",
        "技能津贴 Skill allowance",
        {"per_level_fen": {"1": 2_000, "2": 5_000, "3": 10_000}},
        None,
    ),
]


def _programme(platform: Organization, period_start: date, period_end: date) -> None:
    """The platform's published rules (published with notice, before the period) and the
    reward run of last month. Idempotent: existing versions are kept, a finished run is kept."""
    effective_from = (period_start - timedelta(days=40)).replace(day=1)
    for kind, name, params, amount in RULES:
        if RuleVersion.objects.filter(platform=platform, kind=kind, name=name).exists():
            continue
        version = rules.rule_version_create(
            platform=platform,
            kind=kind,
            name=name,
            params=params,
            amount_fen=amount,
            effective_from=effective_from,
        )
        # Seeded history: published a notice period before it took effect.
        published_on = effective_from - timedelta(days=version.notice_days)
        rules.rule_version_publish(version=version, actor=None, today=published_on)
        RuleVersion.objects.filter(pk=version.pk).update(
            published_at=datetime.combine(published_on, time(10), tzinfo=rules.CHINA)
        )
    rules.reward_run_execute(platform=platform, period_start=period_start, period_end=period_end)


def seed_demo() -> list[str]:
    platform = Organization.objects.get(slug=DEMO_PLATFORM)
    ledger.post_transaction(
        idempotency_key=DEPOSIT_KEY,
        kind="deposit",
        legs=[
            (ledger.platform_funding_account(platform), DEPOSIT_FEN),
            (ledger.external_account(), -DEPOSIT_FEN),
        ],
        description="快行出行 funds its driver reward programme",
    )
    start, end = _last_month(timezone.now())
    if DriverLink.objects.filter(platform=platform).exists():
        return []  # seeded before: the events carry last month's dates of that day
    rows = []
    for mobile, ref, trips, ratings, upheld in DRIVERS:
        driver = User.objects.get(mobile=mobile)
        _link(platform, driver, ref, start - timedelta(days=7))
        rows += _events(ref, trips, ratings, upheld, start)
    for offset in range(0, len(rows), services.MAX_EVENTS_PER_BATCH):
        services.service_events_ingest(
            platform=platform, rows=rows[offset : offset + services.MAX_EVENTS_PER_BATCH]
        )
    # Seeded history: the consents the certificate demo granted were given before last month,
    # so the certificates count for last month's skill allowance.
    ConsentGrant.objects.filter(
        platform=platform, withdrawn_at=None, granted_at__gte=start - timedelta(days=7)
    ).update(granted_at=start - timedelta(days=7))
    _programme(platform, start.date(), (end - timedelta(days=1)).date())
    _award_and_dispute(platform)
    return []


def _award_and_dispute(platform: Organization) -> None:
    """张伟's one-off award and 马强's open dispute of his upheld complaint (both idempotent)."""
    ref, external_id, amount, reason = AWARD
    if not Award.objects.filter(platform=platform, external_id=external_id).exists():
        awards.award_grant(
            platform=platform,
            platform_driver_id=ref,
            external_id=external_id,
            amount_fen=amount,
            reason=reason,
        )
    complaint = ServiceEvent.objects.filter(
        platform=platform, external_id=f"{DISPUTING}-complaint-1"
    ).first()
    if complaint is not None and not Dispute.objects.filter(complaint=complaint).exists():
        disputes.dispute_open(driver=complaint.driver, reason=DISPUTE_REASON, complaint=complaint)
