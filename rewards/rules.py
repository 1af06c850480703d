"""Reward rules and runs: write and publish rule versions, compute what drivers earned in a
month, and post it to the ledger exactly once.

Months are calendar months in China Standard Time (UTC+8): an event counts in the month its
``occurred_at`` falls in there, and "at the end of the period" is midnight (UTC+8) after the
last day. A run is idempotent and resumable: its lines are computed once, and each line is
posted under the key ``reward:{run}:{line}``, so running it again, or after a crash half-way,
posts nothing twice. Models and the rule semantics are in `rewards.models.rules`.

Trips made while a driver was online beyond the rest rules, and their ratings, count towards no
reward (quality, safety, tier): see `rewards.fatigue`; complaints and incidents always count.
A tier rule pays the amount of the highest tier whose trips and average rating the driver
reached. A skill allowance counts a credential only if the driver let the platform see their
credentials (a `credentials.models.ConsentGrant` active at the end of the period). Amounts above
the site's largest single reward, and notice below its minimum, are refused
(`rewards.policy.effective_policy`).
"""

import calendar
import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import platform_webhooks
from cms.audit import SYSTEM_COMMAND as SYSTEM_CALLER
from cms.audit import audit
from cms.models import Organization, User
from credentials.models import ConsentGrant, Credential
from rewards.fatigue import Fatigue, empty_fatigue, fatigue_for
from rewards.ledger import (
    DEFAULT_FLOORS,
    InsufficientFunds,
    _existing,
    _insufficient,
    balance,
    driver_payable_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import (
    Account,
    DriverLink,
    RewardLine,
    RewardRun,
    RuleVersion,
    ServiceEvent,
)
from rewards.models.rules import validate_rule
from rewards.policy import Policy, effective_policy

CHINA = ZoneInfo("Asia/Shanghai")
MAX_IDS = 50  # ids kept in an explanation, per kind of evidence (the counts are complete)
EDITABLE_FIELDS = ("name", "params", "amount_fen", "effective_from", "notice_days")
LINES_CHUNK = 2000  # computed lines stored per statement
RUN_BATCH_LINES = 1000  # lines posted per database transaction (PostgreSQL)


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


def _check_limits(platform: Organization, kind: str, params: dict, amount_fen, notice_days) -> None:
    """Refuse what the site's limits forbid (`rewards.policy.effective_policy`): any single
    amount above ``max_reward_fen`` (the fixed reward, a level's allowance, a tier's amount) and
    a notice shorter than ``min_notice_days``. Run after `validate_rule`."""
    policy = effective_policy(platform)
    top = policy.max_reward_fen
    errors: dict[str, list[str]] = {}

    def too_much(fen) -> bool:
        return type(fen) is int and fen > top

    if too_much(amount_fen):
        errors["amount_fen"] = [
            _(
                "%(fen)d fen is more than the largest single reward operators allow, "
                "%(max)d fen (%(yuan)s yuan)."
            )
            % {"fen": amount_fen, "max": top, "yuan": _yuan(top)}
        ]
    if kind == RuleVersion.Kind.SKILL_ALLOWANCE:
        for level, fen in sorted(params.get("per_level_fen", {}).items()):
            if too_much(fen):
                errors.setdefault("params", []).append(
                    _(
                        "Level %(level)s pays %(fen)d fen, more than the largest single reward "
                        "operators allow, %(max)d fen (%(yuan)s yuan)."
                    )
                    % {"level": level, "fen": fen, "max": top, "yuan": _yuan(top)}
                )
    elif kind == RuleVersion.Kind.TIER:
        for tier in params.get("tiers", []):
            if too_much(tier.get("amount_fen")):
                errors.setdefault("params", []).append(
                    _(
                        "Tier “%(name)s” pays %(fen)d fen, more than the largest single reward "
                        "operators allow, %(max)d fen (%(yuan)s yuan)."
                    )
                    % {
                        "name": tier.get("name"),
                        "fen": tier["amount_fen"],
                        "max": top,
                        "yuan": _yuan(top),
                    }
                )
    if type(notice_days) is not int or notice_days < 0:
        errors["notice_days"] = [_("The notice is a whole number of days.")]
    elif notice_days < policy.min_notice_days:
        errors["notice_days"] = [
            _(
                "Drivers get at least %(min)d days’ notice of a rule (the operators’ limit), "
                "not %(days)d."
            )
            % {"min": policy.min_notice_days, "days": notice_days}
        ]
    if errors:
        raise ValidationError(errors)


def rule_version_create(
    *,
    platform: Organization,
    kind: str,
    name: str,
    params: dict,
    effective_from: date,
    amount_fen: int | None = None,
    currency: str = "CNY",
    notice_days: int | None = None,
    created_by: User | None = None,
    supersedes: RuleVersion | None = None,
) -> RuleVersion:
    """A draft version of a platform's rule (unpublished: it applies to nothing yet).
    ``notice_days`` None: the platform's effective notice (`rewards.policy.effective_policy`);
    amounts above the site's largest reward and notice below its minimum are refused."""
    _check_platform(platform)
    _check_actor(created_by, platform)
    validate_rule(kind, params, amount_fen)
    if notice_days is None:
        notice_days = effective_policy(platform).notice_days
    _check_limits(platform, kind, params, amount_fen, notice_days)
    if supersedes is not None:
        if supersedes.platform_id != platform.pk or supersedes.kind != kind:
            raise ValidationError(
                {"supersedes": _("A version supersedes a version of the same platform’s rule.")}
            )
        if supersedes.published_at is None:
            raise ValidationError(
                {"supersedes": _("Only a published version is superseded; edit the draft.")}
            )
    with transaction.atomic():
        version = RuleVersion.objects.create(
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
        audit(
            "roadwise.rule_version.create",
            version,
            user=created_by,
            actor_label=None if created_by else SYSTEM_CALLER,
            data={
                "platform": platform.slug,
                **_audited(version),
                "supersedes": supersedes.pk if supersedes else None,
            },
        )
    return version


# What a rule version's audit entries show of it (the fields a draft edit may change, and more).
def _audited(version: RuleVersion) -> dict:
    return {
        "kind": version.kind,
        "name": version.name,
        "params": version.params,
        "amount_fen": version.amount_fen,
        "currency": version.currency,
        "effective_from": version.effective_from,
        "notice_days": version.notice_days,
    }


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
        before = _audited(current)
        for field, value in changes.items():
            setattr(current, field, value)
        validate_rule(current.kind, current.params, current.amount_fen)
        _check_limits(
            current.platform, current.kind, current.params, current.amount_fen, current.notice_days
        )
        current.save()
        after = _audited(current)
        audit(
            "roadwise.rule_version.edit",
            current,
            user=actor,
            actor_label=None if actor else SYSTEM_CALLER,
            data={
                "platform": current.platform.slug,
                "changed": {
                    field: {"before": before[field], "after": after[field]}
                    for field in after
                    if before[field] != after[field]
                },
            },
        )
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
        _check_limits(
            current.platform, current.kind, current.params, current.amount_fen, current.notice_days
        )
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
        audit(
            "roadwise.rule_version.publish",
            current,
            user=actor,
            actor_label=None if actor else SYSTEM_CALLER,
            data={
                "platform": current.platform.slug,
                **_audited(current),
                "supersedes": current.supersedes_id,
            },
        )
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


def _service_figures(platform, start, end, drivers, extra_ids: int = 0) -> dict[int, dict]:
    """Per driver: counts of trips, ratings, upheld complaints and incidents, the ratings' sum,
    and up to MAX_IDS (+ ``extra_ids``, to make up for excluded ones) event ids of each. Two
    queries, whatever the number of drivers."""
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
        .filter(row__lte=MAX_IDS + extra_ids)
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


def _counted(figures: dict, fatigue: Fatigue) -> dict:
    """``figures`` without the trips and ratings the fatigue guard excluded (complaints and
    incidents always count)."""
    if not fatigue.excluded_anything:
        return figures
    trip_ids, rating_ids = fatigue.all_excluded_trip_ids, fatigue.all_excluded_rating_ids
    return {
        **figures,
        "trips": figures["trips"] - fatigue.excluded_trips,
        "ratings": figures["ratings"] - fatigue.excluded_ratings,
        "rating_sum": figures["rating_sum"] - fatigue.excluded_rating_sum,
        "ids": {
            **figures["ids"],
            "trips": [pk for pk in figures["ids"]["trips"] if pk not in trip_ids],
            "ratings": [pk for pk in figures["ids"]["ratings"] if pk not in rating_ids],
        },
    }


def _credentials_held(platform: Organization, end: datetime, drivers) -> dict[int, list[dict]]:
    """Per driver: the credentials active at ``end`` (not suspended or revoked, issued before
    and not expired by then), at most one per course — only for drivers who let the platform
    see their credentials (a `ConsentGrant` active at ``end``). One query."""
    consent = ConsentGrant.objects.filter(
        holder_id=OuterRef("holder_id"), platform=platform, granted_at__lt=end
    ).filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=end))
    held: dict[int, list[dict]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for row in (
        Credential.objects.filter(
            holder_id__in=drivers, status=Credential.Status.ACTIVE, issued_at__lt=end
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=end))
        .filter(Exists(consent))
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


def _rating_met(figures: dict, min_rating: Decimal) -> bool:
    # Exact: the sum of ratings against the threshold times their number, no rounding.
    return figures["ratings"] > 0 and Decimal(figures["rating_sum"]) >= (
        min_rating * figures["ratings"]
    )


def _evidence(figures: dict, names) -> dict:
    return {name: {"count": figures[name], "ids": figures["ids"][name][:MAX_IDS]} for name in names}


def _with_fatigue(detail: dict, fatigue: Fatigue, lost: str) -> dict:
    """Add the fatigue guard to an explanation: its figures, and a sentence when it took trips or
    ratings out (``lost``: what it cost the driver, "" when nothing)."""
    detail["fatigue"] = fatigue.as_explanation()
    detail["lost_to_fatigue"] = bool(lost)
    extra = fatigue.sentence()
    if extra:
        detail["sentence"] += " " + extra
    if lost:
        detail["sentence"] += " " + lost
    return detail


def _quality_amount(version: RuleVersion, figures: dict) -> int:
    params = version.params
    checks = [
        figures["trips"] >= params["min_trips"],
        _rating_met(figures, Decimal(str(params["min_average_rating"]))),
        figures["upheld_complaints"] <= params["max_upheld_complaints"],
    ]
    return version.amount_fen if all(checks) else 0


def _quality(version: RuleVersion, raw: dict, fatigue: Fatigue) -> tuple[int, dict]:
    figures = _counted(raw, fatigue)
    params = version.params
    min_trips = params["min_trips"]
    min_rating = Decimal(str(params["min_average_rating"]))
    max_upheld = params["max_upheld_complaints"]
    average = _average(figures)
    amount = _quality_amount(version, figures)
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
    lost = ""
    if not amount and _quality_amount(version, raw):
        lost = "Had they counted, the quality reward would have been earned."
    return amount, _with_fatigue(
        {
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
        },
        fatigue,
        lost,
    )


def _safety(version: RuleVersion, raw: dict, fatigue: Fatigue) -> tuple[int, dict]:
    figures = _counted(raw, fatigue)
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
    lost = ""
    if not amount and raw["trips"] >= min_trips and raw["incidents"] <= max_incidents:
        lost = "Had they counted, the safety reward would have been earned."
    return amount, _with_fatigue(
        {
            "figures": {"trips": figures["trips"], "incidents": figures["incidents"]},
            "thresholds": {"min_trips": min_trips, "max_incidents": max_incidents},
            "sentence": sentence,
            "events": _evidence(figures, ("trips", "incidents")),
        },
        fatigue,
        lost,
    )


def _tiers(version: RuleVersion) -> list[dict]:
    return [
        {
            "name": tier["name"],
            "min_trips": tier["min_trips"],
            "min_average_rating": str(Decimal(str(tier["min_average_rating"]))),
            "amount_fen": tier["amount_fen"],
        }
        for tier in version.params["tiers"]
    ]


def _tier_reached(tiers: list[dict], figures: dict) -> int | None:
    """The index of the highest tier whose thresholds ``figures`` meet, or None."""
    reached = None
    for index, tier in enumerate(tiers):
        if figures["trips"] >= tier["min_trips"] and _rating_met(
            figures, Decimal(tier["min_average_rating"])
        ):
            reached = index
    return reached


def _tier(version: RuleVersion, raw: dict, fatigue: Fatigue) -> tuple[int, dict]:
    figures = _counted(raw, fatigue)
    tiers = _tiers(version)
    average = _average(figures)
    shown_average = "none" if average is None else str(average)
    index = _tier_reached(tiers, figures)
    reached = None if index is None else tiers[index]
    amount = 0 if reached is None else reached["amount_fen"]
    sentence = (
        f"{figures['trips']} trips, average rating {shown_average} from {figures['ratings']} "
        "ratings: "
    )
    if reached is None:
        lowest = tiers[0]
        sentence += (
            f"no tier reached (the first, {lowest['name']}, needs {lowest['min_trips']} trips "
            f"and an average rating of at least {lowest['min_average_rating']})."
        )
    else:
        sentence += (
            f"tier {reached['name']} reached, {_yuan(amount)} {version.currency} "
            f"(at least {reached['min_trips']} trips and an average rating of at least "
            f"{reached['min_average_rating']})."
        )
    following = tiers[0] if index is None else (tiers[index + 1 :] or [None])[0]
    next_tier = None
    if following is not None:
        more_trips = max(following["min_trips"] - figures["trips"], 0)
        rating_short = not _rating_met(figures, Decimal(following["min_average_rating"]))
        next_tier = {
            **following,
            "missing": {
                "trips": more_trips,
                "average_rating": following["min_average_rating"] if rating_short else None,
            },
        }
        wanted = []
        if more_trips:
            wanted.append(f"{more_trips} more {'trip' if more_trips == 1 else 'trips'}")
        if rating_short:
            wanted.append(
                f"an average rating of at least {following['min_average_rating']} "
                f"(now {shown_average})"
            )
        if wanted:
            text = " and ".join(wanted)
            sentence += f" {text[0].upper()}{text[1:]} for {following['name']}."
    elif reached is not None:
        sentence += " This is the highest tier."
    lost = ""
    raw_index = _tier_reached(tiers, raw)
    if raw_index is not None and (index is None or raw_index > index):
        lost = f"Had they counted, tier {tiers[raw_index]['name']} would have been reached."
    return amount, _with_fatigue(
        {
            "figures": {
                "trips": figures["trips"],
                "ratings": figures["ratings"],
                "average_rating": None if average is None else str(average),
            },
            "thresholds": {"tiers": tiers},
            "tier": reached,
            "next_tier": next_tier,
            "sentence": sentence,
            "events": _evidence(figures, ("trips", "ratings")),
        },
        fatigue,
        lost,
    )


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
        sentence = (
            "No active certificate at a level this allowance pays for that the driver let the "
            "platform see (an allowance needs the driver’s consent at the end of the month)."
        )
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


SERVICE_KINDS = {RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY, RuleVersion.Kind.TIER}
BY_SERVICE = {
    RuleVersion.Kind.QUALITY: _quality,
    RuleVersion.Kind.SAFETY: _safety,
    RuleVersion.Kind.TIER: _tier,
}


def _compute(**kwargs) -> list[dict]:
    return list(_iter_compute(**kwargs))


def _iter_compute(
    *,
    platform: Organization,
    period_start: date,
    period_end: date,
    versions,
    include_unpaid: bool = False,
    policy: Policy | None = None,
    only_drivers: list[int] | None = None,
):
    """The lines, one by one (driver by driver): a caller that stores them as they come never
    holds every explanation at once."""
    _check_platform(platform)
    _check_period(period_start, period_end)
    if not versions:
        return
    start, end = _bounds(period_start, period_end)
    drivers = _linked_drivers(platform, end)
    if only_drivers is not None:
        drivers = drivers.filter(driver_id__in=only_drivers)
    driver_ids = list(drivers.order_by("driver_id").values_list("driver_id", flat=True))
    kinds = {version.kind for version in versions}
    service: dict[int, dict] = {}
    fatigue: dict[int, Fatigue] = {}
    no_fatigue = None
    if kinds & SERVICE_KINDS and driver_ids:
        policy = policy or effective_policy(platform)
        no_fatigue = empty_fatigue(policy)
        fatigue = fatigue_for(
            platform=platform, driver_ids=drivers, start=start, end=end, policy=policy
        )
        extra = max(
            (max(f.excluded_trips, f.excluded_ratings) for f in fatigue.values()), default=0
        )
        service = _service_figures(platform, start, end, drivers, extra_ids=extra)
    credentials = (
        _credentials_held(platform, end, drivers)
        if RuleVersion.Kind.SKILL_ALLOWANCE in kinds and driver_ids
        else {}
    )
    for driver_id in driver_ids:
        for version in versions:
            if version.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
                amount, detail = _skill_allowance(version, credentials.get(driver_id, []))
            else:
                amount, detail = BY_SERVICE[version.kind](
                    version,
                    service.get(driver_id) or _empty_figures(),
                    fatigue.get(driver_id) or no_fatigue,
                )
            if amount <= 0 and not include_unpaid:
                continue
            explanation = {
                "rule_version": {"id": version.pk, "name": version.name, "kind": version.kind},
                "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
                "amount_fen": amount,
                "currency": version.currency,
                **detail,
            }
            yield {
                "driver_id": driver_id,
                "rule_version_id": version.pk,
                "rule_version": version,
                "amount_fen": amount,
                "currency": version.currency,
                "explanation": explanation,
            }


def compute_lines(
    *,
    platform: Organization,
    period_start: date,
    period_end: date,
    include_unpaid: bool = False,
) -> list[dict]:
    """What each driver linked at the end of the month earned under the versions that apply to
    it: dicts with driver_id, rule_version(_id), amount_fen, currency and explanation (only
    the lines that pay something, unless ``include_unpaid``: then every driver × version, with
    the explanation of why nothing is paid). The fatigue guard (`rewards.fatigue`) applies.
    Reads only; a fixed number of queries whatever the number of drivers."""
    return _compute(
        platform=platform,
        period_start=period_start,
        period_end=period_end,
        versions=applicable_versions(platform, period_start),
        include_unpaid=include_unpaid,
    )


def explain_driver(*, platform: Organization, period_start: date, driver_id: int) -> list[dict]:
    """For one driver, every version in effect that month, paid or not, with its explanation
    computed from the data as it stands now (the statement's "why not earned"). Reads only."""
    return _compute(
        platform=platform,
        period_start=period_start,
        period_end=month_end(period_start),
        versions=applicable_versions(platform, period_start),
        include_unpaid=True,
        only_drivers=[driver_id],
    )


def simulate(
    *,
    version: RuleVersion,
    period_start: date,
    period_end: date,
    include_unpaid: bool = False,
) -> list[dict]:
    """What ``version`` (published or not) would pay for that month, the fatigue guard
    applied. Writes nothing."""
    validate_rule(version.kind, version.params, version.amount_fen)
    return _compute(
        platform=version.platform,
        period_start=period_start,
        period_end=period_end,
        versions=[version],
        include_unpaid=include_unpaid,
    )


# --- runs ----------------------------------------------------------------------------------


def _create_lines(run: RewardRun) -> None:
    """Compute the run's lines and store them, once (under the run's row lock, with
    ``lines_computed_at`` in the same transaction), ``LINES_CHUNK`` at a time as they are
    computed: memory does not grow with the number of drivers."""
    with transaction.atomic():
        run = RewardRun.objects.select_for_update().get(pk=run.pk)
        if run.lines_computed_at is not None:
            return
        computed = _iter_compute(
            platform=run.platform,
            period_start=run.period_start,
            period_end=run.period_end,
            versions=applicable_versions(run.platform, run.period_start),
        )
        chunk: list[dict] = []
        for line in computed:
            chunk.append(line)
            if len(chunk) == LINES_CHUNK:
                _store_lines(run, chunk)
                chunk = []
        _store_lines(run, chunk)
        RewardRun.objects.filter(pk=run.pk).update(lines_computed_at=timezone.now())


def _store_lines(run: RewardRun, lines: list[dict]) -> None:
    if not lines:
        return
    if connection.vendor == "postgresql":
        # COPY: the lines are new (computed once, under the run's lock), and a plain INSERT of
        # tens of thousands of JSON explanations costs more than computing them.
        now = timezone.now()
        table = RewardLine._meta.db_table
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} (run_id, driver_id, rule_version_id, amount_fen, currency,"
                " explanation, created_at) FROM STDIN"
            ) as copy,
        ):
            for line in lines:
                copy.write_row(
                    (
                        run.pk,
                        line["driver_id"],
                        line["rule_version_id"],
                        line["amount_fen"],
                        line["currency"],
                        json.dumps(line["explanation"]),
                        now,
                    )
                )
        return
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
            for line in lines
        ],
        ignore_conflicts=True,
    )


