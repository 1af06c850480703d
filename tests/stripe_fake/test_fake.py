"""The fake Stripe API, exercised through the real `stripe` SDK (no network beyond 127.0.0.1)."""

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import stripe

from tests.stripe_fake import FakeStripe, FakeUsageError, decode_form
from tests.stripe_fake.signing import sign_payload, signed_event, webhook_post_kwargs

WHSEC = "whsec_test_roadwise"


@pytest.fixture(scope="module")
def server():
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def client(fake):
    return fake.client()


def session_params(**overrides):
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "cny",
                    "unit_amount": 19900,  # ¥199.00 in fen
                    "product_data": {"name": "Defensive driving course"},
                },
                "quantity": 2,
            }
        ],
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "success_url": "https://roadwise.test/pay/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://roadwise.test/pay/cancelled",
        "client_reference_id": "order-42",
        "metadata": {"order_id": "42", "course": "defensive"},
        "customer_email": "driver@example.com",
    }
    params.update(overrides)
    return params


def paid_session(fake, client, amount=19900, quantity=2, method="card"):
    session = client.v1.checkout.sessions.create(
        session_params(
            line_items=[
                {
                    "price_data": {
                        "currency": "cny",
                        "unit_amount": amount,
                        "product_data": {"name": "Course"},
                    },
                    "quantity": quantity,
                }
            ]
        )
    )
    fake.complete_checkout(session.id, payment_method_type=method)
    return client.v1.checkout.sessions.retrieve(session.id)


def onboarded_driver(fake, client, *, manual_payouts=True, country="US"):
    params = {
        "type": "express",
        "country": country,
        "email": "driver@example.com",
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"driver_id": "7"},
    }
    if manual_payouts:
        params["settings"] = {"payouts": {"schedule": {"interval": "manual"}}}
    account = client.v1.accounts.create(params)
    fake.onboard(account.id)
    return account.id


# -------------------------------------------------------------------------------- checkout


def test_checkout_session_create_retrieve_and_complete(fake, client):
    session = client.v1.checkout.sessions.create(session_params())

    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.payment_intent is None
    assert session.amount_total == 39800
    assert session.currency == "cny"
    assert session.mode == "payment"
    assert session.client_reference_id == "order-42"
    assert session.metadata.to_dict() == {"order_id": "42", "course": "defensive"}
    assert session.payment_method_types == ["card", "alipay", "wechat_pay"]
    assert session.url.startswith(fake.url + "/")
    assert session.expires_at - session.created == 24 * 3600

    event = fake.complete_checkout(session.id, payment_method_type="wechat_pay")

    assert event["object"] == "event"
    assert event["id"].startswith("evt_")
    assert event["type"] == "checkout.session.completed"
    assert event["livemode"] is False
    assert event["api_version"]
    assert "account" not in event
    completed = event["data"]["object"]
    assert completed["id"] == session.id
    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")

    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.status == "complete"
    assert again.payment_status == "paid"
    intent = client.v1.payment_intents.retrieve(again.payment_intent)
    assert intent.status == "succeeded"
    assert intent.amount_received == 39800
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.object == "charge"
    assert charge.payment_intent == intent.id
    assert (charge.amount, charge.amount_refunded, charge.refunded) == (39800, 0, False)
    assert charge.payment_method_details.type == "wechat_pay"
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    # Non-card methods book as "payment"; 3.4 % fee by default.
    assert (txn.type, txn.reporting_category, txn.amount) == ("payment", "charge", 39800)
    assert txn.fee == 1353 and txn.net == 39800 - 1353
    assert txn.source == charge.id

    types = [e["type"] for e in fake.events()]
    assert types == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]
    with pytest.raises(FakeUsageError):
        fake.complete_checkout(session.id)


