"""Forms of the reward rules admin: a rule version's fields per kind (never raw JSON), a month,
and a platform's own policy. Money is typed in yuan and kept in whole fen: parsed with Decimal,
at most two decimals, never through a float."""

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rewards.models import RuleVersion
from rewards.models.rules import LEVELS

MAX_TIERS = 6
YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
RATING = re.compile(r"^\d(\.\d{1,2})?$")
MAX_COUNT = 1_000_000


def yuan_to_fen(text: str) -> int:
    """ "88.5" → 8850, "12" → 1200; refuses a sign, a third decimal, an exponent, anything odd."""
    text = (text or "").strip().replace(",", "")
    if text.startswith("¥"):
        text = text[1:].strip()
    if not YUAN.match(text):
        raise ValidationError(
            _("Enter an amount in yuan, zero or more, with at most two decimals, such as 88.50."),
            code="yuan",
        )
    return int(Decimal(text) * 100)


def fen_to_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}"


def parse_rating(text: str) -> str:
    """ "4.9" → "4.90": a rating from 1 to 5 with at most two decimals, as the string stored."""
    text = (text or "").strip()
    if not RATING.match(text) or not (Decimal(1) <= Decimal(text) <= Decimal(5)):
        raise ValidationError(
            _("Enter an average rating from 1 to 5 with at most two decimals, such as 4.90."),
            code="rating",
        )
    return f"{Decimal(text):.2f}"


class YuanField(forms.CharField):
    """An amount in yuan, cleaned to whole fen (an int), or None when empty and not required."""

    def __init__(self, *, positive: bool = True, **kwargs):
        self.positive = positive
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def prepare_value(self, value):
        return fen_to_yuan(value) if type(value) is int else value

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        fen = yuan_to_fen(value)
        if self.positive and fen <= 0:
            raise ValidationError(_("The reward is more than zero."), code="zero")
        return fen


class RatingField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 8)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        return parse_rating(value)


def _count(label, **kwargs) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=MAX_COUNT, **kwargs)


