"""The seeded site as a visitor sees it, in both languages, and the admin as its users do."""

import pytest
from django.apps import apps
from django.core.management import call_command
from wagtail.images.models import Image
from wagtail.models import Page, Revision

from cms.demo import DEMO_PASSWORD
from cms.models import PartnerPage, User


@pytest.fixture
def seeded(db, settings):
    settings.DEMO_SEEDERS = []  # the site's own demo; each app tests its own seeder
    call_command("seed_demo", verbosity=0)


def _snapshot() -> dict[str, int]:
    """How many rows each of our and Wagtail's content models has."""
    counted = {}
    for model in apps.get_models():
        if model._meta.app_label in {"cms", "wagtailcore", "wagtailimages", "auth"}:
            counted[model._meta.label] = model.objects.count()
    counted["revisions"] = Revision.objects.count()
    return counted


def test_seed_demo_makes_the_promised_cast(seeded):
    from cms.models import Organization

    kinds = list(Organization.objects.values_list("kind", flat=True))
    assert kinds.count("school") == 2
    assert kinds.count("carmaker") == 2
    assert kinds.count("platform") == 1
    roles = [user.role for user in User.objects.select_related("organization")]
    assert roles.count("operator") == 1
    assert roles.count("driver") >= 3
    assert roles.count("author") == 4
    assert roles.count("platform_staff") == 1
    assert PartnerPage.objects.live().count() == 8  # 4 partners x 2 languages
    assert Image.objects.filter(title__endswith="logo").count() == 4


def test_seed_demo_twice_changes_nothing(seeded, capsys):
    before = _snapshot()
    call_command("seed_demo", verbosity=0)
    assert _snapshot() == before


def test_seed_demo_prints_the_logins(db, capsys, settings):
    settings.DEMO_SEEDERS = []
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    assert "+8613800000001" in out


def test_home_page_in_chinese_at_the_root(client, seeded):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in html
    assert "学技能，拿证书，好服务有回报" in html
    assert "鹏城交通职业技术学院" in html
    assert 'href="/en/"' in html  # the language switcher


def test_home_page_in_english_under_en(client, seeded):
    response = client.get("/en/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Learn skills, earn certificates" in html
    assert "Pengcheng Transport Vocational College" in html
    assert "学技能" not in html


def test_partner_pages_link_to_their_translation(client, seeded):
    html = client.get("/partners/yuanhang-nev/").content.decode()
    assert "远航新能源汽车" in html
    assert 'href="/en/partners/yuanhang-nev/"' in html
    english = client.get("/en/partners/yuanhang-nev/").content.decode()
    assert "Yuanhang New Energy Vehicles" in english
    assert "<img" in english  # the logo drawn by the seed


def test_every_page_renders_with_a_bounded_number_of_queries(
    client, seeded, django_assert_max_num_queries
):
    for page in Page.objects.live().filter(depth__gt=1).specific():
        assert client.get(page.url).status_code == 200, page.url  # makes image renditions
        with django_assert_max_num_queries(20):
            client.get(page.url)


def test_the_admin_login_page_and_dashboard(client, seeded):
    assert client.get("/admin/login/").status_code == 200
    logged_in = client.login(username="13800000001", password=DEMO_PASSWORD)
    assert logged_in
    response = client.get("/admin/")
    assert response.status_code == 200
    assert client.get("/admin/organizations/").status_code == 200
    assert client.get("/admin/users/").status_code == 200


def test_an_author_can_enter_the_admin_and_a_driver_cannot(client, seeded):
    client.login(username="+8613800000011", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/organizations/").status_code == 302  # operators only
    client.logout()
    client.login(username="+8613900000001", password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 302


def test_operator_creates_a_user_with_a_mobile_number_in_the_admin(client, seeded):
    from cms.models import Organization

    client.login(username="13800000001", password=DEMO_PASSWORD)
    school = Organization.objects.get(slug="jiangnan-auto")
    response = client.post(
        "/admin/users/new/",
        {
            "mobile": "137 0000 0042",
            "email": "teacher@example.com",
            "first_name": "Li",
            "last_name": "Lei",
            "display_name": "李老师",
            "organization": school.pk,
            "timezone": "",
            "password1": "a-strong-pass-123",
            "password2": "a-strong-pass-123",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(mobile="+8613700000042")
    assert created.organization == school
    assert created.role == User.Role.AUTHOR


def test_times_are_stored_in_utc_and_shown_in_shanghai_time(seeded):
    from datetime import UTC, datetime

    from django.template import Context, Template
    from django.utils import timezone

    moment = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    rendered = Template("{{ moment|date:'Y-m-d H:i' }}").render(Context({"moment": moment}))
    assert rendered == "2026-01-02 00:30"
    user = User.objects.get(mobile="+8613900000001")
    user.last_login = moment
    user.save(update_fields=["last_login"])
    user.refresh_from_db()
    assert user.last_login.utcoffset().total_seconds() == 0
    with timezone.override("Europe/London"):  # a driver who chose their own zone
        assert Template("{{ m|date:'H:i' }}").render(Context({"m": moment})) == "16:30"


def test_a_signed_in_driver_sees_times_in_their_own_zone(client, seeded):
    from django.utils import timezone

    user = User.objects.get(mobile="+8613900000001")
    user.timezone = "Europe/Berlin"
    user.save(update_fields=["timezone"])
    client.login(username=user.mobile, password=DEMO_PASSWORD)
    response = client.get("/")
    assert response.context["TIME_ZONE"] == "Europe/Berlin"
    assert timezone.get_current_timezone_name() == "Asia/Shanghai"  # reset after the request
