"""Personal data (issue 9, docs/decisions/0015): a driver downloads everything Roadwise holds
about them and deletes their account; afterwards the ledger keeps every balance under a
pseudonym, and neither their number nor their name is anywhere in the database.

The demo's 王建国 (13900000001) is the driver: certificates, a consent, a platform link,
last month's events and rewards. The same tests run on SQLite and on PostgreSQL, where the
ledger's append-only triggers refuse any change to its rows."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cms import privacy, services, sms
from cms.demo import DEMO_PASSWORD, demo_api_key
from cms.models import CheckoutPayment, OneTimeCode, Organization, StripeEvent, User
from courses.models import Enrollment, LessonProgress, QuizAttempt
from credentials import files
from credentials.models import ConsentGrant, Credential, CredentialStatusChange
from rewards import ledger, selectors
from rewards.models import (
    Account,
    Dispute,
    DriverLink,
    Payout,
    PayoutAccount,
    RewardLine,
    ServiceEvent,
)
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db

WANG = "+8613900000001"
WANG_NAME = "王建国"
ZHANG = "+8613900000002"
ZHANG_NAME = "张伟"
EXPORT = reverse("accounts:privacy_export")


def zh(message: str) -> str:
    """What the site (Chinese by default) shows for ``message``."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


DELETE = reverse("accounts:privacy_delete")


@pytest.fixture
def demo(settings):
    settings.DEMO_SEEDERS = [
        "courses.demo.seed_demo",
        "credentials.demo.seed_demo",
        "rewards.demo.seed_demo",
    ]
    call_command("seed_demo", verbosity=0)
    wang = User.objects.get(mobile=WANG)
    platform = Organization.objects.get(slug="kuaixing")
    line = RewardLine.objects.filter(driver=wang).first()
    # What the demo does not give him: a dispute (naming him), a purchase with Stripe's copy of
    # the checkout (naming him too), a payout account and a paid payout.
    Dispute.objects.create(
        driver=wang,
        platform=platform,
        period_start=line.run.period_start,
        reward_line=line,
        reason=f"我是{WANG_NAME}，请复核 {WANG}",
    )
    payment = CheckoutPayment.objects.create(
        purpose=CheckoutPayment.Purpose.values[0],
        reference="course:1",
        user=wang,
        amount_fen=9900,
        description="A course",
        session_id="cs_test_wang",
    )
    StripeEvent.objects.create(
        event_id="evt_wang",
        type="checkout.session.completed",
        payload={
            "data": {
                "object": {
                    "id": payment.session_id,
                    "customer_details": {"name": WANG_NAME, "phone": WANG, "email": None},
                }
            }
        },
    )
    PayoutAccount.objects.create(driver=wang, stripe_account_id="acct_wang")
    Payout.objects.create(
        driver=wang,
        destination="acct_wang",
        amount_fen=1000,
        status=Payout.Status.PAID,
        paid_at=timezone.now(),
    )
    return wang


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def platform_api() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {demo_api_key()}", HTTP_ACCEPT_LANGUAGE="en")


def export_of(client) -> tuple[dict, dict[str, bytes]]:
    response = client.post(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members["roadwise-data.json"]), members


def database_texts_containing(*needles: str) -> list[str]:
    """Every (table, column) of every table whose text holds one of ``needles`` (JSON is
    searched with its non-ASCII characters escaped as well, as SQLite stores it)."""
    variants = set()
    for needle in needles:
        variants |= {needle, json.dumps(needle)[1:-1]}
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str) and any(v in value for v in variants):
                        hits.append(f"{table}.{column}")
    return sorted(set(hits))


# --- export ---------------------------------------------------------------------------------


