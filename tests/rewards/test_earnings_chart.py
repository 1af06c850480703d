"""The chart of a driver's earnings over the last 12 months on the statements page: the numbers
(`rewards.selectors.earnings_by_month`) and the page, in English and Chinese."""

import re
from datetime import date

import pytest

from rewards.ledger import (
    driver_payable_account,
    payouts_in_transit_account,
    post_transaction,
    reverse_transaction,
)
from rewards.models import Award
from rewards.selectors import earnings_by_month
from tests.rewards.test_statements import (  # noqa: F401 - fixtures
    NOW,
    at_time,
    award,
    china,
    driver_linked,
    history,
    platform,
)

pytestmark = pytest.mark.django_db


def payout(driver, fen: int, when, key: str, *, returned: bool = False) -> None:
    """A payout sent (the driver's account −fen), or one that came back (+fen)."""
    sign = 1 if returned else -1
    with at_time(when):
        post_transaction(
            idempotency_key=key,
            kind="payout",
            legs=[
                (driver_payable_account(driver), sign * fen),
                (payouts_in_transit_account(), -sign * fen),
            ],
        )


@pytest.fixture
def driver(history, platform):  # noqa: F811 - the imported fixtures
    """`history`'s 王师傅 (September's run ¥80; October's run ¥30, a ¥20 dispute correction and a
    ¥10 award), then: ¥10 paid out in October; in November a ¥40 award, the October award
    reversed (−¥10), ¥50 paid out and ¥20 paid out and returned."""
    payout(history, 1000, china(2026, 10, 20), "payout-1")
    award(platform, history, 4000, "安全月", china(2026, 11, 3), ref="A-2")
    october_award = Award.objects.get(driver=history, external_id="A-1")
    with at_time(china(2026, 11, 3, 15)):
        reverse_transaction(
            original=october_award.transaction,
            idempotency_key="reverse-award-1",
            description="Awarded twice",
        )
    payout(history, 5000, china(2026, 11, 4), "payout-2")
    payout(history, 2000, china(2026, 11, 5), "payout-3")
    payout(history, 2000, china(2026, 11, 6), "payout-3-returned", returned=True)
    return history


@pytest.fixture
def someone_else(platform):  # noqa: F811
    other = driver_linked(platform, 9, display_name="李师傅")
    award(platform, other, 7_700, "别人的奖励", china(2026, 10, 15), ref="A-9")
    payout(other, 1_230, china(2026, 10, 16), "payout-other")
    return other


def test_each_month_has_what_was_earned_and_paid_out(driver, someone_else):
    with at_time(NOW):
        months = earnings_by_month(driver)
    assert len(months) == 12
    assert [month for month, _earned, _paid in months] == [
        date(2025, 12, 1),
        *(date(2026, n, 1) for n in range(1, 12)),
    ]
    figures = {month.strftime("%Y-%m"): (earned, paid) for month, earned, paid in months}
    assert figures["2026-09"] == (8000, 0)  # September's run: quality ¥50 + safety ¥30
    assert figures["2026-10"] == (6000, 1000)  # run ¥30 + correction ¥20 + award ¥10
    assert figures["2026-11"] == (3000, 5000)  # award ¥40 − reversal ¥10; ¥50 (+¥20 − ¥20)
    quiet = [
        value for key, value in figures.items() if key not in {"2026-09", "2026-10", "2026-11"}
    ]
    assert quiet == [(0, 0)] * 9  # the months without anything
    assert all(type(fen) is int for _month, earned, paid in months for fen in (earned, paid))


def test_the_window_moves_with_today_and_its_length(driver):
    assert earnings_by_month(driver, months=3, today=date(2026, 11, 30)) == [
        (date(2026, 9, 1), 8000, 0),
        (date(2026, 10, 1), 6000, 1000),
        (date(2026, 11, 1), 3000, 5000),
    ]
    assert earnings_by_month(driver, months=2, today=date(2026, 10, 1)) == [
        (date(2026, 9, 1), 8000, 0),
        (date(2026, 10, 1), 6000, 1000),
    ]
    # A year later September and October 2026 have left the window.
    later = earnings_by_month(driver, today=date(2027, 10, 5))
    assert later[0][0] == date(2026, 11, 1) and later[0][1:] == (3000, 5000)
    assert all(row[1:] == (0, 0) for row in later[1:])


def test_another_drivers_money_never_appears(driver, someone_else):
    with at_time(NOW):
        mine = earnings_by_month(driver)
        theirs = earnings_by_month(someone_else)
    assert 7_700 not in {earned for _m, earned, _p in mine}
    assert 1_230 not in {paid for _m, _e, paid in mine}
    assert {key.strftime("%Y-%m"): (e, p) for key, e, p in theirs if e or p} == {
        "2026-10": (7_700, 1_230)
    }


def _chart(html: str) -> str:
    match = re.search(r"<figure[^>]*data-earnings-chart.*?</figure>", html, re.S)
    assert match, "no earnings chart on the page"
    return match.group(0)


def test_the_statements_page_shows_the_chart_in_english(client, driver, someone_else):
    client.force_login(driver)
    with at_time(NOW):
        response = client.get("/en/rewards/statements/")
    assert response.status_code == 200
    html = response.content.decode()
    chart = _chart(html)
    assert "Your earnings, month by month" in chart
    svg = re.search(r"<svg[^>]*>", chart).group(0)
    assert 'role="img"' in svg
    label = re.search(r'aria-label="([^"]*)"', svg).group(1)
    assert label == (
        "Earnings over the last 12 months, from December 2025 to November 2026: ¥170.00 earned "
        "in all, the most in September 2026 (¥80.00); ¥60.00 paid out."
    )
    # The bars: short month labels, the year where it starts, amounts in yuan.
    for text in ("Dec", "2025", "Jan", "2026", "Sep", "Oct", "Nov", "¥80.00", "¥60.00", "¥30.00"):
        assert f">{text}</text>" in chart, text
    assert '<g data-month="2026-09">' in chart
    assert chart.count('class="chart-bar-earned"') == 3
    assert chart.count('class="chart-bar-paid"') == 2
    # The same numbers as a table.
    table = re.search(r"<table>.*</table>", chart, re.S).group(0)
    assert re.search(r"September 2026</th><td>¥80.00</td><td>¥0.00</td>", table)
    assert re.search(r"October 2026</th><td>¥60.00</td><td>¥10.00</td>", table)
    assert re.search(r"November 2026</th><td>¥30.00</td><td>¥50.00</td>", table)
    assert re.search(r"Total</th><td>¥170.00</td><td>¥60.00</td>", table)
    assert "¥77.00" not in html and "¥12.30" not in html
    assert ' style="' not in chart  # styles come from the site's stylesheet (a CSP is coming)


def test_the_statements_page_shows_the_chart_in_chinese(client, driver):
    client.force_login(driver)
    with at_time(NOW):
        response = client.get("/rewards/statements/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-Hans"' in html
    chart = _chart(html)
    for text in ("十二月", "2025", "一月", "九月", "十月", "十一月", "¥80.00"):
        assert f">{text}</text>" in chart, text
    assert re.search(r"2026年9月</th><td>¥80.00</td><td>¥0.00</td>", chart)
    assert "2025年12月" in re.search(r'aria-label="([^"]*)"', chart).group(1)


def test_no_chart_without_money_in_the_last_twelve_months(client, platform):  # noqa: F811
    quiet = driver_linked(platform, 7)
    client.force_login(quiet)
    with at_time(NOW):
        html = client.get("/en/rewards/statements/").content.decode()
    assert "data-earnings-chart" not in html
    assert "November 2026" in html  # the statements list is still there
