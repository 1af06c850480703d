"""Drivers' payouts through Stripe Connect Express.

Connecting: `payout_account_link` creates the driver's Express account once (country
``STRIPE_CONNECT_COUNTRY``, the ``transfers`` capability, a *manual* payout schedule so that we
decide when money goes to the bank) and returns a Stripe onboarding address; the return page
and the ``account.updated`` webhook refresh what we know (`payout_account_refresh`).

Paying out (`payout_request`), in the ledger and at Stripe:

    requested  payout     driver payable −X, payouts in transit +X   payout:{id}:sent
    paid       payout     payouts in transit −X, external +X         payout:{id}:settled
    failed or  payout     payouts in transit −X, driver payable +X   payout:{id}:returned
    reversed              ("sent" negated)

The "sent" posting is made at once under the driver's row lock, so the floor of the payable
account (and one unfinished payout per driver) means concurrent requests never pay more than
is owed. A task then creates the transfer to the connected account and the payout to the bank,
each with an idempotency key derived from the payout (`payout:{id}:transfer`,
`payout:{id}:payout`), so a retry after a timeout or a 500 never pays twice; Stripe forgets
those keys after 24 hours, so a retry that late first looks for the transfer and the bank
payout an earlier attempt made. Transient errors leave the payout pending with the error;
`payouts_retry` (beat) sends it again, and an operator is alerted (`PaymentAlert`) when it is
still not sent after 20 hours. A refusal that retrying cannot change (Stripe's 4xx) fails the
payout and returns the money. A payout the bank returns after it was paid is taken back from
the connected account (a transfer reversal) and returned to the driver's balance:

    returned   payout     external −X, driver payable +X                  payout:{id}:returned
    after paid

Webhooks (``payout.*``, ``transfer.created``, ``transfer.reversed``) find the payout by the
metadata we put on the Stripe objects, fetch the current object from Stripe (events come late,
twice and out of order) and apply it; each change is made once under the payout's row lock, so
a replayed event changes nothing.
"""

import logging
import uuid
from datetime import timedelta
from functools import partial

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.audit import SYSTEM_PAYOUT_TASK, SYSTEM_STRIPE, audit
from cms.models import PaymentAlert, User
from cms.payments import (
    EventNotReady,
    PaymentsNotConfigured,
    payment_alert,
    payments_configured,
    stripe_client,
    stripe_handler,
)
from rewards import ledger
from rewards.ledger import yuan
from rewards.models import Account, Payout, PayoutAccount, Transaction


def _money(fen: int) -> str:
    return f"¥{yuan(fen)}"


logger = logging.getLogger(__name__)

DEFAULT_CONNECT_COUNTRY = "US"
DEFAULT_MINIMUM_FEN = 1000  # ¥10
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
# A pending payout whose task never ran (a lost message) is sent by the sweeper after this.
UNSENT_AFTER = timedelta(minutes=5)
# An in-transit payout not heard of for this long is checked with Stripe by the sweeper.
SYNC_AFTER = timedelta(days=1)
# A payout still not sent this long after it was requested is shown to the operators (well
# before Stripe forgets the idempotency keys, after 24 hours).
DELAYED_AFTER = timedelta(hours=20)
# Stripe keeps idempotency keys at least 24 hours; after this, retries look before they create.
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=23)

# Stripe's payout failure codes, in words a driver understands (and we can translate).
FAILURE_MESSAGES = {
    "account_closed": gettext_lazy("The bank account has been closed."),
    "account_frozen": gettext_lazy("The bank account is frozen."),
    "bank_account_restricted": gettext_lazy("The bank account cannot receive this payout."),
    "could_not_process": gettext_lazy("The bank could not process this payout."),
    "debit_not_authorized": gettext_lazy("The bank refused the payout."),
    "declined": gettext_lazy("The bank declined the payout."),
    "insufficient_funds": gettext_lazy("The payout could not be funded."),
    "invalid_account_number": gettext_lazy("The bank account number is not valid."),
    "incorrect_account_holder_name": gettext_lazy("The name on the bank account does not match."),
    "no_account": gettext_lazy("The bank account could not be found."),
    "transfer_reversed": gettext_lazy("The transfer to your Stripe account was cancelled."),
    "canceled": gettext_lazy("The payout was cancelled."),
    # Refusals when sending it (the platform's Stripe balance, the driver's Stripe account).
    "balance_insufficient": gettext_lazy("Payouts are paused for a moment; try again later."),
    "payouts_not_allowed": gettext_lazy(
        "Stripe needs more information from you before it can pay you."
    ),
    "insufficient_capabilities_for_transfer": gettext_lazy(
        "Your Stripe account cannot receive money yet; finish the steps at Stripe."
    ),
}
GENERIC_FAILURE = gettext_lazy("The payout could not be made.")