class _Posting:
    """What a run needs, read once: the platform's funding accounts, how each rule version
    describes its postings, and who listens for `reward.posted`."""

    def __init__(self, run: RewardRun):
        self.run = run
        self.period = run.period_start.strftime("%Y-%m")
        self.funding: dict[str, Account] = {}
        self.descriptions: dict[int, str] = {}
        self.versions = {
            version.pk: version
            for version in RuleVersion.objects.filter(
                pk__in=run.lines.values("rule_version_id").distinct()
            )
        }
        self.subscriptions = platform_webhooks.webhook_subscriptions(
            run.platform_id, platform_webhooks.EVENT_REWARD_POSTED
        )

    def funding_account(self, currency: str) -> Account:
        if currency not in self.funding:
            self.funding[currency] = platform_funding_account(self.run.platform, currency)
        return self.funding[currency]

    def description(self, rule_version_id: int) -> str:
        if rule_version_id not in self.descriptions:
            version = self.versions[rule_version_id]
            self.descriptions[rule_version_id] = (
                f"{version.name}, {self.run.period_start:%Y-%m} ({version.get_kind_display()})"
            )
        return self.descriptions[rule_version_id]

    def notify(self, posted: list[tuple[int, int, int, int, str]]) -> None:
        """`reward.posted` to the paying platform, and no other, for each (line, driver, rule
        version, amount, currency) posted: inside the transaction that posted them."""
        if not self.subscriptions or not posted:
            return
        references = platform_webhooks.driver_references(
            self.run.platform_id, {driver_id for _l, driver_id, _v, _a, _c in posted}
        )
        platform_webhooks.webhook_emit_many(
            self.subscriptions,
            platform_webhooks.EVENT_REWARD_POSTED,
            [
                {
                    "driver": references[driver_id],
                    "reward": {
                        "id": f"reward:{self.run.pk}:{line_id}",
                        "kind": self.versions[version_id].kind,
                        "amount_fen": amount,
                        "currency": currency,
                        "month": self.period,
                    },
                }
                for line_id, driver_id, version_id, amount, currency in posted
            ],
        )


