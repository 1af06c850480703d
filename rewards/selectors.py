"""Reads of the rewards app that several screens share: what a platform paid its drivers in a
month, and the month a request names.

Months are calendar months in China Standard Time (as the runs count them, `rewards.rules`).
Drivers are named by the platform's own id for them, never by mobile number or name: a
platform's staff see what they already know.
"""

import re
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import Organization
from rewards.models import (
    Account,
    Award,
    Dispute,
    DriverLink,
    Entry,
    RewardLine,
    RewardRun,
    RuleVersion,
    ServiceEvent,
    Transaction,
)
from rewards.rules import CHINA, _bounds, month_end

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
RULE_KINDS = tuple(RuleVersion.Kind.values)  # quality, safety, skill_allowance, tier
RUN_NOT_RUN = "not_run"


class FutureMonth(ValidationError):
    """The month has not started yet (China time): there is nothing to show for it."""


def this_month(today: date | None = None) -> date:
    """The first day of the current month in China."""
    today = today or timezone.localdate(timezone.now(), CHINA)
    return today.replace(day=1)


def last_month(today: date | None = None) -> date:
    return (this_month(today) - timedelta(days=1)).replace(day=1)


def parse_month(value, *, allow_future: bool = False, today: date | None = None) -> date:
    """``"2026-10"`` → date(2026, 10, 1). A `ValidationError` says what is wrong; a month that
    has not started yet (China time) is a `FutureMonth` unless ``allow_future``."""
    match = MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not (1 <= int(match[2]) <= 12) or int(match[1]) < 2000:
        raise ValidationError(
            _("“%(value)s” is not a month: write it as YYYY-MM, for example 2026-10.")
            % {"value": value},
            code="invalid",
        )
    first = date(int(match[1]), int(match[2]), 1)
    if not allow_future and first > this_month(today):
        raise FutureMonth(
            _("%(month)s has not started yet: there are no totals for it.")
            % {"month": first.strftime("%Y-%m")},
            code="future",
        )
    return first


def _grouped(model, **filters):
    return model.objects.filter(**filters).order_by()


def _zero_row(driver_ref: str) -> dict:
    return {
        "driver": driver_ref,
        "linked_in_month": False,
        "trips": 0,
        "trip_earnings_fen": 0,
        "rewards_fen": dict.fromkeys(RULE_KINDS, 0),
        "rewards_total_fen": 0,
        "rewards_pending_fen": 0,
        "awards": 0,
        "awards_fen": 0,
        "corrections": 0,
        "corrections_fen": 0,
        "total_paid_fen": 0,
    }


