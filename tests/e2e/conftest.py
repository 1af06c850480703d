"""End-to-end tests in a real browser: Playwright's sync API drives Debian's Chromium
(/usr/bin/chromium, headless; nothing is downloaded) against pytest-django's ``live_server``.

Without Chromium the whole package is skipped, saying why; in CI (``REQUIRE_SERVICES=1``) a
missing browser is a failure instead. Fixtures here are named ``e2e_…`` (other modules of the
package bring their own); the only autouse one lets Django's ORM run beside Playwright."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots" / "journey"


def _chromium_missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"end-to-end tests need Chromium at {CHROMIUM} (Debian package chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _chromium_missing()
    if reason is None or os.environ.get("REQUIRE_SERVICES") == "1":
        return  # in CI the e2e_browser fixture fails instead
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _e2e_async_unsafe(monkeypatch):
    """Playwright's sync API runs an asyncio event loop in the test thread; Django would refuse
    the test's own database queries (SynchronousOnlyOperation). Only during these tests: set
    for the whole session it would leak into the rest of the suite (and into subprocesses,
    where `check --deploy` rightly objects)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def e2e_browser():
    """Headless Chromium, closed after the test."""
    reason = _chromium_missing()
    if reason is not None:
        pytest.fail(f"REQUIRE_SERVICES=1 and {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def e2e_site_url(live_server, settings):
    """The live server's address, which the site also uses for the links it prints (share
    links, the QR code and link on certificate PDFs, status lists)."""
    settings.WAGTAILADMIN_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def e2e_screenshots() -> Path | None:
    """Where to save screenshots, or None: only with E2E_SCREENSHOTS=1, so that ordinary runs
    leave docs/screenshots/journey/ alone."""
    return SCREENSHOTS if os.environ.get("E2E_SCREENSHOTS") == "1" else None
