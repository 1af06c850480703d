"""Platform API keys: made once, shown once, stored only as a hash, refused once revoked;
the bearer auth of /api/v1/, the command that makes keys, the demo key, and the admin."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from cms.api import api_v1
from cms.api_keys import (
    platform_api_key_authenticate,
    platform_api_key_create,
    platform_api_key_revoke,
)
from cms.models import Organization, PlatformApiKey
from tests.factories import AuthorFactory, OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"rw_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def platform():
    return OrganizationFactory(slug="kuaixing-test", kind=Organization.Kind.PLATFORM)


@pytest.fixture
def made(platform):
    return platform_api_key_create(organization=platform, name="Production")


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_new_key_authenticates_as_its_platform(made, platform):
    api_key, raw = made
    assert KEY_PATTERN.fullmatch(raw)
    assert raw.startswith(f"rw_{api_key.prefix}_")
    found = platform_api_key_authenticate(raw)
    assert found == api_key
    assert found.organization == platform
    assert found.last_used_at is not None


def test_each_key_is_different(platform):
    raws = {platform_api_key_create(organization=platform, name=f"k{i}")[1] for i in range(5)}
    assert len(raws) == 5
    assert len({raw.split("_")[1] for raw in raws}) == 5


def test_the_plaintext_is_never_stored(made):
    api_key, raw = made
    secret = raw[len(f"rw_{api_key.prefix}_") :]
    row = PlatformApiKey.objects.filter(pk=api_key.pk).values().get()
    for column, value in row.items():
        assert raw not in str(value), column
        assert secret not in str(value), column


def test_the_right_prefix_with_a_wrong_secret_is_refused(made):
    api_key, raw = made
    wrong = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert platform_api_key_authenticate(wrong) is None
    assert platform_api_key_authenticate(f"rw_{api_key.prefix}_x") is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "rw",
        "rw_",
        "rw__",
        "nounderscoresatall",
        "rw_short_secret",
        "rw_ABCDEFGH_secret",
        "rw_abcdefgh",
        "x" * 10_000,
        "rw_abcdefgh_" + "y" * 10_000,
        "rw_密钥密钥密钥密钥_秘密",
        "rw_abcdefgh_秘密\x00",
        "Bearer rw_abcdefgh_secret",
    ],
)
def test_malformed_keys_are_refused_quietly(made, raw):
    assert platform_api_key_authenticate(raw) is None


def test_a_tampered_key_is_refused(made):
    _api_key, raw = made
    assert platform_api_key_authenticate(raw + "x") is None
    assert platform_api_key_authenticate(raw.upper()) is None
    assert platform_api_key_authenticate(" " + raw) is None


def test_a_revoked_key_is_refused(made):
    api_key, raw = made
    operator = OperatorFactory()
    platform_api_key_revoke(api_key=api_key, revoked_by=operator)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.revoked_by == operator
    assert platform_api_key_authenticate(raw) is None
    first_revoked_at = api_key.revoked_at
    platform_api_key_revoke(api_key=api_key)  # again: nothing changes
    api_key.refresh_from_db()
    assert api_key.revoked_at == first_revoked_at


def test_a_key_of_an_inactive_platform_is_refused(made, platform):
    _api_key, raw = made
    platform.is_active = False
    platform.save()
    assert platform_api_key_authenticate(raw) is None


@pytest.mark.parametrize("kind", [Organization.Kind.SCHOOL, Organization.Kind.CARMAKER])
def test_only_platforms_get_keys(kind):
    organization = OrganizationFactory(kind=kind)
    with pytest.raises(ValidationError):
        platform_api_key_create(organization=organization, name="Nope")
    assert not PlatformApiKey.objects.exists()


def test_last_used_is_written_at_most_once_a_minute(made, django_assert_num_queries):
    api_key, raw = made
    platform_api_key_authenticate(raw)
    with django_assert_num_queries(1):  # the look-up only, no write
        platform_api_key_authenticate(raw)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    PlatformApiKey.objects.filter(pk=api_key.pk).update(last_used_at=an_hour_ago)
    platform_api_key_authenticate(raw)
    api_key.refresh_from_db()
    assert api_key.last_used_at > an_hour_ago


# The API


def test_whoami_answers_with_the_platform_of_the_key(client, made, platform):
    api_key, raw = made
    response = client.get("/api/v1/whoami", **_bearer(raw))
    assert response.status_code == 200
    assert response.json() == {
        "platform": platform.slug,
        "name": platform.name,
        "key": api_key.prefix,
    }


def test_whoami_without_a_key_is_401_with_a_clear_message(client):
    response = client.get("/api/v1/whoami", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "API key" in response.json()["detail"]
    # Chinese by default (no Accept-Language), like the site.
    assert "API 密钥" in client.get("/api/v1/whoami").json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic abc", "Bearer rw_abcdefgh_nope", "Token x"]
)
def test_whoami_with_a_bad_header_is_401(client, made, header):
    response = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_whoami_with_a_revoked_key_is_401(client, made):
    api_key, raw = made
    assert client.get("/api/v1/whoami", **_bearer(raw)).status_code == 200
    platform_api_key_revoke(api_key=api_key)
    response = client.get("/api/v1/whoami", **_bearer(raw))
    assert response.status_code == 401
    assert "detail" in response.json()


def test_the_openapi_schema_is_public_and_names_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schemes = response.json()["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    assert "securitySchemes" in api_v1.get_openapi_schema()["components"]


# The command


def test_the_command_prints_a_working_key(platform, capsys):
    call_command("platform_api_key", platform.slug, "--name", "Staging")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "API key" in line)
    raw = KEY_PATTERN.search(line).group(0)
    api_key = platform_api_key_authenticate(raw)
    assert api_key is not None
    assert api_key.name == "Staging"
    assert api_key.organization == platform


def test_the_command_refuses_a_school_and_an_unknown_slug():
    school = OrganizationFactory(kind=Organization.Kind.SCHOOL)
    with pytest.raises(CommandError, match="platform"):
        call_command("platform_api_key", school.slug)
    with pytest.raises(CommandError, match="no-such-org"):
        call_command("platform_api_key", "no-such-org")
    assert not PlatformApiKey.objects.exists()


# The demo


def _printed_key(out: str) -> str:
    line = next(line for line in out.splitlines() if "API key" in line)
    return KEY_PATTERN.search(line).group(0)


def test_seed_demo_prints_the_same_working_key_every_time(client, settings, capsys):
    settings.DEMO_SEEDERS = []
    call_command("seed_demo")
    first = _printed_key(capsys.readouterr().out)
    api_key = platform_api_key_authenticate(first)
    assert api_key is not None
    assert api_key.organization.slug == "kuaixing"
    assert client.get("/api/v1/whoami", **_bearer(first)).json()["platform"] == "kuaixing"

    call_command("seed_demo")
    assert _printed_key(capsys.readouterr().out) == first
    assert PlatformApiKey.objects.count() == 1


# The admin


def _english_operator():
    """An operator whose admin is in English (the admin follows each user's preference)."""
    from wagtail.users.models import UserProfile

    operator = OperatorFactory()
    profile = UserProfile.get_for_user(operator)
    profile.preferred_language = "en"
    profile.save()
    return operator


def test_an_operator_makes_a_key_and_sees_it_once(client, platform):
    operator = _english_operator()
    client.force_login(operator)
    assert client.get("/admin/platform-api-keys/").status_code == 200
    assert client.get("/admin/platform-api-keys/new/").status_code == 200

    response = client.post(
        "/admin/platform-api-keys/new/",
        {"organization": platform.pk, "name": "From the admin", "scopes": ["events:write"]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    raw = KEY_PATTERN.search(html).group(0)
    assert "will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    api_key = platform_api_key_authenticate(raw)
    assert api_key.name == "From the admin"
    assert api_key.created_by == operator
    assert api_key.scopes == ["events:write"]

    listing = client.get("/admin/platform-api-keys/").content.decode()
    assert api_key.prefix in listing
    assert "From the admin" in listing
    assert raw not in listing


def test_the_admin_refuses_a_school_as_the_platform(client):
    school = OrganizationFactory(kind=Organization.Kind.SCHOOL)
    client.force_login(OperatorFactory())
    response = client.post(
        "/admin/platform-api-keys/new/", {"organization": school.pk, "name": "x"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert response.context["form"].errors["organization"]
    assert not PlatformApiKey.objects.exists()


def test_an_operator_revokes_a_key_after_confirming(client, made):
    api_key, raw = made
    client.force_login(_english_operator())
    url = f"/admin/platform-api-keys/{api_key.pk}/revoke/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert api_key.prefix in confirm.content.decode()
    assert platform_api_key_authenticate(raw) is not None  # asking is not revoking

    response = client.post(url)
    assert response.status_code == 302
    assert platform_api_key_authenticate(raw) is None
    listing = client.get(response.url).content.decode()
    assert "Revoked" in listing


def test_the_menu_item_is_for_operators_only(client):
    from django.test import RequestFactory
    from wagtail.admin.menu import settings_menu

    request = RequestFactory().get("/admin/")
    request.user = OperatorFactory()
    assert "platform-api-keys" in [
        item.name for item in settings_menu.menu_items_for_request(request)
    ]
    request.user = AuthorFactory()
    assert "platform-api-keys" not in [
        item.name for item in settings_menu.menu_items_for_request(request)
    ]


def test_a_school_author_cannot_reach_the_keys(client, made):
    from django.contrib.auth.models import Permission

    api_key, raw = made
    author = AuthorFactory()
    author.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    client.force_login(author)
    assert client.get("/admin/").status_code == 200  # they do use the admin
    for url in [
        "/admin/platform-api-keys/",
        "/admin/platform-api-keys/new/",
        f"/admin/platform-api-keys/{api_key.pk}/revoke/",
    ]:
        assert client.get(url).status_code == 403, url
    platform = api_key.organization
    assert (
        client.post(
            "/admin/platform-api-keys/new/", {"organization": platform.pk, "name": "x"}
        ).status_code
        == 403
    )
    assert client.post(f"/admin/platform-api-keys/{api_key.pk}/revoke/").status_code == 403
    assert platform_api_key_authenticate(raw) is not None
    assert PlatformApiKey.objects.count() == 1
