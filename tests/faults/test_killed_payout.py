"""A Celery worker killed (SIGKILL) in the middle of sending a driver's payout to Stripe: the
message comes back to a fresh worker (acks_late; the killed worker never acknowledged it) and
beat's `payouts_retry` sends the payout too; Stripe still makes one transfer and one bank
payout, and the ledger has one payout posting and one settlement.

Three places the worker dies, each reached without touching product code:
- before Stripe was called: the payouts table is locked (ACCESS EXCLUSIVE), so the worker waits
  on its first query;
- after Stripe accepted the transfer, before we recorded it: the payout's row is locked, so the
  worker waits when it stores the transfer's id;
- after Stripe accepted the bank payout, before we recorded it: the fake Stripe makes the payout
  and holds its answer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rewards import payouts, tasks
from rewards.ledger import check_invariants
from rewards.models import Payout, Transaction
from tests.factories import DriverFactory
from tests.faults.conftest import (
    FAULTS,
    blocker_connection,
    broker_mode,
    fault_worker,
    kill,
    new_queue,
    queue_drained,
    stop_worker,
    wait_for,
    waiting_on_lock,
)
from tests.payments import deliver, payments_on, stripe_fake  # noqa: F401
from tests.rewards.test_payouts import EARNED, balances, connect, earn, fund_platform

pytestmark = FAULTS


def _worker_env(fake, **extra) -> dict:
    return {
        "STRIPE_SECRET_KEY": fake.api_key,
        "STRIPE_WEBHOOK_SECRET": "whsec_roadwise_test",
        "STRIPE_API_BASE": fake.url,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "STRIPE_TIMEOUT_SECONDS": "5",
        **extra,
    }


def _posts(fake, path: str) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST" and r["path"] == path]


@pytest.mark.parametrize("moment", ["before_stripe", "after_transfer", "after_bank_payout"])
def test_a_payout_killed_mid_way_is_paid_exactly_once(client, payments_on, moment):  # noqa: F811
    fake = payments_on
    driver = DriverFactory()
    earn(driver)
    account = connect(client, fake, driver)
    fund_platform(fake)
    queue = new_queue()
    env = _worker_env(fake)
    if moment == "after_bank_payout":
        fake.accept_then_timeout("POST", "/v1/payouts", seconds=120)
        env["STRIPE_TIMEOUT_SECONDS"] = "300"  # the worker waits for the answer: killed there

    with broker_mode(queue):
        payout = payouts.payout_request(driver=driver)  # queued on commit; no worker yet
        blocker = blocker_connection()
        try:
            with blocker.cursor() as cursor:
                if moment == "before_stripe":
                    cursor.execute("LOCK TABLE rewards_payout IN ACCESS EXCLUSIVE MODE")
                elif moment == "after_transfer":
                    cursor.execute(
                        "SELECT id FROM rewards_payout WHERE id = %s FOR UPDATE", [payout.pk]
                    )
            first, first_log = fault_worker(queue, env)
            try:
                if moment == "before_stripe":
                    wait_for(lambda: waiting_on_lock("rewards_payout"), 90, "the worker to wait")
                    assert _posts(fake, "/v1/transfers") == []
                elif moment == "after_transfer":
                    wait_for(lambda: waiting_on_lock("rewards_payout"), 90, "the worker to wait")
                    assert len(fake.objects("transfer")) == 1
                else:
                    wait_for(
                        lambda: len(fake.objects("payout", account.stripe_account_id)) == 1,
                        90,
                        "Stripe to accept the bank payout",
                    )
                kill(first)
            finally:
                stop_worker(first, first_log)
        finally:
            blocker.rollback()
            blocker.close()

        payout.refresh_from_db()
        assert payout.status == Payout.Status.PENDING
        assert payout.stripe_payout_id == ""
        assert balances(driver)["payable"] == 0  # the request's posting stands, once
        assert check_invariants() == []

        # A fresh worker: the killed worker's message comes back to it (visibility timeout),
        # and beat's sweeper, once the payout looks lost, sends it as well.
        Payout.objects.filter(pk=payout.pk).update(
            created_at=timezone.now() - timedelta(minutes=10)
        )
        second, second_log = fault_worker(queue, _worker_env(fake))
        try:
            tasks.payouts_retry.delay()
            wait_for(
                lambda: Payout.objects.get(pk=payout.pk).status == Payout.Status.IN_TRANSIT,
                90,
                "the retry to send the payout",
            )
            wait_for(lambda: queue_drained(queue), 60, "the killed worker's message to run")
        finally:
            stop_worker(second, second_log)

    payout.refresh_from_db()
    transfers = fake.objects("transfer")
    bank_payouts = fake.objects("payout", account.stripe_account_id)
    assert len(transfers) == 1 and transfers[0]["amount"] == EARNED
    assert len(bank_payouts) == 1 and bank_payouts[0]["amount"] == EARNED
    assert payout.transfer_id == transfers[0]["id"]
    assert payout.stripe_payout_id == bank_payouts[0]["id"]
    # Every attempt used the payout's own idempotency keys.
    assert {r["idempotency_key"] for r in _posts(fake, "/v1/transfers")} <= {
        payout.transfer_idempotency_key
    }
    assert {r["idempotency_key"] for r in _posts(fake, "/v1/payouts")} == {
        payout.payout_idempotency_key
    }

    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid"))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    postings = Transaction.objects.filter(kind=Transaction.Kind.PAYOUT)
    assert sorted(postings.values_list("idempotency_key", flat=True)) == sorted(
        [payout.sent_key, payout.settled_key]
    )
    after = balances(driver)
    assert (after["payable"], after["in_transit"]) == (0, 0)
    assert Payout.objects.filter(driver=driver).count() == 1
    assert check_invariants() == []