class _Short(Exception):
    """A batch stopped at a line its platform's funding could not pay (what was before it in
    the batch is posted)."""

    def __init__(self, refused: InsufficientFunds, currency: str):
        super().__init__(str(refused))
        self.refused = refused
        self.currency = currency


def _post_line(posting: _Posting, line: RewardLine) -> None:
    """One line, in its own transaction: the portable path (SQLite)."""
    run = posting.run
    with transaction.atomic():
        try:
            posted = post_transaction(
                idempotency_key=f"reward:{run.pk}:{line.pk}",
                kind="reward",
                legs=[
                    (posting.funding_account(line.currency), -line.amount_fen),
                    (driver_payable_account(line.driver, line.currency), line.amount_fen),
                ],
                description=posting.description(line.rule_version_id),
                metadata={
                    "reward_run": run.pk,
                    "reward_line": line.pk,
                    "rule_version": line.rule_version_id,
                    "period": posting.period,
                },
            )
        except InsufficientFunds as exc:
            raise _Short(exc, line.currency) from exc
        if RewardLine.objects.filter(pk=line.pk, transaction__isnull=True).update(
            transaction=posted
        ):
            posting.notify(
                [(line.pk, line.driver_id, line.rule_version_id, line.amount_fen, line.currency)]
            )


