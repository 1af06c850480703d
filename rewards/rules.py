"""Reward rules and runs: write and publish rule versions, compute what drivers earned in a
month, and post it to the ledger exactly once.

Months are calendar months in China Standard Time (UTC+8): an event counts in the month its
``occurred_at`` falls in there, and "at the end of the period" is midnight (UTC+8) after the
last day. A run is idempotent and resumable: its lines are computed once, and each line is
posted under the key ``reward:{run}:{line}``, so running it again, or after a crash half-way,
posts nothing twice. Models and the rule semantics are in `rewards.models.rules`.
"""

import calendar
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import Organization, User
from credentials.models import Credential
from rewards.ledger import (
    InsufficientFunds,
    balance,
    driver_payable_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import DriverLink, RewardLine, RewardRun, RuleVersion, ServiceEvent
from rewards.models.rules import validate_rule

CHINA = ZoneInfo("Asia/Shanghai")
MAX_IDS = 50  # ids kept in an explanation, per kind of evidence (the counts are complete)
EDITABLE_FIELDS = ("name", "params", "amount_fen", "effective_from", "notice_days")


class RewardRunUnderfunded(InsufficientFunds):
    """The platform's funding ran out during a run: the run stopped, still `running`; the lines
    posted so far stay posted. Deposit, then execute the run again to finish it."""

    def __init__(self, message: str, *, run: RewardRun, account, shortfall_fen: int):
        super().__init__(message, account=account, shortfall_fen=shortfall_fen)
        self.run = run


# --- periods and money ---------------------------------------------------------------------


def _check_period(period_start: date, period_end: date) -> None:
    last_day = calendar.monthrange(period_start.year, period_start.month)[1]
    if period_start.day != 1 or period_end != period_start.replace(day=last_day):
        raise ValidationError(
            _("A reward period is one calendar month, from its first day to its last.")
        )


def month_end(period_start: date) -> date:
    """The last day of the month that starts on ``period_start``."""
    return period_start.replace(day=calendar.monthrange(period_start.year, period_start.month)[1])


def _bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """[start, end) of the period, as aware datetimes at midnight China Standard Time."""
    start = datetime.combine(period_start, time.min, tzinfo=CHINA)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=CHINA)
    return start, end


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _check_platform(platform: Organization) -> None:
    if platform.kind != Organization.Kind.PLATFORM:
        raise ValidationError(_("Only a ride-hailing platform has reward rules."))


# --- rule versions -------------------------------------------------------------------------


def _check_actor(actor: User | None, platform: Organization) -> None:
    if actor is None:
        return  # the system itself (a migration, a management command)
    if not (actor.is_superuser or getattr(actor, "organization_id", None) == platform.pk):
        raise PermissionDenied(_("Only the platform's staff or an operator manage its rules."))


def rule_version_create(
    *,
    platform: Organization,
    kind: str,
    name: str,
    params: dict,
    effective_from: date,
    amount_fen: int | None = None,
    currency: str = "CNY",
    notice_days: int = 30,
    created_by: User | None = None,
    supersedes: RuleVersion | None = None,
) -> RuleVersion:
    """A draft version of a platform's rule (unpublished: it applies to nothing yet)."""
    _check_platform(platform)
    _check_actor(created_by, platform)
    validate_rule(kind, params, amount_fen)
    if type(notice_days) is not int or notice_days < 0:
        raise ValidationError({"notice_days": _("The notice is a whole number of days.")})
    if supersedes is not None:
        if supersedes.platform_id != platform.pk or supersedes.kind != kind:
            raise ValidationError(
                {"supersedes": _("A version supersedes a version of the same platform’s rule.")}
            )
        if supersedes.published_at is None:
            raise ValidationError(
                {"supersedes": _("Only a published version is superseded; edit the draft.")}
            )
    return RuleVersion.objects.create(
        platform=platform,
        kind=kind,
        name=name,
        params=params,
        amount_fen=amount_fen,
        currency=currency,
        effective_from=effective_from,
        notice_days=notice_days,
        created_by=created_by,
        supersedes=supersedes,
    )


def _refuse_if_published(version: RuleVersion) -> None:
    if version.published_at is not None:
        raise ValidationError(
            _(
                "Rule version “%(name)s” was published on %(date)s and is never changed; "
                "create a new version that supersedes it."
            )
            % {"name": version.name, "date": timezone.localdate(version.published_at)}
        )


