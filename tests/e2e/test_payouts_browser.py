"""A driver's payouts in Chromium at phone width, with Stripe configured (the local fake):
connect an Express account, see what Stripe still needs, pay out the balance, follow it to
"paid"; and a payout the bank refuses, with the reason and the money back. Screenshots of each
state in both languages when E2E_SCREENSHOTS=1 (docs/screenshots/payouts/)."""

import os
from pathlib import Path

import pytest

from rewards.models import Payout, PayoutAccount
from tests.factories import DriverFactory
from tests.payments import deliver, payments_on, stripe_fake  # noqa: F401
from tests.rewards.test_payouts import earn, fund_platform

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "payouts"
PHONE = {"width": 360, "height": 740}

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


@pytest.fixture
def payout_e2e_browser(e2e_browser):
    """Headless Chromium (tests/e2e/conftest.py)."""
    return e2e_browser


def _page_for(browser, live_server, client, user, language):
    client.force_login(user)
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    prefix = "" if language == "zh" else "/en"
    return page, f"{live_server.url}{prefix}/rewards/payouts/"


def _shoot(page, language, name):
    if os.environ.get("E2E_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{language}.png"), full_page=True)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_driver_connects_and_is_paid_out_in_the_browser(
    payout_e2e_browser,
    live_server,
    client,
    fake,
    language,
):
    driver = DriverFactory(display_name="王建国")
    earn(driver)  # ¥250 owed
    fund_platform(fake)
    page, url = _page_for(payout_e2e_browser, live_server, client, driver, language)

    page.goto(url)
    assert page.locator("[data-balance]").get_attribute("data-balance") == "25000"
    assert page.locator("[data-account-status]").get_attribute("data-account-status") == (
        "not_connected"
    )
    _shoot(page, language, "01-not-connected")

    # Connect: we are sent to Stripe's onboarding (the fake has no such page: we stop there).
    with page.expect_request(lambda r: r.url.startswith(f"{fake.url}/setup/e/")):
        page.locator("[data-account-status] button[type=submit]").click()
    account = PayoutAccount.objects.get(driver=driver)
    fake.require_more_information(account.stripe_account_id, ["external_account"])
    page.goto(url.replace("/payouts/", "/payouts/return/"))
    assert page.locator("[data-account-status]").get_attribute("data-account-status") == (
        "information_needed"
    )
    assert page.locator("[data-needed] li").count() == 1
    _shoot(page, language, "02-information-needed")

    deliver(client, fake.onboard(account.stripe_account_id))
    page.goto(url.replace("/payouts/", "/payouts/return/"))
    assert page.locator("[data-account-status]").get_attribute("data-account-status") == "ready"
    _shoot(page, language, "03-ready")

    page.locator("[data-pay-out]").click()
    page.wait_for_load_state()
    payout = Payout.objects.get(driver=driver)
    assert payout.status == Payout.Status.IN_TRANSIT
    row = page.locator(f'[data-payout="{payout.public_id}"]')
    assert row.get_attribute("data-status") == "in_transit"
    assert page.locator("[data-balance]").get_attribute("data-balance") == "0"
    assert page.locator("[data-pay-out]").count() == 0  # one payout at a time
    _shoot(page, language, "04-on-its-way")

    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid"))
    page.reload()
    assert row.get_attribute("data-status") == "paid"
    _shoot(page, language, "05-paid")
    page.context.close()


def test_a_refused_payout_shows_the_reason_and_the_money_back(
    payout_e2e_browser,
    live_server,
    client,
    fake,
):
    driver = DriverFactory()
    earn(driver)
    fund_platform(fake)
    client.force_login(driver)
    client.post("/rewards/payouts/connect/")
    account = PayoutAccount.objects.get(driver=driver)
    deliver(client, fake.onboard(account.stripe_account_id))
    page, url = _page_for(payout_e2e_browser, live_server, client, driver, "zh")
    page.goto(url)
    page.locator("[data-pay-out]").click()
    page.wait_for_load_state()
    payout = Payout.objects.get(driver=driver)
    deliver(
        client,
        fake.pay_out(
            account.stripe_account_id,
            payout.stripe_payout_id,
            "failed",
            failure_code="account_closed",
            failure_message="The bank account has been closed.",
        ),
    )
    page.reload()
    row = page.locator(f'[data-payout="{payout.public_id}"]')
    assert row.get_attribute("data-status") == "failed"
    assert row.locator("[data-reason]").inner_text().strip()  # the reason, in Chinese
    assert page.locator("[data-balance]").get_attribute("data-balance") == "25000"
    assert page.locator("[data-pay-out]").count() == 1  # the driver can try again
    _shoot(page, "zh", "06-failed")
    page.context.close()
