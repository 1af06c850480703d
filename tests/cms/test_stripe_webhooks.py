"""POST /stripe/webhook/ and event processing: only signed events are stored, each once;
Checkout payments move paid / expired / refunded once, whatever the order or the number of
deliveries; failing handlers leave the event to be retried."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from cms import payments, tasks
from cms.models import CheckoutPayment, CheckoutRefund, PaymentAlert, StripeEvent
from cms.payments import checkout_start
from tests.concurrency import race
from tests.payments import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    deliver,
    payments_on,  # noqa: F401
    retry_due_events,
    stripe_fake,  # noqa: F401
)
from tests.stripe_fake import sign_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


@pytest.fixture(autouse=True)
def _cms_only(monkeypatch):
    """These tests are about cms's plumbing: other apps' handlers and signal receivers (their
    own tests cover them) are set aside."""
    own = {
        event_type: [h for h in handlers if h.__module__ == "cms.payments"]
        for event_type, handlers in payments._handlers.items()
    }
    monkeypatch.setattr(payments, "_handlers", {k: v for k, v in own.items() if v})
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        monkeypatch.setattr(signal, "receivers", [])
        signal.sender_receivers_cache.clear()
    yield
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        signal.sender_receivers_cache.clear()


@pytest.fixture
def received():
    """Every checkout signal sent during the test, as (name, kwargs)."""
    calls = []
    receivers = {}
    for name in ("checkout_paid", "checkout_refunded", "checkout_expired"):

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal")
            calls.append((_name, kwargs))

        receivers[name] = receiver
        getattr(payments, name).connect(receiver, weak=False)
    yield calls
    for name, receiver in receivers.items():
        getattr(payments, name).disconnect(receiver)


@pytest.fixture
def register():
    """Register a webhook handler for the test only."""
    added = []

    def register(event_type, func):
        payments.stripe_handler(event_type)(func)
        added.append((event_type, func))
        return func

    yield register
    for event_type, func in added:
        payments._handlers[event_type].remove(func)


def _names(received) -> list[str]:
    return [name for name, _kwargs in received]


def _start(**overrides) -> CheckoutPayment:
    kwargs = {
        "purpose": CheckoutPayment.Purpose.COURSE,
        "amount_fen": 10000,
        "description": "Passenger safety",
        "success_url": "https://roadwise.test/ok/{CHECKOUT_SESSION_ID}",
        "cancel_url": "https://roadwise.test/cancel/",
        "reference": "enrolment-7",
    }
    kwargs.update(overrides)
    return checkout_start(**kwargs)


def _refund(fake, payment, amount=None) -> dict:
    """Refund through the Stripe API; returns the charge.refunded event it caused."""
    params = {"payment_intent": payment.payment_intent_id or _intent_of(fake, payment)}
    if amount is not None:
        params["amount"] = amount
    fake.client().v1.refunds.create(params)
    return fake.events("charge.refunded")[-1]


def _intent_of(fake, payment) -> str:
    return fake.get(payment.session_id)["payment_intent"]


def _post(client, body: bytes, header: str | None):
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    return client.post(WEBHOOK_PATH, data=body, content_type="application/json", **extra)


# --- the endpoint ----------------------------------------------------------------------------


def test_a_paid_checkout_is_recorded_and_signalled_once(client, fake, received):
    payment = _start()
    event = fake.complete_checkout(payment.session_id, payment_method_type="wechat_pay")

    response = deliver(client, event)

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    row = StripeEvent.objects.get()
    assert row.event_id == event["id"] and row.type == "checkout.session.completed"
    assert row.processed_at is not None and row.attempts == 1 and row.last_error == ""
    assert row.account == "" and row.livemode is False
    assert row.payload == event
    payment.refresh_from_db()
    intent = fake.get(_intent_of(fake, payment))
    assert payment.status == CheckoutPayment.Status.PAID
    assert payment.paid_at is not None
    assert payment.payment_intent_id == intent["id"]
    assert payment.charge_id == intent["latest_charge"]
    assert _names(received) == ["checkout_paid"]
    assert received[0][1]["payment"] == payment


def test_the_webhook_is_outside_the_language_prefixes(client, fake):
    assert client.post("/en/stripe/webhook/").status_code == 404


def test_only_post(client, fake):
    assert client.get(WEBHOOK_PATH).status_code == 405
    assert not StripeEvent.objects.exists()


def test_no_csrf_token_needed(fake):
    from django.test import Client

    payment = _start()
    event = fake.complete_checkout(payment.session_id)
    strict = Client(enforce_csrf_checks=True)
    assert deliver(strict, event).status_code == 200


def test_not_configured_answers_503_and_stores_nothing(client, settings, fake):
    payment = _start()
    event = fake.complete_checkout(payment.session_id)
    settings.STRIPE_SECRET_KEY = ""
    response = deliver(client, event)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["message"]
    assert not StripeEvent.objects.exists()


@pytest.fixture
def completed(fake):
    payment = _start()
    return payment, fake.complete_checkout(payment.session_id)


def test_a_tampered_payload_is_rejected(client, completed):
    payment, event = completed
    body = json.dumps(event, indent=2).encode()
    header = sign_payload(body, WEBHOOK_SECRET)
    tampered = body.replace(b'"amount_total": 10000', b'"amount_total": 1')
    assert tampered != body
    assert _post(client, tampered, header).status_code == 400
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PENDING


@pytest.mark.parametrize(
    "header",
    [
        None,  # no header
        "",
        "t=1,v1=deadbeef",
        "garbage",
    ],
)
def test_missing_or_malformed_signatures_are_rejected(client, completed, header):
    _payment, event = completed
    body = json.dumps(event).encode()
    response = _post(client, body, header)
    assert response.status_code == 400
    assert response.json()["status"] == "rejected"
    assert not StripeEvent.objects.exists()


def test_the_wrong_secret_is_rejected(client, completed):
    _payment, event = completed
    assert deliver(client, event, secret="whsec_someone_else").status_code == 400
    assert not StripeEvent.objects.exists()


def test_an_old_signature_is_rejected(client, completed):
    _payment, event = completed
    response = deliver(client, event, timestamp=int(time.time()) - 3600)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "evt_1"}',
        b'{"type": "x"}',
        b'{"id": "", "type": "x", "data": {}}',
        b'{"id": "' + b"e" * 256 + b'", "type": "x", "data": {}}',
        b'{"id": 12, "type": "x", "data": {}}',
    ],
)
def test_a_signed_body_that_is_no_event_is_rejected(client, fake, body):
    assert _post(client, body, sign_payload(body, WEBHOOK_SECRET)).status_code == 400
    assert not StripeEvent.objects.exists()


def test_any_of_several_secrets_verifies(client, settings, completed):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_connect_endpoint, " + WEBHOOK_SECRET
    _payment, event = completed
    assert deliver(client, event).status_code == 200
    assert deliver(client, {**event, "id": "evt_other"}, "whsec_connect_endpoint").json() == {
        "status": "received"
    }
    assert StripeEvent.objects.count() == 2


# --- once, whatever the deliveries ----------------------------------------------------------


def test_redeliveries_are_handled_once(client, completed, received):
    payment, event = completed
    answers = [deliver(client, event).json()["status"] for _ in range(3)]
    assert answers == ["received", "duplicate", "duplicate"]
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert _names(received) == ["checkout_paid"]


def test_two_events_for_one_session_make_one_transition(client, completed, received):
    payment, event = completed
    session = event["data"]["object"]
    deliver(client, event)
    # Stripe may also send async_payment_succeeded for the same session, with its own id.
    other = {
        **event,
        "id": "evt_second_delivery",
        "type": "checkout.session.async_payment_succeeded",
    }
    assert deliver(client, other).json() == {"status": "received"}
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    assert session["id"] == payment.session_id
    assert _names(received) == ["checkout_paid"]


def test_the_event_copy_is_not_trusted(client, fake, received):
    """An event claiming "paid" for a session Stripe still has open changes nothing."""
    payment = _start()
    session = fake.get(payment.session_id)
    forged = fake.event(
        "checkout.session.completed", {**session, "status": "complete", "payment_status": "paid"}
    )
    assert deliver(client, forged).status_code == 200
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PENDING
    assert StripeEvent.objects.get().processed_at is not None
    assert received == []


def test_sessions_that_are_not_ours_are_ignored(client, fake, received):
    session = fake.client().v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "https://elsewhere.test/",
            "line_items": [
                {
                    "price_data": {
                        "currency": "cny",
                        "unit_amount": 500,
                        "product_data": {"name": "Not ours"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )
    event = fake.complete_checkout(session.id)
    assert deliver(client, event).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None
    assert not CheckoutPayment.objects.exists()
    assert received == []


def test_a_payment_whose_start_timed_out_is_still_recorded_when_paid(
    client, settings, fake, received
):
    """Stripe made the session although we saw a timeout: money received is recorded."""
    settings.STRIPE_TIMEOUT_SECONDS = 0.3
    fake.accept_then_timeout("POST", "/v1/checkout/sessions", seconds=1.0)
    with pytest.raises(payments.PaymentError):
        _start()
    payment = CheckoutPayment.objects.get()
    (session,) = fake.objects("checkout.session")
    deliver(client, fake.complete_checkout(session["id"]))
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    assert payment.session_id == session["id"]
    assert _names(received) == ["checkout_paid"]


def test_a_connect_event_keeps_its_account(client, fake):
    event = fake.event("account.updated", {"id": "acct_1", "object": "account"}, account="acct_1")
    deliver(client, event)
    row = StripeEvent.objects.get()
    assert row.account == "acct_1"
    assert row.processed_at is not None  # no handler in cms: processed


def test_an_event_type_without_handlers_is_processed(client, fake):
    event = fake.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert deliver(client, event).status_code == 200
    row = StripeEvent.objects.get()
    assert row.processed_at is not None and row.attempts == 1


# --- expiry ----------------------------------------------------------------------------------


def test_an_expired_checkout(client, fake, received):
    payment = _start()
    event = fake.expire_checkout(payment.session_id)
    deliver(client, event)
    deliver(client, event)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.EXPIRED
    assert _names(received) == ["checkout_expired"]
    assert received[0][1]["payment"] == payment


def test_an_expiry_event_for_a_paid_session_changes_nothing(client, fake, received):
    payment = _start()
    deliver(client, fake.complete_checkout(payment.session_id))
    session = fake.get(payment.session_id)
    stale = fake.event("checkout.session.expired", {**session, "status": "expired"})
    deliver(client, stale)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    assert _names(received) == ["checkout_paid"]


def test_an_expiry_processed_before_the_completion_still_ends_paid(client, fake, received):
    """The expired event's copy is stale if Stripe now says paid: the current state wins."""
    payment = _start()
    session = fake.get(payment.session_id)
    fake.complete_checkout(payment.session_id)  # its event is not delivered
    stale = fake.event("checkout.session.expired", {**session, "status": "expired"})
    deliver(client, stale)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    assert _names(received) == ["checkout_paid"]


