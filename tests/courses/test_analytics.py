"""Course analytics in the admin, as a school's author and an operator see them."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from cms.models import Organization
from courses import analytics
from courses.models import Completion, Enrollment, LessonProgress, QuizAttempt
from tests.courses.builders import build_course
from tests.factories import (
    AuthorFactory,
    DriverFactory,
    OperatorFactory,
    OrganizationFactory,
    PlatformStaffFactory,
)

pytestmark = pytest.mark.django_db

INDEX = "course_analytics:index"


def course_url(built, name="course_analytics:course") -> str:
    return reverse(name, args=[built.course.pk])


def admin_user(factory, **kwargs):
    """A user who may enter the Wagtail admin (authors get this from their group)."""
    user = factory(**kwargs)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


def enrol(course, *, status=Enrollment.Status.ACTIVE):
    return Enrollment.objects.create(
        user=DriverFactory(), course=course, status=status, source=Enrollment.Source.FREE
    )


def complete_lesson(enrollment, lesson):
    LessonProgress.objects.create(enrollment=enrollment, lesson=lesson, completed_at=timezone.now())


def attempt(enrollment, lesson, number, percent):
    QuizAttempt.objects.create(
        enrollment=enrollment,
        lesson=lesson,
        number=number,
        score=percent,
        max_score=100,
        percent=percent,
        passed=percent >= 75,
    )


def complete_course(enrollment, score):
    enrollment.status = Enrollment.Status.COMPLETED
    enrollment.save()
    Completion.objects.create(
        enrollment=enrollment,
        user=enrollment.user,
        course=enrollment.course,
        score_percent=score,
        completed_at=timezone.now(),
    )


@pytest.fixture
def school():
    return OrganizationFactory(name="江南汽车职业学校", name_en="Jiangnan", slug="jiangnan")


@pytest.fixture
def other_school():
    return OrganizationFactory(name="北方驾校", name_en="Beifang", slug="beifang")


@pytest.fixture
def taught(school):
    """Four drivers on the school's course: all read the first lesson but one; two passed
    the quiz and completed the course. Quiz attempts: 50 then 100; 75; 25."""
    built = build_course(organization=school, title="防御性驾驶")
    course, reading, quiz = built.course, built.reading, built.quiz
    first, second, third, fourth = (enrol(course) for _ in range(4))
    for enrollment in (first, second, third):
        complete_lesson(enrollment, reading)
    for enrollment in (first, second):
        complete_lesson(enrollment, quiz)
    attempt(first, quiz, 1, 50)
    attempt(first, quiz, 2, 100)
    attempt(second, quiz, 1, 75)
    attempt(third, quiz, 1, 25)
    complete_course(first, 100)
    complete_course(second, 75)
    # Neither a place waiting for payment nor a cancelled one is a driver who enrolled.
    waiting = enrol(course, status=Enrollment.Status.PENDING_PAYMENT)
    cancelled = enrol(course, status=Enrollment.Status.CANCELLED)
    complete_lesson(cancelled, reading)
    attempt(cancelled, quiz, 1, 0)
    assert waiting.pk
    return built


@pytest.fixture
def elsewhere(other_school):
    built = build_course(organization=other_school, title="新能源车充电安全")
    for _ in range(3):
        complete_lesson(enrol(built.course), built.reading)
    return built


@pytest.fixture
def author(school):
    return admin_user(AuthorFactory, organization=school)


@pytest.fixture
def operator():
    return OperatorFactory()


def figure(html: str, name: str, scope: str = "") -> str:
    """The text of the first cell marked data-figure=name (after `scope`, if given)."""
    start = html.index(scope) if scope else 0
    match = re.search(rf'data-figure="{name}">\s*(.*?)\s*</', html[start:], re.S)
    assert match, name
    return match.group(1)


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_author_sees_their_courses_with_enrolments_completions_and_scores(
    client, author, taught, elsewhere
):
    client.force_login(author)
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    html = response.content.decode()
    assert "防御性驾驶" in html
    assert "新能源车充电安全" not in html
    row = f'data-course-id="{taught.course.pk}"'
    assert figure(html, "enrolments", row) == "4"
    assert figure(html, "completions", row) == "2"
    assert figure(html, "completion-rate", row) == "50%"
    assert figure(html, "average-score", row) == "62.5%"  # (50 + 100 + 75 + 25) / 4
    assert figure(html, "average-best-score", row) == "66.7%"  # (100 + 75 + 25) / 3


def test_author_sees_courses_their_carmaker_co_developed(client, school, taught):
    carmaker = OrganizationFactory(kind=Organization.Kind.CARMAKER, slug="yuanhang")
    taught.course.co_developers.add(carmaker)
    taught.course.save()
    engineer = admin_user(AuthorFactory, organization=carmaker)
    client.force_login(engineer)
    html = client.get(reverse(INDEX)).content.decode()
    assert "防御性驾驶" in html
    assert client.get(course_url(taught)).status_code == 200


def test_course_page_shows_drop_off_per_lesson_and_names_the_worst_lesson(client, author, taught):
    client.force_login(author)
    response = client.get(course_url(taught))
    assert response.status_code == 200
    html = response.content.decode()
    reading = f'data-lesson-id="{taught.reading.pk}"'
    quiz = f'data-lesson-id="{taught.quiz.pk}"'
    assert figure(html, "completed", reading) == "3"
    assert figure(html, "completion-rate", reading) == "75%"
    assert figure(html, "stopped", reading) == "1"
    assert figure(html, "completed", quiz) == "2"
    assert figure(html, "stopped", quiz) == "1"
    assert figure(html, "attempts", quiz) == "4"
    assert figure(html, "average-score", quiz) == "62.5%"
    assert figure(html, "average-best-score", quiz) == "66.7%"
    assert figure(html, "attempts", reading) == "0"
    # Both lessons lose one driver; the first such lesson is named.
    assert f'data-drop-off-lesson="{taught.reading.pk}"' in html


def test_drop_off_figures_follow_the_lessons_in_order(taught):
    courses = list(analytics.visible_courses(OperatorFactory()))
    [figures] = analytics.build_figures(courses, with_lessons=True)
    steps = [(row.lesson.pk, row.completed, row.stopped) for row in figures.lessons]
    assert steps == [(taught.reading.pk, 3, 1), (taught.quiz.pk, 2, 1)]
    assert figures.drop_off.lesson == taught.reading


def test_drop_off_chart_is_an_accessible_svg_with_the_numbers(client, author, taught):
    client.force_login(author)
    html = client.get(course_url(taught)).content.decode()
    chart = html[html.index("data-analytics-chart") : html.index("</figure>")]
    svg = chart[chart.index("<svg") : chart.index("</svg>")]
    assert 'role="img"' in svg
    assert 'aria-labelledby="drop-off-chart-title drop-off-chart-desc"' in svg
    assert '<title id="drop-off-chart-title">' in svg
    bars = re.findall(r'<g data-bar="(\w+)" data-value="(\d+)">\s*<title>([^<]+)</title>', svg)
    assert [(kind, value) for kind, value, _title in bars] == [
        ("enrolled", "4"),
        ("lesson", "3"),
        ("lesson", "2"),
        ("completed", "2"),
    ]
    assert "安全距离" in bars[1][2] and "3" in bars[1][2] and "75%" in bars[1][2]
    assert ">3 (75%)</text>" in svg
    assert "<script" not in chart
    assert " style=" not in svg  # colours come from static/css/admin.css (the admin's CSP)
    # Bars are drawn to scale: the enrolled bar is the full width, three of four is 3/4.
    bar_rect = r'<rect x="0" y="\d+" width="(\d+)"[^>]*class="roadwise-bar-(?:lesson|course)"'
    widths = re.findall(bar_rect, svg)
    assert [int(width) for width in widths] == [500, 375, 250, 250]


def test_author_cannot_see_or_export_another_schools_course(client, author, taught, elsewhere):
    client.force_login(author)
    other = elsewhere.course.pk
    assert client.get(reverse("course_analytics:course", args=[other])).status_code == 404
    assert client.get(reverse("course_analytics:course_export", args=[other])).status_code == 404
    # Nor by asking for the other school as a filter, which only operators have.
    other_school = elsewhere.course.get_parent().specific.organization
    response = client.get(reverse(INDEX), {"organization": other_school.pk})
    assert "新能源车充电安全" not in response.content.decode()
    rows = read_csv(client.get(reverse("course_analytics:export")))
    assert {row[2] for row in rows[1:]} == {"防御性驾驶"}


def test_csv_export_has_a_bom_and_a_row_per_course_and_lesson(client, author, taught):
    client.force_login(author)
    response = client.get(course_url(taught, "course_analytics:course_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = read_csv(response)
    with translation.override("zh-hans"):
        assert rows[0] == [str(cell) for cell in analytics.csv_header()]
    pk = str(taught.course.pk)
    course_row, reading_row, quiz_row = rows[1:]
    assert course_row[1:4] == [pk, "防御性驾驶", "江南汽车职业学校"]
    assert course_row[6:] == ["4", "2", "50.0", "", "4", "62.5", "66.7"]
    assert reading_row[1:] == [pk, "防御性驾驶", "江南汽车职业学校", "1", "安全距离"] + [
        "4",
        "3",
        "75.0",
        "1",
        "0",
        "",
        "",
    ]
    assert quiz_row[4:] == ["2", "小测验", "4", "2", "50.0", "1", "4", "62.5", "66.7"]


def test_csv_does_not_let_a_title_run_as_a_spreadsheet_formula(client, school):
    built = build_course(organization=school, title="=HYPERLINK(1)")
    operator = OperatorFactory()
    client.force_login(operator)
    rows = read_csv(client.get(reverse("course_analytics:course_export", args=[built.course.pk])))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_operator_sees_every_course_and_filters_by_organisation(
    client, operator, taught, elsewhere, other_school
):
    client.force_login(operator)
    html = client.get(reverse(INDEX)).content.decode()
    assert "防御性驾驶" in html and "新能源车充电安全" in html
    assert 'name="organization"' in html

    response = client.get(reverse(INDEX), {"organization": other_school.pk})
    html = response.content.decode()
    assert "防御性驾驶" not in html
    assert "新能源车充电安全" in html
    row = f'data-course-id="{elsewhere.course.pk}"'
    assert figure(html, "enrolments", row) == "3"
    assert figure(html, "completion-rate", row) == "0%"
    assert figure(html, "average-score", row).startswith('<span aria-hidden="true">—')

    export = reverse("course_analytics:export")
    rows = read_csv(client.get(export, {"organization": other_school.pk}))
    assert {row[2] for row in rows[1:]} == {"新能源车充电安全"}
    assert client.get(course_url(taught)).status_code == 200


def test_drivers_and_platform_staff_get_no_analytics(client, taught):
    driver = DriverFactory()
    client.force_login(driver)
    response = client.get(reverse(INDEX))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get(reverse("course_analytics:export")).status_code == 302

    # Even someone let into the admin is turned away unless they author or operate.
    staff = admin_user(PlatformStaffFactory)
    client.force_login(staff)
    for url in (
        reverse(INDEX),
        reverse("course_analytics:export"),
        course_url(taught),
        course_url(taught, "course_analytics:course_export"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("wagtailadmin_home")


def test_the_menu_item_shows_for_authors_and_operators_only(rf, author, operator):
    item = analytics.register_analytics_menu_item()
    assert item.url == reverse(INDEX)

    def shown(user):
        request = rf.get("/admin/")
        request.user = user
        return item.is_shown(request)

    assert shown(author)
    assert shown(operator)
    assert not shown(admin_user(PlatformStaffFactory))
    assert not shown(DriverFactory())
    with translation.override("en"):
        assert str(item.label) == "Course analytics"


def test_admin_dashboard_lists_course_analytics_for_an_author(client, author):
    client.force_login(author)
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "course-analytics" in html


def _load(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url_name",
    ["course_analytics:index", "course_analytics:export", "course_analytics:course"],
)
def test_queries_do_not_grow_with_enrolments(
    client, author, taught, url_name, django_assert_max_num_queries
):
    client.force_login(author)
    args = [taught.course.pk] if url_name == "course_analytics:course" else []
    url = reverse(url_name, args=args)
    client.get(url)  # warm caches (site, locales, content types)
    before = _load(client, url)
    for number in range(20):
        enrollment = enrol(taught.course)
        complete_lesson(enrollment, taught.reading)
        attempt(enrollment, taught.quiz, 1, number * 5)
    after = _load(client, url)
    assert after == before
    with django_assert_max_num_queries(25):
        client.get(url)
