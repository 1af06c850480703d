"""Stripe plumbing shared by the apps: a configured client, Checkout payments, and the webhook
event pipeline (store, then process with retries).

Money in: an app calls ``checkout_start(...)``, redirects to ``payment.session_url`` and
listens to ``checkout_paid`` / ``checkout_refunded`` / ``checkout_expired``. Anything else
Stripe tells us (Connect accounts, transfers, payouts) reaches the handlers that apps register
with ``@stripe_handler("account.updated")`` in their AppConfig.ready.

Handlers receive the verified event as a plain dict and run inside ``transaction.atomic``
while the StripeEvent row is locked. Raising (``EventNotReady`` or anything else) rolls the
handler's work back and the event is tried again later, so handlers and signal receivers must
be idempotent. Events can arrive late, twice and out of order: when order matters, a handler
fetches the current object from Stripe instead of trusting the event's copy.

See docs/decisions/0009-payments-through-stripe.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cms.audit import audit
from cms.models import CheckoutPayment, CheckoutRefund, PaymentAlert, StripeEvent

logger = logging.getLogger(__name__)

__all__ = [
    "EventNotReady",
    "PaymentError",
    "PaymentsNotConfigured",
    "checkout_expire",
    "checkout_expired",
    "checkout_paid",
    "checkout_refunded",
    "checkout_start",
    "payment_alert",
    "payment_alert_resolve",
    "payments_configured",
    "stripe_client",
    "stripe_event_process",
    "stripe_event_retry_delay",
    "stripe_event_store",
    "stripe_events_due",
    "stripe_handler",
    "stripe_handlers_for",
    "webhook_secrets",
]

DEFAULT_API_BASE = "https://api.stripe.com"
# Metadata keys that checkout_start sets itself.
RESERVED_METADATA = frozenset({"payment", "purpose", "reference"})
# Stripe's own limits on metadata.
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500
# An unprocessed event is retried by the beat task once it is this old...
RETRY_AFTER = timedelta(minutes=5)
# ...and then no more often than every RETRY_AFTER * 2**(attempts-1), at most every 6 hours.
RETRY_MAX_INTERVAL = timedelta(hours=6)
RETRY_BATCH = 500
# A Checkout Session can be paid for this long (Stripe allows 30 minutes to 24 hours). Short,
# so that a forgotten session cannot be paid long after the buyer gave up.
CHECKOUT_LIFETIME = timedelta(hours=1)

# --- signals --------------------------------------------------------------------------------
# Sent inside the processing transaction of the Stripe event that caused them, once per
# transition or refund. A receiver that raises makes the whole event roll back and retry.

# sender=CheckoutPayment, payment=CheckoutPayment (now paid)
checkout_paid = Signal()
# sender=CheckoutPayment, payment=CheckoutPayment, refund=CheckoutRefund, full=bool (the
# payment is now fully refunded)
checkout_refunded = Signal()
# sender=CheckoutPayment, payment=CheckoutPayment: the checkout ended unpaid (the session
# expired; or, for a delayed payment method, the payment failed: payment.status says which)
checkout_expired = Signal()


# --- errors ---------------------------------------------------------------------------------


class PaymentsNotConfigured(Exception):
    """STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET is empty: no payments on this site."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or _(
                "Payments are not configured on this site: paid courses, seat purchases, "
                "funding top-ups and payouts are unavailable."
            )
        )


class PaymentError(Exception):
    """Stripe refused a request or could not be reached. Nothing was charged or changed."""


class EventNotReady(Exception):
    """Raised by a handler when an event cannot be applied yet (it arrived before one it
    depends on). The event stays unprocessed and is tried again later."""


# --- alerts for operators --------------------------------------------------------------------


def payment_alert(
    kind: str,
    reference: str,
    message: str,
    *,
    amount_fen: int | None = None,
    currency: str = "",
) -> PaymentAlert:
    """Tell the operators about something with money that code must not settle alone. Once per
    (kind, reference): raising it again (a redelivered event, the next retry) returns the
    existing alert, resolved or not. Also logged as an error. Joins the caller's transaction,
    so an alert raised by a handler that then fails is rolled back with it and raised again on
    the retry."""
    kind = PaymentAlert.Kind(kind).value
    reference = str(reference)[:255]
    logger.error("Payment alert %s for %s: %s", kind, reference, message)
    with transaction.atomic():
        alert, _created = PaymentAlert.objects.get_or_create(
            kind=kind,
            reference=reference,
            defaults={"message": message, "amount_fen": amount_fen, "currency": currency},
        )
    return alert


