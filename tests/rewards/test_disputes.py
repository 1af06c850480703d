"""Drivers dispute a reward line or an upheld complaint; operators resolve it. An upheld dispute
with a correction posts exactly one adjustment; everything is in the audit log."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from rewards import disputes
from rewards.dispute_admin import parse_correction
from rewards.ledger import (
    balance,
    check_invariants,
    driver_payable_account,
    platform_funding_account,
)
from rewards.models import Dispute, RewardLine, ServiceEvent, Transaction
from tests.concurrency import race
from tests.factories import DriverFactory, OperatorFactory
from tests.rewards.test_statements import (
    OCT_1,
    OCT_31,
    QUALITY,
    SAFETY,
    china,
    deposit,
    driver_linked,
    make_platform,
    publish,
    report,
    run_month,
)

REASON = "The platform did not count my trips of 31 October."


def _october(platform, *, funding=100_000):
    """Quality ¥50 and safety ¥30 rules; 司机1 earns both, 司机2 loses quality to one upheld
    complaint (and has a dismissed one); October's run posted on 5 November."""
    publish(platform, "quality", QUALITY, amount_fen=5000, effective_from=OCT_1)
    publish(platform, "safety", SAFETY, amount_fen=3000, effective_from=OCT_1)
    if funding:
        deposit(platform, funding)
    good = driver_linked(platform, 1)
    report(platform, good, when=china(2026, 10, 10), trips=100, ratings=[5] * 10)
    complained = driver_linked(platform, 2)
    report(
        platform,
        complained,
        when=china(2026, 10, 11),
        trips=110,
        ratings=[5] * 10,
        upheld=1,
        dismissed=1,
    )
    run_month(platform, OCT_1, OCT_31, china(2026, 11, 5))
    return good, complained


@pytest.fixture
def platform(db):
    return make_platform()


@pytest.fixture
def october(platform):
    return _october(platform)


@pytest.fixture
def operator(db):
    return OperatorFactory()


def _line(driver, kind="quality") -> RewardLine:
    return RewardLine.objects.get(driver=driver, rule_version__kind=kind)


def _complaint(driver, outcome="upheld") -> ServiceEvent:
    return ServiceEvent.objects.get(driver=driver, kind="complaint", outcome=outcome)


def _actions(dispute) -> list[str]:
    return sorted(log_registry.get_logs_for_instance(dispute).values_list("action", flat=True))


# --- opening --------------------------------------------------------------------------------------


def test_a_driver_disputes_their_own_line(october, platform):
    good, _complained = october
    line = _line(good, "safety")
    dispute = disputes.dispute_open(driver=good, reason=f"  {REASON}  ", reward_line=line)
    assert dispute.status == "open" and dispute.reason == REASON
    assert (dispute.platform, dispute.period_start) == (platform, OCT_1)
    assert _actions(dispute) == ["rewards.dispute.open"]
    entry = log_registry.get_logs_for_instance(dispute).get()
    assert entry.user == good and entry.data["reason"] == REASON


def test_a_driver_disputes_an_upheld_complaint(october):
    _good, complained = october
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    assert dispute.period_start == OCT_1 and dispute.reward_line is None


def test_someone_elses_line_or_complaint_is_refused(october):
    good, complained = october
    with pytest.raises(PermissionDenied):
        disputes.dispute_open(driver=complained, reason=REASON, reward_line=_line(good))
    with pytest.raises(PermissionDenied):
        disputes.dispute_open(driver=good, reason=REASON, complaint=_complaint(complained))
    assert not Dispute.objects.exists()


def test_a_complaint_that_was_not_upheld_or_not_a_complaint_is_refused(october):
    _good, complained = october
    with pytest.raises(ValidationError, match="Only an upheld complaint"):
        disputes.dispute_open(
            driver=complained, reason=REASON, complaint=_complaint(complained, "dismissed")
        )
    trip = ServiceEvent.objects.filter(driver=complained, kind="trip").first()
    with pytest.raises(ValidationError, match="Only a complaint"):
        disputes.dispute_open(driver=complained, reason=REASON, complaint=trip)
    assert not Dispute.objects.exists()


def test_the_reason_is_10_to_2000_characters(october):
    good, _complained = october
    for reason in ("", "   ", "too short", "x" * 2001):
        with pytest.raises(ValidationError, match="characters"):
            disputes.dispute_open(driver=good, reason=reason, reward_line=_line(good))
    assert disputes.dispute_open(driver=good, reason="x" * 2000, reward_line=_line(good))


