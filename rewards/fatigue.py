"""The fatigue guard: trips made while a driver was online beyond the rest rules never count
towards a reward.

The rest rules are the platform's effective policy (`rewards.policy.effective_policy`):
``continuous_limit_minutes`` (240 by default), ``break_minutes`` (20) and ``daily_cap_minutes``
(600 unless the platform set its own). Online time is what the platform reports as
``online_session`` service events (``occurred_at`` is the start, ``ended_at`` the end; a session
without an end is ignored).

Semantics, per driver:

- Online time is the union of the sessions: overlapping or duplicate sessions count once.
- **Continuous driving.** Online time is grouped into stretches. A gap shorter than
  ``break_minutes`` between the end of the online time so far and the start of the next session
  does not end the stretch; a gap of at least ``break_minutes`` does. Time in a stretch is wall
  time from the stretch's start, short pauses included; online time more than
  ``continuous_limit_minutes`` after the stretch's start is *over the continuous limit*. (The
  pauses themselves are not online time and exclude nothing.)
- **Daily cap.** Per calendar day in China time (Asia/Shanghai, as the reward months), online
  minutes accumulate in time order (a session crossing midnight is split at midnight); online
  time after the day's total reached ``daily_cap_minutes`` is *over the daily cap*.
- **Excluded time** is the union of both (a minute over both limits is excluded once, and
  counted in both ``over_…`` figures).
- A trip whose ``occurred_at`` is in excluded time — later than the start of an excluded span
  and no later than its end, so a trip reported exactly at the limit still counts, and one
  reported at the end of an over-limit session does not — counts towards no reward (quality,
  safety, tier). A rating whose ``trip_external_id`` names such a trip does not count either.
  Complaints and safety incidents always count: fatigue never waives a penalty. Trips outside
  any reported session count (the platform reports what it reports).
- Sessions starting up to one day before the period are read too (a session lasts at most a
  day), so that a stretch or a day crossing the start of the period is judged right; trips
  before the period are looked at only to exclude their ratings made in the period.

Minutes are reported for the period only, rounded to the nearest minute.

`fatigue_for` reads a fixed number of queries whatever the number of drivers: one for the
sessions and, only when some online time is excluded, one for the trips and one for their
ratings.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from cms.models import Organization
from rewards.models import ServiceEvent
from rewards.policy import Policy, effective_policy

CHINA = ZoneInfo("Asia/Shanghai")
MAX_IDS = 50  # ids kept, as in the explanations of `rewards.rules`
MAX_SPANS = 50  # excluded spans kept in an explanation
LOOKBACK = timedelta(days=1)

Span = tuple[datetime, datetime]


@dataclass
class Fatigue:
    """One driver's online time in a period and what the rest rules took out of it."""

    policy: dict
    online_minutes: int = 0
    excluded_minutes: int = 0
    over_continuous_minutes: int = 0
    over_daily_cap_minutes: int = 0
    excluded_trips: int = 0
    excluded_trip_ids: list[int] = field(default_factory=list)
    excluded_ratings: int = 0
    excluded_rating_sum: int = 0
    excluded_rating_ids: list[int] = field(default_factory=list)
    excluded_spans: list[Span] = field(default_factory=list)
    # Every excluded trip and rating of the period (the public lists keep MAX_IDS).
    all_excluded_trip_ids: set[int] = field(default_factory=set, repr=False)
    all_excluded_rating_ids: set[int] = field(default_factory=set, repr=False)

    @property
    def excluded_anything(self) -> bool:
        return bool(self.excluded_trips or self.excluded_ratings)

    def as_explanation(self) -> dict:
        """JSON-ready: the policy numbers used, the minutes, and what did not count."""
        return {
            "policy": dict(self.policy),
            "online_minutes": self.online_minutes,
            "excluded_minutes": self.excluded_minutes,
            "over_continuous_minutes": self.over_continuous_minutes,
            "over_daily_cap_minutes": self.over_daily_cap_minutes,
            "excluded_trips": self.excluded_trips,
            "excluded_trip_ids": list(self.excluded_trip_ids[:MAX_IDS]),
            "excluded_ratings": self.excluded_ratings,
            "excluded_rating_ids": list(self.excluded_rating_ids[:MAX_IDS]),
            "excluded_spans": [
                {
                    "start": start.astimezone(CHINA).isoformat(),
                    "end": end.astimezone(CHINA).isoformat(),
                }
                for start, end in self.excluded_spans[:MAX_SPANS]
            ],
        }

    def sentence(self) -> str:
        """What did not count, in English, or "" when nothing did."""
        if not self.excluded_anything:
            return ""
        rules = (
            f"more than {duration(self.policy['continuous_limit_minutes'])} without a "
            f"{self.policy['break_minutes']}-minute break, or over the daily cap of "
            f"{duration(self.policy['daily_cap_minutes'])}"
        )
        online = f"{duration(self.excluded_minutes)} online beyond the rest rules ({rules})"
        if self.excluded_trips:
            text = f"{self.excluded_trips} {_plural(self.excluded_trips, 'trip')} made during "
            text += f"{online} did not count."
            if self.excluded_ratings:
                text += (
                    f" Neither did {self.excluded_ratings} "
                    f"{_plural(self.excluded_ratings, 'rating')} of those trips."
                )
            return text
        return (
            f"{self.excluded_ratings} {_plural(self.excluded_ratings, 'rating')} of trips made "
            f"online beyond the rest rules ({rules}) did not count."
        )


