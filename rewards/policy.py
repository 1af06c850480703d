"""The rest rules and limits in force for a platform: the site's policy, and the platform's own
choices within it. Models in `rewards.models.policy`."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cms.audit import SYSTEM_COMMAND, audit
from cms.models import Organization, User
from rewards.models import PlatformRewardPolicy, SiteRewardPolicy


@dataclass(frozen=True)
class Policy:
    """What applies to one platform now: rest rules (site-wide), its daily cap and notice, and
    the largest single reward."""

    continuous_limit_minutes: int
    break_minutes: int
    daily_cap_minutes: int
    notice_days: int
    min_notice_days: int
    max_daily_cap_minutes: int
    max_reward_fen: int

    def as_dict(self) -> dict:
        return {
            "continuous_limit_minutes": self.continuous_limit_minutes,
            "break_minutes": self.break_minutes,
            "daily_cap_minutes": self.daily_cap_minutes,
        }


def site_policy() -> SiteRewardPolicy:
    """The site-wide policy row (created with the defaults the first time it is read)."""
    return SiteRewardPolicy.load()


def effective_policy(platform: Organization | None) -> Policy:
    site = site_policy()
    own = (
        PlatformRewardPolicy.objects.filter(platform=platform).first()
        if platform is not None
        else None
    )
    daily_cap = site.default_daily_cap_minutes
    notice = site.default_notice_days
    if own is not None and own.daily_cap_minutes is not None:
        # A cap set before the operators lowered the limit counts at the limit.
        daily_cap = min(own.daily_cap_minutes, site.max_daily_cap_minutes)
    if own is not None and own.notice_days is not None:
        notice = max(own.notice_days, site.min_notice_days)
    return Policy(
        continuous_limit_minutes=site.continuous_limit_minutes,
        break_minutes=site.break_minutes,
        daily_cap_minutes=daily_cap,
        notice_days=notice,
        min_notice_days=site.min_notice_days,
        max_daily_cap_minutes=site.max_daily_cap_minutes,
        max_reward_fen=site.max_reward_fen,
    )


def platform_policy_update(
    *,
    platform: Organization,
    actor: User | None,
    daily_cap_minutes: int | None,
    notice_days: int | None,
) -> PlatformRewardPolicy:
    """Set a platform's daily cap and notice period (None: the site's default), within the
    limits operators set. Only the platform's staff or an operator may."""
    if platform.kind != Organization.Kind.PLATFORM:
        raise ValidationError(_("Only a ride-hailing platform has reward rules."))
    if actor is not None and not (
        actor.is_superuser or getattr(actor, "organization_id", None) == platform.pk
    ):
        raise PermissionDenied(_("Only the platform's staff or an operator manage its rules."))
    site = site_policy()
    errors: dict[str, str] = {}
    if daily_cap_minutes is not None and (
        type(daily_cap_minutes) is not int
        or not (60 <= daily_cap_minutes <= site.max_daily_cap_minutes)
    ):
        errors["daily_cap_minutes"] = _(
            "The daily cap is between 60 and %(max)d minutes (the limit operators set)."
        ) % {"max": site.max_daily_cap_minutes}
    if notice_days is not None and (
        type(notice_days) is not int or not (site.min_notice_days <= notice_days <= 365)
    ):
        errors["notice_days"] = _("The notice is between %(min)d and 365 days.") % {
            "min": site.min_notice_days
        }
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        policy, _created = PlatformRewardPolicy.objects.select_for_update().get_or_create(
            platform=platform
        )
        before = {"daily_cap_minutes": policy.daily_cap_minutes, "notice_days": policy.notice_days}
        policy.daily_cap_minutes = daily_cap_minutes
        policy.notice_days = notice_days
        policy.save()
        audit(
            "roadwise.reward_policy.update",
            policy,
            user=actor,
            actor_label=None if actor else SYSTEM_COMMAND,
            data={
                "platform": platform.slug,
                "before": before,
                "after": {"daily_cap_minutes": daily_cap_minutes, "notice_days": notice_days},
            },
        )
    return policy
