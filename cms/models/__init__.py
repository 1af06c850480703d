"""Site-wide models: people, organisations, one-time codes, the home and partner pages, and
Stripe payments and events."""

from .api_keys import PlatformApiKey
from .identity import Organization, User, UserManager
from .otp import OneTimeCode, OutboundSms
from .pages import HomePage, PartnerIndexPage, PartnerPage
from .payments import CheckoutPayment, CheckoutRefund, PaymentAlert, StripeEvent
from .platform_webhooks import PlatformWebhook, PlatformWebhookDelivery

__all__ = [
    "CheckoutPayment",
    "CheckoutRefund",
    "HomePage",
    "OneTimeCode",
    "Organization",
    "OutboundSms",
    "PartnerIndexPage",
    "PartnerPage",
    "PaymentAlert",
    "PlatformApiKey",
    "PlatformWebhook",
    "PlatformWebhookDelivery",
    "StripeEvent",
    "User",
    "UserManager",
]
