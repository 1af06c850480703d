"""PostgreSQL itself keeps the ledger whole: no UPDATE or DELETE, no unbalanced transaction at
commit; and row locks keep floors and idempotency keys under real concurrent threads."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from cms.models import Organization
from rewards import ledger
from rewards.ledger import InsufficientFunds, ReversalRefused
from rewards.models import Account, Entry, Transaction
from tests.concurrency import race
from tests.factories import DriverFactory, OrganizationFactory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="triggers and row locks need PostgreSQL"
    ),
]
WORKERS = 8
APPEND_ONLY = "ledger entries are append-only"


@pytest.fixture
def books():
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    funding = ledger.platform_funding_account(platform)
    external = ledger.external_account("CNY")
    driver_account = ledger.driver_payable_account(DriverFactory())
    deposit = ledger.post_transaction(
        idempotency_key="deposit-1",
        kind=Transaction.Kind.DEPOSIT,
        legs=[(funding, 500), (external, -500)],
    )
    return funding, external, driver_account, deposit


def _sql(statement: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- append-only ---------------------------------------------------------------------------


def test_entries_cannot_be_updated_or_deleted(books):
    with pytest.raises(DatabaseError, match=f"{APPEND_ONLY}: UPDATE on rewards_entry"):
        _sql("UPDATE rewards_entry SET amount_fen = amount_fen * 2")
    with pytest.raises(DatabaseError, match=f"{APPEND_ONLY}: DELETE on rewards_entry"):
        _sql("DELETE FROM rewards_entry")
    with pytest.raises(DatabaseError, match=APPEND_ONLY):
        Entry.objects.filter(amount_fen__gt=0).update(amount_fen=1)
    assert sorted(Entry.objects.values_list("amount_fen", flat=True)) == [-500, 500]


def test_transactions_cannot_be_updated_or_deleted(books):
    with pytest.raises(DatabaseError, match=f"{APPEND_ONLY}: UPDATE on rewards_transaction"):
        _sql("UPDATE rewards_transaction SET description = 'changed'")
    with pytest.raises(DatabaseError, match=f"{APPEND_ONLY}: DELETE on rewards_transaction"):
        _sql("DELETE FROM rewards_transaction")
    *_, deposit = books
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        deposit.entries.all().delete()
    assert Transaction.objects.get().description == ""


# --- balanced at commit --------------------------------------------------------------------


def test_an_unbalanced_transaction_fails_at_commit(books):
    funding, external, *_ = books
    with pytest.raises(IntegrityError, match="unbalanced: its CNY entries sum to 1, not zero"):
        with transaction.atomic():
            broken = Transaction.objects.create(
                idempotency_key="broken", kind=Transaction.Kind.ADJUSTMENT
            )
            for account, amount in [(funding, 100), (external, -99)]:
                Entry.objects.create(
                    transaction=broken,
                    account=account,
                    amount_fen=amount,
                    currency="CNY",
                    posted_at=broken.posted_at,
                )
            # Inside the transaction the rows are there: the check waits for the commit.
            assert Entry.objects.filter(transaction=broken).count() == 2
    assert not Transaction.objects.filter(idempotency_key="broken").exists()
    assert ledger.balance(funding) == 500


def test_raw_sql_inserts_are_checked_too(books):
    funding, external, *_ = books
    with pytest.raises(IntegrityError, match="has 1 entries; a transaction has at least two"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO rewards_transaction (idempotency_key, kind, description, posted_at,"
                " metadata) VALUES ('raw', 'adjustment', '', now(), '{}') RETURNING id"
            )
            (transaction_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO rewards_entry (transaction_id, account_id, amount_fen, currency,"
                " posted_at) VALUES (%s, %s, 0 + 7, 'CNY', now())",
                [transaction_id, funding.pk],
            )
    with pytest.raises(IntegrityError, match="has 0 entries"):
        _sql(
            "INSERT INTO rewards_transaction (idempotency_key, kind, description, posted_at,"
            " metadata) VALUES ('empty', 'adjustment', '', now(), '{}')"
        )
    assert Transaction.objects.count() == 1


def test_an_entry_must_be_in_its_accounts_currency_and_at_its_transactions_moment(books):
    funding, external, _, deposit = books
    with pytest.raises(IntegrityError, match="entry in USD on an account in CNY"):
        with transaction.atomic():
            Entry.objects.create(
                transaction=deposit,
                account=funding,
                amount_fen=1,
                currency="USD",
                posted_at=deposit.posted_at,
            )
    with pytest.raises(IntegrityError, match="its transaction at"):
        with transaction.atomic():
            Entry.objects.create(
                transaction=deposit,
                account=funding,
                amount_fen=1,
                currency="CNY",
                posted_at=deposit.posted_at + timedelta(seconds=1),
            )
    # No moment at all: refused before the (per-statement) trigger, by NOT NULL.
    with pytest.raises(IntegrityError, match="posted_at"):
        with transaction.atomic():
            Entry.objects.create(
                transaction=deposit, account=funding, amount_fen=1, currency="CNY", posted_at=None
            )


def test_a_reversal_cannot_be_reversed_even_bypassing_the_service(books):
    *_, deposit = books
    reversal = ledger.reverse_transaction(original=deposit, idempotency_key="r1", description="")
    with pytest.raises(IntegrityError, match="is a reversal; it cannot be reversed"):
        with transaction.atomic():
            Transaction.objects.create(
                idempotency_key="r2", kind=Transaction.Kind.REVERSAL, reverses=reversal
            )


# --- concurrency ---------------------------------------------------------------------------


def test_eight_rewards_at_once_from_funding_for_five(books):
    funding, _, driver_account, _ = books

    def pay(number):
        return ledger.post_transaction(
            idempotency_key=f"reward-{number}",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -100), (driver_account, 100)],
        )

    outcomes = race([lambda n=n: pay(n) for n in range(WORKERS)])
    assert len(outcomes) == WORKERS
    assert sum(isinstance(o, Transaction) for o in outcomes) == 5, outcomes
    assert sum(isinstance(o, InsufficientFunds) for o in outcomes) == 3, outcomes
    assert ledger.balance(funding) == 0
    assert ledger.balance(driver_account) == 500
    assert ledger.check_invariants() == []


def test_eight_postings_with_one_key_make_one_transaction(books):
    funding, _, driver_account, _ = books

    def pay():
        # All the platform has: latecomers must find the winner, not an empty account.
        return ledger.post_transaction(
            idempotency_key="reward-line-42",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -500), (driver_account, 500)],
        ).pk

    outcomes = race([pay for _ in range(WORKERS)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert Transaction.objects.filter(idempotency_key="reward-line-42").count() == 1
    assert ledger.balance(funding) == 0


def test_eight_reversals_of_one_transaction_at_once_reverse_it_once(books):
    *_, deposit = books
    outcomes = race(
        [
            lambda n=n: ledger.reverse_transaction(
                original=deposit, idempotency_key=f"reverse-{n}", description=""
            )
            for n in range(WORKERS)
        ]
    )
    assert sum(isinstance(o, Transaction) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, ReversalRefused) for o in outcomes) == WORKERS - 1, outcomes
    assert Transaction.objects.filter(reverses=deposit).count() == 1
    assert ledger.check_invariants() == []


def test_rewards_and_reversals_crosswise_at_once_do_not_deadlock(books):
    funding, _, driver_account, _ = books
    earlier = [
        ledger.post_transaction(
            idempotency_key=f"earlier-{n}",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -50), (driver_account, 50)],
        )
        for n in range(WORKERS // 2)
    ]
    # Rewards lock the platform and reference the driver; reversals lock the driver and
    # reference the platform.
    rewards = [
        lambda n=n: ledger.post_transaction(
            idempotency_key=f"later-{n}",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -50), (driver_account, 50)],
        )
        for n in range(WORKERS // 2)
    ]
    reversals = [
        lambda t=t: ledger.reverse_transaction(
            original=t, idempotency_key=f"reverse-{t.idempotency_key}", description=""
        )
        for t in earlier
    ]
    outcomes = race([action for pair in zip(rewards, reversals, strict=True) for action in pair])
    assert all(isinstance(o, Transaction) for o in outcomes), outcomes
    assert ledger.balance(funding) == 300
    assert ledger.balance(driver_account) == 200
    assert ledger.check_invariants() == []


# --- the maintained balance (migration 0006) ----------------------------------------------


def test_the_maintained_balance_equals_the_entries_after_concurrent_postings(books):
    funding, external, driver_account, _ = books
    others = [ledger.driver_payable_account(DriverFactory()) for _ in range(3)]
    ledger.post_transaction(
        idempotency_key="deposit-2",
        kind=Transaction.Kind.DEPOSIT,
        legs=[(funding, 10_000), (external, -10_000)],
    )

    def pay(number):
        target = [driver_account, *others][number % 4]
        return ledger.post_transaction(
            idempotency_key=f"pay-{number}",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -(100 + number)), (target, 100 + number)],
        )

    def reverse_earlier(number):
        original = ledger.post_transaction(
            idempotency_key=f"early-{number}",
            kind=Transaction.Kind.REWARD,
            legs=[(funding, -10), (driver_account, 10)],
        )
        return ledger.reverse_transaction(
            original=original, idempotency_key=f"undo-{number}", description=""
        )

    outcomes = race(
        [lambda n=n: pay(n) for n in range(WORKERS)]
        + [lambda n=n: reverse_earlier(n) for n in range(WORKERS // 2)]
    )
    assert all(isinstance(o, Transaction) for o in outcomes), outcomes
    assert ledger.check_invariants() == []
    for account in Account.objects.all():
        assert _kept(account) == ledger.balance(account), account.code
    assert _kept(funding) == 10_500 - sum(100 + n for n in range(WORKERS))
    # The platform's funding is kept in slices (migration 0007), its row unchanged.
    assert Account.objects.get(pk=funding.pk).balance_fen == 0
    assert funding.slices.count() > 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rewards_ledger_unchecked")
        assert cursor.fetchone()[0] == 0  # the queue of checks lives only inside a transaction


def _kept(account) -> int:
    """The maintained balance: the row's, plus a platform funding account's slices."""
    account = Account.objects.get(pk=account.pk)
    return account.balance_fen + sum(account.slices.values_list("balance_fen", flat=True))


def test_a_balance_is_moved_only_by_entries(books):
    _, external, *_ = books
    _sql("UPDATE rewards_account SET balance_fen = 1000000 WHERE id = %s", [external.pk])
    # An operator's edit through the model (a stale balance in hand) keeps it too.
    edited = Account.objects.get(pk=external.pk)
    edited.balance_fen, edited.floor_fen = 7, -1000
    edited.save()
    edited.refresh_from_db()
    assert (edited.balance_fen, edited.floor_fen) == (-500, -1000)
    assert ledger.check_invariants() == []


def test_a_multi_row_insert_with_one_unbalanced_transaction_is_refused_whole(books):
    funding, external, *_ = books
    with pytest.raises(IntegrityError, match="is unbalanced: its CNY entries sum to -1"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO rewards_transaction (idempotency_key, kind, description, posted_at,"
                " metadata) VALUES ('a', 'adjustment', '', '2026-11-30T12:00Z', '{}'),"
                " ('b', 'adjustment', '', '2026-11-30T12:00Z', '{}') RETURNING id"
            )
            first, second = (row[0] for row in cursor.fetchall())
            cursor.execute(
                "INSERT INTO rewards_entry (transaction_id, account_id, amount_fen, currency,"
                " posted_at) VALUES (%s, %s, 5, 'CNY', '2026-11-30T12:00Z'),"
                " (%s, %s, -5, 'CNY', '2026-11-30T12:00Z'),"
                " (%s, %s, 7, 'CNY', '2026-11-30T12:00Z'),"
                " (%s, %s, -8, 'CNY', '2026-11-30T12:00Z')",
                [first, funding.pk, first, external.pk, second, funding.pk, second, external.pk],
            )
    assert Transaction.objects.count() == 1
    assert _kept(funding) == 500
