"""Phone-width screenshots of the learning pages, in Chinese and English.

    make screenshots

Starts the demo site on a spare port (a copy of the demo database, so the real one is not
touched), signs in as a demo driver with Playwright driving Debian's Chromium
(/usr/bin/chromium; nothing is downloaded), studies a course, fails a quiz once, and saves
PNGs next to this file."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
DRIVER = ("13900000002", "roadwise-demo-2026")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(var_dir: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ROADWISE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "seed_demo", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the demo server did not start")


def _shoot(page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"wrote docs/screenshots/{name}.png")  # noqa: T201


def _signed_in(browser, base: str, mobile: str):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", mobile)
    page.fill("input[name=password]", DRIVER[1])
    page.click("button[type=submit]")
    return page


def _pdf_to_png(url: str, page, name: str) -> None:
    """Download a PDF with the signed-in session and turn its first page into a PNG."""
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"  # noqa: S101 - a tool, not the app
    pdf = Path(tempfile.mkdtemp()) / "document.pdf"
    pdf.write_bytes(response.body())
    subprocess.run(  # noqa: S603 - a fixed tool on our own file
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(OUT / name)],  # noqa: S607
        check=True,
    )
    print(f"wrote docs/screenshots/{name}.png")  # noqa: T201


def _certificates(browser, base: str) -> None:
    """王建国's certificates, one opened, shared and verified; 张伟's revoked one; 刘芳's
    expired one with its renewal course; the certificate PDF as an image."""
    page = _signed_in(browser, base, "13900000001")
    page.goto(f"{base}/certificates/")
    _shoot(page, "certificates-zh")
    page.goto(f"{base}/en/certificates/")
    _shoot(page, "certificates-en")
    page.goto(f"{base}/certificates/")
    page.locator("a.card-title").first.click()
    _shoot(page, "certificate-detail-zh")
    pdf = page.locator("a[href$='certificate.pdf']").first.get_attribute("href")
    _pdf_to_png(f"{base}{pdf}", page, "certificate-pdf-zh")
    share = page.locator("#share-url").input_value()
    page.goto(base + urlsplit(share).path)
    _shoot(page, "verify-valid-zh")
    page.goto(f"{base}/certificates/consents/")
    _shoot(page, "consents-zh")
    page.goto(f"{base}/rewards/links/")
    _shoot(page, "rewards-links-zh")
    page.context.close()
    for mobile, name in (("13900000002", "revoked"), ("13900000003", "expired")):
        page = _signed_in(browser, base, mobile)
        page.goto(f"{base}/certificates/")
        _shoot(page, f"certificates-{name}-zh")
        page.locator("a.card-title").first.click()
        share = page.locator("#share-url").input_value()
        page.goto(base + urlsplit(share).path)
        _shoot(page, f"verify-{name}-zh")
        page.context.close()


def _last_month() -> str:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _admin(browser, base: str, mobile: str):
    context = browser.new_context(viewport=DESKTOP, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", mobile)
    page.fill("input[name=password]", DRIVER[1])
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    page.wait_for_load_state("networkidle")
    return page


def _rewards(browser, base: str) -> None:
    """王建国's statements and last month's statement (with the fatigue note and tier) in both
    languages and as a PDF; the rules page; 马强's statement with his disputed complaint; the
    platform's rules admin, a simulation and the totals; the operator's disputes."""
    month = _last_month()
    page = _signed_in(browser, base, "13900000001")
    page.goto(f"{base}/rewards/statements/")
    _shoot(page, "statements-zh")
    page.goto(f"{base}/rewards/statements/{month}/")
    _shoot(page, "statement-zh")
    page.goto(f"{base}/en/rewards/statements/{month}/")
    _shoot(page, "statement-en")
    _pdf_to_png(f"{base}/rewards/statements/{month}.pdf", page, "statement-pdf-zh")
    page.goto(f"{base}/rewards/rules/")
    _shoot(page, "reward-rules-zh")
    # The demo has no Stripe keys: payouts and paid courses say payments are not configured.
    page.goto(f"{base}/rewards/payouts/")
    _shoot(page, "payouts-not-configured-zh")
    page.goto(f"{base}/courses/")
    page.locator("a[href*='ev-high-voltage-safety']").first.click()
    _shoot(page, "paid-course-not-configured-zh")
    page.context.close()
    page = _signed_in(browser, base, "13900000004")
    page.goto(f"{base}/rewards/statements/{month}/")
    _shoot(page, "statement-complaint-zh")
    page.goto(f"{base}/rewards/disputes/")
    _shoot(page, "disputes-zh")
    page.context.close()
    page = _admin(browser, base, "13800000021")  # the demo platform's staff
    _admin_shot(page, f"{base}/admin/reward-rules/", "admin-reward-rules")
    simulate = page.locator("a[href*='/simulate/']").first.get_attribute("href")
    _admin_shot(page, base + simulate, "admin-reward-simulation")
    _admin_shot(page, f"{base}/admin/reward-totals/", "admin-reward-totals")
    page.context.close()
    page = _admin(browser, base, "13800000001")  # an operator
    page.goto(f"{base}/admin/reward-disputes/")
    dispute = page.locator("a[href*='/admin/reward-disputes/']").last.get_attribute("href")
    _admin_shot(page, base + dispute, "admin-dispute")
    page.context.close()


def _admin_shot(page, url: str, name: str) -> None:
    """The admin draws its page with scripts and style sheets: wait until they are done."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    _shoot(page, name)


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="roadwise-shots-"))
    port = _free_port()
    server = _serve(var_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", DRIVER[0])
            page.fill("input[name=password]", DRIVER[1])
            page.click("button[type=submit]")
            for prefix, lang in (("", "zh"), ("/en", "en")):
                page.goto(f"{base}{prefix}/courses/")
                _shoot(page, f"catalogue-{lang}")
                page.goto(
                    f"{base}{prefix}/courses/?q=" + ("新能源" if lang == "zh" else "charging")
                )
                _shoot(page, f"catalogue-search-{lang}")
            # Study the first free course in Chinese: enrol, read, fail the quiz once.
            page.goto(f"{base}/courses/")
            page.click(".course-card a >> nth=0")
            _shoot(page, "course-zh")
            enrol = page.locator("form[action*='/enrol/'] button").first
            if enrol.count():
                enrol.click()
            _shoot(page, "lesson-zh")
            course_url = page.locator(".breadcrumb a").first.get_attribute("href")
            while page.locator("form.complete-form").count():
                page.click("form.complete-form button")
            if page.locator("#quiz").count():
                for fieldset in page.locator("fieldset.question").all():
                    fieldset.locator("input").first.check()
                page.click("#quiz button[type=submit]")
                _shoot(page, "quiz-result-zh")
                english = page.locator(".language-switcher a[hreflang=en]").get_attribute("href")
                page.goto(f"{base}{english}")
                _shoot(page, "quiz-result-en")
            page.goto(f"{base}{course_url}")
            _shoot(page, "course-progress-zh")
            page.goto(f"{base}/learn/")
            _shoot(page, "dashboard-zh")
            page.goto(f"{base}/en/learn/")
            _shoot(page, "dashboard-en")
            page.goto(f"{base}/en/courses/")
            page.click(".course-card a >> nth=0")
            page.locator(".outline a").first.click()
            _shoot(page, "lesson-en")
            _certificates(browser, base)
            _rewards(browser, base)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
