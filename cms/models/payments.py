"""Money in through Stripe Checkout, and the Stripe events (webhooks) the site has received.

Amounts are whole fen (1/100 yuan), as Stripe counts CNY. See cms/payments.py for the
services and docs/decisions/0009-payments-through-stripe.md for the reasoning."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .identity import Organization


class CheckoutPayment(models.Model):
    """One Stripe Checkout Session that an app started (a course, seats, a funding top-up).

    The app keeps its own id in ``reference`` and listens to the signals in cms.payments."""

    class Purpose(models.TextChoices):
        COURSE = "course", _("Course purchase")
        SEATS = "seats", _("Seat purchase")
        FUNDING = "funding", _("Funding top-up")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", pgettext_lazy("payment status", "Paid")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", pgettext_lazy("payment status", "Failed")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    reference = models.CharField(_("reference"), max_length=100, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        related_name="checkout_payments",
        null=True,
        blank=True,
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="checkout_payments",
        null=True,
        blank=True,
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    description = models.CharField(_("description"), max_length=250)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    session_id = models.CharField(
        _("Checkout Session"), max_length=255, unique=True, null=True, blank=True
    )
    session_url = models.URLField(_("Checkout address"), max_length=2000, blank=True)
    payment_intent_id = models.CharField(
        _("PaymentIntent"), max_length=255, blank=True, db_index=True
    )
    charge_id = models.CharField(_("charge"), max_length=255, blank=True, db_index=True)
    amount_refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)

    class Meta:
        verbose_name = _("Checkout payment")
        verbose_name_plural = _("Checkout payments")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["purpose", "reference"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="cms_checkoutpayment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="cms_checkoutpayment_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded_fen__gte=0)
                & Q(amount_refunded_fen__lte=F("amount_fen")),
                name="cms_checkoutpayment_refunded_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.reference} ({self.get_status_display()})"

    @property
    def is_paid(self) -> bool:
        """Money was received (it may since have been refunded in part or in full)."""
        return self.status in (
            self.Status.PAID,
            self.Status.PARTIALLY_REFUNDED,
            self.Status.REFUNDED,
        )


class CheckoutRefund(models.Model):
    """A refund Stripe made on a Checkout payment, recorded once so it is signalled once. A lost
    dispute (chargeback) is recorded the same way, under the dispute's id (``dp_…``)."""

    refund_id = models.CharField(_("Stripe refund"), max_length=255, unique=True)
    payment = models.ForeignKey(
        CheckoutPayment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Checkout refund")
        verbose_name_plural = _("Checkout refunds")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="cms_checkoutrefund_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.refund_id} ({self.amount_fen} fen)"


class StripeEvent(models.Model):
    """An event Stripe sent to the webhook, verified and stored before it is processed.

    The unique ``event_id`` makes redeliveries harmless; ``processed_at`` stays empty until
    every handler of its type succeeded, and unprocessed events are retried."""

    event_id = models.CharField(_("event"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    account = models.CharField(
        _("connected account"), max_length=255, blank=True, help_text=_("Empty: the platform.")
    )
    livemode = models.BooleanField(_("live mode"), default=False)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PaymentAlert(models.Model):
    """Something about money that code must not decide alone and an operator has to look at
    (a bank payout returned after it was paid, a charge disputed, an amount Stripe received
    that differs from what we asked). Raised once per (kind, reference) by
    `cms.payments.payment_alert`, listed in the admin's Stripe page until an operator marks it
    resolved with a note."""

    class Kind(models.TextChoices):
        AMOUNT_MISMATCH = "amount_mismatch", _("Paid amount differs from the price")
        DUPLICATE_PAYMENT = "duplicate_payment", _("Paid twice for one thing")
        CHARGE_DISPUTED = "charge_disputed", _("Charge disputed by the customer")
        DISPUTE_LOST = "dispute_lost", _("Dispute lost: money taken back")
        PAYOUT_RETURNED_AFTER_PAID = "payout_returned", _("Bank returned a paid payout")
        PAYOUT_DELAYED = "payout_delayed", _("Payout not sent for a long time")
        TRANSFER_REVERSED_PAID = "transfer_reversed_paid", _("Transfer reversed after payout")
        TRANSFER_PARTLY_REVERSED = "transfer_partly_reversed", _("Transfer partly reversed")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    reference = models.CharField(
        _("reference"), max_length=255, help_text=_("The Stripe object or our record concerned.")
    )
    message = models.TextField(_("what happened"))
    amount_fen = models.BigIntegerField(_("amount (fen)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    resolution = models.TextField(_("what was done"), blank=True)

    class Meta:
        verbose_name = _("payment alert")
        verbose_name_plural = _("payment alerts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="cms_paymentalert_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reference}"
