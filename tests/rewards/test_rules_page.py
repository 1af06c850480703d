"""Drivers read the reward rules of the platforms they are linked to: what is in effect, what
has been announced, and the rest rules; never a draft, never another platform's rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rewards import rules
from rewards.policy import platform_policy_update
from tests.rewards.test_tasks import earning_driver, platform_named

pytestmark = pytest.mark.django_db

QUALITY = {"min_trips": 100, "min_average_rating": "4.90", "max_upheld_complaints": 0}


def version(platform, kind, name, params, *, effective_from, amount_fen=None, publish=True):
    draft = rules.rule_version_create(
        platform=platform,
        kind=kind,
        name=name,
        params=params,
        amount_fen=amount_fen,
        effective_from=effective_from,
        notice_days=30,
    )
    if publish:
        rules.rule_version_publish(
            version=draft, actor=None, today=effective_from - timedelta(days=30)
        )
    return draft


@pytest.fixture
def today():
    return timezone.localdate(timezone.now(), rules.CHINA)


def test_a_driver_sees_rules_in_effect_announced_and_the_rest_rules(client, today):
    platform = platform_named("kuaixing")
    other = platform_named("other")
    driver = earning_driver(platform, 1)
    version(platform, "quality", "Five-star month", QUALITY, amount_fen=30_000,
            effective_from=today.replace(day=1))  # fmt: skip
    version(platform, "tier", "Tiers", {"tiers": [
        {"name": "Gold", "min_trips": 100, "min_average_rating": "4.80", "amount_fen": 15_000}
    ]}, effective_from=today + timedelta(days=45))  # fmt: skip
    version(platform, "safety", "Secret draft", {"min_trips": 1, "max_incidents": 0},
            amount_fen=100, effective_from=today + timedelta(days=60), publish=False)  # fmt: skip
    version(other, "safety", "Other platform's rule", {"min_trips": 1, "max_incidents": 0},
            amount_fen=100, effective_from=today.replace(day=1))  # fmt: skip
    platform_policy_update(platform=platform, actor=None, daily_cap_minutes=540, notice_days=None)
    client.force_login(driver)

    page = client.get("/en/rewards/rules/").content.decode()

    assert "Five-star month" in page
    assert "¥300.00 for a month with at least 100 trips" in page
    assert "Tiers" in page and "Gold (at least 100 trips, rating 4.80 or more) ¥150.00" in page
    effective = (today + timedelta(days=45)).isoformat()
    assert f"From {effective}:" in page
    assert "Secret draft" not in page
    assert "Other platform" not in page
    assert "after 4 hours of driving without a 20-minute break, or beyond 9 hours" in page


def test_without_a_link_the_page_says_so_and_anonymous_visitors_sign_in(client):
    from tests.factories import DriverFactory

    response = client.get("/en/rewards/rules/")
    assert response.status_code == 302
    client.force_login(DriverFactory())
    assert (
        "You have not linked a platform yet." in client.get("/en/rewards/rules/").content.decode()
    )


def test_the_page_is_in_chinese_by_default(client, today):
    platform = platform_named("kuaixing")
    driver = earning_driver(platform, 1)
    version(platform, "quality", "优质服务", QUALITY, amount_fen=30_000,
            effective_from=today.replace(day=1))  # fmt: skip
    client.force_login(driver)
    page = client.get("/rewards/rules/").content.decode()
    assert "奖励规则" in page
    assert "优质服务" in page
