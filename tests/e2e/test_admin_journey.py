"""Authors and operators in the Wagtail admin, in a real browser (issue 7, "Author and operator").

Chromium (Debian's, headless, 1280 × 900) against pytest-django's ``live_server``:

1. A school's author signs in to /admin/, writes a course with a text lesson and a quiz lesson in
   the page editor (StreamField blocks added and typed in by hand) and submits each page for
   review. The school's reviewer approves them from the dashboard, then an operator approves
   them (the last step of the section's workflow publishes). The course is then in the public
   catalogue; a driver opens it, enrols and reads the first lesson. After a few more enrolments
   and a completion, the author reads the course's analytics: the chart and the figures.
2. An operator revokes a certificate in the admin, with a reason; the certificate's public
   verification page and the platforms' verify API both say it is revoked.
3. An operator publishes a new version of a platform's reward rule with its notice period; the
   drivers' rules page announces it with the date it takes effect, and a reward run for a month
   before that date still pays under the old version.

With E2E_SCREENSHOTS=1 each step is saved to docs/screenshots/admin-journey/NN-step.png."""

import os
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect
from wagtail.models import WorkflowState
from wagtail.users.models import UserProfile

from cms.api_keys import platform_api_key_create
from cms.models import Organization, User
from courses.authoring import (
    member_groups_sync,
    operators_group,
    reviewers_group_name,
    section_ensure,
)
from courses.models import (
    Completion,
    CoursePage,
    Enrollment,
    LessonPage,
    LessonProgress,
    QuizAttempt,
)
from credentials import services as credentials
from credentials.models import Credential
from rewards import rules
from rewards import services as rewards
from rewards.admin_rules import rules_first_month_after
from rewards.ledger import external_account, platform_funding_account, post_transaction
from rewards.models import DriverLink, RewardLine, RuleVersion, ServiceEvent
from tests.courses.builders import build_course, catalogue
from tests.credentials.conftest import complete_course
from tests.factories import (
    AuthorFactory,
    DriverFactory,
    OperatorFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "admin-journey"
TIMEOUT_MS = 15_000


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def admin_e2e_browser(e2e_browser):
    """Headless Chromium (tests/e2e/conftest.py)."""
    return e2e_browser


@pytest.fixture
def admin_e2e_open(admin_e2e_browser, live_server):
    """``open_as()`` a new desktop browser window (its own cookies) on the live server."""
    contexts = []

    def open_as():
        context = admin_e2e_browser.new_context(
            viewport=DESKTOP, base_url=live_server.url, locale="en-US"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    """Save the page as docs/screenshots/admin-journey/<name>.png with E2E_SCREENSHOTS=1."""
    if os.environ.get("E2E_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # Focusing a rich text field scrolls the editor sideways a little; put it back.
        page.evaluate("for (const el of document.querySelectorAll('*')) el.scrollLeft = 0")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- people and places --------------------------------------------------------------------------


def admin_person(factory, **fields) -> User:
    """Someone who works in the admin, in English (the admin otherwise speaks Chinese)."""
    user = factory(**fields)
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": "en"})
    return user


def operator() -> User:
    """Platform staff of this site: a superuser, in the Operators group (the last workflow step)."""
    user = admin_person(OperatorFactory, mobile="+8613800000001", display_name="李娜")
    user.groups.add(operators_group())
    return user


def admin_sign_in(page, user: User) -> None:
    page.goto("/admin/login/")
    page.fill("input[name=username]", user.mobile)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def site_sign_in(page, user: User, next_path: str) -> None:
    """A driver signs in on the site (the mobile number typed as on a Chinese phone)."""
    page.goto(f"/en/accounts/login/?next={next_path}")
    page.fill("input[name=username]", user.mobile.removeprefix("+86"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stacked-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def in_language(language: str, text: str) -> str:
    """The site's own words for ``text``, from its catalogue."""
    with translation.override(language):
        return gettext(text)


def english(text: str) -> str:
    return in_language("en", text)


# --- 1. an author's course goes live through review, and its figures ------------------------------


@dataclass
class School:
    organization: Organization
    author: User
    reviewer: User
    operator: User


@pytest.fixture
def admin_e2e_school() -> School:
    catalogue()
    organization = OrganizationFactory(
        name="江南汽车技工学校", name_en="Jiangnan Auto Technical School", slug="jiangnan"
    )
    section_ensure(organization=organization)
    author = admin_person(
        AuthorFactory, organization=organization, mobile="+8613800000012", display_name="周老师"
    )
    member_groups_sync(user=author)
    reviewer = admin_person(
        AuthorFactory, organization=organization, mobile="+8613800000015", display_name="钱主任"
    )
    member_groups_sync(user=reviewer)
    reviewer.groups.add(Group.objects.get(name=reviewers_group_name(organization)))
    return School(organization, author, reviewer, operator())


COURSE = "夜间驾驶安全"
TEXT_LESSON = "看清与被看清"
TEXT = "夜间会车时，距离对向来车 150 米以外切换为近光灯。"
QUIZ_LESSON = "夜间驾驶小测验"
QUESTION = "夜间会车时应该怎样使用灯光？"
RIGHT, WRONG = "切换为近光灯", "一直开远光灯"


def wait_for_autosave(page, timeout: float = 20) -> None:
    """Wagtail 8 autosaves the editor half a second after a change (on a new page the first
    autosave creates the page and turns the form into the page's edit form). Pressing a button
    while an autosave is on its way races with it, so, like a person, wait until no autosave
    has been running for a second (whether or not one ran)."""
    indicator = page.locator("#w-autosave-indicator")
    deadline = time.monotonic() + timeout
    calm_since = time.monotonic()
    while time.monotonic() < deadline:
        if indicator.get_attribute("data-w-autosave-state-value") == "saving":
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= 1:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"The editor’s autosave was still saving after {timeout} seconds.")


def submit_for_review(page, title: str) -> None:
    """The editor's footer: open the action menu, "Submit to <workflow>"; the explorer then
    says the page was submitted."""
    wait_for_autosave(page)
    page.locator("footer .w-dropdown__toggle").click()
    with page.expect_navigation():
        page.locator("footer button[name=action-submit]").click()
    page.wait_for_url("**/admin/pages/*/")  # back in the explorer, the parent's listing
    expect(page.locator(".messages")).to_contain_text(title)


def add_block(page, block_label: str) -> None:
    """Insert a StreamField block at the end of the lesson's content, by its label."""
    page.locator("[data-contentpath=body] button.c-sf-add-button").last.click()
    page.get_by_role("option", name=block_label).click()


def write_course(page, school: School) -> CoursePage:
    section = school.organization.course_sections.get()
    page.goto(f"/admin/pages/{section.pk}/")
    # A section holds only courses, so "Add child page" opens the course editor at once.
    page.locator("#w-slim-header-buttons a[href$='/add_subpage/']").click()
    page.wait_for_url("**/add/courses/coursepage/**")
    page.fill("#id_title", COURSE)
    page.fill("#id_summary", "看清路面，也让别人看清你：灯光、车速与疲劳。")
    page.select_option("#id_category", "safe_driving")
    page.fill("#id_estimated_minutes", "25")
    shot(page, "01-author-writes-the-course")
    submit_for_review(page, COURSE)
    course = CoursePage.objects.get(title=COURSE)
    assert course.get_parent().pk == section.pk
    assert not course.live
    return course


def write_text_lesson(page, course: CoursePage) -> None:
    page.goto(f"/admin/pages/{course.pk}/")
    page.locator("#w-slim-header-buttons a[href$='/add_subpage/']").click()
    # A course holds modules and lessons: choose "Lesson".
    page.locator("a[href*='/add/courses/lessonpage/']").click()
    page.fill("#id_title", TEXT_LESSON)
    add_block(page, english("Paragraph"))
    paragraph = page.locator("[data-contentpath=body] [role=textbox]").first
    paragraph.click()
    page.keyboard.type(TEXT)
    # Draftail writes the block's hidden input a moment after the last keystroke.
    expect(page.locator("#body-0-value")).to_have_value(re.compile(re.escape(TEXT)))
    shot(page, "02-author-writes-a-text-lesson")
    submit_for_review(page, TEXT_LESSON)


def write_quiz_lesson(page, course: CoursePage) -> None:
    page.goto(f"/admin/pages/{course.pk}/")
    page.locator("#w-slim-header-buttons a[href$='/add_subpage/']").click()
    page.locator("a[href*='/add/courses/lessonpage/']").click()
    page.fill("#id_title", QUIZ_LESSON)
    add_block(page, english("Question: one answer"))
    # Block ids are generated; field names follow the stream's order: body-0 is this question.
    page.fill("#body-0-value-question", QUESTION)
    page.fill("#body-0-value-choices-0-value-text", RIGHT)
    page.check("#body-0-value-choices-0-value-correct")
    # A question starts with one answer: add a second one below it.
    page.locator("[data-contentpath=choices] button.c-sf-add-button").last.click()
    page.fill("#body-0-value-choices-1-value-text", WRONG)
    shot(page, "03-author-writes-a-quiz")
    submit_for_review(page, QUIZ_LESSON)


def approve_from_dashboard(page, titles: list[str]) -> None:
    """Approve each page in the dashboard's "Awaiting your review" panel."""
    for title in titles:
        page.goto("/admin/")
        row = page.locator("tr", has=page.get_by_role("link", name=title, exact=True))
        row.locator(".w-dropdown__toggle").click()
        with page.expect_navigation():
            row.locator(
                "button[data-workflow-action-url*='/approve/']:not([data-launch-modal])"
            ).click()


def current_step(page_obj) -> str:
    state = WorkflowState.objects.active().get(object_id=str(page_obj.pk))
    return state.current_task_state.task.specific.groups.get().name


def test_a_course_goes_live_through_review_and_its_author_sees_the_figures(
    admin_e2e_open, admin_e2e_school
):
    school = admin_e2e_school

    # The author writes the course and its two lessons, and submits each for review.
    author = admin_e2e_open()
    admin_sign_in(author, school.author)
    course = write_course(author, school)
    write_text_lesson(author, course)
    write_quiz_lesson(author, course)
    shot(author, "04-author-submitted-everything")
    lessons = list(LessonPage.objects.child_of(course).order_by("path"))
    assert [lesson.title for lesson in lessons] == [TEXT_LESSON, QUIZ_LESSON]
    quiz = lessons[1].get_latest_revision_as_object()
    assert [block.block_type for block in quiz.body] == ["single_choice"]
    assert [(c["text"], c["correct"]) for c in quiz.body[0].value["choices"]] == [
        (RIGHT, True),
        (WRONG, False),
    ]
    text = lessons[0].get_latest_revision_as_object()
    assert TEXT in str(text.body[0].value)
    reviewers = reviewers_group_name(school.organization)
    for submitted in (course, *lessons):
        submitted.refresh_from_db()
        assert not submitted.live
        assert current_step(submitted) == reviewers

    # The school's reviewer approves the three pages; they now wait for the operators.
    reviewer = admin_e2e_open()
    admin_sign_in(reviewer, school.reviewer)
    shot(reviewer, "05-reviewer-dashboard")
    approve_from_dashboard(reviewer, [COURSE, TEXT_LESSON, QUIZ_LESSON])
    for submitted in (course, *lessons):
        submitted.refresh_from_db()
        assert not submitted.live
        assert current_step(submitted) == "Operators"

    # An operator gives the last approval, which publishes.
    moderator = admin_e2e_open()
    admin_sign_in(moderator, school.operator)
    shot(moderator, "06-operator-dashboard")
    approve_from_dashboard(moderator, [COURSE, TEXT_LESSON, QUIZ_LESSON])
    for published in (course, *lessons):
        published.refresh_from_db()
        assert published.live
        assert not WorkflowState.objects.active().filter(object_id=str(published.pk)).exists()

    # The course is in the public catalogue; a driver opens it, enrols and reads lesson 1.
    driver_user = DriverFactory(mobile="+8613900000031", display_name="王建国")
    driver = admin_e2e_open()
    driver.goto("/courses/")
    card = driver.get_by_role("link", name=COURSE)
    assert card.is_visible()
    shot(driver, "07-catalogue-shows-the-course")
    card.click()
    driver.wait_for_url(f"**{course.url}")
    assert driver.locator("h1").inner_text() == COURSE
    site_sign_in(driver, driver_user, course.url)
    driver.get_by_role("button", name=in_language("zh-hans", "Enrol for free")).click()
    # Enrolling opens the first lesson; its link at the bottom leads to the quiz.
    driver.wait_for_url(f"**{lessons[0].url}")
    assert TEXT in driver.locator("main").inner_text()
    shot(driver, "08-driver-reads-the-first-lesson")
    driver.locator("a[rel=next]").click()
    driver.wait_for_url(f"**{lessons[1].url}")
    question = driver.locator("form.quiz-form fieldset.question")
    assert QUESTION in question.inner_text()
    assert question.locator("input[type=radio]").count() == 2
    shot(driver, "09-driver-opens-the-quiz")

    # Three more drivers enrol; one of them finishes the course.
    finisher = None
    for n in range(3):
        enrollment = Enrollment.objects.create(
            user=DriverFactory(), course=course, source=Enrollment.Source.FREE
        )
        LessonProgress.objects.create(
            enrollment=enrollment, lesson=lessons[0], completed_at=timezone.now()
        )
        if n == 0:
            finisher = enrollment
    LessonProgress.objects.create(
        enrollment=finisher, lesson=lessons[1], completed_at=timezone.now()
    )
    QuizAttempt.objects.create(
        enrollment=finisher,
        lesson=lessons[1],
        number=1,
        score=1,
        max_score=1,
        percent=100,
        passed=True,
    )
    finisher.status = Enrollment.Status.COMPLETED
    finisher.save()
    Completion.objects.create(
        enrollment=finisher,
        user=finisher.user,
        course=course,
        score_percent=100,
        completed_at=timezone.now(),
    )

    # The author reads the course's analytics: the chart and the figures.
    author.goto("/admin/")
    author.get_by_role("link", name=english("Course analytics")).first.click()
    author.locator(f"[data-course-id='{course.pk}'] a").click()
    chart = author.locator("[data-analytics-chart]")
    chart.locator("svg").wait_for()
    shot(author, "10-author-reads-the-analytics")
    assert chart.locator("svg").is_visible()
    assert author.locator("[data-analytics-summary] [data-figure=enrolments]").inner_text() == "4"
    assert author.locator("[data-analytics-summary] [data-figure=completions]").inner_text() == "1"
    assert (
        author.locator("[data-analytics-summary] [data-figure=completion-rate]").inner_text()
        == "25%"
    )
    bars = chart.locator("g[data-bar]")
    assert [
        (bars.nth(i).get_attribute("data-bar"), bars.nth(i).get_attribute("data-value"))
        for i in range(bars.count())
    ] == [("enrolled", "4"), ("lesson", "3"), ("lesson", "1"), ("completed", "1")]


# --- 2. an operator revokes a certificate ---------------------------------------------------------


def test_an_operator_revokes_a_certificate_and_verifiers_see_it(admin_e2e_open, live_server):
    school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL,
        name="鹏城交通职业学院",
        name_en="Pengcheng Transport College",
        slug="pengcheng",
    )
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )
    built = build_course(organization=school, title="新能源汽车安全")
    holder = DriverFactory(display_name="王建国")
    credential = credentials.credential_issue(completion=complete_course(holder, built))
    assert credential.status == Credential.Status.ACTIVE and credential.share_token
    _, key = platform_api_key_create(organization=platform, name="e2e")
    reason = "证书持有人考试作弊，学校已撤销成绩。"
    moderator = operator()

    page = admin_e2e_open()
    admin_sign_in(page, moderator)
    page.get_by_role("link", name=english("Certificates")).first.click()
    page.fill("form.roadwise-certificate-filter input[name=q]", credential.number)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=credential.number).click()
    page.wait_for_url(f"**/admin/certificates/{credential.pk}/")
    page.select_option("[data-status-form] select[name=action]", "revoke")
    page.fill("[data-status-form] textarea[name=reason]", reason)
    shot(page, "11-operator-revokes-a-certificate")
    page.locator("[data-status-form] button[type=submit]").click()
    page.wait_for_selector("[data-status-history]")
    shot(page, "12-certificate-revoked")
    with translation.override("en"):
        done = gettext("Certificate %(number)s is revoked.") % {"number": credential.number}
    assert done in page.locator(".messages").inner_text()
    assert reason in page.locator("[data-status-history]").inner_text()
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED
    assert credential.status_reason == reason

    # The certificate's public verification page (the link printed under its QR code).
    public = admin_e2e_open()
    public.goto(f"/en/verify/{credential.share_token}/")
    verdict = public.locator("[data-verdict]")
    assert verdict.get_attribute("data-verdict") == "revoked"
    assert reason in verdict.inner_text()
    shot(public, "13-verification-page-says-revoked")

    # A platform asks the API.
    response = requests.post(
        f"{live_server.url}/api/v1/credentials/verify",
        json={"credential": f"urn:uuid:{credential.public_id}"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False
    assert body["checks"]["status"]["result"] == "fail"
    assert body["checks"]["status"]["code"] == "revoked"
    assert reason in body["checks"]["status"]["reason"]


# --- 3. a new reward rule version is announced with notice ----------------------------------------

QUALITY = {"min_trips": 100, "min_average_rating": "4.90", "max_upheld_complaints": 0}
OLD_FEN, NEW_FEN = 30_000, 45_000
NOTICE_DAYS = 45


def month_start(day: date, months_back: int = 0) -> date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def test_an_operator_announces_a_new_reward_rule_version_with_notice(admin_e2e_open):
    today = timezone.localdate(timezone.now(), rules.CHINA)
    last_month = month_start(today, 1)
    platform = Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )
    old = rules.rule_version_create(
        platform=platform,
        kind=RuleVersion.Kind.QUALITY,
        name="Five-star month",
        params=QUALITY,
        amount_fen=OLD_FEN,
        effective_from=month_start(today, 3),
        notice_days=30,
    )
    rules.rule_version_publish(version=old, actor=None, today=month_start(today, 5))
    # A driver linked to the platform, who earned the quality reward last month.
    driver = DriverFactory(mobile="+8613900000041", display_name="王建国")
    request = rewards.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-41"
    )
    link = rewards.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=link.pk).update(
        linked_at=datetime.combine(month_start(today, 3), datetime.min.time(), tzinfo=rules.CHINA)
    )
    when = datetime.combine(last_month + timedelta(days=9), datetime.min.time(), tzinfo=rules.CHINA)
    events = [("trip", {"fare_fen": 2000, "currency": "CNY"})] * 100 + [
        ("rating", {"rating": 5})
    ] * 20
    ServiceEvent.objects.bulk_create(
        ServiceEvent(
            platform=platform,
            driver=driver,
            external_id=f"e2e-{n}",
            kind=kind,
            occurred_at=when + timedelta(minutes=n),
            **fields,
        )
        for n, (kind, fields) in enumerate(events)
    )
    post_transaction(
        idempotency_key="e2e-deposit",
        kind="deposit",
        legs=[(platform_funding_account(platform), 100_000), (external_account(), -100_000)],
    )
    effective = rules_first_month_after(today, NOTICE_DAYS)

    # The operator writes a new version of the rule, with 45 days' notice, and publishes it.
    page = admin_e2e_open()
    admin_sign_in(page, operator())
    page.get_by_role("link", name=english("Reward rules")).first.click()
    page.locator(f"tr[data-version='{old.pk}'] a[href$='/{old.pk}/']").click()
    page.locator("[data-new-version]").click()
    page.fill("input[name=name]", "Five-star month, raised")
    page.fill("input[name=effective_from]", effective.isoformat())
    page.fill("input[name=notice_days]", str(NOTICE_DAYS))
    page.fill("input[name=reward]", "450.00")
    shot(page, "14-operator-writes-a-new-rule-version")
    page.locator("form[data-rule-form] button[type=submit]").click()
    page.locator("[data-publish]").click()
    shot(page, "15-operator-confirms-publishing")
    page.locator("form[data-publish-form] button[type=submit]").click()
    page.wait_for_selector("[data-status=waiting]")
    shot(page, "16-new-version-published-and-waiting")
    new = RuleVersion.objects.get(supersedes=old)
    assert new.published_at is not None
    assert (new.effective_from, new.notice_days, new.amount_fen) == (
        effective,
        NOTICE_DAYS,
        NEW_FEN,
    )

    # Drivers read it on their rules page as announced, with the date it takes effect.
    reader = admin_e2e_open()
    site_sign_in(reader, driver, "/en/rewards/rules/")
    announced = reader.locator("[data-rule-upcoming=quality]")
    with translation.override("en"):
        from_date = gettext("From %(date)s:") % {"date": effective.isoformat()}
    assert from_date in announced.inner_text()
    assert "Five-star month, raised" in announced.inner_text()
    assert "Five-star month, raised" not in reader.locator("[data-rule=quality]").inner_text()
    shot(reader, "17-driver-sees-the-announcement")

    # A run for a month before that date still pays under the old version.
    run = rules.reward_run_execute(
        platform=platform, period_start=last_month, period_end=rules.month_end(last_month)
    )
    lines = list(RewardLine.objects.filter(run=run))
    assert [(line.driver_id, line.rule_version_id, line.amount_fen) for line in lines] == [
        (driver.pk, old.pk, OLD_FEN)
    ]
    assert rules.applicable_versions(platform, effective) == [new]
