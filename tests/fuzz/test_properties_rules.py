"""Property tests of the reward rule engine (rewards/rules.py, rewards/fatigue.py, tiers; ADR
0008): the rule validator refuses any JSON with a ValidationError, never a crash; for random
valid rule versions and random service months, a month's lines are deterministic, positive,
within the rules' amounts and the site's cap, at most one per driver and version, and the run
posts exactly their sum once, however often it is executed."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import assume, given
from hypothesis import strategies as st

from rewards import rules
from rewards.ledger import (
    balance,
    check_invariants,
    driver_payable_account,
    platform_funding_account,
)
from rewards.models import RewardLine, RuleVersion, Transaction
from rewards.models.rules import validate_rule
from rewards.policy import effective_policy
from tests.factories import OrganizationFactory
from tests.fuzz.conftest import fuzz_settings
from tests.rewards.test_rules import OCT_1, OCT_31, deposit, linked_driver, published, report

pytestmark = pytest.mark.fuzz

KINDS = [kind.value for kind in RuleVersion.Kind]
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["4.9", "5", "0", "-1", "NaN", "Infinity", "1e999", "", " 3 "])
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),  # noqa: E501
    max_leaves=12,
)
PARAM_KEYS = ["min_trips", "min_average_rating", "max_upheld_complaints", "max_incidents",
              "tiers", "per_level_fen", "name", "amount_fen", "1", "2", "3"]  # fmt: skip


@st.composite
def rule_json(draw):
    """Parameters as an operator could type them in the admin's JSON field: right keys with
    any values, tiers that are almost right, or anything at all."""
    keys = st.sampled_from(PARAM_KEYS) | st.text(max_size=8)
    params = draw(st.dictionaries(keys, json_values, max_size=6) | json_values)
    if isinstance(params, dict) and draw(st.booleans()):
        tier = st.dictionaries(st.sampled_from(PARAM_KEYS), json_values, max_size=5)
        params["tiers"] = draw(st.lists(tier, max_size=6))
    return params


@fuzz_settings(150)
@given(kind=st.sampled_from(KINDS) | st.text(max_size=5), params=rule_json(), amount=json_values)
def test_the_rule_validator_refuses_any_json_with_a_validation_error(kind, params, amount):
    try:
        validate_rule(kind, params, amount)
    except ValidationError as exc:
        assert exc.messages and all(isinstance(m, str) and m for m in exc.messages)


@pytest.mark.parametrize(
    "rating", [10**5000, "9" * 5000, 2**64, -(2**64)], ids=["5000-digits", "text", "2^64", "-2^64"]
)
def test_a_huge_rating_threshold_is_refused_not_a_crash(rating):
    with pytest.raises(ValidationError):
        validate_rule("quality", {"min_trips": 1, "min_average_rating": rating,
                                  "max_upheld_complaints": 0}, 100)  # fmt: skip


# --- a month of service, and the run -----------------------------------------------------

rating_text = st.integers(10, 50).map(lambda tenths: str(Decimal(tenths) / 10))
fen = st.integers(1, 50_000)


@st.composite
def tier_params(draw):
    count = draw(st.integers(1, 3))
    trips = sorted(draw(st.lists(st.integers(0, 40), min_size=count, max_size=count, unique=True)))
    amounts = sorted(draw(st.lists(fen, min_size=count, max_size=count)))
    return {
        "tiers": [
            {"name": f"T{n}", "min_trips": trips[n], "min_average_rating": draw(rating_text),
             "amount_fen": amounts[n]}
            for n in range(count)
        ]
    }  # fmt: skip


@st.composite
def rule_versions(draw):
    versions = []
    if draw(st.booleans()):
        versions.append(("quality", {"min_trips": draw(st.integers(0, 40)),
                                     "min_average_rating": draw(rating_text),
                                     "max_upheld_complaints": draw(st.integers(0, 2))},
                         draw(fen)))  # fmt: skip
    if draw(st.booleans()):
        safety = {"min_trips": draw(st.integers(0, 40)), "max_incidents": draw(st.integers(0, 2))}
        versions.append(("safety", safety, draw(fen)))
    if draw(st.booleans()):
        versions.append(("tier", draw(tier_params()), None))
    return versions


months = st.lists(
    st.fixed_dictionaries({
        "trips": st.integers(0, 45),
        "ratings": st.lists(st.integers(1, 5), max_size=12),
        "upheld": st.integers(0, 2),
        "dismissed": st.integers(0, 1),
        "incidents": st.integers(0, 2),
    }),
    min_size=1, max_size=3,
)  # fmt: skip


@pytest.mark.django_db
@fuzz_settings(25)
@given(versions=rule_versions(), month=months)
def test_a_months_lines_are_deterministic_capped_and_posted_exactly_once(versions, month):
    assume(versions)
    with transaction.atomic():
        platform = OrganizationFactory(kind="platform")
        drivers = []
        for n, figures in enumerate(month):
            driver = linked_driver(platform, 700_000 + n)
            report(platform, driver, **figures)
            drivers.append(driver)
        made = {}
        for kind, params, amount in versions:
            made[kind] = published(platform, kind, params, amount_fen=amount)
        cap = effective_policy(platform).max_reward_fen

        lines = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
        again = rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31)
        assert again == lines  # deterministic
        pairs = [(line["driver_id"], line["rule_version_id"]) for line in lines]
        assert len(pairs) == len(set(pairs))  # one line per driver and version at most
        for line in lines:
            version = RuleVersion.objects.get(pk=line["rule_version_id"])
            assert 0 < line["amount_fen"] <= cap
            if version.kind == "tier":
                allowed = {tier["amount_fen"] for tier in version.params["tiers"]}
                assert line["amount_fen"] in allowed
            else:
                assert line["amount_fen"] == version.amount_fen
        every = rules.compute_lines(
            platform=platform, period_start=OCT_1, period_end=OCT_31, include_unpaid=True
        )
        assert len(every) == len(drivers) * len(made)
        assert sorted(
            (line["driver_id"], line["rule_version_id"], line["amount_fen"])
            for line in every if line["amount_fen"]
        ) == sorted((line["driver_id"], line["rule_version_id"], line["amount_fen"])
                    for line in lines)  # fmt: skip

        total = sum(line["amount_fen"] for line in lines)
        deposit(platform, total + 1, key=f"deposit-{platform.pk}")
        funding = platform_funding_account(platform)
        before = balance(funding)
        for _ in range(2):  # executing again posts nothing more
            run = rules.reward_run_execute(platform=platform, period_start=OCT_1, period_end=OCT_31)
            assert run.status == "finished"
            assert before - balance(funding) == total
            stored = RewardLine.objects.filter(run=run)
            assert stored.count() == len(lines)
            assert sum(line.amount_fen for line in stored) == total
            assert not stored.filter(transaction__isnull=True).exists()
            assert Transaction.objects.filter(kind="reward").count() == len(lines)
        for driver in drivers:
            assert balance(driver_payable_account(driver)) == sum(
                line["amount_fen"] for line in lines if line["driver_id"] == driver.pk
            )
        assert check_invariants() == []
        transaction.set_rollback(True)
