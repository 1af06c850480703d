"""The demo leaves the demo platform funded, three drivers linked and a month of events."""

import pytest
from django.core.management import call_command

from cms.models import Organization
from rewards import ledger
from rewards.models import DriverLink, ServiceEvent

pytestmark = pytest.mark.django_db


def test_the_demo_links_drivers_funds_the_platform_and_sends_last_months_events(settings):
    settings.DEMO_SEEDERS = [
        "courses.demo.seed_demo",
        "credentials.demo.seed_demo",
        "rewards.demo.seed_demo",
    ]
    call_command("seed_demo", verbosity=0)
    platform = Organization.objects.get(slug="kuaixing")
    assert DriverLink.objects.filter(platform=platform, unlinked_at=None).count() == 3
    funding = ledger.balance(ledger.platform_funding_account(platform))
    assert 0 < funding < 5_000_000  # deposited, then last month's rewards paid
    wang = ServiceEvent.objects.filter(driver__mobile="+8613900000001")
    assert wang.filter(kind="trip").count() == 124
    assert wang.filter(kind="rating").count() == 124
    assert ServiceEvent.objects.filter(kind="complaint", outcome="upheld").count() == 1
    counts = ServiceEvent.objects.count()
    call_command("seed_demo", verbosity=0)
    assert ServiceEvent.objects.count() == counts
    assert ledger.balance(ledger.platform_funding_account(platform)) == funding
    assert ledger.check_invariants() == []


def test_the_demo_runs_last_months_rewards_with_explanations(settings):
    from rewards.models import RewardLine, RewardRun

    settings.DEMO_SEEDERS = [
        "courses.demo.seed_demo",
        "credentials.demo.seed_demo",
        "rewards.demo.seed_demo",
    ]
    call_command("seed_demo", verbosity=0)
    run = RewardRun.objects.get()
    assert run.status == "finished"
    lines = RewardLine.objects.select_related("driver", "rule_version")
    by_driver = {}
    for line in lines:
        by_driver.setdefault(line.driver.mobile, set()).add(line.rule_version.kind)
        assert line.transaction_id is not None
        assert line.explanation
    assert by_driver["+8613900000001"] == {"quality", "safety", "skill_allowance"}
    assert "quality" not in by_driver.get("+8613900000004", set())  # an upheld complaint
    assert "skill_allowance" not in by_driver.get("+8613900000002", set())  # revoked
    paid = sum(line.amount_fen for line in lines)
    platform = Organization.objects.get(slug="kuaixing")
    assert ledger.balance(ledger.platform_funding_account(platform)) == 5_000_000 - paid
    call_command("seed_demo", verbosity=0)
    assert RewardLine.objects.count() == len(lines)
    assert ledger.check_invariants() == []
