"""A driver's monthly statement: what they earned per platform (trips, reward lines with their
explanations, awards, corrections) and how their account moved (opening + movements =
closing), on the site in Chinese and English and as a PDF with real Chinese text."""

import io
import shutil
import subprocess
from contextlib import contextmanager
from datetime import date, datetime, time
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from PIL import Image

from cms.models import Organization
from credentials.models import ConsentGrant
from rewards import disputes, rules, services, statements
from rewards.ledger import (
    driver_payable_account,
    external_account,
    platform_funding_account,
    post_transaction,
)
from rewards.models import Award, DriverLink, RewardLine, ServiceEvent
from tests.factories import DriverFactory, OperatorFactory

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
SEP_1, SEP_30 = date(2026, 9, 1), date(2026, 9, 30)
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)
NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)
QUALITY = {"min_trips": 100, "min_average_rating": "4.9", "max_upheld_complaints": 0}
SAFETY = {"max_incidents": 0, "min_trips": 50}
POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdffonts"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")


def china(year, month, day, hour=12, minute=0) -> datetime:
    return datetime.combine(date(year, month, day), time(hour, minute), tzinfo=CHINA)


@contextmanager
def at_time(moment: datetime):
    """Everything that asks django.utils.timezone.now() gets ``moment``."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


# --- builders (also used by test_disputes) --------------------------------------------------------


def make_platform(slug="kuaixing", name="快行出行", name_en="Kuaixing") -> Organization:
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name=name, name_en=name_en, slug=slug
    )


def link(platform, driver, ref: str, since: datetime = None) -> None:
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=ref
    )
    made = services.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=made.pk).update(linked_at=since or china(2026, 8, 1))


def driver_linked(platform, n: int, **fields):
    driver = DriverFactory(mobile=f"+86138{n:08d}", **fields)
    link(platform, driver, f"KX-{n}")
    return driver


def report(platform, driver, *, when, trips=0, fare=2000, ratings=(), upheld=0, dismissed=0):
    events = []

    def add(kind, **values):
        events.append(
            ServiceEvent(
                platform=platform,
                driver=driver,
                external_id=f"{driver.pk}-{when:%Y%m}-{kind}-{len(events)}",
                kind=kind,
                occurred_at=when,
                **values,
            )
        )

    for _n in range(trips):
        add("trip", fare_fen=fare, currency="CNY")
    for rating in ratings:
        add("rating", rating=rating)
    for _n in range(upheld):
        add("complaint", outcome="upheld", trip_external_id="T-0003")
    for _n in range(dismissed):
        add("complaint", outcome="dismissed")
    ServiceEvent.objects.bulk_create(events)
    return events


def publish(platform, kind, params, *, amount_fen=None, effective_from=SEP_1, name=None):
    version = rules.rule_version_create(
        platform=platform,
        kind=kind,
        name=name or f"{kind} rule",
        params=params,
        amount_fen=amount_fen,
        effective_from=effective_from,
    )
    return rules.rule_version_publish(version=version, actor=None, today=date(2026, 7, 1))


def deposit(platform, fen: int, key: str = "deposit-1", when=None):
    with at_time(when or china(2026, 8, 20)):
        post_transaction(
            idempotency_key=key,
            kind="deposit",
            legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
        )


def run_month(platform, first: date, last: date, when: datetime):
    with at_time(when):
        return rules.reward_run_execute(platform=platform, period_start=first, period_end=last)


def award(platform, driver, fen: int, reason: str, when: datetime, ref="A-1") -> Award:
    with at_time(when):
        posted = post_transaction(
            idempotency_key=f"award:{platform.pk}:{ref}",
            kind="award",
            legs=[
                (platform_funding_account(platform), -fen),
                (driver_payable_account(driver), fen),
            ],
        )
        return Award.objects.create(
            platform=platform,
            external_id=ref,
            driver=driver,
            amount_fen=fen,
            reason=reason,
            transaction=posted,
        )


@pytest.fixture
def platform(db):
    return make_platform()


@pytest.fixture
def history(platform):
    """王师傅: September's run posted on 5 October, a dispute of its safety line upheld (+¥20)
    on 8 October, a ¥10 award on 12 October; October's run (an upheld complaint costs the
    quality reward) posted on 5 November."""
    publish(platform, "quality", QUALITY, amount_fen=5000, name="优质服务奖")
    publish(platform, "safety", SAFETY, amount_fen=3000, name="安全驾驶奖")
    deposit(platform, 100_000)
    driver = driver_linked(platform, 1, display_name="王师傅")
    report(platform, driver, when=china(2026, 9, 10), trips=100, ratings=[5] * 19 + [4])
    report(
        platform, driver, when=china(2026, 10, 10), trips=120, fare=2500, ratings=[5] * 10, upheld=1
    )
    run_month(platform, SEP_1, SEP_30, china(2026, 10, 5))
    safety_line = RewardLine.objects.get(driver=driver, rule_version__kind="safety")
    with at_time(china(2026, 10, 6)):
        dispute = disputes.dispute_open(
            driver=driver,
            reason="The platform missed my trips of 30 September.",
            reward_line=safety_line,
        )
    with at_time(china(2026, 10, 8)):
        disputes.dispute_resolve(
            dispute=dispute,
            operator=OperatorFactory(),
            uphold=True,
            resolution="Kuaixing confirmed 12 missing trips.",
            correction_fen=2000,
        )
    award(platform, driver, 1000, "春运志愿服务", china(2026, 10, 12))
    run_month(platform, OCT_1, OCT_31, china(2026, 11, 5))
    return driver


NOW = china(2026, 11, 10)


# --- money and months -----------------------------------------------------------------------------


def test_money_is_shown_in_yuan_from_whole_fen():
    assert statements.format_money(123456789) == "¥1,234,567.89"
    assert statements.format_money(5) == "¥0.05"
    assert statements.format_money(-250) == "-¥2.50"
    assert statements.format_money(250, signed=True) == "+¥2.50"
    assert statements.format_money(0) == "¥0.00"
    assert statements.format_money(1999, "USD") == "19.99 USD"
    with pytest.raises(TypeError):
        statements.format_money(12.5)


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "26-10", "2026-1", "2026/10", "abcd-ef", "１２３４-１０", "1999-12"],
)
def test_malformed_months_are_not_months(text):
    assert statements.parse_month(text) is None


# --- the statement --------------------------------------------------------------------------------


def test_october_shows_trips_lines_award_correction_and_the_complaint(history, platform):
    with at_time(NOW):
        statement = statements.statement_build(driver=history, period_start=OCT_1)

    [part] = statement.platforms
    assert part.platform == platform and part.computed
    [trips] = part.trips
    assert (trips.count, trips.earnings.fen, str(trips.earnings)) == (120, 300_000, "¥3,000.00")
    # October: the upheld complaint cost the quality reward; safety was earned.
    assert [(item.rule_name, item.amount.fen) for item in part.lines] == [("安全驾驶奖", 3000)]
    [missed] = part.not_earned
    assert missed.rule_name == "优质服务奖"
    assert "1 upheld complaint (at most 0 allowed)." in missed.reasons
    assert part.lines[0].explanation == [
        "120 trips (at least 50 needed).",
        "0 safety incidents (at most 0 allowed).",
    ]
    [award_item] = part.awards
    assert (award_item.reason, award_item.amount.fen) == ("春运志愿服务", 1000)
    [adjustment] = part.adjustments
    assert adjustment.amount.fen == 2000 and adjustment.dispute is not None
    assert "Kuaixing confirmed 12 missing trips." in adjustment.description
    [complaint] = part.complaints
    assert complaint.can_dispute and complaint.dispute is None
    assert [m.fen for m in part.total] == [3000 + 1000 + 2000]
    assert [m.fen for m in statement.earned] == [6000]
    assert not statement.is_current


def test_the_quality_explanation_is_built_from_figures_in_the_active_language(history):
    with at_time(NOW):
        statement = statements.statement_build(driver=history, period_start=SEP_1)
    quality = next(item for item in statement.platforms[0].lines if item.rule_name == "优质服务奖")
    assert quality.explanation == [
        "100 trips (at least 100 needed).",
        "Average passenger rating 4.95 from 20 ratings (at least 4.9 needed).",
        "0 upheld complaints (at most 0 allowed).",
    ]
    assert quality.line.explanation["sentence"] not in quality.explanation
    # The safety line of September is disputed, and the dispute upheld.
    safety = next(item for item in statement.platforms[0].lines if item.rule_name == "安全驾驶奖")
    assert safety.dispute.status == "upheld" and safety.can_dispute


def test_opening_plus_movements_is_closing_across_two_months(history):
    with at_time(NOW):
        september = statements.statement_build(driver=history, period_start=SEP_1)
        october = statements.statement_build(driver=history, period_start=OCT_1)
        november = statements.statement_build(driver=history, period_start=NOV_1)

    # September's rewards were computed in October: September's account did not move.
    assert september.accounts == [] or (
        september.accounts[0].opening.fen == 0 and september.accounts[0].closing.fen == 0
    )
    assert [m.fen for m in september.earned] == [8000]  # what September earned, posted later

    [account] = october.accounts
    assert account.opening.fen == 0
    assert [(m.kind, m.amount.fen) for m in account.movements] == [
        ("reward", 5000),
        ("reward", 3000),
        ("adjustment", 2000),
        ("award", 1000),
    ]
    assert account.closing.fen == 11_000
    assert account.opening.fen + sum(m.amount.fen for m in account.movements) == account.closing.fen
    assert account.movements[-1].balance_after.fen == account.closing.fen
    reward = account.movements[0]
    assert "2026" in reward.description and reward.url.endswith(
        f"/rewards/statements/2026-09/#line-{reward.transaction.metadata['reward_line']}"
    )
    assert account.movements[2].url.startswith("/en/rewards/disputes/#dispute-") or (
        "/rewards/disputes/#dispute-" in account.movements[2].url
    )

    [next_account] = november.accounts
    assert next_account.opening == account.closing
    assert [(m.kind, m.amount.fen) for m in next_account.movements] == [("reward", 3000)]
    assert next_account.closing.fen == 14_000
    assert november.is_current


def test_a_month_without_a_finished_run_says_when_it_will_be_computed(history, settings):
    settings.REWARDS_RUN_AFTER_DAYS = 3
    with at_time(NOW):
        statement = statements.statement_build(driver=history, period_start=NOV_1)
    [part] = statement.platforms
    assert not part.computed and part.lines == []
    assert statement.runs_start_on == date(2026, 12, 4)


def test_the_fatigue_note_comes_from_the_lines_explanation(platform):
    publish(platform, "safety", SAFETY, amount_fen=3000)
    deposit(platform, 10_000)
    driver = driver_linked(platform, 2)
    report(platform, driver, when=china(2026, 9, 10), trips=60)
    run_month(platform, SEP_1, SEP_30, china(2026, 10, 5))
    line = RewardLine.objects.get(driver=driver)
    RewardLine.objects.filter(pk=line.pk).update(
        explanation={
            **line.explanation,
            "fatigue": {"excluded_trips": 7, "excluded_minutes": 95},
        }
    )
    with at_time(NOW):
        statement = statements.statement_build(driver=driver, period_start=SEP_1)
    fatigue = statement.platforms[0].fatigue
    assert (fatigue.excluded_trips, fatigue.excluded_minutes) == (7, 95)
    assert fatigue.text == (
        "7 trips made during 1 h 35 min online beyond the rest rules did not count towards rewards."
    )


def test_certificates_count_for_a_skill_allowance_only_with_consent(platform, monkeypatch):
    publish(platform, "skill_allowance", {"per_level_fen": {"1": 2000}})
    driver = driver_linked(platform, 3)
    monkeypatch.setattr(statements, "_holds_active_credentials", lambda driver: True)
    with at_time(NOW):
        assert (
            statements.statement_build(driver=driver, period_start=OCT_1)
            .platforms[0]
            .consent_needed
        )
        ConsentGrant.objects.create(holder=driver, platform=platform)
        assert (
            not statements.statement_build(driver=driver, period_start=OCT_1)
            .platforms[0]
            .consent_needed
        )


def test_the_months_run_from_the_first_link_to_this_month_newest_first(history):
    with at_time(NOW):
        months = statements.statement_months(history)
    assert [(m.key, [money.fen for money in m.earned]) for m in months] == [
        ("2026-11", []),
        ("2026-10", [6000]),
        ("2026-09", [8000]),
        ("2026-08", []),
    ]
    assert months[0].is_current


# --- the pages ------------------------------------------------------------------------------------


def test_the_statement_page_in_english_and_chinese(client, history):
    client.force_login(history)
    with at_time(NOW):
        english = client.get("/en/rewards/statements/2026-10/")
        chinese = client.get("/rewards/statements/2026-10/")
        listing = client.get("/en/rewards/statements/")
    assert english.status_code == 200
    html = english.content.decode()
    for expected in (
        "What you earned for October 2026",
        "Your account in October 2026",
        "120 trips (at least 50 needed).",
        "¥3,000.00",  # trip earnings
        "春运志愿服务",
        "+¥20.00",
        "Opening balance",
        "Closing balance",
        "¥110.00",  # the closing balance
        "data-dispute-link",
        "rewards/statements/2026-10.pdf",
    ):
        assert expected in html, expected
    assert chinese.status_code == 200
    text = chinese.content.decode()
    assert 'lang="zh-Hans"' in text and "2026年10月" in text
    assert "rewards/statements/2026-10.pdf" in text
    assert listing.status_code == 200
    assert "October 2026" in listing.content.decode()
    assert "¥60.00" in listing.content.decode()


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "abcd-ef", "2026-12", "2027-01", "2026-07"])
def test_malformed_future_and_too_early_months_are_not_found(client, history, month):
    client.force_login(history)
    with at_time(NOW):
        assert client.get(f"/en/rewards/statements/{month}/").status_code == 404
        assert client.get(f"/en/rewards/statements/{month}.pdf").status_code == 404


def test_a_driver_sees_only_their_own_statement(client, history, platform):
    other = driver_linked(platform, 9, display_name="李师傅")
    client.force_login(other)
    with at_time(NOW):
        html = client.get("/en/rewards/statements/2026-10/").content.decode()
        line = RewardLine.objects.filter(driver=history).first()
        assert client.get(f"/en/rewards/disputes/new/line/{line.pk}/").status_code == 404
    assert "王师傅" not in html and "春运志愿服务" not in html and "¥3,000.00" not in html


def test_pages_need_a_login(client):
    response = client.get("/en/rewards/statements/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@needs_poppler
def test_the_pdf_has_chinese_text_and_is_not_blank(client, history, tmp_path):
    client.force_login(history)
    with at_time(NOW):
        response = client.get("/rewards/statements/2026-10.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    compact = "".join(text.split())
    for expected in ("王师傅", "2026年10月", "快行出行", "安全驾驶奖", "春运志愿服务", "¥110.00"):
        assert expected in compact, expected
    assert any("\u4e00" <= ch <= "\u9fff" for ch in compact)
    # The Chinese is drawn with an embedded CJK font, not boxes of a font without the glyphs.
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert "CJK" in fonts, fonts
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-singlefile", str(pdf), str(tmp_path / "p")],
        check=True,
        timeout=60,
    )
    image = Image.open(tmp_path / "p.png").convert("L")
    low, high = image.getextrema()
    assert low < 100 and high > 200  # ink on paper, not a blank page
    dark = sum(image.histogram()[:128])
    assert dark > 500


def test_the_english_pdf_has_english_labels(client, history, tmp_path):
    client.force_login(history)
    with at_time(NOW), translation.override("en"):
        response = client.get("/en/rewards/statements/2026-10.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    if POPPLER:
        pdf = tmp_path / "statement.pdf"
        pdf.write_bytes(response.content)
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, check=True, timeout=60
        ).stdout.decode()
        assert "Statement for October 2026" in " ".join(text.split())
    assert io.BytesIO(response.content).getbuffer().nbytes > 1000


def test_a_tier_line_says_the_tier_reached_and_what_the_next_one_needs(platform):
    publish(
        platform,
        "tier",
        {
            "tiers": [
                {"name": "银星", "min_trips": 50, "min_average_rating": "4.5", "amount_fen": 5000},
                {"name": "金星", "min_trips": 100, "min_average_rating": "4.8", "amount_fen": 9000},
            ]
        },
        name="星级司机",
    )
    deposit(platform, 10_000)
    driver = driver_linked(platform, 4)
    report(platform, driver, when=china(2026, 9, 10), trips=64, ratings=[5] * 9 + [4])
    run_month(platform, SEP_1, SEP_30, china(2026, 10, 5))
    with at_time(NOW):
        [part] = statements.statement_build(driver=driver, period_start=SEP_1).platforms
    [line] = part.lines
    assert line.amount.fen == 5000
    assert line.explanation == [
        "64 trips.",
        "Average passenger rating 4.90 from 10 ratings.",
        "Tier reached: 银星 (at least 50 trips and an average rating of at least 4.5).",
        "Next tier: 金星. Still needed: 36 more trips.",
    ]


def test_a_reversal_shows_as_an_adjustment_and_a_movement(platform):
    from rewards.ledger import reverse_transaction

    publish(platform, "quality", QUALITY, amount_fen=5000)
    publish(platform, "safety", SAFETY, amount_fen=3000)
    deposit(platform, 10_000)
    driver = driver_linked(platform, 5)
    report(platform, driver, when=china(2026, 9, 10), trips=100, ratings=[5] * 10)
    run_month(platform, SEP_1, SEP_30, china(2026, 10, 5))
    safety = RewardLine.objects.get(driver=driver, rule_version__kind="safety")
    with at_time(china(2026, 10, 20)):
        reverse_transaction(
            original=safety.transaction, idempotency_key="reverse-1", description="Posted twice"
        )
    with at_time(NOW):
        october = statements.statement_build(driver=driver, period_start=OCT_1)
    [part] = october.platforms
    [adjustment] = part.adjustments
    assert adjustment.amount.fen == -3000 and adjustment.amount.signed == "-¥30.00"
    [account] = october.accounts
    assert [(m.kind, m.amount.fen) for m in account.movements] == [
        ("reward", 5000),
        ("reward", 3000),
        ("reversal", -3000),
    ]
    assert account.movements[-1].description.startswith("Reversal of: Reward: safety rule")
    assert account.movements[-1].url.endswith(f"#line-{safety.pk}")
    assert account.closing.fen == 5000 == account.opening.fen + 5000 + 3000 - 3000