# Stripe's requirement names, grouped into what a driver is asked for.
REQUIREMENT_LABELS = (
    ("external_account", gettext_lazy("bank account")),
    ("individual.id_number", gettext_lazy("identity number")),
    ("individual.verification", gettext_lazy("identity document")),
    ("individual.address", gettext_lazy("address")),
    ("individual.dob", gettext_lazy("date of birth")),
    ("individual", gettext_lazy("personal details")),
    ("business_profile", gettext_lazy("what you do")),
    ("business_type", gettext_lazy("what you do")),
    ("tos_acceptance", gettext_lazy("acceptance of Stripe's terms")),
)


class PayoutRefused(Exception):
    """A payout that cannot be made now; the message is for the driver. Nothing was written."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def minimum_fen() -> int:
    return getattr(settings, "PAYOUT_MINIMUM_FEN", DEFAULT_MINIMUM_FEN)


def connect_country() -> str:
    return (getattr(settings, "STRIPE_CONNECT_COUNTRY", "") or DEFAULT_CONNECT_COUNTRY).upper()


def connect_service_agreement() -> str:
    """ "full" (the default) or "recipient" (needed for cross-border payouts, e.g. when the
    platform's Stripe account is in another region than the drivers' accounts)."""
    return getattr(settings, "STRIPE_CONNECT_SERVICE_AGREEMENT", "") or "full"


def _text(exc: Exception) -> str:
    if isinstance(exc, stripe.StripeError):
        parts = [type(exc).__name__, str(exc.http_status or ""), str(exc.code or "")]
        return f"{' '.join(p for p in parts if p)}: {exc.user_message or exc}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def _is_permanent(exc: Exception) -> bool:
    """Stripe refused the request itself (4xx other than 409/429): retrying with the same
    idempotency key gets the same answer. Timeouts, 5xx, 409 and 429 are worth retrying."""
    return (
        isinstance(exc, stripe.InvalidRequestError | stripe.CardError)
        and not isinstance(exc, stripe.IdempotencyError)
        and (exc.http_status or 400) not in (409, 429)
    )


# --- the connected account -----------------------------------------------------------------


def requirement_labels(requirements: list[str]) -> list[str]:
    """Stripe's requirement names as the few things a driver is asked for, in order."""
    labels: list[str] = []
    for name in requirements:
        label = next(
            (str(text) for prefix, text in REQUIREMENT_LABELS if name.startswith(prefix)), None
        )
        label = label or name
        if label not in labels:
            labels.append(label)
    return labels


def _apply_account(account: PayoutAccount, remote: dict) -> PayoutAccount:
    requirements = remote.get("requirements") or {}
    due = sorted(
        set(requirements.get("currently_due") or []) | set(requirements.get("past_due") or [])
    )
    capabilities = remote.get("capabilities") or {}
    values = {
        "country": (remote.get("country") or "")[:2],
        "details_submitted": bool(remote.get("details_submitted")),
        "payouts_enabled": bool(remote.get("payouts_enabled")),
        "transfers_active": capabilities.get("transfers") == "active",
        "requirements_due": due,
        "disabled_reason": (requirements.get("disabled_reason") or "")[:255],
    }
    changed = [name for name, value in values.items() if getattr(account, name) != value]
    if changed:
        for name in changed:
            setattr(account, name, values[name])
        account.save(update_fields=[*changed, "updated_at"])
    return account


def _create_account(driver: User) -> PayoutAccount:
    params = {
        "type": "express",
        "country": connect_country(),
        "business_type": "individual",
        "capabilities": {"transfers": {"requested": True}},
        # Payouts are made by us (one per request), never on Stripe's automatic schedule.
        "settings": {"payouts": {"schedule": {"interval": "manual"}}},
        "metadata": {"driver": str(driver.public_id)},
    }
    if connect_service_agreement() == "recipient":
        params["tos_acceptance"] = {"service_agreement": "recipient"}
    if driver.email:
        params["email"] = driver.email
    remote = stripe_client().v1.accounts.create(
        params, {"idempotency_key": f"connect:{driver.public_id}:account"}
    )
    try:
        with transaction.atomic():
            account = PayoutAccount.objects.create(
                driver=driver, stripe_account_id=remote.id, country=remote.country or ""
            )
    except IntegrityError:
        # A concurrent request (same idempotency key, same Stripe account) saved it first.
        return PayoutAccount.objects.get(driver=driver)
    return _apply_account(account, remote.to_dict())