class RuleVersionForm(forms.Form):
    """The fields of one kind of rule; `params()` and `amount_fen()` build what the services take.

    ``initial_version`` prefills the form from an existing version (editing a draft, or a new
    version superseding a published one)."""

    SERVICE_FIELDS = {
        "name": "name",
        "effective_from": "effective_from",
        "notice_days": "notice_days",
    }

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    effective_from = forms.DateField(
        label=gettext_lazy("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The first day the rule applies (a run covers whole months)."),
    )
    notice_days = forms.IntegerField(
        label=gettext_lazy("Notice (days)"), min_value=0, max_value=365, required=False
    )

    def __init__(self, *args, kind: str, default_notice_days: int, initial_version=None, **kwargs):
        self.kind = kind
        self.default_notice_days = default_notice_days
        if initial_version is not None:
            kwargs["initial"] = {**self.initial_from(initial_version), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.fields["notice_days"].help_text = _(
            "How long before “effective from” it must be published, so drivers hear of it. "
            "Empty: the platform’s default, %(days)d days."
        ) % {"days": default_notice_days}
        if kind in (RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY):
            self.fields["min_trips"] = _count(
                gettext_lazy("Trips in the month, at least"), initial=0
            )
        if kind == RuleVersion.Kind.QUALITY:
            self.fields["min_average_rating"] = RatingField(
                label=gettext_lazy("Average passenger rating, at least"),
                help_text=gettext_lazy("From 1 to 5, such as 4.90."),
            )
            self.fields["max_upheld_complaints"] = _count(
                gettext_lazy("Upheld complaints in the month, at most"), initial=0
            )
        if kind == RuleVersion.Kind.SAFETY:
            self.fields["max_incidents"] = _count(
                gettext_lazy("Safety incidents in the month, at most"), initial=0
            )
        if kind in (RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY):
            self.fields["reward"] = YuanField(
                label=gettext_lazy("Reward (yuan)"),
                help_text=gettext_lazy("Paid once for the month to each driver who qualifies."),
            )
        if kind == RuleVersion.Kind.SKILL_ALLOWANCE:
            for level in LEVELS:
                self.fields[f"level_{level}"] = YuanField(
                    label=_("Level %(level)s certificate (yuan a month)") % {"level": level},
                    required=False,
                    positive=False,
                    help_text=gettext_lazy("Empty or 0: this level pays nothing."),
                )
        if kind == RuleVersion.Kind.TIER:
            for row in range(1, MAX_TIERS + 1):
                self.fields[f"tier_{row}_name"] = forms.CharField(
                    label=_("Tier %(row)d name") % {"row": row}, max_length=60, required=False
                )
                self.fields[f"tier_{row}_min_trips"] = _count(
                    _("Tier %(row)d trips, at least") % {"row": row}, required=False
                )
                self.fields[f"tier_{row}_min_average_rating"] = RatingField(
                    label=_("Tier %(row)d average rating, at least") % {"row": row},
                    required=False,
                )
                self.fields[f"tier_{row}_reward"] = YuanField(
                    label=_("Tier %(row)d reward (yuan)") % {"row": row}, required=False
                )

    @staticmethod
    def initial_from(version: RuleVersion) -> dict:
        params = version.params or {}
        initial = {
            "name": version.name,
            "effective_from": version.effective_from,
            "notice_days": version.notice_days,
        }
        for key in ("min_trips", "max_upheld_complaints", "max_incidents", "min_average_rating"):
            if key in params:
                initial[key] = params[key]
        if version.kind in (RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY):
            initial["reward"] = fen_to_yuan(version.amount_fen)
        for level, fen in (params.get("per_level_fen") or {}).items():
            if type(fen) is int:
                initial[f"level_{level}"] = fen_to_yuan(fen)
        for row, tier in enumerate(params.get("tiers") or [], start=1):
            if row > MAX_TIERS or not isinstance(tier, dict):
                break
            initial[f"tier_{row}_name"] = tier.get("name", "")
            initial[f"tier_{row}_min_trips"] = tier.get("min_trips")
            initial[f"tier_{row}_min_average_rating"] = tier.get("min_average_rating")
            if type(tier.get("amount_fen")) is int:
                initial[f"tier_{row}_reward"] = fen_to_yuan(tier["amount_fen"])
        return initial

    def tier_rows(self) -> list[dict]:
        """The tier fields row by row, for the template's table."""
        return [
            {
                "number": row,
                "fields": [
                    self[f"tier_{row}_{name}"]
                    for name in ("name", "min_trips", "min_average_rating", "reward")
                ],
            }
            for row in range(1, MAX_TIERS + 1)
        ]

    def level_fields(self) -> list:
        return [self[f"level_{level}"] for level in LEVELS]

    def clean(self):
        cleaned = super().clean()
        if self.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
            if not any(cleaned.get(f"level_{level}") for level in LEVELS) and not any(
                f"level_{level}" in self.errors for level in LEVELS
            ):
                raise ValidationError(_("Enter the allowance of at least one course level."))
        if self.kind == RuleVersion.Kind.TIER:
            self._clean_tiers(cleaned)
        return cleaned

    def _clean_tiers(self, cleaned: dict) -> None:
        tiers = []
        for row in range(1, MAX_TIERS + 1):
            names = [f"tier_{row}_{name}" for name in ("name", "min_trips", "min_average_rating")]
            names.append(f"tier_{row}_reward")
            if any(name in self.errors for name in names):
                continue
            values = [cleaned.get(name) for name in names]
            if all(value in (None, "") for value in values):
                continue
            missing = False
            for name, value in zip(names, values, strict=True):
                if value in (None, ""):
                    self.add_error(name, _("Fill in every column of a tier, or none."))
                    missing = True
            if not missing:
                tiers.append(
                    {
                        "name": values[0].strip(),
                        "min_trips": values[1],
                        "min_average_rating": values[2],
                        "amount_fen": values[3],
                    }
                )
        if not tiers and not self.errors:
            raise ValidationError(_("Enter at least one tier."))
        names = [tier["name"] for tier in tiers]
        if len(set(names)) != len(names):
            raise ValidationError(_("Each tier has its own name."))
        self._tiers = tiers

    def params(self) -> dict:
        data = self.cleaned_data
        if self.kind == RuleVersion.Kind.QUALITY:
            return {
                "min_trips": data["min_trips"],
                "min_average_rating": data["min_average_rating"],
                "max_upheld_complaints": data["max_upheld_complaints"],
            }
        if self.kind == RuleVersion.Kind.SAFETY:
            return {"min_trips": data["min_trips"], "max_incidents": data["max_incidents"]}
        if self.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
            return {"per_level_fen": {level: data.get(f"level_{level}") or 0 for level in LEVELS}}
        return {"tiers": self._tiers}

    def amount_fen(self) -> int | None:
        if self.kind in (RuleVersion.Kind.QUALITY, RuleVersion.Kind.SAFETY):
            return self.cleaned_data["reward"]
        return None

    def notice_days_value(self) -> int:
        value = self.cleaned_data.get("notice_days")
        return self.default_notice_days if value is None else value

    def add_service_errors(self, error: ValidationError) -> None:
        """A service's ValidationError on the form: on the field it names, else on the form."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for key, errors in error.error_dict.items():
            field = self.SERVICE_FIELDS.get(key)
            if key == "amount_fen" and "reward" in self.fields:
                field = "reward"
            elif key in self.fields and key not in ("params",):
                field = key
            for item in errors:
                for message in item.messages:
                    self.add_error(field, message)


def recent_months(today: date, count: int = 12) -> list[date]:
    """The first days of the ``count`` months before ``today``'s month, latest first."""
    months, year, month = [], today.year, today.month
    for _n in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(date(year, month, 1))
    return months


class MonthForm(forms.Form):
    month = forms.TypedChoiceField(label=gettext_lazy("Month"), coerce=date.fromisoformat)

    def __init__(self, *args, months: list[date], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [(m.isoformat(), m.strftime("%Y-%m")) for m in months]
        if months:
            self.fields["month"].initial = months[0].isoformat()


class PlatformChoiceForm(forms.Form):
    platform = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("Platform"), empty_label=None
    )

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = queryset
        self.fields["platform"].label_from_instance = lambda org: org.display_name


class PolicyForm(forms.Form):
    daily_cap = forms.DecimalField(
        label=gettext_lazy("Daily cap"),
        required=False,
        min_value=0,
        max_digits=6,
        decimal_places=2,
        help_text=gettext_lazy(
            "Online time beyond this in one day never counts. Empty: the site’s default."
        ),
    )
    daily_cap_unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=[("minutes", gettext_lazy("minutes")), ("hours", gettext_lazy("hours"))],
        initial="minutes",
    )
    notice_days = forms.IntegerField(
        label=gettext_lazy("Notice before a new rule version takes effect (days)"),
        required=False,
        min_value=0,
        max_value=10_000,
        help_text=gettext_lazy("Empty: the site’s default."),
    )

    def clean(self):
        cleaned = super().clean()
        cap = cleaned.get("daily_cap")
        if cap is not None:
            minutes = cap * 60 if cleaned.get("daily_cap_unit") == "hours" else cap
            if minutes != minutes.to_integral_value():
                self.add_error("daily_cap", _("The daily cap is a whole number of minutes."))
            else:
                cleaned["daily_cap_minutes"] = int(minutes)
        else:
            cleaned["daily_cap_minutes"] = None
        return cleaned

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for key, errors in error.error_dict.items():
            field = {"daily_cap_minutes": "daily_cap", "notice_days": "notice_days"}.get(key)
            for item in errors:
                for message in item.messages:
                    self.add_error(field, message)
