"""Offline study in a real browser (issue 7): Debian's Chromium at phone width, the site served
by ``live_server``. A driver enrols in a free course, saves it for offline reading, loses the
signal, reads a saved lesson (Chinese text from the cache), marks it done (queued on the
phone), meets the offline page on a page that was not saved, and when the signal is back the
queued completion reaches the server and the progress bar moves.

Without Chromium the test is skipped, unless ``REQUIRE_SERVICES=1`` (CI), where it fails.
Set ``OFFLINE_SCREENSHOTS_DIR=docs/screenshots`` to keep the two screenshots it takes.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from courses.models import Enrollment, LessonProgress
from tests.courses.builders import build_course
from tests.factories import DriverFactory

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def offline_browser(e2e_browser):
    """Headless Chromium (tests/e2e/conftest.py)."""
    return e2e_browser


# Transactional (the live server's thread sees committed data), restoring what migrations
# created (the locales, the root page) for the transactional tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def offline_driver(transactional_db):
    return DriverFactory()


@pytest.fixture
def offline_page(offline_browser, offline_driver, live_server):
    """A phone signed in as the driver (a session made on the server, given as a cookie)."""
    client = Client()
    client.force_login(offline_driver)
    context = offline_browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        locale="zh-CN",
        service_workers="allow",
        base_url=live_server.url,
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def offline_shots(tmp_path) -> Path:
    kept = os.environ.get("OFFLINE_SCREENSHOTS_DIR")
    return Path(kept) if kept else tmp_path


def test_a_saved_course_is_read_and_progressed_offline(
    offline_page, offline_driver, offline_shots, live_server
):
    page = offline_page
    built = build_course(title="防御性驾驶")

    # Enrol in the free course: the first lesson opens.
    page.goto(built.course.url)
    page.click("form[action*='/enrol/'] button")
    page.wait_for_url(f"**{built.reading.url}")
    assert Enrollment.objects.filter(user=offline_driver, course=built.course).exists()

    # On the course page: the service worker takes over, the driver saves the course.
    page.goto(built.course.url)
    # Predicates as functions, not expressions: Playwright evals an expression in the page on
    # every poll, which the site's Content Security Policy (no 'unsafe-eval') refuses.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    save = page.locator("[data-offline-action=save]")
    save.click()
    remove = page.locator("[data-offline-action=remove]")
    remove.wait_for(state="visible")
    status = page.locator("[data-offline-status]").inner_text()
    assert "2" in status, status  # both lessons saved, and it says how many
    assert save.is_hidden()
    page.screenshot(path=str(offline_shots / "offline-saved-zh.png"), full_page=True)

    # No signal: the saved lesson opens from the phone, in Chinese.
    page.context.set_offline(True)
    page.goto(built.reading.url)
    assert "雨天把车距加倍" in page.content()
    assert page.locator("h1").inner_text() == "安全距离"

    # Finishing it offline is queued on the phone, and the page says so.
    page.click("form.complete-form button")
    note = page.locator("[data-offline-note]")
    note.wait_for(state="visible")
    assert page.locator("form.complete-form").is_hidden()
    assert not LessonProgress.objects.filter(lesson=built.reading).exists()
    page.screenshot(path=str(offline_shots / "offline-lesson-zh.png"), full_page=True)

    # A page that was not saved: the offline page, not the browser's error.
    page.goto("/learn/")
    assert page.locator(".offline-page h1").count() == 1
    assert page.locator("html").get_attribute("lang") == "zh-Hans"

    # Back to the saved lesson: it still says the completion is waiting.
    page.goto(built.reading.url)
    note.wait_for(state="visible")
    assert page.locator("progress[data-progress]").evaluate("bar => bar.value") == 0

    # The signal is back: the queue is sent, the server records it, the progress bar moves.
    page.context.set_offline(False)
    page.wait_for_function("() => document.querySelector('progress[data-progress]').value === 50")
    progress = LessonProgress.objects.get(lesson=built.reading, enrollment__user=offline_driver)
    assert progress.completed_at is not None
    assert page.evaluate("localStorage.getItem('roadwise-completions')") == "[]"

    # And removing the saved copy is offered and works.
    page.goto(built.course.url)
    page.locator("[data-offline-action=remove]").click()
    page.locator("[data-offline-action=save]").wait_for(state="visible")
    assert page.evaluate(f"caches.has('roadwise-course-{built.course.pk}')") is False
