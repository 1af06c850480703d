"""One-time codes sent by SMS, and the outbox of SMS messages waiting to be delivered."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cms.phone import mask_mobile


class OneTimeCode(models.Model):
    """A short code proving that someone holds a mobile phone. Only a hash is stored."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        LOGIN = "login", _("Sign-in")
        PASSWORD_RESET = "password_reset", _("Password reset")

    mobile = models.CharField(_("mobile number"), max_length=20, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["mobile", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} code for {mask_mobile(self.mobile)}"


class OutboundSms(models.Model):
    """An SMS to send. A Celery task hands it to the configured sender and then forgets
    the text, so that codes do not sit in the database after delivery."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    mobile = models.CharField(_("mobile number"), max_length=20)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound SMS")
        verbose_name_plural = _("outbound SMS")

    def __str__(self) -> str:
        return f"SMS to {mask_mobile(self.mobile)} ({self.get_status_display()})"
