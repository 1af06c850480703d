"""Verbs of learning: enrol, finish a lesson, submit a quiz, complete a course.

Every function takes the page the driver is looking at, in any language, and records
against the default-language page, so a course studied half in Chinese and half in
English is one enrolment."""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import User
from courses import grading
from courses.models import (
    Completion,
    CoursePage,
    Enrollment,
    LessonPage,
    LessonProgress,
    QuizAttempt,
    SeatPool,
    Voucher,
)
from courses.models.pages import default_locale_page
from courses.signals import course_completed

# A video lesson counts as done when this share of the video was watched.
VIDEO_WATCHED_SHARE = 0.8


def _canonical_course(course: CoursePage) -> CoursePage:
    return default_locale_page(course).specific


def _canonical_lesson(lesson: LessonPage) -> LessonPage:
    return default_locale_page(lesson).specific


def missing_prerequisites(*, user: User, course: CoursePage) -> list[CoursePage]:
    course = _canonical_course(course)
    required = list(course.prerequisites.all())
    if not required:
        return []
    done = set(
        Completion.objects.filter(user=user, course__in=required).values_list(
            "course_id", flat=True
        )
    )
    return [c for c in required if c.pk not in done]


def enrollment_create(*, user: User, course: CoursePage, voucher_code: str = "") -> Enrollment:
    """Enrol ``user``: free courses at once, others with a sponsored-seat voucher.
    Enrolling again returns the existing enrolment."""
    course = _canonical_course(course)
    if not course.live:
        raise ValidationError(_("This course is not open for enrolment."), code="not_live")
    existing = Enrollment.objects.filter(user=user, course=course).first()
    if existing is not None and existing.status != Enrollment.Status.CANCELLED:
        return existing
    missing = missing_prerequisites(user=user, course=course)
    if missing:
        # Translators: separates course titles in a list ("、" in Chinese).
        names = _(", ").join(c.localized.title for c in missing)
        raise ValidationError(
            _("Complete these courses first: %(courses)s") % {"courses": names},
            code="prerequisites",
        )
    voucher_code = (voucher_code or "").strip().upper()
    try:
        with transaction.atomic():
            if voucher_code:
                voucher = _voucher_take(code=voucher_code, user=user, course=course)
                fields = {"source": Enrollment.Source.VOUCHER, "voucher": voucher}
            elif course.is_free:
                fields = {"source": Enrollment.Source.FREE}
            else:
                raise ValidationError(
                    _(
                        "Paid enrolment is not available yet. Ask your platform or carmaker "
                        "for a sponsored seat code."
                    ),
                    code="payment_unavailable",
                )
            if existing is not None:  # coming back after a cancellation
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.status = Enrollment.Status.ACTIVE
                existing.save()
                return existing
            return Enrollment.objects.create(
                user=user, course=course, status=Enrollment.Status.ACTIVE, **fields
            )
    except IntegrityError:
        # Two requests at once (a double tap): the other one enrolled; use it.
        return Enrollment.objects.get(user=user, course=course)


def _voucher_take(*, code: str, user: User, course: CoursePage) -> Voucher:
    voucher = Voucher.objects.select_for_update().select_related("pool").filter(code=code).first()
    if voucher is None:
        raise ValidationError(_("That code is not valid."), code="voucher_invalid")
    if voucher.pool.course_id != course.pk:
        raise ValidationError(_("That code is for another course."), code="voucher_course")
    if voucher.redeemed_at is not None:
        raise ValidationError(_("That code has already been used."), code="voucher_used")
    voucher.redeemed_by = user
    voucher.redeemed_at = timezone.now()
    voucher.save(update_fields=["redeemed_by", "redeemed_at"])
    return voucher


def _active_enrollment(*, user: User, course: CoursePage, lock: bool = False) -> Enrollment:
    queryset = Enrollment.objects.filter(
        user=user,
        course=course,
        status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED],
    )
    if lock:
        queryset = queryset.select_for_update()
    enrollment = queryset.first()
    if enrollment is None:
        raise PermissionDenied(_("Enrol in the course first."))
    return enrollment


