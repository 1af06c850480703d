"""Reward rules and their monthly runs.

A platform's rule is a series of versions. A version is a draft until it is published, and it
is published only with notice (``effective_from`` at least ``notice_days`` after the day it is
published); once published it is never changed: a new version supersedes it. A run applies,
for one platform and one calendar month, the latest published version of each kind whose
``effective_from`` is on or before the month's first day; each driver earns at most one line per
version, posted to the ledger (platform funding → driver payable) exactly once. Services live in
``rewards.rules``.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

LEVELS = ("1", "2", "3")  # courses.models.pages.CourseLevel, as JSON keys


def _whole(value) -> bool:
    return type(value) is int and value >= 0


def _rating(raw) -> Decimal | None:
    """A rating threshold ("4.9", or a whole number) from 1 to 5, or None."""
    try:
        rating = Decimal(str(raw)) if isinstance(raw, str | int) and type(raw) is not bool else None
    except (InvalidOperation, ValueError):  # ValueError: an int of over 4,300 digits
        return None
    if rating is None or not rating.is_finite() or not (Decimal(1) <= rating <= Decimal(5)):
        return None
    return rating


MAX_TIERS = 6


def _tier_errors(tiers) -> list[str]:
    """What is wrong with a tier rule's "tiers", as sentences (empty when nothing is)."""
    if not isinstance(tiers, list) or not 1 <= len(tiers) <= MAX_TIERS:
        return [
            gettext("“tiers” is a list of 1 to %(max)d tiers, from the lowest to the highest.")
            % {"max": MAX_TIERS}
        ]
    errors: list[str] = []
    names: set[str] = set()
    previous = None
    for number, tier in enumerate(tiers, start=1):
        if not isinstance(tier, dict):
            errors.append(
                gettext(
                    "Tier %(n)d must be an object with “name”, “min_trips”, "
                    "“min_average_rating” and “amount_fen”."
                )
                % {"n": number}
            )
            previous = None
            continue
        unknown = set(tier) - {"name", "min_trips", "min_average_rating", "amount_fen"}
        if unknown:
            errors.append(
                gettext("Tier %(n)d has unknown keys: %(keys)s.")
                % {"n": number, "keys": ", ".join(sorted(map(str, unknown)))}
            )
        name = tier.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 50 or len(name) > 50:
            errors.append(gettext("Tier %(n)d needs a name of 1 to 50 characters.") % {"n": number})
        elif name.strip().casefold() in names:
            errors.append(
                gettext("Tier %(n)d is named “%(name)s” like another tier; names are distinct.")
                % {"n": number, "name": name}
            )
        else:
            names.add(name.strip().casefold())
        min_trips = tier.get("min_trips")
        if not _whole(min_trips):
            errors.append(
                gettext("Tier %(n)d: “min_trips” must be a whole number, zero or more.")
                % {"n": number}
            )
            min_trips = None
        if _rating(tier.get("min_average_rating")) is None:
            errors.append(
                gettext(
                    "Tier %(n)d: “min_average_rating” must be a number from 1 to 5, such as “4.8”."
                )
                % {"n": number}
            )
        amount = tier.get("amount_fen")
        if type(amount) is not int or amount <= 0:
            errors.append(
                gettext("Tier %(n)d: “amount_fen” must be a whole number of fen, more than zero.")
                % {"n": number}
            )
            amount = None
        if previous is not None:
            previous_trips, previous_amount = previous
            if min_trips is not None and previous_trips is not None and min_trips <= previous_trips:
                errors.append(
                    gettext(
                        "Tier %(n)d needs more trips than tier %(before)d (%(trips)d): "
                        "“min_trips” increases from tier to tier."
                    )
                    % {"n": number, "before": number - 1, "trips": previous_trips}
                )
            if amount is not None and previous_amount is not None and amount < previous_amount:
                errors.append(
                    gettext(
                        "Tier %(n)d pays less than tier %(before)d (%(fen)d fen): a higher tier "
                        "pays at least as much."
                    )
                    % {"n": number, "before": number - 1, "fen": previous_amount}
                )
        previous = (min_trips, amount)
    return errors


