"""Rest rules and limits of the reward programmes.

Operators set the site-wide rest rules, defaults and limits (`SiteRewardPolicy`, under Settings
in the admin); each platform may set its own daily cap and notice period within those limits
(`PlatformRewardPolicy`). Services read them through `rewards.policy.effective_policy`.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting


@register_setting(icon="time")
class SiteRewardPolicy(BaseGenericSetting):
    """The rest rules every platform's rewards obey, and the limits of what platforms set."""

    continuous_limit_minutes = models.PositiveSmallIntegerField(
        _("continuous driving limit (minutes)"),
        default=240,
        validators=[MinValueValidator(30), MaxValueValidator(24 * 60)],
        help_text=_(
            "Online time after this much driving without a break never counts towards a reward."
        ),
    )
    break_minutes = models.PositiveSmallIntegerField(
        _("rest break (minutes)"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("A pause offline at least this long ends a stretch of continuous driving."),
    )
    default_daily_cap_minutes = models.PositiveSmallIntegerField(
        _("default daily cap (minutes online)"),
        default=600,
        validators=[MinValueValidator(60), MaxValueValidator(24 * 60)],
        help_text=_("For platforms that set none: online time beyond this in a day never counts."),
    )
    max_daily_cap_minutes = models.PositiveSmallIntegerField(
        _("highest daily cap a platform may set (minutes)"),
        default=720,
        validators=[MinValueValidator(60), MaxValueValidator(24 * 60)],
    )
    default_notice_days = models.PositiveSmallIntegerField(
        _("default notice before a rule takes effect (days)"),
        default=30,
        validators=[MaxValueValidator(365)],
    )
    min_notice_days = models.PositiveSmallIntegerField(
        _("shortest notice a platform may give (days)"),
        default=30,
        validators=[MaxValueValidator(365)],
    )
    max_reward_fen = models.BigIntegerField(
        _("largest single reward or award (fen)"),
        default=1_000_000,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A rule, tier or one-off award paying more than this to one driver is refused."
        ),
    )

    class Meta:
        verbose_name = _("reward rules policy")
        verbose_name_plural = _("reward rules policies")

    def clean(self) -> None:
        errors = {}
        if self.default_daily_cap_minutes > self.max_daily_cap_minutes:
            errors["default_daily_cap_minutes"] = gettext(
                "The default daily cap is above the highest cap a platform may set."
            )
        if self.default_notice_days < self.min_notice_days:
            errors["default_notice_days"] = gettext(
                "The default notice is shorter than the shortest notice allowed."
            )
        if errors:
            raise ValidationError(errors)


class PlatformRewardPolicy(models.Model):
    """A platform's own choices within the site's limits (empty: the site's default)."""

    platform = models.OneToOneField(
        "cms.Organization",
        on_delete=models.CASCADE,
        related_name="reward_policy",
        verbose_name=_("platform"),
        limit_choices_to={"kind": "platform"},
    )
    daily_cap_minutes = models.PositiveSmallIntegerField(
        _("daily cap (minutes online)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(60), MaxValueValidator(24 * 60)],
        help_text=_("Online time beyond this in one day never counts towards a reward."),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("notice before a new rule version takes effect (days)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(365)],
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("platform reward policy")
        verbose_name_plural = _("platform reward policies")

    def __str__(self) -> str:
        return str(self.platform)