def test_the_export_holds_every_kind_of_record_of_the_driver_and_nothing_of_another(demo):
    wang = demo
    credential = Credential.objects.filter(holder=wang).first()
    files.credential_files_render(credential=credential)

    data, members = export_of(signed_in(wang))

    assert data["profile"]["mobile"] == WANG  # their own number, whole
    assert data["profile"]["display_name"] == WANG_NAME
    for kind in (
        "consents",
        "enrollments",
        "lesson_progress",
        "quiz_attempts",
        "completions",
        "purchases",
        "certificates",
        "platform_links",
        "platform_link_requests",
        "service_events",
        "reward_lines",
        "ledger_accounts",
        "statements",
        "disputes",
        "payout_account",
        "payouts",
    ):
        assert data[kind], f"the export has no {kind}"
    assert len(data["certificates"]) == Credential.objects.filter(holder=wang).count()
    assert len(data["service_events"]) == ServiceEvent.objects.filter(driver=wang).count()
    assert len(data["quiz_attempts"]) == QuizAttempt.objects.filter(enrollment__user=wang).count()
    assert len(data["lesson_progress"]) == (
        LessonProgress.objects.filter(enrollment__user=wang).count()
    )
    (payable,) = data["ledger_accounts"]
    assert payable["balance_fen"] == ledger.balance(Account.objects.get(user=wang))
    assert sum(e["amount_fen"] for e in payable["entries"]) == payable["balance_fen"]
    # The signed credential is the one we hold, byte for byte, and its PDF is there.
    assert members[f"certificates/{credential.number}.json"] == credential.document.encode()
    assert members[f"certificates/{credential.number}.pdf"].startswith(b"%PDF")
    assert data["certificates"][0]["credential"]["proof"]

    everything = b"".join(members.values()).decode("utf-8", "replace")
    zhang = User.objects.get(mobile=ZHANG)
    for other in (ZHANG, ZHANG_NAME, "KX-1002", "KX-1004", "马强", *other_numbers(zhang)):
        assert other not in everything


def other_numbers(user) -> list[str]:
    return list(Credential.objects.filter(holder=user).values_list("number", flat=True))


def test_the_export_is_a_post_with_csrf_for_the_signed_in_driver_only(db):
    driver = DriverFactory()
    assert Client().post(EXPORT).status_code == 302  # to sign in
    assert signed_in(driver).get(EXPORT).status_code == 405  # no link or image can fetch it
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(driver)
    assert guarded.post(EXPORT).status_code == 403
    data, _ = export_of(signed_in(driver))
    assert data["profile"]["id"] == str(driver.public_id)
    assert data["certificates"] == [] and data["ledger_accounts"] == []


def test_your_data_page_is_in_the_account_menu_and_shows_the_number_masked(db):
    driver = DriverFactory(mobile="+8613812345678")
    client = signed_in(driver)
    page = client.get(reverse("certificates:list")).content.decode()
    assert f'href="{reverse("accounts:privacy")}"' in page
    page = client.get(reverse("accounts:privacy")).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert 'name="viewport"' in page  # the site's phone-first layout
    assert EXPORT in page and DELETE in page


# --- deletion -------------------------------------------------------------------------------


