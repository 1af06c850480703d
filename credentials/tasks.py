"""Celery tasks of the credentials app. Thin: each calls one service and can run twice safely."""

from celery import shared_task

from credentials import services, status
from credentials.models import Credential


@shared_task
def issue_credential(completion_id: int) -> int:
    from courses.models import Completion

    completion = Completion.objects.get(pk=completion_id)
    return services.credential_issue(completion=completion).pk


@shared_task
def issue_missing_credentials() -> int:
    """The sweeper: completions whose event was lost (or whose issuing failed) get theirs."""
    return services.credentials_issue_missing()


@shared_task
def render_credential_files(credential_id: int) -> int:
    from credentials import files

    credential = Credential.objects.get(pk=credential_id)
    if credential.document:  # empty: its holder deleted their account (cms.privacy)
        files.credential_files_render(credential=credential)
    return credential.pk


@shared_task
def refresh_status_lists() -> int:
    return status.status_lists_refresh()