def payment_alert_resolve(alert: PaymentAlert, *, user, resolution: str) -> PaymentAlert:
    """An operator says what was done about the alert. The note is required."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValueError(_("Say what was done about it."))
    with transaction.atomic():
        updated = PaymentAlert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=user, resolution=resolution
        )
        alert.refresh_from_db()
        if not updated:
            raise ValueError(_("This alert was already resolved."))
        audit(
            "roadwise.payment_alert.resolve",
            alert,
            user=user,
            title=f"Payment alert {alert.get_kind_display()} {alert.reference}"[:200],
            data={
                "kind": alert.kind,
                "reference": alert.reference,
                "amount_fen": alert.amount_fen,
                "currency": alert.currency,
                "resolution": resolution,
            },
        )
    return alert


# --- configuration and client ---------------------------------------------------------------


def webhook_secrets() -> list[str]:
    """The webhook signing secrets (STRIPE_WEBHOOK_SECRET, comma-separated)."""
    raw = getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or ""
    return [secret.strip() for secret in raw.split(",") if secret.strip()]


def payments_configured() -> bool:
    """Whether the site takes payments: a secret key and a webhook secret are both set."""
    return bool(getattr(settings, "STRIPE_SECRET_KEY", "")) and bool(webhook_secrets())


def stripe_client() -> stripe.StripeClient:
    """A StripeClient set up from the settings; raises PaymentsNotConfigured."""
    if not payments_configured():
        raise PaymentsNotConfigured()
    base = (settings.STRIPE_API_BASE or DEFAULT_API_BASE).rstrip("/")
    addresses = {"api": base}
    if base != DEFAULT_API_BASE:
        # A test or a proxy: send everything there, never to the real Stripe.
        addresses.update(connect=base, files=base)
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=addresses,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _stripe_error_text(exc: Exception) -> str:
    if isinstance(exc, stripe.StripeError):
        parts = [type(exc).__name__]
        if exc.http_status:
            parts.append(str(exc.http_status))
        if exc.code:
            parts.append(str(exc.code))
        if exc.request_id:
            parts.append(str(exc.request_id))
        return f"{' '.join(parts)}: {exc.user_message or str(exc)}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


# --- Checkout -------------------------------------------------------------------------------


def _checkout_locale() -> str:
    language = (get_language() or "").lower()
    if language.startswith("zh"):
        return "zh"
    if language.startswith("en"):
        return "en"
    return "auto"


def _validate_metadata(metadata: dict | None) -> dict[str, str]:
    metadata = dict(metadata or {})
    clashing = RESERVED_METADATA & set(metadata)
    if clashing:
        raise ValueError(f"metadata may not set {', '.join(sorted(clashing))}")
    if len(metadata) + len(RESERVED_METADATA) > METADATA_MAX_KEYS:
        raise ValueError("too many metadata keys for Stripe")
    cleaned = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > METADATA_MAX_KEY_LENGTH:
            raise ValueError(f"metadata key {key!r} is not a Stripe metadata key")
        value = "" if value is None else str(value)
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise ValueError(f"metadata value of {key!r} is too long for Stripe")
        cleaned[key] = value
    return cleaned


def checkout_start(
    *,
    purpose: str,
    amount_fen: int,
    description: str,
    success_url: str,
    cancel_url: str,
    reference: str,
    currency: str = "CNY",
    quantity: int = 1,
    user=None,
    organization=None,
    metadata: dict | None = None,
) -> CheckoutPayment:
    """Start a Stripe Checkout Session for ``amount_fen`` (the total, in fen) and return the
    pending CheckoutPayment; send the customer to ``payment.session_url``.

    ``success_url`` may contain ``{CHECKOUT_SESSION_ID}``. With ``quantity`` > 1 the total must
    divide into equal unit prices. Wrong arguments raise ValueError; no Stripe keys raise
    PaymentsNotConfigured (nothing stored); Stripe refusing or unreachable raises PaymentError
    (the payment is kept as failed, with the error)."""
    if purpose not in CheckoutPayment.Purpose.values:
        raise ValueError(f"unknown payment purpose {purpose!r}")
    purpose = CheckoutPayment.Purpose(purpose).value
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValueError("amount_fen must be a whole number of fen above zero")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValueError("quantity must be a whole number of at least 1")
    if amount_fen % quantity:
        raise ValueError("amount_fen must divide into equal unit prices for the quantity")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise ValueError("currency must be a three-letter ISO code")
    description = (description or "").strip()
    if not description:
        raise ValueError("a description is required (customers see it on the Checkout page)")
    reference = str(reference or "")
    if not reference or len(reference) > 100:
        raise ValueError("reference must be 1 to 100 characters")
    if not success_url or not cancel_url:
        raise ValueError("success_url and cancel_url are required")
    extra = _validate_metadata(metadata)
    client = stripe_client()  # PaymentsNotConfigured before anything is stored

    payment = CheckoutPayment.objects.create(
        purpose=purpose,
        reference=reference,
        user=user,
        organization=organization,
        amount_fen=amount_fen,
        currency=currency.upper(),
        quantity=quantity,
        description=description[:250],
        metadata=extra,
    )
    stripe_metadata = {
        **extra,
        "payment": str(payment.public_id),
        "purpose": purpose,
        "reference": reference,
    }
    methods = list(settings.STRIPE_CHECKOUT_PAYMENT_METHODS)
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_fen // quantity,
                    "product_data": {"name": description[:250]},
                },
                "quantity": quantity,
            }
        ],
        "client_reference_id": str(payment.public_id),
        "metadata": stripe_metadata,
        # Copied onto the PaymentIntent and its charge, so refunds find their payment even
        # before the completed event was processed.
        "payment_intent_data": {"metadata": stripe_metadata, "description": description[:250]},
        "payment_method_types": methods,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": _checkout_locale(),
        "expires_at": int((timezone.now() + CHECKOUT_LIFETIME).timestamp()),
    }
    if "wechat_pay" in methods:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    try:
        session = client.v1.checkout.sessions.create(
            params, {"idempotency_key": f"checkout:{payment.public_id}"}
        )
    except stripe.StripeError as exc:
        logger.warning("Stripe refused Checkout for payment %s: %s", payment.public_id, exc)
        payment.status = CheckoutPayment.Status.FAILED
        payment.error = _stripe_error_text(exc)
        payment.save(update_fields=["status", "error"])
        raise PaymentError(
            _(
                "The payment could not be started: the payment service refused it or could "
                "not be reached. Nothing was charged. Please try again in a few minutes."
            )
        ) from exc
    payment.session_id = session.id
    payment.session_url = session.url or ""
    payment.save(update_fields=["session_id", "session_url"])
    return payment


def checkout_expire(payment: CheckoutPayment) -> str:
    """Close a pending payment's Checkout Session at Stripe so that it can no longer be paid
    (before starting another for the same thing). Returns the session's status afterwards:
    ``"expired"``, or ``"complete"`` (it was paid, or a payment is under way: start nothing
    new; the webhook will say). Our record changes when Stripe's event arrives. Raises
    PaymentError if Stripe cannot be asked."""
    if not payment.session_id:
        return "expired"
    client = stripe_client()
    try:
        return client.v1.checkout.sessions.expire(payment.session_id).status
    except stripe.InvalidRequestError:
        pass  # no longer open: find out what it is
    except stripe.StripeError as exc:
        raise PaymentError(
            _("The payment service could not be reached. Nothing was charged; try again.")
        ) from exc
    try:
        return client.v1.checkout.sessions.retrieve(payment.session_id).status
    except stripe.StripeError as exc:
        raise PaymentError(
            _("The payment service could not be reached. Nothing was charged; try again.")
        ) from exc


# --- webhook handler registry ---------------------------------------------------------------

Handler = Callable[[dict], None]
_handlers: dict[str, list[Handler]] = {}


def stripe_handler(*event_types: str) -> Callable[[Handler], Handler]:
    """Register ``func(event: dict) -> None`` for these event types. A type ending in ``.*``
    (e.g. ``"payout.*"``) matches every type with that prefix. Registering the same function
    twice for a type is a no-op."""
    if not event_types:
        raise ValueError("stripe_handler needs at least one event type")

    def register(func: Handler) -> Handler:
        for event_type in event_types:
            handlers = _handlers.setdefault(event_type, [])
            if func not in handlers:
                handlers.append(func)
        return func

    return register


def stripe_handlers_for(event_type: str) -> list[Handler]:
    """The handlers for a type, exact registrations first, in registration order."""
    found = list(_handlers.get(event_type, []))
    for pattern, handlers in _handlers.items():
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            found.extend(h for h in handlers if h not in found)
    return found


# --- storing and processing events -----------------------------------------------------------


def stripe_event_store(event: dict) -> tuple[StripeEvent, bool]:
    """Store a verified event once; returns (row, created). A redelivery returns the first row
    with created=False. On commit, its processing is queued."""
    from cms import tasks

    defaults = {
        "type": str(event.get("type") or "")[:100],
        "account": str(event.get("account") or ""),
        "livemode": bool(event.get("livemode")),
        "payload": event,
    }
    with transaction.atomic():
        row, created = StripeEvent.objects.get_or_create(
            event_id=str(event["id"]), defaults=defaults
        )
        if created:
            pk = row.pk
            transaction.on_commit(lambda: _enqueue(tasks.stripe_event_process, pk))
    return row, created


def _enqueue(task, pk: int) -> None:
    # The event is stored: if queueing (or, run eagerly, processing) fails, the beat task
    # picks it up later, and Stripe must still get its 200.
    try:
        task.delay(pk)
    except Exception:
        logger.exception("Could not queue Stripe event %s; stripe_events_retry will", pk)


def stripe_event_process(event_pk: int) -> StripeEvent | None:
    """Run the handlers of a stored event, once. Returns the row (``processed_at`` set when
    done, otherwise ``attempts``/``last_error`` tell why), or None if it does not exist."""
    with transaction.atomic():
        row = StripeEvent.objects.select_for_update().filter(pk=event_pk).first()
        if row is None or row.processed_at is not None:
            return row
        now = timezone.now()
        row.attempts += 1
        row.last_attempt_at = now
        try:
            with transaction.atomic():
                for handler in stripe_handlers_for(row.type):
                    handler(row.payload)
        except Exception as exc:  # any failure means "later"; the row records why
            row.last_error = (
                f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, stripe.StripeError)
                else _stripe_error_text(exc)
            )[:4000]
            log = logger.info if isinstance(exc, EventNotReady) else logger.exception
            log("Stripe event %s (%s) not processed: %s", row.event_id, row.type, exc)
            row.save(update_fields=["attempts", "last_attempt_at", "last_error"])
            return row
        row.processed_at = now
        row.last_error = ""
        row.save(update_fields=["attempts", "last_attempt_at", "last_error", "processed_at"])
        return row


def stripe_event_retry_delay(attempts: int) -> timedelta:
    """How long after its last attempt an event waits before the beat task retries it."""
    factor = 2 ** max(0, min(attempts - 1, 10))
    return min(RETRY_AFTER * factor, RETRY_MAX_INTERVAL)


def stripe_events_due(now=None) -> list[int]:
    """Primary keys of unprocessed events to try again: received over RETRY_AFTER ago, and
    last tried long enough ago for their number of attempts (see stripe_event_retry_delay)."""
    now = now or timezone.now()
    rows = (
        StripeEvent.objects.filter(processed_at__isnull=True, received_at__lte=now - RETRY_AFTER)
        .order_by("received_at", "pk")
        .values_list("pk", "attempts", "last_attempt_at")[:RETRY_BATCH]
    )
    return [
        pk
        for pk, attempts, last_attempt_at in rows
        if last_attempt_at is None or last_attempt_at + stripe_event_retry_delay(attempts) <= now
    ]


# --- cms's own handlers: Checkout ------------------------------------------------------------


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _payment_for_session(session: dict) -> CheckoutPayment | None:
    """Our payment for a Checkout Session (by session id, else by the metadata we set)."""
    payment = CheckoutPayment.objects.filter(session_id=session.get("id")).first()
    if payment is not None:
        return payment
    for candidate in ((session.get("metadata") or {}).get("payment"),
                      session.get("client_reference_id")):  # fmt: skip
        public_id = _uuid(candidate)
        if public_id is not None:
            payment = CheckoutPayment.objects.filter(public_id=public_id).first()
            if payment is not None:
                return payment
    return None


def _id_of(value) -> str:
    """The id of an expandable field (an id string, an expanded object, or None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value.id)