def test_deleting_keeps_the_ledger_whole_under_a_pseudonym_and_leaves_nothing_personal(
    demo, django_capture_on_commit_callbacks, settings
):
    wang = demo
    platform = Organization.objects.get(slug="kuaixing")
    month = selectors.last_month()
    wang_account = Account.objects.get(user=wang)
    balances = {a.code: (ledger.balance(a), a.balance_fen) for a in Account.objects.all()}
    totals = selectors.platform_totals(platform=platform, period_start=month)
    this_month = selectors.platform_totals(platform=platform, period_start=selectors.this_month())
    assert wang_account.balance_fen > 0  # a liability that must survive
    assert ledger.check_invariants() == []
    assert database_texts_containing(WANG[3:], WANG_NAME)  # the scan does find them
    saved, _ = export_of(signed_in(wang))
    held = [c["credential"] for c in saved["certificates"] if c["status"] == "active"]
    qr_codes = [c["qr"] for c in saved["certificates"] if c["status"] == "active"]
    assert held and all(qr.startswith("RW1:") for qr in qr_codes)
    platform_webhooks_subscribe(platform)
    other = User.objects.get(mobile=ZHANG)
    others_credentials = {c.pk: c.document for c in Credential.objects.filter(holder=other)}

    with django_capture_on_commit_callbacks(execute=True):
        pseudonym = privacy.driver_account_delete(user=wang, password=DEMO_PASSWORD)

    assert pseudonym.startswith("driver-deleted-") and len(pseudonym) == len("driver-deleted-") + 8
    # Operators see the deletion in the audit log, under the pseudonym only.
    from wagtail.models import ModelLogEntry

    [entry] = ModelLogEntry.objects.filter(action="roadwise.account.delete")
    assert entry.label == pseudonym and entry.data["pseudonym"] == pseudonym
    assert entry.data["certificates_revoked"] >= 1
    # Money: every balance, the invariants and the platform's totals exactly as before.
    assert {a.code: (ledger.balance(a), a.balance_fen) for a in Account.objects.all()} == balances
    assert ledger.check_invariants() == []
    assert selectors.platform_totals(platform=platform, period_start=month) == totals
    assert (
        selectors.platform_totals(platform=platform, period_start=selectors.this_month())
        == this_month
    )
    # The pseudonym is where the name was: the operator's ledger, the certificates' holder.
    operator = User.objects.get(mobile="+8613800000001")
    ledger_page = signed_in(operator).get("/admin/service-data/ledger/").content.decode()
    assert pseudonym in ledger_page and WANG_NAME not in ledger_page
    assert set(Credential.objects.filter(holder=wang).values_list("holder_name", flat=True)) == {
        pseudonym
    }
    # Nothing personal anywhere in the database.
    assert database_texts_containing(WANG[3:], WANG_NAME) == []
    wang.refresh_from_db()
    assert not wang.is_active and not wang.has_usable_password()
    assert wang.email == "" and wang.first_name == "" and wang.last_name == ""
    # Certificates revoked (and the platform that had consent was told), consents withdrawn,
    # links ended, the dispute closed; another driver's certificates untouched.
    assert not Credential.objects.filter(holder=wang).exclude(status="revoked").exists()
    assert CredentialStatusChange.objects.filter(
        credential__holder=wang, reason=privacy.DELETED_REASON
    ).exists()
    assert not ConsentGrant.objects.filter(holder=wang, withdrawn_at=None).exists()
    assert not DriverLink.objects.filter(driver=wang, unlinked_at=None).exists()
    assert not Dispute.objects.filter(driver=wang, status="open").exists()
    assert {c.pk: c.document for c in Credential.objects.filter(holder=other)} == (
        others_credentials
    )
    from cms.models import PlatformWebhookDelivery

    revoked_events = PlatformWebhookDelivery.objects.filter(event_type="credential.revoked")
    assert revoked_events.count() == len(held)
    assert WANG_NAME not in json.dumps(list(revoked_events.values_list("payload", flat=True)))

    # A copy the driver kept, its QR code and its id now verify as revoked, with the reason.
    api = platform_api()
    for document, qr in zip(held, qr_codes, strict=True):
        for value in (document, qr, document["id"]):
            body = api.post(
                "/api/v1/credentials/verify",
                {"credential": value},
                content_type="application/json",
            ).json()
            assert body["verified"] is False
            assert body["checks"]["status"]["code"] == "revoked", body
            assert "deleted" in body["checks"]["status"]["reason"]

    # Platforms learn nothing more about the driver.
    response = api.get(f"/api/v1/drivers/{WANG}/credentials")
    assert response.status_code == 403
    assert "KX-1001" not in [link["driver"] for link in api.get("/api/v1/driver-links").json()]
    trip = {
        "id": "after-deletion-1",
        "driver": "KX-1001",
        "type": "trip",
        "occurred_at": timezone.now().isoformat(),
        "fare_fen": 1000,
    }
    body = api.post(
        "/api/v1/service-events", {"events": [trip]}, content_type="application/json"
    ).json()
    assert body["refused"] == 1
    award = {"id": "after-deletion", "driver": "KX-1001", "amount_fen": 100, "reason": "x"}
    response = api.post("/api/v1/awards", award, content_type="application/json")
    assert response.status_code in (403, 404, 422)
    for text in (response.content.decode(), json.dumps(body, ensure_ascii=False)):
        assert pseudonym not in text and WANG_NAME not in text and WANG not in text
    assert balances == {a.code: (ledger.balance(a), a.balance_fen) for a in Account.objects.all()}

    # He cannot sign in, by password or by code; no SMS goes to the number.
    assert not Client().login(username=WANG, password=DEMO_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.otp_request(mobile=WANG, purpose=OneTimeCode.Purpose.LOGIN) is None
    assert sms.outbox == []

    # The same number signs up as a new person, who sees nothing of the old account.
    settings.OTP_RESEND_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        services.otp_request(mobile=WANG, purpose=OneTimeCode.Purpose.SIGNUP)
    code = sms.outbox[-1].body.split("code is ")[1][:6]
    newcomer = services.driver_signup(
        mobile=WANG, code=code, password="a-new-password-2027", display_name="新司机"
    )
    assert newcomer.pk != wang.pk
    client = signed_in(newcomer)
    for url in ("/en/certificates/", "/en/rewards/statements/", "/en/learn/", "/en/rewards/links/"):
        page = client.get(url, follow=True).content.decode()
        for number in Credential.objects.filter(holder=wang).values_list("number", flat=True):
            assert number not in page
        assert pseudonym not in page and "KX-1001" not in page
    data, _ = export_of(client)
    assert all(not data[k] for k in ("certificates", "service_events", "ledger_accounts"))
    assert not Enrollment.objects.filter(user=newcomer).exists()


def platform_webhooks_subscribe(platform):
    from cms import platform_webhooks

    platform_webhooks.webhook_subscribe(
        platform=platform, url="http://127.0.0.1:9/hook", events=["credential.revoked"]
    )


def test_deletion_is_refused_while_a_payout_is_on_its_way_and_with_a_wrong_password(db):
    driver = DriverFactory(display_name="李四")
    driver.set_password("right-password-1")
    driver.save()
    payout = Payout.objects.create(
        driver=driver, destination="acct_x", amount_fen=1000, status=Payout.Status.IN_TRANSIT
    )
    client = signed_in(driver)
    page = client.get(DELETE).content.decode()
    assert (
        zh(
            "A payout to your bank is on its way. Wait until it is paid or returned, then delete "
            "your account."
        )
        in page
    )
    assert "data-delete" not in page
    response = client.post(DELETE, {"password": "right-password-1", "confirm": "on"})
    assert response.status_code == 200
    with pytest.raises(privacy.ValidationError) as refused:
        privacy.driver_account_delete(user=driver, password="right-password-1")
    assert refused.value.code == "payout_in_flight"
    driver.refresh_from_db()
    assert driver.is_active and driver.display_name == "李四"

    payout.status = Payout.Status.PAID
    payout.save()
    response = client.post(DELETE, {"password": "wrong", "confirm": "on"})
    assert zh("That password is not right.") in response.content.decode()
    response = client.post(DELETE, {"password": "right-password-1"})
    assert zh("Tick the box to confirm.") in response.content.decode()
    driver.refresh_from_db()
    assert driver.is_active and driver.display_name == "李四"


def test_deleting_from_the_page_warns_signs_out_everywhere_and_gives_the_reference(db):
    driver = DriverFactory(display_name="李四", mobile="+8613812345678")
    driver.set_password("right-password-1")
    driver.save()
    account = ledger.driver_payable_account(driver)
    funding = ledger.external_account()
    ledger.post_transaction(
        idempotency_key="test:owed", kind="adjustment", legs=[(funding, -2500), (account, 2500)]
    )
    other_phone = signed_in(driver)
    client = signed_in(driver)
    page = client.get(DELETE).content.decode()
    assert "25.00 CNY" in page  # the balance they would leave behind
    assert zh("This cannot be undone.") in page

    response = client.post(DELETE, {"password": "right-password-1", "confirm": "on"})

    assert response.status_code == 200
    page = response.content.decode()
    pseudonym = User.objects.get(pk=driver.pk).display_name
    assert pseudonym in page  # the reference to claim the balance with
    assert client.get(reverse("accounts:privacy")).status_code == 302  # signed out
    assert other_phone.get(reverse("accounts:privacy")).status_code == 302  # everywhere
    assert ledger.balance(account) == 2500
    assert Account.objects.get(pk=account.pk).user.get_full_name() == pseudonym


def test_an_operator_or_an_author_cannot_delete_their_account_here(db):
    school = Organization.objects.create(kind="school", name="学校", slug="school")
    author = User.objects.create_user(
        mobile="+8613800000099", password="pw-123456789", organization=school
    )
    response = signed_in(author).post(DELETE, {"password": "pw-123456789", "confirm": "on"})
    assert (
        zh("Accounts of organisations and operators are closed by an operator, not here.")
        in response.content.decode()
    )
    with pytest.raises(privacy.PermissionDenied):
        privacy.driver_account_delete(user=author, password="pw-123456789")
    assert User.objects.get(pk=author.pk).is_active


def test_a_certificate_rendered_after_deletion_leaves_no_file(demo, monkeypatch):
    """A PDF render queued before the deletion and finishing after it stores nothing."""
    wang = demo
    credential = Credential.objects.filter(holder=wang).first()
    privacy.driver_account_delete(user=wang, password=DEMO_PASSWORD)
    stale = Credential.objects.get(pk=credential.pk)
    stale.document = credential.document  # what the render task read before
    files.credential_files_render(credential=stale)
    credential.refresh_from_db()
    assert not credential.pdf and not credential.badge and credential.document == ""


def test_codes_and_pending_link_requests_for_the_number_go_with_the_account(db):
    from rewards import services as rewards_services

    driver = DriverFactory(mobile="+8613812345678")
    driver.set_password("right-password-1")
    driver.save()
    platform = Organization.objects.create(kind="platform", name="平台", slug="p")
    request = rewards_services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="P-1"
    )
    services.otp_request(mobile=driver.mobile, purpose=OneTimeCode.Purpose.LOGIN)
    privacy.driver_account_delete(
        user=driver, password="right-password-1", now=timezone.now() + timedelta(seconds=1)
    )
    assert not OneTimeCode.objects.filter(mobile="+8613812345678").exists()
    request.refresh_from_db()
    assert request.status == "declined" and request.mobile != "+8613812345678"
