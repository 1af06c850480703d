"""Demo study history and certificates: the demo drivers enrol, study, take quizzes and earn
credentials through the same services a driver's clicks go through, so the learning pages,
the certificate pages, the verifier and the partners' course analytics all have something
to show.

- 王建国 holds three valid certificates, one of them for a course co-developed by a school
  and a carmaker (a proof set: both organisations sign it), and lets the demo platform
  (快行出行) see them.
- 张伟 had a certificate revoked by the issuing school, and has given no platform consent.
- 刘芳's certificate expired: she finished the course more than two years ago; the course
  offers a renewal course.
- 马强 and Chen Hao are part-way through courses (one quiz failed), for the analytics.

Idempotent: a driver's story for a course runs only when the driver has no enrolment in it,
a certificate is revoked only when nobody has changed its status yet, and consent is granted
only when the driver never granted or withdrew it. Run by ``manage.py seed_demo`` when
settings.DEMO_SEEDERS lists "credentials.demo.seed_demo", after courses.demo.seed_demo."""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest import mock

from django.db import transaction
from django.utils import timezone
from wagtail.models import Locale

from cms.demo import DEMO_PLATFORM
from cms.models import Organization, User
from courses import grading
from courses import services as learning
from courses.models import Completion, CoursePage, Enrollment, LessonPage
from credentials import services
from credentials.models import ConsentGrant, Credential

logger = logging.getLogger(__name__)

WANG, ZHANG, LIU, MA, CHEN = (f"+861390000000{n}" for n in range(1, 6))
OPERATOR = "+8613800000001"

REVOCATION_REASON = "考试作弊，经调查属实 (cheating in the final quiz, confirmed)"
# 刘芳's certificate: the course's certificates are valid 730 days (the default), so a
# completion 800 days ago expired 70 days ago.
EXPIRED_COURSE = "defensive-driving"
EXPIRED_DAYS_AGO = 800
RENEWAL_COURSE = "driver-assistance"


@dataclass(frozen=True)
class Story:
    """What one driver did in one course: ``days_ago`` when they studied it."""

    mobile: str
    course: str
    days_ago: int
    lessons: int | None = None  # reading lessons done; None: all, then the quiz
    failed_first: bool = False  # a failed quiz attempt the day before
    quiz: bool = True  # take the final quiz (pass it, unless ``failed_only``)
    failed_only: bool = False
    revoke: bool = False


# In order: a prerequisite is completed before the course that needs it.
STORIES = [
    Story(WANG, "defensive-driving", days_ago=120),
    Story(WANG, "ev-charging-and-range", days_ago=45),  # jiangnan-auto with yuanhang-nev
    Story(WANG, "passenger-service", days_ago=10, failed_first=True),
    Story(ZHANG, "ride-hailing-regulations", days_ago=60, revoke=True),
    Story(ZHANG, "defensive-driving", days_ago=3, lessons=1, quiz=False),
    Story(LIU, EXPIRED_COURSE, days_ago=EXPIRED_DAYS_AGO),
    Story(MA, "ev-charging-and-range", days_ago=5, failed_only=True),
    Story(MA, "passenger-service", days_ago=2, lessons=2, quiz=False),
    Story(CHEN, "passenger-service", days_ago=1, lessons=0, quiz=False),
]


@contextmanager
def _at(when: datetime):
    """Run the services as if it were ``when``. Credentials cannot be edited after signing,
    so an old certificate is made by completing the course and issuing it at that time:
    enrolment, progress, attempts, completion, ``validFrom`` and ``validUntil`` all agree.
    (Status lists are signed when the transaction commits, at the real time; a verifier
    re-signs a stale one anyway: credentials.status.status_list_current_document.)"""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def _course(slug: str, zh: Locale) -> CoursePage:
    return CoursePage.objects.get(slug=slug, locale=zh)


def _right_answers(lesson: LessonPage) -> dict[str, list[str]]:
    return {question.id: sorted(question.correct) for question in grading.answer_key(lesson)}


def _wrong_answers(lesson: LessonPage) -> dict[str, list[str]]:
    """Every question answered wrongly: a wrong choice, or the other of true and false."""
    answers = {}
    for question in grading.answer_key(lesson):
        allowed = question.choice_ids or ("true", "false")
        answers[question.id] = [next(c for c in allowed if c not in question.correct)]
    return answers