# --- refunds ---------------------------------------------------------------------------------


def test_partial_then_full_refund(client, fake, received):
    payment = _start()
    deliver(client, fake.complete_checkout(payment.session_id))
    payment.refresh_from_db()
    received.clear()

    first = _refund(fake, payment, amount=3000)
    deliver(client, first)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PARTIALLY_REFUNDED
    assert payment.amount_refunded_fen == 3000

    second = _refund(fake, payment)  # the rest
    deliver(client, second)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.REFUNDED
    assert payment.amount_refunded_fen == 10000

    refunds = list(CheckoutRefund.objects.filter(payment=payment))
    assert [r.amount_fen for r in refunds] == [3000, 7000]
    assert {r.refund_id for r in refunds} == {r["id"] for r in fake.objects("refund")}
    assert _names(received) == ["checkout_refunded", "checkout_refunded"]
    assert [kwargs["full"] for _name, kwargs in received] == [False, True]
    assert [kwargs["refund"] for _name, kwargs in received] == refunds
    assert received[1][1]["payment"].status == CheckoutPayment.Status.REFUNDED

    # Late and repeated deliveries of either event change nothing more.
    deliver(client, first)
    deliver(client, {**first, "id": "evt_refund_again"})
    assert CheckoutRefund.objects.count() == 2
    assert len(received) == 2