def lesson_visit(*, user: User, lesson: LessonPage) -> bool:
    """Remember where the driver is, for "continue where I left off". False when the
    driver is not enrolled (studying or completed) in the lesson's course."""
    lesson = _canonical_lesson(lesson)
    updated = Enrollment.objects.filter(
        user=user,
        course=lesson.course,
        status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED],
    ).update(last_lesson=lesson, updated_at=timezone.now())
    return updated > 0


def lesson_complete(
    *, user: User, lesson: LessonPage, video_seconds_watched: int | None = None
) -> LessonProgress:
    """The driver reached the end of a lesson. A lesson with a quiz is done when the
    quiz is passed instead; a lesson with a video needs most of the video watched."""
    lesson = _canonical_lesson(lesson)
    if lesson.has_quiz:
        raise ValidationError(_("Pass the quiz to finish this lesson."), code="quiz_lesson")
    needed = _video_seconds_needed(lesson)
    watched = max(0, int(video_seconds_watched or 0))
    with transaction.atomic():
        enrollment = _active_enrollment(user=user, course=lesson.course, lock=True)
        progress, _created = LessonProgress.objects.get_or_create(
            enrollment=enrollment, lesson=lesson
        )
        progress.video_seconds_watched = max(progress.video_seconds_watched, watched)
        if needed and progress.video_seconds_watched < needed and progress.completed_at is None:
            progress.save(update_fields=["video_seconds_watched"])
            raise ValidationError(_("Watch the video to the end first."), code="video_not_watched")
        if progress.completed_at is None:
            progress.completed_at = timezone.now()
        progress.save(update_fields=["video_seconds_watched", "completed_at"])
        enrollment.last_lesson = lesson
        enrollment.save(update_fields=["last_lesson", "updated_at"])
        _complete_if_done(enrollment)
    return progress


def _video_seconds_needed(lesson: LessonPage) -> int:
    # Only uploaded videos report how far they were watched; an embedded player does not.
    total = sum(
        block.value.get("duration_seconds") or 0
        for block in lesson.body
        if block.block_type == "video" and block.value.get("file")
    )
    return int(total * VIDEO_WATCHED_SHARE)


def quiz_state(*, enrollment: Enrollment | None, lesson: LessonPage) -> dict:
    """Attempts used and left, whether passed, and when the next attempt may start."""
    lesson = _canonical_lesson(lesson)
    course = lesson.course
    attempts = (
        list(QuizAttempt.objects.filter(enrollment=enrollment, lesson=lesson)) if enrollment else []
    )
    passed = any(a.passed for a in attempts)
    limit = course.attempt_limit
    left = None if limit == 0 else max(0, limit - len(attempts))
    next_at = None
    if attempts and not passed and course.cooldown_minutes:
        next_at = attempts[0].submitted_at + timedelta(minutes=course.cooldown_minutes)
        if next_at <= timezone.now():
            next_at = None
    return {
        "attempts": attempts,
        "latest": attempts[0] if attempts else None,
        "passed": passed,
        "attempts_left": left,
        "next_attempt_at": next_at,
        "can_attempt": not passed and left != 0 and next_at is None,
    }


