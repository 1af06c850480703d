"""Drivers' payouts through Stripe Connect Express, against the fake Stripe: connecting,
paying out the payable balance once (timeouts, 500s, retries, replays and events out of order
included), failures returning the money, and concurrent requests on PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from cms.models import Organization, PaymentAlert
from rewards import ledger, payouts, tasks
from rewards.models import Account, Payout, PayoutAccount, Transaction
from rewards.payouts import PayoutRefused
from rewards.rules import CHINA
from rewards.statements import statement_months
from tests.concurrency import race
from tests.factories import (
    AuthorFactory,
    DriverFactory,
    OperatorFactory,
    OrganizationFactory,
    PlatformStaffFactory,
)
from tests.payments import (
    deliver,
    payments_on,  # noqa: F401
    stripe_fake,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    """Payments on, against the fake Stripe (tests.payments.payments_on)."""
    return payments_on


EARNED = 25000  # ¥250
PAGE = "/en/rewards/payouts/"


# --- helpers -------------------------------------------------------------------------------


def earn(driver, amount=EARNED, key="reward-1"):
    """The driver is owed ``amount``: a platform deposits it and rewards the driver."""
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    funding = ledger.platform_funding_account(platform)
    ledger.post_transaction(
        idempotency_key=f"{key}:deposit",
        kind=Transaction.Kind.DEPOSIT,
        legs=[(funding, amount), (ledger.external_account(), -amount)],
    )
    ledger.post_transaction(
        idempotency_key=key,
        kind=Transaction.Kind.REWARD,
        legs=[(funding, -amount), (ledger.driver_payable_account(driver), amount)],
    )


def balances(driver) -> dict:
    def of(kind, **owner):
        account = Account.objects.filter(kind=kind, currency="CNY", **owner).first()
        return ledger.balance(account) if account else 0

    return {
        "payable": of(Account.Kind.DRIVER_PAYABLE, user=driver),
        "in_transit": of(Account.Kind.PAYOUTS_IN_TRANSIT),
        "external": of(Account.Kind.EXTERNAL),
    }


def connect(client, fake, driver, *, onboard=True) -> PayoutAccount:
    """The driver connects through the page, and (by default) finishes onboarding."""
    client.force_login(driver)
    response = client.post("/en/rewards/payouts/connect/")
    assert response.status_code == 302
    account = PayoutAccount.objects.get(driver=driver)
    assert response["Location"].startswith(f"{fake.url}/setup/e/{account.stripe_account_id}/")
    if onboard:
        deliver(client, fake.onboard(account.stripe_account_id))
        account.refresh_from_db()
        assert account.is_ready
    return account


def fund_platform(fake, amount=10_000_000):
    """Money on the platform's Stripe balance for transfers."""
    fake.plant_balance_transaction(amount, "cny", type="adjustment")


