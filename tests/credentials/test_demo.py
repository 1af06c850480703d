"""The demo certificates (credentials/demo.py): study history made through the services,
valid, co-signed, revoked and expired certificates that verify as they should, consent, and
a seeder that can run any number of times."""

import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from wagtail.models import Locale, Revision

from cms.models import Organization, User
from courses.models import Completion, CoursePage, Enrollment, QuizAttempt
from credentials import demo
from credentials.keys import issuer_did
from credentials.models import ConsentGrant, Credential, CredentialStatusChange
from credentials.verification import Verifier

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _demo_certificates(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed once for this module (it takes a while), in a transaction rolled back at the
    end; each test runs in a savepoint inside it, as usual."""
    seeders = override_settings(
        DEMO_SEEDERS=["courses.demo.seed_demo", "credentials.demo.seed_demo"],
        MEDIA_ROOT=str(tmp_path_factory.mktemp("demo-media")),
    )
    with django_db_blocker.unblock(), seeders, transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(_demo_certificates, db):
    """The demo site, catalogue and certificates."""


def _driver(mobile: str) -> User:
    return User.objects.get(mobile=mobile)


def _checks(credential: Credential) -> dict[str, tuple[str, str]]:
    report = Verifier().any(credential.document)
    return {name: (check.result, check.code) for name, check in report.checks.items()}


def _signers(credential: Credential) -> set[str]:
    proofs = json.loads(credential.document)["proof"]
    return {proof["verificationMethod"].split("#")[0] for proof in proofs}


def test_wang_holds_valid_certificates_one_co_signed_and_shares_them(seeded):
    wang = _driver(demo.WANG)
    assert wang.display_name == "王建国"
    credentials = list(Credential.objects.filter(holder=wang))
    assert 2 <= len(credentials) <= 3
    for credential in credentials:
        assert credential.status == Credential.Status.ACTIVE
        assert not credential.is_expired
        checks = _checks(credential)
        assert {result for result, _code in checks.values()} == {"pass"}, checks
        assert checks["status"][1] == "active"
    co_signed = [c for c in credentials if c.co_signers.exists()]
    assert co_signed
    for credential in co_signed:
        organizations = [credential.issuer, *credential.co_signers.all()]
        assert {org.kind for org in organizations} == {
            Organization.Kind.SCHOOL,
            Organization.Kind.CARMAKER,
        }
        # a proof set: the school and the carmaker each sign it
        assert _signers(credential) == {issuer_did(org) for org in organizations}

    platform = Organization.objects.get(slug="kuaixing")
    assert ConsentGrant.objects.filter(holder=wang, platform=platform, withdrawn_at=None).exists()


def test_zhang_has_a_revoked_certificate_and_gave_no_consent(seeded):
    zhang = _driver(demo.ZHANG)
    assert zhang.display_name == "张伟"
    credential = Credential.objects.get(holder=zhang)
    assert credential.status == Credential.Status.REVOKED
    assert credential.status_reason == demo.REVOCATION_REASON
    change = CredentialStatusChange.objects.get(credential=credential)
    assert change.action == CredentialStatusChange.Action.REVOKE
    assert change.actor.is_superuser or change.actor.organization_id == credential.issuer_id

    report = Verifier().any(credential.document)
    assert not report.verified
    assert (report.checks["status"].result, report.checks["status"].code) == ("fail", "revoked")
    assert demo.REVOCATION_REASON in report.checks["status"].reason
    assert report.checks["proof"].result == "pass"
    assert report.checks["validity"].result == "pass"
    assert not ConsentGrant.objects.filter(holder=zhang).exists()


def test_liu_has_an_expired_certificate_and_is_offered_the_renewal_course(seeded, client):
    liu = _driver(demo.LIU)
    assert liu.display_name == "刘芳"
    credential = Credential.objects.get(holder=liu)
    assert credential.status == Credential.Status.ACTIVE
    assert credential.is_expired
    # completed, issued and valid from 800 days ago: validFrom before validUntil
    document = json.loads(credential.document)
    assert document["validFrom"] < document["validUntil"]
    assert credential.issued_at < credential.valid_until
    assert credential.completion.completed_at.date() == credential.issued_at.date()

    checks = _checks(credential)
    assert checks["validity"] == ("fail", "expired")
    assert checks["proof"] == ("pass", "verified")
    assert checks["status"] == ("pass", "active")

    course = credential.course.specific
    assert course.certificate_valid_days == 730
    renewal = course.renewal_course
    assert renewal is not None and renewal.slug == demo.RENEWAL_COURSE
    english = course.get_translation(Locale.objects.get(language_code="en")).specific
    assert english.renewal_course == renewal.get_translation(english.locale)
    client.force_login(liu)
    with translation.override("zh-hans"):
        html = client.get(reverse("certificates:list")).content.decode()
    assert "cert-status-expired" in html
    assert renewal.url in html


def test_the_study_history_fills_the_course_analytics(seeded):
    drivers = User.objects.filter(mobile__in=[s.mobile for s in demo.STORIES])
    enrollments = Enrollment.objects.filter(user__in=drivers)
    assert enrollments.count() == len(demo.STORIES)
    assert enrollments.filter(status=Enrollment.Status.ACTIVE).exists()  # still studying
    assert Completion.objects.filter(user__in=drivers).count() == Credential.objects.count() == 5
    attempts = QuizAttempt.objects.filter(enrollment__in=enrollments)
    assert attempts.filter(passed=True).exists() and attempts.filter(passed=False).exists()
    courses = CoursePage.objects.filter(enrollments__in=enrollments).distinct()
    assert courses.count() >= 4


def _snapshot() -> dict[str, int]:
    counted = {"revisions": Revision.objects.count()}
    for model in apps.get_models():
        if model._meta.app_label in {"wagtailcore", "courses", "credentials", "cms"}:
            counted[model._meta.label] = model.objects.count()
    return counted


def test_seed_demo_twice_changes_nothing(seeded):
    before = _snapshot()
    statuses = dict(Credential.objects.values_list("pk", "status"))
    call_command("seed_demo", verbosity=0)
    assert _snapshot() == before
    assert dict(Credential.objects.values_list("pk", "status")) == statuses
