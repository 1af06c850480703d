"""Keys that ride-hailing platforms send as `Authorization: Bearer …` to the JSON API.

Only a SHA-256 hash of each key is stored; the key itself is shown once, when it is made."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cms.api_scopes import ALL_SCOPES, all_scopes

from .identity import Organization


class PlatformApiKey(models.Model):
    """One platform's key. The public ``prefix`` finds the row; the hash proves the secret."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("platform"),
        on_delete=models.PROTECT,
        related_name="api_keys",
        limit_choices_to={"kind": Organization.Kind.PLATFORM},
    )
    name = models.CharField(
        _("name"), max_length=120, help_text=_("What the key is for, e.g. “production servers”.")
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    scopes = models.JSONField(
        _("scopes"),
        default=all_scopes,
        help_text=_("What the key may do; each API operation needs one of these."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        null=True,
        blank=True,
        help_text=_("Leave empty for the site's default (API_RATE_LIMIT_PER_MINUTE)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("platform API key")
        verbose_name_plural = _("platform API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def clean(self):
        super().clean()
        if self.organization_id and self.organization.kind != Organization.Kind.PLATFORM:
            raise ValidationError(
                {"organization": _("API keys can only be given to ride-hailing platforms.")},
                code="not_platform",
            )
        if not isinstance(self.scopes, list) or not self.scopes:
            raise ValidationError({"scopes": _("Choose at least one scope.")}, code="no_scopes")
        unknown = sorted(set(self.scopes) - set(ALL_SCOPES))
        if unknown:
            raise ValidationError(
                {"scopes": _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}},
                code="unknown_scope",
            )

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or ())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
