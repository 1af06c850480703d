"""Accessibility of the driver's pages, checked with axe-core in a real browser (issue 7).

The demo (``manage.py seed_demo``) is served by ``live_server``; Debian's Chromium at phone
width (360 × 740) opens each page in Chinese and in English, axe-core
(``tests/e2e/node_modules``, pinned in ``package-lock.json``; ``make setup`` installs it) runs
the WCAG 2.1 A/AA and best-practice rules, and no violation of impact *serious* or *critical*
may remain. Without Chromium or axe-core the test is skipped, unless ``REQUIRE_SERVICES=1``
(CI), where it fails.

The demo is seeded once and every page is checked in one test: seeding takes most of the time.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from wagtail.models import Locale

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
DRIVER = ("13900000001", "roadwise-demo-2026")  # 王建国: certificates, statements, rewards
# The demo builds on what migrations made (Wagtail's root page, locales): get it back after an
# earlier transactional test flushed the database.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}
LANGUAGES = {"zh": ("zh-hans", "zh-CN"), "en": ("en", "en-US")}


def _missing_tool() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (Debian package chromium)"
    if not AXE_JS.is_file():
        return (
            f"axe-core is not installed at {AXE_JS} "
            "(run `make setup`, or `npm ci --prefix tests/e2e`; needs the Debian package npm)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (requirements.txt)"
    return None


@pytest.fixture
def a11y_axe_source() -> str:
    reason = _missing_tool()
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 and {reason}")
        pytest.skip(reason)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def a11y_browser(a11y_axe_source, e2e_browser):
    """Headless Chromium (tests/e2e/conftest.py), once axe-core is known to be there."""
    return e2e_browser


@dataclass
class A11yPages:
    """The paths to check, per language key ("zh", "en"), in the order a driver meets them."""

    signed_in: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # The certificate detail page (per language): its share link gives the verification page.
    certificate: dict[str, str] = field(default_factory=dict)


def _english(page):
    return page.get_translation(Locale.objects.get(language_code="en")).specific


@pytest.fixture
def a11y_demo(live_server, transactional_db) -> A11yPages:
    """The demo, and the pages of 王建国 (a driver with certificates and statements)."""
    from cms.models import User
    from courses.models import Completion, CoursePage
    from credentials.models import Credential
    from rewards.selectors import last_month

    call_command("seed_demo", verbosity=0)
    driver = User.objects.get(mobile="+86" + DRIVER[0])
    completion = next(
        done
        for done in Completion.objects.filter(user=driver).select_related("course")
        if any(lesson.questions for lesson in CoursePage.objects.get(pk=done.course_id).lessons())
    )
    course = CoursePage.objects.get(pk=completion.course_id)
    lessons = list(course.lessons())
    reading = next(lesson for lesson in lessons if not lesson.questions)
    quiz = next(lesson for lesson in lessons if lesson.questions)
    credential = Credential.objects.filter(completion__user=driver).order_by("pk").first()
    assert credential is not None, "the demo driver has no certificate"
    month = last_month().strftime("%Y-%m")
    pages = A11yPages()
    for key, (language, _locale) in LANGUAGES.items():
        with translation.override(language):
            if key == "zh":
                home, catalogue_page = "/", course.get_parent().get_parent()
                course_url, reading_url, quiz_url = course.url, reading.url, quiz.url
            else:
                home, catalogue_page = "/en/", _english(course.get_parent().get_parent())
                course_url = _english(course).url
                reading_url, quiz_url = _english(reading).url, _english(quiz).url
            pages.signed_in[key] = [
                ("home", home),
                ("catalogue", catalogue_page.url),
                ("course", course_url),
                ("lesson", reading_url),
                ("quiz", quiz_url),
                ("dashboard", reverse("courses:dashboard")),
                ("statements", reverse("rewards:statements")),
                ("statement", reverse("rewards:statement", kwargs={"month": month})),
            ]
            pages.certificate[key] = reverse(
                "certificates:detail", kwargs={"public_id": credential.public_id}
            )
    return pages


def _axe(page, source: str) -> list[dict]:
    page.add_script_tag(content=source)
    return page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations",
        TAGS,
    )


def _describe(name: str, violation: dict) -> str:
    targets = "; ".join(
        " ".join(str(part) for part in node.get("target", [])) for node in violation["nodes"][:8]
    )
    more = len(violation["nodes"]) - 8
    return (
        f"{name}: [{violation['impact']}] {violation['id']}: {violation['help']} "
        f"({len(violation['nodes'])} nodes: {targets}{f'; and {more} more' if more > 0 else ''})"
    )


def _check(page, base: str, name: str, path: str, source: str, found: dict, counts: dict):
    response = page.goto(base + path)
    assert response is not None and response.ok, f"{name}: {path} answered {response.status}"
    violations = _axe(page, source)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    counts[name] = (len(blocking), len(violations))
    found[name] = blocking


def test_driver_pages_have_no_serious_or_critical_violations(
    a11y_browser, a11y_axe_source, a11y_demo, live_server
):
    base = live_server.url
    found: dict[str, list[dict]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for key, (_language, browser_locale) in LANGUAGES.items():
        # bypass_csp: axe-core goes in as an inline <script>, which the site's Content
        # Security Policy refuses (tests/e2e/test_csp_browser.py checks the policy itself).
        context = a11y_browser.new_context(
            viewport=PHONE, device_scale_factor=1, locale=browser_locale, bypass_csp=True
        )
        page = context.new_page()
        prefix = "" if key == "zh" else "/en"
        page.goto(f"{base}{prefix}/accounts/login/")
        page.fill("input[name=username]", DRIVER[0])
        page.fill("input[name=password]", DRIVER[1])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        for name, path in a11y_demo.signed_in[key]:
            _check(page, base, f"{name} ({key})", path, a11y_axe_source, found, counts)
        detail = a11y_demo.certificate[key]
        _check(page, base, f"certificate ({key})", detail, a11y_axe_source, found, counts)
        share = page.locator("#share-url").input_value()
        context.close()
        # The verification page is public: a verifier opens the share link signed out.
        anonymous = a11y_browser.new_context(
            viewport=PHONE, device_scale_factor=1, locale=browser_locale, bypass_csp=True
        )
        page = anonymous.new_page()
        path = "/" + share.split("://", 1)[-1].split("/", 1)[1]
        if key == "en" and not path.startswith("/en/"):
            path = "/en" + path
        _check(page, base, f"verification ({key})", path, a11y_axe_source, found, counts)
        anonymous.close()
    summary = "\n".join(
        f"  {name}: {serious} serious/critical of {total}"
        for name, (serious, total) in counts.items()
    )
    print("axe-core violations per page:\n" + summary)  # noqa: T201 - shown with -s / on failure
    problems = [_describe(name, v) for name, violations in found.items() for v in violations]
    assert not problems, "serious or critical accessibility violations:\n" + "\n".join(problems)
