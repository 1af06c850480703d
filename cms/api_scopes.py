"""What a platform API key may do: the scopes a key carries and each API operation needs.

Kept apart from the models so that the model, the admin form, the auth class and the
tests read one list."""

from django.utils.translation import gettext_lazy as _

CREDENTIALS_VERIFY = "credentials:verify"
CREDENTIALS_READ = "credentials:read"
DRIVERS_LINK = "drivers:link"
EVENTS_WRITE = "events:write"
AWARDS_WRITE = "awards:write"
REWARDS_READ = "rewards:read"
WEBHOOKS_MANAGE = "webhooks:manage"

SCOPE_CHOICES = [
    (CREDENTIALS_VERIFY, _("Verify credentials")),
    (CREDENTIALS_READ, _("Read the credentials of drivers who gave consent")),
    (DRIVERS_LINK, _("Ask drivers to link their accounts, and list linked drivers")),
    (EVENTS_WRITE, _("Send service events")),
    (AWARDS_WRITE, _("Give one-off awards (pays from the platform's funding)")),
    (REWARDS_READ, _("Read awards and monthly reward totals")),
    (WEBHOOKS_MANAGE, _("Manage webhook subscriptions")),
]
ALL_SCOPES: tuple[str, ...] = tuple(value for value, _label in SCOPE_CHOICES)


def all_scopes() -> list[str]:
    """The default for a new key, and what keys made before scopes existed were given."""
    return list(ALL_SCOPES)
