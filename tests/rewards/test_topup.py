"""Platform staff top up their reward funding through Stripe Checkout in the admin; the
funding grows once when Stripe confirms the payment."""

import pytest
from django.contrib.auth.models import Permission

from cms import payments
from cms.models import CheckoutPayment, Organization
from rewards import ledger, payments_ledger
from rewards.models import Account, Transaction, UnpostedRefund
from tests.factories import OperatorFactory, OrganizationFactory, UserFactory
from tests.payments import (
    deliver,
    payments_on,  # noqa: F401
    stripe_fake,  # noqa: F401
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("admin_in_english")]
URL = "/admin/funding/"


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


@pytest.fixture
def platform(db):
    return OrganizationFactory(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


def admin_user(**kwargs):
    user = UserFactory(**kwargs)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


@pytest.fixture
def staff(client, platform):
    user = admin_user(organization=platform)
    client.force_login(user)
    return user


def funding(platform) -> int:
    account = Account.objects.filter(kind=Account.Kind.PLATFORM_FUNDING, organization=platform)
    return ledger.balance(account.get()) if account.exists() else 0


def test_a_top_up_goes_to_stripe_and_the_funding_grows_once(client, fake, staff, platform):
    html = client.get(URL).content.decode()
    assert "data-topup-form" in html and "¥0.00" in html
    assert URL in client.get("/admin/").content.decode()  # the menu item

    response = client.post(URL, {"amount": "250.50"})
    payment = CheckoutPayment.objects.get()
    assert response.status_code == 302 and response["Location"] == payment.session_url
    assert payment.purpose == CheckoutPayment.Purpose.FUNDING
    assert payment.organization == platform and payment.user == staff
    assert payment.amount_fen == 25050 and payment.currency == "CNY"
    session = fake.get(payment.session_id)
    assert session["success_url"] == f"http://testserver{URL}?paid={payment.reference}"
    assert session["metadata"]["purpose"] == "funding"

    event = fake.complete_checkout(payment.session_id, payment_method_type="wechat_pay")
    deliver(client, event)
    deliver(client, {**event, "id": "evt_completed_again"})
    assert funding(platform) == 25050
    assert Transaction.objects.get().kind == Transaction.Kind.DEPOSIT

    html = client.get(f"{URL}?paid={payment.reference}").content.decode()
    assert "as soon as Stripe confirms the payment" in html
    assert f'data-topup="{payment.public_id}" data-status="paid"' in html
    assert "Added" in html and "¥250.50" in html
    assert ledger.check_invariants() == []


@pytest.mark.parametrize("amount", ["0.99", "1000000.01", "12.345", "abc", "-5", ""])
def test_amounts_out_of_bounds_are_refused(client, fake, staff, amount):
    response = client.post(URL, {"amount": amount})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not CheckoutPayment.objects.exists()


def test_the_smallest_and_largest_amounts(client, fake, staff):
    client.post(URL, {"amount": "1"})
    client.post(URL, {"amount": "1000000"})
    assert sorted(CheckoutPayment.objects.values_list("amount_fen", flat=True)) == [
        100,
        100_000_000,
    ]


def test_not_configured_is_said_clearly(client, settings, staff):
    settings.STRIPE_SECRET_KEY = ""
    html = client.get(URL).content.decode()
    assert "data-not-configured" in html and "data-topup-form" not in html
    response = client.post(URL, {"amount": "100"})
    assert "Payments are not configured on this site" in response.content.decode()
    assert not CheckoutPayment.objects.exists()


def test_stripe_refusing_the_checkout_is_said(client, fake, staff):
    fake.fail_next("POST", "/v1/checkout/sessions", status=500)
    response = client.post(URL, {"amount": "100"})
    assert response.status_code == 200
    assert "The payment could not be started" in response.content.decode()


def test_a_cancelled_payment_says_nothing_was_charged(client, fake, staff):
    assert "nothing was charged" in client.get(f"{URL}?cancelled=x").content.decode()


def test_only_platform_staff_and_operators(client, fake, platform):
    author = admin_user(organization=OrganizationFactory())
    client.force_login(author)
    refused = client.get(URL)
    assert refused.status_code in (302, 403) and "data-topups" not in refused.content.decode()
    assert client.post(URL, {"amount": "100"}).status_code in (302, 403)
    assert "/admin/funding/" not in client.get("/admin/").content.decode()

    operator = OperatorFactory()
    client.force_login(operator)
    html = client.get(URL).content.decode()
    assert "data-topup-form" not in html
    assert client.post(URL, {"amount": "100"}).status_code == 200
    assert not CheckoutPayment.objects.exists()


def test_operators_see_every_top_up_and_refunds_waiting(client, fake, platform, staff):
    client.post(URL, {"amount": "80"})
    payment = CheckoutPayment.objects.get()
    deliver(client, fake.complete_checkout(payment.session_id))
    payment.refresh_from_db()
    # The platform spends it, then Stripe refunds the top-up.
    ledger.post_transaction(
        idempotency_key="reward-x",
        kind=Transaction.Kind.REWARD,
        legs=[
            (ledger.platform_funding_account(platform), -8000),
            (ledger.driver_payable_account(UserFactory()), 8000),
        ],
    )
    fake.client().v1.refunds.create({"payment_intent": payment.payment_intent_id})
    deliver(client, fake.events("charge.refunded")[-1])
    refund = UnpostedRefund.objects.get()

    html = client.get(URL).content.decode()  # the platform's staff
    assert f'data-refund="{refund.refund_id}"' in html
    assert "¥80.00 refund waiting" in html

    client.force_login(OperatorFactory())
    html = client.get(URL).content.decode()
    assert f'data-topup="{payment.public_id}"' in html and "Kuaixing" in html  # in English
    assert f'data-refund="{refund.refund_id}"' in html
