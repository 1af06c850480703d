"""The reward rules admin: platform staff write, publish, simulate and run their own platform's
rules (operators any platform's), typed in yuan and plain fields, never JSON."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from cms.models import Organization
from rewards import rules, services
from rewards.admin_forms import parse_rating, recent_months, yuan_to_fen
from rewards.admin_rules import china_today
from rewards.ledger import external_account, platform_funding_account, post_transaction
from rewards.models import (
    DriverLink,
    PlatformRewardPolicy,
    RewardLine,
    RewardRun,
    RuleVersion,
    ServiceEvent,
    Transaction,
)
from rewards.policy import site_policy
from tests.factories import AuthorFactory, DriverFactory, OperatorFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("admin_in_english")]

BASE = "/admin/reward-rules/"
QUALITY = {"min_trips": 100, "min_average_rating": "4.90", "max_upheld_complaints": 0}
SAFETY = {"min_trips": 50, "max_incidents": 0}
SKILL = {"per_level_fen": {"1": 2000, "2": 5000, "3": 10000}}


def in_menu(user) -> bool:
    from django.test import RequestFactory
    from wagtail.admin.menu import admin_menu

    request = RequestFactory().get("/admin/")
    request.user = user
    return "reward-rules" in [item.name for item in admin_menu.menu_items_for_request(request)]


def admin_user(**fields):
    user = UserFactory(**fields)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


@pytest.fixture
def platform_a(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


@pytest.fixture
def platform_b(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="顺风出行", name_en="Shunfeng", slug="shunfeng"
    )


@pytest.fixture
def staff_a(platform_a):
    return admin_user(organization=platform_a)


@pytest.fixture
def staff_b(platform_b):
    return admin_user(organization=platform_b)


@pytest.fixture
def operator(db):
    return OperatorFactory()


def last_month():
    return recent_months(china_today())[0]


def draft(platform, kind="quality", params=QUALITY, amount_fen=8850, **fields):
    return rules.rule_version_create(
        platform=platform,
        kind=kind,
        name=fields.pop("name", f"{kind} rule of {platform.slug}"),
        params=params,
        amount_fen=amount_fen,
        effective_from=fields.pop("effective_from", china_today() + timedelta(days=60)),
        **fields,
    )


def published_in_effect(platform, kind="quality", params=QUALITY, amount_fen=5000, **fields):
    """Published with notice long ago, in effect since before last month."""
    effective_from = (last_month() - timedelta(days=40)).replace(day=1)
    version = draft(platform, kind, params, amount_fen, effective_from=effective_from, **fields)
    return rules.rule_version_publish(
        version=version, actor=None, today=effective_from - timedelta(days=version.notice_days)
    )


def linked_driver(platform, n: int):
    driver = DriverFactory(mobile=f"+86139{n:08d}")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=f"KX-{n}"
    )
    link = services.link_request_decide(request=request, driver=driver, approve=True)
    DriverLink.objects.filter(pk=link.pk).update(linked_at=timezone.now() - timedelta(days=400))
    return driver


def report(platform, driver, *, trips: int, ratings=()):
    """Service events of one driver in the middle of last month."""
    start = last_month()
    when = datetime.combine(start.replace(day=15), time(12), tzinfo=rules.CHINA)
    events = [
        ServiceEvent(
            platform=platform,
            driver=driver,
            external_id=f"{driver.pk}-trip-{n}",
            kind="trip",
            occurred_at=when,
            fare_fen=2000,
            currency="CNY",
        )
        for n in range(trips)
    ]
    events += [
        ServiceEvent(
            platform=platform,
            driver=driver,
            external_id=f"{driver.pk}-rating-{n}",
            kind="rating",
            occurred_at=when,
            rating=rating,
        )
        for n, rating in enumerate(ratings)
    ]
    ServiceEvent.objects.bulk_create(events)


def deposit(platform, fen: int):
    post_transaction(
        idempotency_key=f"deposit-{platform.pk}-{fen}",
        kind="deposit",
        legs=[(platform_funding_account(platform), fen), (external_account(), -fen)],
    )


def quality_form(**overrides):
    data = {
        "name": "Five-star month",
        "effective_from": (china_today() + timedelta(days=45)).isoformat(),
        "notice_days": "",
        "min_trips": "120",
        "min_average_rating": "4.9",
        "max_upheld_complaints": "0",
        "reward": "88.50",
    }
    data.update(overrides)
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- who may see what ------------------------------------------------------------------------


def pages_of(platform):
    """Every page of the section, for platform ``platform`` (a draft, a published version, a
    run)."""
    drafted = draft(platform, name="Draft")
    published = published_in_effect(platform, kind="safety", params=SAFETY, name="Safe")
    run = RewardRun.objects.create(
        platform=platform, period_start=last_month(), period_end=rules.month_end(last_month())
    )
    return {
        "index": BASE,
        "create": f"{BASE}new/quality/",
        "version": f"{BASE}{drafted.pk}/",
        "edit": f"{BASE}{drafted.pk}/edit/",
        "publish": f"{BASE}{drafted.pk}/publish/",
        "simulate": f"{BASE}{drafted.pk}/simulate/",
        "new_version": f"{BASE}{published.pk}/new-version/",
        "runs": f"{BASE}runs/",
        "run": f"{BASE}runs/{run.pk}/",
        "policy": f"{BASE}policy/",
    }


@pytest.mark.parametrize("who", ["anonymous", "driver", "author", "staff of B"])
def test_nobody_else_sees_a_platforms_pages(client, platform_a, platform_b, staff_b, who):
    pages = pages_of(platform_a)
    if who == "driver":
        client.force_login(DriverFactory())
    elif who == "author":
        client.force_login(AuthorFactory())  # a school's author, in the admin
    elif who == "staff of B":
        client.force_login(staff_b)
    for name, url in pages.items():
        status = client.get(url).status_code
        if who == "staff of B":
            if name in ("index", "create", "runs", "policy"):
                assert status == 200, name  # their own platform's pages
            else:
                assert status == 404, name
        else:
            assert status in (302, 403), (name, status)


def test_authors_with_admin_access_are_refused_and_have_no_menu_item(client):
    author = AuthorFactory()
    author.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    client.force_login(author)
    for url in (BASE, f"{BASE}runs/", f"{BASE}policy/", f"{BASE}new/quality/"):
        response = client.get(url)  # the admin's "no permission" redirect to its dashboard
        assert (response.status_code, response.url) == (302, "/admin/"), url
    response = client.post(f"{BASE}new/quality/", quality_form())
    assert response.status_code == 302 and not RuleVersion.objects.exists()
    assert not in_menu(author) and not in_menu(DriverFactory())


@pytest.mark.parametrize("who", ["staff of A", "operator"])
def test_the_platforms_staff_and_operators_see_every_page(
    client, platform_a, staff_a, operator, who
):
    pages = pages_of(platform_a)
    client.force_login(staff_a if who == "staff of A" else operator)
    query = f"?platform={platform_a.pk}" if who == "operator" else ""
    for name, url in pages.items():
        response = client.get(
            url + (query if name in ("index", "create", "runs", "policy") else "")
        )
        assert response.status_code == 200, name
    assert in_menu(staff_a) and in_menu(operator)


def test_staff_of_b_can_neither_change_nor_run_as_a(client, platform_a, platform_b, staff_b):
    version = draft(platform_a)
    client.force_login(staff_b)
    assert client.post(f"{BASE}{version.pk}/edit/", quality_form()).status_code == 404
    assert client.post(f"{BASE}{version.pk}/publish/").status_code == 404
    version.refresh_from_db()
    assert version.published_at is None and version.name != "Five-star month"
    # ?platform= is for operators: staff of B always act on B.
    client.post(f"{BASE}new/quality/?platform={platform_a.pk}", quality_form())
    assert RuleVersion.objects.filter(platform=platform_a).count() == 1
    assert RuleVersion.objects.filter(platform=platform_b, name="Five-star month").exists()
    client.post(f"{BASE}runs/run-now/?platform={platform_a.pk}", {"month": "2026-01-01"})
    assert not RewardRun.objects.filter(platform=platform_a).exists()
    client.post(f"{BASE}policy/?platform={platform_a.pk}", {"daily_cap": "600"})
    assert not PlatformRewardPolicy.objects.filter(platform=platform_a).exists()


def test_the_list_shows_only_the_platforms_own_versions_with_their_status(
    client, platform_a, platform_b, staff_a
):
    in_effect = published_in_effect(platform_a, name="Old quality")
    newer = published_in_effect(platform_a, name="Current quality", amount_fen=6000)
    waiting = draft(platform_a, name="Next quality", effective_from=china_today() + timedelta(60))
    rules.rule_version_publish(version=waiting, actor=None)
    mine = draft(platform_a, kind="skill_allowance", params=SKILL, amount_fen=None, name="Skills")
    theirs = draft(platform_b, name="Shunfeng secret rule")
    client.force_login(staff_a)
    html = client.get(BASE).content.decode()
    assert "Shunfeng secret rule" not in html and f'data-version="{theirs.pk}"' not in html
    assert f'data-version="{newer.pk}" data-status="in_effect"' in html
    assert f'data-version="{in_effect.pk}" data-status="superseded"' in html
    assert f'data-version="{waiting.pk}" data-status="waiting"' in html
    assert f'data-version="{mine.pk}" data-status="draft"' in html
    assert "¥60.00 for at least 100 trips" in html
    assert "level 1 ¥20.00 · level 2 ¥50.00 · level 3 ¥100.00" in html
    assert 'data-kind="tier"' in html  # every kind has its section, even empty
    site = site_policy()
    assert f"beyond the daily cap of {site.default_daily_cap_minutes} minutes" in html
    assert f"{site.continuous_limit_minutes} minutes of driving" in html
    assert "Settings → Reward rules policy" not in html  # operators only


def test_operators_pick_the_platform(client, platform_a, platform_b, operator):
    draft(platform_a, name="Kuaixing rule")
    draft(platform_b, name="Shunfeng rule")
    client.force_login(operator)
    html = client.get(f"{BASE}?platform={platform_b.pk}").content.decode()
    assert "Shunfeng rule" in html and "Kuaixing rule" not in html
    assert "data-platform-picker" in html and "Settings → Reward rules policy" in html
    assert client.get(f"{BASE}?platform=999999").status_code == 404
    client.post(f"{BASE}new/quality/?platform={platform_b.pk}", quality_form(name="By operator"))
    assert RuleVersion.objects.get(name="By operator").platform == platform_b


# --- drafts ----------------------------------------------------------------------------------


def test_creating_a_quality_draft_stores_exactly_the_params_and_fen(client, platform_a, staff_a):
    client.force_login(staff_a)
    response = client.post(f"{BASE}new/quality/", quality_form())
    version = RuleVersion.objects.get()
    assert response.status_code == 302 and response.url == f"{BASE}{version.pk}/"
    assert version.params == {
        "min_trips": 120,
        "min_average_rating": "4.90",
        "max_upheld_complaints": 0,
    }
    assert version.amount_fen == 8850 and type(version.amount_fen) is int
    assert version.platform == platform_a and version.created_by == staff_a
    assert version.published_at is None
    assert version.notice_days == site_policy().default_notice_days  # empty: the default


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_average_rating", "5.5"),
        ("min_average_rating", "4.905"),
        ("min_average_rating", "four"),
        ("reward", "12.345"),
        ("reward", "-5"),
        ("reward", "0"),
        ("reward", "1e3"),
        ("reward", "NaN"),
        ("min_trips", "-1"),
        ("min_trips", "1.5"),
        ("notice_days", "-3"),
        ("notice_days", "5"),  # below the site's minimum: the service's message
        ("reward", "10000.01"),  # above the site's largest single reward: the service's
        ("effective_from", "30/02/2027"),
        ("name", ""),
    ],
)
def test_bad_input_shows_an_error_and_stores_nothing(client, staff_a, field, value):
    client.force_login(staff_a)
    response = client.post(f"{BASE}new/quality/", quality_form(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="error-message"' in response.content.decode()
    assert not RuleVersion.objects.exists()


def test_the_services_errors_show_on_the_form(client, staff_a, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError(
            {"amount_fen": ["Too generous."], "params": ["Something about the params."]}
        )

    monkeypatch.setattr(rules, "rule_version_create", refuse)
    client.force_login(staff_a)
    response = client.post(f"{BASE}new/quality/", quality_form())
    form = response.context["form"]
    assert form.errors["reward"] == ["Too generous."]
    assert form.non_field_errors() == ["Something about the params."]


def test_safety_and_skill_allowance_drafts(client, staff_a):
    client.force_login(staff_a)
    client.post(
        f"{BASE}new/safety/",
        {
            "name": "Safe month",
            "effective_from": (china_today() + timedelta(days=45)).isoformat(),
            "min_trips": "50",
            "max_incidents": "0",
            "reward": "30",
        },
    )
    safety = RuleVersion.objects.get(kind="safety")
    assert (safety.params, safety.amount_fen) == ({"min_trips": 50, "max_incidents": 0}, 3000)
    base = {"name": "Skills", "effective_from": (china_today() + timedelta(45)).isoformat()}
    response = client.post(f"{BASE}new/skill_allowance/", {**base})
    assert response.context["form"].non_field_errors()  # no level pays anything
    client.post(
        f"{BASE}new/skill_allowance/", {**base, "level_1": "20", "level_2": "", "level_3": "100.5"}
    )
    skill = RuleVersion.objects.get(kind="skill_allowance")
    assert skill.params == {"per_level_fen": {"1": 2000, "2": 0, "3": 10050}}
    assert skill.amount_fen is None
    assert client.get(f"{BASE}new/bonus/").status_code == 404


def test_the_tier_form_has_six_rows_and_builds_the_tiers(client, staff_a):
    client.force_login(staff_a)
    html = client.get(f"{BASE}new/tier/").content.decode()
    assert html.count('name="tier_') == 6 * 4 and "tier_6_reward" in html
    data = {
        "name": "Driver tiers",
        "effective_from": (china_today() + timedelta(days=45)).isoformat(),
        "tier_1_name": "Silver",
        "tier_1_min_trips": "100",
        "tier_1_min_average_rating": "4.70",
        "tier_1_reward": "88.50",
        "tier_2_name": "Gold",
        "tier_2_min_trips": "150",
        "tier_2_min_average_rating": "4.8",
        "tier_2_reward": "200",
    }
    form = client.post(f"{BASE}new/tier/", {**data, "tier_3_name": "Bronze"}).context["form"]
    assert "tier_3_reward" in form.errors  # a half-filled row
    form = client.post(f"{BASE}new/tier/", {**data, "tier_2_name": "Silver"}).context["form"]
    assert form.non_field_errors()  # two tiers of one name
    assert not RuleVersion.objects.exists()
    # The service's own checks (tiers go up) show on the form.
    swapped = {**data, "tier_1_min_trips": "150", "tier_2_min_trips": "100"}
    form = client.post(f"{BASE}new/tier/", swapped).context["form"]
    assert "Tier 2 needs more trips than tier 1" in " ".join(form.non_field_errors())
    assert not RuleVersion.objects.exists()
    response = client.post(f"{BASE}new/tier/", data)
    version = RuleVersion.objects.get(kind="tier")
    assert response.url == f"{BASE}{version.pk}/"
    assert version.amount_fen is None
    assert version.params == {
        "tiers": [
            {"name": "Silver", "min_trips": 100, "min_average_rating": "4.70", "amount_fen": 8850},
            {"name": "Gold", "min_trips": 150, "min_average_rating": "4.80", "amount_fen": 20000},
        ]
    }
    html = client.get(f"{BASE}{version.pk}/").content.decode()
    assert "data-tiers" in html and "¥200.00" in html
    html = client.get(f"{BASE}{version.pk}/edit/").content.decode()
    assert 'value="Silver"' in html and 'value="88.50"' in html


def test_editing_a_draft_and_never_a_published_version(client, platform_a, staff_a):
    version = draft(platform_a, name="Draft")
    client.force_login(staff_a)
    html = client.get(f"{BASE}{version.pk}/edit/").content.decode()
    assert 'value="88.50"' in html and 'value="4.90"' in html
    response = client.post(
        f"{BASE}{version.pk}/edit/", quality_form(name="Renamed", reward="99.99")
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.name, version.amount_fen) == ("Renamed", 9999)

    published = published_in_effect(platform_a, name="Published")
    response = client.get(f"{BASE}{published.pk}/edit/")
    assert response.status_code == 302 and response.url == f"{BASE}{published.pk}/"
    client.post(f"{BASE}{published.pk}/edit/", quality_form(name="Changed", reward="1"))
    published.refresh_from_db()
    assert (published.name, published.amount_fen) == ("Published", 5000)
    html = client.get(f"{BASE}{published.pk}/").content.decode()
    assert "data-new-version" in html and "data-edit" not in html


def test_a_new_version_is_prefilled_and_supersedes_the_published_one(client, platform_a, staff_a):
    published = published_in_effect(platform_a, name="Five-star month")
    client.force_login(staff_a)
    html = client.get(f"{BASE}{published.pk}/new-version/").content.decode()
    assert 'value="Five-star month"' in html and 'value="50.00"' in html
    response = client.post(
        f"{BASE}{published.pk}/new-version/", quality_form(name="Five-star month 2", reward="60")
    )
    newer = RuleVersion.objects.get(name="Five-star month 2")
    assert response.url == f"{BASE}{newer.pk}/"
    assert newer.supersedes == published and newer.published_at is None
    assert newer.amount_fen == 6000
    # Publishing the new version, once in effect, supersedes the old one.
    rules.rule_version_update(version=newer, actor=None, effective_from=last_month())
    rules.rule_version_publish(version=newer, actor=None, today=last_month() - timedelta(60))
    html = client.get(BASE).content.decode()
    assert f'data-version="{newer.pk}" data-status="in_effect"' in html
    assert f'data-version="{published.pk}" data-status="superseded"' in html
    # A draft is edited, not superseded.
    other = draft(platform_a)
    assert client.get(f"{BASE}{other.pk}/new-version/").url == f"{BASE}{other.pk}/edit/"


# --- publishing ------------------------------------------------------------------------------


def test_publishing_asks_first_and_refuses_too_little_notice(client, platform_a, staff_a):
    version = draft(platform_a, effective_from=china_today() + timedelta(days=5))
    client.force_login(staff_a)
    html = client.get(f"{BASE}{version.pk}/publish/").content.decode()
    assert "announced on their reward rules page" in html and "never be changed" in html
    assert f"It takes effect on {version.effective_from:%Y-%m-%d}." in html
    version.refresh_from_db()
    assert version.published_at is None  # looking changes nothing
    response = client.post(f"{BASE}{version.pk}/publish/")
    assert response.status_code == 200
    assert "Drivers get 30 days’ notice of a rule" in response.content.decode()
    version.refresh_from_db()
    assert version.published_at is None


def test_publishing_with_enough_notice(client, platform_a, staff_a):
    version = draft(platform_a, effective_from=china_today() + timedelta(days=31))
    client.force_login(staff_a)
    response = client.post(f"{BASE}{version.pk}/publish/")
    assert response.status_code == 302 and response.url == BASE
    version.refresh_from_db()
    assert version.published_at is not None
    assert any("is published" in message for message in messages_of(response))
    again = client.get(f"{BASE}{version.pk}/publish/")
    assert again.status_code == 302  # nothing left to confirm


# --- simulating ------------------------------------------------------------------------------


def test_simulating_shows_who_would_earn_what_and_writes_nothing(client, platform_a, staff_a):
    deposit(platform_a, 1_000_000)
    good = linked_driver(platform_a, 1)
    report(platform_a, good, trips=120, ratings=[5] * 19 + [4])
    also_good = linked_driver(platform_a, 2)
    report(platform_a, also_good, trips=100, ratings=[5] * 10)
    slow = linked_driver(platform_a, 3)
    report(platform_a, slow, trips=10, ratings=[5])
    version = draft(platform_a, amount_fen=8850)
    counts = (RewardRun.objects.count(), RewardLine.objects.count(), Transaction.objects.count())
    client.force_login(staff_a)
    response = client.get(f"{BASE}{version.pk}/simulate/?month={last_month().isoformat()}")
    html = response.content.decode()
    assert response.context["drivers_paid"] == 2 and response.context["total"] == "177.00"
    assert "139****0001" in html and "KX-1" in html and "139****0002" in html
    assert "139****0003" not in html and "+8613900000001" not in html
    assert html.count('data-amount-fen="8850"') == 2
    assert "120 trips (at least 100 needed)" in html
    assert "2 drivers would be paid, ¥177.00 in all." in html
    assert (
        RewardRun.objects.count(),
        RewardLine.objects.count(),
        Transaction.objects.count(),
    ) == counts
    version.refresh_from_db()
    assert version.published_at is None
    # The last twelve months, latest first; the default is last month; no other month.
    months = [choice[0] for choice in response.context["form"].fields["month"].choices]
    assert len(months) == 12 and months[0] == last_month().isoformat()
    assert client.get(f"{BASE}{version.pk}/simulate/").context["month"] == last_month()
    future = china_today().replace(day=1).isoformat()
    assert client.get(f"{BASE}{version.pk}/simulate/?month={future}").context["month"] is None


# --- runs ------------------------------------------------------------------------------------


def test_run_now_runs_the_month_once(client, platform_a, platform_b, staff_a):
    deposit(platform_a, 1_000_000)
    published_in_effect(platform_a, amount_fen=5000)
    driver = linked_driver(platform_a, 1)
    report(platform_a, driver, trips=120, ratings=[5] * 10)
    client.force_login(staff_a)
    month = last_month().isoformat()
    response = client.post(f"{BASE}runs/run-now/", {"month": month})
    assert response.status_code == 302 and response.url == f"{BASE}runs/"
    run = RewardRun.objects.get()
    assert run.platform == platform_a and run.status == RewardRun.Status.FINISHED
    assert any("finished" in message for message in messages_of(response))
    transactions = Transaction.objects.count()
    again = client.post(f"{BASE}runs/run-now/", {"month": month})
    assert any("already finished" in message for message in messages_of(again))
    assert Transaction.objects.count() == transactions and RewardLine.objects.count() == 1
    html = client.get(f"{BASE}runs/").content.decode()
    assert f'data-run="{run.pk}" data-status="finished"' in html and "¥50.00" in html
    line = RewardLine.objects.get()
    html = client.get(f"{BASE}runs/{run.pk}/").content.decode()
    assert "139****0001" in html and "KX-1" in html and "¥50.00" in html
    assert f"reward:{run.pk}:{line.pk}" in html
    assert "the quality reward of 50.00 CNY is earned" in html


def test_run_now_refuses_a_month_that_has_not_ended(client, staff_a):
    client.force_login(staff_a)
    this_month = china_today().replace(day=1).isoformat()
    response = client.post(f"{BASE}runs/run-now/", {"month": this_month})
    assert response.status_code == 302
    assert any("month that has ended" in message for message in messages_of(response))
    client.post(f"{BASE}runs/run-now/", {"month": "2099-01-01"})
    assert client.get(f"{BASE}runs/run-now/").status_code == 405
    assert not RewardRun.objects.exists()


def test_an_underfunded_run_shows_why(client, platform_a, staff_a):
    published_in_effect(platform_a, amount_fen=5000)
    driver = linked_driver(platform_a, 1)
    report(platform_a, driver, trips=120, ratings=[5] * 10)
    client.force_login(staff_a)
    response = client.post(f"{BASE}runs/run-now/", {"month": last_month().isoformat()})
    run = RewardRun.objects.get()
    assert run.status == RewardRun.Status.RUNNING and run.last_error
    assert any("Deposit at least" in message for message in messages_of(response))
    html = client.get(f"{BASE}runs/").content.decode()
    assert "data-last-error" in html and "Deposit at least 5000 fen" in html
    assert "data-last-error" in client.get(f"{BASE}runs/{run.pk}/").content.decode()


# --- policy ----------------------------------------------------------------------------------


def test_staff_set_their_daily_cap_and_notice_within_the_limits(client, platform_a, staff_a):
    client.force_login(staff_a)
    response = client.post(
        f"{BASE}policy/", {"daily_cap": "10", "daily_cap_unit": "hours", "notice_days": "45"}
    )
    assert response.status_code == 302
    policy = PlatformRewardPolicy.objects.get(platform=platform_a)
    assert (policy.daily_cap_minutes, policy.notice_days) == (600, 45)
    assert "a daily cap of 600 minutes" in client.get(f"{BASE}policy/").content.decode()
    site = site_policy()
    for data, field in (
        (
            {"daily_cap": str(site.max_daily_cap_minutes + 1), "daily_cap_unit": "minutes"},
            "daily_cap",
        ),
        ({"daily_cap": "13", "daily_cap_unit": "hours"}, "daily_cap"),
        ({"daily_cap": "30", "daily_cap_unit": "minutes"}, "daily_cap"),
        ({"daily_cap": "1.01", "daily_cap_unit": "hours"}, "daily_cap"),
        (
            {"daily_cap_unit": "minutes", "notice_days": str(site.min_notice_days - 1)},
            "notice_days",
        ),
        ({"daily_cap_unit": "minutes", "notice_days": "400"}, "notice_days"),
    ):
        response = client.post(f"{BASE}policy/", data)
        assert response.status_code == 200
        assert field in response.context["form"].errors, data
    policy.refresh_from_db()
    assert (policy.daily_cap_minutes, policy.notice_days) == (600, 45)
    # Empty: back to the site's defaults.
    client.post(f"{BASE}policy/", {"daily_cap": "", "daily_cap_unit": "minutes"})
    policy.refresh_from_db()
    assert (policy.daily_cap_minutes, policy.notice_days) == (None, None)


def test_operators_set_any_platforms_policy_and_find_the_site_settings(
    client, platform_b, operator
):
    client.force_login(operator)
    html = client.get(f"{BASE}policy/?platform={platform_b.pk}").content.decode()
    assert "data-settings-link" in html and "/admin/settings/rewards/siterewardpolicy/" in html
    response = client.post(
        f"{BASE}policy/?platform={platform_b.pk}",
        {"daily_cap": "480", "daily_cap_unit": "minutes", "notice_days": ""},
    )
    assert response.url == f"{BASE}policy/?platform={platform_b.pk}"
    assert PlatformRewardPolicy.objects.get(platform=platform_b).daily_cap_minutes == 480


# --- money ----------------------------------------------------------------------------------


def test_yuan_and_ratings_are_parsed_exactly():
    from django.core.exceptions import ValidationError

    assert [yuan_to_fen(text) for text in ("88.50", "88.5", "0.01", "12", "1,000.10")] == [
        8850,
        8850,
        1,
        1200,
        100010,
    ]
    assert yuan_to_fen("0.29") == 29  # float(0.29) * 100 is 28.999…
    for bad in ("12.345", "-1", "1e3", "NaN", "Infinity", " ", "1.", ".5", "12 .3"):
        with pytest.raises(ValidationError):
            yuan_to_fen(bad)
    assert parse_rating("4.9") == "4.90" and parse_rating("5") == "5.00"
    for bad in ("5.5", "0.9", "4.905", "x"):
        with pytest.raises(ValidationError):
            parse_rating(bad)


def test_operators_run_any_platforms_month(client, platform_a, platform_b, operator):
    deposit(platform_b, 1_000_000)
    published_in_effect(platform_b, amount_fen=5000)
    report(platform_b, linked_driver(platform_b, 7), trips=120, ratings=[5] * 10)
    client.force_login(operator)
    response = client.post(
        f"{BASE}runs/run-now/?platform={platform_b.pk}", {"month": last_month().isoformat()}
    )
    assert response.url == f"{BASE}runs/?platform={platform_b.pk}"
    run = RewardRun.objects.get()
    assert run.platform == platform_b and run.status == RewardRun.Status.FINISHED
    html = client.get(response.url).content.decode()
    assert f'data-run="{run.pk}"' in html
    assert (
        f'data-run="{run.pk}"'
        not in client.get(f"{BASE}runs/?platform={platform_a.pk}").content.decode()
    )
