"""A driver buys a paid course on a phone, through Stripe Checkout (issue 7).

Chromium at 360 × 740 against the live server, with payments pointed at the local fake of
Stripe (tests/stripe_fake): the driver signs in, opens the paid course from the catalogue,
taps "Buy", pays on the fake's stand-in Checkout page, and comes back to a purchase that waits
for Stripe's confirmation. Stripe's signed `checkout.session.completed` webhook is then POSTed
over HTTP to the live server, as Stripe would send it; the purchase page says it is paid and
the course opens. With E2E_SCREENSHOTS=1 the steps are saved to
docs/screenshots/journey/paid-course/zh-Hans/NN-<step>.png."""

import time

import pytest
import requests
from playwright.sync_api import expect

from cms.models import CheckoutPayment, StripeEvent
from courses.models import Enrollment
from tests.e2e import journey_data as data
from tests.e2e.journey_phone import open_phone
from tests.factories import DriverFactory
from tests.payments import WEBHOOK_PATH, WEBHOOK_SECRET, payments_on, stripe_fake  # noqa: F401
from tests.stripe_fake import webhook_post_kwargs

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MOBILE, PASSWORD = "+8613812345609", "lu-shang-an-quan-2026"


def _deliver_over_http(base: str, event: dict) -> requests.Response:
    """POST the event to the live server's webhook, signed as Stripe signs it."""
    post = webhook_post_kwargs(event, WEBHOOK_SECRET)
    return requests.post(
        base + WEBHOOK_PATH,
        data=post["data"],
        headers={
            "Content-Type": post["content_type"],
            "Stripe-Signature": post["HTTP_STRIPE_SIGNATURE"],
        },
        timeout=30,
    )


def test_a_driver_buys_a_paid_course_and_it_opens(
    e2e_browser,
    e2e_site_url,
    e2e_screenshots,
    payments_on,  # noqa: F811 - the fixture imported above
):
    started = time.monotonic()
    site = data.site()
    course = data.first_aid(site)
    yuan = f"{course.price_fen // 100}.{course.price_fen % 100:02d}"
    price = f"¥{yuan}"  # as the site writes it
    driver = DriverFactory(mobile=MOBILE, display_name="王师傅", password=PASSWORD)
    shots = e2e_screenshots / "paid-course" if e2e_screenshots else None
    p = open_phone(e2e_browser, e2e_site_url, "zh-hans", shots)
    page = p.page
    try:
        # --- sign in, find the paid course --------------------------------------------------
        p.go("/accounts/login/")
        page.get_by_label(p.t("Mobile number")).fill("138 1234 5609")
        page.get_by_label(p.t("Password"), exact=True).fill(PASSWORD)
        page.locator("main").get_by_role("button", name=p.t("Sign in")).click()
        expect(p.nav("My learning")).to_be_visible()  # signed in
        p.nav("Courses").click()
        card = page.locator(".course-card", has_text=course.title)
        expect(card).to_contain_text(price)
        card.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(course.title)
        buy = page.get_by_role("button", name=p.t("Buy for %(price)s", price=price))
        expect(buy).to_be_visible()
        p.shoot("course")

        # --- pay on (the fake's stand-in for) Stripe Checkout ---------------------------------
        buy.click()
        page.wait_for_url(f"{payments_on.url}/c/pay/**")
        expect(page.get_by_role("heading", level=1)).to_contain_text(yuan)  # "99.00 CNY"
        p.lap("checkout")  # no picture: the fake's page is not what Stripe shows
        page.get_by_role("button", name="Pay with alipay").click()

        # --- back on the site: waiting for Stripe's confirmation --------------------------
        purchase = page.locator("[data-purchase-state]")
        expect(purchase).to_have_attribute("data-purchase-state", "waiting")
        expect(purchase.get_by_role("status")).to_contain_text(
            p.t(
                "Waiting for the payment confirmation. This usually takes a few seconds; "
                "this page refreshes by itself."
            )
        )
        enrollment = Enrollment.objects.get(user=driver, course=course)
        assert enrollment.status == Enrollment.Status.PENDING_PAYMENT
        p.shoot("waiting")

        # --- Stripe's signed webhook reaches the live server; the purchase is paid ---------
        event = payments_on.events("checkout.session.completed")[-1]
        answer = _deliver_over_http(p.base, event)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "received"
        stored = StripeEvent.objects.get(event_id=event["id"])
        assert stored.processed_at is not None, stored.last_error
        page.get_by_role("link", name=p.t("Refresh"), exact=True).click()
        expect(purchase).to_have_attribute("data-purchase-state", "paid")
        expect(purchase.get_by_role("status")).to_contain_text(
            p.t("Paid. The course is yours: start studying.")
        )
        payment = CheckoutPayment.objects.get(user=driver)
        assert payment.amount_fen == course.price_fen
        p.shoot("paid")

        # --- the course is open: its first lesson, and the course page shows progress ------
        page.get_by_role("link", name=p.t("Start studying")).click()
        expect(page.get_by_role("progressbar", name=p.t("Course progress"))).to_be_visible()
        expect(page.get_by_role("button", name=p.t("I have finished this lesson"))).to_be_visible()
        p.shoot("first-lesson")
        page.locator(".breadcrumb").get_by_role("link", name=course.title).click()
        expect(
            page.get_by_role("button", name=p.t("Buy for %(price)s", price=price))
        ).to_have_count(0)
        expect(page.locator(".outline a").first).to_be_visible()  # the lessons are links now
        assert Enrollment.objects.get(pk=enrollment.pk).status == Enrollment.Status.ACTIVE
        p.shoot("course-open")
    finally:
        p.close()
    print(f"paid course: {time.monotonic() - started:.1f} s; {p.laps()}")  # noqa: T201