def request(driver, **kwargs) -> Payout:
    """Request a payout and run what is queued on commit (sending it to Stripe)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        payout = payouts.payout_request(driver=driver, **kwargs)
    payout.refresh_from_db()
    return payout


def later(**delta):
    return timezone.now() + timedelta(**delta)


@pytest.fixture
def ready(client, fake):
    """A driver owed ¥250 with a ready Stripe account, and a funded platform."""
    driver = DriverFactory()
    earn(driver)
    account = connect(client, fake, driver)
    fund_platform(fake)
    return driver, account


# --- connecting ----------------------------------------------------------------------------


def test_connecting_creates_one_express_account_and_sends_the_driver_to_stripe(
    client, fake, settings
):
    settings.STRIPE_CONNECT_COUNTRY = "GB"
    driver = DriverFactory()
    client.force_login(driver)
    page = client.get(PAGE)
    assert 'data-account-status="not_connected"' in page.content.decode()

    account = connect(client, fake, driver, onboard=False)
    remote = fake.get(account.stripe_account_id)
    assert remote["type"] == "express" and remote["country"] == "GB"
    assert remote["capabilities"] == {"transfers": "inactive"}
    assert remote["settings"]["payouts"]["schedule"]["interval"] == "manual"
    assert remote["metadata"] == {"driver": str(driver.public_id)}
    created = [r for r in fake.requests if r["path"] == "/v1/accounts"]
    assert created[0]["idempotency_key"] == f"connect:{driver.public_id}:account"
    link = [r for r in fake.requests if r["path"] == "/v1/account_links"][-1]["params"]
    assert link["type"] == "account_onboarding"
    assert link["return_url"] == "http://testserver/en/rewards/payouts/return/"
    assert link["refresh_url"] == "http://testserver/en/rewards/payouts/connect/"

    # Again (or Stripe's refresh address): a new link, the same account.
    assert client.get("/en/rewards/payouts/connect/").status_code == 302
    assert client.post("/en/rewards/payouts/connect/").status_code == 302
    assert len(fake.objects("account")) == 1
    assert not account.is_ready
    html = client.get(PAGE).content.decode()
    assert 'data-account-status="information_needed"' in html
    assert "bank account" in html and "date of birth" in html and "address" in html


def test_the_return_page_asks_stripe(client, fake):
    driver = DriverFactory()
    account = connect(client, fake, driver, onboard=False)
    fake.onboard(account.stripe_account_id)  # no webhook yet
    response = client.get("/en/rewards/payouts/return/", follow=True)
    account.refresh_from_db()
    assert account.is_ready and account.details_submitted and account.requirements_due == []
    assert 'data-account-status="ready"' in response.content.decode()


def test_account_updated_webhooks_follow_stripe(client, fake):
    driver = DriverFactory()
    account = connect(client, fake, driver)
    event = fake.require_more_information(
        account.stripe_account_id, ["individual.verification.document"]
    )
    deliver(client, event)
    account.refresh_from_db()
    assert not account.is_ready
    assert account.requirements_due == ["individual.verification.document"]
    assert account.status == PayoutAccount.Status.INFORMATION_NEEDED
    assert "identity document" in client.get(PAGE).content.decode()


def test_an_account_created_while_our_request_timed_out_is_adopted(client, fake):
    driver = DriverFactory()
    remote = fake.client().v1.accounts.create(
        {
            "type": "express",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"driver": str(driver.public_id)},
        }
    )
    deliver(client, fake.onboard(remote.id))
    assert PayoutAccount.objects.get(driver=driver).stripe_account_id == remote.id


def test_not_configured_is_said_clearly(client, settings, db):
    settings.STRIPE_SECRET_KEY = ""
    driver = DriverFactory()
    earn(driver)
    client.force_login(driver)
    html = client.get(PAGE).content.decode()
    assert "data-not-configured" in html and "data-pay-out" not in html
    response = client.post("/en/rewards/payouts/connect/", follow=True)
    assert "Payments are not configured on this site" in response.content.decode()
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=driver)
    assert refused.value.code == "not_configured"
    assert "not configured" in str(refused.value)
    response = client.post(PAGE, {"action": "payout"}, follow=True)
    assert "Payments are not configured on this site" in response.content.decode()
    assert not Payout.objects.exists()


def test_the_pages_need_a_login(client, db):
    for url in (PAGE, "/en/rewards/payouts/connect/", "/en/rewards/payouts/return/"):
        assert client.get(url).status_code == 302
        assert "/accounts/login/" in client.get(url)["Location"]


# --- paying out ----------------------------------------------------------------------------


def test_a_payout_pays_the_whole_balance_once(client, fake, ready):
    driver, account = ready
    with TestCase.captureOnCommitCallbacks(execute=True):  # the task runs eagerly
        response = client.post(PAGE, {"action": "payout"}, follow=True)
    assert "¥250.00 is on its way to your bank account" in response.content.decode()
    payout = Payout.objects.get()
    assert payout.amount_fen == EARNED and payout.status == Payout.Status.IN_TRANSIT
    assert balances(driver) == {"payable": 0, "in_transit": EARNED, "external": -EARNED}
    sent = Transaction.objects.get(idempotency_key=f"payout:{payout.public_id}:sent")
    assert sent.kind == Transaction.Kind.PAYOUT

    [transfer] = fake.objects("transfer")
    assert transfer["id"] == payout.transfer_id and transfer["amount"] == EARNED
    assert transfer["destination"] == account.stripe_account_id
    assert transfer["metadata"]["payout"] == str(payout.public_id)
    [remote] = fake.objects("payout", account=account.stripe_account_id)
    assert remote["id"] == payout.stripe_payout_id
    assert remote["metadata"] == {"payout": str(payout.public_id)}
    keys = {r["path"]: r["idempotency_key"] for r in fake.requests if r["method"] == "POST"}
    assert keys["/v1/transfers"] == f"payout:{payout.public_id}:transfer"
    assert keys["/v1/payouts"] == f"payout:{payout.public_id}:payout"

    for event in fake.events("transfer.created") + fake.events("payout.created"):
        deliver(client, event)
    paid = fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid")
    deliver(client, paid)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.paid_at is not None
    assert balances(driver) == {"payable": 0, "in_transit": 0, "external": 0}
    settled = Transaction.objects.get(idempotency_key=f"payout:{payout.public_id}:settled")
    assert settled.metadata["stripe_payout"] == payout.stripe_payout_id

    # Replays: the same event, a new event about the same payout, the sweeper.
    count = Transaction.objects.count()
    deliver(client, paid)
    deliver(client, {**paid, "id": "evt_paid_again"})
    tasks.payouts_retry.apply(kwargs={})
    payouts.payouts_retry(now=later(days=3))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert Transaction.objects.count() == count
    assert len(fake.objects("transfer")) == 1
    assert ledger.check_invariants() == []
    html = client.get(PAGE).content.decode()
    assert f'data-payout="{payout.public_id}" data-status="paid"' in html


def test_a_part_of_the_balance_and_the_limits(client, fake, ready):
    driver, _account = ready
    for amount, code in ((EARNED + 1, "too_large"), (999, "too_small"), (10.5, "invalid")):
        with pytest.raises(PayoutRefused) as refused:
            payouts.payout_request(driver=driver, amount_fen=amount)
        assert refused.value.code == code
    payout = request(driver, amount_fen=1000)
    assert payout.amount_fen == 1000
    assert balances(driver)["payable"] == EARNED - 1000
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=driver)
    assert refused.value.code == "unfinished"
    assert Payout.objects.count() == 1
    assert ledger.check_invariants() == []


def test_no_payout_without_a_ready_account_or_a_balance(client, fake):
    driver = DriverFactory()
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=driver)
    assert refused.value.code == "not_connected"
    connect(client, fake, driver, onboard=False)
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=driver)
    assert refused.value.code == "not_ready"
    deliver(client, fake.onboard(PayoutAccount.objects.get().stripe_account_id))
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=driver)
    assert refused.value.code == "too_small"
    response = client.post(PAGE, {"action": "payout"}, follow=True)
    assert "The smallest payout is ¥10.00" in response.content.decode()
    assert not Payout.objects.exists() and not Transaction.objects.exists()


def test_a_failed_payout_returns_the_money_once(client, fake, ready):
    driver, account = ready
    payout = request(driver)
    failed = fake.pay_out(
        account.stripe_account_id,
        payout.stripe_payout_id,
        "failed",
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
    )
    deliver(client, failed)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_code == "account_closed"
    assert payout.transfer_reversal_id
    assert balances(driver) == {"payable": EARNED, "in_transit": 0, "external": -EARNED}
    returned = Transaction.objects.get(idempotency_key=f"payout:{payout.public_id}:returned")
    assert returned.kind == Transaction.Kind.PAYOUT
    assert returned.metadata["stage"] == "returned"
    assert returned.metadata["stripe_transfer_reversal"] == payout.transfer_reversal_id
    transfer = fake.get(payout.transfer_id)
    assert transfer["reversed"] and len(transfer["reversals"]["data"]) == 1

    # Our own reversal's webhook, and replays: nothing more.
    count = Transaction.objects.count()
    deliver(client, fake.events("transfer.reversed")[-1])
    deliver(client, failed)
    deliver(client, {**failed, "id": "evt_failed_again"})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert Transaction.objects.count() == count
    assert len(fake.objects("transfer_reversal")) == 1
    assert ledger.check_invariants() == []

    html = client.get(PAGE).content.decode()
    assert f'data-payout="{payout.public_id}" data-status="failed"' in html
    assert "The bank account has been closed." in html
    # The driver can pay out again.
    assert request(driver).amount_fen == EARNED


def test_payout_paid_before_transfer_created_ends_paid(client, fake, ready):
    """The task timed out after Stripe created the bank payout (we never learned its id), and
    the events arrive in the wrong order: payout.paid first, transfer.created last."""
    driver, account = ready
    fake.accept_then_timeout("POST", "/v1/payouts", seconds=3)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING and payout.stripe_payout_id == ""
    assert "APIConnectionError" in payout.last_error
    [remote] = fake.objects("payout", account=account.stripe_account_id)
    Payout.objects.filter(pk=payout.pk).update(transfer_id="")  # as if that was lost too

    deliver(client, fake.pay_out(account.stripe_account_id, remote["id"], "paid"))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.stripe_payout_id == remote["id"]
    assert balances(driver) == {"payable": 0, "in_transit": 0, "external": 0}

    deliver(client, fake.events("transfer.created")[-1])
    payout.refresh_from_db()
    assert payout.transfer_id == fake.objects("transfer")[0]["id"]
    payouts.payouts_retry(now=later(days=1))
    assert len(fake.objects("transfer")) == 1
    assert len(fake.objects("payout", account=account.stripe_account_id)) == 1
    assert Transaction.objects.filter(idempotency_key__startswith="payout:").count() == 2
    assert ledger.check_invariants() == []


def test_a_timeout_after_stripe_accepted_the_transfer_then_a_retry_makes_one_transfer(
    client, fake, ready
):
    driver, account = ready
    fake.accept_then_timeout("POST", "/v1/transfers", seconds=3)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING
    assert payout.transfer_id == "" and payout.attempts == 1
    assert payout.next_attempt_at > timezone.now()
    assert len(fake.objects("transfer")) == 1  # Stripe did it

    assert payouts.payouts_retry() == []  # not due yet
    assert payouts.payouts_retry(now=later(hours=1)) == [str(payout.public_id)]
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT and payout.last_error == ""
    [transfer] = fake.objects("transfer")
    assert payout.transfer_id == transfer["id"]
    replayed = [r for r in fake.requests if r["path"] == "/v1/transfers"]
    assert [r["replayed"] for r in replayed] == [False, True]
    assert len(fake.objects("payout", account=account.stripe_account_id)) == 1
    assert balances(driver) == {"payable": 0, "in_transit": EARNED, "external": -EARNED}
    assert ledger.check_invariants() == []


def test_stripe_answering_500_leaves_the_payout_pending_until_a_retry(client, fake, ready):
    driver, account = ready
    fake.fail_next("POST", "/v1/transfers", status=500)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING
    assert "APIError 500" in payout.last_error
    assert not fake.objects("transfer")
    html = client.get(PAGE).content.decode()
    assert 'data-status="pending"' in html

    fake.fail_next("POST", "/v1/payouts", status=500)
    payouts.payouts_retry(now=later(hours=1))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PENDING and payout.transfer_id
    assert payout.attempts == 2

    tasks.payouts_retry.apply(kwargs={})  # the beat task: not due yet
    payouts.payouts_retry(now=later(days=1))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT
    assert len(fake.objects("transfer")) == 1
    assert len(fake.objects("payout", account=account.stripe_account_id)) == 1
    assert ledger.check_invariants() == []


def test_a_refusal_by_stripe_fails_the_payout_and_returns_the_money(client, fake):
    driver = DriverFactory()
    earn(driver)
    connect(client, fake, driver)  # the platform's Stripe balance is empty
    payout = request(driver)
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_code == "balance_insufficient"
    assert "insufficient available funds" in payout.failure_message  # for operators
    html = client.get(PAGE).content.decode()
    assert "Payouts are paused for a moment" in html and "available funds" not in html
    assert payout.transfer_id == ""
    assert balances(driver) == {"payable": EARNED, "in_transit": 0, "external": -EARNED}
    assert not fake.objects("transfer")
    assert ledger.check_invariants() == []


def test_a_refused_bank_payout_reverses_the_transfer(client, fake, ready):
    driver, account = ready
    fake.require_more_information(account.stripe_account_id, ["external_account"])
    payout = request(driver)  # our account row still says ready; Stripe refuses the payout
    assert payout.status == Payout.Status.FAILED
    assert payout.failure_code == "payouts_not_allowed"
    assert fake.get(payout.transfer_id)["reversed"]
    assert balances(driver) == {"payable": EARNED, "in_transit": 0, "external": -EARNED}
    assert ledger.check_invariants() == []


def test_a_transfer_reversed_in_stripe_returns_the_money_once(client, fake, ready):
    driver, account = ready
    payout = request(driver)
    fake.client().v1.transfers.reversals.create(payout.transfer_id)
    event = fake.events("transfer.reversed")[-1]
    deliver(client, event)
    deliver(client, {**event, "id": "evt_reversed_again"})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.REVERSED
    assert balances(driver) == {"payable": EARNED, "in_transit": 0, "external": -EARNED}
    assert Transaction.objects.filter(idempotency_key__endswith=":returned").count() == 1
    assert "cancelled" in client.get(PAGE).content.decode()
    assert ledger.check_invariants() == []


def test_a_transfer_reversed_while_the_bank_payout_is_on_its_way_returns_nothing(
    client, fake, ready
):
    """The money has left the connected account for the bank: putting it back on the
    driver's balance too would pay it twice. An operator is told; the payout ends paid."""
    driver, account = ready
    payout = request(driver)
    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "in_transit"))
    fake.client().v1.transfers.reversals.create(payout.transfer_id)
    deliver(client, fake.events("transfer.reversed")[-1])
    payout.refresh_from_db()
    assert payout.status != Payout.Status.REVERSED
    assert balances(driver)["payable"] == 0
    [alert] = PaymentAlert.objects.all()
    assert alert.kind == PaymentAlert.Kind.TRANSFER_REVERSED_PAID
    assert alert.reference == payout.transfer_id and alert.amount_fen == EARNED
    assert "would be paid twice" in alert.message
    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid"))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert balances(driver) == {"payable": 0, "in_transit": 0, "external": 0}
    assert not Transaction.objects.filter(idempotency_key__endswith=":returned").exists()
    assert ledger.check_invariants() == []


