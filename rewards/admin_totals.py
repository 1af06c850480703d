"""Admin: a platform's staff see what it paid its drivers each month.

Platform staff (users whose organisation is an active platform) see their own platform's
totals; operators (superusers) choose the platform. Anyone else gets no menu item and a 403.
The table can be downloaded as CSV (amounts in fen). Registers its own hooks; imported by
``rewards.wagtail_hooks``.
"""

import csv

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from cms.models import Organization
from rewards import selectors
from rewards.admin_views import uploading_platform, yuan
from rewards.models import RewardRun

KINDS = selectors.RULE_KINDS
# Text a spreadsheet would run as a formula if a cell starts with it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def can_see_totals(user) -> bool:
    return bool(user.is_authenticated and user.is_superuser) or uploading_platform(user) is not None


class TotalsForm(forms.Form):
    platform = forms.ModelChoiceField(
        queryset=Organization.objects.filter(kind=Organization.Kind.PLATFORM).order_by("name"),
        label=gettext_lazy("Platform"),
        required=True,
    )
    month = forms.CharField(
        label=gettext_lazy("Month"),
        help_text=gettext_lazy("A calendar month in China time, YYYY-MM."),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def __init__(self, *args, operator: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not operator:
            del self.fields["platform"]

    def clean_month(self):
        try:
            return selectors.parse_month(self.cleaned_data["month"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


def _query(request):
    """The platform and month asked for (or None, and the form with its errors)."""
    if not can_see_totals(request.user):
        raise PermissionDenied
    operator = request.user.is_superuser
    data = request.GET.copy()
    data.setdefault("month", selectors.last_month().strftime("%Y-%m"))
    form = TotalsForm(data, operator=operator)
    if operator and "platform" not in request.GET:
        # An operator has not chosen a platform yet: show the form, no errors.
        form = TotalsForm(initial={"month": data["month"]}, operator=operator)
        return form, None, None
    if not form.is_valid():
        return form, None, None
    platform = form.cleaned_data.get("platform") or uploading_platform(request.user)
    return form, platform, form.cleaned_data["month"]


RUN_LABELS = {
    selectors.RUN_NOT_RUN: gettext_lazy("not run yet"),
    RewardRun.Status.RUNNING: gettext_lazy("running"),
    RewardRun.Status.FINISHED: gettext_lazy("finished"),
}


def _with_yuan(row: dict) -> dict:
    shown = dict(row)
    for key in (
        "trip_earnings_fen",
        "rewards_total_fen",
        "rewards_pending_fen",
        "awards_fen",
        "corrections_fen",
        "total_paid_fen",
    ):
        shown[key.removesuffix("_fen") + "_yuan"] = yuan(row[key])
    shown["rewards_yuan"] = [yuan(row["rewards_fen"][kind]) for kind in KINDS]
    return shown


def totals(request):
    form, platform, month = _query(request)
    context = {"form": form, "platform": platform, "result": None}
    if platform is not None:
        result = selectors.platform_totals(platform=platform, period_start=month)
        context.update(
            result=result,
            rows=[_with_yuan(row) for row in result["drivers"]],
            grand=_with_yuan(result["totals"]),
            run_label=RUN_LABELS[result["run"]["status"]],
            kind_labels=[selectors.RuleVersion.Kind(kind).label for kind in KINDS],
            csv_query=request.GET.urlencode() or f"month={result['month']}",
        )
    return render(request, "rewards/admin/totals.html", context)


def _cell(value) -> str | int:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def totals_csv(request):
    form, platform, month = _query(request)
    if platform is None:
        return render(
            request,
            "rewards/admin/totals.html",
            {"form": form, "platform": None, "result": None},
            status=400,
        )
    result = selectors.platform_totals(platform=platform, period_start=month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="reward-totals-{platform.slug}-{result["month"]}.csv"'
    )
    response.write("\ufeff")  # so that spreadsheet programs read it as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            "driver",
            "linked_in_month",
            "trips",
            "trip_earnings_fen",
            *(f"{kind}_fen" for kind in KINDS),
            "rewards_total_fen",
            "rewards_pending_fen",
            "awards",
            "awards_fen",
            "corrections",
            "corrections_fen",
            "total_paid_fen",
        ]
    )

    def figures(row):
        return [
            row["trips"],
            row["trip_earnings_fen"],
            *(row["rewards_fen"][kind] for kind in KINDS),
            row["rewards_total_fen"],
            row["rewards_pending_fen"],
            row["awards"],
            row["awards_fen"],
            row["corrections"],
            row["corrections_fen"],
            row["total_paid_fen"],
        ]

    for row in result["drivers"]:
        writer.writerow(
            [_cell(row["driver"]), "yes" if row["linked_in_month"] else "no", *figures(row)]
        )
    writer.writerow(
        [f"TOTAL ({result['totals']['drivers']} drivers)", "", *figures(result["totals"])]
    )
    return response


urlpatterns = [
    path("", totals, name="totals"),
    path("csv/", totals_csv, name="totals_csv"),
]


class TotalsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_see_totals(request.user)


@hooks.register("register_admin_urls")
def register_totals_admin_urls():
    return [path("reward-totals/", include((urlpatterns, "rewards_totals")))]


@hooks.register("register_admin_menu_item")
def register_totals_menu_item():
    return TotalsMenuItem(
        gettext_lazy("Reward totals"),
        reverse("rewards_totals:totals"),
        name="reward-totals",
        icon_name="table",
        order=375,
    )
