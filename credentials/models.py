"""Issuers' keys, issued credentials, their status lists, and drivers' consents."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class IssuerKey(models.Model):
    """One Ed25519 key pair of an issuing organisation, a verification method of its did:web DID.

    The private half is stored only encrypted (``credentials.keys``); ``retired_at`` is empty
    for the organisation's current key. Retired keys are kept, and stay in the DID document,
    so that certificates signed with them still verify.
    """

    organization = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="issuer_keys",
        verbose_name=_("organisation"),
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key_id = models.CharField(_("key id"), max_length=32)
    public_key_multibase = models.CharField(_("public key (Multikey)"), max_length=64)
    encrypted_private_key = models.TextField(_("encrypted private key"), editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("issuer key")
        verbose_name_plural = _("issuer keys")
        ordering = ["organization", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key_id"], name="issuer_key_unique_key_id"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(retired_at__isnull=True),
                name="issuer_key_one_current_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.slug}#{self.key_id}"

    def __repr__(self) -> str:
        # Never the encrypted private key, not even in debugging output.
        return f"<IssuerKey {self}>"

    @property
    def is_current(self) -> bool:
        return self.retired_at is None


class StatusList(models.Model):
    """One W3C Bitstring Status List of an issuer, for one purpose (revocation or suspension).

    ``bits`` holds the list itself (bit 0 is the leftmost bit of the first byte, as the spec
    requires). Indexes are handed out in a scrambled order (``index_for``) so that neighbouring
    certificates do not get neighbouring bits. ``signed_document`` caches the signed
    BitstringStatusListCredential; it is re-signed whenever a bit changes and before it expires.
    """

    class Purpose(models.TextChoices):
        REVOCATION = "revocation", _("revocation")
        SUSPENSION = "suspension", _("suspension")

    SIZE = 131_072  # entries: the spec's minimum, for herd privacy (16 KiB)

    issuer = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="status_lists",
        verbose_name=_("issuer"),
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    number = models.PositiveIntegerField(_("number"), default=1)
    bits = models.BinaryField(_("bits"), editable=False)
    allocated = models.PositiveIntegerField(_("entries in use"), default=0)
    scramble_a = models.PositiveIntegerField(editable=False)
    scramble_b = models.PositiveIntegerField(editable=False)
    version = models.PositiveIntegerField(_("version"), default=0)
    signed_document = models.TextField(_("signed status list credential"), blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("status list")
        verbose_name_plural = _("status lists")
        ordering = ["issuer", "purpose", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "purpose", "number"], name="status_list_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issuer.slug}/{self.purpose}/{self.number}"

    def index_for(self, ordinal: int) -> int:
        """The bit index of the ``ordinal``-th entry handed out: an odd multiplier modulo a
        power of two is a bijection, so every index is used exactly once."""
        return (self.scramble_a * ordinal + self.scramble_b) % self.SIZE

    def bit(self, index: int) -> bool:
        data = bytes(self.bits)
        return bool(data[index // 8] & (0x80 >> (index % 8)))


class Credential(models.Model):
    """A signed Open Badges 3.0 credential issued for one completion. Never edited once signed:
    a mistake is corrected by revoking it and issuing another."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        REVOKED = "revoked", _("revoked")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("certificate number"), max_length=32, unique=True)
    completion = models.OneToOneField(
        "courses.Completion",
        on_delete=models.PROTECT,
        related_name="credential",
        verbose_name=_("completion"),
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="credentials",
        verbose_name=_("holder"),
    )
    course = models.ForeignKey(
        "courses.CoursePage",
        on_delete=models.PROTECT,
        related_name="credentials",
        verbose_name=_("course"),
    )
    issuer = models.ForeignKey(
        "cms.Organization",
        on_delete=models.PROTECT,
        related_name="issued_credentials",
        verbose_name=_("issuer"),
    )
    co_signers = models.ManyToManyField(
        "cms.Organization",
        blank=True,
        related_name="co_signed_credentials",
        verbose_name=_("co-signed by"),
    )
    holder_name = models.CharField(_("name on the certificate"), max_length=150)
    document = models.TextField(_("signed credential (JSON)"), editable=False)
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    revocation_list = models.ForeignKey(
        StatusList, on_delete=models.PROTECT, related_name="+", editable=False
    )
    revocation_index = models.PositiveIntegerField(editable=False)
    suspension_list = models.ForeignKey(
        StatusList, on_delete=models.PROTECT, related_name="+", editable=False
    )
    suspension_index = models.PositiveIntegerField(editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    compact = models.TextField(_("compact signed form (QR)"), editable=False)
    share_token = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    pdf = models.FileField(_("PDF certificate"), upload_to="certificates/pdf/", blank=True)
    badge = models.FileField(_("badge image"), upload_to="certificates/badge/", blank=True)
    files_generated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["revocation_list", "revocation_index"], name="credential_unique_rev_bit"
            ),
            models.UniqueConstraint(
                fields=["suspension_list", "suspension_index"], name="credential_unique_sus_bit"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.valid_until is not None and self.valid_until <= timezone.now()


class CredentialStatusChange(models.Model):
    """Who revoked, suspended or reinstated a credential, when and why (append-only)."""

    class Action(models.TextChoices):
        REVOKE = "revoke", _("revoked")
        SUSPEND = "suspend", _("suspended")
        REINSTATE = "reinstate", _("suspension lifted")

    credential = models.ForeignKey(
        Credential, on_delete=models.PROTECT, related_name="status_changes"
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    reason = models.CharField(_("reason"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credential status change")
        verbose_name_plural = _("credential status changes")
        ordering = ["credential", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.credential} {self.action}"


class ConsentGrant(models.Model):
    """A driver lets one platform list their credentials through the API, until withdrawn."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="consent_grants",
        verbose_name=_("driver"),
    )
    platform = models.ForeignKey(
        "cms.Organization",
        on_delete=models.CASCADE,
        related_name="consent_grants",
        verbose_name=_("platform"),
        limit_choices_to={"kind": "platform"},
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "platform"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder} → {self.platform}"