def validate_rule(kind: str, params, amount_fen) -> None:
    """Raise a ValidationError naming what is wrong with a version's parameters and amount."""
    errors: dict[str, list[str]] = {}

    def need_whole(key: str) -> None:
        if not _whole(params.get(key)):
            errors.setdefault("params", []).append(
                gettext("“%(key)s” must be a whole number, zero or more.") % {"key": key}
            )

    if kind not in RuleVersion.Kind.values:
        raise ValidationError(
            {"kind": gettext("“%(kind)s” is not a kind of reward rule.") % {"kind": kind}}
        )
    if not isinstance(params, dict):
        raise ValidationError({"params": gettext("The parameters are a JSON object.")})
    if kind == RuleVersion.Kind.QUALITY:
        need_whole("min_trips")
        need_whole("max_upheld_complaints")
        if _rating(params.get("min_average_rating")) is None:
            errors.setdefault("params", []).append(
                gettext("“min_average_rating” must be a number from 1 to 5, such as “4.9”.")
            )
    elif kind == RuleVersion.Kind.SAFETY:
        need_whole("min_trips")
        need_whole("max_incidents")
    elif kind == RuleVersion.Kind.TIER:
        tier_errors = _tier_errors(params.get("tiers"))
        if tier_errors:
            errors.setdefault("params", []).extend(tier_errors)
    else:
        per_level = params.get("per_level_fen")
        if (
            not isinstance(per_level, dict)
            or not per_level
            or any(key not in LEVELS or not _whole(value) for key, value in per_level.items())
        ):
            errors.setdefault("params", []).append(
                gettext(
                    "“per_level_fen” maps course levels “1”, “2” and “3” to whole numbers of fen."
                )
            )
    if kind == RuleVersion.Kind.SKILL_ALLOWANCE:
        if amount_fen not in (None, 0):
            errors["amount_fen"] = [
                gettext("A skill allowance pays per course level, not a fixed amount.")
            ]
    elif kind == RuleVersion.Kind.TIER:
        if amount_fen not in (None, 0):
            errors["amount_fen"] = [
                gettext("A tier rule pays each tier's own amount, not a fixed amount.")
            ]
    elif type(amount_fen) is not int or amount_fen <= 0:
        errors["amount_fen"] = [gettext("The reward is a whole number of fen, more than zero.")]
    if errors:
        raise ValidationError(errors)


class RuleVersion(models.Model):
    """One version of a platform's reward rule. Never changed once published."""

    class Kind(models.TextChoices):
        QUALITY = "quality", _("Service quality")
        SAFETY = "safety", _("Safe driving")
        SKILL_ALLOWANCE = "skill_allowance", _("Skill allowance")
        TIER = "tier", _("Driver tier")

    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="reward_rule_versions",
        verbose_name=_("platform"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    params = models.JSONField(_("parameters"), default=dict)
    amount_fen = models.BigIntegerField(
        _("reward (fen)"),
        null=True,
        blank=True,
        help_text=_("For quality and safety rewards. A skill allowance pays per level."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_from = models.DateField(_("effective from"))
    notice_days = models.PositiveSmallIntegerField(_("notice (days)"), default=30)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )

    class Meta:
        verbose_name = _("reward rule version")
        verbose_name_plural = _("reward rule versions")
        ordering = ["platform", "kind", "-effective_from", "-pk"]
        indexes = [
            models.Index(
                fields=["platform", "kind", "effective_from"], name="rewards_rule_applicable"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__isnull=True) | Q(amount_fen__gte=0),
                name="rewards_rule_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="rewards_rule_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.effective_from})"

    def save(self, *args, **kwargs) -> None:
        # A published version is the rule drivers were told about: it never changes.
        if (
            self.pk is not None
            and RuleVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists()
        ):
            raise ValidationError(
                gettext(
                    "Rule version %(pk)s is published and cannot be changed; create a new "
                    "version that supersedes it."
                )
                % {"pk": self.pk}
            )
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def clean(self) -> None:
        validate_rule(self.kind, self.params, self.amount_fen)


class RewardRun(models.Model):
    """One platform's rewards for one calendar month. Resumable: see `reward_run_execute`."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        FINISHED = "finished", _("finished")

    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="reward_runs",
        verbose_name=_("platform"),
    )
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    lines_computed_at = models.DateTimeField(_("lines computed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("reward run")
        verbose_name_plural = _("reward runs")
        ordering = ["-period_start", "platform", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "period_start", "period_end"], name="rewards_run_unique_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="rewards_run_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.period_start:%Y-%m} ({self.status})"


class RewardLine(models.Model):
    """What one driver earned under one rule version in one run, and why."""

    run = models.ForeignKey(
        RewardRun, on_delete=models.PROTECT, related_name="lines", verbose_name=_("run")
    )
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reward_lines",
        verbose_name=_("driver"),
    )
    rule_version = models.ForeignKey(
        RuleVersion,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("rule version"),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    explanation = models.JSONField(_("explanation"), default=dict)
    transaction = models.ForeignKey(
        "rewards.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reward_lines",
        verbose_name=_("ledger transaction"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reward line")
        verbose_name_plural = _("reward lines")
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "driver", "rule_version"], name="rewards_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="rewards_line_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.driver_id} {self.amount_fen} {self.currency}"
