"""Listens to the courses app: a completion becomes a credential (issued by a Celery task)."""

import logging

from django.dispatch import receiver

from courses.signals import course_completed

logger = logging.getLogger(__name__)


@receiver(course_completed, dispatch_uid="credentials.issue_on_completion")
def issue_on_completion(sender, completion, **kwargs):
    from credentials.tasks import issue_credential

    try:
        issue_credential.delay(completion.pk)
    except Exception:
        # Never fail the driver's request over this: the sweeper task issues it later.
        logger.exception("Issuing the credential of completion %s failed", completion.pk)
