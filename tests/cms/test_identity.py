import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from cms.models import Organization, User
from cms.phone import mask_mobile, normalize_mobile
from tests.factories import (
    AuthorFactory,
    DriverFactory,
    OperatorFactory,
    OrganizationFactory,
    PlatformStaffFactory,
)


@pytest.mark.parametrize(
    "typed",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678"],
)
def test_a_mobile_number_is_stored_in_one_form_however_it_is_typed(typed):
    assert normalize_mobile(typed) == "+8613812345678"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("hello", "invalid"),
        ("1381234567", "invalid"),  # one digit short
        ("12812345678", "invalid"),  # no such mobile prefix
        ("010 6552 9988", "not_mobile"),  # a Beijing landline cannot receive SMS
    ],
)
def test_a_bad_mobile_number_gets_a_clear_error(typed, code):
    with pytest.raises(ValidationError) as excinfo:
        normalize_mobile(typed)
    assert excinfo.value.code == code


def test_numbers_of_other_countries_are_accepted_in_international_form():
    assert normalize_mobile("+44 7911 123456") == "+447911123456"


def test_a_masked_number_hides_the_middle():
    assert mask_mobile("+8613812345678") == "+86 138****5678"


@pytest.mark.django_db
def test_create_user_normalises_the_mobile_and_rejects_a_second_account():
    user = User.objects.create_user(mobile="138 1234 5678", password="pw-long-enough")
    assert user.mobile == "+8613812345678"
    with pytest.raises(ValidationError):
        User.objects.create_user(mobile="+86 13812345678", password="pw-long-enough")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_email_is_optional_but_unique_when_given():
    DriverFactory(email="")
    DriverFactory(email="")
    DriverFactory(email="wang@example.com")
    with pytest.raises(IntegrityError):
        DriverFactory(email="wang@example.com")


@pytest.mark.django_db
def test_roles_follow_organisation_kind_and_staff_flag():
    assert DriverFactory().role == User.Role.DRIVER
    assert AuthorFactory().role == User.Role.AUTHOR
    carmaker = OrganizationFactory(kind=Organization.Kind.CARMAKER)
    assert AuthorFactory(organization=carmaker).role == User.Role.AUTHOR
    assert PlatformStaffFactory().role == User.Role.PLATFORM_STAFF
    assert OperatorFactory().role == User.Role.OPERATOR


@pytest.mark.django_db
def test_sign_in_works_with_the_number_as_a_driver_types_it():
    user = DriverFactory(mobile="+8613812345678")
    assert authenticate(username="138 1234 5678", password="correct-horse-battery") == user
    assert authenticate(username="13812345678", password="wrong") is None
    assert authenticate(username="not a number", password="correct-horse-battery") is None


@pytest.mark.django_db
def test_an_unknown_time_zone_is_refused():
    user = DriverFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    assert "timezone" in excinfo.value.message_dict


@pytest.mark.django_db
def test_organisation_name_follows_the_active_language():
    from django.utils import translation

    org = OrganizationFactory(name="鹏城交通职业技术学院", name_en="Pengcheng College")
    with translation.override("zh-hans"):
        assert str(org) == "鹏城交通职业技术学院"
    with translation.override("en"):
        assert str(org) == "Pengcheng College"
