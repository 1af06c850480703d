"""A driver's monthly compensation statement: what they earned for a month, per platform, and
how their account moved in it.

``statement_build(driver=..., period_start=...)`` reads only. Months are calendar months in
China Standard Time (`rewards.rules`). Money is integer fen throughout; `Money` formats it as
¥1,234.56 without ever going through a float.

Explanations are rendered from the structured ``figures``/``thresholds``/``fatigue`` of a reward
line's explanation, in the active language (`explanation_lines`); the stored English
``sentence`` is an audit record for operators only. All text of a `Statement` is produced in
the language active when it is built.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cms.models import Organization, User
from credentials.models import ConsentGrant, Credential
from rewards import ledger, payouts, rules
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

ADJUSTING_KINDS = (Transaction.Kind.ADJUSTMENT, Transaction.Kind.REVERSAL)
EARLIEST_YEAR = 2000


# --- money and months ----------------------------------------------------------------------


def format_money(fen: int, currency: str = "CNY", *, signed: bool = False) -> str:
    """12345 → "¥123.45", -5 → "-¥0.05", 123456789 → "¥1,234,567.89"; integer arithmetic only.
    ``signed`` puts "+" before a positive amount. Other currencies: "123.45 USD"."""
    if type(fen) is not int:
        raise TypeError(f"money is a whole number of fen, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ("+" if signed and fen > 0 else "")
    whole, cents = divmod(abs(fen), 100)
    number = f"{whole:,}.{cents:02d}"
    if currency == "CNY":
        return f"{sign}¥{number}"
    return f"{sign}{number} {currency}"


@dataclass(frozen=True)
class Money:
    fen: int
    currency: str = "CNY"

    def __str__(self) -> str:
        return format_money(self.fen, self.currency)

    @property
    def signed(self) -> str:
        return format_money(self.fen, self.currency, signed=True)

    @property
    def is_negative(self) -> bool:
        return self.fen < 0


def _totals(amounts) -> list[Money]:
    """[(fen, currency), ...] → one Money per currency, CNY first."""
    sums: dict[str, int] = defaultdict(int)
    for fen, currency in amounts:
        sums[currency or "CNY"] += fen
    return [Money(sums[c], c) for c in sorted(sums, key=lambda c: (c != "CNY", c))]


def parse_month(value: str) -> date | None:
    """ "2026-10" → date(2026, 10, 1); anything else (or a year before 2000) → None."""
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-":
        return None
    year, month = value[:4], value[5:]
    if not (year.isdigit() and month.isdigit() and year.isascii() and month.isascii()):
        return None
    year, month = int(year), int(month)
    if year < EARLIEST_YEAR or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def month_key(period_start: date) -> str:
    return period_start.strftime("%Y-%m")


def month_label(period_start: date) -> str:
    """ "2026年10月" / "October 2026", in the active language."""
    return formats.date_format(period_start, "YEAR_MONTH_FORMAT")


def this_month() -> date:
    return timezone.localdate(timezone.now(), CHINA).replace(day=1)


def _next_month(period_start: date) -> date:
    return (period_start + timedelta(days=32)).replace(day=1)


def _china_month(moment: datetime) -> date:
    return timezone.localtime(moment, CHINA).date().replace(day=1)


def runs_start_on(period_start: date) -> date:
    """The first day a month's reward runs may start: after day ``REWARDS_RUN_AFTER_DAYS`` of
    the next month (platforms send late events for a few days; see `reward_runs_due`)."""
    return _next_month(period_start) + timedelta(days=settings.REWARDS_RUN_AFTER_DAYS)


def first_month(driver: User) -> date | None:
    """The month of the driver's first platform link (or first ledger entry), if any."""
    moments = [
        DriverLink.objects.filter(driver=driver)
        .order_by("linked_at")
        .values_list("linked_at", flat=True)
        .first(),
        Entry.objects.filter(account__user=driver)
        .order_by("posted_at")
        .values_list("posted_at", flat=True)
        .first(),
    ]
    moments = [moment for moment in moments if moment is not None]
    return _china_month(min(moments)) if moments else None


