"""A driver's whole journey on a phone, in Chinese (/) and in English (/en/) (issue 7).

Chromium at 360 × 740 against the live server: the driver signs up with their mobile number
and the SMS code, browses the catalogue, enrols in a free course, studies its lessons (the
progress bar moves), fails the quiz and reads why, passes, finds the certificate on the
dashboard and the certificates page, downloads the PDF (a PDF with their name), opens the
verification page from the link printed under the PDF's QR code ("valid"), and lets the
platform see their certificates. The platform (HTTP with its API key) then reads the
certificate, links the driver (who types the platform's code on the site) and sends two months
of service events; the month's reward runs go through Celery as beat starts them (a real worker
on PostgreSQL + Redis). The driver reads the rewards with their explanations, the monthly
statements and their earnings over the months, and disputes a reward line.

Every step is asserted as the driver sees it, in the site's own words (translated with the
site's catalogue). With E2E_SCREENSHOTS=1 each step is saved to
docs/screenshots/journey/<language>/NN-<step>.png."""

import re
import time
from dataclasses import dataclass

import pytest
import requests
from django.utils import translation
from playwright.sync_api import expect

from cms import sms
from cms.models import User
from courses import demo_content
from courses.models import CoursePage
from credentials.models import Credential
from tests.e2e import journey_data as data
from tests.e2e.journey_phone import Phone, open_phone, pdf_text
from tests.e2e.journey_rewards import reward_runner

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@dataclass(frozen=True)
class Driver:
    mobile_typed: str  # as the driver types it
    mobile: str  # E.164, as stored
    name: str
    password: str
    platform_ref: str  # the platform's own id for the driver
    dispute: str  # what the driver says is wrong with a reward


DRIVERS = {
    "zh-hans": Driver(
        "138 1234 5601",
        "+8613812345601",
        "李卫国",
        "lu-shang-an-quan-2026",
        "KX-E2E-01",
        "这个月我跑了 16 单，平台只统计了 14 单：有两单晚上的订单没有算进去，请核对。",
    ),
    "en": Driver(
        "138 1234 5602",
        "+8613812345602",
        "Chen Ming",
        "safe-roads-ahead-2026",
        "KX-E2E-02",
        "I drove 16 trips that month but only 14 were counted: two evening trips are missing.",
    ),
}


def _sms_code(mobile: str) -> str:
    """The code of the last SMS to ``mobile`` (the test SMS sender keeps them in memory)."""
    for message in reversed(sms.outbox):
        if message.mobile == mobile:
            return re.search(r"\b(\d{6})\b", message.body).group(1)
    raise AssertionError(f"no SMS was sent to {mobile}")


def _api(base: str, key: str, method: str, path: str, **kwargs) -> requests.Response:
    """The platform's servers calling the API with their key."""
    return requests.request(
        method,
        f"{base}/api/v1/{path}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
        **kwargs,
    )


def _progress(p: Phone) -> int:
    bar = p.page.get_by_role("progressbar", name=p.t("Course progress"))
    return int(bar.get_attribute("value"))


def _answer(p: Phone, answers: dict[str, list[str]]) -> None:
    """Tick exactly ``answers`` (question id -> values) in the quiz, and send it."""
    quiz = p.page.locator("#quiz")
    for question, values in answers.items():
        for box in quiz.locator(f'input[name="q-{question}"]').all():
            wanted = box.get_attribute("value") in values
            if box.get_attribute("type") == "checkbox":
                box.set_checked(wanted)
            elif wanted:
                box.check()
    quiz.get_by_role("button", name=p.t("Submit answers")).click()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_driver_signs_up_learns_gets_certified_and_rewarded(
    language, e2e_browser, e2e_site_url, e2e_screenshots
):
    started = time.monotonic()
    driver = DRIVERS[language]
    site = data.site()
    course_zh = data.defensive_driving(site)
    course = course_zh if language == "zh-hans" else course_zh.get_translation(site.en)
    right, wrong = data.quiz_answers(course_zh)
    lessons = data.lesson_count(course_zh)
    two_months_ago, last_month = data.month_start(2), data.month_start(1)
    platform = data.platform(effective_from=two_months_ago)
    kuaixing = platform.organization
    kuaixing_name = kuaixing.name if language == "zh-hans" else kuaixing.name_en

    setup = time.monotonic() - started
    with reward_runner() as runner:  # on PostgreSQL + Redis a worker starts meanwhile
        p = open_phone(e2e_browser, e2e_site_url, language, e2e_screenshots)
        try:
            _journey(p, driver, course, right, wrong, lessons)
            number = _certificate(p, driver)
            _consent(p, driver, platform, kuaixing_name, number)
            _rewards(p, driver, platform, kuaixing_name, runner, two_months_ago, last_month)
        finally:
            p.close()
    elapsed = time.monotonic() - started
    print(  # noqa: T201 - pytest shows it with -s, or when the test fails
        f"{language} journey: {elapsed:.1f} s (data {setup:.1f} s; reward runs {runner.mode}); "
        + p.laps()
    )