def payout_account_link(*, driver: User, return_url: str, refresh_url: str) -> str:
    """The Stripe address where the driver (re)starts or completes onboarding. Creates their
    Express account the first time. Raises PaymentsNotConfigured or stripe.StripeError."""
    if driver.role != User.Role.DRIVER:
        raise ValueError("only drivers connect a payout account")
    if not payments_configured():
        raise PaymentsNotConfigured()
    account = PayoutAccount.objects.filter(driver=driver).first() or _create_account(driver)
    link = stripe_client().v1.account_links.create(
        {
            "account": account.stripe_account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return link.url


def payout_account_refresh(account: PayoutAccount) -> PayoutAccount:
    """What Stripe says about the account now (the return page, a webhook)."""
    remote = stripe_client().v1.accounts.retrieve(account.stripe_account_id)
    return _apply_account(account, remote.to_dict())


@stripe_handler("account.updated")
def on_account_updated(event: dict) -> None:
    obj = event["data"]["object"]
    account = PayoutAccount.objects.filter(stripe_account_id=obj.get("id")).first()
    if account is None:
        # Created while our request timed out: the metadata names the driver.
        driver = _user_by_public_id((obj.get("metadata") or {}).get("driver"))
        if driver is None or PayoutAccount.objects.filter(driver=driver).exists():
            logger.info("account.updated for %s: not a driver's payout account", obj.get("id"))
            return
        account = PayoutAccount.objects.create(driver=driver, stripe_account_id=obj["id"])
    payout_account_refresh(account)


def _user_by_public_id(value) -> User | None:
    try:
        return User.objects.filter(public_id=uuid.UUID(str(value))).first()
    except (TypeError, ValueError):
        return None


# --- requesting a payout -------------------------------------------------------------------


def payable_balance(driver: User, currency: str = "CNY") -> int:
    """The driver's payable balance (read only: opens no account)."""
    account = Account.objects.filter(
        kind=Account.Kind.DRIVER_PAYABLE, user=driver, currency=currency
    ).first()
    return ledger.balance(account) if account is not None else 0


def payout_request(*, driver: User, amount_fen: int | None = None, currency: str = "CNY") -> Payout:
    """Pay out the driver's whole payable balance (or ``amount_fen`` of it). Raises
    PayoutRefused (nothing written) when payouts are off, the account is not ready, another
    payout is unfinished, or the amount is below the minimum or above the balance."""
    if driver.role != User.Role.DRIVER:
        raise PayoutRefused(_("Payouts are for drivers' own earnings."), code="not_driver")
    if not payments_configured():
        raise PayoutRefused(str(PaymentsNotConfigured()), code="not_configured")
    if amount_fen is not None and type(amount_fen) is not int:
        raise PayoutRefused(_("The amount is not a whole number of fen."), code="invalid")
    try:
        with transaction.atomic():
            account = PayoutAccount.objects.select_for_update().filter(driver=driver).first()
            if account is None:
                raise PayoutRefused(
                    _("Connect a bank account through Stripe first."), code="not_connected"
                )
            if not account.is_ready:
                raise PayoutRefused(
                    _("Stripe still needs some information before it can pay you."),
                    code="not_ready",
                )
            if Payout.objects.filter(driver=driver, status__in=Payout.UNFINISHED).exists():
                raise PayoutRefused(
                    _("Your previous payout is still on its way; wait until it has arrived."),
                    code="unfinished",
                )
            payable = ledger.driver_payable_account(driver, currency)
            available = ledger.balance(payable)
            amount = available if amount_fen is None else amount_fen
            if amount > available:
                raise PayoutRefused(
                    _("You can pay out at most your balance of %(balance)s.")
                    % {"balance": _money(available)},
                    code="too_large",
                )
            if amount < minimum_fen():
                raise PayoutRefused(
                    _("The smallest payout is %(minimum)s; your balance is %(balance)s.")
                    % {"minimum": _money(minimum_fen()), "balance": _money(available)},
                    code="too_small",
                )
            payout = Payout.objects.create(
                driver=driver,
                destination=account.stripe_account_id,
                amount_fen=amount,
                currency=currency,
            )
            ledger.post_transaction(
                idempotency_key=payout.sent_key,
                kind=Transaction.Kind.PAYOUT,
                legs=[(payable, -amount), (ledger.payouts_in_transit_account(currency), amount)],
                description=f"Payout {payout.public_id} to Stripe account {payout.destination}",
                created_by=driver,
                metadata={"payout": str(payout.public_id), "stage": "sent"},
            )
            audit(
                "roadwise.payout.request",
                payout,
                user=driver,
                title=_payout_title(payout),
                data={
                    "amount_fen": amount,
                    "currency": currency,
                    "balance_fen": available,
                    "destination": payout.destination,
                    "transaction": payout.sent_key,
                },
            )
            transaction.on_commit(partial(_send_soon, payout.pk))
    except ledger.InsufficientFunds:
        raise PayoutRefused(
            _("Your balance changed meanwhile; please try again."), code="too_large"
        ) from None
    except IntegrityError:
        # The one-unfinished-payout constraint (a concurrent request on a database without
        # row locks): the other request won.
        raise PayoutRefused(
            _("Your previous payout is still on its way; wait until it has arrived."),
            code="unfinished",
        ) from None
    return payout


def _send_soon(payout_pk: int) -> None:
    from rewards import tasks

    try:
        tasks.payout_send.delay(payout_pk)
    except Exception:  # a broker hiccup: the sweeper sends it
        logger.exception("Could not queue payout %s; payouts_retry will send it", payout_pk)


# --- sending it ----------------------------------------------------------------------------


def _retry_delay(attempts: int) -> timedelta:
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def _note_error(payout: Payout, exc: Exception) -> Payout:
    attempts = payout.attempts + 1
    Payout.objects.filter(pk=payout.pk).update(
        attempts=F("attempts") + 1,
        last_error=_text(exc),
        next_attempt_at=timezone.now() + _retry_delay(attempts),
        updated_at=timezone.now(),
    )
    logger.warning("Payout %s not sent yet (attempt %d): %s", payout.public_id, attempts, exc)
    payout.refresh_from_db()
    if timezone.now() - payout.created_at >= DELAYED_AFTER:
        # Retries go on (each looks for what an earlier attempt made first, since Stripe's
        # idempotency keys are gone after 24 hours), but a person should know.
        payment_alert(
            PaymentAlert.Kind.PAYOUT_DELAYED,
            str(payout.public_id),
            f"Payout {payout.public_id} to {payout.destination} has not been sent after "
            f"{attempts} attempts since {payout.created_at:%Y-%m-%d %H:%M} UTC; last error: "
            f"{payout.last_error}",
            amount_fen=payout.amount_fen,
            currency=payout.currency,
        )
    return payout


def _find_bank_payout(client, payout: Payout):
    """The bank payout an earlier attempt made on the driver's account, if any (found by the
    metadata we set, among the account's payouts since the request)."""
    since = int((payout.created_at - timedelta(minutes=5)).timestamp())
    listed = client.v1.payouts.list(
        {"created": {"gte": since}, "limit": 100}, {"stripe_account": payout.destination}
    )
    for remote in listed.auto_paging_iter():
        if (remote.to_dict().get("metadata") or {}).get("payout") == str(payout.public_id):
            return remote
    return None


def payout_send(payout_pk: int) -> Payout:
    """Create the transfer and the bank payout of a pending payout (idempotent: the same keys
    every time). Never raises for Stripe's answers: a transient error is recorded for the retry,
    a refusal fails the payout and returns the money."""
    payout = Payout.objects.select_related("driver").get(pk=payout_pk)
    if payout.status != Payout.Status.PENDING:
        return payout
    try:
        client = stripe_client()
    except PaymentsNotConfigured as exc:
        return _note_error(payout, exc)
    currency = payout.currency.lower()
    # Stripe forgets idempotency keys after 24 hours: a retry later than that first looks for
    # what an earlier attempt may have made (by the metadata and transfer group we set).
    keys_may_be_gone = payout.attempts > 0 and (
        timezone.now() - payout.created_at >= IDEMPOTENCY_KEYS_KEPT
    )
    try:
        if not payout.transfer_id and keys_may_be_gone:
            _find_transfer_id(payout)
        if not payout.transfer_id:
            transfer = client.v1.transfers.create(
                {
                    "amount": payout.amount_fen,
                    "currency": currency,
                    "destination": payout.destination,
                    "transfer_group": payout.transfer_group,
                    "description": f"Roadwise payout {payout.public_id}",
                    "metadata": {
                        "payout": str(payout.public_id),
                        "driver": str(payout.driver.public_id),
                    },
                },
                {"idempotency_key": payout.transfer_idempotency_key},
            )
            Payout.objects.filter(pk=payout.pk, transfer_id="").update(transfer_id=transfer.id)
            payout.transfer_id = transfer.id
        remote = _find_bank_payout(client, payout) if keys_may_be_gone else None
        remote = remote or client.v1.payouts.create(
            {
                "amount": payout.amount_fen,
                "currency": currency,
                "description": f"Roadwise payout {payout.public_id}",
                "metadata": {"payout": str(payout.public_id)},
            },
            {
                "stripe_account": payout.destination,
                "idempotency_key": payout.payout_idempotency_key,
            },
        )
    except stripe.StripeError as exc:
        if not _is_permanent(exc):
            return _note_error(payout, exc)
        logger.error("Stripe refused payout %s: %s", payout.public_id, _text(exc))
        with transaction.atomic():
            locked = Payout.objects.select_for_update().get(pk=payout.pk)
            if locked.status == Payout.Status.PENDING:
                locked.last_error = _text(exc)
                # Stripe's own words, for the operators; drivers see `failure_reason`.
                _fail(
                    locked,
                    code=exc.code or "refused",
                    message=str(exc.user_message or exc),
                    from_event=False,
                )
        payout.refresh_from_db()
        return payout
    Payout.objects.filter(pk=payout.pk).update(last_error="", next_attempt_at=None)
    return apply_stripe_payout(payout, remote.to_dict(), actor_label=SYSTEM_PAYOUT_TASK)


def payouts_retry(now=None) -> list[str]:
    """Beat: send the pending payouts that are due (after an error, or whose task was lost),
    and ask Stripe about in-transit payouts no webhook has settled for a day."""
    now = now or timezone.now()
    done = []
    pending = (
        Payout.objects.filter(status=Payout.Status.PENDING)
        .filter(_due(now))
        .order_by("created_at", "pk")[:200]
    )
    for payout in pending:
        try:
            payout_send(payout.pk)
        except Exception:  # noqa: BLE001 - e.g. a failed reversal: retried next time
            logger.exception("Could not send payout %s", payout.public_id)
        done.append(str(payout.public_id))
    for payout in Payout.objects.filter(
        status=Payout.Status.IN_TRANSIT, updated_at__lte=now - SYNC_AFTER
    ).exclude(stripe_payout_id="")[:200]:
        try:
            payout_sync(payout)
        except Exception:  # noqa: BLE001 - one payout's trouble does not stop the others
            logger.exception("Could not check payout %s with Stripe", payout.public_id)
        done.append(str(payout.public_id))
    return done


def _due(now) -> Q:
    """Pending payouts to send now: their retry time has come, or they were never tried and
    their task should long have run."""
    return Q(next_attempt_at__lte=now) | Q(
        next_attempt_at__isnull=True, created_at__lte=now - UNSENT_AFTER
    )


def payout_sync(payout: Payout) -> Payout:
    """Apply what Stripe says about the payout's bank payout now."""
    remote = stripe_client().v1.payouts.retrieve(
        payout.stripe_payout_id, options={"stripe_account": payout.destination}
    )
    return apply_stripe_payout(payout, remote.to_dict(), actor_label=SYSTEM_PAYOUT_TASK)


# --- applying Stripe's state ---------------------------------------------------------------


def apply_stripe_payout(
    payout: Payout, remote: dict, *, actor_label: str = SYSTEM_STRIPE
) -> Payout:
    """Move the payout to the state of its Stripe payout ``remote`` (current, not an event's
    copy), once: pending/in transit → in transit; paid → paid (settled posting); failed or
    canceled → failed (the transfer reversed and the money returned). ``actor_label``: who
    learned it, for the audit log (a Stripe webhook unless the payout task says otherwise)."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("driver").get(pk=payout.pk)
        if payout.stripe_payout_id and payout.stripe_payout_id != remote.get("id"):
            logger.error(
                "Payout %s is Stripe payout %s, not %s: ignored",
                payout.public_id,
                payout.stripe_payout_id,
                remote.get("id"),
            )
            return payout
        if not payout.stripe_payout_id:
            payout.stripe_payout_id = remote["id"]
            payout.save(update_fields=["stripe_payout_id", "updated_at"])
            audit(
                "roadwise.payout.send",
                payout,
                actor_label=actor_label,
                title=_payout_title(payout),
                data={
                    "amount_fen": payout.amount_fen,
                    "currency": payout.currency,
                    "stripe_transfer": payout.transfer_id,
                    "stripe_payout": payout.stripe_payout_id,
                    "attempts": payout.attempts,
                },
            )
        status = remote.get("status")
        if status == "paid":
            _settle(payout, actor_label=actor_label)
        elif status in ("failed", "canceled"):
            code = remote.get("failure_code") or status
            _fail(
                payout,
                code=code,
                message=remote.get("failure_message") or str(FAILURE_MESSAGES.get(code, "")),
                actor_label=actor_label,
            )
        elif payout.status == Payout.Status.PENDING:
            payout.status = Payout.Status.IN_TRANSIT
            payout.save(update_fields=["status", "updated_at"])
    return payout


def _settle(payout: Payout, *, actor_label: str = SYSTEM_STRIPE) -> None:
    if payout.status == Payout.Status.PAID:
        return
    if payout.money_returned:
        # Paid out of the connected account after we returned the money to the driver's
        # balance (a reversal of the transfer and a payout racing): paid twice, for a person.
        payment_alert(
            PaymentAlert.Kind.OTHER,
            f"payout:{payout.public_id}:paid-after-return",
            f"Stripe says bank payout {payout.stripe_payout_id} of payout {payout.public_id} "
            f"was paid, but the money was already returned to the driver's balance "
            f"({payout.get_status_display()}): the driver may be paid twice.",
            amount_fen=payout.amount_fen,
            currency=payout.currency,
        )
        return
    currency = payout.currency
    ledger.post_transaction(
        idempotency_key=payout.settled_key,
        kind=Transaction.Kind.PAYOUT,
        legs=[
            (ledger.payouts_in_transit_account(currency), -payout.amount_fen),
            (ledger.external_account(currency), payout.amount_fen),
        ],
        description=f"Payout {payout.public_id} paid (Stripe payout {payout.stripe_payout_id})",
        metadata={
            "payout": str(payout.public_id),
            "stage": "settled",
            "stripe_payout": payout.stripe_payout_id,
        },
    )
    before = payout.status
    payout.status = Payout.Status.PAID
    payout.paid_at = timezone.now()
    payout.save(update_fields=["status", "paid_at", "updated_at"])
    audit(
        "roadwise.payout.paid",
        payout,
        actor_label=actor_label,
        title=_payout_title(payout),
        data={
            "amount_fen": payout.amount_fen,
            "currency": payout.currency,
            "status": {"before": before, "after": payout.status},
            "stripe_payout": payout.stripe_payout_id,
            "transaction": payout.settled_key,
        },
    )


def _find_transfer_id(payout: Payout) -> str:
    if payout.transfer_id:
        return payout.transfer_id
    listed = stripe_client().v1.transfers.list(
        {"transfer_group": payout.transfer_group, "limit": 10}
    )
    for transfer in listed.data:
        if (transfer.to_dict().get("metadata") or {}).get("payout") == str(payout.public_id):
            payout.transfer_id = transfer.id
            payout.save(update_fields=["transfer_id", "updated_at"])
            return transfer.id
    return ""


def _reverse_transfer(payout: Payout) -> str:
    """Take the money back from the connected account (once: an idempotency key, and an
    already reversed transfer is fine). Returns the reversal's id."""
    client = stripe_client()
    try:
        reversal = client.v1.transfers.reversals.create(
            payout.transfer_id,
            {"metadata": {"payout": str(payout.public_id)}},
            {"idempotency_key": payout.reversal_idempotency_key},
        )
        return reversal.id
    except stripe.InvalidRequestError as exc:
        if exc.code != "transfer_already_reversed":
            raise
    transfer = client.v1.transfers.retrieve(payout.transfer_id)
    reversals = transfer.reversals.data if transfer.reversals else []
    return reversals[0].id if reversals else ""


def _return_money(payout: Payout) -> None:
    """Post "returned": the "sent" legs negated, once (its key). Its own payout movement, not a
    `reversal`: nothing was wrong with "sent", the money came back (and statements count
    reversals on a driver's account as corrections of what was earned)."""
    sent = Transaction.objects.get(idempotency_key=payout.sent_key)
    legs = [
        (entry.account, -entry.amount_fen)
        for entry in sent.entries.select_related("account").order_by("pk")
    ]
    ledger.post_transaction(
        idempotency_key=payout.returned_key,
        kind=Transaction.Kind.PAYOUT,
        legs=legs,
        description=f"Payout {payout.public_id} returned to the driver's balance ({payout.status})",
        metadata={
            "payout": str(payout.public_id),
            "stage": "returned",
            "returns": sent.idempotency_key,
            "stripe_transfer_reversal": payout.transfer_reversal_id,
        },
    )


def _fail(
    payout: Payout,
    *,
    code: str,
    message: str,
    from_event: bool = True,
    actor_label: str | None = None,
) -> None:
    """The payout did not reach the bank: reverse the transfer (if one was made) and return the
    money to the driver's payable balance. Call with the payout locked."""
    if payout.money_returned:
        return
    transfer_id = payout.transfer_id if not from_event else _find_transfer_id(payout)
    if payout.status == Payout.Status.PAID:
        _fail_after_paid(
            payout, code=code, message=message, transfer_id=transfer_id, actor_label=actor_label
        )
        return
    if transfer_id:
        payout.transfer_reversal_id = _reverse_transfer(payout)
    elif from_event:
        # A Stripe payout exists, so a transfer does: wait until we know it.
        raise EventNotReady(f"the transfer of payout {payout.public_id} is not known yet")
    before = payout.status
    payout.status = Payout.Status.FAILED
    payout.failure_code = (code or "")[:100]
    payout.failure_message = message or ""
    payout.save(
        update_fields=[
            "status",
            "failure_code",
            "failure_message",
            "transfer_reversal_id",
            "transfer_id",
            "last_error",
            "updated_at",
        ]
    )
    _return_money(payout)
    _audit_failure(payout, before=before, from_event=from_event, actor_label=actor_label)


def _audit_failure(
    payout: Payout, *, before: str, from_event: bool, actor_label: str | None = None
) -> None:
    audit(
        "roadwise.payout.fail",
        payout,
        actor_label=actor_label or (SYSTEM_STRIPE if from_event else SYSTEM_PAYOUT_TASK),
        title=_payout_title(payout),
        data={
            "amount_fen": payout.amount_fen,
            "currency": payout.currency,
            "status": {"before": before, "after": payout.status},
            "code": payout.failure_code,
            "message": payout.failure_message,
            "stripe_transfer_reversal": payout.transfer_reversal_id,
            "transaction": payout.returned_key,
        },
    )


def _payout_title(payout: Payout) -> str:
    return f"Payout {payout.public_id}"


def _fail_after_paid(
    payout: Payout, *, code: str, message: str, transfer_id: str, actor_label: str | None = None
) -> None:
    """The bank sent a paid payout back (Stripe: paid, then failed, days later). The money is
    on the driver's connected account again: take it back with a reversal of the transfer and
    return it to the driver's payable balance, so they can pay out again once their bank
    details are right. The "settled" posting stays (it happened); "returned" moves the money
    from outside back to the driver. An operator is told either way."""
    if not transfer_id:
        raise EventNotReady(f"the transfer of paid payout {payout.public_id} is not known yet")
    payout.transfer_reversal_id = _reverse_transfer(payout)
    before = payout.status
    payout.status = Payout.Status.FAILED
    payout.failure_code = (code or "")[:100]
    payout.failure_message = message or ""
    payout.save(
        update_fields=[
            "status",
            "failure_code",
            "failure_message",
            "transfer_reversal_id",
            "transfer_id",
            "updated_at",
        ]
    )
    currency = payout.currency
    ledger.post_transaction(
        idempotency_key=payout.returned_key,
        kind=Transaction.Kind.PAYOUT,
        legs=[
            (ledger.external_account(currency), -payout.amount_fen),
            (ledger.driver_payable_account(payout.driver, currency), payout.amount_fen),
        ],
        description=(
            f"Payout {payout.public_id} returned by the bank after it was paid; back on the "
            f"driver's balance"
        ),
        metadata={
            "payout": str(payout.public_id),
            "stage": "returned",
            "after": "settled",
            "stripe_transfer_reversal": payout.transfer_reversal_id,
        },
    )
    _audit_failure(payout, before=before, from_event=True, actor_label=actor_label)
    payment_alert(
        PaymentAlert.Kind.PAYOUT_RETURNED_AFTER_PAID,
        str(payout.public_id),
        f"The bank returned payout {payout.public_id} ({payout.stripe_payout_id}) after it was "
        f"paid ({code}: {message}). The transfer was reversed ({payout.transfer_reversal_id}) "
        f"and the money is back on the driver's balance; check the driver's bank details "
        f"with them.",
        amount_fen=payout.amount_fen,
        currency=currency,
    )


def failure_reason(payout: Payout) -> str:
    """Why a payout failed, for the driver, in the active language (Stripe's own message, kept
    in `failure_message`, is English and may be about our platform account: operators only)."""
    return str(FAILURE_MESSAGES.get(payout.failure_code, GENERIC_FAILURE))


# --- webhooks ------------------------------------------------------------------------------


def _payout_by_public_id(value) -> Payout | None:
    try:
        return Payout.objects.filter(public_id=uuid.UUID(str(value))).first()
    except (TypeError, ValueError):
        return None


def _payout_for_stripe_payout(obj: dict) -> Payout | None:
    payout = _payout_by_public_id((obj.get("metadata") or {}).get("payout"))
    if payout is None and obj.get("id"):
        payout = Payout.objects.filter(stripe_payout_id=obj["id"]).first()
    return payout


def _payout_for_transfer(obj: dict) -> Payout | None:
    payout = _payout_by_public_id((obj.get("metadata") or {}).get("payout"))
    if payout is None and obj.get("id"):
        payout = Payout.objects.filter(transfer_id=obj["id"]).first()
    group = obj.get("transfer_group") or ""
    if payout is None and group.startswith("payout:"):
        payout = _payout_by_public_id(group.removeprefix("payout:"))
    return payout


@stripe_handler(
    "payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled"
)
def on_payout_event(event: dict) -> None:
    obj = event["data"]["object"]
    payout = _payout_for_stripe_payout(obj)
    if payout is None:
        logger.info("%s for %s: not a driver's payout", event.get("type"), obj.get("id"))
        return
    account = event.get("account") or payout.destination
    if account != payout.destination:
        logger.error(
            "%s for payout %s came from account %s, not %s: ignored",
            event.get("type"),
            payout.public_id,
            account,
            payout.destination,
        )
        return
    remote = stripe_client().v1.payouts.retrieve(obj["id"], options={"stripe_account": account})
    apply_stripe_payout(payout, remote.to_dict())


@stripe_handler("transfer.created")
def on_transfer_created(event: dict) -> None:
    if event.get("account"):
        return
    obj = event["data"]["object"]
    payout = _payout_for_transfer(obj)
    if payout is None:
        return
    Payout.objects.filter(pk=payout.pk, transfer_id="").update(
        transfer_id=obj["id"], updated_at=timezone.now()
    )


@stripe_handler("transfer.reversed")
def on_transfer_reversed(event: dict) -> None:
    """A reversal of a payout's transfer (ours after a failed payout, or one made in Stripe's
    dashboard): the money is back on the platform's Stripe balance, so it goes back to the
    driver's payable balance, once."""
    if event.get("account"):
        return
    obj = event["data"]["object"]
    payout = _payout_for_transfer(obj)
    if payout is None:
        return
    transfer = stripe_client().v1.transfers.retrieve(obj["id"]).to_dict()
    reversals = (transfer.get("reversals") or {}).get("data") or []
    # If the money already left (or is leaving) the connected account for the driver's bank,
    # returning it to the balance too would pay it twice: that is for an operator.
    bank_status = ""
    if payout.stripe_payout_id and payout.destination:
        bank_status = (
            stripe_client()
            .v1.payouts.retrieve(
                payout.stripe_payout_id, options={"stripe_account": payout.destination}
            )
            .to_dict()
            .get("status", "")
        )
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if not payout.transfer_id:
            payout.transfer_id = transfer["id"]
        if reversals and not payout.transfer_reversal_id:
            payout.transfer_reversal_id = reversals[0]["id"]
        payout.save(update_fields=["transfer_id", "transfer_reversal_id", "updated_at"])
        if payout.money_returned:
            return
        if (transfer.get("amount_reversed") or 0) < payout.amount_fen:
            payment_alert(
                PaymentAlert.Kind.TRANSFER_PARTLY_REVERSED,
                transfer["id"],
                f"Transfer {transfer['id']} of payout {payout.public_id} was partly reversed "
                f"({transfer.get('amount_reversed')} of {payout.amount_fen} fen): not booked; "
                f"book or explain it.",
                amount_fen=transfer.get("amount_reversed"),
                currency=payout.currency,
            )
            return
        # (A bank payout still pending fails for want of money once the transfer is reversed:
        # its payout.failed then finds the money already returned.)
        if payout.status == Payout.Status.PAID or bank_status in ("paid", "in_transit"):
            payment_alert(
                PaymentAlert.Kind.TRANSFER_REVERSED_PAID,
                transfer["id"],
                f"Transfer {transfer['id']} of payout {payout.public_id} was reversed while "
                f"its bank payout is {bank_status or payout.status}: not returned to the "
                f"driver's balance (they would be paid twice). Find out who reversed it.",
                amount_fen=payout.amount_fen,
                currency=payout.currency,
            )
            return
        before = payout.status
        payout.status = Payout.Status.REVERSED
        payout.failure_code = "transfer_reversed"
        payout.failure_message = str(FAILURE_MESSAGES["transfer_reversed"])
        payout.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
        _return_money(payout)
        _audit_failure(payout, before=before, from_event=True)


# --- statements ----------------------------------------------------------------------------


def movement_description(transaction: Transaction) -> str | None:
    """How a payout's posting reads on the driver's statement, with the payout's state now
    ("Payout to your bank account: paid"), or None if it is not a payout posting. For
    `rewards.statements._describe`."""
    metadata = transaction.metadata or {}
    if transaction.kind != Transaction.Kind.PAYOUT or "payout" not in metadata:
        return None
    payout = _payout_by_public_id(metadata["payout"])
    if payout is None:
        return None
    if metadata.get("stage") == "returned":
        return _("Payout returned to your balance: %(reason)s") % {"reason": failure_reason(payout)}
    return _("Payout to your bank account: %(status)s") % {"status": payout.get_status_display()}