def test_exactly_one_of_line_or_complaint(october):
    good, complained = october
    with pytest.raises(ValidationError, match="one reward line or one complaint"):
        disputes.dispute_open(driver=good, reason=REASON)
    with pytest.raises(ValidationError, match="one reward line or one complaint"):
        disputes.dispute_open(
            driver=complained,
            reason=REASON,
            reward_line=_line(complained, "safety"),
            complaint=_complaint(complained),
        )


def test_one_open_dispute_per_line_and_a_new_one_after_it_is_resolved(october, operator):
    good, _complained = october
    first = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    with pytest.raises(ValidationError, match="already have an open dispute"):
        disputes.dispute_open(driver=good, reason=REASON + " Again.", reward_line=_line(good))
    disputes.dispute_resolve(
        dispute=first, operator=operator, uphold=False, resolution="The trips were counted."
    )
    again = disputes.dispute_open(driver=good, reason=REASON + " Again.", reward_line=_line(good))
    assert again.pk != first.pk and Dispute.objects.count() == 2


# --- the suggested correction ---------------------------------------------------------------------


def test_the_suggestion_for_a_complaint_is_the_reward_it_cost(october):
    good, complained = october
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    assert disputes.suggested_correction(dispute) == 5000  # the quality reward, not paid
    line_dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    assert disputes.suggested_correction(line_dispute) is None


def test_no_suggestion_when_the_complaint_did_not_decide_the_reward(platform):
    publish(platform, "quality", QUALITY, amount_fen=5000, effective_from=OCT_1)
    deposit(platform, 10_000)
    driver = driver_linked(platform, 3)
    report(platform, driver, when=china(2026, 10, 9), trips=20, ratings=[5] * 5, upheld=1)
    run_month(platform, OCT_1, OCT_31, china(2026, 11, 5))
    dispute = disputes.dispute_open(driver=driver, reason=REASON, complaint=_complaint(driver))
    assert disputes.suggested_correction(dispute) == 0  # too few trips anyway


# --- resolving ------------------------------------------------------------------------------------


def test_upheld_posts_exactly_one_adjustment_and_is_never_resolved_again(
    october, platform, operator
):
    _good, complained = october
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    payable = driver_payable_account(complained)
    funding = platform_funding_account(platform)
    before = (balance(payable), balance(funding))

    resolved = disputes.dispute_resolve(
        dispute=dispute,
        operator=operator,
        uphold=True,
        resolution="The passenger withdrew the complaint.",
        correction_fen=5000,
    )
    assert resolved.status == "upheld" and resolved.resolved_by == operator
    posted = resolved.correction_transaction
    assert posted.kind == "adjustment" and posted.idempotency_key == f"dispute:{dispute.public_id}"
    assert (balance(payable), balance(funding)) == (before[0] + 5000, before[1] - 5000)

    with pytest.raises(ValidationError, match="already upheld"):
        disputes.dispute_resolve(
            dispute=dispute,
            operator=operator,
            uphold=True,
            resolution="Again.",
            correction_fen=5000,
        )
    with pytest.raises(ValidationError, match="not resolved again"):
        disputes.dispute_resolve(dispute=dispute, operator=operator, uphold=False, resolution="No.")
    assert Transaction.objects.filter(kind="adjustment").count() == 1
    assert balance(payable) == before[0] + 5000
    assert _actions(dispute) == ["rewards.dispute.open", "rewards.dispute.uphold"]
    dispute.refresh_from_db()
    assert dispute.resolution == "The passenger withdrew the complaint."
    assert check_invariants() == []


def test_a_negative_correction_takes_money_back(october, platform, operator):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    payable = driver_payable_account(good)
    assert balance(payable) == 8000
    disputes.dispute_resolve(
        dispute=dispute,
        operator=operator,
        uphold=True,
        resolution="Ten of the trips were test trips.",
        correction_fen=-1500,
    )
    assert balance(payable) == 6500
    entries = dict(
        Transaction.objects.get(kind="adjustment").entries.values_list(
            "account__kind", "amount_fen"
        )
    )
    assert entries == {"driver_payable": -1500, "platform_funding": 1500}


def test_rejected_posts_nothing(october, operator):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    count = Transaction.objects.count()
    with pytest.raises(ValidationError, match="corrects nothing"):
        disputes.dispute_resolve(
            dispute=dispute, operator=operator, uphold=False, resolution="No.", correction_fen=100
        )
    rejected = disputes.dispute_resolve(
        dispute=dispute, operator=operator, uphold=False, resolution="The trips were counted."
    )
    assert rejected.status == "rejected" and rejected.correction_transaction is None
    assert Transaction.objects.count() == count
    assert _actions(dispute) == ["rewards.dispute.open", "rewards.dispute.reject"]


