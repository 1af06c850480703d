"""A real Celery worker on Redis issues the certificate of a completion and renders its files:
the path production takes (the rest of the suite runs tasks eagerly)."""

import time

import pytest

from credentials.models import Credential
from tests.credentials.conftest import complete_course


@pytest.fixture
def worker_env(settings):
    """The worker writes the PDF where this test process reads it."""
    return {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_issues_the_certificate_and_renders_its_files(real_broker, driver, co_developed):
    complete_course(driver, co_developed)
    deadline = time.monotonic() + 90
    credential = None
    while time.monotonic() < deadline:
        credential = Credential.objects.filter(holder=driver).first()
        if credential is not None and credential.files_generated_at is not None:
            break
        time.sleep(0.3)
    assert credential is not None, "the worker did not issue the certificate in 90 s"
    assert credential.files_generated_at is not None, "the worker did not render the files"
    assert credential.pdf.read(4) == b"%PDF"
    assert credential.co_signers.count() == 1