def _mark_paid(payment: CheckoutPayment, session: dict) -> None:
    payment = CheckoutPayment.objects.select_for_update().get(pk=payment.pk)
    if payment.is_paid:
        return  # the other completed event, or a redelivery: already done
    intent = session.get("payment_intent")
    amount_total = session.get("amount_total")
    currency = (session.get("currency") or "").upper()
    if amount_total != payment.amount_fen or currency != payment.currency:
        # Impossible unless something is very wrong (a price changed on Stripe's side, a
        # promotion code): the money was received, so the purchase goes ahead and an operator
        # decides (reconciliation reports the difference too).
        payment_alert(
            PaymentAlert.Kind.AMOUNT_MISMATCH,
            str(payment.public_id),
            f"Checkout {session.get('id')} was paid {amount_total} {currency}, but "
            f"{payment.amount_fen} {payment.currency} was asked ({payment.description}).",
            amount_fen=amount_total if isinstance(amount_total, int) else None,
            currency=currency,
        )
    if payment.status != CheckoutPayment.Status.PENDING:
        logger.warning(
            "Checkout payment %s was %s and is now paid", payment.public_id, payment.status
        )
    payment.status = CheckoutPayment.Status.PAID
    payment.paid_at = timezone.now()
    payment.session_id = payment.session_id or session.get("id")
    payment.payment_intent_id = _id_of(intent)
    if isinstance(intent, dict):
        payment.charge_id = _id_of(intent.get("latest_charge"))
    payment.save(
        update_fields=["status", "paid_at", "session_id", "payment_intent_id", "charge_id"]
    )
    checkout_paid.send(sender=CheckoutPayment, payment=payment)


