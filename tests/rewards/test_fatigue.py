"""The fatigue guard: trips made while online beyond the rest rules (more than 4 h without a
20-minute break, or over the daily cap) count towards no reward; penalties always count."""

import json
from datetime import date, datetime, time, timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.models import Organization
from rewards import rules
from rewards.fatigue import fatigue_for
from rewards.models import ServiceEvent
from rewards.policy import effective_policy, platform_policy_update
from tests.rewards.test_rules import CHINA, OCT_1, OCT_31, QUALITY, SAFETY, linked_driver, published

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 1, tzinfo=CHINA)
END = datetime(2026, 11, 1, tzinfo=CHINA)
RULES_TEXT = (
    "online beyond the rest rules (more than 4 h without a 20-minute break, or over the daily "
    "cap of 10 h) did not count."
)
_ids = count()


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour, minute), tzinfo=CHINA)


def event(platform, driver, kind, when, **fields) -> ServiceEvent:
    return ServiceEvent.objects.create(
        platform=platform,
        driver=driver,
        external_id=f"{kind}-{next(_ids)}",
        kind=kind,
        occurred_at=when,
        **fields,
    )


def session(platform, driver, began, ended) -> ServiceEvent:
    return event(platform, driver, "online_session", began, ended_at=ended)


def trip(platform, driver, when) -> ServiceEvent:
    return event(platform, driver, "trip", when, fare_fen=2000, currency="CNY")


def rating(platform, driver, of: ServiceEvent, stars: int = 5) -> ServiceEvent:
    return event(
        platform,
        driver,
        "rating",
        of.occurred_at + timedelta(minutes=5),
        rating=stars,
        trip_external_id=of.external_id,
    )


def fatigue(platform, driver):
    return fatigue_for(platform=platform, driver_ids=[driver.pk], start=START, end=END).get(
        driver.pk
    )


def explain(platform, driver, kind="quality") -> dict:
    lines = rules.compute_lines(
        platform=platform, period_start=OCT_1, period_end=OCT_31, include_unpaid=True
    )
    [line] = [
        line
        for line in lines
        if line["driver_id"] == driver.pk and line["rule_version"].kind == kind
    ]
    return line["explanation"]


# --- continuous driving --------------------------------------------------------------------


def test_exactly_four_hours_then_a_twenty_minute_break_excludes_nothing(platform):
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 8), at(15, 12))
    session(platform, driver, at(15, 12, 20), at(15, 14))
    for when in (at(15, 11, 59), at(15, 12), at(15, 12, 30), at(15, 14)):
        trip(platform, driver, when)

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 340
    assert guard.excluded_minutes == guard.excluded_trips == 0
    assert guard.as_explanation()["excluded_trip_ids"] == []


def test_trips_and_their_ratings_after_four_and_a_half_hours_do_not_count_but_complaints_do(
    platform,
):
    published(platform, "quality", {**QUALITY, "min_trips": 1}, amount_fen=5000)
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 8), at(15, 12, 30))
    early = trip(platform, driver, at(15, 10))
    at_the_limit = trip(platform, driver, at(15, 12))  # not after the limit: counts
    late = trip(platform, driver, at(15, 12, 10))
    last = trip(platform, driver, at(15, 12, 30))  # reported at the session's end
    after = trip(platform, driver, at(15, 13))  # offline (not a reported session): counts
    rating(platform, driver, early)
    rating(platform, driver, late, stars=1)
    complaint = event(platform, driver, "complaint", at(15, 12, 15), outcome="upheld")

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 270
    assert guard.over_continuous_minutes == guard.excluded_minutes == 30
    assert guard.over_daily_cap_minutes == 0
    assert guard.excluded_trips == 2
    assert guard.excluded_trip_ids == [late.pk, last.pk]
    assert guard.excluded_ratings == 1

    explanation = explain(platform, driver)
    assert explanation["figures"] == {
        "trips": 3,
        "ratings": 1,
        "average_rating": "5.00",  # the 1-star rating of an excluded trip does not count
        "upheld_complaints": 1,  # fatigue never waives a penalty
    }
    assert explanation["events"]["upheld_complaints"]["ids"] == [complaint.pk]
    assert set(explanation["events"]["trips"]["ids"]) == {early.pk, at_the_limit.pk, after.pk}
    assert explanation["amount_fen"] == 0
    assert explanation["fatigue"] == {
        "policy": {"continuous_limit_minutes": 240, "break_minutes": 20, "daily_cap_minutes": 600},
        "online_minutes": 270,
        "excluded_minutes": 30,
        "over_continuous_minutes": 30,
        "over_daily_cap_minutes": 0,
        "excluded_trips": 2,
        "excluded_trip_ids": [late.pk, last.pk],
        "excluded_ratings": 1,
        "excluded_rating_ids": [explanation["fatigue"]["excluded_rating_ids"][0]],
        "excluded_spans": [
            {"start": "2026-10-15T12:00:00+08:00", "end": "2026-10-15T12:30:00+08:00"}
        ],
    }
    json.dumps(explanation)  # ready to store
    assert explanation["sentence"].endswith(
        "the quality reward is not earned. 2 trips made during 30 min "
        + RULES_TEXT
        + " Neither did 1 rating of those trips."
    )
    assert explanation["lost_to_fatigue"] is False  # the complaint decided it


