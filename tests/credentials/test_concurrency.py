"""One completion, one credential; every credential its own status bit; concurrent
revocations of different credentials all land in the signed list. Real threads, PostgreSQL."""

import json

import pytest
from django.db import connection

from courses.models import Completion
from credentials import services
from credentials.models import Credential, StatusList
from credentials.status import bit_at, decode_list
from tests.concurrency import race
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, OrganizationFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
    ),
]
WORKERS = 8


def test_the_same_completion_issued_eight_times_at_once_gives_one_credential():
    school = OrganizationFactory()
    built = build_course(organization=school)
    completion = complete_course(DriverFactory(), built)
    outcomes = race(
        [lambda: services.credential_issue(completion=completion).pk for _ in range(WORKERS)]
    )
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert Credential.objects.count() == 1
    assert StatusList.objects.get(purpose="revocation").allocated == 1


def test_different_completions_issued_at_once_get_different_bits_and_all_revocations_land():
    school = OrganizationFactory()
    built = build_course(organization=school)
    completions = [complete_course(DriverFactory(), built) for _ in range(WORKERS)]
    outcomes = race([lambda c=c: services.credential_issue(completion=c).pk for c in completions])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    credentials = list(Credential.objects.all())
    assert len({c.revocation_index for c in credentials}) == WORKERS
    assert Completion.objects.filter(credential__isnull=True).count() == 0

    operator = UserFactory(is_superuser=True)
    outcomes = race(
        [
            lambda c=c: services.credential_revoke(credential=c, actor=operator, reason="测试")
            for c in credentials
        ]
    )
    assert all(isinstance(o, Credential) for o in outcomes), outcomes
    status_list = StatusList.objects.get(purpose="revocation")
    bits = decode_list(json.loads(status_list.signed_document)["credentialSubject"]["encodedList"])
    assert all(bit_at(bits, c.revocation_index) for c in credentials)