def _retrieve_session(session_id: str):
    session = stripe_client().v1.checkout.sessions.retrieve(
        session_id, {"expand": ["payment_intent"]}
    )
    return session.to_dict()


@stripe_handler("checkout.session.completed", "checkout.session.async_payment_succeeded")
def _checkout_session_completed(event: dict) -> None:
    obj = event["data"]["object"]
    payment = _payment_for_session(obj)
    if payment is None or event.get("account"):
        logger.info("Ignoring %s for Checkout %s: not ours", event["type"], obj.get("id"))
        return
    session = _retrieve_session(obj["id"])
    if session.get("payment_status") != "paid":
        # Completed but unpaid: a delayed method; async_payment_succeeded will follow.
        logger.info("Checkout %s completed, payment %s", obj["id"], session.get("payment_status"))
        return
    _mark_paid(payment, session)


@stripe_handler("checkout.session.expired")
def _checkout_session_expired(event: dict) -> None:
    obj = event["data"]["object"]
    payment = _payment_for_session(obj)
    if payment is None or event.get("account"):
        logger.info("Ignoring %s for Checkout %s: not ours", event["type"], obj.get("id"))
        return
    session = _retrieve_session(obj["id"])
    if session.get("payment_status") == "paid":
        _mark_paid(payment, session)  # the current state wins over the event's copy
        return
    if session.get("status") != "expired":
        return
    payment = CheckoutPayment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != CheckoutPayment.Status.PENDING:
        return
    payment.status = CheckoutPayment.Status.EXPIRED
    payment.save(update_fields=["status"])
    checkout_expired.send(sender=CheckoutPayment, payment=payment)