def test_refund_events_in_reverse_order_signal_each_refund_once(client, fake, received):
    payment = _start()
    deliver(client, fake.complete_checkout(payment.session_id))
    payment.refresh_from_db()
    first = _refund(fake, payment, amount=4000)
    second = _refund(fake, payment, amount=6000)
    received.clear()
    deliver(client, second)  # Stripe now lists both refunds: both are recorded, in order
    deliver(client, first)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.REFUNDED
    assert [kwargs["full"] for _name, kwargs in received] == [False, True]
    assert [kwargs["refund"].amount_fen for _name, kwargs in received] == [4000, 6000]


def test_a_refund_before_the_completion_waits_for_it(client, fake, received):
    payment = _start()
    completed = fake.complete_checkout(payment.session_id)  # delivered late
    refunded = _refund(fake, payment)

    assert deliver(client, refunded, may_fail=True).json() == {"status": "received"}
    row = StripeEvent.objects.get(event_id=refunded["id"])
    assert row.processed_at is None
    assert row.attempts == 1
    assert "EventNotReady" in row.last_error
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PENDING
    assert not CheckoutRefund.objects.exists()

    # Not due again at once: the beat task waits RETRY_AFTER.
    assert payments.stripe_events_due() == []

    deliver(client, completed)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID

    # The beat task, some minutes later.
    StripeEvent.objects.filter(pk=row.pk).update(
        received_at=timezone.now() - timedelta(minutes=10),
        last_attempt_at=timezone.now() - timedelta(minutes=10),
    )
    assert tasks.stripe_events_retry() == 1
    row.refresh_from_db()
    assert row.processed_at is not None and row.attempts == 2 and row.last_error == ""
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.REFUNDED
    assert _names(received) == ["checkout_paid", "checkout_refunded"]
    assert received[1][1]["full"] is True
    assert tasks.stripe_events_retry() == 0


