"""The audit log of rules, awards, disputes and money (cms/audit.py, ADR 0016): each action
through its real path (admin view, API, Stripe webhook), with the acting user or the system
actor, before/after values, and visible in Reports → Site history to operators only."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, TestCase

from cms import audit, payments
from cms.api_keys import platform_api_key_create
from cms.models import CheckoutPayment, Organization
from rewards import disputes, payments_ledger, payouts, rules
from rewards.admin_rules import china_today
from rewards.ledger import external_account, platform_funding_account, post_transaction
from rewards.models import Award, Dispute, Payout, PlatformRewardPolicy, RuleVersion
from tests.cms.test_audit import admin_user, entries, seen
from tests.factories import DriverFactory, OperatorFactory, OrganizationFactory
from tests.payments import (
    deliver,
    payments_on,  # noqa: F401
    stripe_fake,  # noqa: F401
)
from tests.rewards.test_admin_rules import quality_form
from tests.rewards.test_awards import link
from tests.rewards.test_payouts import connect, earn, fund_platform

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("admin_in_english")]

RULES = "/admin/reward-rules/"


@pytest.fixture
def platform(db):
    return OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing", name="快行出行")


@pytest.fixture
def staff(platform):
    return admin_user(organization=platform)


@pytest.fixture
def author(db):
    return admin_user(organization=OrganizationFactory(kind=Organization.Kind.SCHOOL))


@pytest.fixture
def operator(db):
    return OperatorFactory()


def only_operators_see(entry, operator, *others) -> None:
    assert seen(operator, entry)
    assert seen(operator, entry, action=entry.action)
    for other in others:
        assert not seen(other, entry)


# --- reward rules and policy -------------------------------------------------------------------


def test_rule_versions_drafted_edited_and_published_in_the_admin(
    client, platform, staff, operator, author
):
    client.force_login(staff)
    response = client.post(f"{RULES}new/quality/", quality_form(name="Five-star month"))
    assert response.status_code == 302
    version = RuleVersion.objects.get()
    effective = (china_today() + timedelta(days=45)).isoformat()
    client.post(
        f"{RULES}{version.pk}/edit/",
        quality_form(name="Five-star month", reward="99.99", effective_from=effective),
    )
    response = client.post(f"{RULES}{version.pk}/publish/")
    assert response.status_code == 302

    [created] = entries("roadwise.rule_version.create", version)
    [edited] = entries("roadwise.rule_version.edit", version)
    [published] = entries("roadwise.rule_version.publish", version)
    assert created.user == edited.user == published.user == staff
    assert created.data["amount_fen"] == 8850 and created.data["platform"] == "kuaixing"
    assert edited.data["changed"] == {"amount_fen": {"before": 8850, "after": 9999}}
    assert published.data["amount_fen"] == 9999
    assert published.data["effective_from"] == effective
    # Publishing again is refused and writes nothing.
    with pytest.raises(ValidationError):
        rules.rule_version_publish(version=version, actor=staff)
    assert len(entries("roadwise.rule_version.publish")) == 1
    only_operators_see(published, operator, staff, author)


def test_a_refused_draft_writes_nothing(client, platform, staff):
    client.force_login(staff)
    response = client.post(f"{RULES}new/quality/", quality_form(reward="-5"))
    assert response.status_code == 200
    assert entries("roadwise.rule_version.create") == []


def test_a_platforms_policy_change_keeps_before_and_after(client, platform, staff, operator):
    client.force_login(staff)
    data = {"daily_cap": "10", "daily_cap_unit": "hours", "notice_days": "45"}
    assert client.post(f"{RULES}policy/", data).status_code == 302
    client.force_login(operator)
    data = {"daily_cap": "", "daily_cap_unit": "minutes", "notice_days": "60"}
    response = client.post(f"{RULES}policy/?platform={platform.pk}", data)
    assert response.status_code == 302
    policy = PlatformRewardPolicy.objects.get(platform=platform)
    first, second = entries("roadwise.reward_policy.update", policy)
    assert first.user == staff and second.user == operator
    assert first.data["before"] == {"daily_cap_minutes": None, "notice_days": None}
    assert first.data["after"] == {"daily_cap_minutes": 600, "notice_days": 45}
    assert second.data["before"] == first.data["after"]
    assert second.data["after"] == {"daily_cap_minutes": None, "notice_days": 60}
    only_operators_see(second, operator, staff)


def test_an_award_through_the_api_names_the_key(platform, operator, staff):
    driver = DriverFactory()
    link(platform, driver, "KX-1001")
    post_transaction(
        idempotency_key="deposit-1",
        kind="deposit",
        legs=[(platform_funding_account(platform), 100_000), (external_account(), -100_000)],
    )
    api_key, raw = platform_api_key_create(organization=platform, name="tests")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    body = {"id": "aw-1", "driver": "KX-1001", "amount_fen": 5000, "reason": "Spring Festival"}
    for _replay in range(2):
        response = api.post("/api/v1/awards", json.dumps(body), content_type="application/json")
        assert response.status_code in (200, 201)
    over = {**body, "id": "aw-2", "amount_fen": 200_000}
    response = api.post("/api/v1/awards", json.dumps(over), content_type="application/json")
    assert response.status_code == 402
    award = Award.objects.get()
    [entry] = entries("roadwise.award.grant")
    assert entry.object_id == str(award.pk) and entry.user is None
    assert entry.data["actor"] == f"API key rw_{api_key.prefix} (kuaixing)"
    assert entry.data["amount_fen"] == 5000 and entry.data["reason"] == "Spring Festival"
    assert entry.data["transaction"] == award.transaction.idempotency_key
    only_operators_see(entry, operator, staff)


# --- disputes ---------------------------------------------------------------------------------


def test_disputes_are_seen_by_operators_only(platform, operator, staff, author):
    from tests.rewards.test_disputes import REASON, _line, _october

    good, _complained = _october(platform)
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    disputes.dispute_resolve(
        dispute=dispute, operator=operator, uphold=True, resolution="Right.", correction_fen=100
    )
    [opened] = entries(disputes.DISPUTE_OPEN, dispute)
    [upheld] = entries(disputes.DISPUTE_UPHOLD, dispute)
    assert opened.user == good and upheld.user == operator
    assert upheld.data["decision"] == "uphold" and upheld.data["correction_fen"] == 100
    assert Dispute.objects.get().status == Dispute.Status.UPHELD
    only_operators_see(upheld, operator, staff, author)
    only_operators_see(opened, operator, staff, author)


# --- payouts, top-ups, refunds (the fake Stripe) -------------------------------------------------


@pytest.fixture
def fake(payments_on):  # noqa: F811 - the imported fixture
    return payments_on


def test_a_payout_from_request_to_paid(client, fake, operator, staff):
    driver = DriverFactory()
    earn(driver)
    account = connect(client, fake, driver)
    fund_platform(fake)
    with TestCase.captureOnCommitCallbacks(execute=True):
        payout = payouts.payout_request(driver=driver)
    payout.refresh_from_db()
    paid = fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid")
    deliver(client, paid)
    deliver(client, {**paid, "id": "evt_paid_again"})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID

    [requested] = entries("roadwise.payout.request", payout)
    [sent] = entries("roadwise.payout.send", payout)
    [settled] = entries("roadwise.payout.paid", payout)
    assert requested.user == driver and requested.data["amount_fen"] == payout.amount_fen
    assert sent.user is None and sent.data["actor"] == audit.SYSTEM_PAYOUT_TASK
    assert sent.data["stripe_payout"] == payout.stripe_payout_id
    assert settled.data["actor"] == audit.SYSTEM_STRIPE
    assert settled.data["status"] == {"before": "in_transit", "after": "paid"}
    assert entries("roadwise.payout.fail") == []
    only_operators_see(settled, operator, staff)


def test_a_failed_payout_is_logged_once(client, fake, operator):
    driver = DriverFactory()
    earn(driver)
    account = connect(client, fake, driver)
    fund_platform(fake)
    with TestCase.captureOnCommitCallbacks(execute=True):
        payout = payouts.payout_request(driver=driver)
    payout.refresh_from_db()
    failed = fake.pay_out(
        account.stripe_account_id,
        payout.stripe_payout_id,
        "failed",
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
    )
    deliver(client, failed)
    deliver(client, {**failed, "id": "evt_failed_again"})
    [entry] = entries("roadwise.payout.fail", payout)
    assert entry.data["code"] == "account_closed"
    assert entry.data["status"]["after"] == "failed"
    assert entry.data["transaction"] == f"payout:{payout.public_id}:returned"
    assert seen(operator, entry)


def test_a_payout_the_bank_returns_after_it_was_paid_is_logged_paid_then_failed(client, fake):
    driver = DriverFactory()
    earn(driver)
    account = connect(client, fake, driver)
    fund_platform(fake)
    with TestCase.captureOnCommitCallbacks(execute=True):
        payout = payouts.payout_request(driver=driver)
    payout.refresh_from_db()
    deliver(client, fake.pay_out(account.stripe_account_id, payout.stripe_payout_id, "paid"))
    returned = fake.pay_out(
        account.stripe_account_id, payout.stripe_payout_id, "failed", failure_code="account_closed"
    )
    deliver(client, returned)
    deliver(client, {**returned, "id": "evt_returned_again"})
    [paid] = entries("roadwise.payout.paid", payout)
    [failed] = entries("roadwise.payout.fail", payout)
    assert failed.data["status"] == {"before": "paid", "after": "failed"}
    assert failed.data["actor"] == audit.SYSTEM_STRIPE and failed.timestamp >= paid.timestamp


@pytest.fixture
def ledger_receivers(monkeypatch):
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        monkeypatch.setattr(signal, "receivers", [])
        signal.sender_receivers_cache.clear()
    payments_ledger.connect_receivers()
    yield
    for signal in (payments.checkout_paid, payments.checkout_refunded, payments.checkout_expired):
        signal.sender_receivers_cache.clear()


def test_a_funding_top_up_and_its_refund(client, fake, ledger_receivers, platform, staff, operator):
    client.force_login(staff)
    client.post("/admin/funding/", {"amount": "250.50"})
    payment = CheckoutPayment.objects.get()
    event = fake.complete_checkout(payment.session_id, payment_method_type="wechat_pay")
    deliver(client, event)
    deliver(client, {**event, "id": "evt_completed_again"})
    [topup] = entries("roadwise.funding.topup", payment)
    assert topup.user is None and topup.data["actor"] == audit.SYSTEM_STRIPE
    assert topup.data["amount_fen"] == 25050 and topup.data["requested_by"] == staff.pk
    assert topup.data["platform"] == "kuaixing"

    payment.refresh_from_db()
    fake.client().v1.refunds.create({"payment_intent": payment.payment_intent_id})
    refunded = fake.events("charge.refunded")[-1]
    deliver(client, refunded)
    deliver(client, {**refunded, "id": "evt_refunded_again"})
    [refund] = entries("roadwise.payment.refund", payment)
    assert refund.data["amount_fen"] == 25050 and refund.data["purpose"] == "funding"
    only_operators_see(topup, operator, staff)
    only_operators_see(refund, operator, staff)