def test_a_nineteen_minute_break_does_not_reset_the_clock(platform):
    rested, tired = linked_driver(platform, 1), linked_driver(platform, 2)
    session(platform, rested, at(15, 8), at(15, 11))
    session(platform, rested, at(15, 11, 20), at(15, 13))
    session(platform, tired, at(15, 8), at(15, 11))
    session(platform, tired, at(15, 11, 19), at(15, 13))
    trip(platform, rested, at(15, 12, 30))
    excluded = trip(platform, tired, at(15, 12, 30))
    trip(platform, tired, at(15, 11, 10))  # during the pause: not online time, counts

    assert fatigue(platform, rested).excluded_minutes == 0
    guard = fatigue(platform, tired)
    # Time counts from 08:00, the pause included: from 12:00 on it is over the limit.
    assert guard.over_continuous_minutes == 60
    assert guard.excluded_trip_ids == [excluded.pk] and guard.excluded_trips == 1


def test_overlapping_and_duplicate_sessions_count_once(platform):
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 8), at(15, 12))
    session(platform, driver, at(15, 8), at(15, 12))  # the same session sent twice
    session(platform, driver, at(15, 10), at(15, 12, 30))  # overlapping
    session(platform, driver, at(15, 9), at(15, 9, 30))  # inside another
    trip(platform, driver, at(15, 12, 20))

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 270
    assert guard.excluded_minutes == guard.over_continuous_minutes == 30
    assert guard.excluded_trips == 1


# --- daily cap -----------------------------------------------------------------------------


def test_the_daily_cap_counts_per_china_day_and_a_session_crossing_midnight_is_split(platform):
    driver = linked_driver(platform, 1)
    # Three stretches of 3 h 50 min with 30-minute breaks: 690 minutes on 15 October.
    for began, ended in ((8, 0), (11, 50)), ((12, 20), (16, 10)), ((16, 40), (20, 30)):
        session(platform, driver, at(15, *began), at(15, *ended))
    before_cap = trip(platform, driver, at(15, 18, 50))
    over_cap = trip(platform, driver, at(15, 19, 30))  # the 600th minute was at 19:00

    # 16 October: 460 minutes by 16:10, then 21:00 to 01:00 (exactly 4 h: not over the limit).
    session(platform, driver, at(16, 8), at(16, 11, 50))
    session(platform, driver, at(16, 12, 20), at(16, 16, 10))
    session(platform, driver, at(16, 21), at(17, 1))
    late_evening = trip(platform, driver, at(16, 23, 30))  # after 23:20, the 600th minute
    after_midnight = trip(platform, driver, at(17, 0, 30))  # a new day: counts

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 690 + 460 + 240
    assert guard.over_daily_cap_minutes == 90 + 40
    assert guard.over_continuous_minutes == 0
    assert guard.excluded_minutes == 130
    assert sorted(guard.excluded_trip_ids) == sorted([over_cap.pk, late_evening.pk])
    assert before_cap.pk not in guard.excluded_trip_ids
    assert after_midnight.pk not in guard.excluded_trip_ids


