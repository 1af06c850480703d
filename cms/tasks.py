"""Celery tasks of the site. Thin: each calls one service and can run twice safely."""

from celery import shared_task
from django.conf import settings

from cms import services
from cms.models import OutboundSms


@shared_task(bind=True, max_retries=services.SMS_MAX_ATTEMPTS)
def deliver_sms(self, sms_id: int) -> str:
    sms = services.sms_deliver(sms_id=sms_id)
    if sms.status == OutboundSms.Status.QUEUED:
        # The provider failed this time. A worker tries again later; run eagerly (a
        # laptop), the SMS stays queued and the person can ask for the code again,
        # rather than the page that asked for it failing.
        if not self.request.is_eager:
            raise self.retry(countdown=settings.SMS_RETRY_SECONDS)
    return sms.status


# How often the task retries a Stripe event itself before leaving it to stripe_events_retry.
STRIPE_EVENT_MAX_RETRIES = 8


def _stripe_event_countdown(retries: int) -> int:
    return min(30 * 2**retries, 3600)  # 30 s, 1 min, 2 min ... at most an hour


@shared_task(bind=True, max_retries=STRIPE_EVENT_MAX_RETRIES)
def stripe_event_process(self, event_pk: int) -> bool:
    """Process one stored Stripe event; retry with backoff while its handlers fail."""
    from cms import payments

    row = payments.stripe_event_process(event_pk)
    if row is None or row.processed_at is not None:
        return True
    # Run eagerly (tests, a laptop), failures wait for stripe_events_retry instead, so that
    # the webhook still answers 200 for an event it stored.
    if not self.request.is_eager and self.request.retries < self.max_retries:
        raise self.retry(countdown=_stripe_event_countdown(self.request.retries))
    return False


@shared_task
def stripe_events_retry() -> int:
    """Queue the unprocessed Stripe events that are due for another attempt (beat, 10 min)."""
    from cms import payments

    due = payments.stripe_events_due()
    for pk in due:
        stripe_event_process.delay(pk)
    return len(due)


# --- signed webhooks to platforms (cms/platform_webhooks.py) --------------------------------


@shared_task
def platform_webhook_deliver(delivery_id: int) -> str | None:
    """One attempt at a webhook delivery; a failure is left to platform_webhooks_retry."""
    from cms import platform_webhooks

    delivery = platform_webhooks.delivery_attempt(delivery_id)
    return delivery.status if delivery is not None else None


@shared_task
def platform_webhooks_retry() -> int:
    """Queue the webhook deliveries whose next attempt is due (beat, every minute)."""
    from cms import platform_webhooks

    due = platform_webhooks.deliveries_due()
    for pk in due:
        platform_webhook_deliver.delay(pk)
    return len(due)