def test_checkout_expand_and_line_items(fake, client):
    session = paid_session(fake, client, amount=5000, quantity=3)

    expanded = client.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["payment_intent.latest_charge", "line_items"]}
    )
    assert expanded.payment_intent.latest_charge.amount == 15000
    assert expanded.line_items.data[0].quantity == 3
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.price.unit_amount, i.quantity, i.amount_total) for i in items.data] == [
        (5000, 3, 15000)
    ]
    found = client.v1.checkout.sessions.list({"payment_intent": session.payment_intent})
    assert [s.id for s in found.data] == [session.id]


def test_checkout_validation_errors_are_stripe_shaped(fake, client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.create(session_params(line_items=None))
    assert missing.value.http_status == 400
    assert missing.value.param == "line_items"
    assert missing.value.code == "parameter_missing"
    assert missing.value.json_body["error"]["type"] == "invalid_request_error"

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.checkout.sessions.create(session_params(colour="blue"))
    assert unknown.value.code == "parameter_unknown"

    bad_amount = session_params()
    bad_amount["line_items"][0]["price_data"]["unit_amount"] = "12.50"
    with pytest.raises(stripe.InvalidRequestError) as invalid:
        client.v1.checkout.sessions.create(bad_amount)
    assert invalid.value.param == "line_items[0][price_data][unit_amount]"

    with pytest.raises(stripe.InvalidRequestError) as wechat:
        client.v1.checkout.sessions.create(session_params(payment_method_options=None))
    assert wechat.value.param == "payment_method_options[wechat_pay][client]"

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(session_params(payment_method_types=["cash"]))

    # Validation failures are not saved under the idempotency key: a corrected retry works.
    options = {"idempotency_key": "checkout-order-42"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(session_params(success_url="not a url"), options)
    assert client.v1.checkout.sessions.create(session_params(), options).status == "open"


def test_pay_page_completes_and_redirects(fake, client):
    session = client.v1.checkout.sessions.create(session_params())
    parts = urlsplit(session.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", parts.path)
    page = conn.getresponse()
    assert page.status == 200 and b"398.00 CNY" in page.read()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request(
        "POST",
        parts.path,
        body="method=alipay",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    redirect = conn.getresponse()
    assert redirect.status == 303
    assert redirect.getheader("Location") == f"https://roadwise.test/pay/done?session={session.id}"
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert fake.events("checkout.session.completed")[0]["data"]["object"]["id"] == session.id


def test_expire_session(fake, client):
    session = client.v1.checkout.sessions.create(session_params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert fake.events()[-1]["type"] == "checkout.session.expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


# -------------------------------------------------------------------------------- refunds


def test_partial_then_full_refund(fake, client):
    session = paid_session(fake, client, amount=10000, quantity=1)
    intent = client.v1.payment_intents.retrieve(session.payment_intent)

    partial = client.v1.refunds.create(
        {"payment_intent": intent.id, "amount": 3000, "reason": "requested_by_customer"}
    )
    assert partial.object == "refund" and partial.id.startswith("re_")
    assert (partial.amount, partial.status, partial.charge) == (
        3000,
        "succeeded",
        intent.latest_charge,
    )
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (3000, False)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"charge": charge.id, "amount": 7001})
    assert too_much.value.code == "amount_too_large"

    rest = client.v1.refunds.create({"charge": charge.id})
    assert rest.amount == 7000
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (10000, True)

    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert again.value.code == "charge_already_refunded"

    refunded_events = fake.events("charge.refunded")
    assert [e["data"]["object"]["amount_refunded"] for e in refunded_events] == [3000, 10000]
    txns = client.v1.balance_transactions.list({"type": "refund"}).data
    assert sorted(t.amount for t in txns) == [-7000, -3000]
    assert all(t.fee == 0 and t.reporting_category == "refund" for t in txns)
    assert fake.balance() == {"cny": 10000 - 340 - 10000}


# -------------------------------------------------------------------------------- connect


def test_express_account_link_and_onboarding(fake, client):
    account = client.v1.accounts.create(
        {
            "type": "express",
            "country": "US",
            "email": "driver@example.com",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"driver_id": "7"},
        }
    )
    assert account.object == "account" and account.id.startswith("acct_")
    assert account.type == "express"
    assert (account.details_submitted, account.charges_enabled, account.payouts_enabled) == (
        False,
        False,
        False,
    )
    assert account.requirements.currently_due
    assert account.capabilities.transfers == "inactive"

    link = client.v1.account_links.create(
        {
            "account": account.id,
            "refresh_url": "https://roadwise.test/connect/refresh",
            "return_url": "https://roadwise.test/connect/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(fake.url)
    assert link.expires_at > link.created

    event = fake.onboard(account.id)
    assert event["type"] == "account.updated"
    assert event["account"] == account.id
    assert event["data"]["previous_attributes"]["details_submitted"] is False

    fresh = client.v1.accounts.retrieve(account.id)
    assert (fresh.details_submitted, fresh.charges_enabled, fresh.payouts_enabled) == (
        True,
        True,
        True,
    )
    assert fresh.requirements.currently_due == []
    assert fresh.capabilities.transfers == "active"
    assert fresh.metadata["driver_id"] == "7"

    with pytest.raises(stripe.InvalidRequestError) as no_capability:
        client.v1.accounts.create({"type": "express", "country": "US"})
    assert no_capability.value.param == "capabilities"


def test_transfer_needs_onboarded_destination_and_funds(fake, client):
    account = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    with pytest.raises(stripe.InvalidRequestError) as not_onboarded:
        client.v1.transfers.create({"amount": 100, "currency": "cny", "destination": account.id})
    assert not_onboarded.value.code == "insufficient_capabilities_for_transfer"

    fake.onboard(account.id)
    with pytest.raises(stripe.InvalidRequestError) as broke:
        client.v1.transfers.create({"amount": 100, "currency": "cny", "destination": account.id})
    assert broke.value.code == "balance_insufficient"

    with pytest.raises(stripe.InvalidRequestError) as nowhere:
        client.v1.transfers.create({"amount": 100, "currency": "cny", "destination": "acct_nope"})
    assert nowhere.value.http_status == 404
    assert nowhere.value.code == "resource_missing"
    assert nowhere.value.param == "destination"


def test_cross_border_transfer_needs_recipient_agreement(fake, client):
    fake.plant_balance_transaction(100000, "cny")
    full = onboarded_driver(fake, client, country="CN")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.create({"amount": 100, "currency": "cny", "destination": full})
    assert refused.value.code == "transfers_not_allowed"

    recipient = client.v1.accounts.create(
        {
            "type": "express",
            "country": "CN",
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": "recipient"},
        }
    )
    fake.onboard(recipient.id)
    transfer = client.v1.transfers.create(
        {"amount": 100, "currency": "cny", "destination": recipient.id}
    )
    assert transfer.destination == recipient.id


def test_transfer_idempotency_replay_and_conflict(fake, client):
    paid_session(fake, client, amount=50000, quantity=1)
    driver = onboarded_driver(fake, client)
    params = {
        "amount": 12000,
        "currency": "cny",
        "destination": driver,
        "transfer_group": "payout-run-1",
        "metadata": {"statement_id": "s-1"},
    }
    first = client.v1.transfers.create(params, {"idempotency_key": "transfer-s-1"})
    assert first.object == "transfer" and first.id.startswith("tr_")
    assert first.balance_transaction.startswith("txn_")
    assert first.destination_payment.startswith("py_")
    second = client.v1.transfers.create(params, {"idempotency_key": "transfer-s-1"})
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake.objects("transfer")) == 1
    assert len(fake.events("transfer.created")) == 1
    assert client.v1.transfers.retrieve(first.id).amount == 12000

    with pytest.raises(stripe.IdempotencyError) as conflict:
        client.v1.transfers.create({**params, "amount": 13000}, {"idempotency_key": "transfer-s-1"})
    assert conflict.value.http_status == 400
    assert conflict.value.json_body["error"]["type"] == "idempotency_error"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create({"charge": "ch_x"}, {"idempotency_key": "transfer-s-1"})
    assert len(fake.objects("transfer")) == 1

    created = fake.events("transfer.created")[0]
    assert created["request"]["idempotency_key"] == "transfer-s-1"

    # Keys are scoped per account: the same key on a connected account is a new request.
    payout = client.v1.payouts.create(
        {"amount": 100, "currency": "cny"},
        {"stripe_account": driver, "idempotency_key": "transfer-s-1"},
    )
    assert payout.status == "pending"
    assert fake.balance(driver) == {"cny": 11900}


def test_accept_then_timeout_sdk_retry_gets_the_first_transfer(fake):
    fake.plant_balance_transaction(100000, "cny")
    client = fake.client(timeout=0.3, max_network_retries=2)
    driver = onboarded_driver(fake, client)
    fake.accept_then_timeout("POST", "/v1/transfers", seconds=2)

    started = time.monotonic()
    transfer = client.v1.transfers.create(
        {"amount": 5000, "currency": "cny", "destination": driver},
        {"idempotency_key": "transfer-statement-9"},
    )
    assert time.monotonic() - started < 2

    assert len(fake.objects("transfer")) == 1
    assert transfer.id == fake.objects("transfer")[0]["id"]
    posts = [r for r in fake.requests if r["path"] == "/v1/transfers"]
    assert [r["idempotency_key"] for r in posts] == ["transfer-statement-9"] * 2
    assert [r["replayed"] for r in posts] == [False, True]


def test_accept_then_timeout_without_sdk_retries_then_manual_retry(fake):
    fake.plant_balance_transaction(100000, "cny")
    client = fake.client(timeout=0.3, max_network_retries=0)
    driver = onboarded_driver(fake, client)
    fake.accept_then_timeout("POST", "/v1/transfers", seconds=2)
    params = {"amount": 5000, "currency": "cny", "destination": driver}

    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params, {"idempotency_key": "k-1"})
    assert len(fake.objects("transfer")) == 1  # Stripe did it although we saw a timeout

    retried = client.v1.transfers.create(params, {"idempotency_key": "k-1"})
    assert retried.id == fake.objects("transfer")[0]["id"]
    assert len(fake.objects("transfer")) == 1


def test_fail_next(fake):
    fake.plant_balance_transaction(100000, "cny")
    no_retries = fake.client()
    driver = onboarded_driver(fake, no_retries)
    params = {"amount": 100, "currency": "cny", "destination": driver}

    fake.fail_next("POST", "/v1/transfers")
    with pytest.raises(stripe.APIError) as failed:
        no_retries.v1.transfers.create(params)
    assert failed.value.http_status == 500
    assert fake.objects("transfer") == []

    # A 500 before execution: the SDK's own retry (same auto-generated key) succeeds.
    fake.fail_next("POST", "/v1/transfers")
    assert fake.client(max_network_retries=1).v1.transfers.create(params).amount == 100
    assert len(fake.objects("transfer")) == 1

    # A 500 during execution is saved under the key and replayed, as Stripe does.
    fake.fail_next("POST", "/v1/transfers", replay=True)
    with pytest.raises(stripe.APIError):
        no_retries.v1.transfers.create(params, {"idempotency_key": "k-500"})
    with pytest.raises(stripe.APIError) as replayed:
        no_retries.v1.transfers.create(params, {"idempotency_key": "k-500"})
    assert replayed.value.headers["Stripe-Should-Retry"] == "false"
    assert len(fake.objects("transfer")) == 1


def test_transfer_reversal(fake, client):
    fake.plant_balance_transaction(100000, "cny")
    driver = onboarded_driver(fake, client)
    transfer = client.v1.transfers.create(
        {"amount": 8000, "currency": "cny", "destination": driver}
    )
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 3000})
    assert reversal.object == "transfer_reversal" and reversal.id.startswith("trr_")
    assert reversal.transfer == transfer.id

    fresh = client.v1.transfers.retrieve(transfer.id)
    assert (fresh.amount_reversed, fresh.reversed) == (3000, False)
    assert fresh.reversals.total_count == 1
    event = fake.events("transfer.reversed")[0]
    assert event["data"]["object"]["amount_reversed"] == 3000
    assert event["data"]["previous_attributes"] == {"amount_reversed": 0, "reversed": False}

    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 5000
    assert client.v1.transfers.retrieve(transfer.id).reversed is True
    assert fake.balance() == {"cny": 100000}
    assert fake.balance(driver) == {"cny": 0}
    kinds = [t.type for t in client.v1.balance_transactions.list().data]
    assert kinds == ["transfer_refund", "transfer_refund", "transfer", "adjustment"]


