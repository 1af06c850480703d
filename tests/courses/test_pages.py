"""The learning pages as a driver's phone gets them."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cms.models import Organization
from courses.models import Completion, Enrollment, QuizAttempt
from tests.courses.builders import add_lesson, build_course, catalogue, choice_ids, single_choice
from tests.courses.test_learning import right_answers
from tests.factories import DriverFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def driver(client):
    user = DriverFactory()
    client.force_login(user)
    return user


def test_the_catalogue_filters_by_category_level_price_and_carmaker(client):
    ev_maker = OrganizationFactory(kind=Organization.Kind.CARMAKER, slug="yuanhang")
    ev = build_course(title="新能源汽车充电安全", category="ev_technology", level=2)
    ev.course.co_developers.add(ev_maker)
    ev.course.save_revision().publish()
    build_course(title="乘客服务礼仪", category="service_quality", price_fen=9900)
    url = catalogue().url

    def titles(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return sorted(c.title for c in response.context["courses"])

    assert titles() == ["乘客服务礼仪", "新能源汽车充电安全"]
    assert titles(category="ev_technology") == ["新能源汽车充电安全"]
    assert titles(level="2") == ["新能源汽车充电安全"]
    assert titles(price="paid") == ["乘客服务礼仪"]
    assert titles(price="free") == ["新能源汽车充电安全"]
    assert titles(carmaker="yuanhang") == ["新能源汽车充电安全"]
    assert titles(category="nonsense", level="x", price="??") == [
        "乘客服务礼仪",
        "新能源汽车充电安全",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("新能源", ["新能源汽车充电安全"]),
        ("充电", ["新能源汽车充电安全"]),
        ("服务", ["乘客服务礼仪"]),
        ("charging", ["新能源汽车充电安全"]),
        ("潜水艇", []),
    ],
)
def test_search_finds_words_inside_chinese_sentences(client, query, expected):
    build_course(title="新能源汽车充电安全", summary="学习 EV charging safety 与电池保养")
    build_course(title="乘客服务礼仪", summary="文明用语与投诉处理")
    response = client.get(catalogue().url, {"q": query})
    assert sorted(c.title for c in response.context["courses"]) == expected


def test_a_driver_enrols_studies_and_completes_through_the_pages(client, driver):
    built = build_course()
    course_html = client.get(built.course.url).content.decode()
    assert "免费报名" in course_html or "Enrol for free" in course_html

    response = client.post(reverse("courses:enrol", args=[built.course.pk]))
    assert response.status_code == 302
    assert response["Location"] == built.reading.url

    lesson = client.get(built.reading.url)
    assert lesson.status_code == 200
    assert lesson.context["lesson_number"] == 1
    response = client.post(reverse("courses:lesson_complete", args=[built.reading.pk]))
    assert response["Location"] == built.quiz.url

    answers = {f"q-{k}": v for k, v in right_answers(built.quiz).items()}
    response = client.post(reverse("courses:quiz_submit", args=[built.quiz.pk]), answers)
    assert response.status_code == 302
    assert Completion.objects.filter(user=driver).exists()
    dashboard = client.get(reverse("courses:dashboard"))
    assert [row["course"].pk for row in dashboard.context["completed"]] == [built.course.pk]


def test_lessons_are_for_enrolled_drivers(client, driver):
    built = build_course()
    response = client.get(built.reading.url)
    assert response.status_code == 302
    assert response["Location"] == built.course.url
    client.logout()
    assert "/accounts/login/" in client.get(built.reading.url)["Location"]


def test_the_quiz_page_never_carries_the_answers(client, driver):
    built = build_course()
    client.post(reverse("courses:enrol", args=[built.course.pk]))
    html = client.get(built.quiz.url).content.decode()
    single = built.quiz.questions[0]
    ids = choice_ids(single)
    # The right and the wrong choices are marked up exactly alike.
    fragments = [re.search(rf'<input[^>]*value="{i}"[^>]*>', html).group(0) for i in ids]
    assert len({f.replace(i, "ID") for f, i in zip(fragments, ids, strict=True)}) == 1
    assert "correct" not in html.lower().replace("incorrect", "")
    assert "Because" not in html  # explanations appear only after answering


def test_a_failed_quiz_shows_what_was_wrong_and_why(client, driver):
    built = build_course()
    client.post(reverse("courses:enrol", args=[built.course.pk]))
    single, multiple, true_false = built.quiz.questions
    answers = {
        f"q-{single.id}": [choice_ids(single)[0]],
        f"q-{multiple.id}": [choice_ids(multiple)[0], choice_ids(multiple)[2]],
        f"q-{true_false.id}": ["true"],
    }
    client.post(reverse("courses:quiz_submit", args=[built.quiz.pk]), answers)
    html = client.get(built.quiz.url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    attempt = QuizAttempt.objects.get()
    assert attempt.percent == 50 and not attempt.passed
    assert 'class="question wrong"' in html
    assert 'class="question right"' in html
    assert "Because 加倍" in html  # the explanation of the wrongly answered question


def test_a_tampered_submission_is_refused_with_a_message(client, driver):
    built = build_course()
    client.post(reverse("courses:enrol", args=[built.course.pk]))
    answers = {f"q-{k}": v for k, v in right_answers(built.quiz).items()}
    answers["q-made-up"] = ["x"]
    response = client.post(reverse("courses:quiz_submit", args=[built.quiz.pk]), answers)
    assert response.status_code == 302
    assert not QuizAttempt.objects.exists()
    page = client.get(built.quiz.url)
    assert any("reload" in str(m).lower() or "重新" in str(m) for m in page.context["messages"])


def test_paid_courses_say_not_yet_available(client, driver):
    built = build_course(price_fen=9900)
    response = client.post(reverse("courses:enrol", args=[built.course.pk]), follow=True)
    assert not Enrollment.objects.exists()
    assert "¥99.00" in response.content.decode()


def _queries(client, url) -> int:
    client.get(url)  # warm: renditions, caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_course_and_lesson_pages_use_the_same_number_of_queries_however_long(client, driver):
    short = build_course(title="短课")
    long = build_course(title="长课")
    for n in range(8):
        add_lesson(
            long.course,
            f"第{n}课",
            [
                ("paragraph", "<p>内容</p>"),
                ("callout", {"kind": "tip", "text": "<p>提示</p>"}),
                single_choice("问题?", ["甲", "乙"], correct=0),
            ],
        )
    for built in (short, long):
        client.post(reverse("courses:enrol", args=[built.course.pk]))
    assert _queries(client, short.course.url) == _queries(client, long.course.url)
    assert _queries(client, short.quiz.url) == _queries(client, long.quiz.url)


def test_catalogue_and_dashboard_queries_do_not_grow_with_courses(client, driver):
    def enrol_in_new_course(n):
        built = build_course(title=f"课程{n}")
        client.post(reverse("courses:enrol", args=[built.course.pk]))

    enrol_in_new_course(0)
    before = (_queries(client, catalogue().url), _queries(client, reverse("courses:dashboard")))
    for n in range(1, 6):
        enrol_in_new_course(n)
    after = (_queries(client, catalogue().url), _queries(client, reverse("courses:dashboard")))
    assert before == after
