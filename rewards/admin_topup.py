"""Admin: a platform's staff top up its reward funding by paying through Stripe Checkout.

Platform staff (users whose organisation is an active platform, `uploading_platform`) enter an
amount in yuan and are sent to Stripe; when Stripe confirms the payment (the webhook), the
ledger books a deposit into the platform's funding (`rewards.payments_ledger`). The page lists
their top-ups with their status and the funding balance. Operators (superusers) see every
platform's top-ups and the refunds the ledger could not book yet, read-only. Anyone else gets
no menu item and a 403. Registers its own hooks; imported by ``rewards.wagtail_hooks``.
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import include, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from cms.models import CheckoutPayment
from cms.payments import PaymentError, PaymentsNotConfigured, checkout_start, payments_configured
from rewards import ledger
from rewards.admin_views import uploading_platform, yuan
from rewards.models import Account, Transaction, UnpostedRefund
from rewards.payments_ledger import paid_key

MIN_YUAN = Decimal("1")
MAX_YUAN = Decimal("1000000")  # ¥1,000,000 per top-up; larger sums by bank transfer
TOPUPS_SHOWN = 50


def can_see_topups(user) -> bool:
    return bool(user.is_authenticated and user.is_superuser) or uploading_platform(user) is not None


class TopUpForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (yuan)"),
        min_value=MIN_YUAN,
        max_value=MAX_YUAN,
        max_digits=9,
        decimal_places=2,
        help_text=gettext_lazy("From ¥1 to ¥1,000,000, in yuan with at most two decimals."),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "1", "inputmode": "decimal"}),
    )

    def amount_fen(self) -> int:
        amount = self.cleaned_data["amount"]
        return int((amount * 100).to_integral_value())


def _funding_balance(platform) -> int:
    account = Account.objects.filter(
        kind=Account.Kind.PLATFORM_FUNDING, organization=platform, currency="CNY"
    ).first()
    return ledger.balance(account) if account is not None else 0


def _rows(payments) -> list[dict]:
    payments = list(payments)
    booked = set(
        Transaction.objects.filter(
            idempotency_key__in=[paid_key(payment) for payment in payments]
        ).values_list("idempotency_key", flat=True)
    )
    waiting = {}
    for refund in UnpostedRefund.objects.filter(
        payment_public_id__in=[payment.public_id for payment in payments], posted_at=None
    ):
        waiting[refund.payment_public_id] = waiting.get(refund.payment_public_id, 0) + (
            refund.amount_fen
        )
    return [
        {
            "payment": payment,
            "amount": yuan(payment.amount_fen),
            "refunded": yuan(payment.amount_refunded_fen) if payment.amount_refunded_fen else "",
            "booked": paid_key(payment) in booked,
            "waiting": yuan(waiting[payment.public_id]) if payment.public_id in waiting else "",
        }
        for payment in payments
    ]


def topup(request):
    if not can_see_topups(request.user):
        raise PermissionDenied
    platform = uploading_platform(request.user)
    configured = payments_configured()
    form = None
    if platform is not None:
        if request.method == "POST":
            form = TopUpForm(request.POST)
            if not configured:
                messages.error(request, str(PaymentsNotConfigured()))
            elif form.is_valid():
                response = _start(request, platform, form)
                if response is not None:
                    return response
        else:
            form = TopUpForm()
            if request.GET.get("paid"):
                messages.success(
                    request,
                    _(
                        "Thank you. The top-up is added to your funding as soon as Stripe "
                        "confirms the payment, usually within a minute."
                    ),
                )
            elif request.GET.get("cancelled"):
                messages.warning(request, _("The payment was cancelled; nothing was charged."))
    payments = CheckoutPayment.objects.filter(purpose=CheckoutPayment.Purpose.FUNDING)
    if platform is not None:
        payments = payments.filter(organization=platform)
    payments = payments.select_related("organization", "user").order_by("-created_at")
    unposted = UnpostedRefund.objects.filter(posted_at=None).select_related("organization")
    if platform is not None:
        unposted = unposted.filter(organization=platform)
    return render(
        request,
        "rewards/admin/topup.html",
        {
            "platform": platform,
            "configured": configured,
            "form": form,
            "balance": yuan(_funding_balance(platform)) if platform is not None else None,
            "rows": _rows(payments[:TOPUPS_SHOWN]),
            "unposted": [
                {"refund": refund, "amount": yuan(refund.amount_fen)} for refund in unposted
            ],
            "operator": platform is None,
        },
    )


def _start(request, platform, form):
    url = request.build_absolute_uri(reverse("rewards_topup:topup"))
    reference = str(uuid.uuid4())
    try:
        payment = checkout_start(
            purpose=CheckoutPayment.Purpose.FUNDING,
            amount_fen=form.amount_fen(),
            description=_("Reward funding for %(platform)s") % {"platform": platform.display_name},
            success_url=f"{url}?paid={reference}",
            cancel_url=f"{url}?cancelled={reference}",
            reference=reference,
            user=request.user,
            organization=platform,
        )
    except PaymentsNotConfigured as exc:
        messages.error(request, str(exc))
        return None
    except PaymentError as exc:
        messages.error(request, str(exc))
        return None
    return redirect(payment.session_url)


urlpatterns = [path("", topup, name="topup")]


class TopUpMenuItem(MenuItem):
    def is_shown(self, request):
        return can_see_topups(request.user)


@hooks.register("register_admin_urls")
def register_topup_admin_urls():
    return [path("funding/", include((urlpatterns, "rewards_topup")))]


@hooks.register("register_admin_menu_item")
def register_topup_menu_item():
    return TopUpMenuItem(
        gettext_lazy("Reward funding"),
        reverse("rewards_topup:topup"),
        name="reward-funding",
        icon_name="plus",
        order=372,
    )
