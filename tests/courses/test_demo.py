"""The demo catalogue (courses/demo.py, courses/demo_content.py): courses with lessons and
quizzes in Chinese, translated into English with wagtail-localize so that the English
quizzes keep the Chinese quizzes' structure, and a seeder that can run any number of times."""

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from wagtail.models import Locale, Page, Revision
from wagtail_localize.models import Translation, TranslationSource

from courses import demo_content
from courses.blocks import QUESTION_TYPES
from courses.demo_content import T
from courses.models import (
    CourseCategory,
    CourseIndexPage,
    CoursePage,
    LearningPathPage,
    LessonPage,
)
from tests.courses.builders import choice_ids

# Han characters and CJK punctuation (full-width colon, 、，。（） and so on).
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@pytest.fixture(scope="module")
def _demo_catalogue(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed once for this module (it takes a while), in a transaction rolled back at the
    end; each test runs in a savepoint inside it, as usual."""
    seeders = override_settings(
        DEMO_SEEDERS=["courses.demo.seed_demo"],
        MEDIA_ROOT=str(tmp_path_factory.mktemp("demo-media")),
    )
    with django_db_blocker.unblock(), seeders, transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(_demo_catalogue, db):
    """The demo site and catalogue, as `manage.py seed_demo` makes them when
    settings.DEMO_SEEDERS lists courses.demo.seed_demo."""


def _locale(code: str) -> Locale:
    return Locale.objects.get(language_code=code)


def _courses(code: str):
    return CoursePage.objects.live().filter(locale=_locale(code)).order_by("path")


def _quiz(course: CoursePage) -> LessonPage:
    return next(lesson for lesson in course.lessons().specific() if lesson.has_quiz)


def _texts(value):
    """Every T in a piece of demo content."""
    if isinstance(value, T):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _snapshot() -> dict[str, int]:
    counted = {"revisions": Revision.objects.count(), "pages": Page.objects.count()}
    for model in apps.get_models():
        if model._meta.app_label in {"wagtailcore", "wagtail_localize", "courses"}:
            counted[model._meta.label] = model.objects.count()
    return counted


# --- the content itself ------------------------------------------------------------------


def test_demo_content_is_bilingual_and_fits_the_fields():
    courses = demo_content.COURSES
    assert len(courses) >= 6
    assert {course["category"] for course in courses} == set(CourseCategory.values)
    for text in _texts([courses, demo_content.LEARNING_PATH, demo_content.CATALOGUE]):
        assert CHINESE.search(text.zh), text
        assert not CHINESE.search(text.en), text
    for course in courses:
        assert len(course["summary"].zh) <= 300
        assert len(course["summary"].en) <= 300
        assert course["level"] in (1, 2, 3)
        assert course["estimated_minutes"] == sum(x["minutes"] for x in course["lessons"])
        quizzes = [lesson for lesson in course["lessons"] if lesson["slug"] == "quiz"]
        assert len(quizzes) == 1 and course["lessons"][-1] is quizzes[0]
        assert len(course["lessons"]) >= 3  # at least two lessons, then the quiz
        questions = [b for b in quizzes[0]["body"] if b["type"] in QUESTION_TYPES]
        assert 3 <= len(questions) <= 5
        assert {b["type"] for b in questions} == set(QUESTION_TYPES)
        for question in questions:
            correct = [c for _text, c in question.get("choices", [])]
            if question["type"] == "single_choice":
                assert correct.count(True) == 1
            elif question["type"] == "multiple_choice":
                assert True in correct and False in correct
    prices = [course["price_fen"] for course in courses]
    assert prices.count(0) >= len(courses) - 2
    assert any(course["sponsor"] for course in courses)
    slugs = [course["slug"] for course in courses]
    for index, course in enumerate(courses):  # prerequisites are seeded first
        assert set(course["prerequisites"]) <= set(slugs[:index])


# --- the seeded catalogue ----------------------------------------------------------------


def test_courses_are_live_in_chinese_and_english(seeded):
    chinese, english = list(_courses("zh-hans")), list(_courses("en"))
    assert len(chinese) == len(demo_content.COURSES) >= 6
    assert sorted(c.translation_key for c in chinese) == sorted(c.translation_key for c in english)
    en = _locale("en")
    for course in chinese:
        translated = course.get_translation(en).specific
        assert translated.live
        assert CHINESE.search(course.title)
        assert not CHINESE.search(translated.title), translated.title
        assert not CHINESE.search(translated.summary), translated.summary
        assert (translated.category, translated.level, translated.price_fen) == (
            course.category,
            course.level,
            course.price_fen,
        )
        assert translated.get_parent().specific.organization == course.provider
        lessons = list(course.lessons().specific())
        assert len(lessons) >= 3
        assert sum(lesson.has_quiz for lesson in lessons) >= 1
        assert [lesson.translation_key for lesson in translated.lessons()] == [
            lesson.translation_key for lesson in lessons
        ]
        for lesson in translated.lessons():
            assert not CHINESE.search(lesson.title), lesson.title


def test_course_settings_follow_the_content(seeded):
    pages = {course.slug: course for course in _courses("zh-hans")}
    ev1 = pages["ev-charging-and-range"]
    ev2 = pages["ev-high-voltage-safety"]
    assert list(ev2.prerequisites.all()) == [ev1]
    assert ev1.provider.slug == "jiangnan-auto"
    assert [org.slug for org in ev1.co_developers.all()] == ["yuanhang-nev"]
    assert ev2.provider.slug == "yuanhang-nev"
    assert "远航 E5" in ev1.vehicle_models
    assert ev1.get_translation(_locale("en")).specific.vehicle_models == (
        "Yuanhang E5, Yuanhang E7"
    )
    assert pages["first-aid-and-cpr"].price_fen == 9900
    assert {page.provider.kind for page in pages.values()} == {"school", "carmaker"}


def test_english_quizzes_keep_the_chinese_structure(seeded):
    en = _locale("en")
    specs = {spec["slug"]: spec for spec in demo_content.COURSES}
    for course in _courses("zh-hans"):
        spec = specs[course.slug]
        for lesson in course.lessons().specific():
            translated = lesson.get_translation(en).specific
            assert [b.id for b in translated.body] == [b.id for b in lesson.body]
            assert [b.block_type for b in translated.body] == [b.block_type for b in lesson.body]
        quiz = _quiz(course)
        translated = quiz.get_translation(en).specific
        source_questions, english_questions = quiz.questions, translated.questions
        assert len(source_questions) >= 3
        questions = [b for b in spec["lessons"][-1]["body"] if b["type"] in QUESTION_TYPES]
        for source, english, data in zip(
            source_questions, english_questions, questions, strict=True
        ):
            assert english.id == source.id
            assert english.value["points"] == source.value["points"] == data["points"]
            assert english.value["question"] == data["question"].en
            assert source.value["question"] == data["question"].zh
            assert data["explanation"].en in english.value["explanation"].source
            if source.block_type == "true_false":
                assert english.value["answer"] is source.value["answer"] is data["answer"]
                continue
            assert choice_ids(english) == choice_ids(source)
            assert len(choice_ids(source)) == len(set(choice_ids(source))) >= 2
            assert [c["correct"] for c in english.value["choices"]] == [
                c["correct"] for c in source.value["choices"]
            ]
            assert [c["text"] for c in english.value["choices"]] == [
                text.en for text, _correct in data["choices"]
            ]


def test_english_lessons_read_as_written(seeded):
    """Rich text goes through wagtail-localize segment by segment; what comes out is the
    English text of the content, tags and all."""
    en = _locale("en")
    course = _courses("zh-hans").get(slug="ev-high-voltage-safety")
    lesson = course.lessons().specific().get(slug="battery-motor-controls")
    translated = lesson.get_translation(en).specific
    paragraphs = [b.value.source for b in translated.body if b.block_type == "paragraph"]
    assert "<li><b>Traction battery</b>: usually under the floor" in paragraphs[0]
    callouts = [b.value for b in translated.body if b.block_type == "callout"]
    assert callouts[0]["kind"] == "warning"
    assert callouts[0]["text"].source.startswith("<p>Orange cables")


def test_english_pages_are_wagtail_localize_translations(seeded):
    """Every page of the catalogue, from the index down, is translated by wagtail-localize
    with all its strings, so editors can keep the translations in sync from the admin."""
    en = _locale("en")
    index = CourseIndexPage.objects.get(locale=_locale("zh-hans"))
    pages = Page.objects.descendant_of(index, inclusive=True)
    lessons = sum(len(course["lessons"]) for course in demo_content.COURSES)
    # the index, four sections, the courses, their lessons and the learning path
    assert pages.count() == 1 + 4 + len(demo_content.COURSES) + lessons + 1
    for page in pages:
        source = TranslationSource.objects.get_for_instance(page)
        translation = Translation.objects.get(source=source, target_locale=en)
        assert translation.enabled
        total, translated = translation.get_progress()
        assert total == translated > 0
        assert page.get_translation(en).live


def test_learning_path_in_both_languages(seeded):
    path = LearningPathPage.objects.live().get(locale=_locale("zh-hans"))
    english = path.get_translation(_locale("en")).specific
    assert english.live
    assert path.title == "新能源司机成长路径"
    assert english.title == "EV driver career path"
    steps = list(path.steps.all())
    assert 2 <= len(steps) <= 3
    assert [step.level_name for step in steps][0] == "新能源司机 一级"
    assert [step.level_name for step in english.steps.all()][0] == "EV driver level 1"
    assert [step.course_id for step in english.steps.all()] == [s.course_id for s in steps]
    assert steps[0].course.slug == "ev-charging-and-range"


def test_seed_demo_twice_changes_nothing(seeded):
    before = _snapshot()
    call_command("seed_demo", verbosity=0)
    assert _snapshot() == before


def test_a_driver_studies_a_course_in_english_and_it_counts_for_the_chinese_one(seeded, client):
    from django.urls import reverse

    from courses.models import Completion, Enrollment
    from tests.factories import DriverFactory

    driver = DriverFactory()
    client.force_login(driver)
    english = next(c for c in _courses("en") if c.price_fen == 0 and not c.prerequisites.exists())
    chinese = english.get_translation(_locale("zh-hans"))
    client.post(reverse("courses:enrol", args=[english.pk]))
    enrollment = Enrollment.objects.get(user=driver)
    assert enrollment.course_id == chinese.pk

    for lesson in english.lessons().specific():
        assert client.get(lesson.url).status_code == 200
        if not lesson.has_quiz:
            client.post(reverse("courses:lesson_complete", args=[lesson.pk]))
            continue
        answers = {}
        for question in lesson.questions:  # the English page's own ids and answer key
            if question.block_type == "true_false":
                answers[f"q-{question.id}"] = ["true" if question.value["answer"] else "false"]
            else:
                answers[f"q-{question.id}"] = [
                    item.id
                    for item in question.value["choices"].bound_blocks
                    if item.value["correct"]
                ]
        client.post(reverse("courses:quiz_submit", args=[lesson.pk]), answers)

    completion = Completion.objects.get(user=driver)
    assert completion.course_id == chinese.pk
    assert completion.score_percent == 100
    dashboard = client.get("/en/learn/")
    assert [row["course"].pk for row in dashboard.context["completed"]] == [english.pk]
