"""Checkout payments: the configured Stripe client and checkout_start, against the fake Stripe
(tests/stripe_fake): what is sent, what is stored, and what happens when Stripe fails."""

import pytest
import stripe
from django.utils import translation

from cms import payments
from cms.models import CheckoutPayment
from cms.payments import (
    PaymentError,
    PaymentsNotConfigured,
    checkout_start,
    payments_configured,
    stripe_client,
)
from tests.factories import DriverFactory, OrganizationFactory
from tests.payments import WEBHOOK_SECRET, payments_on, stripe_fake  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


SESSIONS = "/v1/checkout/sessions"


def _start(**overrides) -> CheckoutPayment:
    kwargs = {
        "purpose": CheckoutPayment.Purpose.COURSE,
        "amount_fen": 19900,
        "description": "Safe night driving",
        "success_url": "https://roadwise.test/learn/paid/?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://roadwise.test/learn/",
        "reference": "enrolment-1",
    }
    kwargs.update(overrides)
    return checkout_start(**kwargs)


def _session_creations(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"] == SESSIONS]


# --- configuration ------------------------------------------------------------------------


@pytest.fixture
def payments_off(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


def test_payments_need_both_keys(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert not payments_configured()
    settings.STRIPE_WEBHOOK_SECRET = " , "
    assert not payments_configured()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    assert not payments_configured()
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert payments_configured()


def test_settings_default_to_payments_off_and_the_real_stripe():
    from cms.settings import base

    assert base.STRIPE_API_BASE == "https://api.stripe.com"
    assert base.STRIPE_TIMEOUT_SECONDS == 10
    assert base.STRIPE_MAX_NETWORK_RETRIES == 2
    assert base.STRIPE_CHECKOUT_PAYMENT_METHODS == ["card", "alipay", "wechat_pay"]


def test_stripe_client_is_configured_from_settings(settings, fake):
    settings.STRIPE_TIMEOUT_SECONDS = 7
    settings.STRIPE_MAX_NETWORK_RETRIES = 3
    client = stripe_client()
    options = client._requestor._options
    assert options.api_key == fake.api_key
    assert options.base_addresses["api"] == fake.url
    assert options.max_network_retries == 3
    assert client._requestor._client._timeout == 7
    assert client.v1.balance.retrieve().object == "balance"  # it really talks to the fake


def test_the_real_stripe_is_only_the_api_address(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = "https://api.stripe.com/"
    addresses = stripe_client()._requestor._options.base_addresses
    assert addresses["api"] == "https://api.stripe.com"
    assert addresses["connect"] == "https://connect.stripe.com"


def test_stripe_client_without_keys_refuses(payments_off):
    with pytest.raises(PaymentsNotConfigured):
        stripe_client()


def test_not_configured_message_is_explicit(payments_off):
    with translation.override("en"), pytest.raises(PaymentsNotConfigured) as caught:
        stripe_client()
    message = str(caught.value)
    assert "not configured" in message
    for what in ("paid courses", "seat purchases", "funding top-ups", "payouts"):
        assert what in message


def test_checkout_without_keys_stores_nothing(payments_off):
    with pytest.raises(PaymentsNotConfigured):
        _start()
    assert not CheckoutPayment.objects.exists()


# --- checkout_start -------------------------------------------------------------------------


def test_checkout_start_creates_a_session_and_a_pending_payment(fake):
    user = DriverFactory()
    org = OrganizationFactory()
    with translation.override("zh-hans"):
        payment = _start(user=user, organization=org, metadata={"course": "night-driving"})

    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PENDING
    assert payment.user == user and payment.organization == org
    assert payment.amount_fen == 19900 and payment.currency == "CNY" and payment.quantity == 1
    assert payment.session_id.startswith("cs_test_")
    assert payment.session_url == f"{fake.url}/c/pay/{payment.session_id}"
    assert payment.metadata == {"course": "night-driving"}

    session = fake.get(payment.session_id)
    assert session["mode"] == "payment"
    assert session["currency"] == "cny"
    assert session["amount_total"] == 19900
    assert session["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert session["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    assert session["client_reference_id"] == str(payment.public_id)
    assert session["metadata"] == {
        "course": "night-driving",
        "payment": str(payment.public_id),
        "purpose": "course",
        "reference": "enrolment-1",
    }
    assert session["locale"] == "zh"
    assert "{CHECKOUT_SESSION_ID}" in session["success_url"]
    assert session["status"] == "open" and session["payment_status"] == "unpaid"

    (request,) = _session_creations(fake)
    assert request["idempotency_key"] == f"checkout:{payment.public_id}"
    (item,) = request["params"]["line_items"]
    assert item["price_data"]["product_data"]["name"] == "Safe night driving"
    assert item["price_data"]["unit_amount"] == "19900" and item["quantity"] == "1"
    # The charge carries the payment id too (refunds find their payment with it).
    assert request["params"]["payment_intent_data"]["metadata"]["payment"] == str(payment.public_id)


def test_the_pay_page_returns_to_the_success_url_with_the_session(client, fake):
    payment = _start()
    import requests

    answer = requests.post(
        payment.session_url, data={"method": "alipay"}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"?session={payment.session_id}")


def test_english_pages_get_an_english_checkout(fake):
    with translation.override("en"):
        payment = _start()
    assert fake.get(payment.session_id)["locale"] == "en"


def test_quantity_sets_the_unit_price(fake):
    payment = _start(purpose=CheckoutPayment.Purpose.SEATS, amount_fen=30000, quantity=3)
    (request,) = _session_creations(fake)
    (item,) = request["params"]["line_items"]
    assert item["price_data"]["unit_amount"] == "10000" and item["quantity"] == "3"
    assert fake.get(payment.session_id)["amount_total"] == 30000
    assert payment.quantity == 3


def test_payment_methods_come_from_settings(settings, fake):
    settings.STRIPE_CHECKOUT_PAYMENT_METHODS = ["card"]
    payment = _start()
    session = fake.get(payment.session_id)
    assert session["payment_method_types"] == ["card"]
    assert session["payment_method_options"] == {}


@pytest.mark.parametrize(
    "overrides",
    [
        {"purpose": "donation"},
        {"amount_fen": 0},
        {"amount_fen": -100},
        {"amount_fen": 199.0},
        {"amount_fen": True},
        {"quantity": 0},
        {"quantity": 3, "amount_fen": 10000},  # 10000 fen do not split into 3 equal prices
        {"currency": "RMB1"},
        {"description": "  "},
        {"reference": ""},
        {"reference": "x" * 101},
        {"metadata": {"payment": "forged"}},
        {"metadata": {"k" * 41: "v"}},
        {"metadata": {"note": "v" * 501}},
    ],
)
def test_wrong_arguments_are_refused_before_anything_happens(fake, overrides):
    with pytest.raises(ValueError):
        _start(**overrides)
    assert not CheckoutPayment.objects.exists()
    assert fake.requests == []


def test_a_stripe_error_fails_the_payment(fake):
    fake.fail_next("POST", SESSIONS, status=500)
    with translation.override("en"), pytest.raises(PaymentError) as caught:
        _start()
    assert "Nothing was charged" in str(caught.value)
    assert isinstance(caught.value.__cause__, stripe.StripeError)
    payment = CheckoutPayment.objects.get()
    assert payment.status == CheckoutPayment.Status.FAILED
    assert payment.session_id is None and payment.session_url == ""
    assert "500" in payment.error
    assert fake.objects("checkout.session") == []


def test_a_refused_key_fails_the_payment(settings, fake):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong_key_0000"
    with pytest.raises(PaymentError):
        _start()
    assert CheckoutPayment.objects.get().status == CheckoutPayment.Status.FAILED


def test_stripe_unreachable_fails_the_payment(settings, fake):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on discard
    with pytest.raises(PaymentError):
        _start()
    assert CheckoutPayment.objects.get().status == CheckoutPayment.Status.FAILED


def test_a_timeout_retried_with_the_same_key_makes_one_session(settings, fake):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    fake.accept_then_timeout("POST", SESSIONS, seconds=1.5)

    payment = _start()

    sessions = fake.objects("checkout.session")
    assert [s["id"] for s in sessions] == [payment.session_id]
    assert payment.status == CheckoutPayment.Status.PENDING
    creations = _session_creations(fake)
    assert len(creations) == 2
    assert {r["idempotency_key"] for r in creations} == {f"checkout:{payment.public_id}"}
    assert creations[-1]["replayed"] is True


def test_a_timeout_without_retries_fails_the_payment(fake, settings):
    settings.STRIPE_TIMEOUT_SECONDS = 0.3
    fake.accept_then_timeout("POST", SESSIONS, seconds=1.0)
    with pytest.raises(PaymentError):
        _start()
    payment = CheckoutPayment.objects.get()
    assert payment.status == CheckoutPayment.Status.FAILED
    # Stripe made the session, but nobody was sent to it; it carries our payment id.
    (session,) = fake.objects("checkout.session")
    assert session["metadata"]["payment"] == str(payment.public_id)


def test_each_checkout_is_its_own_payment(fake):
    first = _start()
    second = _start()
    assert first.public_id != second.public_id
    assert first.session_id != second.session_id
    assert len(fake.objects("checkout.session")) == 2


def test_is_paid_covers_refunds():
    statuses = CheckoutPayment.Status
    paid = {s for s in statuses if CheckoutPayment(status=s).is_paid}
    assert paid == {statuses.PAID, statuses.PARTIALLY_REFUNDED, statuses.REFUNDED}


def test_handler_registry_matches_exact_types_and_prefixes():
    def exact(event):
        pass

    def wildcard(event):
        pass

    try:
        payments.stripe_handler("roadwise_test.done")(exact)
        payments.stripe_handler("roadwise_test.*")(wildcard)
        payments.stripe_handler("roadwise_test.*")(wildcard)  # twice: still once
        assert payments.stripe_handlers_for("roadwise_test.done") == [exact, wildcard]
        assert payments.stripe_handlers_for("roadwise_test.failed") == [wildcard]
        assert payments.stripe_handlers_for("roadwise_tests.failed") == []
    finally:
        del payments._handlers["roadwise_test.done"]
        del payments._handlers["roadwise_test.*"]
    with pytest.raises(ValueError):
        payments.stripe_handler()


def test_cms_handles_checkout_events():
    for event_type in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
        "charge.refunded",
        "refund.updated",
    ):
        assert any(h.__module__ == "cms.payments" for h in payments.stripe_handlers_for(event_type))
