"""Site-wide models: people, organisations, one-time codes, and the home and partner pages."""

from .api_keys import PlatformApiKey
from .identity import Organization, User, UserManager
from .otp import OneTimeCode, OutboundSms
from .pages import HomePage, PartnerIndexPage, PartnerPage

__all__ = [
    "HomePage",
    "OneTimeCode",
    "Organization",
    "OutboundSms",
    "PartnerIndexPage",
    "PartnerPage",
    "PlatformApiKey",
    "User",
    "UserManager",
]