def _post_batch(posting: _Posting, ids: list[int]) -> None:
    """Post the lines ``ids`` (one batch, in pk order) set-based, in one database transaction
    (PostgreSQL): a crash loses the whole batch and nothing of it, and the next execution posts
    it again under the same keys. Every posting locks the accounts it changes in pk order (as
    ``rewards_ledger_post`` does), so a batch never deadlocks with single postings."""
    with connection.cursor() as cursor:
        # The drivers' accounts, opened first in their own statement: the batch's transaction
        # then only waits for the funding, never holds new rows another batch waits for.
        cursor.execute(
            """
            INSERT INTO rewards_account (code, kind, currency, user_id, floor_fen, created_at,
                                         balance_fen)
            SELECT DISTINCT 'driver:' || u.public_id::text || ':payable:' || l.currency,
                   %s, l.currency, l.driver_id, %s, %s, 0
            FROM rewards_rewardline l JOIN cms_user u ON u.id = l.driver_id
            WHERE l.id = ANY(%s)
            ON CONFLICT (code) DO NOTHING
            """,
            [
                Account.Kind.DRIVER_PAYABLE,
                DEFAULT_FLOORS[Account.Kind.DRIVER_PAYABLE],
                timezone.now(),
                ids,
            ],
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.id, l.driver_id, l.rule_version_id, l.amount_fen, l.currency, a.id
            FROM rewards_rewardline l JOIN cms_user u ON u.id = l.driver_id
            JOIN rewards_account a
              ON a.code = 'driver:' || u.public_id::text || ':payable:' || l.currency
            WHERE l.id = ANY(%s) ORDER BY l.id
            """,
            [ids],
        )
        lines = cursor.fetchall()
        funding = {currency: posting.funding_account(currency) for *_x, currency, _a in lines}
        held = _lock_accounts(
            cursor, {row[5] for row in lines}, {account.pk for account in funding.values()}
        )
        # Under the locks: what a concurrent execution of this run has not posted meanwhile.
        cursor.execute(
            "SELECT id FROM rewards_rewardline WHERE id = ANY(%s) AND transaction_id IS NULL",
            [ids],
        )
        unposted = {pk for (pk,) in cursor.fetchall()}
        lines = [row for row in lines if row[0] in unposted]
        # The floor, once for the batch: the longest prefix the funding pays, in pk order (the
        # lines a run posting one at a time would have posted before stopping).
        left = {
            currency: held[account.pk][0] - held[account.pk][1]
            if held[account.pk][1] is not None
            else None
            for currency, account in funding.items()
        }
        short = None
        for index, (_line, _driver, _version, amount, currency, _account) in enumerate(lines):
            if left[currency] is not None:
                if amount > left[currency]:
                    account = funding[currency]
                    balance_fen, floor_fen = held[account.pk]
                    now_held = floor_fen + left[currency]
                    short = _Short(
                        _insufficient(account, now_held, amount - left[currency], floor_fen),
                        currency,
                    )
                    lines = lines[:index]
                    break
                left[currency] -= amount
        if lines:
            for currency, account in funding.items():
                spent = sum(row[3] for row in lines if row[4] == currency)
                if spent:  # the batch's debit goes to slice 0, which now holds it
                    cursor.execute("SELECT rewards_ledger_rebalance(%s, %s)", [account.pk, -spent])
            _insert_postings(posting, cursor, lines, funding)
    if short is not None:
        raise short


def _lock_accounts(cursor, accounts: set[int], funding: set[int]) -> dict[int, tuple]:
    """Lock the batch's accounts in (account id, slice) order, as every posting does: rows of
    other accounts, every slice of a platform's funding (migration 0007). Returns the funding
    accounts' (balance, floor)."""
    held: dict[int, tuple] = {}
    segment: list[int] = []

    def lock_segment():
        if segment:
            cursor.execute(
                "SELECT id FROM rewards_account WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [segment],
            )
            segment.clear()

    for pk in sorted(accounts | funding):
        if pk in funding:
            lock_segment()
            cursor.execute(
                "SELECT rewards_ledger_rebalance(id, 0), floor_fen FROM rewards_account"
                " WHERE id = %s",
                [pk],
            )
            held[pk] = cursor.fetchone()
        else:
            segment.append(pk)
    lock_segment()
    return held


def _insert_postings(posting: _Posting, cursor, lines: list[tuple], funding: dict) -> None:
    run = posting.run
    keys = [f"reward:{run.pk}:{line[0]}" for line in lines]
    posted_at = timezone.now()
    cursor.execute(
        """
        INSERT INTO rewards_transaction (idempotency_key, kind, description, posted_at, metadata)
        SELECT x.key, 'reward', x.description, %s,
               jsonb_build_object('reward_run', %s::bigint, 'reward_line', x.line,
                                  'rule_version', x.version, 'period', %s::text)
        FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
             WITH ORDINALITY AS x(key, description, line, version, n)
        ORDER BY x.n
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, idempotency_key
        """,
        [
            posted_at,
            run.pk,
            posting.period,
            keys,
            [posting.description(line[2]) for line in lines],
            [line[0] for line in lines],
            [line[2] for line in lines],
        ],
    )
    created = {key: pk for pk, key in cursor.fetchall()}
    transaction_ids = []
    for key, (_line, _driver, _version, amount, currency, account_id) in zip(
        keys, lines, strict=True
    ):
        if key not in created:
            # Posted under this key before, yet not linked to its line: the same legs, or
            # the key was used for something else.
            transaction_ids.append(
                _existing(
                    idempotency_key=key,
                    kind="reward",
                    legs=[(funding[currency], -amount), (Account(pk=account_id), amount)],
                    reverses=None,
                ).pk
            )
        else:
            transaction_ids.append(created[key])
    new_ids = set(created.values())
    new = [(t, line) for t, line in zip(transaction_ids, lines, strict=True) if t in new_ids]
    cursor.execute(
        """
        INSERT INTO rewards_entry (transaction_id, account_id, amount_fen, currency, posted_at)
        SELECT x.t, x.a, x.m, x.c, %s
        FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[]) AS x(t, a, m, c)
        """,
        [
            posted_at,
            [t for t, _line in new for _side in (0, 1)],
            [a for _t, line in new for a in (funding[line[4]].pk, line[5])],
            [m for _t, line in new for m in (-line[3], line[3])],
            [line[4] for _t, line in new for _side in (0, 1)],
        ],
    )
    cursor.execute(
        """
        UPDATE rewards_rewardline l SET transaction_id = x.t
        FROM unnest(%s::bigint[], %s::bigint[]) AS x(l, t)
        WHERE l.id = x.l AND l.transaction_id IS NULL
        RETURNING l.id
        """,
        [[line[0] for line in lines], transaction_ids],
    )
    linked = {pk for (pk,) in cursor.fetchall()}
    posting.notify([line[:5] for line in lines if line[0] in linked])


def reward_run_execute(
    *, platform: Organization, period_start: date, period_end: date
) -> RewardRun:
    """Run (or resume) a platform's rewards for a month, and return the run.

    Idempotent and resumable: the lines are computed once (the first execution), each unposted
    line is posted under ``reward:{run}:{line}`` and remembered, so executing again after a
    crash — or after a finished run — posts nothing twice. On PostgreSQL the lines are posted
    ``RUN_BATCH_LINES`` at a time, each batch in one database transaction (set-based: one lock
    of the funding, one floor check); elsewhere one by one. When the platform's funding runs
    out the run stops, still ``running``, with ``last_error`` set, raising
    `RewardRunUnderfunded`; the lines posted so far (those before the first line the funding
    could not pay) stay posted.
    """
    _check_platform(platform)
    _check_period(period_start, period_end)
    run, _created = RewardRun.objects.get_or_create(
        platform=platform, period_start=period_start, period_end=period_end
    )
    if run.status == RewardRun.Status.FINISHED:
        return run
    _create_lines(run)
    posting = _Posting(run)
    batched = connection.vendor == "postgresql"
    after = 0
    try:
        while True:
            pending = run.lines.filter(transaction__isnull=True, pk__gt=after).order_by("pk")
            if batched:
                ids = list(pending.values_list("pk", flat=True)[:RUN_BATCH_LINES])
                if not ids:
                    break
                after = ids[-1]
                _post_batch(posting, ids)
            else:
                lines = list(
                    pending.select_related("driver").defer("explanation")[:RUN_BATCH_LINES]
                )
                if not lines:
                    break
                after = lines[-1].pk
                for line in lines:
                    _post_line(posting, line)
    except _Short as short:
        raise _underfunded(run, posting, short) from short.refused
    RewardRun.objects.filter(pk=run.pk).update(
        status=RewardRun.Status.FINISHED, finished_at=timezone.now(), last_error=""
    )
    run.refresh_from_db()
    return run


def _underfunded(run: RewardRun, posting: _Posting, short: _Short) -> RewardRunUnderfunded:
    exc = short.refused
    platform = run.platform
    remaining = run.lines.filter(transaction__isnull=True)
    needed = remaining.aggregate(total=Sum("amount_fen"))["total"] or 0
    funding = posting.funding_account(short.currency)
    held = balance(funding)
    shortfall = needed - (held - (funding.floor_fen or 0))
    message = _(
        "Reward run for %(platform)s, %(period)s stopped: the platform’s funding "
        "holds %(held)s fen and the %(count)d lines not yet posted need %(needed)s fen. "
        "%(posted)d lines were posted and stay posted. Deposit at least %(shortfall)s "
        "fen and run it again."
    ) % {
        "platform": platform.name,
        "period": run.period_start.strftime("%Y-%m"),
        "held": held,
        "count": remaining.count(),
        "needed": needed,
        "posted": run.lines.filter(transaction__isnull=False).count(),
        "shortfall": max(shortfall, exc.shortfall_fen),
    }
    RewardRun.objects.filter(pk=run.pk).update(last_error=message)
    run.refresh_from_db()
    return RewardRunUnderfunded(
        message,
        run=run,
        account=exc.account,
        shortfall_fen=max(shortfall, exc.shortfall_fen),
    )


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
