"""A platform sees what it paid its drivers in a month: trips and earnings reported, the run's
rewards by kind, one-off awards and dispute corrections, per driver (by the platform's own id)
and in total; only its own drivers and money, in the API and in the admin."""

import csv
import io
from datetime import date, datetime, timedelta
from itertools import count

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.admin.menu import admin_menu

from cms.api_keys import platform_api_key_create
from cms.models import Organization
from rewards import services
from rewards.awards import award_grant
from rewards.ledger import (
    driver_payable_account,
    external_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import (
    Award,
    Dispute,
    DriverLink,
    RewardLine,
    RewardRun,
    RuleVersion,
    ServiceEvent,
)
from rewards.rules import CHINA, month_end
from rewards.selectors import last_month, parse_month, platform_totals
from tests.factories import DriverFactory, OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)
SEQ = count(1)
ADMIN = "/admin/reward-totals/"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CHINA)


SEP_1, MID_OCT, OCT_20, OCT_25 = at(9, 1), at(10, 15), at(10, 20), at(10, 25)


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        kind="platform", name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


@pytest.fixture
def other(db):
    return Organization.objects.create(kind="platform", name="滴达出行", slug="dida")


def linked(platform, ref, *, since=SEP_1, until=None, driver=None):
    driver = driver or DriverFactory(mobile=f"+86139{next(SEQ):08d}")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=ref
    )
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=link.pk).update(linked_at=since, unlinked_at=until)
    return driver


def trips(platform, driver, *fares, when=MID_OCT):
    ServiceEvent.objects.bulk_create(
        ServiceEvent(
            platform=platform,
            driver=driver,
            external_id=f"trip-{next(SEQ)}",
            kind="trip",
            occurred_at=when,
            fare_fen=fare,
            currency="CNY",
        )
        for fare in fares
    )


def deposit(platform, fen=10_000_000):
    post_transaction(
        idempotency_key=f"deposit-{next(SEQ)}",
        kind="deposit",
        legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
    )


def run(platform, period_start=OCT_1, status=RewardRun.Status.FINISHED):
    return RewardRun.objects.create(
        platform=platform,
        period_start=period_start,
        period_end=month_end(period_start),
        status=status,
    )


def line(the_run, driver, kind, fen, *, posted=True):
    version, _ = RuleVersion.objects.get_or_create(
        platform=the_run.platform,
        kind=kind,
        defaults={"name": f"{kind} rule", "effective_from": date(2026, 1, 1), "params": {}},
    )
    reward = RewardLine.objects.create(
        run=the_run, driver=driver, rule_version=version, amount_fen=fen, explanation={}
    )
    if posted:
        reward.transaction = post_transaction(
            idempotency_key=f"reward:{the_run.pk}:{reward.pk}",
            kind="reward",
            legs=[
                (platform_funding_account(the_run.platform), -fen),
                (driver_payable_account(driver), fen),
            ],
        )
        reward.save(update_fields=["transaction"])
    return reward


def award(platform, ref, fen, *, when=OCT_20):
    given, _created = award_grant(
        platform=platform,
        platform_driver_id=ref,
        external_id=f"aw-{next(SEQ)}",
        amount_fen=fen,
        reason="bonus",
    )
    Award.objects.filter(pk=given.pk).update(created_at=when)
    return given


def correction(platform, driver, fen, *, resolved=OCT_25, posted=True):
    complaint = ServiceEvent.objects.create(
        platform=platform,
        driver=driver,
        external_id=f"c-{next(SEQ)}",
        kind="complaint",
        occurred_at=at(9, 20),
        outcome="upheld",
    )
    transaction = None
    if posted:
        transaction = post_transaction(
            idempotency_key=f"dispute-{next(SEQ)}",
            kind="adjustment",
            legs=[
                (platform_funding_account(platform), -fen),
                (driver_payable_account(driver), fen),
            ],
        )
    return Dispute.objects.create(
        driver=driver,
        platform=platform,
        period_start=date(2026, 9, 1),
        complaint=complaint,
        reason="the complaint was wrong",
        status="upheld",
        resolved_at=resolved,
        correction_fen=fen,
        correction_transaction=transaction,
    )