def empty_fatigue(policy: Policy) -> Fatigue:
    """A driver with nothing excluded."""
    return Fatigue(policy=policy.as_dict())


def duration(minutes: int) -> str:
    """``100`` → ``"1 h 40 min"``, ``240`` → ``"4 h"``, ``20`` → ``"20 min"``."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def _minutes(seconds: float) -> int:
    return int((seconds + 30) // 60)


# --- intervals -----------------------------------------------------------------------------


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _length(spans: Iterable[Span], start: datetime, end: datetime) -> float:
    """Seconds of (already disjoint) ``spans`` within [start, end)."""
    total = 0.0
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if b > a:
            total += (b - a).total_seconds()
    return total


def _over_continuous(online: list[Span], limit: timedelta, pause: timedelta) -> list[Span]:
    over: list[Span] = []
    stretch_start = stretch_end = None
    for start, end in online:
        if stretch_end is None or start - stretch_end >= pause:
            stretch_start = start
        stretch_end = end if stretch_end is None else max(stretch_end, end)
        threshold = stretch_start + limit
        if end > threshold:
            over.append((max(start, threshold), end))
    return over


def _over_daily_cap(online: list[Span], cap: timedelta) -> list[Span]:
    over: list[Span] = []
    used: dict = defaultdict(timedelta)
    for start, end in online:
        piece_start = start
        while piece_start < end:
            day = piece_start.astimezone(CHINA).date()
            midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=CHINA)
            piece_end = min(end, midnight)
            left = cap - used[day]
            if left <= timedelta(0):
                over.append((piece_start, piece_end))
            elif piece_end - piece_start > left:
                over.append((piece_start + left, piece_end))
            used[day] += piece_end - piece_start
            piece_start = piece_end
    return over


def _inside(spans: list[Span], starts: list[datetime], moment: datetime) -> bool:
    """Whether ``start < moment <= end`` for one of the disjoint, sorted ``spans``."""
    index = bisect_left(starts, moment) - 1  # the last span starting strictly before moment
    return index >= 0 and moment <= spans[index][1]


# --- the guard -----------------------------------------------------------------------------


def fatigue_for(
    *,
    platform: Organization,
    driver_ids,
    start: datetime,
    end: datetime,
    policy: Policy | None = None,
) -> dict[int, Fatigue]:
    """Per driver with online sessions in [start, end) (or just before it), their `Fatigue`.
    A driver without an entry had nothing excluded. ``driver_ids`` is an iterable of ids or a
    queryset of ids (``values("driver_id")`` or ``values_list(…, flat=True)``)."""
    policy = policy or effective_policy(platform)
    if not isinstance(driver_ids, QuerySet):
        driver_ids = list(driver_ids)
        if not driver_ids:
            return {}
    limit = timedelta(minutes=policy.continuous_limit_minutes)
    pause = timedelta(minutes=policy.break_minutes)
    cap = timedelta(minutes=policy.daily_cap_minutes)

    sessions: dict[int, list[Span]] = defaultdict(list)
    for driver_id, began, ended in (
        ServiceEvent.objects.filter(
            platform=platform,
            kind=ServiceEvent.Kind.ONLINE_SESSION,
            driver_id__in=driver_ids,
            occurred_at__gte=start - LOOKBACK,
            occurred_at__lt=end,
            ended_at__isnull=False,
        )
        .order_by("driver_id", "occurred_at", "pk")
        .values_list("driver_id", "occurred_at", "ended_at")
    ):
        sessions[driver_id].append((began, ended))

    result: dict[int, Fatigue] = {}
    excluded: dict[int, list[Span]] = {}
    for driver_id, spans in sessions.items():
        online = _union(spans)
        continuous = _over_continuous(online, limit, pause)
        daily = _over_daily_cap(online, cap)
        both = _union(continuous + daily)
        fatigue = Fatigue(
            policy=policy.as_dict(),
            online_minutes=_minutes(_length(online, start, end)),
            excluded_minutes=_minutes(_length(both, start, end)),
            over_continuous_minutes=_minutes(_length(continuous, start, end)),
            over_daily_cap_minutes=_minutes(_length(daily, start, end)),
            excluded_spans=[(max(a, start), min(b, end)) for a, b in both if b > start and a < end],
        )
        result[driver_id] = fatigue
        if both:
            excluded[driver_id] = both
    if not excluded:
        return result

    # Trips in excluded time: one query, for the drivers with excluded time only.
    earliest = min(spans[0][0] for spans in excluded.values())
    latest = max(spans[-1][1] for spans in excluded.values())
    starts = {driver_id: [a for a, _b in spans] for driver_id, spans in excluded.items()}
    excluded_trips: dict[int, set[str]] = defaultdict(set)
    for pk, driver_id, occurred_at, external_id in (
        ServiceEvent.objects.filter(
            platform=platform,
            kind=ServiceEvent.Kind.TRIP,
            driver_id__in=sorted(excluded),
            occurred_at__gt=max(earliest, start - LOOKBACK),
            occurred_at__lte=latest,
            occurred_at__lt=end,
        )
        .order_by("driver_id", "pk")
        .values_list("pk", "driver_id", "occurred_at", "external_id")
    ):
        if not _inside(excluded[driver_id], starts[driver_id], occurred_at):
            continue
        excluded_trips[driver_id].add(external_id)
        if occurred_at >= start:
            fatigue = result[driver_id]
            fatigue.excluded_trips += 1
            fatigue.all_excluded_trip_ids.add(pk)
            if len(fatigue.excluded_trip_ids) < MAX_IDS:
                fatigue.excluded_trip_ids.append(pk)
    if not excluded_trips:
        return result

    # Their ratings made in the period: one query, matched on the trip's id here.
    for pk, driver_id, trip_external_id, rating in (
        ServiceEvent.objects.filter(
            platform=platform,
            kind=ServiceEvent.Kind.RATING,
            rating__isnull=False,
            driver_id__in=sorted(excluded_trips),
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .exclude(trip_external_id="")
        .order_by("driver_id", "pk")
        .values_list("pk", "driver_id", "trip_external_id", "rating")
    ):
        if trip_external_id not in excluded_trips[driver_id]:
            continue
        fatigue = result[driver_id]
        fatigue.excluded_ratings += 1
        fatigue.excluded_rating_sum += rating
        fatigue.all_excluded_rating_ids.add(pk)
        if len(fatigue.excluded_rating_ids) < MAX_IDS:
            fatigue.excluded_rating_ids.append(pk)
    return result