def rule_version_update(*, version: RuleVersion, actor: User | None, **changes) -> RuleVersion:
    """Change a draft. A published version is refused (``ValidationError``)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    with transaction.atomic():
        current = RuleVersion.objects.select_for_update().get(pk=version.pk)
        _check_actor(actor, current.platform)
        _refuse_if_published(current)
        for field, value in changes.items():
            setattr(current, field, value)
        validate_rule(current.kind, current.params, current.amount_fen)
        current.save()
    return current


def rule_version_publish(
    *, version: RuleVersion, actor: User | None, today: date | None = None
) -> RuleVersion:
    """Publish a draft. Drivers get notice: ``effective_from`` must be at least
    ``notice_days`` days after the day it is published (``today``, China time by default)."""
    today = today or timezone.localdate(timezone.now(), CHINA)
    with transaction.atomic():
        current = RuleVersion.objects.select_for_update().get(pk=version.pk)
        _check_actor(actor, current.platform)
        _refuse_if_published(current)
        validate_rule(current.kind, current.params, current.amount_fen)
        earliest = today + timedelta(days=current.notice_days)
        if current.effective_from < earliest:
            raise ValidationError(
                _(
                    "Drivers get %(days)d days’ notice of a rule: published on %(today)s, it can "
                    "take effect on %(earliest)s at the earliest, not %(effective)s. Move "
                    "“effective from” later, or publish it by %(latest)s."
                )
                % {
                    "days": current.notice_days,
                    "today": today.isoformat(),
                    "earliest": earliest.isoformat(),
                    "effective": current.effective_from.isoformat(),
                    "latest": (
                        current.effective_from - timedelta(days=current.notice_days)
                    ).isoformat(),
                }
            )
        current.published_at = timezone.now()
        current.save(update_fields=["published_at"])
    version.published_at = current.published_at
    return current


def applicable_versions(platform: Organization, period_start: date) -> list[RuleVersion]:
    """For each kind, the latest published version in effect on ``period_start`` (if any)."""
    chosen: dict[str, RuleVersion] = {}
    for version in RuleVersion.objects.filter(
        platform=platform, published_at__isnull=False, effective_from__lte=period_start
    ).order_by("kind", "-effective_from", "-published_at", "-pk"):
        chosen.setdefault(version.kind, version)
    return [chosen[kind] for kind in sorted(chosen)]


# --- computing -----------------------------------------------------------------------------


def _linked_drivers(platform: Organization, end: datetime):
    """Drivers whose link with the platform was active at ``end`` (a subquery)."""
    return (
        DriverLink.objects.filter(platform=platform, linked_at__lt=end)
        .filter(Q(unlinked_at__isnull=True) | Q(unlinked_at__gte=end))
        .values("driver_id")
    )


UPHELD = Q(kind=ServiceEvent.Kind.COMPLAINT, outcome=ServiceEvent.Outcome.UPHELD)
EVIDENCE = {
    "trips": Q(kind=ServiceEvent.Kind.TRIP),
    "ratings": Q(kind=ServiceEvent.Kind.RATING, rating__isnull=False),
    "upheld_complaints": UPHELD,
    "incidents": Q(kind=ServiceEvent.Kind.SAFETY_INCIDENT),
}
EVIDENCE_OF_KIND = {
    ServiceEvent.Kind.TRIP: "trips",
    ServiceEvent.Kind.RATING: "ratings",
    ServiceEvent.Kind.COMPLAINT: "upheld_complaints",
    ServiceEvent.Kind.SAFETY_INCIDENT: "incidents",
}


def _service_figures(platform, start, end, drivers) -> dict[int, dict]:
    """Per driver: counts of trips, ratings, upheld complaints and incidents, the ratings' sum,
    and up to MAX_IDS event ids of each. Two queries, whatever the number of drivers."""
    events = ServiceEvent.objects.filter(
        platform=platform, occurred_at__gte=start, occurred_at__lt=end, driver_id__in=drivers
    )
    figures: dict[int, dict] = {}
    for row in (
        events.values("driver_id")
        .annotate(
            **{name: Count("pk", filter=condition) for name, condition in EVIDENCE.items()},
            rating_sum=Sum("rating", filter=EVIDENCE["ratings"]),
        )
        .order_by("driver_id")
    ):
        driver_id = row.pop("driver_id")
        row["rating_sum"] = row["rating_sum"] or 0
        row["ids"] = {name: [] for name in EVIDENCE}
        figures[driver_id] = row
    relevant = Q()
    for condition in EVIDENCE.values():
        relevant |= condition
    for driver_id, kind, pk in (
        events.filter(relevant)
        .annotate(
            row=Window(
                RowNumber(), partition_by=[F("driver_id"), F("kind")], order_by=F("pk").asc()
            )
        )
        .filter(row__lte=MAX_IDS)
        .order_by("driver_id", "kind", "pk")
        .values_list("driver_id", "kind", "pk")
    ):
        figures[driver_id]["ids"][EVIDENCE_OF_KIND[kind]].append(pk)
    return figures


def _empty_figures() -> dict:
    return {
        **dict.fromkeys(EVIDENCE, 0),
        "rating_sum": 0,
        "ids": {name: [] for name in EVIDENCE},
    }


def _credentials_held(end: datetime, drivers) -> dict[int, list[dict]]:
    """Per driver: the credentials active at ``end`` (not suspended or revoked, issued before
    and not expired by then), at most one per course. One query."""
    held: dict[int, list[dict]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for row in (
        Credential.objects.filter(
            holder_id__in=drivers, status=Credential.Status.ACTIVE, issued_at__lt=end
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=end))
        .order_by("holder_id", "course_id", "-issued_at", "-pk")
        .values("pk", "holder_id", "course_id", "number", "course__level")
    ):
        if (row["holder_id"], row["course_id"]) in seen:
            continue
        seen.add((row["holder_id"], row["course_id"]))
        held[row["holder_id"]].append(
            {
                "id": row["pk"],
                "number": row["number"],
                "course_id": row["course_id"],
                "level": row["course__level"],
            }
        )
    return held


def _average(figures: dict) -> Decimal | None:
    if not figures["ratings"]:
        return None
    return (Decimal(figures["rating_sum"]) / figures["ratings"]).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def _evidence(figures: dict, names) -> dict:
    return {name: {"count": figures[name], "ids": figures["ids"][name][:MAX_IDS]} for name in names}


def _quality(version: RuleVersion, figures: dict) -> tuple[int, dict]:
    params = version.params
    min_trips = params["min_trips"]
    min_rating = Decimal(str(params["min_average_rating"]))
    max_upheld = params["max_upheld_complaints"]
    average = _average(figures)
    # Exact: the sum of ratings against the threshold times their number, no rounding.
    rating_ok = figures["ratings"] > 0 and Decimal(figures["rating_sum"]) >= (
        min_rating * figures["ratings"]
    )
    checks = [
        figures["trips"] >= min_trips,
        rating_ok,
        figures["upheld_complaints"] <= max_upheld,
    ]
    amount = version.amount_fen if all(checks) else 0
    shown_average = "none" if average is None else str(average)
    sentence = (
        f"{figures['trips']} trips (at least {min_trips} needed), average rating "
        f"{shown_average} from {figures['ratings']} ratings (at least {min_rating} needed), "
        f"{figures['upheld_complaints']} upheld complaints (at most {max_upheld} allowed): "
        + (
            f"the quality reward of {_yuan(amount)} {version.currency} is earned."
            if amount
            else "the quality reward is not earned."
        )
    )
    return amount, {
        "figures": {
            "trips": figures["trips"],
            "ratings": figures["ratings"],
            "average_rating": None if average is None else str(average),
            "upheld_complaints": figures["upheld_complaints"],
        },
        "thresholds": {
            "min_trips": min_trips,
            "min_average_rating": str(min_rating),
            "max_upheld_complaints": max_upheld,
        },
        "sentence": sentence,
        "events": _evidence(figures, ("trips", "ratings", "upheld_complaints")),
    }


def _safety(version: RuleVersion, figures: dict) -> tuple[int, dict]:
    params = version.params
    min_trips, max_incidents = params["min_trips"], params["max_incidents"]
    earned = figures["trips"] >= min_trips and figures["incidents"] <= max_incidents
    amount = version.amount_fen if earned else 0
    sentence = (
        f"{figures['trips']} trips (at least {min_trips} needed), {figures['incidents']} safety "
        f"incidents (at most {max_incidents} allowed): "
        + (
            f"the safety reward of {_yuan(amount)} {version.currency} is earned."
            if amount
            else "the safety reward is not earned."
        )
    )
    return amount, {
        "figures": {"trips": figures["trips"], "incidents": figures["incidents"]},
        "thresholds": {"min_trips": min_trips, "max_incidents": max_incidents},
        "sentence": sentence,
        "events": _evidence(figures, ("trips", "incidents")),
    }


def _skill_allowance(version: RuleVersion, credentials: list[dict]) -> tuple[int, dict]:
    per_level = {str(level): fen for level, fen in version.params["per_level_fen"].items()}
    parts, counted, amount = [], [], 0
    for credential in credentials:
        fen = per_level.get(str(credential["level"]), 0)
        if not fen:
            continue
        amount += fen
        counted.append({**credential, "amount_fen": fen})
        parts.append(
            f"certificate {credential['number']} (level {credential['level']}) "
            f"{_yuan(fen)} {version.currency}"
        )
    if amount:
        sentence = (
            f"{len(counted)} active certificate(s): {' + '.join(parts)} = "
            f"{_yuan(amount)} {version.currency}."
        )
    else:
        sentence = "No active certificate at a level this allowance pays for."
    return amount, {
        "figures": {
            "credentials": [
                {"number": c["number"], "level": c["level"], "amount_fen": c["amount_fen"]}
                for c in counted[:MAX_IDS]
            ],
            "credential_count": len(counted),
        },
        "thresholds": {"per_level_fen": per_level},
        "sentence": sentence,
        "credentials": {"count": len(counted), "ids": [c["id"] for c in counted[:MAX_IDS]]},
    }


def _compute(
    *, platform: Organization, period_start: date, period_end: date, versions
) -> list[dict]:
    _check_platform(platform)
    _check_period(period_start, period_end)
    if not versions:
        return []
    start, end = _bounds(period_start, period_end)
    drivers = _linked_drivers(platform, end)
    driver_ids = list(drivers.order_by("driver_id").values_list("driver_id", flat=True))
    kinds = {version.kind for version in versions}
    service = (
        _service_figures(platform, start, end, drivers)
        if kinds & {RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY}
        else {}
    )
    credentials = (
        _credentials_held(end, drivers) if RuleVersion.Kind.SKILL_ALLOWANCE in kinds else {}
    )
    lines = []
    for driver_id in driver_ids:
        for version in versions:
            if version.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
                amount, detail = _skill_allowance(version, credentials.get(driver_id, []))
            elif version.kind == RuleVersion.Kind.QUALITY:
                amount, detail = _quality(version, service.get(driver_id) or _empty_figures())
            else:
                amount, detail = _safety(version, service.get(driver_id) or _empty_figures())
            if amount <= 0:
                continue
            explanation = {
                "rule_version": {"id": version.pk, "name": version.name, "kind": version.kind},
                "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
                "amount_fen": amount,
                "currency": version.currency,
                **detail,
            }
            lines.append(
                {
                    "driver_id": driver_id,
                    "rule_version_id": version.pk,
                    "rule_version": version,
                    "amount_fen": amount,
                    "currency": version.currency,
                    "explanation": explanation,
                }
            )
    return lines


def compute_lines(*, platform: Organization, period_start: date, period_end: date) -> list[dict]:
    """What each driver linked at the end of the month earned under the versions that apply to
    it: dicts with driver_id, rule_version(_id), amount_fen, currency and explanation. Reads
    only; a fixed number of queries whatever the number of drivers."""
    return _compute(
        platform=platform,
        period_start=period_start,
        period_end=period_end,
        versions=applicable_versions(platform, period_start),
    )


def simulate(*, version: RuleVersion, period_start: date, period_end: date) -> list[dict]:
    """What ``version`` (published or not) would pay for that month. Writes nothing."""
    validate_rule(version.kind, version.params, version.amount_fen)
    return _compute(
        platform=version.platform,
        period_start=period_start,
        period_end=period_end,
        versions=[version],
    )


# --- runs ----------------------------------------------------------------------------------


def _create_lines(run: RewardRun) -> None:
    with transaction.atomic():
        run = RewardRun.objects.select_for_update().get(pk=run.pk)
        if run.lines_computed_at is not None:
            return
        computed = compute_lines(
            platform=run.platform, period_start=run.period_start, period_end=run.period_end
        )
        RewardLine.objects.bulk_create(
            [
                RewardLine(
                    run=run,
                    driver_id=line["driver_id"],
                    rule_version_id=line["rule_version_id"],
                    amount_fen=line["amount_fen"],
                    currency=line["currency"],
                    explanation=line["explanation"],
                )
                for line in computed
            ],
            ignore_conflicts=True,
        )
        RewardRun.objects.filter(pk=run.pk).update(lines_computed_at=timezone.now())


def _post_line(run: RewardRun, line: RewardLine, funding_accounts: dict) -> None:
    currency = line.currency
    if currency not in funding_accounts:
        funding_accounts[currency] = platform_funding_account(run.platform, currency)
    with transaction.atomic():
        posted = post_transaction(
            idempotency_key=f"reward:{run.pk}:{line.pk}",
            kind="reward",
            legs=[
                (funding_accounts[currency], -line.amount_fen),
                (driver_payable_account(line.driver, currency), line.amount_fen),
            ],
            description=(
                f"{line.rule_version.name}, {run.period_start:%Y-%m} "
                f"({line.rule_version.get_kind_display()})"
            ),
            metadata={
                "reward_run": run.pk,
                "reward_line": line.pk,
                "rule_version": line.rule_version_id,
                "period": run.period_start.strftime("%Y-%m"),
            },
        )
        RewardLine.objects.filter(pk=line.pk, transaction__isnull=True).update(transaction=posted)


def reward_run_execute(
    *, platform: Organization, period_start: date, period_end: date
) -> RewardRun:
    """Run (or resume) a platform's rewards for a month, and return the run.

    Idempotent and resumable: the lines are computed once (the first execution), each unposted
    line is posted under ``reward:{run}:{line}`` and remembered, so executing again after a
    crash — or after a finished run — posts nothing twice. When the platform's funding runs
    out the run stops, still ``running``, with ``last_error`` set, raising
    `RewardRunUnderfunded`; the lines posted so far stay posted.
    """
    _check_platform(platform)
    _check_period(period_start, period_end)
    run, _created = RewardRun.objects.get_or_create(
        platform=platform, period_start=period_start, period_end=period_end
    )
    if run.status == RewardRun.Status.FINISHED:
        return run
    _create_lines(run)
    funding_accounts: dict = {}
    pending = (
        run.lines.filter(transaction__isnull=True)
        .select_related("driver", "rule_version")
        .order_by("pk")
    )
    for line in pending:
        try:
            _post_line(run, line, funding_accounts)
        except InsufficientFunds as exc:
            remaining = run.lines.filter(transaction__isnull=True)
            needed = remaining.aggregate(total=Sum("amount_fen"))["total"] or 0
            funding = funding_accounts[line.currency]
            held = balance(funding)
            shortfall = needed - (held - (funding.floor_fen or 0))
            message = _(
                "Reward run for %(platform)s, %(period)s stopped: the platform’s funding "
                "holds %(held)s fen and the %(count)d lines not yet posted need %(needed)s fen. "
                "%(posted)d lines were posted and stay posted. Deposit at least %(shortfall)s "
                "fen and run it again."
            ) % {
                "platform": platform.name,
                "period": period_start.strftime("%Y-%m"),
                "held": held,
                "count": remaining.count(),
                "needed": needed,
                "posted": run.lines.filter(transaction__isnull=False).count(),
                "shortfall": max(shortfall, exc.shortfall_fen),
            }
            RewardRun.objects.filter(pk=run.pk).update(last_error=message)
            run.refresh_from_db()
            raise RewardRunUnderfunded(
                message,
                run=run,
                account=exc.account,
                shortfall_fen=max(shortfall, exc.shortfall_fen),
            ) from exc
    RewardRun.objects.filter(pk=run.pk).update(
        status=RewardRun.Status.FINISHED, finished_at=timezone.now(), last_error=""
    )
    run.refresh_from_db()
    return run


def reward_runs_due(today: date | None = None) -> list[tuple[Organization, date]]:
    """(platform, first day of last month) for every active platform whose run for last month
    is not finished, once ``REWARDS_RUN_AFTER_DAYS`` days of this month (China time) have passed:
    platforms send late events for a few days after a month ends."""
    today = today or timezone.localdate(timezone.now(), CHINA)
    if today.day <= settings.REWARDS_RUN_AFTER_DAYS:
        return []
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    finished = RewardRun.objects.filter(
        period_start=last_month, status=RewardRun.Status.FINISHED
    ).values("platform_id")
    return [
        (platform, last_month)
        for platform in Organization.objects.filter(kind=Organization.Kind.PLATFORM, is_active=True)
        .exclude(pk__in=finished)
        .order_by("pk")
    ]
