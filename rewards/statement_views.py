"""The driver's monthly compensation statements (site and PDF) and disputes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rewards import disputes, statements
from rewards.models import Dispute, RewardLine, ServiceEvent

HTML_LANG = {"zh-hans": "zh-Hans", "en": "en"}


def _month_or_404(request, month: str):
    period_start = statements.parse_month(month)
    if period_start is None:
        raise Http404
    current = statements.this_month()
    if period_start > current:
        raise Http404  # a month that has not begun
    first = statements.first_month(request.user)
    if period_start != current and (first is None or period_start < first):
        raise Http404
    return period_start


@login_required
def statement_list(request):
    months = statements.statement_months(request.user)
    return render(
        request,
        "rewards/statement_list.html",
        {"title": _("Your monthly statements"), "months": months},
    )


@login_required
def statement_detail(request, month: str):
    period_start = _month_or_404(request, month)
    statement = statements.statement_build(driver=request.user, period_start=period_start)
    return render(
        request,
        "rewards/statement_detail.html",
        {
            "title": _("Statement for %(month)s") % {"month": statement.label},
            "s": statement,
        },
    )


@login_required
def statement_pdf(request, month: str):
    from credentials.rendering.pdf import html_to_pdf

    period_start = _month_or_404(request, month)
    statement = statements.statement_build(driver=request.user, period_start=period_start)
    language = translation.get_language() or "zh-hans"
    html = render_to_string(
        "rewards/pdf/statement.html",
        {"s": statement, "html_lang": HTML_LANG.get(language, language)},
    )
    pdf, _pages = html_to_pdf(html)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="roadwise-statement-{statement.key}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def dispute_new(request, kind: str, pk: int):
    """The driver says what is wrong with a reward line or an upheld complaint."""
    line = complaint = None
    if kind == "line":
        line = get_object_or_404(
            RewardLine.objects.select_related("run__platform", "rule_version"),
            pk=pk,
            driver=request.user,
        )
        period_start = line.run.period_start
        platform = line.run.platform
    elif kind == "complaint":
        complaint = get_object_or_404(
            ServiceEvent.objects.select_related("platform"),
            pk=pk,
            driver=request.user,
            kind=ServiceEvent.Kind.COMPLAINT,
        )
        period_start = statements._china_month(complaint.occurred_at)
        platform = complaint.platform
    else:
        raise Http404
    reason = ""
    errors: list[str] = []
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            disputes.dispute_open(
                driver=request.user, reason=reason, reward_line=line, complaint=complaint
            )
        except ValidationError as exc:
            errors = exc.messages
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(
                request,
                _("Your dispute is sent. An operator will look at it and answer here."),
            )
            return redirect("rewards:disputes")
    open_dispute = Dispute.objects.filter(
        status=Dispute.Status.OPEN,
        **({"reward_line": line} if line else {"complaint": complaint}),
    ).first()
    return render(
        request,
        "rewards/dispute_form.html",
        {
            "title": _("Dispute"),
            "line": line,
            "line_explanation": statements.explanation_lines(line.explanation) if line else [],
            "line_amount": statements.Money(line.amount_fen, line.currency) if line else None,
            "complaint": complaint,
            "platform": platform,
            "month_label": statements.month_label(period_start),
            "month_key": statements.month_key(period_start),
            "reason": reason,
            "errors": errors,
            "open_dispute": open_dispute,
            "min_reason": disputes.MIN_REASON,
            "max_reason": disputes.MAX_REASON,
        },
    )


@login_required
def dispute_list(request):
    items = []
    for dispute in (
        Dispute.objects.filter(driver=request.user)
        .select_related("platform", "reward_line__rule_version", "complaint")
        .order_by("-opened_at", "-pk")
    ):
        items.append(
            {
                "dispute": dispute,
                "month_label": statements.month_label(dispute.period_start),
                "month_key": statements.month_key(dispute.period_start),
                "correction": (
                    statements.Money(dispute.correction_fen) if dispute.correction_fen else None
                ),
            }
        )
    return render(request, "rewards/dispute_list.html", {"title": _("My disputes"), "items": items})


urlpatterns = [
    path("statements/", statement_list, name="statements"),
    path("statements/<str:month>.pdf", statement_pdf, name="statement_pdf"),
    path("statements/<str:month>/", statement_detail, name="statement"),
    path("disputes/", dispute_list, name="disputes"),
    path("disputes/new/<str:kind>/<int:pk>/", dispute_new, name="dispute_new"),
]
