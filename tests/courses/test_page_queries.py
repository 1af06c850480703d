"""Benchmark 6: the course and lesson pages make a fixed number of SQL queries however many
lessons and enrolments a course has, with the page cache off and on; the cache never shows a
driver's state to anyone else and forgets a page when it is published again."""

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from courses.models import Enrollment, LessonProgress
from tests.courses.builders import add_lesson, build_course, single_choice
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db

IMAGE_LESSON = [
    ("heading", {"text": "要点", "level": "h2"}),
    ("paragraph", "<p>雨天把车距加倍。</p>"),
    ("callout", {"kind": "tip", "text": "<p>提示</p>"}),
    ("checklist", {"title": "下电步骤", "steps": ["关闭电源", "等待五分钟"]}),
    single_choice("问题?", ["甲", "乙"], correct=0),
]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _queries(client, url) -> int:
    assert client.get(url).status_code == 200  # warm: renditions, caches
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(count):
        assert client.get(url).status_code == 200
    return len(statements)


def _grow(built, lessons: int, drivers: int):
    """More lessons, and more drivers enrolled with lessons done."""
    for n in range(lessons):
        add_lesson(built.course, f"第{n}课", IMAGE_LESSON)
    for _ in range(drivers):
        enrollment = Enrollment.objects.create(
            user=DriverFactory(), course=built.course, source=Enrollment.Source.FREE
        )
        LessonProgress.objects.create(
            enrollment=enrollment, lesson=built.reading, completed_at=timezone.now()
        )


def _page_queries(built, driver) -> dict:
    anonymous = Client()
    signed_in = Client()
    signed_in.force_login(driver)
    return {
        "course, anonymous": _queries(anonymous, built.course.url),
        "course, driver": _queries(signed_in, built.course.url),
        "reading lesson": _queries(signed_in, built.reading.url),
        "quiz lesson": _queries(signed_in, built.quiz.url),
    }


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_page_queries_do_not_grow_with_lessons_or_enrolments(cached):
    with override_settings(ROADWISE_PAGE_CACHE=cached):
        short, long = build_course(title="短课"), build_course(title="长课")
        driver = DriverFactory()
        for built in (short, long):
            enrollment = Enrollment.objects.create(
                user=driver, course=built.course, source=Enrollment.Source.FREE
            )
            LessonProgress.objects.create(
                enrollment=enrollment, lesson=built.reading, completed_at=timezone.now()
            )
        _grow(long, lessons=8, drivers=6)
        assert _page_queries(short, driver) == _page_queries(long, driver)


def test_the_cache_saves_queries_and_serves_anonymous_visitors_without_any():
    built = build_course()
    driver = DriverFactory()
    Enrollment.objects.create(user=driver, course=built.course, source=Enrollment.Source.FREE)
    with override_settings(ROADWISE_PAGE_CACHE=False):
        uncached = _page_queries(built, driver)
    cache.clear()
    cached = _page_queries(built, driver)
    assert cached["course, anonymous"] == 0
    for name, count in cached.items():
        assert count < uncached[name], name


def test_a_drivers_progress_never_reaches_another_visitor():
    built = build_course()
    studying, other = DriverFactory(), DriverFactory()
    enrollment = Enrollment.objects.create(
        user=studying, course=built.course, source=Enrollment.Source.FREE
    )
    LessonProgress.objects.create(
        enrollment=enrollment, lesson=built.reading, completed_at=timezone.now()
    )
    first, second, anonymous = Client(), Client(), Client()
    first.force_login(studying)
    second.force_login(other)
    for _ in range(2):  # the second time from the caches
        mine = first.get(built.course.url).content.decode()
        theirs = second.get(built.course.url).content.decode()
        public = anonymous.get(built.course.url)
        assert "data-progress-label" in mine and 'class="outline-lesson done"' in mine
        assert "data-progress-label" not in theirs and "outline-lesson done" not in theirs
        assert reverse("courses:enrol", args=[built.course.pk]) in theirs
        text = public.content.decode()
        assert "data-progress-label" not in text and "outline-lesson done" not in text
        assert "csrfmiddlewaretoken" not in text and "data-user" not in text
        assert reverse("accounts:login") in text
    assert public["X-Page-Cache"] == "hit"


def test_progress_shows_at_once_and_a_publish_refreshes_the_cached_page():
    built = build_course()
    driver = DriverFactory()
    Enrollment.objects.create(user=driver, course=built.course, source=Enrollment.Source.FREE)
    client, anonymous = Client(), Client()
    client.force_login(driver)
    assert "outline-lesson done" not in client.get(built.course.url).content.decode()
    assert (
        client.post(reverse("courses:lesson_complete", args=[built.reading.pk])).status_code == 302
    )
    assert "outline-lesson done" in client.get(built.course.url).content.decode()

    assert "新课名" not in anonymous.get(built.course.url).content.decode()
    course = built.course
    course.title = "新课名"
    course.save_revision().publish()
    assert "新课名" in anonymous.get(built.course.url).content.decode()
    assert "新课名" in client.get(built.reading.url).content.decode()  # the lesson's breadcrumb


def test_a_sessions_messages_and_query_strings_are_never_served_from_the_page_cache():
    built = build_course()
    anonymous = Client()
    anonymous.get(built.course.url)
    assert anonymous.get(built.course.url)["X-Page-Cache"] == "hit"
    assert "X-Page-Cache" not in anonymous.get(built.course.url, {"utm": "x"})
    anonymous.cookies["messages"] = "anything"
    assert "X-Page-Cache" not in anonymous.get(built.course.url)
