"""Signed webhooks to platforms, against a real HTTP receiver on 127.0.0.1: signatures,
privacy (consent, the paying platform), retries with backoff, idempotence, the API."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.utils import timezone

from cms import platform_webhooks, tasks
from cms.api_keys import platform_api_key_create
from cms.models import Organization, PlatformWebhook, PlatformWebhookDelivery
from credentials import services as credentials
from rewards import awards
from rewards import services as rewards
from tests.courses.builders import build_course
from tests.credentials.conftest import complete_course
from tests.factories import DriverFactory, OperatorFactory, PlatformStaffFactory

pytestmark = pytest.mark.django_db
WEBHOOKS = "/api/v1/webhooks"


# --- a receiver --------------------------------------------------------------------------


class Receiver:
    """A local HTTP endpoint that records every request. ``answers`` is a list of what to do
    with the next requests, in order: a status code, or ("sleep", seconds, status)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if isinstance(answer, tuple):
                    _sleep, seconds, answer = answer
                    time.sleep(seconds)
                try:
                    self.send_response(answer)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"received" if answer < 300 else b"server trouble " * 100)
                except OSError:
                    pass  # the caller timed out and went away

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def on(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def events(self, path: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.on(path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


# --- platforms, keys, drivers ------------------------------------------------------------


@pytest.fixture
def kuaixing(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="快行出行", name_en="Kuaixing", slug="kuaixing"
    )


@pytest.fixture
def shunfeng(db):
    return Organization.objects.create(
        kind=Organization.Kind.PLATFORM, name="顺风出行", name_en="Shunfeng", slug="shunfeng"
    )


def api_for(platform) -> Client:
    _key, raw = platform_api_key_create(organization=platform, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def school(db):
    return Organization.objects.create(
        kind=Organization.Kind.SCHOOL, name="鹏城交通职业学院", slug="pengcheng"
    )


@pytest.fixture
def no_rendering(monkeypatch):
    """Credential PDFs and badges are not what these tests are about."""
    monkeypatch.setattr(credentials, "_render_files_later", lambda credential_id: None)


def subscribe(platform, url, events):
    subscription, secret = platform_webhooks.webhook_subscribe(
        platform=platform, url=url, events=events
    )
    return subscription, secret


def linked(platform, driver, platform_driver_id):
    request = rewards.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id=platform_driver_id
    )
    return rewards.link_request_decide(request=request, driver=driver, approve=True)


# --- signatures --------------------------------------------------------------------------


def test_a_ping_is_signed_with_the_secret_and_a_tampered_body_fails(
    receiver, kuaixing, django_capture_on_commit_callbacks
):
    api = api_for(kuaixing)
    response = api.post(
        WEBHOOKS,
        data={"url": receiver.url(), "events": ["credential.issued"], "description": "prod"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    subscription = PlatformWebhook.objects.get(public_id=created["id"])
    assert secret not in subscription.secret_encrypted  # stored encrypted, not in clear
    assert platform_webhooks.webhook_secret(subscription) == secret
    assert "secret" not in api.get(WEBHOOKS).json()[0]  # never shown again

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{WEBHOOKS}/{created['id']}/test")
    assert response.status_code == 202, response.content
    assert response.json()["event_type"] == "ping"
    log = api.get(f"{WEBHOOKS}/{created['id']}/deliveries").json()
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log] == [
        ("ping", "delivered", 1)
    ]
    (request,) = receiver.requests
    body, header = request["body"], request["headers"]["Roadwise-Signature"]
    event = json.loads(body)
    assert event["type"] == "ping" and event["data"] == {"webhook": created["id"]}
    assert request["headers"]["Roadwise-Event-Id"] == event["id"]
    assert platform_webhooks.webhook_signature_verify(secret, body, header)
    tampered = body.replace(b"ping", b"pong")
    assert not platform_webhooks.webhook_signature_verify(secret, tampered, header)
    assert not platform_webhooks.webhook_signature_verify("whsec_other", body, header)
    # A signature from long ago is refused: replays do not work.
    assert not platform_webhooks.webhook_signature_verify(
        secret, body, header, now=int(time.time()) + 3600
    )


# --- privacy: who hears about what -------------------------------------------------------


def test_a_credential_reaches_the_consenting_platform_only_and_so_does_its_revocation(
    receiver, kuaixing, shunfeng, school, no_rendering, django_capture_on_commit_callbacks
):
    subscribe(kuaixing, receiver.url("/kuaixing"), ["credential.issued", "credential.revoked"])
    subscribe(shunfeng, receiver.url("/shunfeng"), ["credential.issued", "credential.revoked"])
    driver = DriverFactory(mobile="+8613900000001")
    linked(kuaixing, driver, "KX-1")
    linked(shunfeng, driver, "SF-1")  # linked for service data, but no consent to certificates
    credentials.consent_grant(holder=driver, platform=kuaixing)
    completion = complete_course(driver, build_course(organization=school, title="安全驾驶"))

    with django_capture_on_commit_callbacks(execute=True):
        credential = credentials.credential_issue(completion=completion)

    assert receiver.on("/shunfeng") == []
    (issued,) = receiver.events("/kuaixing")
    assert issued["type"] == "credential.issued"
    assert issued["data"]["driver"] == {"id": str(driver.public_id), "platform_driver_id": "KX-1"}
    assert issued["data"]["credential"]["id"] == f"urn:uuid:{credential.public_id}"
    assert issued["data"]["credential"]["status"] == "active"
    assert "13900000001" not in receiver.on("/kuaixing")[0]["body"].decode()  # no phone number

    with django_capture_on_commit_callbacks(execute=True):
        credentials.credential_revoke(
            credential=credential, actor=OperatorFactory(), reason="证书信息有误"
        )
    revoked = receiver.events("/kuaixing")[1]
    assert revoked["type"] == "credential.revoked"
    assert revoked["data"]["credential"]["status"] == "revoked"
    assert revoked["data"]["credential"]["status_reason"] == "证书信息有误"
    assert revoked["id"] != issued["id"]
    assert receiver.on("/shunfeng") == []


def test_suspension_is_a_status_change_and_a_withdrawn_consent_stops_events(
    receiver, kuaixing, school, no_rendering, django_capture_on_commit_callbacks
):
    subscribe(kuaixing, receiver.url(), ["credential.status_changed"])  # not credential.issued
    driver = DriverFactory()
    grant = credentials.consent_grant(holder=driver, platform=kuaixing)
    with django_capture_on_commit_callbacks(execute=True):
        credential = credentials.credential_issue(
            completion=complete_course(driver, build_course(organization=school, title="急救"))
        )
    assert receiver.requests == []  # not subscribed to credential.issued
    operator = OperatorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        credentials.credential_suspend(credential=credential, actor=operator, reason="核查")
    (suspended,) = receiver.events("/hook")
    assert suspended["type"] == "credential.status_changed"
    assert suspended["data"]["credential"]["status"] == "suspended"

    credentials.consent_withdraw(grant=grant, holder=driver)
    with django_capture_on_commit_callbacks(execute=True):
        credentials.credential_reinstate(credential=credential, actor=operator, reason="无误")
    assert len(receiver.requests) == 1
    assert PlatformWebhookDelivery.objects.count() == 1


def test_a_reward_run_tells_the_paying_platform_only(
    receiver, kuaixing, shunfeng, django_capture_on_commit_callbacks
):
    from tests.rewards.test_rules import QUALITY, deposit, execute, good_driver, published

    subscribe(kuaixing, receiver.url("/kuaixing"), ["reward.posted"])
    subscribe(shunfeng, receiver.url("/shunfeng"), ["reward.posted"])
    published(kuaixing, "quality", QUALITY, amount_fen=5000)
    driver = good_driver(kuaixing, 1)
    linked(shunfeng, driver, "SF-9")  # the other platform knows the driver too
    deposit(kuaixing, 100_000)

    with django_capture_on_commit_callbacks(execute=True):
        execute(kuaixing)

    assert receiver.on("/shunfeng") == []
    (posted,) = receiver.events("/kuaixing")
    assert posted["type"] == "reward.posted"
    assert posted["data"]["driver"] == {"id": str(driver.public_id), "platform_driver_id": "KX-1"}
    reward = posted["data"]["reward"]
    assert (reward["kind"], reward["amount_fen"], reward["currency"], reward["month"]) == (
        "quality",
        5000,
        "CNY",
        "2026-10",
    )

    # Executing the finished run again posts nothing, and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        execute(kuaixing)
    assert len(receiver.on("/kuaixing")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        awards.award_grant(
            platform=kuaixing,
            platform_driver_id="KX-1",
            external_id="bonus-1",
            amount_fen=800,
            reason="春节出车",
        )
    award = receiver.events("/kuaixing")[1]["data"]
    assert award["reward"] == {
        "id": "bonus-1",
        "kind": "award",
        "amount_fen": 800,
        "currency": "CNY",
        "month": award["reward"]["month"],
    }
    assert award["driver"]["platform_driver_id"] == "KX-1"
    assert receiver.on("/shunfeng") == []


# --- retries -----------------------------------------------------------------------------


def test_a_failing_receiver_gets_the_same_event_again_until_it_answers(
    receiver, kuaixing, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(kuaixing, receiver.url(), ["reward.posted"])
    receiver.answers = [500, 200]
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})

    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
    assert len(delivery.last_response) == platform_webhooks.RESPONSE_EXCERPT  # truncated
    assert timedelta(seconds=50) < delivery.next_attempt_at - timezone.now() < timedelta(seconds=70)
    assert platform_webhooks.deliveries_due() == []  # not yet due: nothing is sent now

    later = timezone.now() + timedelta(minutes=2)
    assert platform_webhooks.deliveries_due(now=later) == [delivery.pk]
    platform_webhooks.delivery_attempt(delivery.pk, now=later)

    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    first, second = receiver.requests
    assert first["headers"]["Roadwise-Event-Id"] == second["headers"]["Roadwise-Event-Id"]
    assert first["body"] == second["body"]
    assert platform_webhooks.webhook_signature_verify(
        secret, second["body"], second["headers"]["Roadwise-Signature"], tolerance=None
    )


def test_backoff_doubles_up_to_six_hours_and_gives_up_after_three_days(receiver, kuaixing):
    assert [platform_webhooks._backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [
        1,
        2,
        4,
        8,
    ]
    assert platform_webhooks._backoff(20) == timedelta(hours=6)
    subscribe(kuaixing, receiver.url(), ["reward.posted"])
    (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    receiver.answers = [503]
    platform_webhooks.delivery_attempt(delivery.pk, now=timezone.now() + timedelta(days=3, hours=1))
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None


def test_a_receiver_that_times_out_is_retried(
    receiver, kuaixing, settings, django_capture_on_commit_callbacks
):
    settings.PLATFORM_WEBHOOK_TIMEOUT_SECONDS = 0.3
    subscribe(kuaixing, receiver.url(), ["reward.posted"])
    receiver.answers = [("sleep", 1.5, 200), 200]
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "Timed out" in delivery.last_error and delivery.last_status_code is None

    later = timezone.now() + timedelta(minutes=5)
    for pk in platform_webhooks.deliveries_due(now=later):
        platform_webhooks.delivery_attempt(pk, now=later)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_a_delivered_event_is_never_sent_again(
    receiver, kuaixing, django_capture_on_commit_callbacks
):
    subscribe(kuaixing, receiver.url(), ["reward.posted"])
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    assert len(receiver.requests) == 1

    tasks.platform_webhook_deliver.delay(delivery.pk)  # a replayed task
    tasks.platform_webhook_deliver(delivery.pk)
    platform_webhooks.delivery_attempt(delivery.pk, now=timezone.now() + timedelta(days=1))
    platform_webhooks.delivery_attempt(delivery.pk, force=True)
    assert tasks.platform_webhooks_retry() == 0
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1


def test_the_beat_retries_due_deliveries(receiver, kuaixing, settings):
    settings.PLATFORM_WEBHOOK_TIMEOUT_SECONDS = 2
    assert settings.CELERY_BEAT_SCHEDULE["retry-platform-webhooks"]["task"] == (
        "cms.tasks.platform_webhooks_retry"
    )
    subscribe(kuaixing, receiver.url(), ["reward.posted"])
    (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    assert tasks.platform_webhooks_retry() == 1  # due at once: the first attempt
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.requests) == 1


# --- the API: each platform sees its own ---------------------------------------------------


def test_another_platform_cannot_see_list_test_or_delete_a_subscription(
    receiver, kuaixing, shunfeng
):
    mine, other = api_for(kuaixing), api_for(shunfeng)
    created = mine.post(
        WEBHOOKS,
        data={"url": receiver.url(), "events": ["reward.posted"]},
        content_type="application/json",
    ).json()
    path = f"{WEBHOOKS}/{created['id']}"

    assert other.get(WEBHOOKS).json() == []
    assert other.get(f"{path}/deliveries").status_code == 404
    assert other.post(f"{path}/test").status_code == 404
    response = other.delete(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "No webhook of your platform has this id."}
    assert other.get(f"{WEBHOOKS}/not-a-uuid/deliveries").status_code == 422
    assert Client().get(WEBHOOKS).status_code == 401

    assert [s["id"] for s in mine.get(WEBHOOKS).json()] == [created["id"]]
    assert mine.get(f"{path}/deliveries").json() == []
    assert PlatformWebhook.objects.get(public_id=created["id"]).is_active


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "http://hooks.example.com/x", "events": ["reward.posted"]}, "https://"),
        ({"url": "ftp://hooks.example.com/x", "events": ["reward.posted"]}, "https://"),
        ({"url": "not a url", "events": ["reward.posted"]}, "https://"),
        ({"url": "https://u:p@hooks.example.com/", "events": ["reward.posted"]}, "password"),
        (
            {"url": "https://hooks.example.com/x", "events": ["credential.exploded"]},
            "Unknown event type(s): credential.exploded",
        ),
        ({"url": "https://hooks.example.com/x", "events": []}, "at least one event type"),
    ],
)
def test_invalid_urls_and_event_types_are_422_with_a_clear_message(kuaixing, body, message):
    response = api_for(kuaixing).post(WEBHOOKS, data=body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert message in response.json()["detail"]
    assert not PlatformWebhook.objects.exists()


def test_a_malformed_body_is_422_from_the_schema(kuaixing):
    response = api_for(kuaixing).post(
        WEBHOOKS, data={"url": "https://hooks.example.com/x"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "events"


def test_local_and_private_addresses_are_refused_outside_development(kuaixing, settings):
    settings.PLATFORM_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    api = api_for(kuaixing)
    for url, message in (
        ("http://127.0.0.1:8000/hook", "https://"),
        ("https://127.0.0.1/hook", "public address"),
        ("https://10.0.0.8/hook", "public address"),
        ("https://localhost/hook", "public address"),
    ):
        response = api.post(
            WEBHOOKS,
            data={"url": url, "events": ["reward.posted"]},
            content_type="application/json",
        )
        assert response.status_code == 422 and message in response.json()["detail"], url
    ok = api.post(
        WEBHOOKS,
        data={"url": "https://hooks.kuaixing.example/roadwise", "events": ["reward.posted"]},
        content_type="application/json",
    )
    assert ok.status_code == 201


def test_a_disabled_subscription_receives_nothing(
    receiver, kuaixing, django_capture_on_commit_callbacks
):
    api = api_for(kuaixing)
    created = api.post(
        WEBHOOKS,
        data={"url": receiver.url(), "events": ["reward.posted"]},
        content_type="application/json",
    ).json()
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        (pending,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    assert len(receiver.requests) == 1

    assert api.delete(f"{WEBHOOKS}/{created['id']}").status_code == 204
    assert api.delete(f"{WEBHOOKS}/{created['id']}").status_code == 204  # idempotent
    assert api.get(WEBHOOKS).json() == []
    pending.refresh_from_db()
    assert pending.status == "failed"  # its retries are given up

    with django_capture_on_commit_callbacks(execute=True):
        assert platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 2}) == []
    platform_webhooks.delivery_attempt(pending.pk, force=True)
    assert len(receiver.requests) == 1
    assert api.post(f"{WEBHOOKS}/{created['id']}/test").status_code == 422
    log = api.get(f"{WEBHOOKS}/{created['id']}/deliveries").json()
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [
        ("failed", 1, 500)
    ]


# --- the admin -----------------------------------------------------------------------------


def test_the_admin_shows_operators_everything_and_platform_staff_their_own(
    client, receiver, kuaixing, shunfeng
):
    subscribe(kuaixing, "https://hooks.kuaixing.example/roadwise", ["reward.posted"])
    subscribe(shunfeng, "https://hooks.shunfeng.example/roadwise", ["reward.posted"])
    platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})

    client.force_login(OperatorFactory())
    page = client.get("/admin/platform-webhooks/").content.decode()
    assert "hooks.kuaixing.example" in page and "hooks.shunfeng.example" in page

    staff = PlatformStaffFactory(organization=kuaixing)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    client.force_login(staff)
    response = client.get("/admin/platform-webhooks/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "hooks.kuaixing.example" in page and "hooks.shunfeng.example" not in page
    other = PlatformWebhook.objects.get(organization=shunfeng)
    assert client.get(f"/admin/platform-webhooks/{other.pk}/").status_code == 404
    mine = PlatformWebhook.objects.get(organization=kuaixing)
    detail = client.get(f"/admin/platform-webhooks/{mine.pk}/").content.decode()
    assert "reward.posted" in detail

    client.force_login(DriverFactory())
    assert client.get("/admin/platform-webhooks/").status_code in (302, 403)


def test_a_secret_that_cannot_be_decrypted_sends_nothing_and_waits(receiver, kuaixing, settings):
    subscribe(kuaixing, receiver.url(), ["reward.posted"])
    (delivery,) = platform_webhooks.webhook_emit(kuaixing, "reward.posted", {"n": 1})
    settings.CREDENTIALS_KEY_ENCRYPTION_KEY = "a-different-key"
    platform_webhooks.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "decrypt" in delivery.last_error
    assert receiver.requests == []
