"""Signed webhooks to platforms: the endpoints a platform subscribed, and every delivery.

The signing secret is shown once, when the subscription is made, and stored encrypted
(Fernet, like the issuers' private keys, under a key derived from
``CREDENTIALS_KEY_ENCRYPTION_KEY``): unlike an API key it cannot be a hash, because we need
the secret itself to sign each delivery. See cms/platform_webhooks.py for the services."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .identity import Organization


class PlatformWebhook(models.Model):
    """One HTTPS endpoint of a platform, and the event types it wants."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("platform"),
        on_delete=models.CASCADE,
        related_name="webhooks",
        limit_choices_to={"kind": Organization.Kind.PLATFORM},
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("event types"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("platform webhook")
        verbose_name_plural = _("platform webhooks")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organization} → {self.url}"


class PlatformWebhookDelivery(models.Model):
    """One event for one subscription. ``event_id`` is the same on every attempt, so the
    receiver can ignore an event it has already processed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(
        PlatformWebhook,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event type"), max_length=40)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_response = models.TextField(_("last response (excerpt)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="cms_webhook_delivery_event_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="cms_webhook_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"