# -------------------------------------------------------------------------------- payouts


def test_payouts_on_the_connected_account(fake, client):
    fake.plant_balance_transaction(100000, "cny")
    driver = onboarded_driver(fake, client)
    client.v1.transfers.create({"amount": 9000, "currency": "cny", "destination": driver})
    as_driver = {"stripe_account": driver}

    payout = client.v1.payouts.create({"amount": 6000, "currency": "cny"}, as_driver)
    assert payout.object == "payout" and payout.id.startswith("po_")
    assert payout.status == "pending"
    assert fake.requests[-1]["stripe_account"] == driver
    with pytest.raises(stripe.InvalidRequestError) as platform_view:
        client.v1.payouts.retrieve(payout.id)  # not the platform's payout
    assert platform_view.value.http_status == 404

    event = fake.pay_out(driver, payout.id, "paid")
    assert (event["type"], event["account"]) == ("payout.paid", driver)
    assert client.v1.payouts.retrieve(payout.id, options=as_driver).status == "paid"

    second = client.v1.payouts.create({"amount": 3000, "currency": "cny"}, as_driver)
    failed = fake.pay_out(driver, second.id, "failed")
    assert failed["type"] == "payout.failed"
    again = client.v1.payouts.retrieve(second.id, options=as_driver)
    assert (again.status, again.failure_code) == ("failed", "account_closed")
    assert fake.balance(driver) == {"cny": 3000}  # the failed payout came back

    with pytest.raises(stripe.InvalidRequestError) as broke:
        client.v1.payouts.create({"amount": 3001, "currency": "cny"}, as_driver)
    assert broke.value.code == "balance_insufficient"
    driver_txns = client.v1.balance_transactions.list(options=as_driver).data
    assert [t.type for t in driver_txns] == ["payout_failure", "payout", "payout", "payment"]


