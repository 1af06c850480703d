"""The audit log (cms/audit.py, ADR 0016): who did what to pages, certificates, consent, keys
and webhooks, written in the transaction of the change, shown to operators in Reports → Site
history and to nobody else. Money, rules and disputes: tests/rewards/test_audit_money.py."""

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import translation
from wagtail import hooks
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry, PageLogEntry

from cms import audit
from cms.api_keys import platform_api_key_create
from cms.models import Organization, PlatformWebhook
from credentials import services
from credentials.models import ConsentGrant, Credential, IssuerKey
from tests.courses.test_authoring import (  # noqa: F401 - the world fixture
    as_user,
    submit_new_course,
    workflow_action,
    world,
)
from tests.credentials.conftest import (  # noqa: F401 - fixtures
    carmaker,
    co_developed,
    completion,
    driver,
    school,
)
from tests.factories import AuthorFactory, OperatorFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SITE_HISTORY = "/admin/reports/site-history/"


# --- helpers, shared with tests/rewards/test_audit_money.py --------------------------------------


def entries(action: str, instance=None) -> list[ModelLogEntry]:
    """The entries of ``action`` (on ``instance``), oldest first."""
    found = ModelLogEntry.objects.filter(action=action)
    if instance is not None:
        found = found.filter(
            content_type=ContentType.objects.get_for_model(instance), object_id=str(instance.pk)
        )
    return list(found.order_by("timestamp", "pk"))


def admin_user(**fields):
    """A non-operator admin user (an author or platform staff member)."""
    user = AuthorFactory(**fields)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


def site_history(user, **filters) -> set[tuple[str, str]]:
    """(action, object id) of every entry ``user`` sees in Reports → Site history."""
    client = Client()
    client.force_login(user)
    response = client.get(SITE_HISTORY, filters)
    assert response.status_code == 200
    assert reverse("wagtailadmin_reports:site_history") == SITE_HISTORY
    return {
        (entry.action, str(getattr(entry, "object_id", None) or entry.page_id))
        for entry in response.context["object_list"]
    }


def seen(user, entry, **filters) -> bool:
    object_id = entry.object_id if isinstance(entry, ModelLogEntry) else str(entry.page_id)
    return (entry.action, str(object_id)) in site_history(user, **filters)


# --- certificates ----------------------------------------------------------------------------


@pytest.fixture
def credential(completion):  # noqa: F811 - the imported fixture
    return services.credential_issue(completion=completion)


def test_an_operators_revocation_in_the_admin_is_logged_and_shown_to_operators(
    client,
    credential,
    school,  # noqa: F811
):
    operator = OperatorFactory()
    client.force_login(operator)
    url = reverse("credential_admin:detail", args=[credential.pk])
    response = client.post(url, {"action": "revoke", "reason": "资料造假，撤销证书"})
    assert response.status_code == 302

    [entry] = entries("roadwise.credential.revoke", credential)
    assert entry.user == operator and entry.timestamp is not None
    assert entry.data["status"] == {"before": "active", "after": "revoked"}
    assert entry.data["reason"] == "资料造假，撤销证书"
    assert entry.data["number"] == credential.number
    assert seen(operator, entry)
    assert seen(operator, entry, action="roadwise.credential.revoke")
    client.force_login(operator)
    html = client.get(SITE_HISTORY).content.decode()
    assert "status: active → revoked" in html and "reason: 资料造假，撤销证书" in html
    # Neither the issuing school's authors nor another school's see it.
    assert not seen(admin_user(organization=school), entry)
    assert not seen(admin_user(), entry)


def test_the_issuing_schools_suspension_and_its_lifting_name_the_author(credential, school):  # noqa: F811
    author = admin_user(organization=school)
    services.credential_suspend(credential=credential, actor=author, reason="核查中")
    services.credential_reinstate(credential=credential, actor=author, reason="核查完毕")
    [suspended] = entries("roadwise.credential.suspend", credential)
    [lifted] = entries("roadwise.credential.reinstate", credential)
    assert suspended.user == author and lifted.user == author
    assert suspended.data["status"] == {"before": "active", "after": "suspended"}
    assert lifted.data["status"] == {"before": "suspended", "after": "active"}
    assert lifted.data["reason"] == "核查完毕"
    operator = OperatorFactory()
    assert seen(operator, suspended, action="roadwise.credential.suspend")
    assert not seen(operator, lifted, action="roadwise.credential.suspend")


def test_a_revocation_that_is_rolled_back_leaves_no_entry(credential, monkeypatch):
    """The entry is written in the change's transaction: a failure after it undoes both."""

    def broken(*args, **kwargs):
        raise RuntimeError("the webhook queue is down")

    monkeypatch.setattr(services, "_notify_platforms", broken)
    with pytest.raises(RuntimeError):
        services.credential_revoke(credential=credential, actor=OperatorFactory(), reason="测试")
    credential.refresh_from_db()
    assert credential.status == Credential.Status.ACTIVE
    assert entries("roadwise.credential.revoke") == []


