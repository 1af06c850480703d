"""Completion happens exactly once, even when the last step arrives several times at once
(double taps, retries, two phones). Real threads, real transactions, on PostgreSQL."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from courses import services
from courses.models import Completion, QuizAttempt
from tests.courses.builders import build_course
from tests.courses.test_learning import right_answers
from tests.factories import DriverFactory

pytestmark = [
    # serialized_rollback: put back what migrations created (locales, the root page).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
    ),
]
WORKERS = 8


def _race(action) -> list:
    barrier = threading.Barrier(WORKERS)
    outcomes: list = []
    lock = threading.Lock()

    def run():
        try:
            barrier.wait()
            result = action()
        except ValidationError as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_quiz_submissions_complete_the_course_once():
    built = build_course()
    driver = DriverFactory()
    services.enrollment_create(user=driver, course=built.course)
    services.lesson_complete(user=driver, lesson=built.reading)

    outcomes = _race(
        lambda: services.quiz_attempt_submit(
            user=driver, lesson=built.quiz, answers=right_answers(built.quiz)
        )
    )

    assert Completion.objects.filter(user=driver).count() == 1
    assert QuizAttempt.objects.filter(passed=True).count() == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["passed"] * (WORKERS - 1)


def test_concurrent_last_lesson_clicks_complete_the_course_once():
    built = build_course()
    driver = DriverFactory()
    services.enrollment_create(user=driver, course=built.course)
    services.quiz_attempt_submit(user=driver, lesson=built.quiz, answers=right_answers(built.quiz))

    _race(lambda: services.lesson_complete(user=driver, lesson=built.reading))

    assert Completion.objects.filter(user=driver).count() == 1


def test_concurrent_enrolments_make_one():
    built = build_course()
    driver = DriverFactory()
    outcomes = _race(lambda: services.enrollment_create(user=driver, course=built.course).pk)
    assert len(set(outcomes)) == 1
