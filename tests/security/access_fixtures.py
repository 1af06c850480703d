"""One small world for the authorisation matrix (tests/security/test_access_matrix.py).

Two schools (A and B) and a carmaker, each set up as operators set organisations up
(courses.authoring.section_ensure: section, collection, authors group, review workflow);
two platforms (X and Y) with API keys and webhooks; two drivers; an operator. Driver 1 holds
a certificate of school A, consents to platform X (not Y), is linked to X and has a reward
line of X's October run and a dispute on it; driver 2 holds a certificate of school B and
withdrew the consent once given to X.

Every object another tenant must not see carries a marker (``SECRET_*``) in its title or
name, so that a test can assert the marker is absent from what the other tenant is shown."""

import io
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.files.images import ImageFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from wagtail.documents import get_document_model
from wagtail.images import get_image_model

from cms.api_keys import platform_api_key_create, platform_api_key_revoke
from cms.models import CheckoutPayment, Organization, PaymentAlert, StripeEvent, User
from cms.platform_webhooks import webhook_subscribe
from courses import services as learning
from courses.authoring import member_groups_sync, operators_group, section_ensure
from courses.models import CoursePage
from credentials import services as credentials
from credentials.models import ConsentGrant, Credential
from rewards import disputes
from rewards.models import Dispute, RewardLine
from tests.courses.builders import add_lesson, build_course, catalogue
from tests.courses.test_learning import right_answers
from tests.rewards.test_statements import (
    OCT_1,
    OCT_31,
    QUALITY,
    china,
    deposit,
    link,
    publish,
    report,
    run_month,
)

# Markers: what each tenant owns that no other tenant may be shown.
SECRET_B_COURSE = "乙校机密课程SECRETB"
SECRET_B_DRAFT = "乙校草稿SECRETBDRAFT"
SECRET_B_IMAGE = "SECRETBIMAGE"
SECRET_B_DOCUMENT = "SECRETBDOCUMENT"
SECRET_A_COURSE = "甲校课程SECRETA"
SECRET_B_LESSON = "付费课时内容SECRETBLESSON"
SECRET_X_WEBHOOK = "https://x.example.com/SECRETXHOOK"
SECRET_Y_WEBHOOK = "https://y.example.com/SECRETYHOOK"
DRIVER1_NAME = "司机一号SECRETD1"
DRIVER2_NAME = "司机二号SECRETD2"
DRIVER1_MOBILE = "+8613900000101"
DRIVER2_MOBILE = "+8613900000102"
DRIVER1_PLATFORM_ID = "X-DRIVER-ONE"

MEMBERS_GROUP = "Access test members"  # as cms.demo gives organisation members the admin


@dataclass
class World:
    orgs: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # role -> raw API key
    objects: dict[str, object] = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


def _org(kind, slug, name, name_en) -> Organization:
    return Organization.objects.create(kind=kind, slug=slug, name=name, name_en=name_en)


def _png() -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 4), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def _media_in(collection, title: str):
    image = get_image_model()(title=title, collection=collection)
    image.file.save("secret-b.png", ImageFile(io.BytesIO(_png()), name="secret-b.png"), save=False)
    image.save()
    document = get_document_model()(title=SECRET_B_DOCUMENT, collection=collection)
    document.file.save(
        "secret-b.txt", SimpleUploadedFile("secret-b.txt", b"SECRETBFILE"), save=False
    )
    document.save()
    return image, document


def _complete(driver, built) -> Credential:
    learning.enrollment_create(user=driver, course=built.course)
    learning.lesson_complete(user=driver, lesson=built.reading)
    learning.quiz_attempt_submit(user=driver, lesson=built.quiz, answers=right_answers(built.quiz))
    completion = driver.completions.get(course=built.course)
    return credentials.credential_issue(completion=completion)


