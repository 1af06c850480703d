"""One-off awards from platforms, and drivers' disputes of what they were (not) paid."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Award(models.Model):
    """A one-off reward a platform gave a linked driver through the API, paid from its funding.
    ``(platform, external_id)`` is the platform's own id: sending it again pays nothing more."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="awards",
        verbose_name=_("platform"),
    )
    external_id = models.CharField(_("platform's award id"), max_length=100)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="awards",
        verbose_name=_("driver"),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    reason = models.CharField(_("reason"), max_length=500)
    transaction = models.OneToOneField(
        "rewards.Transaction",
        on_delete=models.PROTECT,
        related_name="award",
        verbose_name=_("ledger transaction"),
    )
    created_at = models.DateTimeField(_("awarded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("one-off award")
        verbose_name_plural = _("one-off awards")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="rewards_award_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="rewards_award_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class Dispute(models.Model):
    """A driver disputes a reward line, or a complaint that cost them a reward. An operator
    resolves it; an upheld dispute with a correction posts an adjustment to the ledger."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("dispute status", "open")
        UPHELD = "upheld", pgettext_lazy("dispute status", "upheld")
        REJECTED = "rejected", pgettext_lazy("dispute status", "rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reward_disputes",
        verbose_name=_("driver"),
    )
    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="reward_disputes",
        verbose_name=_("platform"),
    )
    period_start = models.DateField(_("month"))
    reward_line = models.ForeignKey(
        "rewards.RewardLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("reward line"),
    )
    complaint = models.ForeignKey(
        "rewards.ServiceEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("complaint"),
    )
    reason = models.TextField(_("the driver's reason"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution = models.TextField(_("resolution"), blank=True)
    correction_fen = models.BigIntegerField(
        _("correction (fen)"),
        null=True,
        blank=True,
        help_text=_("Positive: paid to the driver. Negative: taken back."),
    )
    correction_transaction = models.OneToOneField(
        "rewards.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispute",
        verbose_name=_("correcting transaction"),
    )

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reward_line__isnull=False, complaint__isnull=True)
                | Q(reward_line__isnull=True, complaint__isnull=False),
                name="rewards_dispute_line_xor_complaint",
            ),
            models.UniqueConstraint(
                fields=["reward_line"],
                condition=Q(status="open"),
                name="rewards_dispute_one_open_per_line",
            ),
            models.UniqueConstraint(
                fields=["complaint"],
                condition=Q(status="open"),
                name="rewards_dispute_one_open_per_complaint",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_at__isnull=False)),
                name="rewards_dispute_resolved_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.driver_id} {self.period_start:%Y-%m} ({self.status})"