@pytest.fixture
def october(platform, other):
    """Kuaixing's October: KX-1 and KX-2 linked all month, KX-3 linked on the 15th, KX-0
    unlinked in September; and the other platform's own drivers and money."""
    deposit(platform)
    deposit(other)
    one = linked(platform, "KX-1")
    two = linked(platform, "KX-2")
    three = linked(platform, "KX-3", since=at(10, 15))
    gone = linked(platform, "KX-0", until=at(9, 30))
    linked(other, "DD-1", driver=one)  # KX-1 drives for both platforms
    stranger = linked(other, "DD-2")

    trips(platform, one, 2000, 2500, 3000)
    trips(platform, one, 9999, when=at(9, 30, 23))  # September (China time)
    trips(platform, one, 8888, when=at(11, 1, 0))  # November, just after midnight
    trips(platform, two, 1500)
    trips(platform, three, 1200, 1300, when=at(10, 20))
    trips(other, one, 7777)  # the other platform's trip of the same person
    trips(other, stranger, 6666)

    the_run = run(platform)
    line(the_run, one, "quality", 10_000)
    line(the_run, one, "safety", 5_000)
    line(the_run, two, "skill_allowance", 7_000)
    line(the_run, three, "tier", 3_000)
    line(the_run, two, "quality", 10_000, posted=False)  # computed, waiting for funding
    line(run(platform, period_start=date(2026, 9, 1)), one, "quality", 999)  # September's run
    line(run(other), one, "quality", 4_444)  # the other platform's run

    award(platform, "KX-1", 2_000)
    award(platform, "KX-3", 500)
    award(platform, "KX-2", 300, when=at(11, 2))  # November
    award(other, "DD-1", 1_111)

    correction(platform, two, 1_000)
    correction(platform, gone, 250)  # paid in October though unlinked since September
    correction(platform, one, 4_000, resolved=at(11, 3))  # November
    correction(platform, one, 123, posted=False)  # no correcting transaction: not paid
    correction(other, one, 3_333)
    return {"one": one, "two": two, "three": three, "gone": gone}


def by_driver(totals) -> dict:
    return {row["driver"]: row for row in totals["drivers"]}


# --- the selector --------------------------------------------------------------------------


def test_the_totals_match_events_lines_awards_and_corrections(platform, october):
    totals = platform_totals(platform=platform, period_start=OCT_1)
    rows = by_driver(totals)
    assert set(rows) == {"KX-0", "KX-1", "KX-2", "KX-3"}
    one = rows["KX-1"]
    assert (one["trips"], one["trip_earnings_fen"]) == (3, 7500)
    assert one["rewards_fen"] == {
        "quality": 10_000,
        "safety": 5_000,
        "skill_allowance": 0,
        "tier": 0,
    }
    assert (one["awards"], one["awards_fen"]) == (1, 2_000)
    assert (one["corrections"], one["corrections_fen"]) == (0, 0)
    assert one["total_paid_fen"] == 17_000
    two = rows["KX-2"]
    assert (two["trips"], two["trip_earnings_fen"]) == (1, 1500)
    assert two["rewards_fen"]["skill_allowance"] == 7_000
    assert two["rewards_pending_fen"] == 10_000
    assert (two["awards_fen"], two["corrections_fen"]) == (0, 1_000)
    assert two["total_paid_fen"] == 8_000
    three = rows["KX-3"]
    assert three["linked_in_month"]  # linked on the 15th
    assert (three["trips"], three["rewards_fen"]["tier"], three["awards_fen"]) == (2, 3_000, 500)
    assert three["total_paid_fen"] == 3_500
    gone = rows["KX-0"]
    assert not gone["linked_in_month"]
    assert (gone["corrections_fen"], gone["total_paid_fen"], gone["trips"]) == (250, 250, 0)

    grand = totals["totals"]
    assert grand["drivers"] == 4
    assert (grand["trips"], grand["trip_earnings_fen"]) == (6, 11_500)
    assert grand["rewards_fen"] == {
        "quality": 10_000,
        "safety": 5_000,
        "skill_allowance": 7_000,
        "tier": 3_000,
    }
    assert grand["rewards_total_fen"] == 25_000
    assert grand["rewards_pending_fen"] == 10_000
    assert (grand["awards"], grand["awards_fen"]) == (2, 2_500)
    assert (grand["corrections"], grand["corrections_fen"]) == (2, 1_250)
    assert grand["total_paid_fen"] == 25_000 + 2_500 + 1_250
    assert grand["total_paid_fen"] == sum(row["total_paid_fen"] for row in totals["drivers"])
    assert totals["run"]["status"] == "finished"
    assert (totals["month"], totals["period_end"]) == ("2026-10", OCT_31)