def build_world() -> World:
    w = World()
    kinds = Organization.Kind
    w.orgs = {
        "school_a": _org(kinds.SCHOOL, "school-a", "甲职业学校", "School A"),
        "school_b": _org(kinds.SCHOOL, "school-b", "乙职业学校", "School B"),
        "carmaker": _org(kinds.CARMAKER, "carmaker-c", "丙汽车", "Carmaker C"),
        "platform_x": _org(kinds.PLATFORM, "platform-x", "X出行", "Platform X"),
        "platform_y": _org(kinds.PLATFORM, "platform-y", "Y出行", "Platform Y"),
    }
    catalogue()
    sections = {
        slug: section_ensure(organization=w.orgs[slug])
        for slug in ("school_a", "school_b", "carmaker")
    }
    members, _ = Group.objects.get_or_create(name=MEMBERS_GROUP)
    members.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )

    def person(role, mobile, org=None, name="", **extra):
        user = User.objects.create_user(
            mobile=mobile,
            password="correct-horse-battery",  # noqa: S106 - a test password
            display_name=name or role,
            organization=w.orgs[org] if org else None,
            **extra,
        )
        if org:
            member_groups_sync(user=user)
            user.groups.add(members)
        w.users[role] = user
        return user

    person("driver", DRIVER1_MOBILE, name=DRIVER1_NAME)
    person("driver2", DRIVER2_MOBILE, name=DRIVER2_NAME)
    person("author_a", "+8613700000201", "school_a")
    person("author_b", "+8613700000202", "school_b")
    person("carmaker", "+8613700000203", "carmaker")
    person("platform_x", "+8613700000204", "platform_x")
    person("platform_y", "+8613700000205", "platform_y")
    operator = User.objects.create_superuser(mobile="+8613700000299", password="x-operator-pw")
    operator.groups.add(operators_group())
    w.users["operator"] = operator

    # Courses: A's is free and published; B's is published, paid, plus a draft.
    a = build_course(organization=w.orgs["school_a"], title=SECRET_A_COURSE)
    b = build_course(organization=w.orgs["school_b"], title=SECRET_B_COURSE, price_fen=9900)
    c = build_course(organization=w.orgs["carmaker"], title="丙车企课程")
    draft_b = CoursePage(
        title=SECRET_B_DRAFT,
        slug="draft-b",
        summary="x",
        category="safe_driving",
        live=False,
    )
    sections["school_b"].add_child(instance=draft_b)
    draft_b.save_revision()
    w.objects.update(course_a=a, course_b=b, course_c=c, draft_b=draft_b)
    w.objects["section_b"] = sections["school_b"]
    from courses.authoring import organization_collection

    w.objects["collection_b"] = organization_collection(w.orgs["school_b"])
    w.objects["image_b"], w.objects["document_b"] = _media_in(
        w.objects["collection_b"], SECRET_B_IMAGE
    )

    # Certificates: driver 1 of school A (free course); driver 2 of school B (given a paid
    # course's enrolment through the service, which does not charge).
    cred1 = _complete(w.users["driver"], a)
    cred1 = credentials.credential_share_renew(credential=cred1, user=w.users["driver"])
    w.objects["cred1"] = cred1
    w.objects["cred_b"] = _complete_paid(w.users["driver2"], b)
    # A lesson added to B's paid course after driver 2 finished it: still theirs to read.
    w.objects["paid_lesson_b"] = add_lesson(
        b.course, "付费课时", [("paragraph", f"<p>{SECRET_B_LESSON}</p>")]
    )

    # Consent: driver 1 → X (live). Driver 2 → X, withdrawn.
    credentials.consent_grant(holder=w.users["driver"], platform=w.orgs["platform_x"])
    withdrawn = credentials.consent_grant(holder=w.users["driver2"], platform=w.orgs["platform_x"])
    credentials.consent_withdraw(grant=withdrawn, holder=w.users["driver2"])
    w.objects["grant_x"] = ConsentGrant.objects.get(holder=w.users["driver"], withdrawn_at=None)

    # API keys.
    by = operator
    _k, w.keys["platform_x"] = platform_api_key_create(
        organization=w.orgs["platform_x"], name="x live", created_by=by
    )
    _k, w.keys["platform_y"] = platform_api_key_create(
        organization=w.orgs["platform_y"], name="y live", created_by=by
    )
    revoked, w.keys["revoked"] = platform_api_key_create(
        organization=w.orgs["platform_x"], name="x revoked", created_by=by
    )
    platform_api_key_revoke(api_key=revoked, revoked_by=by)
    w.objects["key_x_revoked"] = revoked

    # Webhooks.
    w.objects["webhook_x"], _secret = webhook_subscribe(
        platform=w.orgs["platform_x"], url=SECRET_X_WEBHOOK, events=["credential.issued"]
    )
    w.objects["webhook_y"], _secret = webhook_subscribe(
        platform=w.orgs["platform_y"], url=SECRET_Y_WEBHOOK, events=["credential.issued"]
    )

    # Rewards: driver 1 linked to X with October trips, a quality line and a dispute on it.
    x = w.orgs["platform_x"]
    publish(x, "quality", QUALITY, amount_fen=5000, effective_from=OCT_1)
    deposit(x, 100_000)
    link(x, w.users["driver"], DRIVER1_PLATFORM_ID)
    report(x, w.users["driver"], when=china(2026, 10, 10), trips=100, ratings=[5] * 10)
    w.objects["run_x"] = run_month(x, OCT_1, OCT_31, china(2026, 11, 5))
    line = RewardLine.objects.get(driver=w.users["driver"])
    w.objects["line1"] = line
    disputes.dispute_open(
        driver=w.users["driver"],
        reward_line=line,
        reason="SECRETD1DISPUTE my trips were not counted",
    )
    w.objects["dispute1"] = Dispute.objects.get(driver=w.users["driver"])
    w.objects["rule_x"] = line.rule_version
    w.objects["october"] = date(2026, 10, 1)

    # Payments: driver 1's course purchase; platform X's seat purchase; a Stripe event/alert.
    from courses.models import Enrollment

    waiting = Enrollment.objects.create(
        user=w.users["driver"],
        course=b.course,
        source=Enrollment.Source.PURCHASE,
        status=Enrollment.Status.PENDING_PAYMENT,
    )
    w.objects["payment_d1"] = CheckoutPayment.objects.create(
        purpose=CheckoutPayment.Purpose.COURSE,
        reference=str(waiting.public_id),
        user=w.users["driver"],
        amount_fen=9900,
        description="SECRETD1PAYMENT",
    )
    w.objects["seat_purchase_x"] = CheckoutPayment.objects.create(
        purpose=CheckoutPayment.Purpose.SEATS,
        reference=str(b.course.pk),
        user=w.users["platform_x"],
        organization=x,
        amount_fen=99000,
        quantity=10,
        description="SECRETXSEATS",
        session_id="cs_access_seats_x",
        status=CheckoutPayment.Status.PAID,
    )
    w.objects["stripe_event"] = StripeEvent.objects.create(
        event_id="evt_access_1", type="checkout.session.completed", payload={"id": "evt_access_1"}
    )
    w.objects["alert"] = PaymentAlert.objects.create(
        kind=PaymentAlert.Kind.values[0], reference="access", message="SECRETALERT"
    )
    w.objects["seat_pool_x"] = pool = learning.seat_pool_create(sponsor=x, course=a.course, seats=2)
    pool.payment = w.objects["seat_purchase_x"]
    pool.save(update_fields=["payment"])

    # School B's draft waits for its reviewers (the workflow report, the dashboard panels).
    workflow = w.objects["section_b"].get_workflow()
    workflow.start(draft_b, w.users["author_b"])
    return w


def _complete_paid(driver, built) -> Credential:
    from courses.models import Enrollment

    Enrollment.objects.create(user=driver, course=built.course, source="purchase")
    learning.lesson_complete(user=driver, lesson=built.reading)
    learning.quiz_attempt_submit(user=driver, lesson=built.quiz, answers=right_answers(built.quiz))
    completion = driver.completions.get(course=built.course)
    return credentials.credential_issue(completion=completion)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once per test module inside a transaction that is rolled back (and
    the caches emptied) when the module ends. Each test's own writes are rolled back by
    pytest-django's per-test transaction, nested inside this one."""
    with django_db_blocker.unblock():
        cache.clear()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            cache.clear()