def test_a_pending_refund_is_recorded_when_it_succeeds(client, fake, received):
    payment = _start()
    deliver(client, fake.complete_checkout(payment.session_id))
    payment.refresh_from_db()
    refunded = _refund(fake, payment, amount=2500)
    refund_id = fake.objects("refund")[-1]["id"]
    # Make Stripe's copy pending, as wallets' refunds can be at first.
    fake._objects[refund_id]["status"] = "pending"
    received.clear()
    deliver(client, refunded)
    assert not CheckoutRefund.objects.exists() and received == []
    fake._objects[refund_id]["status"] = "succeeded"
    updated = fake.event("refund.updated", fake.get(refund_id))
    deliver(client, updated)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PARTIALLY_REFUNDED
    assert payment.amount_refunded_fen == 2500
    assert [kwargs["full"] for _name, kwargs in received] == [False]


def test_refunds_of_charges_that_are_not_ours_are_ignored(client, fake, received):
    event = fake.event("charge.refunded", {"id": "ch_unknown", "object": "charge"}, record=True)
    deliver(client, event, may_fail=True)
    row = StripeEvent.objects.get()
    # Stripe does not know the charge either: a 404 is an error, retried and visible.
    assert row.processed_at is None and "resource_missing" in row.last_error


# --- failures and retries --------------------------------------------------------------------