@stripe_handler("checkout.session.async_payment_failed")
def _checkout_session_async_payment_failed(event: dict) -> None:
    """A delayed payment method failed after the customer completed Checkout. The session will
    not expire, so this ends the payment: failed, signalled as ``checkout_expired``."""
    obj = event["data"]["object"]
    payment = _payment_for_session(obj)
    if payment is None or event.get("account"):
        logger.info("Ignoring %s for Checkout %s: not ours", event["type"], obj.get("id"))
        return
    session = _retrieve_session(obj["id"])
    if session.get("payment_status") == "paid":
        _mark_paid(payment, session)
        return
    payment = CheckoutPayment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != CheckoutPayment.Status.PENDING:
        return
    payment.status = CheckoutPayment.Status.FAILED
    payment.error = "Stripe: the delayed payment failed (checkout.session.async_payment_failed)"
    payment.save(update_fields=["status", "error"])
    checkout_expired.send(sender=CheckoutPayment, payment=payment)


def _payment_for_charge(charge: dict) -> CheckoutPayment | None:
    charge_id = charge.get("id")
    intent_id = _id_of(charge.get("payment_intent"))
    payment = CheckoutPayment.objects.filter(charge_id=charge_id).first()
    if payment is None and intent_id:
        payment = CheckoutPayment.objects.filter(payment_intent_id=intent_id).first()
    if payment is None:
        public_id = _uuid((charge.get("metadata") or {}).get("payment"))
        if public_id is not None:
            payment = CheckoutPayment.objects.filter(public_id=public_id).first()
    return payment


