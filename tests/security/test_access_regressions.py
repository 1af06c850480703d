"""Focused tests of the holes the access matrix found, and of the consent rules it relies on.

- Wagtail's admin API (/admin/api/main/images/, documents/) listed every school's images and
  documents to any admin user; now an author sees their own collection's (as in the choosers).
- Wagtail's "Page types usage" report was hidden from authors' menus but still answered its
  URL, naming other schools' draft pages; now it answers operators only.
- The staff of a deactivated school lost its analytics but still managed (and could revoke)
  its certificates, and a deactivated platform's staff still saw its webhook log; now neither.
- A platform reads a driver's certificates only under a live consent; links bind events and
  awards the same way."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from credentials import services as credentials
from credentials.models import ConsentGrant
from rewards import services as links
from rewards.models import DriverLink
from tests.security import access_fixtures as fx

pytestmark = pytest.mark.django_db

world = fx.world  # the module's fixture: the world, built once


def _admin(world, role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def _api(world, role) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.keys[role]}")


# --- the admin API's images and documents --------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "item"),
    [("wagtailadmin_api:images", "image_b"), ("wagtailadmin_api:documents", "document_b")],
)
def test_an_author_lists_only_their_own_collection_through_the_admin_api(world, endpoint, item):
    own = getattr(world, item)
    listing = reverse(f"{endpoint}:listing")
    detail = reverse(f"{endpoint}:detail", args=[own.pk])

    def ids(role):
        response = _admin(world, role).get(listing)
        assert response.status_code == 200
        return {entry["id"] for entry in response.json()["items"]}

    assert own.pk in ids("author_b")
    assert own.pk in ids("operator")
    assert own.pk not in ids("author_a")
    assert own.pk not in ids("platform_x")
    refused = _admin(world, "author_a").get(detail)
    assert refused.status_code == 404
    assert own.title not in refused.content.decode()
    assert _admin(world, "author_b").get(detail).status_code == 200


# --- the page types usage report ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["wagtailadmin_reports:page_types_usage", "wagtailadmin_reports:page_types_usage_results"],
)
def test_the_page_types_usage_report_answers_operators_only(world, name):
    url = reverse(name)
    for role in ("author_a", "author_b", "carmaker", "platform_x"):
        response = _admin(world, role).get(url)
        assert response.status_code == 302, role  # Wagtail's refusal: back to the dashboard
        assert response["Location"] == reverse("wagtailadmin_home"), role
        assert fx.SECRET_B_DRAFT not in response.content.decode()
    assert Client().get(url)["Location"].startswith(reverse("wagtailadmin_login"))
    shown = _admin(world, "operator").get(url)
    assert shown.status_code == 200
    assert fx.SECRET_B_DRAFT in shown.content.decode()  # what the report is for


# --- deactivated organisations --------------------------------------------------------------


def test_a_deactivated_schools_authors_no_longer_manage_its_certificates(world):
    cred = world.cred_b
    detail = reverse("credential_admin:detail", args=[cred.pk])
    assert _admin(world, "author_b").get(detail).status_code == 200
    world.orgs["school_b"].is_active = False
    world.orgs["school_b"].save(update_fields=["is_active"])

    client = _admin(world, "author_b")
    for url in (reverse("credential_admin:index"), detail):
        response = client.get(url)
        assert response.status_code == 302, url  # Wagtail's refusal: back to the dashboard
        assert cred.number not in response.content.decode()
    refused = client.post(detail, {"action": "revoke", "reason": "Revoked after we left."})
    assert refused.status_code == 302
    with pytest.raises(PermissionDenied):
        credentials.credential_revoke(
            credential=cred, actor=world.users["author_b"], reason="Revoked after we left."
        )
    cred.refresh_from_db()
    assert cred.status == "active"
    # Operators still do.
    assert _admin(world, "operator").get(detail).status_code == 200


def test_a_deactivated_platforms_staff_no_longer_see_its_webhooks(world):
    url = reverse("cms_webhooks:detail", args=[world.webhook_x.pk])
    assert _admin(world, "platform_x").get(url).status_code == 200
    world.orgs["platform_x"].is_active = False
    world.orgs["platform_x"].save(update_fields=["is_active"])
    response = _admin(world, "platform_x").get(url)
    assert response.status_code == 403
    assert fx.SECRET_X_WEBHOOK not in response.content.decode()


# --- consent ---------------------------------------------------------------------------------


def _credentials(world, role, mobile):
    url = reverse("api-v1:driver_credentials", kwargs={"mobile": mobile})
    return _api(world, role).get(url)


def test_a_platform_reads_certificates_only_while_the_consent_is_live(world):
    driver, x, y = world.users["driver"], world.orgs["platform_x"], world.orgs["platform_y"]
    number = world.cred1.number
    assert number in _credentials(world, "platform_x", fx.DRIVER1_MOBILE).content.decode()
    refused = _credentials(world, "platform_y", fx.DRIVER1_MOBILE)
    assert refused.status_code == 403
    assert number not in refused.content.decode()

    credentials.consent_withdraw(grant=world.grant_x, holder=driver)
    after = _credentials(world, "platform_x", fx.DRIVER1_MOBILE)
    assert after.status_code == 403
    assert number not in after.content.decode()
    # The same answer as for a number nobody has: numbers cannot be probed.
    unknown = _credentials(world, "platform_x", "+8613911112222")
    assert (unknown.status_code, unknown.json()) == (403, after.json())

    # Granting again works; a grant to Y gives X nothing more and Y only its own view.
    credentials.consent_grant(holder=driver, platform=x)
    assert _credentials(world, "platform_x", fx.DRIVER1_MOBILE).status_code == 200
    assert _credentials(world, "platform_y", fx.DRIVER1_MOBILE).status_code == 403
    credentials.consent_grant(holder=driver, platform=y)
    assert _credentials(world, "platform_y", fx.DRIVER1_MOBILE).status_code == 200
    assert ConsentGrant.objects.filter(holder=driver, withdrawn_at=None).count() == 2


def test_a_revoked_key_reads_nothing_even_under_consent(world):
    response = _credentials(world, "revoked", fx.DRIVER1_MOBILE)
    assert response.status_code == 401
    assert world.cred1.number not in response.content.decode()


def test_another_driver_cannot_withdraw_a_drivers_consent(world):
    client = _admin(world, "driver2")
    response = client.post(
        reverse("certificates:consents"), {"action": "withdraw", "grant": world.grant_x.pk}
    )
    assert response.status_code == 403
    world.grant_x.refresh_from_db()
    assert world.grant_x.withdrawn_at is None


# --- links: events and awards only for a live link ------------------------------------------


def _post(world, role, name, body):
    return _api(world, role).post(reverse(name), json.dumps(body), content_type="application/json")


def _trip(n):
    return {
        "events": [
            {
                "id": f"access-regression-trip-{n}",
                "driver": fx.DRIVER1_PLATFORM_ID,
                "type": "trip",
                "occurred_at": "2026-11-20T10:00:00+08:00",
                "fare_fen": 1000,
            }
        ]
    }


def _award(n):
    return {
        "id": f"access-regression-award-{n}",
        "driver": fx.DRIVER1_PLATFORM_ID,
        "amount_fen": 100,
        "reason": "Thank you for a good month",
    }


def test_after_the_driver_ends_the_link_the_platform_can_send_nothing_more(world):
    assert _post(world, "platform_x", "api-v1:events_ingest", _trip(1)).json()["accepted"] == 1
    assert _post(world, "platform_x", "api-v1:award_create", _award(1)).status_code == 201
    # Platform Y cannot send events or awards for X's driver id.
    assert _post(world, "platform_y", "api-v1:events_ingest", _trip(2)).json()["refused"] == 1
    assert _post(world, "platform_y", "api-v1:award_create", _award(2)).status_code == 422

    link = DriverLink.objects.get(driver=world.users["driver"], unlinked_at=None)
    links.link_end(link=link, driver=world.users["driver"])

    events = _post(world, "platform_x", "api-v1:events_ingest", _trip(3)).json()
    assert (events["accepted"], events["refused"]) == (0, 1)
    assert _post(world, "platform_x", "api-v1:award_create", _award(3)).status_code == 422
    listed = _api(world, "platform_x").get(reverse("api-v1:link_list")).json()
    assert fx.DRIVER1_PLATFORM_ID not in [entry["driver"] for entry in listed]
