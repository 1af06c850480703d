"""A reward run posts its lines in batches (PostgreSQL: set-based, one database transaction per
batch; elsewhere one line at a time): the bad paths. A batch that dies half-way leaves nothing
behind and its retry posts each line once; funding that runs out mid-batch posts the lines
before the first one it cannot pay, as a run posting one line at a time would; a key already
used is linked, or refused if its legs differ. SQLite and PostgreSQL."""

import pytest
from django.db import connection

from rewards import rules
from rewards.ledger import (
    IdempotencyConflict,
    balance,
    balances,
    check_invariants,
    driver_payable_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import Account, RewardRun, Transaction
from tests.rewards.test_rules import (
    OCT_1,
    OCT_31,
    QUALITY,
    SAFETY,
    deposit,
    execute,
    good_driver,
    platform,  # noqa: F401 - a fixture
    published,
)

pytestmark = pytest.mark.django_db


def test_a_batch_that_dies_after_writing_its_postings_leaves_nothing_and_the_retry_pays_once(
    platform,  # noqa: F811
    monkeypatch,
):
    published(platform, "quality", QUALITY, amount_fen=5000)
    drivers = [good_driver(platform, n) for n in range(1, 4)]
    deposit(platform, 100_000)

    def die(self, posted):
        raise RuntimeError("the worker died before its commit")

    # After the batch's transactions, entries and line updates are written (or, one line at a
    # time, after the first line's): its database transaction never commits.
    monkeypatch.setattr(rules._Posting, "notify", die)
    with pytest.raises(RuntimeError):
        execute(platform)
    monkeypatch.undo()
    run = RewardRun.objects.get()
    assert run.status == RewardRun.Status.RUNNING
    assert run.lines.count() == 3
    assert not run.lines.filter(transaction__isnull=False).exists()
    assert not Transaction.objects.filter(kind="reward").exists()
    assert balance(platform_funding_account(platform)) == 100_000
    assert check_invariants() == []

    run = execute(platform)
    again = execute(platform)
    assert run.status == again.status == RewardRun.Status.FINISHED
    assert Transaction.objects.filter(kind="reward").count() == 3
    assert [balance(driver_payable_account(d)) for d in drivers] == [5000] * 3
    assert balance(platform_funding_account(platform)) == 85_000
    assert check_invariants() == []


def test_funding_that_runs_out_mid_batch_pays_the_lines_before_the_first_it_cannot(
    platform,  # noqa: F811
):
    published(platform, "quality", QUALITY, amount_fen=5000)
    published(platform, "safety", SAFETY, amount_fen=3000)
    first, second = good_driver(platform, 1), good_driver(platform, 2)
    # Lines in order: first × quality 5000, first × safety 3000, second × quality 5000,
    # second × safety 3000. 12,000 pays the first two; the third does not fit, and the fourth
    # (which would) is not posted before it: the run stops there, as it always has.
    deposit(platform, 12_000)

    with pytest.raises(rules.RewardRunUnderfunded, match="Deposit at least 4000 fen") as stopped:
        execute(platform)
    assert stopped.value.shortfall_fen == 4000
    run = RewardRun.objects.get()
    posted = run.lines.filter(transaction__isnull=False).order_by("pk")
    assert [line.amount_fen for line in posted] == [5000, 3000]
    assert {line.driver_id for line in posted} == {first.pk}
    funding = platform_funding_account(platform)
    assert balance(funding) == 4000
    assert "Deposit at least 4000 fen" in run.last_error
    assert check_invariants() == []

    deposit(platform, 4000, key="deposit-2")
    run = execute(platform)
    assert run.status == RewardRun.Status.FINISHED and run.last_error == ""
    assert balances([driver_payable_account(first), driver_payable_account(second)]) == {
        driver_payable_account(first).pk: 8000,
        driver_payable_account(second).pk: 8000,
    }
    assert balance(funding) == 0
    assert check_invariants() == []


def _computed_run(platform):  # noqa: F811
    run = RewardRun.objects.create(platform=platform, period_start=OCT_1, period_end=OCT_31)
    rules._create_lines(run)
    return run


def test_a_line_already_posted_under_its_key_is_linked_not_paid_again(platform):  # noqa: F811
    published(platform, "quality", QUALITY, amount_fen=5000)
    driver = good_driver(platform, 1)
    deposit(platform, 100_000)
    run = _computed_run(platform)
    (line,) = run.lines.all()
    funding = platform_funding_account(platform)
    earlier = post_transaction(
        idempotency_key=f"reward:{run.pk}:{line.pk}",
        kind="reward",
        legs=[(funding, -5000), (driver_payable_account(driver), 5000)],
    )

    run = execute(platform)
    assert run.status == RewardRun.Status.FINISHED
    line.refresh_from_db()
    assert line.transaction_id == earlier.pk
    assert Transaction.objects.filter(kind="reward").count() == 1
    assert balance(funding) == 95_000
    assert check_invariants() == []


def test_a_lines_key_used_for_other_legs_is_a_conflict_and_nothing_is_posted(
    platform,  # noqa: F811
):
    published(platform, "quality", QUALITY, amount_fen=5000)
    driver = good_driver(platform, 1)
    good_driver(platform, 2)
    deposit(platform, 100_000)
    run = _computed_run(platform)
    last = run.lines.order_by("pk").last()
    post_transaction(
        idempotency_key=f"reward:{run.pk}:{last.pk}",
        kind="reward",
        legs=[(platform_funding_account(platform), -1), (driver_payable_account(driver), 1)],
    )

    with pytest.raises(IdempotencyConflict):
        execute(platform)
    run.refresh_from_db()
    assert run.status == RewardRun.Status.RUNNING
    assert not run.lines.filter(pk=last.pk, transaction__isnull=False).exists()
    # In a batch (PostgreSQL) nothing of it is posted; one at a time, the line before it is.
    posted = run.lines.filter(transaction__isnull=False).count()
    assert posted == (0 if connection.vendor == "postgresql" else 1)
    assert Transaction.objects.filter(kind="reward").count() == 1 + posted
    assert check_invariants() == []


def test_a_run_for_a_platform_already_below_its_floor_stops_with_the_shortfall(
    platform,  # noqa: F811
):
    published(platform, "quality", QUALITY, amount_fen=5000)
    good_driver(platform, 1)
    deposit(platform, 3000)
    funding = platform_funding_account(platform)
    Account.objects.filter(pk=funding.pk).update(floor_fen=4000)  # an operator raised it

    with pytest.raises(rules.RewardRunUnderfunded, match="Deposit at least 6000 fen"):
        execute(platform)
    assert not Transaction.objects.filter(kind="reward").exists()
    assert balance(funding) == 3000
