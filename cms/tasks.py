"""Celery tasks of the site. Thin: each calls one service and can run twice safely."""

from celery import shared_task

from cms import services
from cms.models import OutboundSms


@shared_task(bind=True, max_retries=services.SMS_MAX_ATTEMPTS, default_retry_delay=30)
def deliver_sms(self, sms_id: int) -> str:
    sms = services.sms_deliver(sms_id=sms_id)
    if sms.status == OutboundSms.Status.QUEUED:  # failed this time, may still go through
        raise self.retry()
    return sms.status
