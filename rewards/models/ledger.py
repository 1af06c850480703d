"""The double-entry ledger: accounts, transactions and their entries (legs), in integer fen.

Sign convention. Every entry's `amount_fen` is signed and an account's balance is the sum of its
entries. A positive balance is money the ledger holds on the account's behalf (what the
platform has left to spend, what a driver is owed, what is on its way to a bank, the fees we
earned). Money enters and leaves the ledger through the currency's `external` account, whose
balance is therefore minus everything the ledger holds: the balances of all accounts of one
currency always sum to zero, as the legs of every transaction do.

    deposit  platform funding +X, external −X          (a platform pays money in)
    reward   platform funding −X, driver payable +X    (a reward line is earned)
    payout   driver payable −X, payouts in transit +X  (a payout is sent)
    settled  payouts in transit −X, external +X        (the bank confirms it)
    returned payouts in transit −X, driver payable +X  (a payout failed: kind payout too)
    fee      driver payable or platform funding −X, fees +X
    sale     course sales +X, external −X              (a course or seats paid through Stripe)
    refund   course sales or platform funding −X, external +X  (Stripe refunded a payment)

Stripe's own fees are not in the ledger: it holds the gross amounts customers paid (see
`rewards.reconcile`). Postings from Stripe are in `rewards.payments_ledger` and
`rewards.payouts`.

Rows are never updated or deleted: PostgreSQL refuses both (see migration 0001_ledger), and a
mistake is corrected by a reversing transaction. Services live in `rewards.ledger`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """Somewhere money can be: a platform's funding, a driver's payable, a system account."""

    class Kind(models.TextChoices):
        PLATFORM_FUNDING = "platform_funding", _("Platform funding")
        DRIVER_PAYABLE = "driver_payable", _("Payable to driver")
        PAYOUTS_IN_TRANSIT = "payouts_in_transit", _("Payouts in transit")
        FEES = "fees", _("Fees")
        COURSE_SALES = "course_sales", _("Course sales (revenue received through Stripe)")
        EXTERNAL = "external", _("Outside the ledger (deposits and settled payouts)")

    code = models.CharField(_("code"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    organization = models.ForeignKey(
        "cms.Organization",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    currency = models.CharField(_("currency"), max_length=3)
    floor_fen = models.BigIntegerField(
        _("lowest balance allowed (fen)"),
        null=True,
        blank=True,
        help_text=_("A negative floor is a credit limit. Empty: no floor."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The sum of the account's entries, kept by the database (triggers of migration 0006) in
    # the statement that inserts them: the floor check reads it instead of summing every entry
    # the account ever had. The entries stay the truth; `check_invariants` compares the two.
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0, editable=False)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="rewards_account_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(kind="platform_funding", organization__isnull=False)
                | (~Q(kind="platform_funding") & Q(organization__isnull=True)),
                name="rewards_account_organization_iff_platform_funding",
            ),
            models.CheckConstraint(
                condition=Q(kind="driver_payable", user__isnull=False)
                | (~Q(kind="driver_payable") & Q(user__isnull=True)),
                name="rewards_account_user_iff_driver_payable",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        # Never write back a balance read earlier: only the entries' trigger changes it.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "balance_fen"
            ]
        super().save(*args, **kwargs)


class Transaction(models.Model):
    """One movement of money: two or more entries summing to zero per currency."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        REWARD = "reward", _("Reward")
        AWARD = "award", _("One-off award")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")
        PAYOUT = "payout", _("Payout")
        FEE = "fee", _("Fee")
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["posted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="rewards_transaction_reversal_iff_reverses",
            ),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="rewards_transaction_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.idempotency_key}"


class Entry(models.Model):
    """One leg of a transaction. `posted_at` is the transaction's, copied so that a balance at a
    moment is one indexed query over this table."""

    transaction = models.ForeignKey(
        Transaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3)
    posted_at = models.DateTimeField(_("posted at"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["posted_at", "pk"]
        indexes = [
            models.Index(fields=["account", "posted_at"], name="rewards_entry_account_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_fen=0), name="rewards_entry_amount_not_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_fen:+d} {self.currency}"


class AccountSlice(models.Model):
    """Part of a platform funding account's maintained balance (PostgreSQL, migration 0007):
    postings from one platform each lock a slice instead of queueing on the account's row. The
    account's balance is its row's ``balance_fen`` plus its slices'. Written only by the
    database's ledger functions and triggers; unused on SQLite."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="slices"
    )
    slice = models.SmallIntegerField(_("slice"))
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0)

    class Meta:
        db_table = "rewards_account_slice"
        verbose_name = _("ledger account slice")
        verbose_name_plural = _("ledger account slices")
        constraints = [
            models.UniqueConstraint(fields=["account", "slice"], name="rewards_account_slice_key")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.slice} {self.balance_fen}"
