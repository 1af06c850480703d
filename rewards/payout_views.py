"""The driver's payout pages: their payable balance, their Stripe account (connect, finish
onboarding), "Pay out my balance", and their payouts with status and reason."""

import logging
from functools import wraps

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cms.models import User
from cms.payments import PaymentsNotConfigured, payments_configured
from rewards import payouts
from rewards.models import Payout, PayoutAccount
from rewards.statements import Money

logger = logging.getLogger(__name__)
PAYOUTS_SHOWN = 50


def drivers_only(view):
    """Signed-in drivers only: authors, platform staff and operators have no payable balance
    and must not open a Stripe account as a driver (403 with a page that says so)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.role != User.Role.DRIVER:
            return render(request, "rewards/drivers_only.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@drivers_only
@require_http_methods(["GET", "POST"])
def payouts_page(request):
    if request.method == "POST":
        if request.POST.get("action") == "payout":
            _pay_out(request)
        else:
            messages.error(request, _("Unknown action."))
        return redirect("rewards:payouts")
    driver = request.user
    account = PayoutAccount.objects.filter(driver=driver).first()
    balance = payouts.payable_balance(driver)
    history = [
        {
            "payout": payout,
            "amount": Money(payout.amount_fen, payout.currency),
            "reason": payouts.failure_reason(payout) if payout.money_returned else "",
        }
        for payout in Payout.objects.filter(driver=driver).order_by("-created_at", "-pk")[
            :PAYOUTS_SHOWN
        ]
    ]
    unfinished = any(item["payout"].status in Payout.UNFINISHED for item in history)
    return render(
        request,
        "rewards/payouts.html",
        {
            "title": _("Payouts"),
            "configured": payments_configured(),
            "account": account,
            "needed": payouts.requirement_labels(account.requirements_due) if account else [],
            "balance": Money(balance),
            "minimum": Money(payouts.minimum_fen()),
            "can_pay_out": bool(
                account and account.is_ready and not unfinished and balance >= payouts.minimum_fen()
            ),
            "unfinished": unfinished,
            "payouts": history,
        },
    )


def _pay_out(request) -> None:
    try:
        payout = payouts.payout_request(driver=request.user)
    except payouts.PayoutRefused as exc:
        messages.error(request, str(exc))
        return
    messages.success(
        request,
        _("%(amount)s is on its way to your bank account. It usually arrives within a few days.")
        % {"amount": Money(payout.amount_fen, payout.currency)},
    )


@drivers_only
@require_http_methods(["GET", "POST"])
def payouts_connect(request):
    """POST: start (or continue) onboarding at Stripe. GET is Stripe's refresh address (the
    onboarding link expired): a new link for a driver who has an account already."""
    if request.method == "GET" and not PayoutAccount.objects.filter(driver=request.user).exists():
        return redirect("rewards:payouts")
    try:
        url = payouts.payout_account_link(
            driver=request.user,
            return_url=request.build_absolute_uri(reverse("rewards:payouts_return")),
            refresh_url=request.build_absolute_uri(reverse("rewards:payouts_connect")),
        )
    except PaymentsNotConfigured as exc:
        messages.error(request, str(exc))
        return redirect("rewards:payouts")
    except stripe.StripeError as exc:
        logger.warning("Stripe onboarding for driver %s failed: %s", request.user.public_id, exc)
        messages.error(
            request,
            _("Stripe could not be reached or refused the request. Please try again later."),
        )
        return redirect("rewards:payouts")
    return redirect(url)


@drivers_only
def payouts_return(request):
    """Stripe sends the driver back here after onboarding: ask Stripe where it stands."""
    account = PayoutAccount.objects.filter(driver=request.user).first()
    if account is not None and payments_configured():
        try:
            account = payouts.payout_account_refresh(account)
        except stripe.StripeError as exc:
            logger.warning("Could not refresh Stripe account %s: %s", account, exc)
        if account.is_ready:
            messages.success(request, _("Your bank account is connected. You can now pay out."))
        else:
            messages.info(
                request,
                _("Stripe still needs some information before it can pay you."),
            )
    return redirect("rewards:payouts")


urlpatterns = [
    path("payouts/", payouts_page, name="payouts"),
    path("payouts/connect/", payouts_connect, name="payouts_connect"),
    path("payouts/return/", payouts_return, name="payouts_return"),
]