def test_upheld_without_a_correction_moves_no_money(october, operator):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    count = Transaction.objects.count()
    resolved = disputes.dispute_resolve(
        dispute=dispute, operator=operator, uphold=True, resolution="Noted; paid correctly."
    )
    assert resolved.status == "upheld" and Transaction.objects.count() == count


def test_insufficient_funding_leaves_the_dispute_open(platform, operator):
    _good, complained = _october(platform, funding=11_000)  # all spent by the run
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    count = Transaction.objects.count()
    with pytest.raises(ValidationError, match="stays open"):
        disputes.dispute_resolve(
            dispute=dispute,
            operator=operator,
            uphold=True,
            resolution="The passenger withdrew the complaint.",
            correction_fen=5000,
        )
    dispute.refresh_from_db()
    assert dispute.status == "open" and dispute.resolved_at is None and dispute.resolution == ""
    assert Transaction.objects.count() == count
    assert _actions(dispute) == ["rewards.dispute.open"]


def test_taking_back_more_than_the_driver_is_owed_is_refused(october, operator):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    with pytest.raises(ValidationError, match="owed less"):
        disputes.dispute_resolve(
            dispute=dispute,
            operator=operator,
            uphold=True,
            resolution="Overpaid.",
            correction_fen=-9000,
        )
    dispute.refresh_from_db()
    assert dispute.status == "open"


def test_only_an_operator_resolves_with_a_resolution(october):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    for someone in (good, DriverFactory(is_staff=True)):
        with pytest.raises(PermissionDenied):
            disputes.dispute_resolve(
                dispute=dispute, operator=someone, uphold=True, resolution="Yes", correction_fen=1
            )
    with pytest.raises(ValidationError, match="Say how"):
        disputes.dispute_resolve(
            dispute=dispute, operator=OperatorFactory(), uphold=False, resolution="   "
        )
    with pytest.raises(ValidationError, match="whole number"):
        disputes.dispute_resolve(
            dispute=dispute,
            operator=OperatorFactory(),
            uphold=True,
            resolution="Yes",
            correction_fen=12.5,
        )
    dispute.refresh_from_db()
    assert dispute.status == "open"


# --- parsing a correction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "fen"),
    [
        ("12.5", "yuan", 1250),
        ("12.50", "yuan", 1250),
        ("-3", "yuan", -300),
        ("¥1,234.56", "yuan", 123456),
        ("0.07", "yuan", 7),
        ("+20", "yuan", 2000),
        ("", "yuan", None),
        ("1250", "fen", 1250),
        ("-300", "fen", -300),
    ],
)
def test_corrections_are_parsed_without_floats(text, unit, fen):
    assert parse_correction(text, unit) == fen


@pytest.mark.parametrize(
    ("text", "unit"),
    [("12.345", "yuan"), ("1e3", "yuan"), ("12.5", "fen"), ("abc", "yuan"), ("--3", "yuan")],
)
def test_bad_corrections_are_refused(text, unit):
    with pytest.raises(ValidationError):
        parse_correction(text, unit)


# --- pages ----------------------------------------------------------------------------------------


def test_the_driver_disputes_from_the_statement_and_sees_the_answer(client, october, operator):
    from tests.rewards.test_statements import NOW, at_time

    _good, complained = october
    complaint = _complaint(complained)
    client.force_login(complained)
    url = f"/en/rewards/disputes/new/complaint/{complaint.pk}/"
    with at_time(NOW):
        statement = client.get("/en/rewards/statements/2026-10/").content.decode()
        assert f"/rewards/disputes/new/complaint/{complaint.pk}/" in statement
        short = client.post(url, {"reason": "unfair"})
        assert short.status_code == 200 and "at least 10 characters" in short.content.decode()
        response = client.post(url, {"reason": REASON})
        assert response.status_code == 302 and response["Location"].endswith("/disputes/")
        assert "already have an open dispute" in client.get(url).content.decode()
        dispute = Dispute.objects.get()
        disputes.dispute_resolve(
            dispute=dispute,
            operator=operator,
            uphold=True,
            resolution="The passenger withdrew the complaint.",
            correction_fen=5000,
        )
        mine = client.get("/en/rewards/disputes/").content.decode()
    assert "The passenger withdrew the complaint." in mine
    assert "+¥50.00" in mine and "upheld" in mine