def _journey(p: Phone, driver: Driver, course: CoursePage, right, wrong, lessons: int) -> None:
    page = p.page
    home_text = data.HOME["zh-hans" if p.language == "zh-hans" else "en"]

    # --- the home page, then sign up with a mobile number and the SMS code --------------------
    p.go("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(home_text["hero_title"])
    p.shoot("home")
    page.get_by_role("link", name=p.t("Start learning")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("Create your Roadwise account"))
    page.get_by_label(p.t("Mobile number")).fill(driver.mobile_typed)
    p.shoot("sign-up")
    page.get_by_role("button", name=p.t("Send code")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("Confirm your number"))
    expect(page.get_by_role("status")).to_contain_text(driver.mobile[-4:])
    page.get_by_label(p.t("Code from the SMS")).fill(_sms_code(driver.mobile))
    page.get_by_label(p.t("Your name")).fill(driver.name)
    page.get_by_label(p.t("Password"), exact=True).fill(driver.password)
    page.get_by_label(p.t("Password again")).fill(driver.password)
    p.shoot("sms-code")
    page.get_by_role("button", name=p.t("Continue"), exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        p.t("Welcome to Roadwise, %(name)s!", name=driver.name)
    )
    assert p.here() == "/"
    assert User.objects.get(mobile=driver.mobile).display_name == driver.name
    p.shoot("signed-up")

    # --- the catalogue: search, then the course -------------------------------------------
    p.nav("Courses").click()
    catalogue = demo_content.CATALOGUE["title"]
    expect(page.get_by_role("heading", level=1)).to_have_text(
        catalogue.zh if p.language == "zh-hans" else catalogue.en
    )
    card = page.locator(".course-card", has_text=course.title)
    expect(card).to_be_visible()
    expect(card).to_contain_text(p.t("Free"))
    page.get_by_label(p.t("Search courses")).fill(
        "防御" if p.language == "zh-hans" else "defensive"
    )
    page.get_by_role("button", name=p.t("Search"), exact=True).click()
    page.wait_for_url("**/courses/?q=*")
    expect(card).to_be_visible()
    p.shoot("catalogue")
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(course.title)
    p.shoot("course")

    # --- enrol, and study: the progress bar moves with each lesson ---------------------------
    page.get_by_role("button", name=p.t("Enrol for free")).click()
    expect(page.get_by_role("status")).to_contain_text(
        p.t("You are enrolled. Start with the first lesson.")
    )
    values = [_progress(p)]
    assert values == [0]
    p.shoot("lesson-1")
    finished = page.get_by_role("button", name=p.t("I have finished this lesson"))
    while not page.locator("#quiz").count():
        where = p.t("Lesson %(number)s of %(total)s", number=len(values), total=lessons)
        expect(page.get_by_text(where)).to_be_visible()
        finished.click()
        page.wait_for_load_state()
        values.append(_progress(p))
        if len(values) == 2:
            p.shoot("lesson-2")
    assert len(values) == lessons, values
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values
    assert values[-1] == round(100 * (lessons - 1) / lessons)

    # --- the quiz: a failed attempt says why, then a pass -------------------------------------
    quiz = page.locator("#quiz")
    _answer(p, wrong)
    expect(page.get_by_role("status").first).to_have_text(
        p.t(
            "%(percent)d%%: not yet the %(pass_mark)d%% needed. See what to review below.",
            percent=0,
            pass_mark=course.pass_mark,
        )
    )
    expect(quiz.locator(".quiz-result")).to_have_class(re.compile(r"\bfailed\b"))
    expect(quiz.locator(".quiz-result")).to_have_text(
        p.t("%(percent)s%%: you need %(pass_mark)s%% to pass.", percent=0,
            pass_mark=course.pass_mark)
    )  # fmt: skip
    expect(quiz.locator("fieldset.question.wrong")).to_have_count(len(wrong))
    first_wrong = quiz.locator("fieldset.question.wrong").first
    expect(first_wrong.get_by_text(p.t("Not right"), exact=False).first).to_be_visible()
    expect(first_wrong.locator(".explanation")).to_be_visible()  # why it is wrong
    p.shoot("quiz-failed")
    _answer(p, right)
    # Passing completes the course: the certificate is signed and its PDF drawn meanwhile.
    expect(quiz.locator(".quiz-result")).to_have_class(re.compile(r"\bpassed\b"), timeout=30_000)
    expect(quiz.get_by_text(p.t("You passed this quiz."))).to_be_visible()
    p.shoot("quiz-passed")

    # --- the course is complete: 100 %, and it moves to "Completed" on the dashboard ---------
    page.locator(".breadcrumb").get_by_role("link", name=course.title).click()
    assert _progress(p) == 100
    expect(page.locator(".enrol-box .message-success")).to_contain_text("100%")
    p.shoot("course-completed")
    p.nav("My learning").click()
    expect(page.locator("h2", has_text=p.t("Completed"))).to_be_visible()
    card = page.locator(".dash-card", has_text=course.title)
    expect(card).to_contain_text("100%")
    expect(card.locator("[data-certificate]")).to_have_text(p.t("See your certificate"))
    p.shoot("dashboard")


def _certificate(p: Phone, driver: Driver) -> str:
    """The certificate on the certificates page, its PDF, and its verification page; returns
    the certificate's number."""
    page = p.page
    credential = Credential.objects.get(holder__mobile=driver.mobile)
    course_zh = credential.course  # certificates carry the course's title in Chinese
    page.locator(".dash-card [data-certificate]").click()  # on the dashboard
    expect(page.get_by_role("heading", level=1)).to_have_text(course_zh.title)
    expect(page.locator(".facts")).to_contain_text(credential.number)
    p.nav("Certificates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("My certificates"))
    card = page.locator(".cert-card", has_text=course_zh.title)
    expect(card.locator(".cert-status")).to_have_text(p.t("Valid"))
    expect(card.locator(".cert-number")).to_have_text(credential.number)
    p.shoot("certificates")
    card.get_by_role("link", name=course_zh.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(course_zh.title)
    expect(page.locator(".facts")).to_contain_text(driver.name)
    p.shoot("certificate")

    # --- download the PDF: a PDF with the driver's name and the number --------------------
    with page.expect_download() as download:
        page.get_by_role("link", name=p.t("Certificate (PDF)")).click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    text = pdf_text(pdf)
    assert driver.name in text, text
    assert credential.number in text, text
    p.shoot_pdf("certificate-pdf", pdf)

    # --- the verification page, from the link printed under the QR code --------------------
    share = page.locator("#share-url").input_value()
    # The link is printed under the QR code (which holds the same), wrapped to its width.
    printed = re.search(r"(https?://\S+/verify/)\s*([\w-]+/)", text)
    assert printed, f"no verification link in the PDF: {text}"
    assert printed.group(1) + printed.group(2) == share, (printed.group(0), share)
    assert share.startswith(p.base)
    page.goto(share)
    verdict = page.locator("[data-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    expect(verdict.get_by_role("heading", level=1)).to_have_text(_verdict_title(share))
    expect(page.locator(".cert-summary")).to_contain_text(driver.name)
    expect(page.locator(".cert-summary")).to_contain_text(credential.number)
    p.shoot("verified")
    return credential.number


def _verdict_title(share: str) -> str:
    """The share link is in the certificate's language (its course's: Chinese)."""
    with translation.override("en" if "/en/verify/" in share else "zh-hans"):
        return translation.gettext("Valid")


def _consent(p: Phone, driver: Driver, platform: data.Platform, name: str, number: str) -> None:
    """The driver lets the platform see their certificates; the platform's API call then
    finds the certificate (and was refused before)."""
    page = p.page
    path = f"drivers/{driver.mobile}/credentials"
    refused = _api(p.base, platform.api_key, "GET", path)
    assert refused.status_code == 403, refused.text

    p.go("/certificates/")
    page.get_by_role("link", name=p.t("Which platforms can see my certificates?")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("Platform access"))
    row = page.locator(".cert-consent", has_text=name)
    expect(row).to_contain_text(p.t("Not allowed"))
    row.get_by_role("button", name=p.t("Allow")).click()
    row = page.locator(".cert-consent", has_text=name)
    expect(row.locator(".cert-status")).to_have_text(p.t("Allowed"))
    p.shoot("consent")

    seen = _api(p.base, platform.api_key, "GET", path)
    assert seen.status_code == 200, seen.text
    credentials = seen.json()["credentials"]
    assert [(c["number"], c["status"]) for c in credentials] == [(number, "active")]
    assert credentials[0]["document"]["credentialSubject"]["licenseNumber"] == number


def _rewards(p, driver, platform, name, runner, two_months_ago, last_month) -> None:
    """The platform links the driver (who types its code), sends two months of service
    events, and the month's reward runs go; the driver reads the statements and disputes a
    reward."""
    page = p.page
    kuaixing = platform.organization

    # --- the platform asks to link; the driver types its code on the site -------------------
    asked = _api(
        p.base,
        platform.api_key,
        "POST",
        "driver-links",
        json={"mobile": driver.mobile, "driver": driver.platform_ref},
    )
    assert asked.status_code == 201, asked.text
    code = asked.json()["code"]
    p.nav("Rewards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("Your monthly statements"))
    expect(
        page.get_by_text(
            p.t("No statements yet: they begin with the month you first link a platform.")
        )
    ).to_be_visible()
    page.locator(".stmt-page").get_by_role("link", name=p.t("Link a platform")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        p.t("Platforms and your service data")
    )
    expect(page.locator("[data-link-request]")).to_contain_text(name)
    code_form = page.locator("form", has=page.locator("#link-code"))
    page.get_by_label(p.t("Code shown in the platform's app")).fill(code)
    code_form.get_by_role("button", name=p.t("Link"), exact=True).click()
    expect(page.locator("[data-link]")).to_contain_text(name)
    p.shoot("platform-linked")

    # --- the platform sends two months of service; the runs go as beat starts them ---------
    data.link_since(kuaixing, User.objects.get(mobile=driver.mobile), two_months_ago)
    ref = driver.platform_ref
    events = data.service_events(ref, two_months_ago, trips=12, incident=False)
    events += data.service_events(ref, last_month, trips=14, incident=True)
    sent = _api(p.base, platform.api_key, "POST", "service-events", json={"events": events})
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == len(events), sent.json()
    p.lap("events-sent")
    runs = runner.run(kuaixing, [two_months_ago, last_month])
    p.lap("reward-runs")
    assert [run.lines.count() for run in runs] == [2, 1]  # quality + safety; quality

    # --- the statements: each month's earnings, and a chart of them --------------------------
    p.nav("Rewards").click()
    earned = {
        two_months_ago: (data.QUALITY_FEN + data.SAFETY_FEN) // 100,
        last_month: data.QUALITY_FEN // 100,
    }
    for month, yuan in earned.items():
        expect(page.locator(f'li[data-month="{month:%Y-%m}"]')).to_contain_text(f"¥{yuan}.00")
    p.shoot("statements")
    chart = page.locator("[data-earnings-chart]")
    if chart.count():  # the chart of earnings over the months (when the page has it)
        expect(chart.first).to_be_visible()
        for yuan in earned.values():
            expect(chart.first).to_contain_text(f"¥{yuan}.00")
        p.shoot("earnings-chart", element=chart.first)

    # --- last month's statement: the reward and why, what was not earned and why -----------
    page.locator(f'li[data-month="{last_month:%Y-%m}"] a').click()
    section = page.locator(f'[data-platform="{kuaixing.slug}"]')
    expect(section.locator("[data-trips]")).to_have_attribute("data-trips", "14")
    reward = section.locator("[data-line]")
    expect(reward).to_have_count(1)
    expect(reward).to_contain_text(platform.quality.name)
    expect(reward).to_contain_text(f"¥{data.QUALITY_FEN // 100}.00")
    expect(reward.locator(".stmt-why li").first).to_be_visible()
    expect(reward.locator(".stmt-why")).to_contain_text("14")  # the trips it counted
    missed = section.locator("[data-not-earned]")
    expect(missed).to_contain_text(platform.safety.name)
    p.shoot("statement")

    # --- dispute the reward line ---------------------------------------------------------
    reward.get_by_role("link", name=p.t("Dispute"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.t("Dispute a reward"))
    page.get_by_label(p.t("What is wrong")).fill(driver.dispute)
    p.shoot("dispute")
    page.get_by_role("button", name=p.t("Send the dispute")).click()
    expect(page.get_by_role("status")).to_contain_text(
        p.t("Your dispute is sent. An operator will look at it and answer here.")
    )
    dispute = page.locator('[data-dispute="open"]')
    expect(dispute).to_contain_text(driver.dispute)
    expect(dispute).to_contain_text(p.t("Dispute open"))
    p.shoot("disputed")
