"""Driver tiers: the highest tier whose trips and average rating a driver reached pays its
amount; the explanation says which tier, and what is missing for the next one."""

from datetime import datetime

import pytest
from django.core.exceptions import ValidationError

from cms.models import Organization
from rewards import rules
from rewards.models import ServiceEvent
from tests.rewards.test_rules import CHINA, OCT_1, OCT_31, linked_driver, published, report

pytestmark = pytest.mark.django_db

SILVER = {"name": "Silver", "min_trips": 60, "min_average_rating": "4.70", "amount_fen": 5000}
GOLD = {"name": "Gold", "min_trips": 100, "min_average_rating": "4.80", "amount_fen": 15000}
PLATINUM = {"name": "Platinum", "min_trips": 150, "min_average_rating": "4.90", "amount_fen": 30000}
TIERS = {"tiers": [SILVER, GOLD, PLATINUM]}


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


def create(platform, params, amount_fen=None):
    return rules.rule_version_create(
        platform=platform,
        kind="tier",
        name="Driver tiers",
        params=params,
        amount_fen=amount_fen,
        effective_from=OCT_1,
    )


def refusal(platform, params, amount_fen=None) -> dict:
    with pytest.raises(ValidationError) as refused:
        create(platform, params, amount_fen)
    return refused.value.message_dict


def lines(platform, **options) -> dict:
    return {
        line["driver_id"]: line["explanation"]
        for line in rules.compute_lines(
            platform=platform, period_start=OCT_1, period_end=OCT_31, **options
        )
    }


# --- validation ----------------------------------------------------------------------------


def test_a_valid_tier_rule_is_accepted(platform):
    version = create(platform, TIERS)
    assert version.kind == "tier" and version.amount_fen is None
    create(platform, {"tiers": [{**GOLD, "min_average_rating": "5"}]}, amount_fen=0)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (None, "“tiers” is a list of 1 to 6 tiers"),
        ([], "“tiers” is a list of 1 to 6 tiers"),
        (
            [{**GOLD, "name": f"T{n}", "min_trips": n} for n in range(7)],
            "“tiers” is a list of 1 to 6 tiers",
        ),
        (["Gold"], "Tier 1 must be an object"),
        ([{**GOLD, "name": ""}], "Tier 1 needs a name of 1 to 50 characters."),
        ([{**GOLD, "name": "G" * 51}], "Tier 1 needs a name of 1 to 50 characters."),
        ([{k: v for k, v in GOLD.items() if k != "name"}], "Tier 1 needs a name"),
        (
            [SILVER, {**GOLD, "name": "Silver"}],
            "Tier 2 is named “Silver” like another tier; names are distinct.",
        ),
        ([{**GOLD, "min_trips": -1}], "Tier 1: “min_trips” must be a whole number"),
        ([{**GOLD, "min_trips": 10.5}], "Tier 1: “min_trips” must be a whole number"),
        ([{**GOLD, "min_trips": "100"}], "Tier 1: “min_trips” must be a whole number"),
        (
            [SILVER, {**GOLD, "min_trips": 60}],
            "Tier 2 needs more trips than tier 1 (60): “min_trips” increases from tier to tier.",
        ),
        (
            [GOLD, SILVER],
            "Tier 2 needs more trips than tier 1 (100)",
        ),
        ([{**GOLD, "min_average_rating": "great"}], "Tier 1: “min_average_rating” must be"),
        ([{**GOLD, "min_average_rating": "5.01"}], "Tier 1: “min_average_rating” must be"),
        ([{**GOLD, "min_average_rating": "0.9"}], "Tier 1: “min_average_rating” must be"),
        ([{**GOLD, "min_average_rating": "NaN"}], "Tier 1: “min_average_rating” must be"),
        ([{**GOLD, "amount_fen": 0}], "Tier 1: “amount_fen” must be a whole number of fen"),
        ([{**GOLD, "amount_fen": "100"}], "Tier 1: “amount_fen” must be a whole number of fen"),
        (
            [SILVER, {**GOLD, "amount_fen": 4999}],
            "Tier 2 pays less than tier 1 (5000 fen): a higher tier pays at least as much.",
        ),
        ([{**GOLD, "bonus": 1}], "Tier 1 has unknown keys: bonus."),
    ],
)
def test_each_mistake_in_the_tiers_is_named(platform, tiers, message):
    errors = refusal(platform, {"tiers": tiers})
    assert any(error.startswith(message) for error in errors["params"]), errors


def test_a_tier_rule_has_no_fixed_amount(platform):
    assert refusal(platform, TIERS, amount_fen=5000) == {
        "amount_fen": ["A tier rule pays each tier's own amount, not a fixed amount."]
    }


def test_equal_amounts_for_two_tiers_are_allowed(platform):
    create(platform, {"tiers": [SILVER, {**GOLD, "amount_fen": SILVER["amount_fen"]}]})


# --- computing -----------------------------------------------------------------------------


