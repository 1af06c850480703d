"""Shared by the fuzz tests: how many examples to run, and a platform with realistic data."""

import os

import pytest
from django.utils import translation
from hypothesis import HealthCheck, settings

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from credentials import services as credentials
from rewards import services as rewards
from rewards.ledger import external_account, platform_funding_account, post_transaction
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory


def examples(default: int) -> int:
    """Examples per test (per operation for the API): ``default`` in the normal suite,
    FUZZ_EXAMPLES for a long run (e.g. FUZZ_EXAMPLES=500)."""
    return int(os.environ.get("FUZZ_EXAMPLES") or default)


def fuzz_settings(default: int, **overrides) -> settings:
    """Reproducible: derandomized (the same examples on every run, as in CI), no deadline (a
    database round trip is slow on a shared machine), and no example database."""
    return settings(
        max_examples=examples(default),
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **overrides,
    )


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class World:
    """A platform as it is after a few weeks: drivers linked (one of them granted consent and
    holds a certificate), funding deposited, events and an award received, a webhook."""

    def __init__(self):
        self.platform = Organization.objects.create(
            kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
        )
        self.other = Organization.objects.create(
            kind=Organization.Kind.PLATFORM, name="滴达出行", name_en="Dida", slug="dida"
        )
        school = Organization.objects.create(
            kind=Organization.Kind.SCHOOL, name="鹏城交通职业学院", slug="pengcheng"
        )
        self.drivers = []
        for number, ref in ((1, "KX-1001"), (2, "KX-1002")):
            driver = DriverFactory(mobile=f"+861390000000{number}", display_name=f"司机{number}")
            request = rewards.link_request_create(
                platform=self.platform, mobile=driver.mobile, platform_driver_id=ref
            )
            rewards.link_request_decide(request=request, driver=driver, approve=True)
            self.drivers.append(driver)
        holder = self.drivers[0]
        credentials.consent_grant(holder=holder, platform=self.platform)
        built = build_course(organization=school, title="新能源汽车安全")
        self.credential = credentials.credential_issue(completion=complete_course(holder, built))
        post_transaction(
            idempotency_key="fuzz-deposit",
            kind="deposit",
            legs=[
                (platform_funding_account(self.platform), 10_000_000),
                (external_account(), -10_000_000),
            ],
        )
        self.key, self.raw_key = platform_api_key_create(organization=self.platform, name="fuzz")
        _other_key, self.other_raw_key = platform_api_key_create(
            organization=self.other, name="fuzz"
        )


@pytest.fixture
def world(db):
    return World()