def test_operators_resolve_in_the_admin_and_others_cannot(client, october, operator):
    _good, complained = october
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    detail = f"/admin/reward-disputes/{dispute.public_id}/"

    client.force_login(complained)
    assert client.get("/admin/reward-disputes/").status_code in (302, 403)
    assert client.get(detail).status_code in (302, 403)
    staff = DriverFactory(is_staff=True)
    staff.user_permissions.add(*_admin_access())
    client.force_login(staff)
    refused = client.get("/admin/reward-disputes/")
    assert refused.status_code in (302, 403)
    if refused.status_code == 302:  # Wagtail turns the 403 into a redirect with a message
        assert "reward-disputes" not in refused["Location"]
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "/admin/reward-disputes/" not in dashboard.content.decode()

    client.force_login(operator)
    listing = client.get("/admin/reward-disputes/?status=open").content.decode()
    assert str(dispute.public_id) in listing
    page = client.get(detail).content.decode()
    assert complained.masked_mobile in page and complained.mobile not in page
    assert 'data-suggested="5000"' in page
    assert "rewards.dispute.open" in page
    bad = client.post(
        detail, {"decision": "uphold", "resolution": "Yes", "correction": "50.001", "unit": "yuan"}
    )
    assert bad.status_code == 200 and "两位小数" in bad.content.decode()  # the admin speaks Chinese
    assert Dispute.objects.get().status == "open"
    done = client.post(
        detail,
        {"decision": "uphold", "resolution": "Withdrawn.", "correction": "50", "unit": "yuan"},
    )
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "upheld" and dispute.correction_fen == 5000
    again = client.post(
        detail,
        {"decision": "uphold", "resolution": "Again.", "correction": "50", "unit": "yuan"},
    )
    assert again.status_code == 302
    assert Transaction.objects.filter(kind="adjustment").count() == 1
    page = client.get(detail).content.decode()
    assert "rewards.dispute.uphold" in page and "Withdrawn." in page
    assert "/admin/reward-disputes/" in client.get("/admin/").content.decode()


def _admin_access():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )


def test_the_audit_log_holds_every_step(october, operator):
    good, _complained = october
    dispute = disputes.dispute_open(driver=good, reason=REASON, reward_line=_line(good))
    disputes.dispute_resolve(
        dispute=dispute, operator=operator, uphold=True, resolution="Right.", correction_fen=100
    )
    entries = ModelLogEntry.objects.filter(
        object_id=str(dispute.pk), action__startswith="rewards.dispute."
    ).order_by("timestamp", "pk")
    assert [(e.action, e.user_id) for e in entries] == [
        ("rewards.dispute.open", good.pk),
        ("rewards.dispute.uphold", operator.pk),
    ]
    assert entries[1].data["correction_fen"] == 100
    assert entries[1].data["transaction"] == f"dispute:{dispute.public_id}"
    assert str(entries[1].message).startswith("Dispute upheld: decision: uphold")


# --- PostgreSQL: concurrent resolutions -----------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_resolutions_post_once(platform):
    _good, complained = _october(platform)
    dispute = disputes.dispute_open(
        driver=complained, reason=REASON, complaint=_complaint(complained)
    )
    operators = [OperatorFactory() for _n in range(6)]

    def resolve(operator):
        return lambda: disputes.dispute_resolve(
            dispute=Dispute.objects.get(pk=dispute.pk),
            operator=operator,
            uphold=True,
            resolution=f"Upheld by {operator.pk}.",
            correction_fen=5000,
        )

    outcomes = race([resolve(operator) for operator in operators])
    won = [o for o in outcomes if isinstance(o, Dispute)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(won) == 1 and len(refused) == len(operators) - 1, outcomes
    assert Transaction.objects.filter(kind="adjustment").count() == 1
    assert balance(driver_payable_account(complained)) == 3000 + 5000
    assert _actions(dispute) == ["rewards.dispute.open", "rewards.dispute.uphold"]
    assert check_invariants() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_opening_makes_one_dispute(platform):
    good, _complained = _october(platform)
    line = _line(good)
    outcomes = race(
        [
            lambda: disputes.dispute_open(driver=good, reason=REASON, reward_line=line)
            for _n in range(6)
        ]
    )
    assert sum(isinstance(o, Dispute) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, Dispute | ValidationError) for o in outcomes), outcomes
    assert Dispute.objects.filter(reward_line=line).count() == 1