def test_stripe_unreachable_during_processing_is_retried(client, fake, received):
    payment = _start()
    event = fake.complete_checkout(payment.session_id)
    fake.fail_next("GET", "/v1/checkout/sessions/", status=500)
    assert deliver(client, event, may_fail=True).status_code == 200  # stored: not resent
    row = StripeEvent.objects.get()
    assert row.processed_at is None and "500" in row.last_error
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PENDING

    assert retry_due_events() == 1
    row.refresh_from_db()
    payment.refresh_from_db()
    assert row.processed_at is not None and row.attempts == 2
    assert payment.status == CheckoutPayment.Status.PAID
    assert _names(received) == ["checkout_paid"]


def test_a_failing_receiver_rolls_back_and_retries(client, fake):
    payment = _start()
    event = fake.complete_checkout(payment.session_id)
    calls = []

    def flaky(sender, payment, **kwargs):
        calls.append(payment.pk)
        if len(calls) == 1:
            raise RuntimeError("the enrolment service is down")

    payments.checkout_paid.connect(flaky, weak=False)
    try:
        deliver(client, event, may_fail=True)
        row = StripeEvent.objects.get()
        assert row.processed_at is None and row.attempts == 1
        assert row.last_error == "RuntimeError: the enrolment service is down"
        payment.refresh_from_db()
        assert payment.status == CheckoutPayment.Status.PENDING  # rolled back with the error

        retry_due_events()
        row.refresh_from_db()
        payment.refresh_from_db()
        assert row.processed_at is not None and row.attempts == 2 and row.last_error == ""
        assert payment.status == CheckoutPayment.Status.PAID
        assert calls == [payment.pk, payment.pk]
    finally:
        payments.checkout_paid.disconnect(flaky)


def test_a_raising_handler_is_recorded_and_retried(client, fake, register):
    attempts = []

    def handler(event):
        attempts.append(event["id"])
        if len(attempts) < 3:
            raise payments.EventNotReady("the transfer is not booked yet")

    register("transfer.created", handler)
    event = fake.event("transfer.created", {"id": "tr_1", "object": "transfer"})
    deliver(client, event, may_fail=True)
    row = StripeEvent.objects.get()
    assert (row.processed_at, row.attempts) == (None, 1)
    assert row.last_error == "EventNotReady: the transfer is not booked yet"
    retry_due_events()
    row.refresh_from_db()
    assert (row.processed_at, row.attempts) == (None, 2)
    retry_due_events()
    row.refresh_from_db()
    assert row.processed_at is not None and row.attempts == 3 and row.last_error == ""
    assert attempts == [event["id"]] * 3
    assert retry_due_events() == 0


def test_handlers_get_the_event_as_a_plain_dict(client, fake, register):
    seen = []
    register("payout.*", lambda event: seen.append(event))
    event = fake.event("payout.paid", {"id": "po_1", "object": "payout"}, account="acct_9")
    deliver(client, event)
    assert seen == [event]
    assert type(seen[0]) is dict


def test_processing_twice_runs_handlers_once(client, fake, register):
    seen = []
    register("payout.paid", lambda event: seen.append(event["id"]))
    deliver(client, fake.event("payout.paid", {"id": "po_1", "object": "payout"}))
    row = StripeEvent.objects.get()
    payments.stripe_event_process(row.pk)
    tasks.stripe_event_process.delay(row.pk)
    assert seen == [row.event_id]
    assert payments.stripe_event_process(10**9) is None


def test_the_retry_backoff_grows_and_is_capped():
    delays = [payments.stripe_event_retry_delay(n) for n in range(1, 12)]
    assert delays[0] == timedelta(minutes=5)
    assert delays[1] == timedelta(minutes=10)
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=6)


def test_due_events_respect_the_backoff(client, fake, register):
    def failing(event):
        raise RuntimeError("still broken")

    register("payout.failed", failing)
    deliver(client, fake.event("payout.failed", {"id": "po_2", "object": "payout"}), may_fail=True)
    row = StripeEvent.objects.get()
    now = timezone.now()
    assert payments.stripe_events_due(now) == []
    assert payments.stripe_events_due(now + timedelta(minutes=6)) == [row.pk]
    StripeEvent.objects.filter(pk=row.pk).update(attempts=5)
    assert payments.stripe_events_due(now + timedelta(minutes=6)) == []
    assert payments.stripe_events_due(now + timedelta(minutes=81)) == [row.pk]
    StripeEvent.objects.filter(pk=row.pk).update(processed_at=now)
    assert payments.stripe_events_due(now + timedelta(days=1)) == []


