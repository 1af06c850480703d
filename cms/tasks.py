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