def test_the_platforms_own_daily_cap_applies_and_the_sentence_says_it(platform):
    platform_policy_update(platform=platform, actor=None, daily_cap_minutes=480, notice_days=None)
    published(platform, "safety", {**SAFETY, "min_trips": 1}, amount_fen=3000)
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 8), at(15, 11, 50))
    session(platform, driver, at(15, 12, 20), at(15, 16, 10))
    session(platform, driver, at(15, 16, 40), at(15, 18))  # 480 minutes at 17:00
    trip(platform, driver, at(15, 16, 50))
    trip(platform, driver, at(15, 17, 30))

    explanation = explain(platform, driver, "safety")
    assert explanation["fatigue"]["policy"]["daily_cap_minutes"] == 480
    assert explanation["fatigue"]["over_daily_cap_minutes"] == 60
    assert explanation["figures"] == {"trips": 1, "incidents": 0}
    assert explanation["amount_fen"] == 3000
    assert explanation["sentence"].endswith(
        "1 trip made during 1 h online beyond the rest rules (more than 4 h without a "
        "20-minute break, or over the daily cap of 8 h) did not count."
    )


# --- period boundaries ---------------------------------------------------------------------


def test_a_stretch_crossing_the_start_of_the_month_is_judged_whole(platform):
    driver = linked_driver(platform, 1)
    session(platform, driver, at(30, 21, month=9), at(30, 23, 50, month=9))
    session(platform, driver, at(1, 0), at(1, 2))  # a 10-minute pause: the same stretch
    counted = trip(platform, driver, at(1, 0, 30))
    excluded = trip(platform, driver, at(1, 1, 30))  # 4 h 30 min after 21:00
    september = trip(platform, driver, at(30, 22, month=9))
    rated_in_october = trip(platform, driver, at(30, 23, 45, month=9))
    rating(platform, driver, rated_in_october)  # 23:50 on 30 September: September's

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 120  # October's minutes only
    assert guard.over_continuous_minutes == 60  # 01:00 to 02:00
    assert guard.excluded_trip_ids == [excluded.pk]
    assert counted.pk not in guard.excluded_trip_ids and september.pk not in guard.excluded_trip_ids


def test_a_rating_in_the_month_of_a_trip_excluded_just_before_it_does_not_count(platform):
    driver = linked_driver(platform, 1)
    session(platform, driver, at(30, 18, month=9), at(30, 23, 30, month=9))
    tired = trip(platform, driver, at(30, 23, 20, month=9))
    event(platform, driver, "rating", at(1, 0, 5), rating=1, trip_external_id=tired.external_id)

    guard = fatigue(platform, driver)
    assert guard.online_minutes == 0 and guard.excluded_trips == 0
    assert guard.excluded_ratings == 1
    assert guard.sentence() == (
        "1 rating of trips made online beyond the rest rules (more than 4 h without a "
        "20-minute break, or over the daily cap of 10 h) did not count."
    )


def test_a_driver_without_sessions_has_nothing_excluded(platform):
    published(platform, "quality", {**QUALITY, "min_trips": 2}, amount_fen=5000)
    driver = linked_driver(platform, 1)
    for hour in (8, 13):
        rating(platform, driver, trip(platform, driver, at(15, hour)))

    assert fatigue_for(platform=platform, driver_ids=[driver.pk], start=START, end=END) == {}
    explanation = explain(platform, driver)
    assert explanation["amount_fen"] == 5000
    assert explanation["fatigue"]["excluded_trips"] == 0
    assert explanation["fatigue"]["online_minutes"] == 0
    assert explanation["fatigue"]["policy"]["continuous_limit_minutes"] == 240
    assert "rest rules" not in explanation["sentence"]
    assert explanation["lost_to_fatigue"] is False


