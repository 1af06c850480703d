"""Reconciliation of the platform's Stripe balance with the ledger: a clean history has no
differences; anything in one side only, or with another amount, is reported (and the command
exits non-zero)."""

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from cms import payments
from cms.models import CheckoutPayment, Organization
from cms.payments import checkout_start
from rewards import ledger, payments_ledger, payouts, reconcile, tasks
from rewards.models import Payout, Transaction
from tests.factories import DriverFactory, OrganizationFactory
from tests.payments import (
    deliver,
    payments_on,  # noqa: F401
    stripe_fake,  # noqa: F401
)
from tests.rewards.test_payouts import connect, earn

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


@pytest.fixture(autouse=True)
def _rewards_receivers_only(monkeypatch):
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        monkeypatch.setattr(signal, "receivers", [])
        signal.sender_receivers_cache.clear()
    payments_ledger.connect_receivers()
    yield
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        signal.sender_receivers_cache.clear()


def pay(client, fake, *, purpose, amount_fen, method="card", **kwargs) -> CheckoutPayment:
    payment = checkout_start(
        purpose=purpose,
        amount_fen=amount_fen,
        description="Roadwise",
        success_url="https://roadwise.test/ok/",
        cancel_url="https://roadwise.test/cancel/",
        reference=f"ref-{purpose}-{amount_fen}",
        **kwargs,
    )
    deliver(client, fake.complete_checkout(payment.session_id, payment_method_type=method))
    payment.refresh_from_db()
    return payment


def request(driver) -> Payout:
    with TestCase.captureOnCommitCallbacks(execute=True):
        payout = payouts.payout_request(driver=driver)
    payout.refresh_from_db()
    return payout


def window():
    now = timezone.now()
    return now - timedelta(hours=1), now + timedelta(minutes=1)


@pytest.fixture
def history(client, fake):
    """A month in miniature: a funding top-up, a course sale by Alipay partly refunded, a paid
    payout, a failed one, and one Stripe refused before any transfer."""
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    pay(client, fake, purpose="funding", amount_fen=100000, organization=platform)
    sale = pay(client, fake, purpose="course", amount_fen=9900, method="alipay")
    fake.client().v1.refunds.create({"payment_intent": sale.payment_intent_id, "amount": 900})
    deliver(client, fake.events("charge.refunded")[-1])

    paid_driver, failed_driver = DriverFactory(), DriverFactory()
    for driver in (paid_driver, failed_driver):
        earn(driver, amount=20000, key=f"reward-{driver.pk}")
        connect(client, fake, driver)
    paid = request(paid_driver)
    deliver(client, fake.pay_out(paid.destination, paid.stripe_payout_id, "paid"))
    failed = request(failed_driver)
    deliver(client, fake.pay_out(failed.destination, failed.stripe_payout_id, "failed"))
    deliver(client, fake.events("transfer.reversed")[-1])

    refused_driver = DriverFactory()
    earn(refused_driver, amount=5_000_000, key="reward-big")  # more than Stripe holds
    connect(client, fake, refused_driver)
    assert request(refused_driver).status == Payout.Status.FAILED
    assert ledger.check_invariants() == []
    return fake


def test_a_clean_history_reconciles(history):
    report = reconcile.reconcile(*window())
    assert report.differences == []
    # top-up, sale, refund, two transfers, one transfer reversal
    assert report.matched == 6
    card_fee = (100000 * 340 + 5000) // 10000
    alipay_fee = (9900 * 340 + 5000) // 10000
    assert report.fees == {"CNY": card_fee + alipay_fee}

    out = StringIO()
    call_command("reconcile_stripe", "--since", f"{timezone.localdate():%Y-%m-%d}", stdout=out)
    assert "No differences." in out.getvalue()
    assert "Matched: 6" in out.getvalue()


def test_a_planted_balance_transaction_is_reported(history):
    planted = history.plant_balance_transaction(-1234, "cny", type="adjustment")
    history.plant_balance_transaction(-50000, "cny", type="payout")  # to Roadwise's bank

    report = reconcile.reconcile(*window())
    [difference] = report.differences
    assert difference.problem == reconcile.MISSING_IN_LEDGER
    assert difference.source == planted["id"]
    assert difference.stripe_amount == -1234 and difference.ledger_amount is None
    assert report.outside_count == 1 and report.outside == {"CNY": -50000}

    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reconcile_stripe", "--since", "2026-01-01", stdout=out)
    assert failed.value.returncode == 1
    assert "1 difference(s)" in str(failed.value)
    table = out.getvalue()
    assert "in Stripe, not in the ledger" in table and planted["id"] in table
    assert "-12.34 CNY" in table
    assert "Outside the ledger by design" in table


def test_a_ledger_posting_without_stripe_is_reported(history):
    sales = payments_ledger.course_sales_account()
    ledger.post_transaction(
        idempotency_key="checkout:made-up:paid",
        kind=Transaction.Kind.SALE,
        legs=[(sales, 5000), (ledger.external_account(), -5000)],
        metadata={"stripe_charge": "ch_nowhere", "payment": "made-up"},
    )
    [difference] = reconcile.reconcile(*window()).differences
    assert difference.problem == reconcile.MISSING_IN_STRIPE
    assert difference.source == "ch_nowhere"
    assert difference.ledger_amount == 5000 and difference.stripe_amount is None
    assert difference.ledger_refs == ["checkout:made-up:paid"]


def test_an_amount_that_differs_is_reported(history):
    payment = CheckoutPayment.objects.get(purpose="course")
    ledger.post_transaction(
        idempotency_key="checkout:extra",
        kind=Transaction.Kind.SALE,
        legs=[(payments_ledger.course_sales_account(), 100), (ledger.external_account(), -100)],
        metadata={"stripe_charge": payment.charge_id},
    )
    [difference] = reconcile.reconcile(*window()).differences
    assert difference.problem == reconcile.AMOUNT_MISMATCH
    assert difference.source == payment.charge_id
    assert (difference.stripe_amount, difference.ledger_amount) == (9900, 10000)


def test_a_payout_not_sent_yet_is_reported(client, fake, caplog):
    driver = DriverFactory()
    earn(driver)
    connect(client, fake, driver)
    # Money for transfers, from a charge the ledger never heard of: one more difference.
    fake.plant_balance_transaction(1_000_000, "cny", type="charge", source="ch_seed")
    fake.fail_next("POST", "/v1/transfers", status=500)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING

    problems = {d.problem: d for d in reconcile.reconcile(*window()).differences}
    assert problems[reconcile.MISSING_IN_LEDGER].source == "ch_seed"
    unsent = problems[reconcile.MISSING_IN_STRIPE]
    assert unsent.ledger_refs == [f"payout:{payout.public_id}:sent"]
    assert unsent.ledger_amount == -payout.amount_fen

    with caplog.at_level(logging.ERROR):
        summary = tasks.reconcile_stripe.apply().get()
    assert summary["differences"] == 0  # the daily task leaves the last hour alone
    assert len(reconcile.reconcile_recent(now=timezone.now() + timedelta(hours=2)).differences) == 2


def test_the_command_is_clear_about_bad_dates_and_no_configuration(settings, db):
    with pytest.raises(CommandError, match="not a date"):
        call_command("reconcile_stripe", "--since", "30/11/2026")
    with pytest.raises(CommandError, match="must be after"):
        call_command("reconcile_stripe", "--since", "2026-11-30", "--until", "2026-11-01")
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="Payments are not configured"):
        call_command("reconcile_stripe")