def test_events_for_payouts_that_are_not_ours_are_ignored(client, fake, ready):
    _driver, account = ready
    deliver(
        client,
        fake.event(
            "payout.paid",
            {"id": "po_foreign", "object": "payout", "status": "paid", "metadata": {}},
            account.stripe_account_id,
        ),
    )
    deliver(
        client,
        fake.event(
            "transfer.reversed",
            {"id": "tr_foreign", "object": "transfer", "metadata": {}, "transfer_group": None},
        ),
    )
    assert not Payout.objects.exists()


def test_the_statement_lists_payouts_and_their_return(client, fake, ready):
    driver, account = ready
    payout = request(driver)
    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "failed"))
    month = timezone.localtime(timezone.now(), CHINA)
    html = client.get(f"/en/rewards/statements/{month:%Y-%m}/").content.decode()
    # Out, and back, each with the payout's state or reason.
    assert "Payout to your bank account: Failed, money returned to your balance" in html
    assert "Payout returned to your balance: The bank account has been closed." in html
    # A returned payout is not earnings.
    assert all(money.fen == 0 for row in statement_months(driver) for money in row.earned)
    sent, returned = (
        Transaction.objects.get(idempotency_key=f"payout:{payout.public_id}:{stage}")
        for stage in ("sent", "returned")
    )
    assert payouts.movement_description(sent) == (
        "Payout to your bank account: Failed, money returned to your balance"
    )
    assert payouts.movement_description(returned) == (
        "Payout returned to your balance: The bank account has been closed."
    )
    assert payouts.movement_description(Transaction.objects.first()) is None