def test_payout_rules(fake, client):
    automatic = onboarded_driver(fake, client, manual_payouts=False)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payouts.create({"amount": 100, "currency": "cny"}, {"stripe_account": automatic})
    assert refused.value.code == "payouts_not_allowed"

    with pytest.raises(stripe.PermissionError) as unknown:
        client.v1.payouts.create(
            {"amount": 100, "currency": "cny"}, {"stripe_account": "acct_unknown"}
        )
    assert unknown.value.http_status == 403


# -------------------------------------------------------------------------------- balance


def test_balance_transactions_paging_newest_first(fake, client):
    base = int(time.time()) - 10 * 86400
    planted = [
        fake.plant_balance_transaction(100 + i, "cny", created=base + i * 86400)["id"]
        for i in range(7)
    ]
    newest_first = list(reversed(planted))

    page = client.v1.balance_transactions.list({"limit": 3})
    assert [t.id for t in page.data] == newest_first[:3]
    assert page.has_more is True

    everything = [
        t.id for t in client.v1.balance_transactions.list({"limit": 2}).auto_paging_iter()
    ]
    assert everything == newest_first

    window = client.v1.balance_transactions.list(
        {"limit": 2, "created": {"gte": base + 2 * 86400, "lt": base + 5 * 86400}}
    )
    assert [t.id for t in window.auto_paging_iter()] == newest_first[2:5]

    before = client.v1.balance_transactions.list({"ending_before": newest_first[3], "limit": 2})
    assert [t.id for t in before.data] == newest_first[1:3]

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.list({"starting_after": "txn_nope"})

    balance = client.v1.balance.retrieve()
    assert balance.available[0].amount == sum(range(100, 107))


