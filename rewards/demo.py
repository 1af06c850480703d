"""Demo service data: drivers linked to the demo platform, its funding, and last month's events.

Run by ``manage.py seed_demo`` (settings.DEMO_SEEDERS) after the site, course and certificate
demos. Everything goes through the services: links are approved by the drivers, events are
ingested as a platform's batch (idempotent by their ids), the deposit has an idempotency key.
Running it again changes nothing.
"""

import random
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from cms.demo import DEMO_PLATFORM
from cms.models import Organization, User
from rewards import ledger, services
from rewards.models import DriverLink, LinkRequest

# (mobile, the platform's driver id, trips last month, rating pattern, upheld complaint, sessions)
DRIVERS = [
    ("+8613900000001", "KX-1001", 124, (5, 5, 5, 5, 5, 5, 5, 5, 5, 4), False),
    ("+8613900000002", "KX-1002", 86, (5, 4, 5, 4, 5, 4, 4, 5), False),
    ("+8613900000004", "KX-1004", 112, (5, 5, 5, 5, 5, 5, 5, 5, 5, 4), True),
]
DEPOSIT_FEN = 5_000_000  # ¥50,000 for the demo programme
DEPOSIT_KEY = "demo:kuaixing:deposit:1"


def _last_month(now: datetime) -> tuple[datetime, datetime]:
    first_this = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this


def _link(platform: Organization, driver: User, ref: str) -> None:
    if DriverLink.objects.filter(platform=platform, driver=driver, unlinked_at=None).exists():
        return
    if LinkRequest.objects.filter(platform=platform, mobile=driver.mobile).exists():
        return  # the driver decided once; a re-seed does not ask again
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=ref
    )
    services.link_request_decide(request=request, driver=driver, approve=True)


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
    if upheld:
        rows.append({"id": f"{ref}-complaint-1", "driver": ref, "type": "complaint",
                     "occurred_at": (start + timedelta(days=12)).isoformat(),
                     "outcome": "upheld", "trip_id": f"{ref}-trip-0003"})  # fmt: skip
    return rows


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
    start, _end = _last_month(timezone.now())
    if DriverLink.objects.filter(platform=platform).exists():
        return []  # seeded before: the events carry last month's dates of that day
    rows = []
    for mobile, ref, trips, ratings, upheld in DRIVERS:
        driver = User.objects.get(mobile=mobile)
        _link(platform, driver, ref)
        rows += _events(ref, trips, ratings, upheld, start)
    for offset in range(0, len(rows), services.MAX_EVENTS_PER_BATCH):
        services.service_events_ingest(
            platform=platform, rows=rows[offset : offset + services.MAX_EVENTS_PER_BATCH]
        )
    return []
