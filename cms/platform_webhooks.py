"""Signed webhooks to platforms: subscribe, emit an event, deliver it, retry it.

A platform subscribes an HTTPS endpoint to some event types (`EVENT_TYPES`). The apps call
`webhook_emit` inside their own database transaction with plain data (cms imports none of
them); it writes one `PlatformWebhookDelivery` per matching active subscription and queues
its first attempt when the transaction commits. Deciding *which* platform may hear about a
driver is the caller's job (credentials: a live consent grant; rewards: the paying platform).

Each attempt POSTs the JSON envelope ``{"id", "type", "created", "data"}`` with

    Roadwise-Event-Id: <uuid>                   the same on every attempt of the event
    Roadwise-Signature: t=<unix>,v1=<hex>       HMAC-SHA256 of "<t>.<body>" with the secret

A 2xx answer delivers it, once and for all: a delivered delivery is never sent again, even if
its task is replayed. Anything else (an error status, a redirect, a time-out, a refused
connection) is retried with exponential backoff (1 minute, doubling, at most 6 hours) until
3 days after the event, when the delivery is marked failed. Deliveries may still arrive twice
(a worker dying after the POST and before recording it): receivers dedupe on the event id.

The secret must be recoverable to sign, so it is stored encrypted (Fernet under a key
derived with HKDF from ``CREDENTIALS_KEY_ENCRYPTION_KEY``; several comma-separated values
rotate it, like the issuers' keys), and shown to the platform only once, at creation.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import audit
from cms.models import Organization, PlatformWebhook, PlatformWebhookDelivery, User

EVENT_CREDENTIAL_ISSUED = "credential.issued"
EVENT_CREDENTIAL_REVOKED = "credential.revoked"
EVENT_CREDENTIAL_STATUS_CHANGED = "credential.status_changed"
EVENT_REWARD_POSTED = "reward.posted"
EVENT_PING = "ping"
EVENT_TYPES = (
    EVENT_CREDENTIAL_ISSUED,
    EVENT_CREDENTIAL_REVOKED,
    EVENT_CREDENTIAL_STATUS_CHANGED,
    EVENT_REWARD_POSTED,
)
MAX_SUBSCRIPTIONS = 10
MAX_URL_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 200
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SIGNATURE_HEADER = "Roadwise-Signature"
EVENT_ID_HEADER = "Roadwise-Event-Id"
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
# An attempt in progress holds the delivery this long, so that the beat does not start a
# second one meanwhile; longer than any time-out.
ATTEMPT_LEASE = timedelta(minutes=2)
RESPONSE_EXCERPT = 500
HKDF_INFO = b"roadwise platform webhook secret v1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


# --- the secret ----------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = [s.strip() for s in settings.CREDENTIALS_KEY_ENCRYPTION_KEY.split(",") if s.strip()]
    if not keys:
        raise ImproperlyConfigured("CREDENTIALS_KEY_ENCRYPTION_KEY is empty.")
    fernets = []
    for key in keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            key.encode("utf-8")
        )
        fernets.append(Fernet(base64.urlsafe_b64encode(derived)))
    return MultiFernet(fernets)


def webhook_secret(subscription: PlatformWebhook) -> str:
    """The subscription's signing secret, decrypted (to sign; never shown again)."""
    return _fernet().decrypt(subscription.secret_encrypted.encode("ascii")).decode("utf-8")


