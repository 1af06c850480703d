"""The driver's monthly compensation statements (site and PDF) and disputes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rewards import disputes, selectors, statements
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


# The earnings chart: horizontal bars (they fit a 360 px phone), one row per month, drawn in
# an SVG of this many user units; the page's CSS scales it to the column's width.
CHART_WIDTH = 340
CHART_LABEL = 50  # the month labels' column
CHART_BAR_MAX = 200  # the longest bar
CHART_ROW = 34
CHART_TOP = 4


def _scaled(fen: int, top: int) -> int:
    """A bar's length: 0 for nothing (or a negative month), at least 2 units for any money."""
    if fen <= 0 or top <= 0:
        return 0
    return max(2, round(fen * CHART_BAR_MAX / top))


def earnings_chart(driver, today=None) -> dict | None:
    """What the statements page needs to draw the driver's earned and paid-out money for the
    last 12 months (`rewards.selectors.earnings_by_month`), in the active language; ``None``
    when there is nothing in those months."""
    rows = selectors.earnings_by_month(driver, months=12, today=today)
    if not any(earned or paid for _month, earned, paid in rows):
        return None
    top = max(max(earned, paid) for _month, earned, paid in rows)
    drawn = []
    for index, (month, earned, paid) in enumerate(rows):
        y = CHART_TOP + index * CHART_ROW
        drawn.append(
            {
                "key": statements.month_key(month),
                "label": statements.month_label(month),
                "short": formats.date_format(month, "M"),
                "year": month.year if index == 0 or month.month == 1 else None,
                "earned": statements.Money(earned),
                "paid": statements.Money(paid),
                "earned_width": _scaled(earned, top),
                "paid_width": _scaled(paid, top),
                "y": y,
                "label_y": y + 14,
                "year_y": y + 27,
                "earned_y": y + 3,
                "paid_y": y + 19,
                "earned_text_y": y + 14,
                "paid_text_y": y + 27,
            }
        )
    total_earned = sum(earned for _month, earned, _paid in rows)
    total_paid = sum(paid for _month, _earned, paid in rows)
    best = max(rows, key=lambda row: row[1])
    if best[1] > 0:
        summary = _(
            "Earnings over the last 12 months, from %(first)s to %(last)s: %(earned)s earned in "
            "all, the most in %(best_month)s (%(best)s); %(paid)s paid out."
        ) % {
            "first": statements.month_label(rows[0][0]),
            "last": statements.month_label(rows[-1][0]),
            "earned": statements.Money(total_earned),
            "best_month": statements.month_label(best[0]),
            "best": statements.Money(best[1]),
            "paid": statements.Money(total_paid),
        }
    else:
        summary = _(
            "Earnings over the last 12 months, from %(first)s to %(last)s: %(earned)s earned in "
            "all; %(paid)s paid out."
        ) % {
            "first": statements.month_label(rows[0][0]),
            "last": statements.month_label(rows[-1][0]),
            "earned": statements.Money(total_earned),
            "paid": statements.Money(total_paid),
        }
    return {
        "rows": drawn,
        "summary": summary,
        "width": CHART_WIDTH,
        "height": CHART_TOP * 2 + CHART_ROW * len(rows),
        "bar_x": CHART_LABEL,
        "amount_x": CHART_WIDTH - 2,
        "total_earned": statements.Money(total_earned),
        "total_paid": statements.Money(total_paid),
    }


@login_required
def statement_list(request):
    months = statements.statement_months(request.user)
    return render(
        request,
        "rewards/statement_list.html",
        {
            "title": _("Your monthly statements"),
            "months": months,
            "chart": earnings_chart(request.user) if months else None,
        },
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