def test_events_api(fake, client):
    session = client.v1.checkout.sessions.create(session_params())
    event = fake.complete_checkout(session.id)
    fetched = client.v1.events.retrieve(event["id"])
    assert fetched.type == "checkout.session.completed"
    assert fetched.data.object.id == session.id
    listed = client.v1.events.list({"type": "checkout.session.*"})
    assert [e.id for e in listed.data] == [event["id"]]
    built = fake.event("charge.dispute.created", {"id": "dp_1", "object": "dispute"})
    assert client.v1.events.retrieve(built["id"]).data.object.id == "dp_1"


# -------------------------------------------------------------------------------- auth, 404


def test_wrong_or_missing_api_key(fake):
    wrong = stripe.StripeClient("sk_test_wrong_key_123", base_addresses={"api": fake.url})
    with pytest.raises(stripe.AuthenticationError) as denied:
        wrong.v1.balance.retrieve()
    assert denied.value.http_status == 401
    assert denied.value.user_message.startswith("Invalid API Key provided: sk_test_")

    parts = urlsplit(fake.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", "/v1/balance")
    response = conn.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["error"]["type"] == "invalid_request_error"


def test_unknown_ids_and_urls_are_404(fake, client):
    for call in (
        lambda: client.v1.checkout.sessions.retrieve("cs_test_nope"),
        lambda: client.v1.transfers.retrieve("tr_nope"),
        lambda: client.v1.payment_intents.retrieve("pi_nope"),
        lambda: client.v1.charges.retrieve("ch_nope"),
        lambda: client.v1.accounts.retrieve("acct_nope"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            call()
        assert missing.value.http_status == 404
        assert missing.value.code == "resource_missing"
        assert "No such" in missing.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as route:
        client.v1.customers.retrieve("cus_1")
    assert "Unrecognized request URL" in route.value.user_message


def test_module_level_api_base(fake, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", fake.url)
    monkeypatch.setattr(stripe, "api_key", fake.api_key)
    session = stripe.checkout.Session.create(**session_params())
    assert stripe.checkout.Session.retrieve(session.id).amount_total == 39800


# -------------------------------------------------------------------------------- signing


def test_signed_events_verify_with_the_sdk(fake, client):
    session = client.v1.checkout.sessions.create(session_params())
    event = fake.complete_checkout(session.id)
    payload, header = signed_event(event, WHSEC)

    verified = stripe.Webhook.construct_event(payload, header, WHSEC)
    assert verified.type == "checkout.session.completed"
    assert verified.data.object.id == session.id
    assert header.startswith("t=") and ",v1=" in header

    tampered = payload.replace(b"39800", b"1")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, header, WHSEC)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_someone_else")
    old = sign_payload(payload, WHSEC, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(payload, old, WHSEC)
    assert stripe.Webhook.construct_event(payload.decode(), sign_payload(payload, WHSEC), WHSEC)

    kwargs = webhook_post_kwargs(event, WHSEC)
    assert stripe.Webhook.construct_event(kwargs["data"], kwargs["HTTP_STRIPE_SIGNATURE"], WHSEC)


def test_sign_payload_matches_the_sdk(fake):
    ours = sign_payload('{"a": 1}', WHSEC, timestamp=1700000000)
    sdks = stripe.WebhookSignature.generate_signature_header('{"a": 1}', WHSEC, 1700000000)
    assert ours == sdks


# -------------------------------------------------------------------------------- odds and ends


def test_decode_form_bracket_notation():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "1000"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[0]", "zero"),
        ("payment_method_types[0]", "card"),
        ("payment_method_types[1]", "alipay"),
        ("expand[]", "a"),
        ("expand[]", "b"),
    ]
    assert decode_form(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "1000"}, "quantity": "1"}, {"quantity": "2"}],
        "metadata": {"0": "zero"},
        "payment_method_types": ["card", "alipay"],
        "expand": ["a", "b"],
    }


