"""A driver buys a paid course through Stripe Checkout (the local fake): the place opens
only when Stripe's webhook confirms the payment, once; expiry and full refunds take it
away, a partial refund does not."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone, translation

from cms.models import CheckoutPayment, Organization, PaymentAlert
from cms.payments import PaymentsNotConfigured, checkout_paid
from courses import payments, services
from courses.models import Completion, Enrollment, SeatPool, Voucher
from tests.courses.builders import build_course
from tests.courses.test_learning import right_answers
from tests.factories import DriverFactory, OrganizationFactory
from tests.payments import deliver, payments_on, stripe_fake  # noqa: F401

pytestmark = pytest.mark.django_db
PRICE = 9900


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments configured against the local Stripe fake."""
    return payments_on


def t(text: str) -> str:
    """What the site says in its default language (strings not yet translated: English)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


@pytest.fixture
def paid():
    return build_course(title="乘客服务礼仪", price_fen=PRICE)


@pytest.fixture
def driver(client):
    user = DriverFactory()
    client.force_login(user)
    return user


def not_configured() -> str:
    with translation.override("zh-hans"):
        return str(PaymentsNotConfigured())


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def buy(client, course):
    """POST the buy button; returns (response, the payment it started or None)."""
    before = set(CheckoutPayment.objects.values_list("pk", flat=True))
    response = client.post(reverse("courses:purchase", args=[course.pk]))
    started = CheckoutPayment.objects.exclude(pk__in=before).first()
    return response, started


def bought(client, course) -> CheckoutPayment:
    response, payment = buy(client, course)
    assert response.status_code == 303, _messages(response)
    assert response["Location"] == payment.session_url
    return payment


def pay(client, fake, payment) -> dict:
    event = fake.complete_checkout(payment.session_id, payment_method_type="alipay")
    deliver(client, event)
    return event


def refund(client, fake, payment, amount=None):
    payment.refresh_from_db()
    params = {"payment_intent": payment.payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    fake.client().v1.refunds.create(params)
    deliver(client, fake.events("charge.refunded")[-1])
    payment.refresh_from_db()


def enrollment_of(user, built) -> Enrollment | None:
    return Enrollment.objects.filter(user=user, course=built.course).first()


def test_buying_starts_a_checkout_for_the_price_and_waits(client, fake, paid, driver):
    page = client.get(paid.course.url).content.decode()
    assert 'data-purchase="buy"' in page
    assert t("Buy for %(price)s") % {"price": "¥99.00"} in page

    payment = bought(client, paid.course)
    enrollment = enrollment_of(driver, paid)
    assert enrollment.status == Enrollment.Status.PENDING_PAYMENT
    assert enrollment.source == Enrollment.Source.PURCHASE
    assert enrollment.payment == payment
    assert payment.purpose == "course" and payment.reference == str(enrollment.public_id)
    assert (payment.amount_fen, payment.currency, payment.user) == (PRICE, "CNY", driver)

    session = fake.get(payment.session_id)
    assert session["amount_total"] == PRICE and session["currency"] == "cny"
    assert session["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert session["mode"] == "payment" and session["status"] == "open"
    assert session["metadata"]["reference"] == str(enrollment.public_id)
    assert "{CHECKOUT_SESSION_ID}" in session["success_url"]
    [item] = fake.client().v1.checkout.sessions.line_items.list(payment.session_id).data
    assert (item.description, item.quantity, item.amount_total) == ("乘客服务礼仪", 1, PRICE)

    # The course page says it is waiting, and the lessons stay closed.
    page = client.get(paid.course.url).content.decode()
    assert 'data-purchase="pending"' in page
    assert client.get(paid.reading.url)["Location"] == paid.course.url


def test_coming_back_from_stripe_does_not_open_the_course(client, fake, paid, driver):
    payment = bought(client, paid.course)
    session = fake.get(payment.session_id)
    back = urlsplit(session["success_url"].replace("{CHECKOUT_SESSION_ID}", payment.session_id))
    response = client.get(f"{back.path}?{back.query}")
    status_url = reverse("courses:purchase_status", args=[payment.public_id])
    assert response.status_code == 302 and response["Location"] == status_url

    page = client.get(status_url)
    assert page.context["state"] == "waiting"
    html = page.content.decode()
    assert 'data-purchase-state="waiting"' in html and 'http-equiv="refresh"' in html
    assert enrollment_of(driver, paid).status == Enrollment.Status.PENDING_PAYMENT
    assert client.get(paid.reading.url).status_code == 302
    response = client.post(reverse("courses:lesson_complete", args=[paid.reading.pk]))
    assert t("Enrol in the course first.") in _messages(response)


def test_the_webhook_opens_the_course_once_however_often_it_arrives(client, fake, paid, driver):
    payment = bought(client, paid.course)
    saves = []

    def count(sender, instance, **kwargs):
        saves.append(instance.status)

    post_save.connect(count, sender=Enrollment, weak=False)
    try:
        event = pay(client, fake, payment)
        deliver(client, event)
        deliver(client, event)
        checkout_paid.send(sender=CheckoutPayment, payment=payment)  # a replayed signal
    finally:
        post_save.disconnect(count, sender=Enrollment)
    assert saves == [Enrollment.Status.ACTIVE]
    enrollment = enrollment_of(driver, paid)
    assert (enrollment.status, enrollment.payment) == (Enrollment.Status.ACTIVE, payment)
    assert Enrollment.objects.count() == 1

    page = client.get(reverse("courses:purchase_status", args=[payment.public_id]))
    assert page.context["state"] == "paid"
    assert t("Start studying") in page.content.decode()
    assert client.get(paid.reading.url).status_code == 200
    # Bought once is enough: buying again is refused and starts nothing.
    response, started = buy(client, paid.course)
    assert started is None and response["Location"] == paid.course.url
    assert t("You are already enrolled in this course.") in _messages(response)


def test_buying_again_while_waiting_resumes_the_same_session(client, fake, paid, driver):
    first = bought(client, paid.course)
    response, started = buy(client, paid.course)
    assert started is None
    assert response.status_code == 303 and response["Location"] == first.session_url
    assert CheckoutPayment.objects.count() == 1


def test_an_expired_checkout_cancels_and_the_course_can_be_bought_again(client, fake, paid, driver):
    payment = bought(client, paid.course)
    deliver(client, fake.expire_checkout(payment.session_id))
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED
    page = client.get(reverse("courses:purchase_status", args=[payment.public_id]))
    assert page.context["state"] == "expired"
    assert t("Try again") in page.content.decode()
    assert 'data-purchase="buy"' in client.get(paid.course.url).content.decode()

    second = bought(client, paid.course)
    assert second != payment and second.session_id != payment.session_id
    enrollment = enrollment_of(driver, paid)
    assert (enrollment.status, enrollment.payment) == ("pending_payment", second)
    # A late expiry of the first session changes nothing any more.
    payments.on_checkout_expired(sender=CheckoutPayment, payment=payment)
    assert enrollment_of(driver, paid).status == Enrollment.Status.PENDING_PAYMENT
    pay(client, fake, second)
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE


def test_a_full_refund_ends_access(client, fake, paid, driver):
    payment = bought(client, paid.course)
    pay(client, fake, payment)
    assert client.get(paid.reading.url).status_code == 200
    refund(client, fake, payment)
    assert payment.status == "refunded"
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED
    response = client.get(paid.reading.url)
    assert response.status_code == 302 and response["Location"] == paid.course.url
    response = client.post(reverse("courses:lesson_complete", args=[paid.reading.pk]))
    assert t("Enrol in the course first.") in _messages(response)
    answers = {f"q-{k}": v for k, v in right_answers(paid.quiz).items()}
    response = client.post(reverse("courses:quiz_submit", args=[paid.quiz.pk]), answers)
    assert t("Enrol in the course first.") in _messages(response)
    page = client.get(reverse("courses:purchase_status", args=[payment.public_id]))
    assert page.context["state"] == "refunded"
    # Refunded, the course may be bought again.
    assert bought(client, paid.course) != payment


def test_a_partial_refund_keeps_access(client, fake, paid, driver):
    payment = bought(client, paid.course)
    pay(client, fake, payment)
    refund(client, fake, payment, amount=2000)
    assert payment.status == "partially_refunded"
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE
    assert client.get(paid.reading.url).status_code == 200


def test_a_completed_course_refunded_keeps_its_completion(client, fake, paid, driver):
    payment = bought(client, paid.course)
    pay(client, fake, payment)
    services.lesson_complete(user=driver, lesson=paid.reading)
    services.quiz_attempt_submit(user=driver, lesson=paid.quiz, answers=right_answers(paid.quiz))
    assert enrollment_of(driver, paid).status == Enrollment.Status.COMPLETED
    refund(client, fake, payment)
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED
    assert Completion.objects.filter(user=driver, course=paid.course).exists()
    assert client.get(paid.reading.url).status_code == 302


def test_a_driver_enrolled_another_way_cannot_buy(client, fake, paid, driver):
    sponsor = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    pool = SeatPool.objects.create(sponsor=sponsor, course=paid.course, seats=1)
    voucher = Voucher.objects.create(pool=pool, code="SEATCODE01")
    services.enrollment_create(user=driver, course=paid.course, voucher_code=voucher.code)
    response, started = buy(client, paid.course)
    assert started is None
    assert t("You are already enrolled in this course.") in _messages(response)


def test_a_seat_code_replaces_a_purchase_still_waiting(client, fake, paid, driver):
    payment = bought(client, paid.course)
    sponsor = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    pool = SeatPool.objects.create(sponsor=sponsor, course=paid.course, seats=1)
    Voucher.objects.create(pool=pool, code="SEATCODE02")
    # A wrong code leaves the purchase waiting.
    client.post(reverse("courses:enrol", args=[paid.course.pk]), {"voucher_code": "NOPE"})
    assert enrollment_of(driver, paid).status == Enrollment.Status.PENDING_PAYMENT
    client.post(reverse("courses:enrol", args=[paid.course.pk]), {"voucher_code": "SEATCODE02"})
    enrollment = enrollment_of(driver, paid)
    assert (enrollment.status, enrollment.source) == ("active", "voucher")
    # Should the old session be paid after all, the place stays the seat's (a duplicate).
    pay(client, fake, payment)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.source, enrollment.payment) == ("active", "voucher", None)
    # Refunding that duplicate payment does not take away the place the seat gave.
    refund(client, fake, payment)
    assert payment.status == CheckoutPayment.Status.REFUNDED
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.source) == ("active", "voucher")


def test_a_double_tap_starts_one_checkout(client, fake, paid, driver):
    """The first tap has made the enrolment wait and is asking Stripe for a session; the
    second must not ask for another (the driver could pay both)."""
    Enrollment.objects.create(
        user=driver, course=paid.course, status="pending_payment", source="purchase"
    )
    with pytest.raises(ValidationError) as busy:
        payments.purchase_start(
            user=driver, course=paid.course, success_url="https://x/ok", cancel_url="https://x/no"
        )
    assert busy.value.code == "purchase_busy"
    assert not CheckoutPayment.objects.exists()
    # A start that died long ago does not block the driver for ever.
    Enrollment.objects.filter(user=driver).update(updated_at=timezone.now() - timedelta(minutes=5))
    payment = payments.purchase_start(
        user=driver, course=paid.course, success_url="https://x/ok", cancel_url="https://x/no"
    )
    assert payment.session_id and CheckoutPayment.objects.count() == 1


def test_only_the_buyer_sees_the_purchase(client, fake, paid, driver):
    payment = bought(client, paid.course)
    url = reverse("courses:purchase_status", args=[payment.public_id])
    assert client.get(url).status_code == 200
    client.force_login(DriverFactory())
    assert client.get(url).status_code == 404
    back = reverse("courses:purchase_return") + f"?session_id={payment.session_id}"
    assert client.get(back).status_code == 404
    client.logout()
    assert "/accounts/login/" in client.get(url)["Location"]


def test_without_payments_the_price_shows_and_nothing_is_bought(client, paid, driver):
    page = client.get(paid.course.url).content.decode()
    assert "¥99.00" in page
    assert 'data-purchase="not-configured"' in page
    notice = t(
        "This course costs %(price)s, but payments are not configured on this site, so it "
        "cannot be bought here."
    )
    assert notice % {"price": "¥99.00"} in page
    assert 'data-purchase="buy"' not in page
    response, started = buy(client, paid.course)
    assert started is None and response.status_code == 302
    assert _messages(response) == [not_configured()]
    assert not Enrollment.objects.exists() and not CheckoutPayment.objects.exists()


def test_stripe_failing_leaves_no_place_and_says_so(client, fake, paid, driver):
    fake.fail_next("POST", "/v1/checkout/sessions")
    response, payment = buy(client, paid.course)
    assert response.status_code == 302 and response["Location"] == paid.course.url
    [said] = _messages(response)  # the payment service's failure, in the driver's words
    assert said and said != not_configured()
    assert payment.status == "failed"
    assert not Enrollment.objects.filter(status__in=["active", "pending_payment"]).exists()
    assert client.get(paid.reading.url).status_code == 302
    # The next try works.
    payment = bought(client, paid.course)
    assert enrollment_of(driver, paid).status == Enrollment.Status.PENDING_PAYMENT


def test_free_courses_are_not_bought(client, fake, driver):
    free = build_course(title="免费课")
    response, started = buy(client, free.course)
    assert started is None
    assert t("This course is free: enrol without paying.") in _messages(response)
    assert not Enrollment.objects.exists()


# --- chargebacks (disputes) ----------------------------------------------------------------


def _dispute(client, fake, payment, *, close: str | None = None, reverse_order=False):
    payment.refresh_from_db()
    created = fake.dispute(payment.charge_id)
    dispute_id = created["data"]["object"]["id"]
    events = [created]
    if close:
        events.append(fake.close_dispute(dispute_id, close))
    for event in reversed(events) if reverse_order else events:
        deliver(client, event)
    payment.refresh_from_db()
    return dispute_id, events


def test_a_disputed_charge_alerts_an_operator_and_keeps_access_until_lost(
    client, fake, paid, driver
):
    from rewards.models import Transaction

    payment = bought(client, paid.course)
    pay(client, fake, payment)
    dispute_id, [created] = _dispute(client, fake, payment)
    [alert] = PaymentAlert.objects.all()
    assert (alert.kind, alert.reference, alert.amount_fen) == ("charge_disputed", dispute_id, PRICE)
    assert payment.status == CheckoutPayment.Status.PAID
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE

    lost = fake.close_dispute(dispute_id, "lost")
    deliver(client, lost)
    deliver(client, lost)
    deliver(client, {**lost, "id": "evt_lost_again"})
    deliver(client, created)  # a late redelivery of the first event
    payment.refresh_from_db()
    assert payment.status == CheckoutPayment.Status.REFUNDED
    assert payment.amount_refunded_fen == PRICE
    assert list(payment.refunds.values_list("refund_id", "amount_fen")) == [(dispute_id, PRICE)]
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED
    assert client.get(paid.reading.url).status_code == 302
    booked = Transaction.objects.get(idempotency_key=f"checkout-refund:{dispute_id}")
    assert booked.kind == Transaction.Kind.REFUND and booked.metadata["stripe_refund"] == dispute_id
    assert sorted(PaymentAlert.objects.values_list("kind", flat=True)) == [
        "charge_disputed",
        "dispute_lost",
    ]


def test_a_lost_dispute_arriving_before_its_creation_ends_the_same(client, fake, paid, driver):
    payment = bought(client, paid.course)
    pay(client, fake, payment)
    dispute_id, _events = _dispute(client, fake, payment, close="lost", reverse_order=True)
    assert payment.status == CheckoutPayment.Status.REFUNDED
    assert payment.refunds.get().refund_id == dispute_id
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED


def test_a_won_dispute_changes_nothing_and_reconciles(client, fake, paid, driver):
    from rewards.reconcile import reconcile

    payment = bought(client, paid.course)
    pay(client, fake, payment)
    dispute_id, _events = _dispute(client, fake, payment, close="won")
    assert payment.status == CheckoutPayment.Status.PAID and not payment.refunds.exists()
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE
    report = reconcile(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(minutes=1))
    assert report.differences == [], [d.as_line() for d in report.differences]


def test_a_lost_dispute_reconciles_and_an_open_one_is_reported(client, fake, paid, driver):
    from rewards.reconcile import MISSING_IN_LEDGER, reconcile

    payment = bought(client, paid.course)
    pay(client, fake, payment)
    dispute_id, _events = _dispute(client, fake, payment)

    def differences():
        now = timezone.now()
        report = reconcile(now - timedelta(hours=1), now + timedelta(minutes=1))
        return [(d.problem, d.source, d.stripe_amount) for d in report.differences]

    # Open: Stripe has taken the money, the ledger has not (yet): reported.
    assert differences() == [(MISSING_IN_LEDGER, dispute_id, -PRICE)]
    deliver(client, fake.close_dispute(dispute_id, "lost"))
    assert differences() == []


# --- sessions that are no longer offered ----------------------------------------------------


def test_checkout_sessions_expire_within_the_hour(client, fake, paid, driver):
    payment = bought(client, paid.course)
    session = fake.get(payment.session_id)
    lifetime = session["expires_at"] - session["created"]
    assert 55 * 60 <= lifetime <= 65 * 60


def test_an_old_waiting_session_is_closed_at_stripe_before_a_new_one_starts(
    client, fake, paid, driver
):
    first = bought(client, paid.course)
    CheckoutPayment.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - payments.SESSION_REUSE - timedelta(minutes=1)
    )
    second = bought(client, paid.course)
    assert second != first
    assert fake.get(first.session_id)["status"] == "expired"  # cannot be paid any more
    assert enrollment_of(driver, paid).payment == second
    deliver(client, fake.events("checkout.session.expired")[-1])
    first.refresh_from_db()
    assert first.status == CheckoutPayment.Status.EXPIRED
    assert enrollment_of(driver, paid).status == Enrollment.Status.PENDING_PAYMENT
    pay(client, fake, second)
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE
    assert CheckoutPayment.objects.filter(status="paid").count() == 1


def test_an_old_session_paid_meanwhile_starts_no_second_one(client, fake, paid, driver):
    first = bought(client, paid.course)
    CheckoutPayment.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - payments.SESSION_REUSE - timedelta(minutes=1)
    )
    completed = fake.complete_checkout(first.session_id, payment_method_type="card")
    response, started = buy(client, paid.course)  # before the webhook arrived
    assert started is None
    said = t(
        "Your earlier payment for this course went through or is under way. The course "
        "opens as soon as it is confirmed; you are not charged twice."
    )
    assert said in _messages(response)
    deliver(client, completed)
    enrollment = enrollment_of(driver, paid)
    assert (enrollment.status, enrollment.payment) == ("active", first)
    assert CheckoutPayment.objects.count() == 1


def test_stripe_unreachable_when_closing_an_old_session_starts_nothing(client, fake, paid, driver):
    first = bought(client, paid.course)
    CheckoutPayment.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - payments.SESSION_REUSE - timedelta(minutes=1)
    )
    fake.fail_next("POST", f"/v1/checkout/sessions/{first.session_id}/expire", status=500)
    response, started = buy(client, paid.course)
    assert started is None and CheckoutPayment.objects.count() == 1
    assert enrollment_of(driver, paid).status == Enrollment.Status.CANCELLED
    # The old session could still be paid: its webhook then opens the course.
    deliver(client, fake.complete_checkout(first.session_id, payment_method_type="card"))
    assert enrollment_of(driver, paid).status == Enrollment.Status.ACTIVE


def test_a_second_payment_for_a_course_already_paid_alerts_an_operator(client, fake, paid, driver):
    payment = bought(client, paid.course)
    sponsor = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    pool = SeatPool.objects.create(sponsor=sponsor, course=paid.course, seats=1)
    Voucher.objects.create(pool=pool, code="SEATCODE03")
    client.post(reverse("courses:enrol", args=[paid.course.pk]), {"voucher_code": "SEATCODE03"})
    event = pay(client, fake, payment)
    deliver(client, event)  # replayed
    [alert] = PaymentAlert.objects.all()
    assert alert.kind == PaymentAlert.Kind.DUPLICATE_PAYMENT
    assert alert.reference == str(payment.public_id) and alert.amount_fen == PRICE
    assert "refund it in Stripe" in alert.message
