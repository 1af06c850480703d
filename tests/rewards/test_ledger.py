"""The ledger's services: balanced postings, idempotency, floors, reversals, balances at a
moment, and a property test against a model in plain Python. SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.models import Organization
from rewards import ledger
from rewards.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    InvalidLeg,
    ReversalRefused,
    UnbalancedTransaction,
)
from rewards.models import Account, Entry, Transaction
from tests.factories import DriverFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform():
    return OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing")


@pytest.fixture
def funding(platform):
    return ledger.platform_funding_account(platform)


@pytest.fixture
def external():
    return ledger.external_account("CNY")


@pytest.fixture
def driver_account():
    return ledger.driver_payable_account(DriverFactory())


def deposit(funding, external, amount, key="deposit-1"):
    return ledger.post_transaction(
        idempotency_key=key,
        kind=Transaction.Kind.DEPOSIT,
        legs=[(funding, amount), (external, -amount)],
        description="平台充值",
    )


def reward(funding, driver_account, amount, key="reward-1"):
    return ledger.post_transaction(
        idempotency_key=key,
        kind=Transaction.Kind.REWARD,
        legs=[(funding, -amount), (driver_account, amount)],
        description="安全驾驶奖励",
        metadata={"reward_line": 1},
    )


# --- accounts ------------------------------------------------------------------------------


def test_accounts_have_stable_codes_and_are_opened_once(platform):
    driver = DriverFactory()
    funding = ledger.platform_funding_account(platform)
    assert funding == ledger.platform_funding_account(platform)
    assert funding.code == f"platform:{platform.public_id}:funding:CNY"
    assert funding.floor_fen == 0
    payable = ledger.driver_payable_account(driver)
    assert payable.code == f"driver:{driver.public_id}:payable:CNY"
    assert ledger.external_account("CNY").code == "system:external:CNY"
    assert ledger.fees_account("CNY").code == "system:fees:CNY"
    assert ledger.payouts_in_transit_account("CNY").code == "system:payouts-in-transit:CNY"
    assert ledger.external_account("CNY").floor_fen is None
    assert ledger.fees_account("USD").currency == "USD"
    assert Account.objects.count() == 6


def test_only_a_platform_funds_rewards_and_currencies_are_iso_codes():
    with pytest.raises(InvalidLeg, match="platform"):
        ledger.platform_funding_account(OrganizationFactory(kind=Organization.Kind.SCHOOL))
    with pytest.raises(InvalidLeg, match="three-letter ISO currency code"):
        ledger.external_account("yuan")
    with pytest.raises(InvalidLeg):
        ledger.account_get_or_create(kind=Account.Kind.DRIVER_PAYABLE)


# --- posting and balances ------------------------------------------------------------------


def test_a_deposit_a_reward_and_a_payout_move_the_balances(funding, external, driver_account):
    deposit(funding, external, 10_000)
    posted = reward(funding, driver_account, 2_500)
    in_transit = ledger.payouts_in_transit_account("CNY")
    ledger.post_transaction(
        idempotency_key="payout-1",
        kind=Transaction.Kind.PAYOUT,
        legs=[(driver_account, -2_000), (in_transit, 2_000)],
    )
    assert posted.entries.count() == 2
    assert posted.metadata == {"reward_line": 1}
    assert ledger.balance(funding) == 7_500
    assert ledger.balance(driver_account) == 500
    assert ledger.balance(in_transit) == 2_000
    assert ledger.balance(external) == -10_000
    assert ledger.check_invariants() == []
    assert set(Entry.objects.values_list("currency", flat=True)) == {"CNY"}


def test_balances_of_many_accounts_take_one_query(
    funding, external, driver_account, django_assert_num_queries
):
    deposit(funding, external, 300)
    reward(funding, driver_account, 100)
    fees = ledger.fees_account("CNY")
    with django_assert_num_queries(1):
        got = ledger.balances([funding, external, driver_account, fees])
    assert got == {funding.pk: 200, external.pk: -300, driver_account.pk: 100, fees.pk: 0}
    with django_assert_num_queries(1):
        assert ledger.balance(funding) == 200


def test_the_balance_at_a_moment_counts_only_what_was_posted_by_then(
    funding, external, driver_account
):
    t1 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    t2 = t1 + timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=t1):
        deposit(funding, external, 1_000)
    with mock.patch("django.utils.timezone.now", return_value=t2):
        reward(funding, driver_account, 400)
    between = t1 + timedelta(hours=12)
    assert ledger.balance(funding, at=between) == 1_000
    assert ledger.balance(driver_account, at=between) == 0
    assert ledger.balance(funding, at=t1 - timedelta(seconds=1)) == 0
    assert ledger.balance(funding, at=t2) == 600
    assert ledger.balances([funding, driver_account], at=between) == {
        funding.pk: 1_000,
        driver_account.pk: 0,
    }
    assert set(Entry.objects.values_list("posted_at", flat=True)) == {t1, t2}


# --- idempotency ---------------------------------------------------------------------------


def test_the_same_key_again_returns_the_same_transaction(funding, external):
    first = deposit(funding, external, 500)
    again = ledger.post_transaction(
        idempotency_key="deposit-1",
        kind=Transaction.Kind.DEPOSIT,
        legs=[(external, -500), (funding, 500)],  # the same legs, in another order
    )
    assert again == first
    assert Transaction.objects.count() == 1
    assert ledger.balance(funding) == 500


def test_the_same_key_with_other_legs_is_a_conflict(funding, external):
    deposit(funding, external, 500)
    with pytest.raises(IdempotencyConflict, match="deposit-1"):
        deposit(funding, external, 501)
    with pytest.raises(IdempotencyConflict):
        ledger.post_transaction(
            idempotency_key="deposit-1",
            kind=Transaction.Kind.ADJUSTMENT,
            legs=[(funding, 500), (external, -500)],
        )
    assert Transaction.objects.count() == 1


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legs", "error", "message"),
    [
        (lambda f, e: [(f, 100), (e, -99)], UnbalancedTransaction, "sum to 1 fen"),
        (lambda f, e: [(f, 100)], InvalidLeg, "at least two legs"),
        (lambda f, e: [], InvalidLeg, "at least two legs"),
        (lambda f, e: [(f, 100), (e, -100), (e, 0)], InvalidLeg, "zero fen"),
        (lambda f, e: [(f, 1.5), (e, -1.5)], InvalidLeg, "not float"),
        (lambda f, e: [(f, True), (e, -1)], InvalidLeg, "not bool"),
        (lambda f, e: [(f, "100"), (e, -100)], InvalidLeg, "not str"),
        (lambda f, e: [(f, 100), (None, -100)], InvalidLeg, "saved ledger account"),
        (lambda f, e: [(f, 100, "x"), (e, -100)], InvalidLeg, "pair"),
        (
            lambda f, e: [(f, 100), (ledger.external_account("USD"), -100)],
            UnbalancedTransaction,
            "CNY sum to 100",
        ),
    ],
)
def test_malformed_transactions_are_refused_and_nothing_is_written(
    funding, external, legs, error, message
):
    with pytest.raises(error, match=message):
        ledger.post_transaction(
            idempotency_key="bad", kind=Transaction.Kind.ADJUSTMENT, legs=legs(funding, external)
        )
    assert Transaction.objects.count() == 0
    assert Entry.objects.count() == 0


@pytest.mark.parametrize("key", ["", "   ", None, "k" * 201])
def test_a_transaction_needs_a_usable_idempotency_key(funding, external, key):
    with pytest.raises(InvalidLeg, match="idempotency key"):
        ledger.post_transaction(
            idempotency_key=key,
            kind=Transaction.Kind.DEPOSIT,
            legs=[(funding, 1), (external, -1)],
        )


def test_an_unknown_kind_is_refused(funding, external):
    with pytest.raises(InvalidLeg, match="kind"):
        ledger.post_transaction(
            idempotency_key="k", kind="gift", legs=[(funding, 1), (external, -1)]
        )


def test_a_leg_in_another_currency_than_its_account_is_refused(funding, external):
    stale = Account.objects.get(pk=external.pk)
    stale.currency = "USD"
    usd = ledger.external_account("USD")
    with pytest.raises(InvalidLeg, match="currency"):
        ledger.post_transaction(
            idempotency_key="k",
            kind=Transaction.Kind.ADJUSTMENT,
            legs=[(stale, 1), (usd, -1), (funding, 1), (external, -1)],
        )
    assert Transaction.objects.count() == 0


# --- floors --------------------------------------------------------------------------------


def test_a_platform_cannot_pay_more_than_it_deposited(funding, external, driver_account):
    deposit(funding, external, 100)
    with pytest.raises(InsufficientFunds, match=funding.code) as refused:
        reward(funding, driver_account, 101)
    assert refused.value.shortfall_fen == 1
    assert refused.value.account == funding
    assert Transaction.objects.count() == 1
    assert ledger.balance(funding) == 100
    assert ledger.balance(driver_account) == 0
    reward(funding, driver_account, 100)
    assert ledger.balance(funding) == 0


def test_a_negative_floor_is_a_credit_limit(external, driver_account):
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    funding = ledger.account_get_or_create(
        kind=Account.Kind.PLATFORM_FUNDING, organization=platform, floor_fen=-500
    )
    reward(funding, driver_account, 500)
    assert ledger.balance(funding) == -500
    with pytest.raises(InsufficientFunds):
        reward(funding, driver_account, 1, key="reward-2")


def test_an_account_on_both_sides_is_checked_on_its_net_amount(funding, external):
    deposit(funding, external, 10)
    ledger.post_transaction(
        idempotency_key="shuffle",
        kind=Transaction.Kind.ADJUSTMENT,
        legs=[(funding, -50), (funding, 45), (external, 5)],
    )
    assert ledger.balance(funding) == 5


# --- reversals -----------------------------------------------------------------------------


def test_a_reversal_nets_to_zero_and_happens_once(funding, external, driver_account):
    deposit(funding, external, 1_000)
    original = reward(funding, driver_account, 300)
    reversal = ledger.reverse_transaction(
        original=original, idempotency_key="reverse-reward-1", description="奖励撤销"
    )
    assert reversal.kind == Transaction.Kind.REVERSAL
    assert reversal.reverses == original
    assert ledger.balance(funding) == 1_000
    assert ledger.balance(driver_account) == 0
    assert ledger.check_invariants() == []

    again = ledger.reverse_transaction(
        original=original, idempotency_key="reverse-reward-1", description="奖励撤销"
    )
    assert again == reversal
    with pytest.raises(ReversalRefused, match="reversed already"):
        ledger.reverse_transaction(
            original=original, idempotency_key="reverse-reward-1-again", description="x"
        )
    with pytest.raises(ReversalRefused, match="cannot be reversed"):
        ledger.reverse_transaction(
            original=reversal, idempotency_key="reverse-the-reversal", description="x"
        )
    assert Transaction.objects.count() == 3


def test_a_reversal_posted_by_hand_must_negate_its_original(funding, external):
    original = deposit(funding, external, 100)
    with pytest.raises(InvalidLeg, match="negated"):
        ledger.post_transaction(
            idempotency_key="r",
            kind=Transaction.Kind.REVERSAL,
            legs=[(funding, -60), (external, 60)],
            reverses=original,
        )
    with pytest.raises(InvalidLeg, match="only a reversal"):
        ledger.post_transaction(
            idempotency_key="r",
            kind=Transaction.Kind.REVERSAL,
            legs=[(funding, -100), (external, 100)],
        )
    with pytest.raises(InvalidLeg, match="only a reversal"):
        ledger.post_transaction(
            idempotency_key="r",
            kind=Transaction.Kind.ADJUSTMENT,
            legs=[(funding, -100), (external, 100)],
            reverses=original,
        )
    assert Transaction.objects.count() == 1


def test_a_reversal_respects_floors_too(funding, external, driver_account):
    deposit(funding, external, 300)
    original = reward(funding, driver_account, 300)
    ledger.post_transaction(
        idempotency_key="payout-1",
        kind=Transaction.Kind.PAYOUT,
        legs=[(driver_account, -300), (ledger.payouts_in_transit_account("CNY"), 300)],
    )
    with pytest.raises(InsufficientFunds, match=driver_account.code):
        ledger.reverse_transaction(original=original, idempotency_key="r", description="x")
    assert not Transaction.objects.filter(reverses=original).exists()


def test_check_invariants_reports_what_the_services_would_never_write(funding, external):
    deposit(funding, external, 100)
    with transaction.atomic():
        broken = Transaction.objects.create(
            idempotency_key="broken", kind=Transaction.Kind.ADJUSTMENT
        )
        Entry.objects.create(
            transaction=broken,
            account=funding,
            amount_fen=-150,
            currency="CNY",
            posted_at=broken.posted_at,
        )
        problems = ledger.check_invariants()
        transaction.set_rollback(True)
    assert problems == [
        "transaction broken sums to -150 CNY",
        "transaction broken has fewer than two entries",
        "the accounts in CNY sum to -150, not zero",
        f"account {funding.code} holds -50, below its floor 0",
    ]
    assert ledger.check_invariants() == []


# --- a property: any sequence of operations keeps the ledger whole ------------------------

amounts = st.integers(min_value=1, max_value=5_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 1), amounts),
        st.tuples(st.just("reward"), st.integers(0, 1), st.integers(0, 2), amounts),
        st.tuples(st.just("payout"), st.integers(0, 2), amounts),
        st.tuples(st.just("reverse"), st.integers(0, 50)),
        st.tuples(st.just("repeat"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=20,
)


@pytest.fixture
def parties():
    platforms = [OrganizationFactory(kind=Organization.Kind.PLATFORM) for _ in range(2)]
    drivers = [DriverFactory() for _ in range(3)]
    return platforms, drivers


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_any_sequence_of_operations_keeps_the_ledger_balanced(parties, steps):
    platforms, drivers = parties
    with transaction.atomic():
        _play(platforms, drivers, steps)
        transaction.set_rollback(True)


def _play(platforms, drivers, steps):
    funding = [ledger.platform_funding_account(p) for p in platforms]
    payable = [ledger.driver_payable_account(d) for d in drivers]
    outside = ledger.external_account("CNY")
    in_transit = ledger.payouts_in_transit_account("CNY")
    accounts = [*funding, *payable, outside, in_transit]
    expected = {account.pk: 0 for account in accounts}
    posted: list[tuple[Transaction, list]] = []  # and the legs it was posted with
    reversed_ids: set[int] = set()

    def attempt(legs, post):
        would_breach = any(
            account.floor_fen is not None and expected[account.pk] + amount < account.floor_fen
            for account, amount in _net(legs)
        )
        if would_breach:
            with pytest.raises(InsufficientFunds):
                post()
            return None
        result = post()
        for account, amount in legs:
            expected[account.pk] += amount
        posted.append((result, legs))
        return result

    for number, step in enumerate(steps):
        key = f"op-{number}"
        match step:
            case ("deposit", p, amount):
                legs = [(funding[p], amount), (outside, -amount)]
                attempt(legs, lambda legs=legs, key=key: _post(key, Transaction.Kind.DEPOSIT, legs))
            case ("reward", p, d, amount):
                legs = [(funding[p], -amount), (payable[d], amount)]
                attempt(legs, lambda legs=legs, key=key: _post(key, Transaction.Kind.REWARD, legs))
            case ("payout", d, amount):
                legs = [(payable[d], -amount), (in_transit, amount)]
                attempt(legs, lambda legs=legs, key=key: _post(key, Transaction.Kind.PAYOUT, legs))
            case ("reverse", index) if posted:
                original, legs = posted[index % len(posted)]
                if original.reverses_id is not None or original.pk in reversed_ids:
                    with pytest.raises(ReversalRefused):
                        ledger.reverse_transaction(
                            original=original, idempotency_key=key, description="撤销"
                        )
                else:
                    negated = [(account, -amount) for account, amount in legs]
                    done = attempt(
                        negated,
                        lambda original=original, key=key: ledger.reverse_transaction(
                            original=original, idempotency_key=key, description="撤销"
                        ),
                    )
                    if done is not None:
                        reversed_ids.add(original.pk)
            case ("repeat", index) if posted:
                original, legs = posted[index % len(posted)]
                again = ledger.post_transaction(
                    idempotency_key=original.idempotency_key,
                    kind=original.kind,
                    legs=list(reversed(legs)),
                    reverses=original.reverses,
                )
                assert again.pk == original.pk
            case _:
                continue

        assert ledger.check_invariants() == []
        actual = ledger.balances(accounts)
        assert actual == expected
        for account in accounts:
            if account.floor_fen is not None:
                assert actual[account.pk] >= account.floor_fen
        assert sum(actual.values()) == 0


def _post(key, kind, legs):
    return ledger.post_transaction(idempotency_key=key, kind=kind, legs=legs)


def _net(legs):
    net: dict = {}
    for account, amount in legs:
        net[account] = net.get(account, 0) + amount
    return net.items()
