"""Sponsored seats: operators create them in the admin; each code works once."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cms.models import Organization
from courses import services
from courses.models import SeatPool, Voucher
from tests.courses.builders import build_course
from tests.factories import DriverFactory, OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform():
    return OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing")


def test_a_pool_has_as_many_distinct_unambiguous_codes_as_seats(platform):
    built = build_course(price_fen=19900)
    pool = services.seat_pool_create(sponsor=platform, course=built.course, seats=50)
    codes = list(pool.vouchers.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 50
    assert all(len(c) == 10 and not set(c) & set("01OI") for c in codes)


@pytest.mark.parametrize("seats", [0, -1, 10_001])
def test_a_pool_needs_a_sensible_number_of_seats(platform, seats):
    built = build_course()
    with pytest.raises(ValidationError):
        services.seat_pool_create(sponsor=platform, course=built.course, seats=seats)
    assert not SeatPool.objects.exists()


def test_a_school_cannot_sponsor_seats():
    built = build_course()
    with pytest.raises(ValidationError) as excinfo:
        services.seat_pool_create(sponsor=OrganizationFactory(), course=built.course, seats=3)
    assert excinfo.value.code == "sponsor_kind"


def test_an_operator_creates_seats_in_the_admin_and_downloads_the_codes(client, platform):
    built = build_course(price_fen=19900)
    client.force_login(OperatorFactory())
    response = client.post(
        reverse("seat-pools:add"),
        {"sponsor": platform.pk, "course": built.course.pk, "seats": 3},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    pool = SeatPool.objects.get()
    assert pool.vouchers.count() == 3
    listing = client.get(reverse("seat-pools:index")).content.decode()
    assert reverse("seat-pools:codes", args=[pool.pk]) in listing
    csv = client.get(reverse("seat-pools:codes", args=[pool.pk])).content.decode("utf-8-sig")
    assert sorted(csv.splitlines()[1:]) == sorted(
        f"{code}," for code in pool.vouchers.values_list("code", flat=True)
    )
    services.enrollment_create(
        user=DriverFactory(), course=built.course, voucher_code=pool.vouchers.first().code
    )
    assert Voucher.objects.filter(redeemed_at__isnull=False).count() == 1


def test_drivers_and_authors_cannot_see_seats(client, platform):
    built = build_course()
    pool = services.seat_pool_create(sponsor=platform, course=built.course, seats=1)
    client.force_login(DriverFactory())
    assert client.get(reverse("seat-pools:codes", args=[pool.pk])).status_code in (302, 403)
    assert client.get(reverse("seat-pools:index")).status_code == 302