def platform_totals(*, platform: Organization, period_start: date, currency: str = "CNY") -> dict:
    """What ``platform`` paid its drivers in the month starting ``period_start``, per driver and
    in total, in ``currency``.

    One row per driver linked to the platform at some point in the month (and per driver with
    figures in it though not linked then, e.g. a dispute corrected after they unlinked), named
    by the platform's own id for them (their latest link's): trips reported and their fares;
    the run's posted reward lines per rule kind (``rewards_pending_fen``: lines computed but not
    yet posted, while a run waits for funding); one-off awards given in the month; dispute
    corrections posted in the month; and ``total_paid_fen`` = rewards posted + awards +
    corrections.

    Only this platform's data. Seven queries at most, whatever the number of drivers.
    """
    if period_start.day != 1:
        raise ValidationError(_("A month starts on its first day."))
    period_end = month_end(period_start)
    start, end = _bounds(period_start, period_end)

    run = (
        RewardRun.objects.filter(
            platform=platform, period_start=period_start, period_end=period_end
        )
        .only("pk", "status", "started_at", "finished_at", "last_error")
        .first()
    )

    # The platform's own id for each driver: the latest link that began before the month ended.
    refs: dict[int, str] = {}
    in_month: set[int] = set()
    for driver_id, ref in (
        DriverLink.objects.filter(platform=platform, linked_at__lt=end)
        .filter(Q(unlinked_at__isnull=True) | Q(unlinked_at__gte=start))
        .order_by("linked_at", "pk")
        .values_list("driver_id", "platform_driver_id")
    ):
        refs[driver_id] = ref
        in_month.add(driver_id)

    trips = {
        row["driver_id"]: row
        for row in _grouped(
            ServiceEvent,
            platform=platform,
            kind=ServiceEvent.Kind.TRIP,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .values("driver_id")
        .annotate(count=Count("pk"), fen=Sum("fare_fen"))
    }
    lines = list(
        _grouped(
            RewardLine,
            run__platform=platform,
            run__period_start=period_start,
            run__period_end=period_end,
            currency=currency,
        )
        .values("driver_id", "rule_version__kind")
        .annotate(
            posted=Sum("amount_fen", filter=Q(transaction__isnull=False)),
            pending=Sum("amount_fen", filter=Q(transaction__isnull=True)),
        )
    )
    awards = {
        row["driver_id"]: row
        for row in _grouped(
            Award, platform=platform, currency=currency, created_at__gte=start, created_at__lt=end
        )
        .values("driver_id")
        .annotate(count=Count("pk"), fen=Sum("amount_fen"))
    }
    corrections = {
        row["driver_id"]: row
        for row in _grouped(
            Dispute,
            platform=platform,
            correction_transaction__isnull=False,
            correction_fen__isnull=False,
            resolved_at__gte=start,
            resolved_at__lt=end,
        )
        .values("driver_id")
        .annotate(count=Count("pk"), fen=Sum("correction_fen"))
    }

    figures_ids = set(trips) | {row["driver_id"] for row in lines} | set(awards) | set(corrections)
    missing = figures_ids - set(refs)
    if missing:
        # Figures in the month without a link in it (a correction after they unlinked, trips
        # sent after they linked later): their latest link with this platform names them.
        for driver_id, ref in (
            DriverLink.objects.filter(platform=platform, driver_id__in=missing)
            .order_by("linked_at", "pk")
            .values_list("driver_id", "platform_driver_id")
        ):
            refs[driver_id] = ref

    rows: dict[int, dict] = {}
    for driver_id in set(refs) | figures_ids:
        row = rows[driver_id] = _zero_row(refs.get(driver_id, ""))
        row["linked_in_month"] = driver_id in in_month
        if driver_id in trips:
            row["trips"] = trips[driver_id]["count"]
            row["trip_earnings_fen"] = trips[driver_id]["fen"] or 0
        if driver_id in awards:
            row["awards"] = awards[driver_id]["count"]
            row["awards_fen"] = awards[driver_id]["fen"] or 0
        if driver_id in corrections:
            row["corrections"] = corrections[driver_id]["count"]
            row["corrections_fen"] = corrections[driver_id]["fen"] or 0
    for line in lines:
        row = rows[line["driver_id"]]
        row["rewards_fen"][line["rule_version__kind"]] += line["posted"] or 0
        row["rewards_total_fen"] += line["posted"] or 0
        row["rewards_pending_fen"] += line["pending"] or 0
    for row in rows.values():
        row["total_paid_fen"] = (
            row["rewards_total_fen"] + row["awards_fen"] + row["corrections_fen"]
        )

    ordered = sorted(rows.values(), key=lambda row: (row["driver"], row["total_paid_fen"]))
    totals = _zero_row("")
    del totals["driver"], totals["linked_in_month"]
    totals["drivers"] = len(ordered)
    for row in ordered:
        for key, value in row.items():
            if key == "rewards_fen":
                for kind, fen in value.items():
                    totals["rewards_fen"][kind] += fen
            elif key in totals and key != "drivers":
                totals[key] += value

    return {
        "month": period_start.strftime("%Y-%m"),
        "period_start": period_start,
        "period_end": period_end,
        "currency": currency,
        "run": {
            "status": run.status if run is not None else RUN_NOT_RUN,
            "started_at": run.started_at if run is not None else None,
            "finished_at": run.finished_at if run is not None else None,
        },
        "drivers": ordered,
        "totals": totals,
    }


def _months_back(first: date, count: int) -> list[date]:
    """``count`` month starts ending with ``first``'s month, oldest first."""
    months = [first]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months[::-1]


def earnings_by_month(driver, months: int = 12, today: date | None = None, currency: str = "CNY"):
    """The driver's last ``months`` calendar months (China time) up to this one, oldest first:
    ``[(month start, earned_fen, paid_out_fen), ...]``; a month with nothing is ``0, 0``.

    Earned counts as the statements do (`rewards.statements.statement_months`): the lines of
    finished reward runs for the month, one-off awards given in it, and corrections (dispute
    corrections, adjustments and reversals on the driver's account, with their sign) posted in
    it. Paid out is what left the driver's account for a bank in the month, less payouts that
    came back. Only ``currency``; four queries whatever the number of months.
    """
    window = _months_back(this_month(today), max(int(months), 1))
    start, _end = _bounds(window[0], window[0])
    _start, end = _bounds(window[-1], month_end(window[-1]))
    earned = dict.fromkeys(window, 0)
    paid = dict.fromkeys(window, 0)

    def china_month(moment) -> date:
        return timezone.localtime(moment, CHINA).date().replace(day=1)

    for period_start, fen in (
        RewardLine.objects.filter(
            driver=driver,
            currency=currency,
            run__status=RewardRun.Status.FINISHED,
            run__period_start__gte=window[0],
            run__period_start__lte=window[-1],
        )
        .order_by()
        .values("run__period_start")
        .annotate(fen=Sum("amount_fen"))
        .values_list("run__period_start", "fen")
    ):
        if period_start in earned:
            earned[period_start] += fen or 0
    for created_at, fen in Award.objects.filter(
        driver=driver, currency=currency, created_at__gte=start, created_at__lt=end
    ).values_list("created_at", "amount_fen"):
        earned[china_month(created_at)] += fen
    entries = Entry.objects.filter(
        account__user=driver,
        account__kind=Account.Kind.DRIVER_PAYABLE,
        currency=currency,
        posted_at__gte=start,
        posted_at__lt=end,
    )
    for posted_at, fen in entries.filter(
        transaction__kind__in=(Transaction.Kind.ADJUSTMENT, Transaction.Kind.REVERSAL)
    ).values_list("posted_at", "amount_fen"):
        earned[china_month(posted_at)] += fen
    for posted_at, fen in entries.filter(transaction__kind=Transaction.Kind.PAYOUT).values_list(
        "posted_at", "amount_fen"
    ):
        paid[china_month(posted_at)] -= fen  # sent: −X on the account; came back: +X
    return [(month, earned[month], paid[month]) for month in window]
