"""Issuers' signing keys. Certificates themselves come in later steps of issue 4."""

import uuid

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