# --- concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_payout_requests_never_overdraw(client, fake):
    driver = DriverFactory()
    earn(driver)
    connect(client, fake, driver)
    fund_platform(fake)

    def attempt(amount):
        return lambda: payouts.payout_request(driver=driver, amount_fen=amount)

    outcomes = race([attempt(None) for _ in range(4)] + [attempt(2000) for _ in range(4)])

    made = [o for o in outcomes if isinstance(o, Payout)]
    refused = [o for o in outcomes if isinstance(o, PayoutRefused)]
    assert len(made) == 1 and len(refused) == 7, outcomes
    payout = Payout.objects.get()
    assert balances(driver)["payable"] == EARNED - payout.amount_fen >= 0
    assert Transaction.objects.filter(idempotency_key__endswith=":sent").count() == 1
    assert ledger.check_invariants() == []


def test_a_payout_the_bank_returns_after_it_was_paid_goes_back_to_the_balance(client, fake, ready):
    """Stripe: a paid payout can still fail days later when the bank sends it back. The money
    is on the driver's connected account again: it is taken back (a transfer reversal) and put
    on the driver's balance, once, and an operator is told."""
    driver, account = ready
    payout = request(driver)
    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid"))
    assert balances(driver) == {"payable": 0, "in_transit": 0, "external": 0}
    returned = fake.pay_out(
        account.stripe_account_id,
        payout.stripe_payout_id,
        "failed",
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
    )
    deliver(client, returned)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED and payout.failure_code == "account_closed"
    assert payout.transfer_reversal_id
    assert fake.get(payout.transfer_id)["reversed"]
    assert fake.balance(account.stripe_account_id).get("cny", 0) == 0
    assert balances(driver) == {"payable": EARNED, "in_transit": 0, "external": -EARNED}
    [alert] = PaymentAlert.objects.all()
    assert alert.kind == PaymentAlert.Kind.PAYOUT_RETURNED_AFTER_PAID
    assert alert.reference == str(payout.public_id) and alert.resolved_at is None

    count = Transaction.objects.count()
    deliver(client, returned)
    deliver(client, {**returned, "id": "evt_returned_again"})
    deliver(client, fake.events("transfer.reversed")[-1])
    assert Transaction.objects.count() == count
    assert PaymentAlert.objects.count() == 1 and len(fake.objects("transfer_reversal")) == 1
    assert ledger.check_invariants() == []
    html = client.get(PAGE).content.decode()
    assert f'data-payout="{payout.public_id}" data-status="failed"' in html
    assert "The bank account has been closed." in html
    # The reconciliation finds the reversal booked.
    from rewards.reconcile import reconcile

    report = reconcile(timezone.now() - timedelta(hours=1), later(minutes=1))
    assert [d for d in report.differences if payout.transfer_id in d.source] == []
    assert not [d for d in report.differences if d.source == payout.transfer_reversal_id]
    # The driver can pay out again.
    assert request(driver).amount_fen == EARNED