# --- explanations --------------------------------------------------------------------------


def _level_label(level) -> str:
    from courses.models.pages import CourseLevel

    try:
        return str(CourseLevel(int(level)).label)
    except (TypeError, ValueError):
        return str(level)


def _int(value) -> int | None:
    return value if type(value) is int else None


def _hours_minutes(minutes: int) -> str:
    hours, rest = divmod(max(minutes, 0), 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": rest}


def fatigue_sentence(excluded_trips: int, excluded_minutes: int) -> str:
    if not excluded_trips:
        return _(
            "%(time)s online beyond the rest rules did not count towards rewards (no trips were "
            "made then)."
        ) % {"time": _hours_minutes(excluded_minutes)}
    return ngettext(
        "%(count)d trip made during %(time)s online beyond the rest rules did not count "
        "towards rewards.",
        "%(count)d trips made during %(time)s online beyond the rest rules did not count "
        "towards rewards.",
        excluded_trips,
    ) % {"count": excluded_trips, "time": _hours_minutes(excluded_minutes)}


def _trips_line(figures: dict, thresholds: dict) -> str | None:
    trips, minimum = _int(figures.get("trips")), _int(thresholds.get("min_trips"))
    if trips is None:
        return None
    if minimum is None:
        return ngettext("%(count)d trip.", "%(count)d trips.", trips) % {"count": trips}
    return ngettext(
        "%(count)d trip (at least %(min)d needed).",
        "%(count)d trips (at least %(min)d needed).",
        trips,
    ) % {"count": trips, "min": minimum}


def _quality_lines(figures: dict, thresholds: dict) -> list[str]:
    lines = [_trips_line(figures, thresholds)]
    ratings = _int(figures.get("ratings")) or 0
    average = figures.get("average_rating")
    minimum = thresholds.get("min_average_rating")
    if ratings and average is not None:
        lines.append(
            ngettext(
                "Average passenger rating %(average)s from %(count)d rating (at least "
                "%(min)s needed).",
                "Average passenger rating %(average)s from %(count)d ratings (at least "
                "%(min)s needed).",
                ratings,
            )
            % {"average": average, "count": ratings, "min": minimum}
        )
    else:
        lines.append(
            _("No passenger ratings (an average of at least %(min)s is needed).") % {"min": minimum}
        )
    upheld = _int(figures.get("upheld_complaints"))
    allowed = _int(thresholds.get("max_upheld_complaints"))
    if upheld is not None:
        lines.append(
            ngettext(
                "%(count)d upheld complaint (at most %(max)d allowed).",
                "%(count)d upheld complaints (at most %(max)d allowed).",
                upheld,
            )
            % {"count": upheld, "max": allowed if allowed is not None else 0}
        )
    return [line for line in lines if line]


def _safety_lines(figures: dict, thresholds: dict) -> list[str]:
    lines = [_trips_line(figures, thresholds)]
    incidents = _int(figures.get("incidents"))
    allowed = _int(thresholds.get("max_incidents"))
    if incidents is not None:
        lines.append(
            ngettext(
                "%(count)d safety incident (at most %(max)d allowed).",
                "%(count)d safety incidents (at most %(max)d allowed).",
                incidents,
            )
            % {"count": incidents, "max": allowed if allowed is not None else 0}
        )
    return [line for line in lines if line]


def _skill_lines(figures: dict, currency: str) -> list[str]:
    lines = []
    for credential in figures.get("credentials") or []:
        fen = _int(credential.get("amount_fen"))
        lines.append(
            _("Certificate %(number)s (%(level)s): %(amount)s.")
            % {
                "number": credential.get("number", "?"),
                "level": _level_label(credential.get("level")),
                "amount": format_money(fen, currency) if fen is not None else "?",
            }
        )
    count = _int(figures.get("credential_count"))
    if count is not None and count > len(lines):
        more = count - len(lines)
        lines.append(
            ngettext("and %(count)d more certificate.", "and %(count)d more certificates.", more)
            % {"count": more}
        )
    return lines


def _rating_line(figures: dict) -> str:
    ratings = _int(figures.get("ratings")) or 0
    average = figures.get("average_rating")
    if not ratings or average is None:
        return _("No passenger ratings.")
    return ngettext(
        "Average passenger rating %(average)s from %(count)d rating.",
        "Average passenger rating %(average)s from %(count)d ratings.",
        ratings,
    ) % {"average": average, "count": ratings}


def _tier_lines(explanation: dict, figures: dict) -> list[str]:
    """From `rewards.rules._tier`: ``tier`` (the tier reached, or None) and ``next_tier`` (with
    ``missing``: more trips, and the average rating needed when it is short), each a dict with
    name, min_trips, min_average_rating and amount_fen. Defensive about missing keys."""
    trips = _int(figures.get("trips"))
    lines = []
    if trips is not None:
        lines.append(ngettext("%(count)d trip.", "%(count)d trips.", trips) % {"count": trips})
    lines.append(_rating_line(figures))
    reached = explanation.get("tier") if isinstance(explanation.get("tier"), dict) else None
    following = (
        explanation.get("next_tier") if isinstance(explanation.get("next_tier"), dict) else None
    )
    if reached:
        lines.append(
            _(
                "Tier reached: %(tier)s (at least %(trips)s trips and an average rating of at "
                "least %(rating)s)."
            )
            % {
                "tier": reached.get("name", "?"),
                "trips": reached.get("min_trips", "?"),
                "rating": reached.get("min_average_rating", "?"),
            }
        )
    if following:
        missing = following.get("missing") if isinstance(following.get("missing"), dict) else {}
        parts = []
        more_trips = _int(missing.get("trips"))
        if more_trips:
            parts.append(
                ngettext("%(count)d more trip", "%(count)d more trips", more_trips)
                % {"count": more_trips}
            )
        if missing.get("average_rating"):
            parts.append(
                _("an average rating of at least %(rating)s")
                % {"rating": missing["average_rating"]}
            )
        if parts:
            lines.append(
                _("Next tier: %(tier)s. Still needed: %(missing)s.")
                % {"tier": following.get("name", "?"), "missing": _(" and ").join(parts)}
            )
        else:
            lines.append(_("Next tier: %(tier)s.") % {"tier": following.get("name", "?")})
    elif reached:
        lines.append(_("This is the highest tier."))
    return lines


def fatigue_of(explanation: dict) -> tuple[int, int] | None:
    """(excluded trips, excluded minutes) from an explanation's ``fatigue``, if it has one."""
    fatigue = explanation.get("fatigue") if isinstance(explanation, dict) else None
    if not isinstance(fatigue, dict):
        return None
    trips = _int(fatigue.get("excluded_trips")) or 0
    minutes = _int(fatigue.get("excluded_minutes")) or 0
    return trips, minutes


def explanation_lines(explanation: dict, *, with_fatigue: bool = True) -> list[str]:
    """Why a reward line pays what it does, as sentences in the active language, from the
    structured figures (never from the stored English ``sentence``)."""
    if not isinstance(explanation, dict):
        return []
    kind = (explanation.get("rule_version") or {}).get("kind")
    figures = explanation.get("figures") or {}
    thresholds = explanation.get("thresholds") or {}
    currency = explanation.get("currency") or "CNY"
    if kind == RuleVersion.Kind.QUALITY:
        lines = _quality_lines(figures, thresholds)
    elif kind == RuleVersion.Kind.SAFETY:
        lines = _safety_lines(figures, thresholds)
    elif kind == RuleVersion.Kind.SKILL_ALLOWANCE:
        lines = _skill_lines(figures, currency)
    elif kind == RuleVersion.Kind.TIER:
        lines = _tier_lines(explanation, figures)
    else:
        lines = []
    fatigue = fatigue_of(explanation)
    if with_fatigue and fatigue and (fatigue[0] or fatigue[1]):
        lines.append(fatigue_sentence(*fatigue))
    if explanation.get("lost_to_fatigue"):
        lines.append(_("Had those trips counted, this reward would have been higher."))
    return lines


# --- the statement -------------------------------------------------------------------------


@dataclass
class TripTotal:
    count: int
    earnings: Money


@dataclass
class LineItem:
    line: RewardLine
    rule_name: str
    kind_label: str
    amount: Money
    explanation: list[str]
    dispute: Dispute | None  # the latest dispute of this line, if any
    can_dispute: bool  # no dispute of it is open


@dataclass
class AwardItem:
    award: Award
    amount: Money
    reason: str
    awarded_at: datetime


@dataclass
class AdjustmentItem:
    transaction: Transaction
    amount: Money
    description: str
    posted_at: datetime
    dispute: Dispute | None


@dataclass
class ComplaintItem:
    event: ServiceEvent
    dispute: Dispute | None  # the latest dispute of this complaint, if any
    can_dispute: bool


@dataclass
class FatigueNote:
    excluded_trips: int
    excluded_minutes: int

    @property
    def text(self) -> str:
        return fatigue_sentence(self.excluded_trips, self.excluded_minutes)


@dataclass
class NotEarned:
    """A rule in effect that paid nothing this month, with the figures that fell short (as
    the data stands now)."""

    rule_name: str
    reasons: list[str]


@dataclass
class PlatformPart:
    platform: Organization
    trips: list[TripTotal]
    computed: bool  # the month's run for this platform has finished
    lines: list[LineItem]
    not_earned: list["NotEarned"]  # rules in effect that paid the driver nothing, and why
    awards: list[AwardItem]
    adjustments: list[AdjustmentItem]
    complaints: list[ComplaintItem]
    fatigue: FatigueNote | None
    consent_needed: bool  # certificates would count for its skill allowance with consent
    total: list[Money]


@dataclass
class Movement:
    posted_at: datetime
    transaction: Transaction
    kind: str
    description: str
    amount: Money
    balance_after: Money
    url: str | None


@dataclass
class AccountPart:
    currency: str
    opening: Money
    movements: list[Movement]
    closing: Money

    @property
    def movements_total(self) -> Money:
        return Money(sum(m.amount.fen for m in self.movements), self.currency)


@dataclass
class Statement:
    driver: User
    period_start: date
    period_end: date
    start: datetime  # midnight China time on the first day
    end: datetime  # midnight China time after the last day
    label: str  # the month, in the active language
    is_current: bool  # the month is not over yet
    runs_start_on: date  # when the month's rewards are computed
    platforms: list[PlatformPart]
    accounts: list[AccountPart]
    earned: list[Money]  # what part 1 adds up to, per currency
    generated_at: datetime = field(default_factory=timezone.now)

    @property
    def key(self) -> str:
        return month_key(self.period_start)

    @property
    def all_computed(self) -> bool:
        return all(part.computed for part in self.platforms)


def _statement_url(period_start: date, anchor: str = "") -> str:
    url = reverse("rewards:statement", args=[month_key(period_start)])
    return f"{url}#{anchor}" if anchor else url


def _dispute_url(dispute: Dispute) -> str:
    return reverse("rewards:disputes") + f"#dispute-{dispute.public_id}"


def _latest_disputes(**filters) -> dict[int, Dispute]:
    """The latest dispute per line or complaint: {line or event id: dispute}."""
    key = "reward_line_id" if "reward_line__in" in filters else "complaint_id"
    latest: dict[int, Dispute] = {}
    for dispute in Dispute.objects.filter(**filters).order_by("opened_at", "pk"):
        latest[getattr(dispute, key)] = dispute
    return latest


def _platforms_of_month(driver: User, start: datetime, end: datetime) -> list[Organization]:
    linked = DriverLink.objects.filter(driver=driver, linked_at__lt=end).filter(
        Q(unlinked_at__isnull=True) | Q(unlinked_at__gte=start)
    )
    ids = set(linked.values_list("platform_id", flat=True))
    ids |= set(
        Award.objects.filter(driver=driver, created_at__gte=start, created_at__lt=end).values_list(
            "platform_id", flat=True
        )
    )
    ids |= set(
        Dispute.objects.filter(
            driver=driver, resolved_at__gte=start, resolved_at__lt=end
        ).values_list("platform_id", flat=True)
    )
    ids |= set(
        RewardLine.objects.filter(driver=driver, run__period_start=start.date()).values_list(
            "run__platform_id", flat=True
        )
    )
    return list(Organization.objects.filter(pk__in=ids).order_by("name", "pk"))


def _trip_totals(driver, platform, start, end) -> list[TripTotal]:
    rows = (
        ServiceEvent.objects.filter(
            driver=driver,
            platform=platform,
            kind=ServiceEvent.Kind.TRIP,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .values("currency")
        .annotate(count=Count("pk"), fare=Sum("fare_fen"))
        .order_by("currency")
    )
    merged: dict[str, list[int]] = {}
    for row in rows:
        currency = row["currency"] or "CNY"
        counts = merged.setdefault(currency, [0, 0])
        counts[0] += row["count"]
        counts[1] += row["fare"] or 0
    return [
        TripTotal(count=count, earnings=Money(fare, currency))
        for currency, (count, fare) in sorted(merged.items(), key=lambda kv: kv[0] != "CNY")
    ]


def _fatigue_from_module(platform, driver, start, end) -> FatigueNote | None:
    try:
        from rewards.fatigue import fatigue_for
    except ImportError:  # the rest-rule exclusion is not installed
        return None
    found = fatigue_for(platform=platform, driver_ids=[driver.pk], start=start, end=end).get(
        driver.pk
    )
    if found is None:
        return None
    trips = getattr(found, "excluded_trips", 0) or 0
    minutes = getattr(found, "excluded_minutes", 0) or 0
    if not (trips or minutes):
        return None
    return FatigueNote(excluded_trips=trips, excluded_minutes=minutes)


def _holds_active_credentials(driver: User) -> bool:
    now = timezone.now()
    return (
        Credential.objects.filter(holder=driver, status=Credential.Status.ACTIVE)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .exists()
    )


def _consent_needed(driver, platforms, holds_credentials: bool) -> set[int]:
    if not holds_credentials or not platforms:
        return set()
    ids = [platform.pk for platform in platforms]
    with_allowance = set(
        RuleVersion.objects.filter(
            platform_id__in=ids,
            kind=RuleVersion.Kind.SKILL_ALLOWANCE,
            published_at__isnull=False,
        ).values_list("platform_id", flat=True)
    )
    consented = set(
        ConsentGrant.objects.filter(
            holder=driver, platform_id__in=ids, withdrawn_at__isnull=True
        ).values_list("platform_id", flat=True)
    )
    return with_allowance - consented


def _payable_accounts(driver: User) -> list[Account]:
    return list(
        Account.objects.filter(user=driver, kind=Account.Kind.DRIVER_PAYABLE).order_by(
            "currency", "pk"
        )
    )


def _other_platform(transaction: Transaction) -> int | None:
    for entry in transaction.entries.all():
        if entry.account.organization_id is not None:
            return entry.account.organization_id
    return None


def _describe(transaction: Transaction, lines_by_pk: dict, labels: dict) -> tuple[str, str | None]:
    """What a ledger transaction is, for the driver, and where its reason is shown."""
    kind = transaction.kind
    metadata = transaction.metadata or {}
    if kind == Transaction.Kind.REWARD:
        line = lines_by_pk.get(metadata.get("reward_line"))
        if line is not None:
            period = line.run.period_start
            return (
                _("Reward: %(rule)s (%(kind)s), %(month)s, %(platform)s")
                % {
                    "rule": line.rule_version.name,
                    "kind": line.rule_version.get_kind_display(),
                    "month": month_label(period),
                    "platform": line.run.platform.display_name,
                },
                _statement_url(period, f"line-{line.pk}"),
            )
        return _("Reward: %(description)s") % {"description": transaction.description}, None
    if kind == Transaction.Kind.AWARD:
        award = getattr(transaction, "award", None)
        if award is not None:
            return (
                _("One-off award from %(platform)s: %(reason)s")
                % {"platform": award.platform.display_name, "reason": award.reason},
                _statement_url(_china_month(award.created_at), f"award-{award.pk}"),
            )
    if kind == Transaction.Kind.ADJUSTMENT:
        dispute = getattr(transaction, "dispute", None)
        if dispute is not None:
            return (
                _("Correction after your dispute (%(month)s, %(platform)s)")
                % {
                    "month": month_label(dispute.period_start),
                    "platform": dispute.platform.display_name,
                },
                _dispute_url(dispute),
            )
        return _("Adjustment: %(description)s") % {"description": transaction.description}, None
    if kind == Transaction.Kind.REVERSAL and transaction.reverses is not None:
        original, url = _describe(transaction.reverses, lines_by_pk, labels)
        return _("Reversal of: %(what)s") % {"what": original}, url
    if kind == Transaction.Kind.PAYOUT:
        text = payouts.movement_description(transaction)
        if text:
            return text, reverse("rewards:payouts")
        return _("Payout to your bank account"), None
    return labels.get(kind, kind), None


def _account_parts(driver: User, start: datetime, end: datetime) -> list[AccountPart]:
    accounts = _payable_accounts(driver)
    if not accounts:
        return []
    just_before = start - timedelta(microseconds=1)
    opening = ledger.balances(accounts, at=just_before)
    closing = ledger.balances(accounts, at=end - timedelta(microseconds=1))
    entries = list(
        Entry.objects.filter(account__in=accounts, posted_at__gte=start, posted_at__lt=end)
        .select_related(
            "transaction",
            "transaction__award__platform",
            "transaction__dispute__platform",
            "transaction__reverses",
        )
        .order_by("posted_at", "pk")
    )
    line_ids = set()
    for entry in entries:
        for txn in (entry.transaction, entry.transaction.reverses):
            if txn is not None and (txn.metadata or {}).get("reward_line"):
                line_ids.add(txn.metadata["reward_line"])
    lines_by_pk = {
        line.pk: line
        for line in RewardLine.objects.filter(pk__in=line_ids).select_related(
            "run__platform", "rule_version"
        )
    }
    labels = dict(Transaction.Kind.choices)
    parts = []
    for account in accounts:
        running = opening[account.pk]
        movements = []
        for entry in entries:
            if entry.account_id != account.pk:
                continue
            running += entry.amount_fen
            description, url = _describe(entry.transaction, lines_by_pk, labels)
            movements.append(
                Movement(
                    posted_at=entry.posted_at,
                    transaction=entry.transaction,
                    kind=entry.transaction.kind,
                    description=description,
                    amount=Money(entry.amount_fen, account.currency),
                    balance_after=Money(running, account.currency),
                    url=url,
                )
            )
        if not movements and not opening[account.pk] and not closing[account.pk]:
            continue
        parts.append(
            AccountPart(
                currency=account.currency,
                opening=Money(opening[account.pk], account.currency),
                movements=movements,
                closing=Money(closing[account.pk], account.currency),
            )
        )
    return parts


def statement_build(*, driver: User, period_start: date) -> Statement:
    """The driver's statement for the calendar month starting on ``period_start``."""
    period_start = period_start.replace(day=1)
    period_end = month_end(period_start)
    start, end = _bounds(period_start, period_end)
    platforms = _platforms_of_month(driver, start, end)
    runs = {
        run.platform_id: run
        for run in RewardRun.objects.filter(
            platform__in=platforms, period_start=period_start, period_end=period_end
        )
    }
    lines = list(
        RewardLine.objects.filter(
            driver=driver,
            run__period_start=period_start,
            run__status=RewardRun.Status.FINISHED,
        )
        .select_related("run", "rule_version")
        .order_by("run__platform_id", "rule_version__kind", "pk")
    )
    line_disputes = _latest_disputes(reward_line__in=[line.pk for line in lines])
    awards = list(
        Award.objects.filter(driver=driver, created_at__gte=start, created_at__lt=end).order_by(
            "created_at", "pk"
        )
    )
    adjusting = list(
        Transaction.objects.filter(
            kind__in=ADJUSTING_KINDS,
            entries__account__user=driver,
            entries__account__kind=Account.Kind.DRIVER_PAYABLE,
            posted_at__gte=start,
            posted_at__lt=end,
        )
        .distinct()
        .select_related("dispute", "reverses")
        .prefetch_related("entries__account")
        .order_by("posted_at", "pk")
    )
    complaints = list(
        ServiceEvent.objects.filter(
            driver=driver,
            kind=ServiceEvent.Kind.COMPLAINT,
            outcome=ServiceEvent.Outcome.UPHELD,
            occurred_at__gte=start,
            occurred_at__lt=end,
        ).order_by("occurred_at", "pk")
    )
    complaint_disputes = _latest_disputes(complaint__in=[event.pk for event in complaints])
    consent = _consent_needed(driver, platforms, _holds_active_credentials(driver))

    parts = []
    for platform in platforms:
        run = runs.get(platform.pk)
        computed = run is not None and run.status == RewardRun.Status.FINISHED
        items = []
        fatigue = None
        fatigue_known = False
        for line in lines:
            if line.run.platform_id != platform.pk:
                continue
            dispute = line_disputes.get(line.pk)
            items.append(
                LineItem(
                    line=line,
                    rule_name=line.rule_version.name,
                    kind_label=line.rule_version.get_kind_display(),
                    amount=Money(line.amount_fen, line.currency),
                    explanation=explanation_lines(line.explanation, with_fatigue=False),
                    dispute=dispute,
                    can_dispute=dispute is None or dispute.status != Dispute.Status.OPEN,
                )
            )
            found = fatigue_of(line.explanation)
            if found is not None:
                fatigue_known = True
                if fatigue is None and (found[0] or found[1]):
                    fatigue = FatigueNote(*found)
        not_earned = []
        if computed:
            paid = {item.line.rule_version_id for item in items}
            not_earned = [
                NotEarned(
                    rule_name=line["rule_version"].name,
                    reasons=explanation_lines(line["explanation"], with_fatigue=False),
                )
                for line in rules.explain_driver(
                    platform=platform, period_start=period_start, driver_id=driver.pk
                )
                if line["rule_version_id"] not in paid and line["amount_fen"] <= 0
            ]
        if not fatigue_known:  # no line says: ask the fatigue guard itself
            fatigue = _fatigue_from_module(platform, driver, start, end)
        platform_awards = [
            AwardItem(
                award=award,
                amount=Money(award.amount_fen, award.currency),
                reason=award.reason,
                awarded_at=award.created_at,
            )
            for award in awards
            if award.platform_id == platform.pk
        ]
        adjustments = []
        for txn in adjusting:
            dispute = getattr(txn, "dispute", None)
            owner = dispute.platform_id if dispute is not None else _other_platform(txn)
            if owner != platform.pk:
                continue
            fen = sum(
                entry.amount_fen
                for entry in txn.entries.all()
                if entry.account.user_id == driver.pk
                and entry.account.kind == Account.Kind.DRIVER_PAYABLE
            )
            currency = next(
                entry.currency for entry in txn.entries.all() if entry.account.user_id == driver.pk
            )
            if dispute is not None:
                description = _("Correction after your dispute of %(month)s: %(resolution)s") % {
                    "month": month_label(dispute.period_start),
                    "resolution": dispute.resolution,
                }
            elif txn.kind == Transaction.Kind.REVERSAL:
                description = _("Reversal of an earlier payment")
            else:
                description = txn.description or _("Adjustment")
            adjustments.append(
                AdjustmentItem(
                    transaction=txn,
                    amount=Money(fen, currency),
                    description=description,
                    posted_at=txn.posted_at,
                    dispute=dispute,
                )
            )
        platform_complaints = []
        for event in complaints:
            if event.platform_id != platform.pk:
                continue
            dispute = complaint_disputes.get(event.pk)
            platform_complaints.append(
                ComplaintItem(
                    event=event,
                    dispute=dispute,
                    can_dispute=dispute is None or dispute.status != Dispute.Status.OPEN,
                )
            )
        total = _totals(
            [(item.amount.fen, item.amount.currency) for item in items]
            + [(item.amount.fen, item.amount.currency) for item in platform_awards]
            + [(item.amount.fen, item.amount.currency) for item in adjustments]
        )
        parts.append(
            PlatformPart(
                platform=platform,
                trips=_trip_totals(driver, platform, start, end),
                computed=computed,
                lines=items,
                not_earned=not_earned,
                awards=platform_awards,
                adjustments=adjustments,
                complaints=platform_complaints,
                fatigue=fatigue,
                consent_needed=platform.pk in consent,
                total=total,
            )
        )
    return Statement(
        driver=driver,
        period_start=period_start,
        period_end=period_end,
        start=start,
        end=end,
        label=month_label(period_start),
        is_current=period_start >= this_month(),
        runs_start_on=runs_start_on(period_start),
        platforms=parts,
        accounts=_account_parts(driver, start, end),
        earned=_totals((money.fen, money.currency) for part in parts for money in part.total),
    )


# --- the list of months --------------------------------------------------------------------


@dataclass
class MonthSummary:
    period_start: date
    label: str
    key: str
    earned: list[Money]
    is_current: bool


def statement_months(driver: User) -> list[MonthSummary]:
    """Every month from the driver's first link until this month, newest first, each with what
    it earned (finished runs' lines, awards, corrections and reversals): a few queries."""
    first = first_month(driver)
    current = this_month()
    if first is None:
        return []
    sums: dict[date, list[tuple[int, str]]] = defaultdict(list)
    for period_start, currency, fen in RewardLine.objects.filter(
        driver=driver, run__status=RewardRun.Status.FINISHED
    ).values_list("run__period_start", "currency", "amount_fen"):
        sums[period_start].append((fen, currency))
    for created_at, currency, fen in Award.objects.filter(driver=driver).values_list(
        "created_at", "currency", "amount_fen"
    ):
        sums[_china_month(created_at)].append((fen, currency))
    for posted_at, currency, fen in Entry.objects.filter(
        account__user=driver,
        account__kind=Account.Kind.DRIVER_PAYABLE,
        transaction__kind__in=ADJUSTING_KINDS,
    ).values_list("posted_at", "currency", "amount_fen"):
        sums[_china_month(posted_at)].append((fen, currency))
    months = []
    month = current
    while month >= first:
        months.append(
            MonthSummary(
                period_start=month,
                label=month_label(month),
                key=month_key(month),
                earned=_totals(sums.get(month, [])),
                is_current=month == current,
            )
        )
        month = (month - timedelta(days=1)).replace(day=1)
    return months
