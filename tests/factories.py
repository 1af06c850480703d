"""Factories for the whole suite, in one place."""

import factory
from factory.django import DjangoModelFactory

from cms.models import Organization, User


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    kind = Organization.Kind.SCHOOL
    name = factory.Sequence(lambda n: f"测试职业学校{n}")
    name_en = factory.Sequence(lambda n: f"Test Vocational School {n}")
    slug = factory.Sequence(lambda n: f"test-org-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    mobile = factory.Sequence(lambda n: f"+86137{n:08d}")
    display_name = factory.Sequence(lambda n: f"司机{n}")
    password = factory.django.Password("correct-horse-battery")


class DriverFactory(UserFactory):
    pass


class AuthorFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)


class PlatformStaffFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.PLATFORM)


class OperatorFactory(UserFactory):
    is_staff = True
    is_superuser = True
