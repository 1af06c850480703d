"""The demo leaves the demo platform funded, three drivers linked, a month of events, last
month's run with explanations (the fatigue guard and a tier among them), a one-off award and
an open dispute; running it again changes nothing."""

import pytest
from django.core.management import call_command

from cms.models import Organization
from rewards import ledger
from rewards.models import Award, Dispute, DriverLink, RewardLine, RewardRun, ServiceEvent

pytestmark = pytest.mark.django_db


def test_the_demo_runs_last_months_rewards_with_explanations_an_award_and_a_dispute(settings):
    settings.DEMO_SEEDERS = [
        "courses.demo.seed_demo",
        "credentials.demo.seed_demo",
        "rewards.demo.seed_demo",
    ]
    call_command("seed_demo", verbosity=0)
    platform = Organization.objects.get(slug="kuaixing")
    assert DriverLink.objects.filter(platform=platform, unlinked_at=None).count() == 3
    wang = ServiceEvent.objects.filter(driver__mobile="+8613900000001")
    assert wang.filter(kind="trip").count() == 128  # 124, and 4 late on one long day
    assert wang.filter(kind="rating").count() == 124
    assert ServiceEvent.objects.filter(kind="complaint", outcome="upheld").count() == 1

    run = RewardRun.objects.get()
    assert run.status == "finished"
    lines = list(RewardLine.objects.select_related("driver", "rule_version"))
    by_driver: dict[str, dict] = {}
    for line in lines:
        by_driver.setdefault(line.driver.mobile, {})[line.rule_version.kind] = line
        assert line.transaction_id is not None
    assert set(by_driver["+8613900000001"]) == {"quality", "safety", "tier", "skill_allowance"}
    quality = by_driver["+8613900000001"]["quality"].explanation
    assert quality["figures"]["trips"] == 124  # the 4 trips beyond the rest rules don't count
    assert quality["fatigue"]["excluded_trips"] == 4
    assert "did not count" in quality["sentence"]
    tier = by_driver["+8613900000001"]["tier"].explanation
    assert "Gold" in tier["sentence"]
    assert "quality" not in by_driver.get("+8613900000004", {})  # an upheld complaint
    assert "skill_allowance" not in by_driver.get("+8613900000002", {})  # revoked

    award = Award.objects.get()
    assert award.driver.mobile == "+8613900000002"
    assert award.transaction.kind == "award"
    dispute = Dispute.objects.get()
    assert dispute.status == "open"
    assert dispute.complaint.driver.mobile == "+8613900000004"

    paid = sum(line.amount_fen for line in lines) + award.amount_fen
    funding = ledger.balance(ledger.platform_funding_account(platform))
    assert funding == 5_000_000 - paid

    counts = (ServiceEvent.objects.count(), RewardLine.objects.count(), Dispute.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (
        ServiceEvent.objects.count(),
        RewardLine.objects.count(),
        Dispute.objects.count(),
    ) == counts
    assert Award.objects.count() == 1
    assert ledger.balance(ledger.platform_funding_account(platform)) == funding
    assert ledger.check_invariants() == []
