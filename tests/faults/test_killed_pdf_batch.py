"""A Celery worker killed (SIGKILL) in the middle of a batch of certificates: issuing the
credentials of a batch of completions, and rendering a batch of PDF certificates (what the
admin's "render again" and bench/pdf.py queue). The message the killed worker held comes back to
a fresh worker (acks_late; the visibility timeout), beat's sweeper `issue_missing_credentials`
runs too, and in the end every completion has exactly one credential, with its own number and
status list entries, and a valid PDF naming its holder.

The worker is stopped at a known point by a row lock held from outside: on the fourth
completion (issuing locks it first) or on the fourth credential (rendering locks it to store
the files it has just rendered)."""

import subprocess

import pytest
from django.utils import timezone

from credentials import tasks
from credentials.models import Credential
from rewards.ledger import check_invariants
from tests.credentials.conftest import (  # noqa: F401 - fixtures
    carmaker,
    co_developed,
    complete_course,
    school,
)
from tests.factories import DriverFactory
from tests.faults.conftest import (
    FAULTS,
    blocker_connection,
    broker_mode,
    fault_worker,
    kill,
    new_queue,
    queue_drained,
    stop_worker,
    wait_for,
    waiting_on_lock,
)

pytestmark = FAULTS

BATCH = 6
NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨磊"]


def _pdf_text(credential: Credential) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", credential.pdf.path, "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.mark.parametrize("stage", ["issuing", "rendering"])
def test_a_certificate_batch_killed_mid_way_ends_with_each_certificate_once(
    settings,
    co_developed,  # noqa: F811 - the imported fixture
    stage,
):
    drivers = [DriverFactory(display_name=name) for name in NAMES[:BATCH]]
    queue = new_queue()
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    batch_started = timezone.now()
    if stage == "rendering":
        # Issued (and rendered) in this process; then the batch renders them all again.
        completions = [complete_course(driver, co_developed) for driver in drivers]
        assert Credential.objects.count() == BATCH
    with broker_mode(queue):
        if stage == "issuing":
            # Each completion queues its credential's issuing; no worker runs yet.
            completions = [complete_course(driver, co_developed) for driver in drivers]
            assert Credential.objects.count() == 0
            fourth, table = completions[3].pk, "courses_completion"
        else:
            batch_started = timezone.now()
            ids = list(Credential.objects.order_by("pk").values_list("pk", flat=True))
            for pk in ids:
                tasks.render_credential_files.delay(pk)
            fourth, table = ids[3], "credentials_credential"

        blocker = blocker_connection()
        try:
            with blocker.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [fourth])  # noqa: S608
            first, first_log = fault_worker(queue, env)
            try:
                wait_for(lambda: waiting_on_lock(table), 120, "the worker to reach the fourth")
                kill(first)
            finally:
                stop_worker(first, first_log)
        finally:
            blocker.rollback()
            blocker.close()

        if stage == "issuing":
            assert not Credential.objects.filter(completion_id=fourth).exists()
            assert Credential.objects.count() == 3  # the first three, nothing half-made
        else:
            assert Credential.objects.filter(files_generated_at__gt=batch_started).count() == 3

        second, second_log = fault_worker(queue, env)
        try:
            if stage == "issuing":
                tasks.issue_missing_credentials.delay()  # what beat does every ten minutes

            def all_done() -> bool:
                done = Credential.objects.filter(files_generated_at__gt=batch_started).count()
                return done == BATCH and queue_drained(queue)

            wait_for(all_done, 120, "the fresh worker to finish the batch")
        finally:
            stop_worker(second, second_log)

    credentials = list(Credential.objects.select_related("holder").order_by("pk"))
    assert len(credentials) == BATCH
    assert sorted(c.completion_id for c in credentials) == sorted(c.pk for c in completions)
    assert len({c.number for c in credentials}) == BATCH
    entries = {(c.revocation_list_id, c.revocation_index) for c in credentials}
    entries |= {(c.suspension_list_id, c.suspension_index) for c in credentials}
    assert len(entries) == 2 * BATCH  # no status list entry given twice
    for credential in credentials:
        # Re-rendered files get a fresh name beside the old one, which is then deleted.
        assert credential.pdf.name.rsplit("/", 1)[-1].startswith(credential.number)
        text = _pdf_text(credential)
        assert credential.holder_name in text
        assert credential.number in text
    files = sorted(p.name for p in (settings.MEDIA_ROOT).rglob("*.pdf"))
    assert len(files) == BATCH  # the re-rendered ones replaced the old files
    assert check_invariants() == []