def test_a_refused_change_writes_no_entry(credential):
    with pytest.raises(services.CredentialStateError):
        services.credential_reinstate(credential=credential, actor=OperatorFactory(), reason="x")
    assert not ModelLogEntry.objects.filter(action__startswith="roadwise.credential.").exists()


# --- consent -----------------------------------------------------------------------------------


def test_a_drivers_consent_and_its_withdrawal_are_logged_without_their_name(
    client,
    driver,  # noqa: F811
):
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing")
    client.force_login(driver)
    url = reverse("certificates:consents")
    client.post(url, {"action": "grant", "platform": platform.pk})
    client.post(url, {"action": "grant", "platform": platform.pk})  # again: nothing new
    grant = ConsentGrant.objects.get()
    client.post(url, {"action": "withdraw", "grant": grant.pk})
    client.post(url, {"action": "withdraw", "grant": grant.pk})
    [granted] = entries("roadwise.consent.grant", grant)
    [withdrawn] = entries("roadwise.consent.withdraw", grant)
    assert granted.user == driver and withdrawn.user == driver
    assert granted.data == {"platform": "kuaixing"}
    assert driver.display_name not in granted.label + withdrawn.label
    assert seen(OperatorFactory(), withdrawn)


# --- publishing --------------------------------------------------------------------------------


def test_a_course_published_by_the_operators_approval_is_in_the_history(client, world):  # noqa: F811
    course = submit_new_course(client, world)
    workflow_action(as_user(client, world.reviewer_a), course, "approve")
    workflow_action(as_user(client, world.operator), course, "approve", comment="OK")
    course.refresh_from_db()
    assert course.live

    logged = PageLogEntry.objects.filter(page=course).order_by("timestamp", "pk")
    actions = [(e.action, e.user_id) for e in logged]
    assert ("wagtail.workflow.start", world.a.author.pk) in actions
    assert ("wagtail.workflow.approve", world.reviewer_a.pk) in actions
    assert ("wagtail.workflow.approve", world.operator.pk) in actions
    publish = logged.get(action="wagtail.publish")
    assert publish.user == world.operator  # published as the user of the final approval
    assert publish.revision_id == course.live_revision_id

    assert seen(world.superuser, publish, action="wagtail.publish")
    assert seen(world.operator, publish)  # the Operators group moderates every section
    assert seen(world.a.author, publish)  # their own course
    assert not seen(world.b.author, publish)  # another school's


# --- platform webhooks, issuer keys, API keys -------------------------------------------------


def api_client(platform) -> tuple[Client, object]:
    api_key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en"), api_key