def _two_days_old(payout):
    Payout.objects.filter(pk=payout.pk).update(created_at=timezone.now() - timedelta(days=2))


def test_a_retry_after_stripe_forgot_the_keys_finds_the_transfer_it_made(client, fake, ready):
    """The transfer went through but the answer was lost, and the next attempt comes after
    Stripe has pruned its idempotency keys (24 hours): the retry looks the transfer up first
    instead of making a second one."""
    driver, account = ready
    fake.accept_then_timeout("POST", "/v1/transfers", seconds=3)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING and payout.transfer_id == ""
    fake.forget_idempotency_keys()
    _two_days_old(payout)
    payouts.payouts_retry(now=later(days=1))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT
    [transfer] = fake.objects("transfer")
    assert payout.transfer_id == transfer["id"]
    assert len(fake.objects("payout", account=account.stripe_account_id)) == 1
    assert balances(driver) == {"payable": 0, "in_transit": EARNED, "external": -EARNED}


def test_a_retry_after_stripe_forgot_the_keys_finds_the_bank_payout_it_made(client, fake, ready):
    driver, account = ready
    fake.accept_then_timeout("POST", "/v1/payouts", seconds=3)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING and payout.transfer_id
    fake.forget_idempotency_keys()
    _two_days_old(payout)
    payouts.payouts_retry(now=later(days=1))
    payout.refresh_from_db()
    [remote] = fake.objects("payout", account=account.stripe_account_id)
    assert payout.status == Payout.Status.IN_TRANSIT and payout.stripe_payout_id == remote["id"]
    assert len(fake.objects("transfer")) == 1


