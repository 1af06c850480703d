"""Platforms give linked drivers one-off awards through the API: paid from their funding in one
ledger transaction, exactly once per award id, never to a driver who is not linked."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from rewards.awards import AwardConflict, AwardUnderfunded, DriverNotLinked, award_grant
from rewards.ledger import (
    balance,
    check_invariants,
    driver_payable_account,
    external_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import Account, Award, DriverLink, Entry, SiteRewardPolicy, Transaction
from rewards.rules import CHINA
from tests.concurrency import race
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/awards"


@pytest.fixture
def platform(db):
    return Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")


@pytest.fixture
def other_platform(db):
    return Organization.objects.create(kind="platform", name="滴达出行", slug="dida")


def link(platform, driver, ref):
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=ref
    )
    return services.link_request_decide(request=request, driver=driver, approve=True)


@pytest.fixture
def driver(platform):
    driver = DriverFactory(mobile="+8613900000001")
    link(platform, driver, "KX-1001")
    return driver


def deposit(platform, fen, key="deposit-1"):
    post_transaction(
        idempotency_key=key,
        kind="deposit",
        legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
    )


@pytest.fixture
def funded(platform):
    deposit(platform, 100_000)
    return platform


def client_for(platform) -> Client:
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def api(platform):
    return client_for(platform)


def post(api, **fields):
    body = {"id": "aw-1", "driver": "KX-1001", "amount_fen": 5000, "reason": "Spring Festival"}
    body.update(fields)
    body = {name: value for name, value in body.items() if value is not ...}
    return api.post(URL, data=json.dumps(body), content_type="application/json")


def this_month() -> str:
    return timezone.localdate(timezone.now(), CHINA).strftime("%Y-%m")


def books(platform, driver) -> tuple[int, int]:
    return balance(platform_funding_account(platform)), balance(driver_payable_account(driver))


# --- the happy path ------------------------------------------------------------------------


def test_an_award_pays_the_driver_from_the_platforms_funding(funded, driver):
    award, created = award_grant(
        platform=funded,
        platform_driver_id="KX-1001",
        external_id="aw-1",
        amount_fen=5000,
        reason="  Spring Festival bonus ",
    )
    assert created
    assert (award.driver, award.amount_fen, award.currency) == (driver, 5000, "CNY")
    assert award.reason == "Spring Festival bonus"
    assert books(funded, driver) == (95_000, 5000)
    posted = award.transaction
    assert posted.kind == Transaction.Kind.AWARD
    assert posted.idempotency_key == f"award:{funded.public_id}:aw-1"
    assert "Spring Festival bonus" in posted.description
    assert posted.metadata["award"] == str(award.public_id)
    assert check_invariants() == []
    # A statement reading the driver's ledger entries finds the award behind each one.
    entry = Entry.objects.get(account=driver_payable_account(driver))
    assert entry.transaction.award == award


def test_the_api_answers_201_with_the_award(api, funded, driver):
    response = post(api)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == "aw-1"
    assert body["driver"] == "KX-1001"
    assert (body["amount_fen"], body["currency"], body["reason"]) == (
        5000,
        "CNY",
        "Spring Festival",
    )
    assert body["awarded_at"]
    assert body["transaction"]["idempotency_key"] == f"award:{funded.public_id}:aw-1"
    assert books(funded, driver) == (95_000, 5000)


def test_sending_the_award_again_returns_it_and_pays_nothing_more(api, funded, driver):
    first = post(api).json()
    again = post(api)
    assert again.status_code == 200
    assert again.json() == first
    assert Award.objects.count() == 1
    assert Transaction.objects.filter(kind="award").count() == 1
    assert books(funded, driver) == (95_000, 5000)


def test_a_replay_is_answered_even_after_the_driver_unlinked(api, funded, driver):
    post(api)
    services.link_end(link=DriverLink.objects.get(driver=driver), driver=driver)
    assert post(api).status_code == 200
    assert post(api, id="aw-2").status_code == 422


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_fen": 6000},
        {"reason": "Something else"},
        {"driver": "KX-2002"},
        {"currency": "USD"},
    ],
)
def test_the_same_id_for_a_different_award_is_409_and_changes_nothing(api, funded, driver, changes):
    link(funded, DriverFactory(mobile="+8613900000002"), "KX-2002")
    first = post(api).json()
    response = post(api, **changes)
    assert response.status_code == 409
    body = response.json()
    assert "already used for a different award" in body["detail"]
    assert body["award"] == first
    assert Award.objects.get().amount_fen == 5000
    assert Transaction.objects.filter(kind="award").count() == 1
    assert books(funded, driver) == (95_000, 5000)


def test_the_service_raises_a_conflict_for_a_reused_id(funded, driver):
    award_grant(
        platform=funded, platform_driver_id="KX-1001", external_id="x", amount_fen=1, reason="r"
    )
    with pytest.raises(AwardConflict):
        award_grant(
            platform=funded, platform_driver_id="KX-1001", external_id="x", amount_fen=2, reason="r"
        )


# --- refused -------------------------------------------------------------------------------


def test_a_driver_who_never_linked_is_refused(api, funded, driver):
    response = post(api, driver="KX-404")
    assert response.status_code == 422
    assert "has not linked" in response.json()["detail"]
    assert not Award.objects.exists()


def test_a_driver_who_ended_the_link_is_refused(api, funded, driver):
    services.link_end(link=DriverLink.objects.get(driver=driver), driver=driver)
    response = post(api)
    assert response.status_code == 422
    assert "ended their link" in response.json()["detail"]
    with pytest.raises(DriverNotLinked) as caught:
        award_grant(
            platform=funded,
            platform_driver_id="KX-1001",
            external_id="aw-9",
            amount_fen=1,
            reason="r",
        )
    assert caught.value.ended
    assert not Award.objects.exists()
    assert books(funded, driver) == (100_000, 0)


def test_a_driver_linked_only_to_another_platform_is_refused(funded, driver, other_platform):
    deposit(other_platform, 100_000, key="deposit-other")
    response = post(client_for(other_platform))
    assert response.status_code == 422
    assert not Award.objects.exists()


@pytest.mark.parametrize("amount", [0, -100, 12.5, 5000.0, True, "5000", None])
def test_an_amount_that_is_not_a_whole_positive_number_of_fen_is_422(api, funded, driver, amount):
    response = post(api, amount_fen=amount)
    assert response.status_code == 422
    assert not Award.objects.exists()
    assert books(funded, driver) == (100_000, 0)


@pytest.mark.parametrize("amount", [0, -1, 1.0, True, False, "1"])
def test_the_service_refuses_amounts_that_are_not_whole_fen(funded, driver, amount):
    with pytest.raises(ValidationError) as caught:
        award_grant(
            platform=funded,
            platform_driver_id="KX-1001",
            external_id="aw-1",
            amount_fen=amount,
            reason="r",
        )
    assert "amount_fen" in caught.value.message_dict


def test_an_amount_above_the_sites_limit_is_refused(api, funded, driver):
    policy = SiteRewardPolicy.load()
    policy.max_reward_fen = 10_000
    policy.save()
    assert post(api, amount_fen=10_000).status_code == 201
    response = post(api, id="aw-2", amount_fen=10_001)
    assert response.status_code == 422
    assert "at most 10000 fen" in response.json()["detail"]
    assert Award.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "longer than 500"),
        ({"id": ""}, "id"),
        ({"id": "x" * 101}, "longer than 100"),
        ({"currency": "cny"}, "three-letter"),
        ({"currency": "YUAN"}, "three-letter"),
    ],
)
def test_bad_fields_are_422_with_a_message(api, funded, driver, fields, words):
    response = post(api, **fields)
    assert response.status_code == 422
    assert words in response.json()["detail"]
    assert not Award.objects.exists()


@pytest.mark.parametrize("missing", ["id", "driver", "amount_fen", "reason"])
def test_a_missing_field_is_422(api, funded, driver, missing):
    assert post(api, **{missing: ...}).status_code == 422


def test_a_reason_of_500_characters_is_accepted(api, funded, driver):
    assert post(api, reason="x" * 500).status_code == 201


def test_insufficient_funding_is_402_with_the_shortfall_and_writes_nothing(api, platform, driver):
    deposit(platform, 3000)
    response = post(api, amount_fen=5000)
    assert response.status_code == 402
    body = response.json()
    assert body["shortfall_fen"] == 2000
    assert body["balance_fen"] == 3000
    assert "Deposit at least 2000 fen" in body["detail"]
    assert not Award.objects.exists()
    assert not Transaction.objects.filter(kind="award").exists()
    assert books(platform, driver) == (3000, 0)
    with pytest.raises(AwardUnderfunded) as caught:
        award_grant(
            platform=platform,
            platform_driver_id="KX-1001",
            external_id="aw-1",
            amount_fen=5000,
            reason="r",
        )
    assert caught.value.shortfall_fen == 2000
    # Once funded, the same award goes through.
    deposit(platform, 2000, key="deposit-2")
    assert post(api, amount_fen=5000).status_code == 201
    assert books(platform, driver) == (0, 5000)


def test_a_request_without_a_key_is_401(funded, driver):
    response = Client().post(URL, data="{}", content_type="application/json")
    assert response.status_code == 401


# --- listing -------------------------------------------------------------------------------


def test_a_platform_lists_its_awards_of_a_month_and_never_another_platforms(
    api, funded, driver, other_platform
):
    post(api, id="aw-1")
    post(api, id="aw-2", amount_fen=100)
    other = client_for(other_platform)
    deposit(other_platform, 100_000, key="deposit-other")
    link(other_platform, DriverFactory(mobile="+8613900000003"), "DD-1")
    assert post(other, id="aw-1", driver="DD-1").status_code == 201  # its own id space

    mine = api.get(URL, {"month": this_month()})
    assert mine.status_code == 200
    assert [(row["id"], row["amount_fen"]) for row in mine.json()] == [
        ("aw-2", 100),
        ("aw-1", 5000),
    ]
    theirs = other.get(URL, {"month": this_month()}).json()
    assert [(row["id"], row["driver"]) for row in theirs] == [("aw-1", "DD-1")]
    assert api.get(URL, {"month": "2020-01"}).json() == []


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "october", ""])
def test_listing_needs_a_well_formed_month(api, month):
    response = api.get(URL, {"month": month})
    assert response.status_code == 422
    assert api.get(URL).status_code == 422


# --- concurrency (PostgreSQL) --------------------------------------------------------------


postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")


@postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_identical_awards_pay_once(platform, driver):
    deposit(platform, 100_000)

    def give():
        return award_grant(
            platform=platform,
            platform_driver_id="KX-1001",
            external_id="aw-race",
            amount_fen=5000,
            reason="Race",
        )

    outcomes = race([give] * 8)
    assert all(isinstance(outcome, tuple) for outcome in outcomes), outcomes
    assert sorted(created for _award, created in outcomes) == [False] * 7 + [True]
    assert len({award.pk for award, _created in outcomes}) == 1
    assert Award.objects.count() == 1
    assert Transaction.objects.filter(kind="award").count() == 1
    assert books(platform, driver) == (95_000, 5000)
    assert check_invariants() == []


@postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_different_awards_under_one_id_pay_one_and_refuse_the_rest(platform, driver):
    deposit(platform, 100_000)

    def give(amount):
        return lambda: award_grant(
            platform=platform,
            platform_driver_id="KX-1001",
            external_id="aw-race",
            amount_fen=amount,
            reason="Race",
        )

    outcomes = race([give(1000 + n) for n in range(6)])
    won = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    assert len(won) == 1, outcomes
    assert all(isinstance(outcome, AwardConflict) for outcome in outcomes if outcome not in won)
    award = Award.objects.get()
    assert books(platform, driver) == (100_000 - award.amount_fen, award.amount_fen)
    assert check_invariants() == []


@postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_awards_never_overdraw_the_funding(platform, driver):
    deposit(platform, 10_000)

    def give(n):
        return lambda: award_grant(
            platform=platform,
            platform_driver_id="KX-1001",
            external_id=f"aw-{n}",
            amount_fen=3000,
            reason="Race",
        )

    outcomes = race([give(n) for n in range(6)])
    assert sum(isinstance(outcome, tuple) for outcome in outcomes) == 3
    assert sum(isinstance(outcome, AwardUnderfunded) for outcome in outcomes) == 3
    assert books(platform, driver) == (1000, 9000)
    assert Award.objects.count() == 3
    assert check_invariants() == []


def test_an_inactive_platform_gives_no_awards(funded, driver):
    Organization.objects.filter(pk=funded.pk).update(is_active=False)
    funded.refresh_from_db()
    with pytest.raises(PermissionDenied):
        award_grant(
            platform=funded, platform_driver_id="KX-1001", external_id="a", amount_fen=1, reason="r"
        )
    assert not Award.objects.exists()


def test_an_award_in_a_currency_the_platform_never_deposited_is_402_and_opens_nothing(
    api, funded, driver
):
    accounts = Account.objects.count()
    response = post(api, currency="USD")
    assert response.status_code == 402
    assert response.json()["shortfall_fen"] == 5000
    assert Account.objects.count() == accounts
    assert not Award.objects.exists()
