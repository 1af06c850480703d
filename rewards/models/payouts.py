"""Money out to drivers through Stripe Connect Express, and Stripe refunds the ledger could not
book yet.

A driver connects one Express account (`PayoutAccount`); each `Payout` moves their payable
balance to it (a transfer) and on to their bank (a payout on the connected account). The ledger
postings of a payout are keyed by its public id (see `Payout.ledger_keys`); services live in
`rewards.payouts`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PayoutAccount(models.Model):
    """A driver's Stripe Connect Express account, as Stripe last described it."""

    driver = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("driver"),
        on_delete=models.PROTECT,
        related_name="payout_account",
    )
    stripe_account_id = models.CharField(_("Stripe account"), max_length=255, unique=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    details_submitted = models.BooleanField(_("details submitted"), default=False)
    payouts_enabled = models.BooleanField(_("payouts enabled"), default=False)
    transfers_active = models.BooleanField(_("can receive transfers"), default=False)
    requirements_due = models.JSONField(
        _("information Stripe still needs"), default=list, blank=True
    )
    disabled_reason = models.CharField(_("why it is disabled"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Status(models.TextChoices):
        INFORMATION_NEEDED = "information_needed", _("Information needed")
        IN_REVIEW = "in_review", _("Being checked by Stripe")
        READY = "ready", _("Ready for payouts")

    class Meta:
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def is_ready(self) -> bool:
        return self.payouts_enabled and self.transfers_active

    @property
    def status(self) -> str:
        if self.is_ready:
            return self.Status.READY
        if self.requirements_due or not self.details_submitted:
            return self.Status.INFORMATION_NEEDED
        return self.Status.IN_REVIEW


class Payout(models.Model):
    """One payout of a driver's payable balance: pending (the ledger moved the money to
    "payouts in transit"; Stripe has not taken it yet) → in transit (the transfer and the bank
    payout exist) → paid, or failed / reversed (the money is back on the payable balance)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        IN_TRANSIT = "in_transit", _("On its way to your bank")
        PAID = "paid", pgettext_lazy("payment status", "Paid")
        FAILED = "failed", _("Failed, money returned to your balance")
        REVERSED = "reversed", _("Cancelled, money returned to your balance")

    UNFINISHED = (Status.PENDING, Status.IN_TRANSIT)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("driver"),
        on_delete=models.PROTECT,
        related_name="payouts",
    )
    destination = models.CharField(
        _("Stripe account"),
        max_length=255,
        help_text=_("The driver's connected account when the payout was requested."),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    transfer_id = models.CharField(_("Stripe transfer"), max_length=255, blank=True)
    transfer_reversal_id = models.CharField(
        _("Stripe transfer reversal"), max_length=255, blank=True
    )
    stripe_payout_id = models.CharField(_("Stripe payout"), max_length=255, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=100, blank=True)
    failure_message = models.TextField(_("failure reason"), blank=True)
    last_error = models.TextField(
        _("last error"), blank=True, help_text=_("Why the last attempt to send it failed.")
    )
    attempts = models.PositiveIntegerField(_("attempts to send"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="rewards_payout_amount_positive"
            ),
            # One unfinished payout per driver (the service checks first, under a row lock).
            models.UniqueConstraint(
                fields=["driver"],
                condition=Q(status__in=["pending", "in_transit"]),
                name="rewards_payout_one_unfinished_per_driver",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="rewards_payout_due")]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.get_status_display()})"

    # Ledger transactions and Stripe idempotency keys, all derived from the public id.
    @property
    def sent_key(self) -> str:
        return f"payout:{self.public_id}:sent"

    @property
    def settled_key(self) -> str:
        return f"payout:{self.public_id}:settled"

    @property
    def returned_key(self) -> str:
        return f"payout:{self.public_id}:returned"

    @property
    def ledger_keys(self) -> list[str]:
        return [self.sent_key, self.settled_key, self.returned_key]

    @property
    def transfer_idempotency_key(self) -> str:
        return f"payout:{self.public_id}:transfer"

    @property
    def payout_idempotency_key(self) -> str:
        return f"payout:{self.public_id}:payout"

    @property
    def reversal_idempotency_key(self) -> str:
        return f"payout:{self.public_id}:transfer-reversal"

    @property
    def transfer_group(self) -> str:
        return f"payout:{self.public_id}"

    @property
    def money_returned(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.REVERSED)


class UnpostedRefund(models.Model):
    """A Stripe refund the ledger refused to book: a platform's funding top-up refunded after
    the platform spent the money on rewards (its funding account may not go below its floor).

    Stripe has paid the money back, so the ledger owes the posting: it is retried by the beat
    task `rewards.tasks.unposted_refunds_retry` (it succeeds once the platform's funding holds
    the amount again, e.g. after the next top-up) and reconciliation reports the refund until
    it is booked. An operator can also give the platform credit (a lower floor) meanwhile."""

    refund_id = models.CharField(_("Stripe refund"), max_length=255, unique=True)
    payment_public_id = models.UUIDField(_("payment"))
    organization = models.ForeignKey(
        "cms.Organization",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    reason = models.TextField(_("why it is not booked"))
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    posted_at = models.DateTimeField(_("booked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund not yet booked")
        verbose_name_plural = _("refunds not yet booked")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.refund_id