def webhook_sign(secret: str, body: bytes, timestamp: int) -> str:
    """The value of the Roadwise-Signature header for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def webhook_signature_verify(
    secret: str, body: bytes, header: str, *, tolerance: int | None = 300, now: int | None = None
) -> bool:
    """What a receiver does (also used by our tests): recompute and compare in constant time,
    and refuse a timestamp further than ``tolerance`` seconds from now (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if tolerance is not None:
        now = int(timezone.now().timestamp()) if now is None else now
        if abs(now - timestamp) > tolerance:
            return False
    expected = webhook_sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- subscriptions -------------------------------------------------------------------------


def _allow_local_http() -> bool:
    configured = getattr(settings, "PLATFORM_WEBHOOKS_ALLOW_LOCAL_HTTP", None)
    if configured is not None:
        return bool(configured)
    module = settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")
    return settings.DEBUG or module == "cms.settings.test"


def _check_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": _("Give the URL of your endpoint (https://…).")})
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(
            {"url": _("The URL is longer than %(max)d characters.") % {"max": MAX_URL_LENGTH}}
        )
    try:
        URLValidator(schemes=["https", "http"])(url)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except (ValueError, ValidationError):
        host, parts = "", None
    if parts is None or not host or parts.scheme not in ("https", "http"):
        raise ValidationError({"url": _("The URL must be an absolute https:// URL.")})
    if parts.username or parts.password:
        raise ValidationError({"url": _("The URL must not contain a user name or password.")})
    local = host in LOCAL_HOSTS
    if parts.scheme == "http" and not (local and _allow_local_http()):
        raise ValidationError({"url": _("The URL must use https://; plain http:// is refused.")})
    if not _allow_local_http():
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if local or (address is not None and not address.is_global):
            raise ValidationError(
                {"url": _("The URL must point to a public address, not a private one.")}
            )
    return url


def _check_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError(
            {
                "events": _("Choose at least one event type among: %(types)s.")
                % {"types": ", ".join(EVENT_TYPES)}
            }
        )
    unknown = [str(e) for e in events if e not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {
                "events": _("Unknown event type(s): %(unknown)s. Known types: %(types)s.")
                % {"unknown": ", ".join(unknown), "types": ", ".join(EVENT_TYPES)}
            }
        )
    return sorted(set(events), key=EVENT_TYPES.index)


def webhook_subscribe(
    *,
    platform: Organization,
    url: str,
    events: list[str],
    description: str = "",
    actor_label: str | None = None,
) -> tuple[PlatformWebhook, str]:
    """A new subscription and its signing secret (returned here only, never again).
    ``actor_label``: who asked, for the audit log (the API passes its key)."""
    if platform.kind != Organization.Kind.PLATFORM:
        raise ValidationError(_("Only ride-hailing platforms can subscribe to webhooks."))
    errors = {}
    cleaned = {}
    for name, check, value in (("url", _check_url, url), ("events", _check_events, events)):
        try:
            cleaned[name] = check(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        errors["description"] = [
            _("The description is longer than %(max)d characters.")
            % {"max": MAX_DESCRIPTION_LENGTH}
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=platform.pk).first()
        if webhook_list(platform=platform).count() >= MAX_SUBSCRIPTIONS:
            raise ValidationError(
                _("A platform has at most %(max)d active webhooks; delete one first.")
                % {"max": MAX_SUBSCRIPTIONS}
            )
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        subscription = PlatformWebhook.objects.create(
            organization=platform,
            url=cleaned["url"],
            events=cleaned["events"],
            description=description,
            secret_encrypted=_fernet().encrypt(secret.encode("utf-8")).decode("ascii"),
        )
        audit(
            "roadwise.webhook.create",
            subscription,
            actor_label=actor_label or f"platform {platform.slug}",
            title=f"Webhook {subscription.public_id} ({platform.slug})",
            data={
                "platform": platform.slug,
                "url": subscription.url,
                "events": subscription.events,
                "description": description,
            },
        )
    return subscription, secret


def webhook_list(*, platform: Organization):
    """The platform's active subscriptions, newest first."""
    return PlatformWebhook.objects.filter(organization=platform, is_active=True)


def webhook_get(*, platform: Organization, public_id) -> PlatformWebhook | None:
    """One of the platform's own subscriptions (disabled ones too), or None."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return PlatformWebhook.objects.filter(organization=platform, public_id=public_id).first()


def webhook_disable(
    *, subscription: PlatformWebhook, actor_label: str | None = None
) -> PlatformWebhook:
    """Stop sending to it (idempotent). Its pending deliveries are given up."""
    with transaction.atomic():
        subscription = PlatformWebhook.objects.select_for_update().get(pk=subscription.pk)
        if subscription.is_active:
            subscription.is_active = False
            subscription.disabled_at = timezone.now()
            subscription.save(update_fields=["is_active", "disabled_at"])
            subscription.deliveries.filter(status=PlatformWebhookDelivery.Status.PENDING).update(
                status=PlatformWebhookDelivery.Status.FAILED,
                next_attempt_at=None,
                last_error="The subscription was disabled.",
            )
            audit(
                "roadwise.webhook.delete",
                subscription,
                actor_label=actor_label or f"platform {subscription.organization.slug}",
                title=f"Webhook {subscription.public_id} ({subscription.organization.slug})",
                data={"platform": subscription.organization.slug, "url": subscription.url},
            )
    return subscription


# --- events --------------------------------------------------------------------------------


def driver_reference(platform, driver: User) -> dict:
    """How a payload names a driver to ``platform``: Roadwise's public id, and the platform's
    own id for them where the driver linked their account (the active link, else the latest).

    Reads rewards' DriverLink through the app registry: cms imports no app module."""
    platform_id = getattr(platform, "pk", platform)
    platform_driver_id = None
    try:
        driver_link = apps.get_model("rewards", "DriverLink")
    except LookupError:  # pragma: no cover - rewards is always installed on this site
        driver_link = None
    if driver_link is not None:
        platform_driver_id = (
            driver_link.objects.filter(platform_id=platform_id, driver=driver)
            .order_by(F("unlinked_at").desc(nulls_first=True), "-linked_at")  # active first
            .values_list("platform_driver_id", flat=True)
            .first()
        )
    return {"id": str(driver.public_id), "platform_driver_id": platform_driver_id}


def _envelope(event_id, event_type: str, data: dict, created: datetime) -> dict:
    return {
        "id": str(event_id),
        "type": event_type,
        "created": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def webhook_emit(platform, event_type: str, data) -> list[PlatformWebhookDelivery]:
    """Queue ``event_type`` with ``data`` (JSON-safe, plain values; or a function returning
    them, called only if someone listens) to each active subscription of ``platform`` (an
    Organization or its pk) that wants it. Call it inside the transaction that makes the
    change: the deliveries are written with it, and sent once it commits."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    platform_id = getattr(platform, "pk", platform)
    subscriptions = [
        s
        for s in PlatformWebhook.objects.filter(organization_id=platform_id, is_active=True)
        if event_type in s.events
    ]
    if not subscriptions:
        return []
    if callable(data):
        data = data()
    event_id = uuid.uuid4()
    now = timezone.now()
    payload = _envelope(event_id, event_type, data, now)
    deliveries = [
        PlatformWebhookDelivery.objects.create(
            subscription=subscription,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for subscription in subscriptions
    ]
    for delivery in deliveries:
        _queue_on_commit(delivery.pk)
    return deliveries


def webhook_subscriptions(platform, event_type: str) -> list[PlatformWebhook]:
    """The active subscriptions of ``platform`` that want ``event_type``: read once by a caller
    about to emit many events (`webhook_emit_many`)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    platform_id = getattr(platform, "pk", platform)
    return [
        s
        for s in PlatformWebhook.objects.filter(organization_id=platform_id, is_active=True)
        if event_type in s.events
    ]


def webhook_emit_many(
    subscriptions: list[PlatformWebhook], event_type: str, datas: list[dict]
) -> list[PlatformWebhookDelivery]:
    """`webhook_emit` for many events of one type to the same ``subscriptions`` (from
    `webhook_subscriptions`): one event (its own id) per item of ``datas``, its deliveries
    written with one INSERT, each queued when the caller's transaction commits."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if not subscriptions or not datas:
        return []
    now = timezone.now()
    deliveries = []
    for data in datas:
        event_id = uuid.uuid4()
        payload = _envelope(event_id, event_type, data, now)
        deliveries.extend(
            PlatformWebhookDelivery(
                subscription=subscription,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
            )
            for subscription in subscriptions
        )
    deliveries = PlatformWebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        _queue_on_commit(delivery.pk)
    return deliveries


def driver_references(platform, driver_ids) -> dict[int, dict]:
    """`driver_reference` for many drivers at once (two queries), by driver id."""
    platform_id = getattr(platform, "pk", platform)
    driver_ids = list(driver_ids)
    references = {
        pk: {"id": str(public_id), "platform_driver_id": None}
        for pk, public_id in User.objects.filter(pk__in=driver_ids).values_list("pk", "public_id")
    }
    try:
        driver_link = apps.get_model("rewards", "DriverLink")
    except LookupError:  # pragma: no cover - rewards is always installed on this site
        return references
    seen: set[int] = set()
    for driver_id, platform_driver_id in (
        driver_link.objects.filter(platform_id=platform_id, driver_id__in=driver_ids)
        .order_by("driver_id", F("unlinked_at").desc(nulls_first=True), "-linked_at")
        .values_list("driver_id", "platform_driver_id")
    ):
        if driver_id not in seen:  # the active link first, else the latest
            seen.add(driver_id)
            references[driver_id]["platform_driver_id"] = platform_driver_id
    return references


def webhook_ping(*, subscription: PlatformWebhook) -> PlatformWebhookDelivery:
    """A `ping` event to this one subscription (to test the endpoint and the signature)."""
    if not subscription.is_active:
        raise ValidationError(_("This webhook is disabled; subscribe again to use it."))
    event_id = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        delivery = PlatformWebhookDelivery.objects.create(
            subscription=subscription,
            event_id=event_id,
            event_type=EVENT_PING,
            payload=_envelope(event_id, EVENT_PING, {"webhook": str(subscription.public_id)}, now),
            next_attempt_at=now,
        )
        _queue_on_commit(delivery.pk)
    return delivery


def _queue_on_commit(delivery_id: int) -> None:
    def queue():
        from cms.tasks import platform_webhook_deliver

        platform_webhook_deliver.delay(delivery_id)

    # robust: a broker or receiver problem must not fail the request whose change committed.
    transaction.on_commit(queue, robust=True)


# --- delivery ------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    """After the ``attempts``-th failure: 1 min, 2, 4, … at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def _timeout() -> float:
    return float(getattr(settings, "PLATFORM_WEBHOOK_TIMEOUT_SECONDS", 5))


def _body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
        "utf-8"
    )


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str]:
    """(status code, response excerpt, error); never raises."""
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=_timeout(),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return None, "", f"Timed out after {_timeout():g} s."
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT]
    try:
        raw = response.raw.read(RESPONSE_EXCERPT * 4, decode_content=True) or b""
        excerpt = raw.decode("utf-8", "replace")[:RESPONSE_EXCERPT]
    except Exception:  # noqa: BLE001 - a broken body still has a status code
        excerpt = ""
    finally:
        response.close()
    return response.status_code, excerpt, ""


def delivery_attempt(delivery_id: int, *, now: datetime | None = None, force: bool = False):
    """Try to deliver one delivery, if it is pending and due (``force``: due or not).

    Returns the delivery, or None if it does not exist. Delivered or failed deliveries are
    returned untouched: a replayed task never sends an event twice."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            PlatformWebhookDelivery.objects.select_for_update()
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != PlatformWebhookDelivery.Status.PENDING:
            return delivery
        subscription = delivery.subscription
        if not subscription.is_active:
            delivery.status = PlatformWebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = "The subscription was disabled."
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return delivery
        if not force and delivery.next_attempt_at and delivery.next_attempt_at > now:
            return delivery  # not due, or another attempt is in progress
        # Claim it: the beat will not start another attempt while this one runs.
        delivery.attempts += 1
        delivery.next_attempt_at = now + ATTEMPT_LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    body = _body(delivery.payload)
    timestamp = int(now.timestamp())
    try:
        signature = webhook_sign(webhook_secret(subscription), body, timestamp)
    except (InvalidToken, ImproperlyConfigured):
        # The encryption key lost the secret's: nothing can be signed until it is restored.
        status_code, excerpt = None, ""
        error = "Cannot decrypt the signing secret (CREDENTIALS_KEY_ENCRYPTION_KEY changed?)."
    else:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Roadwise-Webhooks/1",
            EVENT_ID_HEADER: str(delivery.event_id),
            "Roadwise-Event-Type": delivery.event_type,
            SIGNATURE_HEADER: signature,
        }
        status_code, excerpt, error = _post(subscription.url, body, headers)
    delivery.last_status_code = status_code
    delivery.last_response = excerpt
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = PlatformWebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.last_error = ""
    else:
        delivery.last_error = error or f"HTTP {status_code}"
        if now - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = PlatformWebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_response",
            "last_error",
        ]
    )
    return delivery


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        PlatformWebhookDelivery.objects.filter(
            status=PlatformWebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