def test_reset_forgets_everything(fake, client):
    client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "k"})
    fake.reset()
    assert fake.objects("checkout.session") == [] and fake.events() == []
    assert (
        client.v1.checkout.sessions.create(
            session_params(mode="payment", client_reference_id="other"), {"idempotency_key": "k"}
        ).client_reference_id
        == "other"
    )


def test_pending_funds_and_source_transaction():
    with FakeStripe(charge_availability_seconds=7 * 86400) as slow:
        client = slow.client()
        session = paid_session(slow, client, amount=10000, quantity=1)
        driver = onboarded_driver(slow, client)
        balance = client.v1.balance.retrieve()
        assert (balance.available[0].amount, balance.pending[0].amount) == (0, 10000 - 340)
        txn = client.v1.balance_transactions.list().data[-1]
        assert txn.status == "pending"
        with pytest.raises(stripe.InvalidRequestError) as pending:
            client.v1.transfers.create({"amount": 5000, "currency": "cny", "destination": driver})
        assert pending.value.code == "balance_insufficient"
        charge = client.v1.payment_intents.retrieve(session.payment_intent).latest_charge
        transfer = client.v1.transfers.create(
            {
                "amount": 5000,
                "currency": "cny",
                "destination": driver,
                "source_transaction": charge,
            }
        )
        assert transfer.source_transaction == charge


