"""POST /stripe/webhook/: where Stripe sends its events.

The view only verifies and stores: a bad signature or body gets a 400 and nothing is stored; a
redelivery of a stored event gets 200 "duplicate"; a new event is stored and queued for
processing (cms.payments.stripe_event_process) once the row is committed, then 200 "received".
Stripe retries anything that is not a 2xx, for up to three days."""

import json
import logging

import stripe
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cms import payments

logger = logging.getLogger(__name__)


def _verify(payload: bytes, header: str) -> dict | None:
    """The event if ``header`` signs ``payload`` with one of the webhook secrets, else None."""
    for secret in payments.webhook_secrets():
        try:
            stripe.Webhook.construct_event(payload, header, secret)
        except stripe.SignatureVerificationError:
            continue
        except Exception:  # noqa: BLE001 - signed, but not a JSON event object
            return None
        event = json.loads(payload)
        if (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and 0 < len(event["id"]) <= 255
            and isinstance(event.get("type"), str)
            and isinstance(event.get("data"), dict)
        ):
            return event
        return None
    return None


@csrf_exempt
@never_cache
@require_POST
def stripe_webhook(request):
    if not payments.payments_configured():
        return JsonResponse(
            {"status": "unavailable", "message": str(payments.PaymentsNotConfigured())},
            status=503,
        )
    header = request.headers.get("Stripe-Signature") or ""
    event = _verify(request.body, header) if header else None
    if event is None:
        logger.warning("Rejected a Stripe webhook with a bad signature or body")
        return JsonResponse(
            {"status": "rejected", "message": _("Invalid Stripe signature or payload.")},
            status=400,
        )
    row, created = payments.stripe_event_store(event)
    if not created:
        return JsonResponse({"status": "duplicate"})
    return JsonResponse({"status": "received"})
