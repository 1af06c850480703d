"""Admin: operators resolve drivers' disputes (superusers only; others get no menu item and a
403). Registers the admin URLs and the "Disputes" menu item; the disputes' audit-log actions
are registered with the others in cms/audit.py."""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import include, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.log_actions import registry as log_registry

from rewards import disputes, statements
from rewards.models import Dispute

MAX_CORRECTION_FEN = 100_000_000  # ¥1,000,000: anything larger is a typing mistake
YUAN = re.compile(r"^([+-]?)(\d{1,9})(?:\.(\d{1,2}))?$")
FEN = re.compile(r"^([+-]?)(\d{1,11})$")


def parse_correction(text: str, unit: str) -> int | None:
    """ "12.5" yuan → 1250, "-3" yuan → -300, "1250" fen → 1250; "" → None. Strings and
    integers only (never a float); thousands separators and a leading ¥ are allowed."""
    text = (text or "").strip().replace(",", "").replace("，", "").replace(" ", "")
    text = text.replace("¥", "").replace("￥", "")
    if text in ("", "+", "-"):
        return None
    if unit == "fen":
        match = FEN.match(text)
        if not match:
            raise ValidationError(_("Fen are a whole number, such as 1250 or -300."))
        sign, whole = match.groups()
        fen = int(whole)
    else:
        match = YUAN.match(text)
        if not match:
            raise ValidationError(
                _("Yuan with at most two decimals, such as 12.50 or -3 (no other characters).")
            )
        sign, whole, cents = match.groups()
        fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    fen = -fen if sign == "-" else fen
    if abs(fen) > MAX_CORRECTION_FEN:
        raise ValidationError(_("A correction is at most ¥1,000,000."))
    return fen


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("uphold", gettext_lazy("Uphold: the driver is right")),
            ("reject", gettext_lazy("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(
        label=gettext_lazy("Resolution (the driver reads it)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=disputes.MAX_RESOLUTION,
    )
    correction = forms.CharField(
        label=gettext_lazy("Correction"),
        required=False,
        help_text=gettext_lazy(
            "Only when upheld. Positive: the platform's funding pays the driver; negative: it is "
            "taken back from what the driver is owed. Empty or 0: no money moves."
        ),
    )
    unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=[("yuan", gettext_lazy("yuan")), ("fen", gettext_lazy("fen"))],
        initial="yuan",
    )

    def clean(self):
        data = super().clean()
        if "correction" in data and "unit" in data:
            try:
                data["correction_fen"] = parse_correction(data["correction"], data["unit"])
            except ValidationError as exc:
                self.add_error("correction", exc)
                return data
            if data.get("decision") == "reject" and data["correction_fen"]:
                self.add_error(
                    "correction", _("A rejected dispute corrects nothing: leave it empty.")
                )
        return data


def _operator_only(request) -> None:
    if not (request.user.is_authenticated and request.user.is_superuser):
        raise PermissionDenied


def dispute_list(request):
    _operator_only(request)
    status = request.GET.get("status", "")
    queryset = Dispute.objects.select_related("driver", "platform", "reward_line__rule_version")
    if status in Dispute.Status.values:
        queryset = queryset.filter(status=status)
    else:
        status = ""
    # Open disputes first (oldest first: they have waited longest), then the resolved ones.
    open_first = list(queryset.filter(status=Dispute.Status.OPEN).order_by("opened_at", "pk"))
    resolved = list(
        queryset.exclude(status=Dispute.Status.OPEN).order_by("-resolved_at", "-pk")[:200]
    )
    return render(
        request,
        "rewards/admin/dispute_list.html",
        {
            "disputes": [
                {
                    "dispute": dispute,
                    "month": statements.month_key(dispute.period_start),
                    "correction": (
                        statements.Money(dispute.correction_fen)
                        if dispute.correction_fen is not None
                        else None
                    ),
                }
                for dispute in open_first + resolved
            ],
            "status": status,
            "statuses": Dispute.Status.choices,
            "open_count": Dispute.objects.filter(status=Dispute.Status.OPEN).count(),
        },
    )


def dispute_detail(request, public_id):
    _operator_only(request)
    dispute = get_object_or_404(
        Dispute.objects.select_related(
            "driver",
            "platform",
            "reward_line__rule_version",
            "reward_line__run",
            "complaint",
            "resolved_by",
            "correction_transaction",
        ),
        public_id=public_id,
    )
    suggested = disputes.suggested_correction(dispute)
    if request.method == "POST" and dispute.status == Dispute.Status.OPEN:
        form = ResolveForm(request.POST)
        if form.is_valid():
            try:
                disputes.dispute_resolve(
                    dispute=dispute,
                    operator=request.user,
                    uphold=form.cleaned_data["decision"] == "uphold",
                    resolution=form.cleaned_data["resolution"],
                    correction_fen=form.cleaned_data.get("correction_fen"),
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("The dispute is resolved; the driver sees the answer."))
                return redirect("rewards_disputes:detail", public_id=dispute.public_id)
    elif request.method == "POST":
        messages.error(request, _("This dispute is resolved already; it is not resolved again."))
        return redirect("rewards_disputes:detail", public_id=dispute.public_id)
    else:
        initial = {"unit": "yuan"}
        if suggested:
            initial["correction"] = (
                statements.format_money(suggested).replace("¥", "").replace(",", "")
            )
        form = ResolveForm(initial=initial)
    line = dispute.reward_line
    history = list(log_registry.get_logs_for_instance(dispute).select_related("user"))
    return render(
        request,
        "rewards/admin/dispute_detail.html",
        {
            "dispute": dispute,
            "masked_mobile": dispute.driver.masked_mobile,
            "month_label": statements.month_label(dispute.period_start),
            "line": line,
            "line_amount": statements.Money(line.amount_fen, line.currency) if line else None,
            "line_explanation": statements.explanation_lines(line.explanation) if line else [],
            "line_sentence": (line.explanation or {}).get("sentence", "") if line else "",
            "suggested": statements.Money(suggested) if suggested is not None else None,
            "correction": (
                statements.Money(dispute.correction_fen)
                if dispute.correction_fen is not None
                else None
            ),
            "form": form if dispute.status == Dispute.Status.OPEN else None,
            "history": history,
        },
    )


urlpatterns = [
    path("", dispute_list, name="list"),
    path("<uuid:public_id>/", dispute_detail, name="detail"),
]


@hooks.register("register_admin_urls")
def register_dispute_admin_urls():
    return [path("reward-disputes/", include((urlpatterns, "rewards_disputes")))]


class DisputesMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser


@hooks.register("register_admin_menu_item")
def register_disputes_menu_item():
    return DisputesMenuItem(
        gettext_lazy("Disputes"),
        reverse("rewards_disputes:list"),
        name="reward-disputes",
        icon_name="help",
        order=385,
    )
