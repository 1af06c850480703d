"""Platform and carmaker staff buy sponsored seats in the admin through Stripe Checkout (the
local fake): the codes exist once the webhook confirms the payment, once; each sponsor sees
only its own purchases; a full refund withdraws the codes nobody used."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from cms.models import CheckoutPayment, Organization
from cms.payments import PaymentsNotConfigured, checkout_paid
from courses import admin_seats, services
from courses.models import Enrollment, SeatPool, Voucher
from tests.courses.builders import build_course
from tests.factories import (
    AuthorFactory,
    DriverFactory,
    OperatorFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.payments import deliver, payments_on, stripe_fake  # noqa: F401

pytestmark = pytest.mark.django_db
PRICE = 19900
INDEX = "seat_purchases:index"
BUY = "seat_purchases:buy"


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments configured against the local Stripe fake."""
    return payments_on


def t(text: str) -> str:
    """What the site says in its default language (strings not yet translated: English)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def admin_user(**kwargs):
    user = UserFactory(**kwargs)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


@pytest.fixture
def platform():
    return OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing", name="快行出行")


@pytest.fixture
def staff(platform):
    return admin_user(organization=platform)


@pytest.fixture
def paid():
    return build_course(title="新能源车安全", price_fen=PRICE)


def buy_seats(client, course, seats) -> CheckoutPayment:
    response = client.post(reverse(BUY), {"course": course.pk, "seats": seats})
    assert response.status_code == 303, response.content.decode()[:3000]
    payment = CheckoutPayment.objects.get(purpose="seats", session_url=response["Location"])
    return payment


def pay(client, fake, payment) -> dict:
    event = fake.complete_checkout(payment.session_id, payment_method_type="card")
    deliver(client, event)
    return event


def paid_seats(client, fake, course, seats) -> tuple[CheckoutPayment, SeatPool]:
    payment = buy_seats(client, course, seats)
    pay(client, fake, payment)
    return payment, SeatPool.objects.get(payment=payment)


def test_staff_buy_seats_and_get_codes_once_paid(client, fake, staff, platform, paid):
    client.force_login(staff)
    page = client.get(reverse(BUY))
    assert page.status_code == 200
    assert list(page.context["form"].fields["course"].queryset) == [paid.course]

    payment = buy_seats(client, paid.course, 3)
    assert (payment.quantity, payment.amount_fen, payment.currency) == (3, 3 * PRICE, "CNY")
    assert payment.organization == platform and payment.user == staff
    assert payment.metadata == {"course": str(paid.course.pk), "seats": "3"}
    session = fake.get(payment.session_id)
    assert (session["amount_total"], session["currency"]) == (3 * PRICE, "cny")
    [item] = fake.client().v1.checkout.sessions.line_items.list(payment.session_id).data
    assert (item.quantity, item.price.unit_amount) == (3, PRICE)

    # Before the webhook: listed as waiting, no codes.
    assert not SeatPool.objects.exists()
    listing = client.get(reverse(INDEX)).content.decode()
    assert f'data-purchase="{payment.public_id}" data-status="pending"' in listing
    detail_url = reverse("seat_purchases:detail", args=[payment.public_id])
    assert "data-waiting" in client.get(detail_url).content.decode()

    event = pay(client, fake, payment)
    pool = SeatPool.objects.get()
    assert (pool.payment, pool.sponsor, pool.seats) == (payment, platform, 3)
    assert pool.course == paid.course
    codes = sorted(pool.vouchers.values_list("code", flat=True))
    assert len(codes) == 3

    # Replays create nothing more.
    deliver(client, event)
    checkout_paid.send(sender=CheckoutPayment, payment=payment)
    assert SeatPool.objects.count() == 1 and Voucher.objects.count() == 3

    detail = client.get(detail_url).content.decode()
    assert all(f'data-code="{code}" data-state="unredeemed"' in detail for code in codes)
    csv = client.get(reverse("seat_purchases:codes", args=[payment.public_id]))
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join([t("code"), t("state"), t("redeemed at")])
    assert sorted(lines[1:]) == [f"{code},{t('not redeemed')}," for code in codes]

    # Coming back from Stripe lands on the purchase.
    back = reverse("seat_purchases:return") + f"?session_id={payment.session_id}"
    assert client.get(back)["Location"] == detail_url


def test_a_code_works_once(client, fake, staff, paid):
    client.force_login(staff)
    payment, pool = paid_seats(client, fake, paid.course, 2)
    code = pool.vouchers.first().code
    driver = DriverFactory()
    client.force_login(driver)
    response = client.post(reverse("courses:enrol", args=[paid.course.pk]), {"voucher_code": code})
    assert response["Location"] == paid.reading.url
    assert Enrollment.objects.get(user=driver).source == Enrollment.Source.VOUCHER
    client.force_login(DriverFactory())
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=DriverFactory(), course=paid.course, voucher_code=code)
    assert excinfo.value.code == "voucher_used"
    client.force_login(staff)
    detail = client.get(reverse("seat_purchases:detail", args=[payment.public_id])).content
    assert f'data-code="{code}" data-state="redeemed"' in detail.decode()


def test_a_full_refund_withdraws_the_unused_codes(client, fake, staff, paid):
    client.force_login(staff)
    payment, pool = paid_seats(client, fake, paid.course, 3)
    used, unused, other = pool.vouchers.order_by("code")
    keeper = DriverFactory()
    services.enrollment_create(user=keeper, course=paid.course, voucher_code=used.code)

    payment.refresh_from_db()
    fake.client().v1.refunds.create({"payment_intent": payment.payment_intent_id})
    deliver(client, fake.events("charge.refunded")[-1])

    assert set(pool.vouchers.filter(voided_at__isnull=False)) == {unused, other}
    used.refresh_from_db()
    assert used.voided_at is None and used.redeemed_by == keeper
    assert Enrollment.objects.get(user=keeper).status == Enrollment.Status.ACTIVE

    late = DriverFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.enrollment_create(user=late, course=paid.course, voucher_code=unused.code)
    assert excinfo.value.code == "voucher_withdrawn"
    assert not Enrollment.objects.filter(user=late).exists()
    client.force_login(late)
    response = client.post(
        reverse("courses:enrol", args=[paid.course.pk]), {"voucher_code": other.code}, follow=True
    )
    withdrawn = t("That code was withdrawn: its seats were refunded to the sponsor.")
    assert withdrawn in response.content.decode()

    client.force_login(staff)
    detail = client.get(reverse("seat_purchases:detail", args=[payment.public_id])).content
    assert f'data-code="{unused.code}" data-state="withdrawn"' in detail.decode()


def test_a_partial_refund_keeps_the_codes(client, fake, staff, paid):
    client.force_login(staff)
    payment, pool = paid_seats(client, fake, paid.course, 2)
    payment.refresh_from_db()
    fake.client().v1.refunds.create({"payment_intent": payment.payment_intent_id, "amount": PRICE})
    deliver(client, fake.events("charge.refunded")[-1])
    assert not pool.vouchers.filter(voided_at__isnull=False).exists()


def test_another_sponsor_cannot_see_the_purchase(client, fake, staff, paid):
    client.force_login(staff)
    payment, _pool = paid_seats(client, fake, paid.course, 1)
    carmaker = OrganizationFactory(kind=Organization.Kind.CARMAKER, slug="yuanhang")
    client.force_login(admin_user(organization=carmaker))
    listing = client.get(reverse(INDEX))
    assert listing.status_code == 200
    assert str(payment.public_id) not in listing.content.decode()
    for name in ("seat_purchases:detail", "seat_purchases:codes"):
        assert client.get(reverse(name, args=[payment.public_id])).status_code == 404
    back = reverse("seat_purchases:return") + f"?session_id={payment.session_id}"
    assert client.get(back).status_code == 404
    # Operators see every sponsor's purchases, read-only.
    client.force_login(OperatorFactory())
    assert str(payment.public_id) in client.get(reverse(INDEX)).content.decode()
    assert client.get(reverse("seat_purchases:detail", args=[payment.public_id])).status_code == 200


def test_drivers_and_authors_get_no_menu_and_are_refused(rf, client, staff, paid):
    item = admin_seats.register_seat_purchase_menu_item()
    school_author = admin_user(organization=OrganizationFactory())
    carmaker_staff = admin_user(
        organization=OrganizationFactory(kind=Organization.Kind.CARMAKER, slug="yh")
    )
    inactive = admin_user(
        organization=OrganizationFactory(kind=Organization.Kind.PLATFORM, is_active=False)
    )

    def shown(user):
        request = rf.get("/admin/")
        request.user = user
        return item.is_shown(request)

    assert shown(staff) and shown(carmaker_staff)
    assert not shown(school_author) and not shown(DriverFactory()) and not shown(inactive)
    assert not shown(AuthorFactory())

    client.force_login(DriverFactory())
    response = client.get(reverse(INDEX))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    for user in (school_author, inactive):
        client.force_login(user)
        for url in (reverse(INDEX), reverse(BUY)):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"] == reverse("wagtailadmin_home")
        response = client.post(reverse(BUY), {"course": paid.course.pk, "seats": 1})
        assert response.status_code == 302
    assert not CheckoutPayment.objects.exists()
    # Operators have their own "Sponsored seats"; they buy nothing here.
    client.force_login(OperatorFactory())
    assert client.get(reverse(BUY)).status_code == 302


@pytest.mark.parametrize("seats", [0, 501, ""])
def test_seats_between_1_and_500(client, fake, staff, paid, seats):
    client.force_login(staff)
    response = client.post(reverse(BUY), {"course": paid.course.pk, "seats": seats})
    assert response.status_code == 200
    assert response.context["form"].errors["seats"]
    assert not CheckoutPayment.objects.exists()


def test_free_courses_need_no_seats(client, fake, staff):
    free = build_course(title="免费课")
    client.force_login(staff)
    page = client.get(reverse(BUY))
    assert free.course not in page.context["form"].fields["course"].queryset
    assert (
        t(
            "Paid courses only: drivers enrol in a free course without a code, so its seats need "
            "no payment."
        )
        in page.content.decode()
    )
    response = client.post(reverse(BUY), {"course": free.course.pk, "seats": 2})
    assert response.status_code == 200 and response.context["form"].errors["course"]
    assert not CheckoutPayment.objects.exists()


def test_without_payments_seats_cannot_be_bought(client, staff, paid):
    client.force_login(staff)
    page = client.get(reverse(BUY)).content.decode()
    assert "data-payments-not-configured" in page
    response = client.post(reverse(BUY), {"course": paid.course.pk, "seats": 2})
    assert response.status_code == 200
    with translation.override("zh-hans"):
        expected = str(PaymentsNotConfigured())
    assert response.context["form"].non_field_errors() == [expected]
    assert not CheckoutPayment.objects.exists() and not SeatPool.objects.exists()


def test_stripe_failing_says_so_and_makes_no_seats(client, fake, staff, paid):
    fake.fail_next("POST", "/v1/checkout/sessions")
    client.force_login(staff)
    response = client.post(reverse(BUY), {"course": paid.course.pk, "seats": 2})
    assert response.status_code == 200
    assert len(response.context["form"].non_field_errors()) == 1
    assert CheckoutPayment.objects.get().status == "failed"
    assert not SeatPool.objects.exists()