def _study(driver: User, course: CoursePage, story: Story) -> None:
    now = timezone.now()
    when = now - timedelta(days=story.days_ago)
    lessons = list(course.lessons().specific())
    readings = [lesson for lesson in lessons if not lesson.has_quiz]
    quizzes = [lesson for lesson in lessons if lesson.has_quiz]
    if story.lessons is not None:
        readings = readings[: story.lessons]
    if story.failed_first or story.failed_only:
        with _at(when - timedelta(days=1)):
            learning.enrollment_create(user=driver, course=course)
            for lesson in readings:
                learning.lesson_complete(user=driver, lesson=lesson)
            for lesson in quizzes:
                learning.quiz_attempt_submit(
                    user=driver, lesson=lesson, answers=_wrong_answers(lesson)
                )
        if story.failed_only:
            return
    with _at(when):
        learning.enrollment_create(user=driver, course=course)
        for lesson in readings:
            learning.lesson_complete(user=driver, lesson=lesson)
        if story.quiz:
            for lesson in quizzes:
                learning.quiz_attempt_submit(
                    user=driver, lesson=lesson, answers=_right_answers(lesson)
                )
        completion = Completion.objects.filter(user=driver, course=course).first()
        if completion is not None:
            # Issued when the course was completed (the task on commit finds it issued).
            services.credential_issue(completion=completion)


def _revoke(credential: Credential) -> None:
    if credential.status != Credential.Status.ACTIVE or credential.status_changes.exists():
        return  # revoked already, or changed by someone since: leave it
    actor = User.objects.filter(organization=credential.issuer).order_by(
        "pk"
    ).first() or User.objects.get(mobile=OPERATOR)
    services.credential_revoke(credential=credential, actor=actor, reason=REVOCATION_REASON)


def _renewal(zh: Locale) -> None:
    """Offer the renewal course to drivers whose certificate of EXPIRED_COURSE expired, in
    both languages, published as a revision (as an editor's change would be)."""
    course, renewal = _course(EXPIRED_COURSE, zh), _course(RENEWAL_COURSE, zh)
    pairs = [(course, renewal)]
    for locale in Locale.objects.exclude(pk=zh.pk):
        translated = course.get_translation_or_none(locale)
        translated_renewal = renewal.get_translation_or_none(locale)
        if translated is not None and translated_renewal is not None:
            pairs.append((translated.specific, translated_renewal.specific))
    for page, target in pairs:
        if page.renewal_course_id is not None:
            continue  # set already (or by an editor): leave it
        page.renewal_course = target
        page.save_revision(user=page.owner).publish(user=page.owner, skip_permission_checks=True)


@transaction.atomic
def seed_demo() -> list[str]:
    """Create what is missing of the demo drivers' study history and certificates; returns
    lines for ``seed_demo`` to print (the certificates and where to check them)."""
    zh = Locale.objects.get(language_code="zh-hans")
    drivers = {user.mobile: user for user in User.objects.filter(mobile__startswith="+86139")}
    for story in STORIES:
        driver, course = drivers[story.mobile], _course(story.course, zh)
        if not Enrollment.objects.filter(user=driver, course=course).exists():
            _study(driver, course, story)
        if story.revoke:
            credential = Credential.objects.filter(holder=driver, course=course).first()
            if credential is not None:
                _revoke(credential)
    _renewal(zh)

    platform = Organization.objects.get(slug=DEMO_PLATFORM)
    wang = drivers[WANG]
    if not ConsentGrant.objects.filter(holder=wang, platform=platform).exists():
        services.consent_grant(holder=wang, platform=platform)
    return _summary_lines()


def _summary_lines() -> list[str]:
    from credentials.files import share_url
    from credentials.selectors import display_status

    lines = ["Demo certificates (check them at /verify/ or with the API):"]
    credentials = Credential.objects.filter(holder__mobile__startswith="+86139").select_related(
        "holder", "course"
    )
    for credential in credentials.order_by("holder__mobile", "issued_at"):
        lines.append(
            f"  {credential.number:<17} {display_status(credential):<9} "
            f"{credential.holder.mobile:<15} {share_url(credential)}"
        )
    return lines