def test_the_highest_tier_reached_is_paid_and_the_next_one_is_explained(platform):
    version = published(platform, "tier", TIERS)
    gold = linked_driver(platform, 1)
    report(platform, gold, trips=132, ratings=[5] * 17 + [4] * 3)  # 4.85
    silver = linked_driver(platform, 2)  # enough trips for Gold, but not its rating
    report(platform, silver, trips=120, ratings=[5] * 15 + [4] * 5)  # 4.75
    platinum = linked_driver(platform, 3)
    report(platform, platinum, trips=150, ratings=[5] * 10)
    nothing = linked_driver(platform, 4)
    report(platform, nothing, trips=59, ratings=[5] * 10)
    close = linked_driver(platform, 5)  # 4.795: shown rounded as 4.80, but below 4.80
    report(platform, close, trips=100, ratings=[5] * 159 + [4] * 41)

    explained = lines(platform)
    assert {driver: e["amount_fen"] for driver, e in explained.items()} == {
        gold.pk: 15000,
        silver.pk: 5000,
        platinum.pk: 30000,
        close.pk: 5000,
    }
    explanation = explained[gold.pk]
    assert explanation["rule_version"]["id"] == version.pk
    assert explanation["figures"] == {"trips": 132, "ratings": 20, "average_rating": "4.85"}
    assert explanation["tier"] == GOLD
    assert explanation["thresholds"] == {"tiers": [SILVER, GOLD, PLATINUM]}
    assert explanation["next_tier"] == {
        **PLATINUM,
        "missing": {"trips": 18, "average_rating": "4.90"},
    }
    assert explanation["sentence"] == (
        "132 trips, average rating 4.85 from 20 ratings: tier Gold reached, 150.00 CNY (at "
        "least 100 trips and an average rating of at least 4.80). 18 more trips and an "
        "average rating of at least 4.90 (now 4.85) for Platinum."
    )
    assert explanation["events"]["trips"]["count"] == 132
    assert len(explanation["events"]["trips"]["ids"]) == 50
    assert explanation["events"]["ratings"]["count"] == 20
    assert explanation["fatigue"]["excluded_trips"] == 0

    assert explained[silver.pk]["tier"]["name"] == "Silver"
    assert explained[silver.pk]["sentence"].endswith(
        "An average rating of at least 4.80 (now 4.75) for Gold."
    )
    assert explained[silver.pk]["next_tier"]["missing"] == {"trips": 0, "average_rating": "4.80"}
    assert explained[platinum.pk]["next_tier"] is None
    assert explained[platinum.pk]["sentence"].endswith("This is the highest tier.")
    assert explained[close.pk]["tier"]["name"] == "Silver"
    assert explained[close.pk]["figures"]["average_rating"] == "4.80"

    unpaid = lines(platform, include_unpaid=True)[nothing.pk]
    assert unpaid["amount_fen"] == 0 and unpaid["tier"] is None
    assert unpaid["next_tier"]["missing"] == {"trips": 1, "average_rating": None}
    assert unpaid["sentence"] == (
        "59 trips, average rating 5.00 from 10 ratings: no tier reached (the first, Silver, "
        "needs 60 trips and an average rating of at least 4.70). 1 more trip for Silver."
    )


def test_the_next_tier_message_names_only_the_trips_when_the_rating_is_enough(platform):
    published(platform, "tier", TIERS)
    driver = linked_driver(platform, 1)
    report(platform, driver, trips=132, ratings=[5] * 20)
    explanation = lines(platform)[driver.pk]
    assert explanation["sentence"].endswith(" 18 more trips for Platinum.")


def test_trips_beyond_the_rest_rules_do_not_count_towards_a_tier(platform):
    published(platform, "tier", TIERS)
    driver = linked_driver(platform, 1)
    report(platform, driver, trips=95, ratings=[5] * 10, day=14)
    ServiceEvent.objects.bulk_create(
        ServiceEvent(
            platform=platform,
            driver=driver,
            external_id=f"late-trip-{n}",
            kind="trip",
            occurred_at=datetime(2026, 10, 15, 11, 10 + 5 * n, tzinfo=CHINA),
        )
        for n in range(10)
    )
    ServiceEvent.objects.create(
        platform=platform,
        driver=driver,
        external_id="session-1",
        kind="online_session",
        occurred_at=datetime(2026, 10, 15, 7, tzinfo=CHINA),
        ended_at=datetime(2026, 10, 15, 12, 30, tzinfo=CHINA),
    )

    explanation = lines(platform)[driver.pk]
    assert explanation["figures"]["trips"] == 95
    assert explanation["tier"]["name"] == "Silver"
    assert explanation["amount_fen"] == 5000
    assert explanation["fatigue"]["excluded_trips"] == 10
    assert explanation["fatigue"]["over_continuous_minutes"] == 90
    assert explanation["lost_to_fatigue"] is True
    assert explanation["sentence"].endswith(
        "10 trips made during 1 h 30 min online beyond the rest rules (more than 4 h without a "
        "20-minute break, or over the daily cap of 10 h) did not count. Had they counted, tier "
        "Gold would have been reached."
    )