def test_the_retry_task_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["retry-stripe-events"]
    assert schedule == {"task": "cms.tasks.stripe_events_retry", "schedule": 600.0}


# --- concurrency (PostgreSQL row locks) -------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_events_for_one_session_make_one_transition(fake, received):
    payment = _start()
    completed = fake.complete_checkout(payment.session_id)
    rows = [
        StripeEvent.objects.create(
            event_id=f"{completed['id']}_{n}",
            type=event_type,
            payload={**completed, "id": f"{completed['id']}_{n}", "type": event_type},
        )
        for n, event_type in enumerate(
            ["checkout.session.completed", "checkout.session.async_payment_succeeded"] * 3
        )
    ]
    # Each event twice, all at once: twelve workers, six events, one payment.
    outcomes = race([lambda pk=row.pk: payments.stripe_event_process(pk) for row in rows * 2])
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 6
    assert set(StripeEvent.objects.values_list("attempts", flat=True)) == {1}
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID
    assert _names(received) == ["checkout_paid"]


# --- the operators' admin page ----------------------------------------------------------------


def test_operators_see_payments_and_events_and_can_retry(client, fake, register):
    from tests.factories import OperatorFactory

    payment = _start()
    deliver(client, fake.complete_checkout(payment.session_id))
    broken = []

    def failing(event):
        if not broken:
            broken.append(event["id"])
            raise RuntimeError("not today")

    register("roadwise_test.failing", failing)
    deliver(
        client, fake.event("roadwise_test.failing", {"id": "x_1", "object": "thing"}), may_fail=True
    )
    waiting = StripeEvent.objects.get(type="roadwise_test.failing")

    client.force_login(OperatorFactory())
    page = client.get("/admin/stripe/")
    assert page.status_code == 200
    html = page.content.decode()
    assert payment.session_id in html and waiting.event_id in html
    unprocessed = client.get("/admin/stripe/?events=unprocessed").content.decode()
    assert waiting.event_id in unprocessed
    assert StripeEvent.objects.get(type="checkout.session.completed").event_id not in unprocessed

    detail = client.get(f"/admin/stripe/events/{waiting.pk}/")
    assert detail.status_code == 200
    assert "not today" in detail.content.decode()

    assert client.get(f"/admin/stripe/events/{waiting.pk}/retry/").status_code == 405
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/admin/stripe/events/{waiting.pk}/retry/")
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.processed_at is not None and waiting.attempts == 2


def test_only_operators_see_the_stripe_page(client, fake):
    from tests.factories import AuthorFactory

    client.force_login(AuthorFactory(is_staff=True))
    assert client.get("/admin/stripe/").status_code in (302, 403)
    event = fake.event("customer.created", {"id": "cus_1", "object": "customer"})
    deliver(client, event)
    row = StripeEvent.objects.get()
    assert client.get(f"/admin/stripe/events/{row.pk}/").status_code in (302, 403)
    assert client.post(f"/admin/stripe/events/{row.pk}/retry/").status_code in (302, 403)


def test_a_failed_delayed_payment_ends_the_checkout(client, fake, received):
    payment = _start()
    session = fake.get(payment.session_id)
    fake._objects[payment.session_id].update(status="complete", payment_status="unpaid")
    event = fake.event(
        "checkout.session.async_payment_failed",
        {**session, "status": "complete", "payment_status": "unpaid"},
    )
    deliver(client, event)
    deliver(client, {**event, "id": "evt_again"})
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.FAILED
    assert "delayed payment failed" in payment.error
    assert _names(received) == ["checkout_expired"]