def quiz_attempt_submit(*, user: User, lesson: LessonPage, answers: dict) -> QuizAttempt:
    """Grade a quiz submission and record it. Refused (and not counted) when the answers
    do not fit the quiz, the attempts are used up, or the cool-down has not passed."""
    lesson = _canonical_lesson(lesson)
    course = lesson.course
    key = grading.answer_key(lesson)
    if not key:
        raise ValidationError(_("This lesson has no quiz."), code="no_quiz")
    clean = grading.normalise_answers(key, answers)
    with transaction.atomic():
        # The enrolment row lock serialises a driver's submissions: two at once cannot
        # both take the last attempt, nor both complete the course.
        enrollment = _active_enrollment(user=user, course=course, lock=True)
        state = quiz_state(enrollment=enrollment, lesson=lesson)
        if state["passed"]:
            raise ValidationError(_("You have already passed this quiz."), code="passed")
        if state["attempts_left"] == 0:
            raise ValidationError(
                _("You have used all %(limit)d attempts at this quiz.")
                % {"limit": course.attempt_limit},
                code="no_attempts_left",
            )
        if state["next_attempt_at"] is not None:
            raise ValidationError(
                _("You can try again at %(time)s.")
                % {"time": timezone.localtime(state["next_attempt_at"]).strftime("%H:%M")},
                code="cooldown",
            )
        result = grading.grade(key, clean)
        attempt = QuizAttempt.objects.create(
            enrollment=enrollment,
            lesson=lesson,
            number=len(state["attempts"]) + 1,
            answers=clean,
            results=result.results,
            score=result.score,
            max_score=result.max_score,
            percent=result.percent,
            passed=result.percent >= course.pass_mark,
        )
        if attempt.passed:
            progress, _created = LessonProgress.objects.get_or_create(
                enrollment=enrollment, lesson=lesson
            )
            if progress.completed_at is None:
                progress.completed_at = attempt.submitted_at
                progress.save(update_fields=["completed_at"])
        enrollment.last_lesson = lesson
        enrollment.save(update_fields=["last_lesson", "updated_at"])
        _complete_if_done(enrollment)
    return attempt


def _complete_if_done(enrollment: Enrollment) -> Completion | None:
    """Record the completion once: every live lesson done (quizzes passed). Called with
    the enrolment row locked; the unique constraint backs it up."""
    if hasattr(enrollment, "completion"):
        return enrollment.completion
    course = enrollment.course
    lesson_ids = set(course.lessons().values_list("pk", flat=True))
    done = set(
        LessonProgress.objects.filter(
            enrollment=enrollment, completed_at__isnull=False
        ).values_list("lesson_id", flat=True)
    )
    if not lesson_ids or not lesson_ids <= done:
        return None
    best: dict[int, int] = {}
    for lesson_id, percent in QuizAttempt.objects.filter(
        enrollment=enrollment, passed=True
    ).values_list("lesson_id", "percent"):
        best[lesson_id] = max(percent, best.get(lesson_id, 0))
    score = round(sum(best.values()) / len(best)) if best else 100
    completion = Completion.objects.create(
        enrollment=enrollment,
        user=enrollment.user,
        course=course,
        score_percent=score,
        completed_at=timezone.now(),
    )
    enrollment.status = Enrollment.Status.COMPLETED
    enrollment.save(update_fields=["status", "updated_at"])
    transaction.on_commit(lambda: course_completed.send(sender=Completion, completion=completion))
    return completion


VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
VOUCHER_LENGTH = 10
MAX_SEATS_PER_POOL = 10_000


def seat_pool_create(*, sponsor, course: CoursePage, seats: int) -> SeatPool:
    """Sponsored seats: ``seats`` single-use voucher codes for ``course``, paid by a
    platform or carmaker (the payment itself is the payments issue's)."""
    from cms.models import Organization

    if sponsor.kind not in (Organization.Kind.PLATFORM, Organization.Kind.CARMAKER):
        raise ValidationError(
            _("Only a platform or a carmaker can sponsor seats."), code="sponsor_kind"
        )
    if not 1 <= seats <= MAX_SEATS_PER_POOL:
        raise ValidationError(
            _("Seats must be between 1 and %(max)d.") % {"max": MAX_SEATS_PER_POOL},
            code="seats",
        )
    course = _canonical_course(course)
    with transaction.atomic():
        pool = SeatPool.objects.create(sponsor=sponsor, course=course, seats=seats)
        codes: set[str] = set()
        while len(codes) < seats:
            batch = {_voucher_code() for _ in range(seats - len(codes))}
            batch -= set(Voucher.objects.filter(code__in=batch).values_list("code", flat=True))
            codes |= batch
        Voucher.objects.bulk_create(Voucher(pool=pool, code=code) for code in sorted(codes))
    return pool


def _voucher_code() -> str:
    return "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))
