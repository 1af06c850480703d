"""The audit log: who did what to certificates, rules, disputes, money and keys.

Entries are Wagtail's own log entries (``ModelLogEntry``; pages keep ``PageLogEntry``), so
operators read them under Reports → Site history, filtered by action (a dispute's admin page
shows its own). Each entry's message sums up its data. Service functions call `audit` inside
the database transaction of the change they record: a change rolled back leaves no entry, a
committed one always has its entry.

Who acted: ``user`` when a person did it (an operator in the admin, a driver on the site,
platform staff); otherwise ``actor_label`` says what did (a platform's API key, a Stripe
webhook, a Celery task) and is kept in the entry's ``data["actor"]``. Wagtail shows such an
entry's user as "system"; its message names the actor.

Who sees the entries: Wagtail shows a non-superuser only the log entries of models they hold a
Django permission on (and page entries of pages they may explore). Nobody but operators
(superusers) holds a permission on the models logged here, so only operators see them; see
ADR 0016 and tests/cms/test_audit.py, which fails if that ever changes.
"""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter
from wagtail.log_actions import log as wagtail_log
from wagtail.log_actions import registry as log_registry

# action: (label in the Site history filter, message in the list), named <app>.<thing>.<verb>.
ACTIONS: dict[str, tuple] = {
    # certificates
    "roadwise.credential.revoke": (_("Revoke certificate"), _("Certificate revoked")),
    "roadwise.credential.suspend": (_("Suspend certificate"), _("Certificate suspended")),
    "roadwise.credential.reinstate": (
        _("Lift certificate suspension"),
        _("Certificate suspension lifted"),
    ),
    "roadwise.consent.grant": (_("Grant consent"), _("Consent granted to a platform")),
    "roadwise.consent.withdraw": (_("Withdraw consent"), _("Consent withdrawn")),
    "roadwise.account.delete": (
        _("Delete a driver's account"),
        _("Driver's account deleted at their request"),
    ),
    # reward rules and policy
    "roadwise.rule_version.create": (_("Create reward rule version"), _("Rule version drafted")),
    "roadwise.rule_version.edit": (_("Edit reward rule version"), _("Rule version draft edited")),
    "roadwise.rule_version.publish": (
        _("Publish reward rule version"),
        _("Rule version published"),
    ),
    "roadwise.reward_policy.update": (
        _("Change platform reward policy"),
        _("Daily cap and notice changed"),
    ),
    "roadwise.award.grant": (_("Grant award"), _("One-off award paid")),
    # disputes (rewards.disputes; these names predate this module and are kept)
    "rewards.dispute.open": (_("Open dispute"), _("Dispute opened")),
    "rewards.dispute.uphold": (_("Uphold dispute"), _("Dispute upheld")),
    "rewards.dispute.reject": (_("Reject dispute"), _("Dispute rejected")),
    # payouts and funding
    "roadwise.payout.request": (_("Request payout"), _("Payout requested")),
    "roadwise.payout.send": (_("Send payout to Stripe"), _("Payout sent to Stripe")),
    "roadwise.payout.paid": (_("Payout paid"), _("Payout paid")),
    "roadwise.payout.fail": (_("Payout failed"), _("Payout failed or cancelled; money returned")),
    "roadwise.funding.topup": (_("Book funding top-up"), _("Funding top-up booked")),
    "roadwise.payment.refund": (_("Book refund"), _("Refund booked")),
    "roadwise.payment_alert.resolve": (
        _("Resolve payment alert"),
        _("Payment alert resolved"),
    ),
    # keys and webhooks
    "roadwise.api_key.create": (_("Create platform API key"), _("Platform API key created")),
    "roadwise.api_key.revoke": (_("Revoke platform API key"), _("Platform API key revoked")),
    "roadwise.issuer_key.rotate": (
        _("Rotate issuer signing key"),
        _("Issuer signing key rotated"),
    ),
    "roadwise.webhook.create": (
        _("Create platform webhook"),
        _("Platform webhook subscribed"),
    ),
    "roadwise.webhook.delete": (
        _("Delete platform webhook"),
        _("Platform webhook deleted"),
    ),
}

# Actors that are not a person (``actor_label``): keep these few names stable, operators
# filter and read them.
SYSTEM_STRIPE = "system: Stripe webhook"
SYSTEM_PAYOUT_TASK = "system: payout task"
SYSTEM_COMMAND = "system: management command or seed data"


def api_key_actor(api_key) -> str:
    """How an API request's key is named as the actor (its public prefix, never the secret)."""
    return f"API key rw_{api_key.prefix} ({api_key.organization.slug})"


class AuditFormatter(LogFormatter):
    """Wagtail's formatter; the message names the actor when no user acted, and sums up the
    entry's data (before → after, amounts, reasons) so that operators read it in the list."""

    def format_message(self, log_entry):
        data = log_entry.data or {}
        message = str(self.message)
        if data.get("actor") and not log_entry.user_id:
            message = gettext("%(message)s (by %(actor)s)") % {
                "message": message,
                "actor": data["actor"],
            }
        summary = data_summary(data)
        return f"{message}: {summary}" if summary else message

    def format_comment(self, log_entry):
        data = log_entry.data or {}
        return str(data.get("reason") or "")


SUMMARY_LENGTH = 400
NOT_SUMMED_UP = ("actor", "key")


def _value(value) -> str:
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return f"{_value(value['before'])} → {_value(value['after'])}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "–" if value is None or value == "" else str(value)


def data_summary(data: dict) -> str:
    """``status: active → revoked, reason: …`` (field names as stored; at most 400 characters)."""
    text = ", ".join(
        f"{key}: {_value(value)}" for key, value in data.items() if key not in NOT_SUMMED_UP
    )
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def register_actions(actions) -> None:
    """For the ``register_log_actions`` hook (cms/wagtail_hooks.py)."""
    for action, (label, message) in ACTIONS.items():
        formatter = type("AuditFormatter", (AuditFormatter,), {"label": label, "message": message})
        actions.register_action(action)(formatter)


def audit(
    action: str,
    instance: models.Model,
    *,
    user=None,
    actor_label: str | None = None,
    data: dict | None = None,
    title: str | None = None,
    once_key: str | None = None,
):
    """Record ``action`` on ``instance``. Call it inside the transaction of the change.

    ``user``: the person who acted; ``actor_label``: what acted when no person did (one of the
    two is required). ``data``: what an operator needs to understand the change (before and
    after values, amounts in fen, reasons); never secrets. ``title``: the entry's name in the
    list (defaults to ``str(instance)``; pass one when that would show personal data).
    ``once_key``: for services replayed idempotently (a Stripe event delivered twice): skip
    when this object already has this action logged under this key (kept as ``data["key"]``).
    """
    if action not in ACTIONS:
        raise ValueError(f"unregistered audit action {action!r}")
    if user is not None and not getattr(user, "pk", None):
        user = None  # AnonymousUser: nobody signed in
    if user is None and not actor_label:
        raise ValueError("an audit entry names who acted: a user or an actor_label")
    if once_key is not None and _logged(action, instance, once_key):
        return None
    payload = dict(data or {})
    if once_key is not None:
        payload["key"] = once_key
    if actor_label:
        payload["actor"] = actor_label
    kwargs = {"user": user, "data": payload}
    if title:
        kwargs["title"] = title
    return wagtail_log(instance, action, **kwargs)


def _logged(action: str, instance: models.Model, key: str) -> bool:
    return (
        log_registry.get_logs_for_instance(instance).filter(action=action, data__key=key).exists()
    )