def test_a_stored_event_is_acknowledged_even_if_queueing_fails(client, fake, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    payment = _start()
    event = fake.complete_checkout(payment.session_id)
    monkeypatch.setattr(tasks.stripe_event_process, "delay", broker_down)
    assert deliver(client, event, may_fail=True).json() == {"status": "received"}
    row = StripeEvent.objects.get()
    assert row.processed_at is None and row.attempts == 0
    monkeypatch.undo()
    assert retry_due_events() == 1
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID


def test_on_a_worker_the_task_retries_with_backoff(client, fake, register, monkeypatch):
    register("roadwise_test.failing", lambda event: 1 / 0)
    deliver(
        client, fake.event("roadwise_test.failing", {"id": "x_2", "object": "thing"}), may_fail=True
    )
    row = StripeEvent.objects.get()
    task = tasks.stripe_event_process
    countdowns = []

    class Retried(Exception):
        pass

    def retry(countdown=None, **kwargs):
        countdowns.append(countdown)
        return Retried()

    monkeypatch.setattr(task, "retry", retry)
    for retries in (0, 3, task.max_retries):
        task.push_request(is_eager=False, retries=retries)
        try:
            if retries < task.max_retries:
                with pytest.raises(Retried):
                    task.run(row.pk)
            else:
                assert task.run(row.pk) is False  # left to stripe_events_retry
        finally:
            task.pop_request()
    assert countdowns == [30, 240]
    row.refresh_from_db()
    assert row.attempts == 4 and "ZeroDivisionError" in row.last_error


# --- alerts for operators -------------------------------------------------------------------


def test_a_paid_amount_other_than_the_price_alerts_an_operator(client, fake):
    payment = _start()
    fake._objects[payment.session_id]["amount_total"] = 100  # a promotion code we never offer
    event = fake.complete_checkout(payment.session_id)
    deliver(client, event)
    deliver(client, event)
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.PAID  # the money arrived
    [alert] = PaymentAlert.objects.all()
    assert alert.kind == PaymentAlert.Kind.AMOUNT_MISMATCH
    assert alert.reference == str(payment.public_id) and alert.amount_fen == 100
    assert f"but {payment.amount_fen} CNY was asked" in alert.message


def test_operators_see_alerts_on_the_dashboard_and_resolve_them(client, db, admin_in_english):
    from tests.factories import AuthorFactory, OperatorFactory

    alert = payments.payment_alert(
        PaymentAlert.Kind.PAYOUT_DELAYED, "payout-1", "Payout payout-1 is stuck.", amount_fen=500
    )
    assert payments.payment_alert(PaymentAlert.Kind.PAYOUT_DELAYED, "payout-1", "again") == alert
    assert PaymentAlert.objects.count() == 1

    operator = OperatorFactory()
    client.force_login(operator)
    dashboard = client.get("/admin/").content.decode()
    assert "data-payment-alerts-panel" in dashboard and "1 payment alert is waiting" in dashboard
    page = client.get("/admin/stripe/").content.decode()
    assert "Payout payout-1 is stuck." in page and "data-payment-alerts" in page

    url = f"/admin/stripe/alerts/{alert.pk}/resolve/"
    response = client.post(url, {"resolution": "  "}, follow=True)
    assert "Say what was done about it." in response.content.decode()
    alert.refresh_from_db()
    assert alert.resolved_at is None
    response = client.post(url, {"resolution": "Sent by hand after Stripe's outage."}, follow=True)
    assert "The alert is marked resolved." in response.content.decode()
    alert.refresh_from_db()
    assert alert.resolved_by == operator and alert.resolution.startswith("Sent by hand")
    response = client.post(url, {"resolution": "twice"}, follow=True)
    assert "already resolved" in response.content.decode()
    assert "data-payment-alerts-panel" not in client.get("/admin/").content.decode()
    assert "Nothing needs an operator." in client.get("/admin/stripe/").content.decode()

    client.force_login(AuthorFactory(is_staff=True))
    assert client.post(url, {"resolution": "x"}).status_code in (302, 403)
    assert "data-payment-alerts-panel" not in client.get("/admin/").content.decode()