def test_the_other_platform_sees_only_its_own_drivers_and_money(other, october):
    totals = platform_totals(platform=other, period_start=OCT_1)
    rows = by_driver(totals)
    assert set(rows) == {"DD-1", "DD-2"}  # the shared driver is DD-1 here, never KX-1
    assert (rows["DD-1"]["trips"], rows["DD-1"]["trip_earnings_fen"]) == (1, 7777)
    assert rows["DD-1"]["rewards_fen"]["quality"] == 4_444
    assert rows["DD-1"]["awards_fen"] == 1_111
    assert rows["DD-1"]["corrections_fen"] == 3_333
    assert totals["totals"]["total_paid_fen"] == 4_444 + 1_111 + 3_333
    assert totals["run"]["status"] == "finished"


def test_a_driver_is_named_by_the_platforms_id_never_by_mobile_or_name(platform, october):
    totals = platform_totals(platform=platform, period_start=OCT_1)
    text = repr(totals)
    for driver in october.values():
        assert driver.mobile not in text
        assert driver.display_name not in text


def test_a_driver_linked_after_the_month_or_unlinked_before_it_is_left_out(platform):
    linked(platform, "KX-early", until=at(9, 30, 23))
    linked(platform, "KX-late", since=at(11, 1, 0))
    linked(platform, "KX-last-day", since=at(10, 31, 23))
    linked(platform, "KX-first-day", since=at(8, 1), until=at(10, 1, 1))
    rows = by_driver(platform_totals(platform=platform, period_start=OCT_1))
    assert set(rows) == {"KX-last-day", "KX-first-day"}
    assert rows["KX-last-day"]["total_paid_fen"] == 0


def test_the_runs_status_is_reported(platform):
    assert platform_totals(platform=platform, period_start=OCT_1)["run"]["status"] == "not_run"
    the_run = run(platform, status=RewardRun.Status.RUNNING)
    assert platform_totals(platform=platform, period_start=OCT_1)["run"]["status"] == "running"
    RewardRun.objects.filter(pk=the_run.pk).update(status=RewardRun.Status.FINISHED)
    assert platform_totals(platform=platform, period_start=OCT_1)["run"]["status"] == "finished"


def _populate(platform, drivers: int, offset: int) -> None:
    the_run = RewardRun.objects.get_or_create(
        platform=platform, period_start=OCT_1, period_end=OCT_31
    )[0]
    for n in range(offset, offset + drivers):
        driver = linked(platform, f"KX-{n}")
        trips(platform, driver, 1000, 2000)
        line(the_run, driver, "quality", 100)
        line(the_run, driver, "tier", 50, posted=n % 2 == 0)
        award(platform, f"KX-{n}", 10)
        correction(platform, driver, 5)


def test_the_number_of_queries_does_not_grow_with_the_drivers(platform):
    deposit(platform)
    _populate(platform, 3, 0)
    with CaptureQueriesContext(connection) as few:
        small = platform_totals(platform=platform, period_start=OCT_1)
    _populate(platform, 27, 3)
    with CaptureQueriesContext(connection) as many:
        large = platform_totals(platform=platform, period_start=OCT_1)
    assert len(small["drivers"]) == 3 and len(large["drivers"]) == 30
    assert len(few) == len(many) <= 7
    assert large["totals"]["trips"] == 60
    assert large["totals"]["rewards_fen"]["quality"] == 3000


# --- months --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-10", "october", "", "1999-12", "２０２６-１０"]
)
def test_a_malformed_month_is_refused(text):
    with pytest.raises(ValidationError):
        parse_month(text)


def test_months_are_china_months():
    assert parse_month("2026-10") == OCT_1
    assert last_month(date(2026, 11, 1)) == OCT_1
    assert last_month(date(2026, 1, 31)) == date(2025, 12, 1)


# --- the API -------------------------------------------------------------------------------


def client_for(platform) -> Client:
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def test_the_api_gives_the_platform_its_totals(platform, other, october):
    response = client_for(platform).get("/api/v1/reward-totals/2026-10")
    assert response.status_code == 200
    body = response.json()
    assert {row["driver"] for row in body["drivers"]} == {"KX-0", "KX-1", "KX-2", "KX-3"}
    assert body["totals"]["total_paid_fen"] == 28_750
    assert body["totals"]["rewards_fen"]["quality"] == 10_000
    assert body["run"]["status"] == "finished"
    theirs = client_for(other).get("/api/v1/reward-totals/2026-10").json()
    assert {row["driver"] for row in theirs["drivers"]} == {"DD-1", "DD-2"}


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "abc", "2026-10-01"])
def test_the_api_refuses_a_malformed_month_with_422(platform, month):
    response = client_for(platform).get(f"/api/v1/reward-totals/{month}")
    assert response.status_code == 422
    assert "YYYY-MM" in response.json()["detail"]