def test_a_payout_failing_to_send_for_a_day_alerts_an_operator_once(client, fake, ready):
    driver, _account = ready
    fake.fail_next("POST", "/v1/transfers", status=500, times=10)
    payout = request(driver)
    assert payout.status == Payout.Status.PENDING
    assert not PaymentAlert.objects.exists()  # an hour of trouble is not an alert
    Payout.objects.filter(pk=payout.pk).update(created_at=timezone.now() - timedelta(hours=21))
    payouts.payouts_retry(now=later(days=1))
    payouts.payouts_retry(now=later(days=2))
    [alert] = PaymentAlert.objects.all()
    assert alert.kind == PaymentAlert.Kind.PAYOUT_DELAYED
    assert alert.reference == str(payout.public_id) and "APIError 500" in alert.message
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PENDING and payout.attempts == 3
    assert not fake.objects("transfer")


@pytest.mark.parametrize("kind", ["author", "platform", "operator"])
def test_payouts_are_for_drivers_only(client, fake, kind):
    user = {"author": AuthorFactory, "platform": PlatformStaffFactory, "operator": OperatorFactory}[
        kind
    ]()
    client.force_login(user)
    for url in (PAGE, "/en/rewards/payouts/connect/", "/en/rewards/payouts/return/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Payouts are for drivers" in response.content.decode()
    assert client.post("/en/rewards/payouts/connect/").status_code == 403
    assert client.post(PAGE, {"action": "payout"}).status_code == 403
    with pytest.raises(PayoutRefused) as refused:
        payouts.payout_request(driver=user)
    assert refused.value.code == "not_driver"
    assert not PayoutAccount.objects.exists() and not fake.objects("account")
