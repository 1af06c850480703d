"""Enrolment, progress, grading and completion: what a driver does, and what a cheat tries."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cms.models import Organization
from courses import services
from courses.models import Completion, Enrollment, LessonProgress, QuizAttempt, SeatPool, Voucher
from courses.signals import course_completed
from tests.courses.builders import add_lesson, build_course, choice_ids
from tests.factories import DriverFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def right_answers(lesson) -> dict:
    single, multiple, true_false = lesson.questions
    return {
        single.id: [choice_ids(single)[1]],
        multiple.id: [choice_ids(multiple)[0], choice_ids(multiple)[2]],
        true_false.id: ["false"],
    }


def wrong_answers(lesson) -> dict:
    single, multiple, true_false = lesson.questions
    return {
        single.id: [choice_ids(single)[0]],
        multiple.id: [choice_ids(multiple)[1]],
        true_false.id: ["true"],
    }


@pytest.fixture
def built():
    return build_course()


@pytest.fixture
def driver():
    return DriverFactory()


@pytest.fixture
def enrolled(built, driver):
    services.enrollment_create(user=driver, course=built.course)
    return driver


# --- enrolment ----------------------------------------------------------------------------


def test_a_free_course_enrols_at_once_and_twice_is_once(built, driver):
    first = services.enrollment_create(user=driver, course=built.course)
    again = services.enrollment_create(user=driver, course=built.course)
    assert first == again
    assert first.status == Enrollment.Status.ACTIVE
    assert first.source == Enrollment.Source.FREE
    assert Enrollment.objects.count() == 1


def test_a_paid_course_says_payment_is_not_available_yet(driver):
    paid = build_course(price_fen=9900)
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=driver, course=paid.course)
    assert excinfo.value.code == "payment_unavailable"
    assert not Enrollment.objects.exists()


def _pool(course, seats=2):
    sponsor = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    pool = SeatPool.objects.create(sponsor=sponsor, course=course, seats=seats)
    for n in range(seats):
        Voucher.objects.create(pool=pool, code=f"SEAT-{pool.pk}-{n}")
    return pool


def test_a_sponsored_seat_code_enrols_once_and_only_for_its_course(driver):
    paid = build_course(price_fen=9900)
    other = build_course(title="另一门课", price_fen=9900)
    pool = _pool(paid.course)
    code = pool.vouchers.first().code
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=driver, course=other.course, voucher_code=code)
    assert excinfo.value.code == "voucher_course"
    enrollment = services.enrollment_create(
        user=driver, course=paid.course, voucher_code=f"  {code.lower()} "
    )
    assert enrollment.source == Enrollment.Source.VOUCHER
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=DriverFactory(), course=paid.course, voucher_code=code)
    assert excinfo.value.code == "voucher_used"
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=DriverFactory(), course=paid.course, voucher_code="NOPE")
    assert excinfo.value.code == "voucher_invalid"


def test_prerequisites_are_enforced_naming_what_is_missing(built, driver):
    advanced = build_course(title="高级防御驾驶")
    advanced.course.prerequisites.add(built.course)
    advanced.course.save_revision().publish()
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=driver, course=advanced.course)
    assert excinfo.value.code == "prerequisites"
    assert "防御性驾驶" in excinfo.value.messages[0]
    _complete(driver, built)
    assert services.enrollment_create(user=driver, course=advanced.course).status == "active"


# --- lessons and quizzes ------------------------------------------------------------------


def test_a_lesson_cannot_be_done_without_enrolling(built, driver):
    with pytest.raises(PermissionDenied):
        services.lesson_complete(user=driver, lesson=built.reading)


def test_a_quiz_lesson_is_done_by_passing_not_by_clicking(built, enrolled):
    with pytest.raises(ValidationError) as excinfo:
        services.lesson_complete(user=enrolled, lesson=built.quiz)
    assert excinfo.value.code == "quiz_lesson"


def test_a_video_lesson_needs_most_of_the_video_watched(built, enrolled):
    from django.core.files.base import ContentFile
    from wagtail.documents.models import Document

    clip = Document(title="clip")
    clip.file.save("clip.mp4", ContentFile(b"\x00" * 16), save=True)
    video = add_lesson(
        built.course,
        "视频课",
        [("video", {"embed": None, "file": clip, "duration_seconds": 100, "transcript": ""})],
    )
    with pytest.raises(ValidationError) as excinfo:
        services.lesson_complete(user=enrolled, lesson=video, video_seconds_watched=30)
    assert excinfo.value.code == "video_not_watched"
    progress = services.lesson_complete(user=enrolled, lesson=video, video_seconds_watched=85)
    assert progress.completed_at is not None


def test_right_answers_pass_and_the_lesson_is_done(built, enrolled):
    attempt = services.quiz_attempt_submit(
        user=enrolled, lesson=built.quiz, answers=right_answers(built.quiz)
    )
    assert (attempt.score, attempt.max_score, attempt.percent, attempt.passed) == (4, 4, 100, True)
    assert LessonProgress.objects.get(lesson=built.quiz).completed_at is not None


def test_wrong_answers_fail_and_say_which_were_wrong(built, enrolled):
    answers = right_answers(built.quiz)
    single, multiple, _tf = built.quiz.questions
    answers[multiple.id] = [choice_ids(multiple)[0]]  # half right is wrong
    attempt = services.quiz_attempt_submit(user=enrolled, lesson=built.quiz, answers=answers)
    assert attempt.score == 2
    assert attempt.percent == 50
    assert not attempt.passed
    verdicts = {r["question"]: r["correct"] for r in attempt.results}
    assert verdicts[single.id] is True
    assert verdicts[multiple.id] is False


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a, qs: {**a, "not-a-question": ["x"]},
        lambda a, qs: {**a, qs[0].id: [choice_ids(qs[1])[0]]},  # a choice of another question
        lambda a, qs: {**a, qs[0].id: choice_ids(qs[0])[:2]},  # two answers to a one-answer one
        lambda a, qs: {**a, qs[2].id: ["maybe"]},
        lambda a, qs: {**a, qs[1].id: [choice_ids(qs[1])[0], choice_ids(qs[1])[0]]},
        lambda a, qs: {k: v for k, v in a.items() if k != qs[0].id},  # a question skipped
        lambda a, qs: {**a, qs[0].id: [{"id": 1}]},
        lambda a, qs: ["not", "a", "dict"],
    ],
)
def test_tampered_answers_are_refused_and_not_counted(built, enrolled, tamper):
    answers = tamper(right_answers(built.quiz), built.quiz.questions)
    with pytest.raises(ValidationError):
        services.quiz_attempt_submit(user=enrolled, lesson=built.quiz, answers=answers)
    assert not QuizAttempt.objects.exists()


def test_attempts_are_limited(enrolled):
    course = build_course(attempt_limit=2)
    services.enrollment_create(user=enrolled, course=course.course)
    for _ in range(2):
        services.quiz_attempt_submit(
            user=enrolled, lesson=course.quiz, answers=wrong_answers(course.quiz)
        )
    with pytest.raises(ValidationError) as excinfo:
        services.quiz_attempt_submit(
            user=enrolled, lesson=course.quiz, answers=right_answers(course.quiz)
        )
    assert excinfo.value.code == "no_attempts_left"
    assert QuizAttempt.objects.count() == 2


def test_a_cool_down_separates_attempts(enrolled):
    course = build_course(cooldown_minutes=30)
    services.enrollment_create(user=enrolled, course=course.course)
    services.quiz_attempt_submit(
        user=enrolled, lesson=course.quiz, answers=wrong_answers(course.quiz)
    )
    with pytest.raises(ValidationError) as excinfo:
        services.quiz_attempt_submit(
            user=enrolled, lesson=course.quiz, answers=right_answers(course.quiz)
        )
    assert excinfo.value.code == "cooldown"
    QuizAttempt.objects.update(submitted_at=timezone.now() - timedelta(minutes=31))
    assert services.quiz_attempt_submit(
        user=enrolled, lesson=course.quiz, answers=right_answers(course.quiz)
    ).passed


def test_a_passed_quiz_cannot_be_taken_again(built, enrolled):
    services.quiz_attempt_submit(
        user=enrolled, lesson=built.quiz, answers=right_answers(built.quiz)
    )
    with pytest.raises(ValidationError) as excinfo:
        services.quiz_attempt_submit(
            user=enrolled, lesson=built.quiz, answers=right_answers(built.quiz)
        )
    assert excinfo.value.code == "passed"


# --- completion -----------------------------------------------------------------------------


def _complete(driver, built):
    services.enrollment_create(user=driver, course=built.course)
    services.lesson_complete(user=driver, lesson=built.reading)
    return services.quiz_attempt_submit(
        user=driver, lesson=built.quiz, answers=right_answers(built.quiz)
    )


def test_completion_needs_every_lesson_and_the_pass_mark(
    built, enrolled, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, completion, **kwargs):
        received.append(completion)

    course_completed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.quiz_attempt_submit(
                user=enrolled, lesson=built.quiz, answers=right_answers(built.quiz)
            )
        assert not Completion.objects.exists()  # the reading lesson is not done yet
        with django_capture_on_commit_callbacks(execute=True):
            services.lesson_complete(user=enrolled, lesson=built.reading)
            services.lesson_complete(user=enrolled, lesson=built.reading)  # a double tap
    finally:
        course_completed.disconnect(listener)
    completion = Completion.objects.get()
    assert completion.score_percent == 100
    assert Enrollment.objects.get().status == Enrollment.Status.COMPLETED
    assert received == [completion]