def test_webhook_subscriptions_made_and_deleted_through_the_api_name_the_key():
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing")
    api, api_key = api_client(platform)
    body = {"url": "https://hooks.example.com/roadwise", "events": ["credential.revoked"]}
    response = api.post("/api/v1/webhooks", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    subscription = PlatformWebhook.objects.get()
    secret = response.json()["secret"]
    assert api.delete(f"/api/v1/webhooks/{subscription.public_id}").status_code == 204
    assert api.delete(f"/api/v1/webhooks/{subscription.public_id}").status_code == 204

    [created] = entries("roadwise.webhook.create", subscription)
    [deleted] = entries("roadwise.webhook.delete", subscription)
    actor = f"API key rw_{api_key.prefix} (kuaixing)"
    for entry in (created, deleted):
        assert entry.user is None and entry.data["actor"] == actor
        assert actor in str(entry.message) and "hooks.example.com" in str(entry.message)
        assert secret not in json.dumps(entry.data)
    assert created.data["url"] == body["url"]
    assert created.data["events"] == ["credential.revoked"]
    # A refused subscription writes nothing.
    bad = {"url": "http://hooks.example.com/", "events": ["credential.revoked"]}
    assert (
        api.post("/api/v1/webhooks", json.dumps(bad), content_type="application/json").status_code
        == 422
    )
    assert len(entries("roadwise.webhook.create")) == 1
    assert seen(OperatorFactory(), deleted, action="roadwise.webhook.delete")
    assert not seen(admin_user(organization=platform), deleted)


def test_rotating_an_issuer_key_from_the_command_line_is_logged(school):  # noqa: F811
    from credentials.keys import issuer_key_ensure

    first = issuer_key_ensure(organization=school)
    call_command("issuer_key_rotate", school.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115
    current = IssuerKey.objects.get(organization=school, retired_at=None)
    [entry] = entries("roadwise.issuer_key.rotate", current)
    assert entry.user is None and entry.data["actor"] == audit.SYSTEM_COMMAND
    assert entry.data["retired"] == [first.key_id]
    assert entry.data["current"] == current.key_id
    assert "private" not in json.dumps(entry.data)


def test_api_keys_made_and_revoked_by_an_operator_are_logged(client):
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM, slug="kuaixing")
    operator = OperatorFactory()
    client.force_login(operator)
    response = client.post(
        reverse("cms_api_keys:create"),
        {"organization": platform.pk, "name": "production", "scopes": ["events:write"]},
    )
    assert response.status_code == 200
    raw = response.context["raw_key"]
    api_key = platform.api_keys.get()
    client.post(reverse("cms_api_keys:revoke", args=[api_key.pk]))
    [created] = entries("roadwise.api_key.create", api_key)
    [revoked] = entries("roadwise.api_key.revoke", api_key)
    assert created.user == operator and revoked.user == operator
    assert created.data["platform"] == "kuaixing" and created.data["name"] == "production"
    assert raw not in json.dumps(created.data) and api_key.secret_hash not in json.dumps(
        created.data
    )
    assert seen(operator, revoked)
    assert not seen(admin_user(organization=platform), created)


def test_an_operator_resolving_a_payment_alert_is_logged_once(client):
    from cms import payments
    from cms.models import PaymentAlert

    payments.payment_alert(
        PaymentAlert.Kind.OTHER, "po_1", "Paid twice?", amount_fen=25000, currency="CNY"
    )
    alert = PaymentAlert.objects.get()
    operator = OperatorFactory()
    client.force_login(operator)
    url = reverse("cms_stripe:alert_resolve", args=[alert.pk])
    client.post(url, {"resolution": "Asked the driver to pay it back."})
    client.post(url, {"resolution": "Again."})
    [entry] = entries("roadwise.payment_alert.resolve", alert)
    assert entry.user == operator and entry.data["amount_fen"] == 25000
    assert entry.data["resolution"] == "Asked the driver to pay it back."
    assert seen(operator, entry) and not seen(admin_user(), entry)


# --- what the registry and the report offer -----------------------------------------------------


def test_every_action_has_a_label_and_a_message_in_english():
    choices = dict(log_registry.get_choices())
    with translation.override("en"):
        for action, (label, message) in audit.ACTIONS.items():
            assert str(choices[action]) == str(label) and str(label)
            assert str(message)


def test_every_action_reads_in_chinese():
    with translation.override("zh-hans"):
        chinese = {action: str(label) for action, (label, _m) in audit.ACTIONS.items()}
    with translation.override("en"):
        english = {action: str(label) for action, (label, _m) in audit.ACTIONS.items()}
    assert [action for action in chinese if chinese[action] == english[action]] == []


def test_an_entry_needs_a_registered_action_and_an_actor(credential):
    with pytest.raises(ValueError, match="unregistered"):
        audit.audit("roadwise.credential.burn", credential, user=OperatorFactory())
    with pytest.raises(ValueError, match="who acted"):
        audit.audit("roadwise.credential.revoke", credential)


def test_a_replayed_service_logs_once_under_its_key(credential):
    for _attempt in range(2):
        with transaction.atomic():
            audit.audit(
                "roadwise.payment.refund", credential, actor_label="system: tests", once_key="re_1"
            )
    audit.audit("roadwise.payment.refund", credential, actor_label="system: tests", once_key="re_2")
    assert [e.data["key"] for e in entries("roadwise.payment.refund")] == ["re_1", "re_2"]


def test_only_operators_hold_permissions_on_the_audited_models():
    """Wagtail shows a non-superuser the entries of the models they hold any Django permission
    on. Nobody but operators may see Roadwise's entries, so no group or user may hold one; the
    group editor must not offer one either (see ADR 0016)."""
    from rewards.models import (
        Award,
        Dispute,
        Payout,
        PlatformRewardPolicy,
        RuleVersion,
    )

    audited = [
        Credential,
        ConsentGrant,
        IssuerKey,
        PlatformWebhook,
        Award,
        Dispute,
        Payout,
        PlatformRewardPolicy,
        RuleVersion,
    ]
    from cms.models import CheckoutPayment, PaymentAlert, PlatformApiKey

    audited += [CheckoutPayment, PaymentAlert, PlatformApiKey]
    types = list(ContentType.objects.get_for_models(*audited).values())
    assert not Permission.objects.filter(content_type__in=types, group__isnull=False).exists()
    assert not Permission.objects.filter(content_type__in=types, user__isnull=False).exists()
    offered = Permission.objects.none()
    for register in hooks.get_hooks("register_permissions"):
        offered |= register()
    assert offered.exists(), "the group editor offers some permissions"
    assert not offered.filter(content_type__in=types).exists()


def test_nothing_in_the_admin_edits_or_deletes_log_entries():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    names = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                names.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    history = [name for name in names if "history" in name or "log" in name.lower()]
    assert history, "the walk found the history views"
    assert not [name for name in history if "delete" in name or "edit" in name]
