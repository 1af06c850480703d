"""Stripe webhook signatures, computed exactly as Stripe computes them.

Stripe sends `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
keyed with the endpoint's signing secret (whsec_...). `stripe.Webhook.construct_event`
verifies it against the raw body and rejects timestamps older than its tolerance (300 s).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

__all__ = ["sign_payload", "signed_event", "webhook_post_kwargs"]


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload` signed with `secret`."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    if timestamp is None:
        timestamp = int(time.time())
    signed = f"{int(timestamp)}.{payload}".encode()
    signature = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={signature}"


def signed_event(event: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """The raw body Stripe would POST for `event` (pretty JSON, as Stripe sends it) and its
    `Stripe-Signature` header."""
    payload = json.dumps(event, indent=2).encode("utf-8")
    return payload, sign_payload(payload, secret, timestamp)


def webhook_post_kwargs(event: dict, secret: str, timestamp: int | None = None) -> dict:
    """Keyword arguments for Django's test client:
    ``client.post(url, **webhook_post_kwargs(event, secret))``."""
    payload, header = signed_event(event, secret, timestamp)
    return {
        "data": payload,
        "content_type": "application/json",
        "HTTP_STRIPE_SIGNATURE": header,
    }