def test_the_api_answers_404_for_a_month_that_has_not_started(platform):
    future = (last_month() + timedelta(days=100)).strftime("%Y-%m")
    response = client_for(platform).get(f"/api/v1/reward-totals/{future}")
    assert response.status_code == 404
    assert "has not started yet" in response.json()["detail"]
    this_month = (last_month() + timedelta(days=40)).strftime("%Y-%m")
    assert client_for(platform).get(f"/api/v1/reward-totals/{this_month}").status_code == 200


def test_the_api_needs_a_key(platform):
    assert Client().get("/api/v1/reward-totals/2026-10").status_code == 401


# --- the admin -----------------------------------------------------------------------------


def admin_user(organization=None, **fields):
    user = UserFactory(organization=organization, **fields)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


def menu_names(user) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return [item.name for item in admin_menu.menu_items_for_request(request)]


def test_platform_staff_see_their_platforms_totals(client, platform, other, october):
    client.force_login(admin_user(platform))
    response = client.get(ADMIN, {"month": "2026-10", "platform": other.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-driver="KX-1"' in html and 'data-total-paid="17000"' in html
    assert 'data-grand-total="28750"' in html
    assert "DD-1" not in html  # the platform chosen in the address is ignored: their own
    assert 'data-run-status="finished"' in html
    assert "data-pending" in html


def test_staff_see_last_month_by_default(client, platform):
    client.force_login(admin_user(platform))
    response = client.get(ADMIN)
    assert response.status_code == 200
    assert response.context["result"]["month"] == last_month().strftime("%Y-%m")


def test_a_bad_or_future_month_shows_the_form_with_an_error(client, platform):
    client.force_login(admin_user(platform))
    for month in ("2026-13", (last_month() + timedelta(days=100)).strftime("%Y-%m")):
        response = client.get(ADMIN, {"month": month})
        assert response.status_code == 200
        assert response.context["result"] is None
        assert "month" in response.context["form"].errors


def test_operators_choose_the_platform(client, platform, other, october):
    client.force_login(OperatorFactory())
    response = client.get(ADMIN)
    assert response.status_code == 200
    assert "data-choose-platform" in response.content.decode()
    html = client.get(ADMIN, {"platform": other.pk, "month": "2026-10"}).content.decode()
    assert 'data-driver="DD-1"' in html and "KX-1" not in html


def test_the_csv_download_has_the_same_table(client, platform, october):
    client.force_login(admin_user(platform))
    response = client.get(f"{ADMIN}csv/", {"month": "2026-10"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_ref = {row["driver"]: row for row in rows}
    assert by_ref["KX-1"]["trip_earnings_fen"] == "7500"
    assert by_ref["KX-1"]["quality_fen"] == "10000"
    assert by_ref["KX-2"]["rewards_pending_fen"] == "10000"
    assert rows[-1]["driver"].startswith("TOTAL")
    assert rows[-1]["total_paid_fen"] == "28750"


def test_a_driver_id_is_never_a_spreadsheet_formula(client, platform):
    linked(platform, "=HYPERLINK(1)")
    client.force_login(admin_user(platform))
    text = client.get(f"{ADMIN}csv/", {"month": "2026-10"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize("who", ["school author", "inactive platform's staff", "driver"])
def test_everyone_else_is_refused_and_has_no_menu_item(client, platform, who):
    if who == "school author":
        user = admin_user(Organization.objects.create(kind="school", name="学校", slug="school"))
    elif who == "inactive platform's staff":
        user = admin_user(platform)
        Organization.objects.filter(pk=platform.pk).update(is_active=False)
        user.refresh_from_db()
    else:
        user = admin_user()
    client.force_login(user)
    for url in (ADMIN, f"{ADMIN}csv/"):
        response = client.get(url, {"month": "2026-10", "platform": platform.pk})
        assert response.status_code in (302, 403), url
        assert b"data-totals" not in response.content
    assert "reward-totals" not in menu_names(user)


def test_staff_and_operators_have_the_menu_item(platform):
    assert "reward-totals" in menu_names(admin_user(platform))
    assert "reward-totals" in menu_names(OperatorFactory())
