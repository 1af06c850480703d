"""Shared fixtures for tests of payments (Stripe Checkout, webhooks, Connect).

    from tests.payments import deliver, payments_on, stripe_fake  # noqa: F401

    def test_something(client, payments_on):
        payment = checkout_start(...)
        event = payments_on.complete_checkout(payment.session_id)
        deliver(client, event)  # signed, posted to /stripe/webhook/, processed on return

`payments_on` points the settings at a started FakeStripe (tests/stripe_fake) and yields it.
`deliver` runs the on-commit callbacks that queue processing, and Celery runs eagerly in
tests, so the event's handlers (and the signals they send) have run when it returns — also
inside the transaction of a plain `db` test. Handlers that fail leave the event unprocessed
(see `retry_due_events`). In `django_db(transaction=True)` tests, on-commit callbacks run at once,
so `deliver` works the same; add `serialized_rollback=True` there, as the other PostgreSQL
tests do, or the next serialized test finds duplicate content types."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from tests.stripe_fake import stripe_fake, webhook_post_kwargs

__all__ = [
    "WEBHOOK_PATH",
    "WEBHOOK_SECRET",
    "deliver",
    "payments_on",
    "retry_due_events",
    "stripe_fake",
]

WEBHOOK_SECRET = "whsec_roadwise_test"
WEBHOOK_PATH = "/stripe/webhook/"


@pytest.fixture
def payments_on(settings, stripe_fake):  # noqa: F811 - the re-exported fixture
    """Payments configured against the fake Stripe; yields the FakeStripe."""
    settings.STRIPE_SECRET_KEY = stripe_fake.api_key
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_fake.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 2
    settings.STRIPE_CHECKOUT_PAYMENT_METHODS = ["card", "alipay", "wechat_pay"]
    yield stripe_fake


def deliver(
    client,
    event: dict,
    secret: str = WEBHOOK_SECRET,
    *,
    timestamp: int | None = None,
    may_fail: bool = False,
):
    """POST ``event`` to the webhook, signed with ``secret``, as Stripe would; the event is
    processed before this returns. Returns the response.

    A newly received event must have been processed without error (a handler that raised
    would otherwise go unnoticed and the test pass for the wrong reason), unless the test
    says the processing ``may_fail`` (an event that arrives before the one it depends on)."""
    from cms.models import StripeEvent

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(WEBHOOK_PATH, **webhook_post_kwargs(event, secret, timestamp))
    if response.status_code == 200 and response.json().get("status") == "received":
        stored = StripeEvent.objects.get(event_id=event["id"])
        assert may_fail or stored.processed_at is not None, (
            f"{event['type']} {event['id']} was not processed: {stored.last_error}"
        )
    return response


def retry_due_events(*, later: timedelta = timedelta(days=1)) -> int:
    """Run the beat task's retry as if ``later`` had passed: every unprocessed event is due.
    Returns how many were queued (and, eagerly, processed)."""
    from cms import payments, tasks

    due = payments.stripe_events_due(now=timezone.now() + later)
    with TestCase.captureOnCommitCallbacks(execute=True):
        for pk in due:
            tasks.stripe_event_process.delay(pk)
    return len(due)