@stripe_handler("charge.refunded", "charge.refund.updated", "refund.updated")
def _charge_refunded(event: dict) -> None:
    """Record each succeeded refund of one of our charges once, and signal it."""
    if event.get("account"):
        return  # refunds on connected accounts are not Checkout refunds
    obj = event["data"]["object"]
    charge_id = obj.get("id") if obj.get("object") == "charge" else _id_of(obj.get("charge"))
    if not charge_id:
        return
    client = stripe_client()
    charge = client.v1.charges.retrieve(charge_id).to_dict()
    payment = _payment_for_charge(charge)
    if payment is None:
        logger.info("Ignoring %s for charge %s: not a Checkout payment", event["type"], charge_id)
        return
    payment = CheckoutPayment.objects.select_for_update().get(pk=payment.pk)
    if not payment.is_paid:
        raise EventNotReady(
            f"payment {payment.public_id} for charge {charge_id} is {payment.status}, not paid yet"
        )
    listed = client.v1.refunds.list({"charge": charge_id, "limit": 100})
    # Stripe lists newest first; oldest first (stable within a second) signals them in order.
    refunds = [refund.to_dict() for refund in listed.auto_paging_iter()][::-1]
    refunds.sort(key=lambda r: r.get("created") or 0)
    known = set(payment.refunds.values_list("refund_id", flat=True))
    for refund in refunds:
        # Pending refunds (some wallets) are recorded when refund.updated says they succeeded;
        # failed and canceled ones never.
        if refund.get("status") != "succeeded" or refund["id"] in known:
            continue
        _record_refund(payment, refund["id"], int(refund["amount"]))
        known.add(refund["id"])


def _record_refund(payment: CheckoutPayment, refund_id: str, amount: int) -> CheckoutRefund:
    """Record money given back on a locked, paid payment (a refund, or a lost dispute) and
    signal it, once per ``refund_id``."""
    amount = min(amount, payment.amount_fen - payment.amount_refunded_fen)
    record = CheckoutRefund.objects.create(refund_id=refund_id, payment=payment, amount_fen=amount)
    payment.amount_refunded_fen += amount
    full = payment.amount_refunded_fen >= payment.amount_fen
    payment.status = (
        CheckoutPayment.Status.REFUNDED if full else CheckoutPayment.Status.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["amount_refunded_fen", "status"])
    checkout_refunded.send(sender=CheckoutPayment, payment=payment, refund=record, full=full)
    return record


@stripe_handler(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
def _charge_disputed(event: dict) -> None:
    """A customer's bank disputes one of our charges (a chargeback). Stripe takes the amount
    off the balance at once; an operator answers with evidence in Stripe's dashboard, so they
    are told. A lost dispute is money given back for good: recorded and signalled like a
    refund (a course's access ends, the ledger books it), once. A won one changes nothing."""
    if event.get("account"):
        return
    client = stripe_client()
    dispute = client.v1.disputes.retrieve(event["data"]["object"]["id"]).to_dict()
    charge = client.v1.charges.retrieve(_id_of(dispute.get("charge"))).to_dict()
    payment = _payment_for_charge(charge)
    if payment is None:
        logger.info("Ignoring %s for charge %s: not ours", event["type"], charge["id"])
        return
    payment = CheckoutPayment.objects.select_for_update().get(pk=payment.pk)
    if not payment.is_paid:
        raise EventNotReady(f"payment {payment.public_id} is {payment.status}, not paid yet")
    amount = int(dispute.get("amount") or 0)
    currency = str(dispute.get("currency") or payment.currency).upper()
    payment_alert(
        PaymentAlert.Kind.CHARGE_DISPUTED,
        dispute["id"],
        f"The customer's bank disputes charge {charge['id']} ({payment.description}, payment "
        f"{payment.public_id}; reason: {dispute.get('reason') or '-'}). Answer with evidence in "
        f"Stripe's dashboard before the deadline.",
        amount_fen=amount,
        currency=currency,
    )
    if dispute.get("status") != "lost":
        return
    if CheckoutRefund.objects.filter(refund_id=dispute["id"]).exists():
        return
    if payment.amount_refunded_fen >= payment.amount_fen:
        return  # refunded in full already: nothing more can be taken back from the buyer
    record = _record_refund(payment, dispute["id"], amount)
    payment_alert(
        PaymentAlert.Kind.DISPUTE_LOST,
        dispute["id"],
        f"Dispute {dispute['id']} of charge {charge['id']} was lost: {record.amount_fen} fen "
        f"taken back, recorded as a refund of payment {payment.public_id}.",
        amount_fen=record.amount_fen,
        currency=currency,
    )