def test_account_update_links_lists_and_requirements(fake, client):
    fake.plant_balance_transaction(100000, "cny")
    account = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.login_links.create(account.id)
    fake.onboard(account.id)
    assert client.v1.accounts.login_links.create(account.id).url.startswith(fake.url)
    updated = client.v1.accounts.update(
        account.id,
        {"settings": {"payouts": {"schedule": {"interval": "manual"}}}, "metadata": {"a": "1"}},
    )
    assert updated.settings.payouts.schedule.interval == "manual"
    assert updated.metadata.to_dict() == {"a": "1"}

    transfer = client.v1.transfers.create(
        {"amount": 4000, "currency": "cny", "destination": account.id, "transfer_group": "g1"}
    )
    client.v1.transfers.reversals.create(transfer.id, {"amount": 1000})
    reversals = client.v1.transfers.reversals.list(transfer.id)
    assert [r.amount for r in reversals.data] == [1000]
    assert [t.id for t in client.v1.transfers.list({"transfer_group": "g1"}).data] == [transfer.id]
    assert [t.id for t in client.v1.transfers.list({"destination": "acct_other"}).data] == []

    as_driver = {"stripe_account": account.id}
    payout = client.v1.payouts.create({"amount": 1000, "currency": "cny"}, as_driver)
    moving = fake.pay_out(account.id, payout.id, "in_transit")
    assert moving["type"] == "payout.updated"
    assert [p.id for p in client.v1.payouts.list(options=as_driver).data] == [payout.id]

    event = fake.require_more_information(account.id, ["individual.verification.document"])
    assert event["data"]["object"]["payouts_enabled"] is False
    with pytest.raises(stripe.InvalidRequestError) as disabled:
        client.v1.payouts.create({"amount": 100, "currency": "cny"}, as_driver)
    assert disabled.value.code == "payouts_not_allowed"


def test_pay_page_cancel_redirects(fake, client):
    session = client.v1.checkout.sessions.create(session_params())
    parts = urlsplit(session.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", parts.path + "/cancel")
    response = conn.getresponse()
    assert response.status == 303
    assert response.getheader("Location") == "https://roadwise.test/pay/cancelled"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
