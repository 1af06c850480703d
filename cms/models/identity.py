"""Who uses Roadwise: drivers, organisation members (authors, platform staff) and operators."""

import uuid
import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cms.phone import mask_mobile, normalize_mobile


class Organization(models.Model):
    """A vocational school, a carmaker or a ride-hailing platform."""

    class Kind(models.TextChoices):
        SCHOOL = "school", _("Vocational school")
        CARMAKER = "carmaker", _("Carmaker")
        PLATFORM = "platform", _("Ride-hailing platform")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name (Chinese)"), max_length=120, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language, falling back to the Chinese name."""
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def is_author_org(self) -> bool:
        return self.kind in (self.Kind.SCHOOL, self.Kind.CARMAKER)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, mobile, password, **extra_fields):
        user = self.model(mobile=normalize_mobile(mobile), **extra_fields)
        if "email" in extra_fields:
            user.email = self.normalize_email(extra_fields["email"])
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, mobile, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(mobile, password, **extra_fields)

    def create_superuser(self, mobile, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(mobile, password, **extra_fields)

    def get_by_natural_key(self, username):
        try:
            username = normalize_mobile(username)
        except ValidationError:
            pass
        return super().get_by_natural_key(username)


def _validate_timezone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a time zone."), params={"value": value})


class User(AbstractUser):
    """A person who signs in with a mobile number. Drivers belong to no organisation;
    authors belong to a school or carmaker, platform staff to a platform; operators are staff."""

    class Role(models.TextChoices):
        DRIVER = "driver", _("Driver")
        AUTHOR = "author", _("Author")
        PLATFORM_STAFF = "platform_staff", _("Platform staff")
        OPERATOR = "operator", _("Operator")

    username = None
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    mobile = models.CharField(
        _("mobile number"),
        max_length=20,
        unique=True,
        help_text=_("In international form, for example +8613812345678."),
        error_messages={"unique": _("An account with this mobile number already exists.")},
    )
    email = models.EmailField(_("email address"), blank=True)
    display_name = models.CharField(
        _("display name"),
        max_length=64,
        blank=True,
        help_text=_("The name shown on your certificates."),
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[_validate_timezone],
        help_text=_("Leave empty for China Standard Time (Asia/Shanghai)."),
    )
    mobile_verified_at = models.DateTimeField(_("mobile verified at"), null=True, blank=True)

    USERNAME_FIELD = "mobile"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="cms_user_email_unique_if_set"
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.masked_mobile

    def clean(self):
        super().clean()
        if self.mobile:
            self.mobile = normalize_mobile(self.mobile)

    def get_full_name(self) -> str:
        return self.display_name or super().get_full_name()

    def get_short_name(self) -> str:
        return self.display_name or self.first_name or self.masked_mobile

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)

    @property
    def role(self) -> str:
        if self.is_staff:
            return self.Role.OPERATOR
        if self.organization_id is None:
            return self.Role.DRIVER
        if self.organization.kind == Organization.Kind.PLATFORM:
            return self.Role.PLATFORM_STAFF
        return self.Role.AUTHOR
