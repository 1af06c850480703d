"""Stateful property test of the ledger (rewards/ledger.py, ADR 0007): random sequences of
deposits, rewards, payouts and their settlement, refunds and reversals, with replays under the
same idempotency key and postings that must be refused (unbalanced, across currencies, a key
reused for other legs, below a floor). After every step: each transaction balances per
currency, every balance equals the sum of its entries and the model's figure, maintained
balances equal recomputed ones, no floored account and no funding slice is below zero. On
PostgreSQL the deferred constraint triggers are fired after every step (SET CONSTRAINTS ALL
IMMEDIATE), so the database's own checks run too."""

import copy

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

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
from tests.fuzz.conftest import fuzz_settings

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

amounts = st.integers(1, 50_000)


class LedgerMachine(RuleBasedStateMachine):
    posted = Bundle("posted")

    def __init__(self):
        super().__init__()
        # Each run of the machine in a savepoint of the test's transaction, rolled back after.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.keys = 0
        self.platforms = [
            ledger.platform_funding_account(OrganizationFactory(kind=Organization.Kind.PLATFORM))
            for _ in range(2)
        ]
        self.usd_funding = ledger.platform_funding_account(
            OrganizationFactory(kind=Organization.Kind.PLATFORM), currency="USD"
        )
        self.drivers = [ledger.driver_payable_account(DriverFactory()) for _ in range(2)]
        self.external = ledger.external_account("CNY")
        self.external_usd = ledger.external_account("USD")
        self.in_transit = ledger.payouts_in_transit_account("CNY")
        self.expected: dict[int, int] = {}
        self.transactions: dict[str, list[tuple[Account, int]]] = {}
        self.reversed: set[str] = set()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ----------------------------------------------------------------------------

    def key(self, kind: str) -> str:
        self.keys += 1
        return f"fuzz:{kind}:{self.keys}"

    def would_go_below_floor(self, legs) -> bool:
        net: dict[int, int] = {}
        for account, amount in legs:
            net[account.pk] = net.get(account.pk, 0) + amount
        return any(
            account.floor_fen is not None
            and self.expected.get(account.pk, 0) + net[account.pk] < account.floor_fen
            for account, _amount in legs
        )

    def post(self, kind: str, legs, **extra) -> str | None:
        """Post; the model decides beforehand whether a floor must refuse it."""
        key = self.key(kind)
        refused = self.would_go_below_floor(legs)
        count = Transaction.objects.count()
        try:
            posted = ledger.post_transaction(idempotency_key=key, kind=kind, legs=legs, **extra)
        except InsufficientFunds:
            assert refused, f"{kind} {legs} refused though the model has the money"
            assert Transaction.objects.count() == count
            return None
        assert not refused, f"{kind} {legs} posted below a floor"
        assert posted.idempotency_key == key
        for account, amount in legs:
            self.expected[account.pk] = self.expected.get(account.pk, 0) + amount
        self.transactions[key] = list(legs)
        return key

    # --- postings that must be accepted (unless a floor refuses them) -----------------------

    @rule(target=posted, platform=st.integers(0, 1), amount=amounts)
    def deposit(self, platform, amount):
        return self.post(
            Transaction.Kind.DEPOSIT, [(self.platforms[platform], amount), (self.external, -amount)]
        )

    @rule(target=posted, platform=st.integers(0, 1), driver=st.integers(0, 1), amount=amounts)
    def reward(self, platform, driver, amount):
        return self.post(
            Transaction.Kind.REWARD,
            [(self.platforms[platform], -amount), (self.drivers[driver], amount)],
        )

    @rule(target=posted, driver=st.integers(0, 1), amount=amounts)
    def payout(self, driver, amount):
        return self.post(
            Transaction.Kind.PAYOUT, [(self.drivers[driver], -amount), (self.in_transit, amount)]
        )

    @rule(target=posted, amount=amounts)
    def payout_settled(self, amount):
        return self.post(
            Transaction.Kind.PAYOUT, [(self.in_transit, -amount), (self.external, amount)]
        )

    @rule(target=posted, platform=st.integers(0, 1), amount=amounts)
    def refund(self, platform, amount):
        return self.post(
            Transaction.Kind.REFUND, [(self.platforms[platform], -amount), (self.external, amount)]
        )

    @rule(target=posted, amount=amounts)
    def usd_deposit(self, amount):
        return self.post(
            Transaction.Kind.DEPOSIT, [(self.usd_funding, amount), (self.external_usd, -amount)]
        )

    @rule(original=consumes(posted))
    def reverse(self, original):
        if original is None:
            return
        legs = self.transactions[original]
        negated = [(account, -amount) for account, amount in legs]
        refused = self.would_go_below_floor(negated)
        key = f"{original}:reversal"
        try:
            reversal = ledger.reverse_transaction(
                original=Transaction.objects.get(idempotency_key=original),
                idempotency_key=key,
                description="fuzz",
            )
        except InsufficientFunds:
            assert refused
            return
        assert not refused
        assert reversal.reverses.idempotency_key == original
        for account, amount in negated:
            self.expected[account.pk] = self.expected.get(account.pk, 0) + amount
        self.reversed.add(original)
        # A reversal is never reversed, and an original only once.
        with pytest.raises(ReversalRefused):
            ledger.reverse_transaction(
                original=Transaction.objects.get(idempotency_key=original),
                idempotency_key=f"{original}:reversal-again",
                description="fuzz",
            )
        with pytest.raises(ReversalRefused):
            ledger.reverse_transaction(
                original=reversal, idempotency_key=f"{key}:reversal", description="fuzz"
            )

    # --- replays and refusals: nothing is written -------------------------------------------

    @rule(original=posted)
    def replay(self, original):
        if original is None:
            return
        entries = Entry.objects.count()
        kind = Transaction.objects.get(idempotency_key=original).kind
        again = ledger.post_transaction(
            idempotency_key=original, kind=kind, legs=list(reversed(self.transactions[original]))
        )
        assert again.idempotency_key == original
        assert Entry.objects.count() == entries

    @rule(original=posted, extra=amounts)
    def reuse_a_key_for_other_legs(self, original, extra):
        if original is None:
            return
        entries = Entry.objects.count()
        (first, a), (second, b) = self.transactions[original][:2]
        with pytest.raises(IdempotencyConflict):
            ledger.post_transaction(
                idempotency_key=original,
                kind=Transaction.Kind.ADJUSTMENT,
                legs=[(first, a + extra), (second, b - extra)],
            )
        assert Entry.objects.count() == entries

    @rule(amount=amounts, off=st.integers(-1000, 1000).filter(bool))
    def unbalanced(self, amount, off):
        self.refused(
            UnbalancedTransaction,
            [(self.platforms[0], amount + off), (self.external, -amount)],
        )

    @rule(amount=amounts)
    def across_currencies(self, amount):
        self.refused(UnbalancedTransaction, [(self.usd_funding, amount), (self.external, -amount)])

    @rule(amount=amounts)
    def leg_in_another_currency_than_its_account(self, amount):
        disguised = copy.copy(self.external_usd)
        disguised.currency = "CNY"  # the leg says CNY, the account is in USD
        self.refused(InvalidLeg, [(self.platforms[0], amount), (disguised, -amount)])

    @rule(amount=st.one_of(st.just(0), st.floats(allow_nan=False), st.booleans(), st.text()))
    def malformed_amount(self, amount):
        self.refused(InvalidLeg, [(self.platforms[0], amount), (self.external, amount)])

    def refused(self, error, legs):
        entries, count = Entry.objects.count(), Transaction.objects.count()
        with pytest.raises(error):
            ledger.post_transaction(
                idempotency_key=self.key("refused"), kind=Transaction.Kind.ADJUSTMENT, legs=legs
            )
        assert (Entry.objects.count(), Transaction.objects.count()) == (entries, count)

    # --- what must hold after every step ----------------------------------------------------

    @invariant()
    def books_are_whole(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # the deferred triggers, now
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor.execute("SELECT COALESCE(MIN(balance_fen), 0) FROM rewards_account_slice")
                assert cursor.fetchone()[0] >= 0, "a funding slice is below zero"
        assert ledger.check_invariants() == []
        for row in (
            Entry.objects.values("transaction_id", "currency")
            .annotate(total=Sum("amount_fen"))
            .exclude(total=0)
        ):
            raise AssertionError(f"unbalanced: {row}")
        accounts = [*self.platforms, self.usd_funding, *self.drivers, self.external]
        accounts += [self.external_usd, self.in_transit]
        actual = ledger.balances(accounts)
        for account in accounts:
            assert actual[account.pk] == self.expected.get(account.pk, 0), account.code
            assert ledger.balance(account) == actual[account.pk]

    @precondition(lambda self: self.transactions)
    @invariant()
    def every_posting_is_there_once(self):
        assert Transaction.objects.filter(idempotency_key__startswith="fuzz:").count() == len(
            self.transactions
        ) + len(self.reversed)


def test_random_postings_keep_the_ledger_whole(db):
    run_state_machine_as_test(
        LedgerMachine,
        settings=fuzz_settings(25, stateful_step_count=20),
    )
