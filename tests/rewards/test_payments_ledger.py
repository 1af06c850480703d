"""Money received through Stripe Checkout is booked in the ledger once: course and seat sales
into course sales, funding top-ups into the platform's funding; refunds book the reverse, and
a refund of funding already spent waits (recorded) instead of failing the webhook."""

import pytest

from cms import payments
from cms.models import CheckoutPayment, Organization, StripeEvent
from cms.payments import checkout_start
from rewards import ledger, payments_ledger, tasks
from rewards.models import Account, Transaction, UnpostedRefund
from tests.factories import DriverFactory, OrganizationFactory
from tests.payments import (
    deliver,
    payments_on,  # noqa: F401
    retry_due_events,
    stripe_fake,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


@pytest.fixture(autouse=True)
def _rewards_receivers_only(monkeypatch):
    """Only the rewards receivers listen: the courses app's receivers want their own purchase
    rows behind a payment, which these tests do not make."""
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        monkeypatch.setattr(signal, "receivers", [])
        signal.sender_receivers_cache.clear()
    payments_ledger.connect_receivers()
    yield
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        signal.sender_receivers_cache.clear()


@pytest.fixture
def platform(db):
    return OrganizationFactory(kind=Organization.Kind.PLATFORM, name="快行出行", slug="kuaixing")


def start(purpose="course", amount_fen=10000, **overrides) -> CheckoutPayment:
    kwargs = {
        "purpose": purpose,
        "amount_fen": amount_fen,
        "description": "Passenger safety",
        "success_url": "https://roadwise.test/ok/",
        "cancel_url": "https://roadwise.test/cancel/",
        "reference": "ref-1",
    }
    kwargs.update(overrides)
    return checkout_start(**kwargs)


def pay(client, fake, payment, method="card") -> CheckoutPayment:
    deliver(client, fake.complete_checkout(payment.session_id, payment_method_type=method))
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    return payment


def refund(client, fake, payment, amount=None) -> dict:
    params = {"payment_intent": payment.payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    fake.client().v1.refunds.create(params)
    event = fake.events("charge.refunded")[-1]
    deliver(client, event)
    return event


def balance_of(kind, **owner) -> int:
    account = Account.objects.filter(kind=kind, currency="CNY", **owner).first()
    return ledger.balance(account) if account else 0


def test_a_course_sale_is_booked_once_with_its_stripe_charge(client, fake):
    payment = pay(client, fake, start(user=DriverFactory()), method="alipay")

    posted = Transaction.objects.get(idempotency_key=f"checkout:{payment.public_id}:paid")
    assert posted.kind == Transaction.Kind.SALE
    assert posted.metadata["stripe_charge"] == payment.charge_id
    assert posted.metadata["payment"] == str(payment.public_id)
    assert balance_of(Account.Kind.COURSE_SALES) == 10000
    assert balance_of(Account.Kind.EXTERNAL) == -10000

    # The same event again, and another event for the same session: nothing more.
    event = fake.events("checkout.session.completed")[-1]
    deliver(client, event)
    deliver(client, {**event, "id": "evt_again"})
    payments_ledger.payment_paid_post(payment)
    assert Transaction.objects.count() == 1
    assert ledger.check_invariants() == []


def test_seats_are_course_sales_too(client, fake):
    payment = pay(client, fake, start(purpose="seats", amount_fen=30000, quantity=3))
    assert Transaction.objects.get().kind == Transaction.Kind.SALE
    assert balance_of(Account.Kind.COURSE_SALES) == 30000
    del payment


def test_partial_and_full_refunds_of_a_sale(client, fake):
    payment = pay(client, fake, start())
    first = refund(client, fake, payment, amount=2500)
    refund(client, fake, payment)

    refunds = Transaction.objects.filter(kind=Transaction.Kind.REFUND).order_by("pk")
    assert [r.idempotency_key.split(":")[0] for r in refunds] == ["checkout-refund"] * 2
    assert [r.metadata["stripe_refund"] for r in refunds] == [
        r["id"] for r in fake.objects("refund")
    ]
    assert balance_of(Account.Kind.COURSE_SALES) == 0
    assert balance_of(Account.Kind.EXTERNAL) == 0
    deliver(client, {**first, "id": "evt_refund_replayed"})
    assert Transaction.objects.filter(kind=Transaction.Kind.REFUND).count() == 2
    assert ledger.check_invariants() == []


def test_a_funding_top_up_is_a_deposit_once(client, fake, platform):
    payment = pay(client, fake, start(purpose="funding", organization=platform))

    posted = Transaction.objects.get()
    assert posted.kind == Transaction.Kind.DEPOSIT
    assert posted.idempotency_key == f"checkout:{payment.public_id}:paid"
    assert balance_of(Account.Kind.PLATFORM_FUNDING, organization=platform) == 10000
    deliver(client, {**fake.events("checkout.session.completed")[-1], "id": "evt_2"})
    assert balance_of(Account.Kind.PLATFORM_FUNDING, organization=platform) == 10000
    assert ledger.check_invariants() == []


def test_a_refunded_top_up_is_taken_back_from_the_funding(client, fake, platform):
    payment = pay(client, fake, start(purpose="funding", organization=platform))
    refund(client, fake, payment, amount=4000)
    assert balance_of(Account.Kind.PLATFORM_FUNDING, organization=platform) == 6000
    assert not UnpostedRefund.objects.exists()
    assert ledger.check_invariants() == []


def test_a_refund_of_spent_funding_waits_instead_of_failing_the_webhook(
    client, fake, platform, caplog
):
    payment = pay(client, fake, start(purpose="funding", organization=platform))
    driver = DriverFactory()
    ledger.post_transaction(
        idempotency_key="reward-1",
        kind=Transaction.Kind.REWARD,
        legs=[
            (ledger.platform_funding_account(platform), -9000),
            (ledger.driver_payable_account(driver), 9000),
        ],
    )

    refund(client, fake, payment)  # ¥100 back to the platform, ¥10 left in the funding

    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    held = UnpostedRefund.objects.get()
    assert held.amount_fen == 10000 and held.organization == platform and held.posted_at is None
    assert "9000 fen short" in held.reason
    assert "no longer holds it" in caplog.text
    assert not Transaction.objects.filter(kind=Transaction.Kind.REFUND).exists()
    assert balance_of(Account.Kind.PLATFORM_FUNDING, organization=platform) == 1000
    assert ledger.check_invariants() == []

    # Not yet: the retry changes nothing while the funding is short.
    assert tasks.unposted_refunds_retry() == []
    # The next top-up pays it back first.
    pay(client, fake, start(purpose="funding", organization=platform, reference="ref-2"))
    assert tasks.unposted_refunds_retry() == [held.refund_id]
    held.refresh_from_db()
    assert held.posted_at is not None
    assert balance_of(Account.Kind.PLATFORM_FUNDING, organization=platform) == 1000
    assert tasks.unposted_refunds_retry() == []
    assert Transaction.objects.filter(kind=Transaction.Kind.REFUND).count() == 1
    assert ledger.check_invariants() == []
    assert retry_due_events() == 0


def test_a_top_up_without_a_platform_is_not_booked(client, fake, caplog):
    school = OrganizationFactory()
    pay(client, fake, start(purpose="funding", organization=school))
    assert not Transaction.objects.exists()
    assert "has no ledger account" in caplog.text
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_an_expired_checkout_books_nothing(client, fake):
    payment = start()
    deliver(client, fake.expire_checkout(payment.session_id))
    assert not Transaction.objects.exists()


def test_a_tampered_webhook_is_refused_and_books_nothing(client, fake):
    payment = start(purpose="funding", organization=OrganizationFactory(kind="platform"))
    event = fake.complete_checkout(payment.session_id)
    response = deliver(client, event, secret="whsec_somebody_else")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not Transaction.objects.exists()


def test_the_course_sales_account_is_opened_once(db):
    first = payments_ledger.course_sales_account()
    assert payments_ledger.course_sales_account() == first
    assert first.code == "system:course-sales:CNY" and first.floor_fen is None
