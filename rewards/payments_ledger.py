"""Money received through Stripe Checkout, in the ledger: receivers of `cms.payments`' signals.

    course or seats paid     sale      course sales +X, external −X      checkout:{payment}:paid
    funding top-up paid      deposit   platform funding +X, external −X  checkout:{payment}:paid
    a refund of either       refund    (course sales | funding) −X, external +X
                                                                  checkout-refund:{refund id}

The signals are sent inside the transaction that processes the Stripe event, once per
transition; the receivers are idempotent anyway (the keys). Amounts are the gross amounts the
customer paid: Stripe's fee is not booked (see `rewards.reconcile`).

A refund of a top-up that the platform has already spent on rewards is refused by the funding
account's floor. Stripe has paid the money back regardless, so raising would only make the
webhook fail forever: the receiver records an `UnpostedRefund` instead, logs an error for the
operators, and `unposted_refunds_retry` (beat) books it once the funding holds the amount again
(the platform's next top-up pays it back first). Reconciliation lists the refund as "in Stripe,
not in the ledger" until then. A receiver never raises for a posting the ledger refuses, but a
database error still rolls the event back (and it is retried).
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from cms.audit import SYSTEM_STRIPE, audit
from cms.models import CheckoutPayment, Organization
from rewards import ledger
from rewards.models import Account, Transaction, UnpostedRefund

logger = logging.getLogger(__name__)

COURSE_PURPOSES = (CheckoutPayment.Purpose.COURSE, CheckoutPayment.Purpose.SEATS)


def course_sales_account(currency: str = "CNY") -> Account:
    """The system account of revenue from courses and seats (no floor: refunds always book).

    `rewards.ledger.account_get_or_create` does not know this kind's code, so it is opened here
    the same way (a stable code; a concurrent first call returns the winner's account)."""
    code = f"system:course-sales:{currency}"
    existing = Account.objects.filter(code=code).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Account.objects.create(
                code=code, kind=Account.Kind.COURSE_SALES, currency=currency
            )
    except IntegrityError:
        return Account.objects.get(code=code)


def paid_key(payment: CheckoutPayment) -> str:
    return f"checkout:{payment.public_id}:paid"


def refund_key(refund_id: str) -> str:
    return f"checkout-refund:{refund_id}"


def _income_account(payment: CheckoutPayment, currency: str) -> Account | None:
    """Where a payment's money sits in the ledger: course sales, or the platform's funding."""
    if payment.purpose in COURSE_PURPOSES:
        return course_sales_account(currency)
    if payment.purpose == CheckoutPayment.Purpose.FUNDING:
        organization = payment.organization
        if organization is None or organization.kind != Organization.Kind.PLATFORM:
            return None
        return ledger.platform_funding_account(organization, currency)
    return None


def payment_paid_post(payment: CheckoutPayment) -> Transaction | None:
    """Book a paid Checkout payment once; None (with an error logged) if it has nowhere to go."""
    currency = payment.currency.upper()
    account = _income_account(payment, currency)
    if account is None:
        logger.error(
            "Paid Checkout payment %s (%s, organisation %s) has no ledger account: not booked; "
            "reconciliation reports its charge %s",
            payment.public_id,
            payment.purpose,
            payment.organization_id,
            payment.charge_id,
        )
        return None
    is_funding = payment.purpose == CheckoutPayment.Purpose.FUNDING
    with transaction.atomic():
        posted = _post_paid(payment, account, currency, is_funding)
        if is_funding:
            audit(
                "roadwise.funding.topup",
                payment,
                actor_label=SYSTEM_STRIPE,
                title=f"Funding top-up {payment.reference} ({payment.organization.slug})",
                once_key=posted.idempotency_key,
                data={
                    "platform": payment.organization.slug,
                    "amount_fen": payment.amount_fen,
                    "currency": currency,
                    "requested_by": payment.user_id,
                    "stripe_charge": payment.charge_id,
                    "transaction": posted.idempotency_key,
                },
            )
    return posted


def _post_paid(payment, account, currency, is_funding) -> Transaction:
    return ledger.post_transaction(
        idempotency_key=paid_key(payment),
        kind=Transaction.Kind.DEPOSIT if is_funding else Transaction.Kind.SALE,
        legs=[
            (account, payment.amount_fen),
            (ledger.external_account(currency), -payment.amount_fen),
        ],
        description=(
            f"Funding top-up paid through Stripe ({payment.reference})"
            if is_funding
            else f"{payment.get_purpose_display()} paid through Stripe: {payment.description}"
        )[:500],
        created_by=payment.user,
        metadata={
            "stripe_charge": payment.charge_id,
            "payment": str(payment.public_id),
            "purpose": payment.purpose,
            "reference": payment.reference,
        },
    )


def refund_post(*, payment: CheckoutPayment, refund_id: str, amount_fen: int) -> Transaction | None:
    """Book a Stripe refund of a payment once. Returns None when the ledger refused it (the
    funding was spent): an `UnpostedRefund` keeps it for the retry and the operators."""
    currency = payment.currency.upper()
    account = _income_account(payment, currency)
    if account is None:
        logger.error(
            "Refund %s of payment %s has no ledger account: not booked",
            refund_id,
            payment.public_id,
        )
        return None
    try:
        posted = ledger.post_transaction(
            idempotency_key=refund_key(refund_id),
            kind=Transaction.Kind.REFUND,
            legs=[(account, -amount_fen), (ledger.external_account(currency), amount_fen)],
            description=f"Stripe refund of {payment.get_purpose_display()} ({payment.reference})"[
                :500
            ],
            metadata={
                "stripe_refund": refund_id,
                "stripe_charge": payment.charge_id,
                "payment": str(payment.public_id),
                "purpose": payment.purpose,
            },
        )
    except ledger.InsufficientFunds as exc:
        # In English whatever the request's language: it is for the operators.
        reason = (
            f"The funding ({exc.account.code}) is {exc.shortfall_fen} fen short of this "
            f"refund of {amount_fen} fen: the platform spent the top-up on rewards."
        )
        held, created = UnpostedRefund.objects.get_or_create(
            refund_id=refund_id,
            defaults={
                "payment_public_id": payment.public_id,
                "organization": payment.organization,
                "amount_fen": amount_fen,
                "currency": currency,
                "reason": reason,
            },
        )
        if not created and held.posted_at is None:
            UnpostedRefund.objects.filter(pk=held.pk).update(reason=reason)
        logger.error(
            "Stripe refunded %s fen of funding top-up %s (refund %s) but the platform's funding "
            "no longer holds it: not booked yet (%s). It is retried; an operator may give the "
            "platform credit.",
            amount_fen,
            payment.public_id,
            refund_id,
            reason,
        )
        return None
    UnpostedRefund.objects.filter(refund_id=refund_id, posted_at=None).update(
        posted_at=timezone.now()
    )
    audit(
        "roadwise.payment.refund",
        payment,
        actor_label=SYSTEM_STRIPE,
        title=f"Refund {refund_id} of {payment.get_purpose_display()} {payment.reference}",
        once_key=refund_id,
        data={
            "purpose": payment.purpose,
            "organization": payment.organization.slug if payment.organization else None,
            "amount_fen": amount_fen,
            "currency": currency,
            "stripe_refund": refund_id,
            "stripe_charge": payment.charge_id,
            "transaction": posted.idempotency_key,
        },
    )
    return posted


def unposted_refunds_retry() -> list[str]:
    """Try again to book the refunds the ledger refused; returns the refund ids now booked."""
    booked = []
    for held in UnpostedRefund.objects.filter(posted_at=None).order_by("created_at", "pk"):
        payment = CheckoutPayment.objects.filter(public_id=held.payment_public_id).first()
        if payment is None:
            continue
        with transaction.atomic():
            posted = refund_post(
                payment=payment, refund_id=held.refund_id, amount_fen=held.amount_fen
            )
            if posted is None:
                UnpostedRefund.objects.filter(pk=held.pk).update(attempts=held.attempts + 1)
            else:
                booked.append(held.refund_id)
    return booked


# --- receivers -----------------------------------------------------------------------------


def on_checkout_paid(sender, payment: CheckoutPayment, **kwargs) -> None:
    payment_paid_post(payment)


def on_checkout_refunded(sender, payment: CheckoutPayment, refund, full: bool = False, **kwargs):
    refund_post(payment=payment, refund_id=refund.refund_id, amount_fen=refund.amount_fen)


def connect_receivers() -> None:
    """Called by `RewardsConfig.ready`."""
    from cms import payments

    payments.checkout_paid.connect(on_checkout_paid, dispatch_uid="rewards.checkout_paid")
    payments.checkout_refunded.connect(
        on_checkout_refunded, dispatch_uid="rewards.checkout_refunded"
    )
