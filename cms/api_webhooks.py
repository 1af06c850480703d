"""Platforms' webhook subscriptions: create (the signing secret is shown once), list, delete,
read the delivery log, send a test ping. A platform only ever sees its own."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from cms import api_scopes as scopes
from cms import platform_webhooks
from cms.api_auth import needs, platform_key_auth
from cms.api_routes import Text, api_errors
from cms.audit import api_key_actor
from cms.models import PlatformWebhook, PlatformWebhookDelivery

router = Router(auth=platform_key_auth, tags=["webhooks"])

MAX_DELIVERIES = 200
EVENT_TYPES_TEXT = ", ".join(f"`{t}`" for t in platform_webhooks.EVENT_TYPES)


class WebhookIn(Schema):
    url: Text = Field(
        description="Your endpoint: an https:// URL (at most 500 characters) that answers a "
        "POST with any 2xx status."
    )
    events: list[Text] = Field(description=f"The event types to receive: {EVENT_TYPES_TEXT}.")
    description: Text = Field("", description="A note for yourself (at most 200 characters).")


class WebhookOut(Schema):
    id: UUID
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    disabled_at: datetime | None


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_…). Shown this once: store it now. Each "
        "delivery carries `Roadwise-Signature: t=<unix time>,v1=<hex>`, the HMAC-SHA256 of "
        '"<t>.<raw body>" under this secret.'
    )


class DeliveryOut(Schema):
    event_id: UUID = Field(
        description="The same on every attempt (header Roadwise-Event-Id): ignore an event "
        "id you have already processed."
    )
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None = Field(description="Your endpoint's last HTTP status.")
    last_response: str = Field(description="The start of your endpoint's last answer.")
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="The JSON body that is (or was) sent.")


class DeliveriesQuery(Schema):
    status: Literal["pending", "delivered", "failed"] | None = Field(
        None, description="Only deliveries in this state."
    )
    limit: int = Field(50, ge=1, le=MAX_DELIVERIES, description="How many, newest first.")


def _out(subscription: PlatformWebhook) -> dict:
    return {
        "id": subscription.public_id,
        "url": subscription.url,
        "events": subscription.events,
        "description": subscription.description,
        "active": subscription.is_active,
        "created_at": subscription.created_at,
        "disabled_at": subscription.disabled_at,
    }


def _delivery_out(delivery: PlatformWebhookDelivery) -> dict:
    return {
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_response": delivery.last_response,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
        "payload": delivery.payload,
    }


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        )
    return " ".join(exc.messages)


def _own(request: HttpRequest, webhook_id: UUID) -> PlatformWebhook:
    subscription = platform_webhooks.webhook_get(platform=request.platform, public_id=webhook_id)
    if subscription is None:
        raise HttpError(404, _("No webhook of your platform has this id."))
    return subscription


@router.post(
    "/webhooks",
    auth=needs(scopes.WEBHOOKS_MANAGE),
    response={201: WebhookCreatedOut, **api_errors(400, 401, 422)},
    summary="Subscribe an endpoint to events (the signing secret is shown once)",
    description="Roadwise will POST each event of the chosen types to `url` as JSON "
    '(`{"id", "type", "created", "data"}`), signed with the secret in the answer: '
    "store it now, it is never shown again. Credential events (`credential.issued`, "
    "`credential.revoked`, `credential.status_changed`) are sent only about drivers who have "
    "granted your platform consent at that moment; `reward.posted` only for rewards and "
    "awards your platform paid. A 2xx answer delivers an event; otherwise it is retried "
    "with exponential backoff (1 minute doubling, at most 6 hours) for 3 days. "
    "422: the URL is not https:// (or not public) or an event type is unknown.",
)
def webhook_create(request: HttpRequest, payload: WebhookIn):
    try:
        subscription, secret = platform_webhooks.webhook_subscribe(
            platform=request.platform,
            url=payload.url,
            events=payload.events,
            description=payload.description,
            actor_label=api_key_actor(request.api_key),
        )
    except ValidationError as exc:
        raise HttpError(422, _messages(exc)) from None
    return Status(201, {**_out(subscription), "secret": secret})


@router.get(
    "/webhooks",
    auth=needs(scopes.WEBHOOKS_MANAGE),
    response={200: list[WebhookOut], **api_errors(401)},
    summary="Your platform's active webhook subscriptions",
    description="Newest first. Secrets are never shown again; delete a subscription and make "
    "a new one to change its secret.",
)
def webhook_list(request: HttpRequest):
    return [_out(s) for s in platform_webhooks.webhook_list(platform=request.platform)]


@router.delete(
    "/webhooks/{webhook_id}",
    auth=needs(scopes.WEBHOOKS_MANAGE),
    response={204: None, **api_errors(401, 404, 422)},
    summary="Delete (disable) a webhook subscription",
    description="Nothing more is sent to it, including retries still pending. Its delivery "
    "log stays readable. Deleting it again changes nothing. 404: no subscription of your "
    "platform has this id.",
)
def webhook_delete(request: HttpRequest, webhook_id: UUID):
    platform_webhooks.webhook_disable(
        subscription=_own(request, webhook_id), actor_label=api_key_actor(request.api_key)
    )
    return Status(204, None)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    auth=needs(scopes.WEBHOOKS_MANAGE),
    response={200: list[DeliveryOut], **api_errors(401, 404, 422)},
    summary="The delivery log of a webhook subscription, newest first",
    description="Each event sent (or being retried) to this subscription: its payload, the "
    "number of attempts, your endpoint's last status and answer, and when the next attempt "
    f"is due. At most {MAX_DELIVERIES} per request. 404: no subscription of your platform has "
    "this id.",
)
def webhook_deliveries(request: HttpRequest, webhook_id: UUID, filters: Query[DeliveriesQuery]):
    subscription = _own(request, webhook_id)
    deliveries = subscription.deliveries.all()
    if filters.status:
        deliveries = deliveries.filter(status=filters.status)
    return [_delivery_out(d) for d in deliveries[: filters.limit]]


@router.post(
    "/webhooks/{webhook_id}/test",
    auth=needs(scopes.WEBHOOKS_MANAGE),
    response={202: DeliveryOut, **api_errors(401, 404, 422)},
    summary="Send a test `ping` event to a webhook subscription",
    description='Queues a signed `ping` event (`data`: `{"webhook": <id>}`) to this '
    "endpoint, retried like any other event; the answer is the delivery (when tasks run at "
    "once, already with your endpoint's answer). 404: no subscription of your platform has "
    "this id; 422: the subscription is deleted.",
)
def webhook_test(request: HttpRequest, webhook_id: UUID):
    subscription = _own(request, webhook_id)
    try:
        delivery = platform_webhooks.webhook_ping(subscription=subscription)
    except ValidationError as exc:
        raise HttpError(422, _messages(exc)) from None
    delivery.refresh_from_db()
    return Status(202, _delivery_out(delivery))
