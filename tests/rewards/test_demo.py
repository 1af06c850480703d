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
    assert ledger.balance(ledger.platform_funding_account(platform)) == 5_000_000
    wang = ServiceEvent.objects.filter(driver__mobile="+8613900000001")
    assert wang.filter(kind="trip").count() == 124
    assert wang.filter(kind="rating").count() == 124
    assert ServiceEvent.objects.filter(kind="complaint", outcome="upheld").count() == 1
    counts = ServiceEvent.objects.count()
    call_command("seed_demo", verbosity=0)
    assert ServiceEvent.objects.count() == counts
    assert ledger.balance(ledger.platform_funding_account(platform)) == 5_000_000
    assert ledger.check_invariants() == []
