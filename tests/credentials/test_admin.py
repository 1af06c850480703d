"""The "Certificates" section of the Wagtail admin: who sees what, and status changes."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from cms.models import Organization
from credentials import services, wagtail_hooks
from credentials.models import Credential, CredentialStatusChange
from credentials.site_views import verdict_of
from credentials.verification import Verifier
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import AuthorFactory, DriverFactory, OperatorFactory, PlatformStaffFactory

pytestmark = pytest.mark.django_db

INDEX = "credential_admin:index"


def admin_user(factory, **kwargs):
    user = factory(**kwargs)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


def detail_url(credential) -> str:
    return reverse("credential_admin:detail", args=[credential.pk])


@pytest.fixture
def credential(completion):
    return services.credential_issue(completion=completion)


@pytest.fixture
def other_credential(db):
    other_school = Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name="海滨驾校", name_en="Seaside School", slug="seaside"
    )
    built = build_course(organization=other_school, title="雨天驾驶")
    return services.credential_issue(completion=complete_course(DriverFactory(), built))


@pytest.fixture
def operator(client):
    user = OperatorFactory()
    client.force_login(user)
    return user


def test_operator_sees_all_and_can_search_and_filter(
    client, operator, credential, other_credential
):
    html = client.get(reverse(INDEX)).content.decode()
    assert credential.number in html and other_credential.number in html
    html = client.get(reverse(INDEX), {"q": credential.number[-4:]}).content.decode()
    assert credential.number in html and other_credential.number not in html
    html = client.get(reverse(INDEX), {"q": "王建"}).content.decode()
    assert credential.number in html
    html = client.get(reverse(INDEX), {"status": "revoked"}).content.decode()
    assert credential.number not in html


def test_operator_revokes_with_a_reason(client, operator, credential):
    response = client.post(
        detail_url(credential), {"action": "revoke", "reason": "资料造假，撤销证书"}
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED
    assert credential.status_reason == "资料造假，撤销证书"
    change = CredentialStatusChange.objects.get(credential=credential)
    assert change.actor == operator and change.action == "revoke"

    html = client.get(detail_url(credential)).content.decode()
    assert "资料造假，撤销证书" in html and "data-status-history" in html

    report = Verifier().document(json.loads(credential.document), credential=credential)
    assert verdict_of(report).key == "revoked"
    page = Client().post(reverse("certificates:verify"), {"text": credential.document})
    assert "资料造假，撤销证书" in page.content.decode()
    assert 'data-verdict="revoked"' in page.content.decode()


def test_reason_is_required(client, operator, credential):
    response = client.post(detail_url(credential), {"action": "revoke", "reason": "   "})
    assert response.status_code == 200
    assert "error" in response.content.decode()
    credential.refresh_from_db()
    assert credential.status == Credential.Status.ACTIVE


def test_suspend_then_lift(client, operator, credential):
    client.post(detail_url(credential), {"action": "suspend", "reason": "核查中"})
    credential.refresh_from_db()
    assert credential.status == Credential.Status.SUSPENDED
    client.post(detail_url(credential), {"action": "reinstate", "reason": "核查完毕"})
    credential.refresh_from_db()
    assert credential.status == Credential.Status.ACTIVE
    assert credential.status_changes.count() == 2


def test_a_change_that_does_not_apply_is_explained(client, operator, credential):
    response = client.post(detail_url(credential), {"action": "reinstate", "reason": "x"})
    assert response.status_code == 200  # not offered for an active certificate
    services.credential_revoke(credential=credential, actor=operator, reason="错误")
    html = client.get(detail_url(credential)).content.decode()
    assert "data-status-form" not in html


def test_state_error_from_the_service_is_shown(client, operator, credential, monkeypatch):
    from credentials import admin_views

    def racing(**kwargs):
        raise services.CredentialStateError("This certificate is revoked; nope.")

    monkeypatch.setitem(admin_views.SERVICES, "suspend", racing)
    response = client.post(detail_url(credential), {"action": "suspend", "reason": "x"})
    assert response.status_code == 200
    assert "This certificate is revoked; nope." in response.content.decode()


def test_school_member_sees_only_their_own(client, school, credential, other_credential):
    member = admin_user(AuthorFactory, organization=school)
    client.force_login(member)
    html = client.get(reverse(INDEX)).content.decode()
    assert credential.number in html and other_credential.number not in html
    assert client.get(detail_url(other_credential)).status_code == 404
    response = client.post(detail_url(other_credential), {"action": "revoke", "reason": "x"})
    assert response.status_code == 404
    other_credential.refresh_from_db()
    assert other_credential.status == Credential.Status.ACTIVE
    # Their own organisation's certificate they can revoke.
    client.post(detail_url(credential), {"action": "revoke", "reason": "误发"})
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED


def test_co_signer_member_cannot_manage(client, carmaker, credential):
    member = admin_user(AuthorFactory, organization=carmaker)
    client.force_login(member)
    assert credential.number not in client.get(reverse(INDEX)).content.decode()
    assert client.get(detail_url(credential)).status_code == 404


def test_others_are_turned_away(client, credential):
    for user in (admin_user(PlatformStaffFactory), admin_user(DriverFactory)):
        client.force_login(user)
        for url in (reverse(INDEX), detail_url(credential)):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"] == reverse("wagtailadmin_home")
    client.force_login(DriverFactory())
    assert "/admin/login/" in client.get(reverse(INDEX))["Location"]


def test_the_menu_item_shows_for_operators_and_issuers_only(rf, school):
    item = wagtail_hooks.register_certificates_menu_item()

    def shown(user):
        request = rf.get("/admin/")
        request.user = user
        return item.is_shown(request)

    assert shown(OperatorFactory())
    assert shown(AuthorFactory(organization=school))
    assert not shown(PlatformStaffFactory())
    assert not shown(DriverFactory())
    assert not shown(DriverFactory(is_staff=True))


def test_an_issuer_renders_the_files_again(
    client, operator, credential, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    assert not credential.pdf
    url = reverse("credential_admin:detail", args=[credential.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"regenerate": "1"})
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.pdf.read(4) == b"%PDF"
    assert credential.files_generated_at is not None
    assert credential.status == "active"  # nothing else changed
