"""Platforms' service data: which drivers a platform may report on, and what it reports."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LinkRequest(models.Model):
    """A platform asks to link one of its drivers to a Roadwise account. The driver approves it
    on the site, or types its code there (the platform shows the code in its own app)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the driver")
        APPROVED = "approved", _("approved")
        DECLINED = "declined", _("declined")
        CANCELLED = "cancelled", _("replaced by a newer request")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.CASCADE,
        related_name="link_requests",
        verbose_name=_("platform"),
    )
    mobile = models.CharField(_("mobile number"), max_length=20)
    platform_driver_id = models.CharField(_("the platform's driver id"), max_length=64)
    code = models.CharField(_("code"), max_length=12, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="link_requests",
        verbose_name=_("driver"),
    )

    class Meta:
        verbose_name = _("link request")
        verbose_name_plural = _("link requests")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["mobile", "status"])]

    def __str__(self) -> str:
        return f"{self.platform} → {self.mobile} ({self.status})"


class DriverLink(models.Model):
    """A driver agreed that this platform may send Roadwise their service data (for rewards).
    Ended by the driver (``unlinked_at``); a new link may be made later."""

    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.CASCADE,
        related_name="driver_links",
        verbose_name=_("platform"),
    )
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="platform_links",
        verbose_name=_("driver"),
    )
    platform_driver_id = models.CharField(_("the platform's driver id"), max_length=64)
    request = models.OneToOneField(
        LinkRequest, on_delete=models.PROTECT, related_name="link", null=True, blank=True
    )
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    unlinked_at = models.DateTimeField(_("unlinked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("platform link")
        verbose_name_plural = _("platform links")
        ordering = ["-linked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "driver"],
                condition=Q(unlinked_at__isnull=True),
                name="driver_link_one_active_per_platform",
            ),
            models.UniqueConstraint(
                fields=["platform", "platform_driver_id"],
                condition=Q(unlinked_at__isnull=True),
                name="driver_link_platform_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} ↔ {self.driver}"


class ServiceEvent(models.Model):
    """One fact a platform reported about a linked driver. ``(platform, external_id)`` is the
    platform's own id: sending the same event again changes nothing."""

    class Kind(models.TextChoices):
        TRIP = "trip", _("trip completed")
        RATING = "rating", _("passenger rating")
        COMPLAINT = "complaint", _("complaint")
        SAFETY_INCIDENT = "safety_incident", _("safety incident")
        ONLINE_SESSION = "online_session", _("online session")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("under review")
        UPHELD = "upheld", _("upheld")
        DISMISSED = "dismissed", _("dismissed")

    class Severity(models.TextChoices):
        MINOR = "minor", _("minor")
        SERIOUS = "serious", _("serious")

    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="service_events",
        verbose_name=_("platform"),
    )
    external_id = models.CharField(_("platform's event id"), max_length=100)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_events",
        verbose_name=_("driver"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    fare_fen = models.BigIntegerField(_("driver's earnings (fen)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, blank=True)
    trip_external_id = models.CharField(_("trip id"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service event")
        verbose_name_plural = _("service events")
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="service_event_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="service_event_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=models.F("occurred_at")),
                name="service_event_ends_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(fields=["platform", "driver", "kind", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"
