"""API key scopes: every operation declares one, a key without it gets a 403 that names it,
keys made before scopes existed keep every scope, and the admin lets the operator choose."""

import importlib

import pytest
from django.apps import apps as django_apps

from cms.api import api_v1
from cms.api_auth import ANY_KEY, PlatformKeyAuth
from cms.api_keys import platform_api_key_authenticate, platform_api_key_create
from cms.api_scopes import ALL_SCOPES
from cms.models import Organization, PlatformApiKey
from tests.factories import OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

# One harmless call per scope: the scope check answers before the handler reads the body.
CALLS = {
    "credentials:verify": ("post", "/api/v1/credentials/verify", {"credential": "x"}),
    "credentials:read": ("get", "/api/v1/drivers/+8613900000001/credentials", None),
    "drivers:link": ("get", "/api/v1/driver-links", None),
    "events:write": ("post", "/api/v1/service-events", {"events": []}),
    "awards:write": ("post", "/api/v1/awards", {}),
    "rewards:read": ("get", "/api/v1/reward-totals/2026-01", None),
    "webhooks:manage": ("get", "/api/v1/webhooks", None),
}


@pytest.fixture
def platform():
    return OrganizationFactory(slug="scoped-platform", kind=Organization.Kind.PLATFORM)


def _call(client, raw, method, path, body):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}
    if method == "post":
        return client.post(path, body, content_type="application/json", **headers)
    return getattr(client, method)(path, **headers)


def test_every_operation_in_the_schema_declares_a_scope():
    schema = api_v1.get_openapi_schema()
    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) >= 14
    undeclared = [f"{m.upper()} {p}" for m, p, op in operations if op.get("x-scope") is None]
    assert undeclared == []
    for method, path, op in operations:
        scope = op["x-scope"]
        assert scope in ALL_SCOPES or scope == ANY_KEY, (method, path, scope)
        if scope != ANY_KEY:
            assert op["security"] == [{"PlatformKeyAuth": [scope]}], (method, path)
    # Every scope is needed by something, so none is a dead checkbox in the admin.
    assert {op["x-scope"] for _m, _p, op in operations} - {ANY_KEY} == set(ALL_SCOPES)


def test_every_operation_checks_a_scope_at_run_time():
    """The schema is generated from the same auth objects that run; check them directly."""
    for router_path, router in api_v1._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                auths = operation.auth_callbacks
                assert auths, f"{router_path}{path} has no auth"
                assert all(isinstance(a, PlatformKeyAuth) for a in auths)
                assert all(a.scope is not None for a in auths), f"{path} declares no scope"


def test_the_router_default_refuses_every_key(platform, rf):
    """An operation that forgot auth=needs(...) would fall back to this: closed, not open."""
    from ninja.errors import HttpError

    from cms.api_auth import platform_key_auth

    _key, raw = platform_api_key_create(organization=platform, name="all")
    with pytest.raises(HttpError) as refused:
        platform_key_auth.authenticate(rf.get("/"), raw)
    assert refused.value.status_code == 403


def test_an_unknown_scope_cannot_be_declared():
    with pytest.raises(ValueError):
        PlatformKeyAuth("credentials:delete")


@pytest.mark.parametrize("scope", sorted(CALLS))
def test_a_key_without_the_scope_gets_403_naming_it(client, platform, scope):
    others = [s for s in ALL_SCOPES if s != scope]
    _key, raw = platform_api_key_create(organization=platform, name="narrow", scopes=others)
    method, path, body = CALLS[scope]
    response = _call(client, raw, method, path, body)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert f"“{scope}”" in detail
    assert "lacks the scope" in detail


@pytest.mark.parametrize("scope", sorted(CALLS))
def test_a_key_with_only_that_scope_gets_past_the_check(client, platform, scope):
    _key, raw = platform_api_key_create(organization=platform, name="one", scopes=[scope])
    method, path, body = CALLS[scope]
    response = _call(client, raw, method, path, body)
    assert response.status_code not in (401, 429)
    if response.status_code == 403:  # the handler's own refusal (no consent, not allowed)
        assert "lacks the scope" not in response.json()["detail"]


def test_whoami_works_with_any_scope(client, platform):
    _key, raw = platform_api_key_create(
        organization=platform, name="verify only", scopes=["credentials:verify"]
    )
    response = _call(client, raw, "get", "/api/v1/whoami", None)
    assert response.status_code == 200
    assert response.json()["platform"] == "scoped-platform"


def test_a_new_key_has_every_scope_by_default(platform):
    api_key, _raw = platform_api_key_create(organization=platform, name="default")
    assert api_key.scopes == list(ALL_SCOPES)


@pytest.mark.parametrize("scopes", [[], ["credentials:delete"], ["events:write", "nope"]])
def test_a_key_needs_known_scopes(platform, scopes):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        platform_api_key_create(organization=platform, name="bad", scopes=scopes)
    assert "scopes" in refused.value.message_dict
    assert not PlatformApiKey.objects.exists()


def test_the_migration_gives_existing_keys_every_scope(platform):
    """0007 writes its own list: keys made before scopes existed keep working everywhere."""
    migration = importlib.import_module("cms.migrations.0007_api_key_scopes")
    api_key, raw = platform_api_key_create(
        organization=platform, name="old", scopes=["credentials:verify"]
    )
    migration.give_existing_keys_every_scope(django_apps, None)
    api_key.refresh_from_db()
    assert api_key.scopes == list(ALL_SCOPES)
    assert sorted(migration.SCOPES_AT_0007) == sorted(ALL_SCOPES)


def _english_operator():
    from wagtail.users.models import UserProfile

    operator = OperatorFactory()
    profile = UserProfile.get_for_user(operator)
    profile.preferred_language = "en"
    profile.save()
    return operator


def test_the_admin_form_offers_every_scope_ticked(client):
    client.force_login(_english_operator())
    html = client.get("/admin/platform-api-keys/new/").content.decode()
    for scope in ALL_SCOPES:
        assert f'value="{scope}"' in html
    assert html.count("checked") >= len(ALL_SCOPES)


def test_an_operator_makes_a_narrow_key_and_sees_its_scopes(client, platform):
    client.force_login(_english_operator())
    response = client.post(
        "/admin/platform-api-keys/new/",
        {
            "organization": platform.pk,
            "name": "verifier",
            "scopes": ["credentials:verify", "rewards:read"],
            "rate_limit_per_minute": "120",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    import re

    raw = re.search(r"rw_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", html).group(0)
    api_key = platform_api_key_authenticate(raw)
    assert api_key.scopes == ["credentials:verify", "rewards:read"]
    assert api_key.rate_limit_per_minute == 120
    assert "<code>credentials:verify</code>" in html

    listing = client.get("/admin/platform-api-keys/").content.decode()
    assert "<code>rewards:read</code>" in listing
    assert "<code>events:write</code>" not in listing
    assert "120 requests a minute" in listing
    # And the key does what it was given, and nothing else.
    denied = _call(client, raw, "get", "/api/v1/webhooks", None)
    assert denied.status_code == 403


def test_the_admin_refuses_a_key_without_scopes(client, platform):
    client.force_login(_english_operator())
    response = client.post(
        "/admin/platform-api-keys/new/", {"organization": platform.pk, "name": "none"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["scopes"]
    assert not PlatformApiKey.objects.exists()
