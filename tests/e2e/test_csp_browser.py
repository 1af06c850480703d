"""The Content Security Policy in a real browser (docs/decisions/0013-content-security-policy.md):
Debian's Chromium loads the drivers' main pages, the API docs and the main Wagtail admin pages
of the demo, and the browser reports no violation at all; pages whose inline styles and scripts
moved to static files still look and work as before (statement styles, the earnings chart, the
payout balance, the certificate's Copy button, the service worker).

The demo is seeded once and every page is checked in one test: seeding takes most of the time.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.csp_watch import describe, watch

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "roadwise-demo-2026"
DRIVER = "13900000001"  # 王建国: certificates, statements, rewards
OPERATOR = "13800000001"


@pytest.fixture
def csp_demo(live_server, transactional_db, settings):
    settings.WAGTAILADMIN_BASE_URL = live_server.url
    call_command("seed_demo", verbosity=0)


def _sign_in(page, base: str, mobile: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", mobile)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def _all_frames(page) -> list[dict]:
    found = []
    for frame in page.frames:
        try:
            found += frame.evaluate("window.__cspViolations || []")
        except Exception:  # noqa: BLE001, S112 - a frame gone meanwhile has nothing to say
            continue
    return found


class Visits:
    def __init__(self, base: str):
        self.base = base
        self.found: dict[str, list[dict]] = {}
        self.pages: list[str] = []

    def check(self, page, name: str, path: str, *, idle: bool = False) -> None:
        response = page.goto(self.base + path)
        assert response is not None and response.ok, f"{name}: {path} answered {response.status}"
        page.wait_for_load_state("networkidle" if idle else "load")
        self.record(page, name)

    def record(self, page, name: str) -> None:
        self.pages.append(name)
        if found := _all_frames(page):
            self.found[name] = found


def _driver_paths() -> list[tuple[str, str]]:
    from courses.models import Completion, CoursePage
    from credentials.models import Credential
    from rewards.selectors import last_month

    completion = Completion.objects.filter(user__mobile="+86" + DRIVER).first()
    course = CoursePage.objects.get(pk=completion.course_id)
    lessons = list(course.lessons())
    quiz = next(lesson for lesson in lessons if lesson.questions)
    credential = Credential.objects.filter(completion__user__mobile="+86" + DRIVER).first()
    month = last_month().strftime("%Y-%m")
    return [
        ("home", "/"),
        ("catalogue", course.get_parent().get_parent().url),
        ("course", course.url),
        ("lesson", lessons[0].url),
        ("quiz", quiz.url),
        ("dashboard", reverse("courses:dashboard")),
        ("certificates", reverse("certificates:list")),
        ("certificate", reverse("certificates:detail", kwargs={"public_id": credential.public_id})),
        ("consents", reverse("certificates:consents")),
        ("statements", reverse("rewards:statements")),
        ("statement", reverse("rewards:statement", kwargs={"month": month})),
        ("payouts", reverse("rewards:payouts")),
        ("disputes", reverse("rewards:disputes")),
        ("linked platforms", reverse("rewards:links")),
        ("reward rules", reverse("rewards:rules")),
        ("offline", reverse("courses:offline")),
        ("home (en)", "/en/"),
        ("statements (en)", "/en" + reverse("rewards:statements")),
    ]


def _admin_paths() -> list[tuple[str, str]]:
    from wagtail.images.models import Image

    from courses.models import CoursePage, LessonPage
    from rewards.models import Dispute

    course = CoursePage.objects.live().filter(locale__language_code="zh-hans").first()
    lesson = LessonPage.objects.live().filter(locale__language_code="zh-hans").first()
    paths = [
        ("admin dashboard", "/admin/"),
        ("admin explorer", f"/admin/pages/{course.get_parent().pk}/"),
        ("admin course edit", f"/admin/pages/{course.pk}/edit/"),
        ("admin lesson edit", f"/admin/pages/{lesson.pk}/edit/"),
        ("admin page history", f"/admin/pages/{course.pk}/history/"),
        ("admin images", "/admin/images/"),
        ("admin image edit", f"/admin/images/{Image.objects.first().pk}/"),
        ("admin image upload", "/admin/images/multiple/add/"),
        ("admin documents", "/admin/documents/"),
        ("admin users", "/admin/users/"),
        ("admin groups", "/admin/groups/"),
        ("admin organisations", "/admin/organizations/"),
        ("admin analytics", "/admin/course-analytics/"),
        ("admin course analytics", f"/admin/course-analytics/{course.pk}/"),
        ("admin certificates", "/admin/certificates/"),
        ("admin reward rules", "/admin/reward-rules/"),
        ("admin reward totals", "/admin/reward-totals/"),
        ("admin disputes", "/admin/reward-disputes/"),
        ("admin API keys", "/admin/platform-api-keys/"),
        ("admin workflows", "/admin/workflows/list/"),
        ("admin site history", "/admin/reports/site-history/"),
    ]
    dispute = Dispute.objects.first()
    if dispute is not None:
        paths.append(("admin dispute", f"/admin/reward-disputes/{dispute.public_id}/"))
    return paths


def test_no_page_breaks_the_content_security_policy(e2e_browser, csp_demo, live_server):
    base = live_server.url
    visits = Visits(base)
    console: list[str] = []

    # --- signed out: sign-up, sign-in, verification, the API docs ------------------------------
    context = e2e_browser.new_context(viewport=PHONE, locale="zh-CN")
    console += watch(context).console
    page = context.new_page()
    for name, path in [
        ("sign in", "/accounts/login/"),
        ("sign up (en)", "/en/accounts/signup/"),
        ("password reset", "/accounts/password-reset/"),
        ("verify", "/verify/"),
        ("404", "/no-such-page/"),
    ]:
        if name == "404":
            assert page.goto(base + path).status == 404
            visits.record(page, name)
        else:
            visits.check(page, name, path)
    visits.check(page, "API docs", "/api/v1/docs", idle=True)
    operation = page.locator(".opblock-summary").first
    operation.click()  # Swagger UI draws the operation's details with script and styles
    expect(page.locator(".opblock-body").first).to_be_visible()
    visits.record(page, "API docs, an operation open")
    context.close()

    # --- the driver ------------------------------------------------------------------------------
    context = e2e_browser.new_context(viewport=PHONE, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    watched = watch(context)
    page = context.new_page()
    _sign_in(page, base, DRIVER)
    for name, path in _driver_paths():
        visits.check(page, name, path)
        if name == "lesson":
            # The offline service worker (static/js/offline.js registers it) still installs.
            scope = page.evaluate(
                "navigator.serviceWorker.ready.then(registration => registration.scope)"
            )
            assert scope == base + "/"
        if name == "certificate":
            copy = page.locator("[data-copy]")
            copy.click()  # static/js/copy.js, once an inline script
            expect(copy).to_have_text("已复制")
            assert page.evaluate("navigator.clipboard.readText()").startswith(base)
        if name == "statements":
            # statements.css (once a <style> block) styles the page; the chart draws its bars.
            assert page.locator(".stmt-page h1").evaluate("e => getComputedStyle(e).fontSize") == (
                "23.2px"  # 1.45rem
            )
            assert page.locator("[data-earnings-chart] svg rect").count() > 0
        if name == "payouts":
            balance = page.locator(".stmt-balance")
            assert balance.evaluate("e => getComputedStyle(e).fontSize") == "25.6px"  # 1.6rem
    console += watched.console
    context.close()

    # --- an operator in the admin ------------------------------------------------------------
    context = e2e_browser.new_context(viewport=DESKTOP, locale="zh-CN")
    watched = watch(context)
    page = context.new_page()
    _sign_in(page, base, OPERATOR)
    visits.check(page, "home with the Wagtail userbar", "/")
    for name, path in _admin_paths():
        visits.check(page, name, path, idle=True)
        if name == "admin course edit":
            # Wagtail's live preview, in a frame of the admin.
            page.locator("[data-side-panel-toggle='preview']").first.click()
            frame = page.locator("#w-preview-iframe").first
            expect(frame).to_be_visible()
            page.wait_for_load_state("networkidle")
            preview = page.frame_locator("#w-preview-iframe").locator("h1")
            expect(preview.first).to_be_visible()
            visits.record(page, "admin course preview")
        if name == "admin course analytics":
            bars = page.locator("[data-analytics-chart] rect.roadwise-bar-lesson")
            assert bars.count() > 0
            fill = bars.first.evaluate("e => getComputedStyle(e).fill")
            assert fill not in ("", "rgb(0, 0, 0)"), fill  # admin.css colours the bars
    console += watched.console
    context.close()

    print(f"CSP: {len(visits.pages)} page views, {len(visits.found)} with violations")  # noqa: T201
    assert not visits.found, "Content Security Policy violations:\n" + describe(visits.found)
    assert not console, "\n".join(console)