def test_a_driver_who_lost_the_quality_reward_only_to_the_rest_rules_is_told_so(platform):
    published(platform, "quality", {**QUALITY, "min_trips": 10}, amount_fen=5000)
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 7), at(15, 12))
    for minute in range(0, 60, 5):  # 12 trips from 07:00 to 07:55, in the first hour
        rating(platform, driver, trip(platform, driver, at(15, 7, minute)))
    trip(platform, driver, at(15, 11, 20))
    trip(platform, driver, at(15, 11, 40))

    explanation = explain(platform, driver)
    assert explanation["figures"]["trips"] == 12
    assert explanation["amount_fen"] == 5000  # earned: no trip after 11:00 is needed

    ServiceEvent.objects.filter(driver=driver, kind="trip", occurred_at__lt=at(15, 7, 20)).update(
        occurred_at=at(15, 11, 30)  # four of them now after 11:00 (4 h after 07:00)
    )
    explanation = explain(platform, driver)
    assert explanation["amount_fen"] == 0
    assert explanation["figures"]["trips"] == 8
    assert explanation["lost_to_fatigue"] is True
    assert explanation["sentence"] == (
        "8 trips (at least 10 needed), average rating 5.00 from 8 ratings (at least 4.9 "
        "needed), 0 upheld complaints (at most 0 allowed): the quality reward is not earned. "
        "6 trips made during 1 h " + RULES_TEXT + " Neither did 4 ratings of those trips. "
        "Had they counted, the quality reward would have been earned."
    )
    assert rules.compute_lines(platform=platform, period_start=OCT_1, period_end=OCT_31) == []


def test_simulate_applies_the_guard_too(platform):
    driver = linked_driver(platform, 1)
    session(platform, driver, at(15, 8), at(15, 13))
    trip(platform, driver, at(15, 9))
    trip(platform, driver, at(15, 12, 30))
    draft = rules.rule_version_create(
        platform=platform,
        kind="safety",
        name="Draft",
        params={"min_trips": 2, "max_incidents": 0},
        amount_fen=3000,
        effective_from=date(2027, 1, 1),
    )
    assert rules.simulate(version=draft, period_start=OCT_1, period_end=OCT_31) == []
    [line] = rules.simulate(
        version=draft, period_start=OCT_1, period_end=OCT_31, include_unpaid=True
    )
    assert line["explanation"]["fatigue"]["excluded_trips"] == 1
    assert line["explanation"]["lost_to_fatigue"] is True


# --- queries -------------------------------------------------------------------------------


def _tired_drivers(platform, first: int, number: int):
    for n in range(first, first + number):
        driver = linked_driver(platform, n)
        session(platform, driver, at(15, 8), at(15, 13))
        session(platform, driver, at(16, 8), at(16, 9))
        for hour in (9, 12):
            rating(platform, driver, trip(platform, driver, at(15, hour, 30)))
        event(platform, driver, "safety_incident", at(15, 10), severity="minor")


def test_the_number_of_queries_does_not_grow_with_the_number_of_drivers(platform):
    published(platform, "quality", {**QUALITY, "min_trips": 1}, amount_fen=5000)
    published(platform, "safety", {**SAFETY, "min_trips": 1}, amount_fen=3000)
    published(platform, "skill_allowance", {"per_level_fen": {"1": 1000}})
    published(
        platform,
        "tier",
        {"tiers": [{"name": "Gold", "min_trips": 1, "min_average_rating": "4", "amount_fen": 1}]},
    )
    effective_policy(platform)  # the site's policy row exists (created the first time it's read)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            lines = rules.compute_lines(
                platform=platform, period_start=OCT_1, period_end=OCT_31, include_unpaid=True
            )
        assert all(line["explanation"]["fatigue"]["excluded_trips"] == 1 for line in lines if
                   line["rule_version"].kind != "skill_allowance")  # fmt: skip
        return len(captured)

    _tired_drivers(platform, 1, 2)
    with_two = queries()
    _tired_drivers(platform, 3, 8)
    assert queries() == with_two == 10
