"""A small, stateful fake of the parts of Stripe's v1 HTTP API that Roadwise calls.

Standard library only. The real `stripe` SDK talks to it unchanged: point the SDK at
`FakeStripe.url` (``StripeClient(key, base_addresses={"api": fake.url})`` or
``stripe.api_base = fake.url``). See README.md next to this file for what is modelled.
"""

from __future__ import annotations

import copy
import html
import json
import random
import re
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

DEFAULT_API_KEY = "sk_test_roadwise_fake"
# Used for events when no request told us the version; the SDK's own pinned version if present.
FALLBACK_API_VERSION = "2026-10-28.endive"

# Countries whose accounts may receive platform transfers under the "full" service agreement
# when the platform is in another of them (Stripe: US, CA, UK, EEA, CH). Elsewhere a
# cross-border connected account needs tos_acceptance[service_agreement]=recipient.
_FULL_AGREEMENT_ZONE = frozenset(
    "US CA GB CH AT BE BG HR CY CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT NL NO PL PT "
    "RO SK SI ES SE".split()
)
_COUNTRY_CURRENCY = {
    "US": "usd", "CN": "cny", "HK": "hkd", "SG": "sgd", "GB": "gbp", "JP": "jpy", "AU": "aud",
    "CA": "cad", "CH": "chf", "DE": "eur", "FR": "eur", "NL": "eur", "IE": "eur", "ES": "eur",
    "IT": "eur", "MY": "myr", "TH": "thb", "NZ": "nzd",
}  # fmt: skip
_PAYMENT_METHOD_TYPES = frozenset(
    "card alipay wechat_pay link paypal us_bank_account sepa_debit ideal bancontact eps "
    "giropay p24 sofort klarna afterpay_clearpay affirm grabpay paynow promptpay fpx "
    "konbini customer_balance".split()
)
# Payment methods whose balance transactions are type "payment"/"payment_refund"
# (Stripe uses "charge"/"refund" only for cards).
_CARD_LIKE = frozenset({"card", "link"})
_EXPRESS_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.dob.day",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
_ALPHABET = string.ascii_letters + string.digits


class FakeUsageError(AssertionError):
    """A test used the control API wrongly (e.g. completed a session that is not open)."""


class StripeFakeError(Exception):
    """An error answer in Stripe's shape. `store=False` marks errors raised while validating
    parameters: Stripe does not save those under the idempotency key, so a retry runs afresh."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's field name
        param: str | None = None,
        code: str | None = None,
        store: bool = True,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.store = store
        self.headers = headers or {}

    def body(self) -> dict:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _param_error(message: str, param: str | None = None, code: str | None = None):
    return StripeFakeError(400, message, param=param, code=code, store=False)


def _missing(param: str):
    return _param_error(f"Missing required param: {param}.", param, "parameter_missing")


def _no_such(kind: str, object_id: str, param: str | None = None, *, store: bool = True):
    return StripeFakeError(
        404,
        f"No such {kind}: '{object_id}'",
        param=param,
        code="resource_missing",
        store=store,
    )


def _not_modelled(what: str):
    return _param_error(f"stripe_fake does not model {what}.", code="fake_not_implemented")


# ---------------------------------------------------------------------------- form decoding

_NAME_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation (`a[b][0][c]=v`, `expand[]=x`) into nested dicts/lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _NAME_RE.match(raw_key)
        if not match:
            raise _param_error(f"Invalid parameter name: {raw_key}", raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for index, part in enumerate(parts):
            if part == "":
                part = str(sum(1 for k in node if k.isdigit()))
            if index == len(parts) - 1:
                if isinstance(node.get(part), dict):
                    raise _param_error(f"Invalid value for {raw_key}: conflicting keys", raw_key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    if child == "":  # `metadata=` then `metadata[k]=v`
                        child = node[part] = {}
                    else:
                        raise _param_error(f"Invalid hash: {raw_key}", raw_key)
                node = child
    return _listify(root)


def _listify(value: Any, key: str = "") -> Any:
    if not isinstance(value, dict):
        return value
    if key != "metadata" and value and all(k.isdigit() for k in value):
        return [_listify(value[k]) for k in sorted(value, key=int)]
    return {k: _listify(v, k) for k, v in value.items()}


# ---------------------------------------------------------------------------- param helpers


def _check_known(params: dict, allowed: set[str] | frozenset[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed and name != "expand":
            full = f"{prefix}[{name}]" if prefix else name
            raise _param_error(f"Received unknown parameter: {full}", full, "parameter_unknown")


def _int(params: dict, name: str, *, required=False, minimum: int | None = None, label=None):
    label = label or name
    if name not in params or params[name] == "":
        if required:
            raise _missing(label)
        return None
    raw = params[name]
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise _param_error(f"Invalid integer: {raw}", label, "parameter_invalid_integer")
    value = int(raw)
    if minimum is not None and value < minimum:
        word = "positive integer" if minimum == 1 else f"integer ≥ {minimum}"
        raise _param_error(
            f"Invalid {word}: {raw}. This value must be greater than or equal to {minimum}.",
            label,
            "parameter_invalid_integer",
        )
    return value


def _bool(params: dict, name: str, label=None) -> bool | None:
    if name not in params:
        return None
    raw = params[name]
    if raw in ("true", "false"):
        return raw == "true"
    raise _param_error(f"Invalid boolean: {raw}", label or name)


def _str(params: dict, name: str, *, required=False, choices=None, label=None) -> str | None:
    label = label or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _missing(label)
        return None
    if not isinstance(value, str):
        raise _param_error(f"Invalid string: {value!r}", label)
    if choices is not None and value not in choices:
        raise _param_error(
            f"Invalid {label}: must be one of {', '.join(sorted(choices))}",
            label,
            "parameter_invalid",
        )
    return value


def _url(params: dict, name: str, *, required=False, label=None) -> str | None:
    value = _str(params, name, required=required, label=label)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise _param_error("Not a valid URL", label or name, "url_invalid")
    return value


def _currency(params: dict, name="currency", *, required=True, label=None) -> str | None:
    value = _str(params, name, required=required, label=label)
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise _param_error(f"Invalid currency: {value}", label or name)
    return value.lower()


def _metadata(params: dict, name="metadata") -> dict[str, str]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _param_error("Invalid object", name)
    if len(value) > 50:
        raise _param_error("Metadata can have at most 50 keys.", name)
    out = {}
    for key, val in value.items():
        if not isinstance(val, str):
            raise _param_error(f"Invalid value for {name}[{key}]", f"{name}[{key}]")
        if len(key) > 40:
            raise _param_error("Metadata keys can be at most 40 characters.", f"{name}[{key}]")
        if len(val) > 500:
            raise _param_error("Metadata values can be at most 500 characters.", f"{name}[{key}]")
        if val != "":
            out[key] = val
    return out


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


# ---------------------------------------------------------------------------- plumbing


@dataclass
class _Ctx:
    method: str
    path: str
    account: str | None
    api_version: str | None
    request_id: str
    idempotency_key: str | None


@dataclass
class _Fault:
    method: str
    path_prefix: str
    times: int
    kind: str  # "fail" or "slow"
    status: int = 500
    seconds: float = 0.0
    replay: bool = False
    error: dict | None = None
    should_retry: bool | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and path.startswith(self.path_prefix)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "stripe_fake/1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def _serve(self):
        fake: FakeStripe = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = fake._handle_http(self.command, self.path, self.headers, body)
        if response.delay:
            fake._stopping.wait(response.delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass  # the client gave up (timeout): Stripe did the work anyway

    do_GET = do_POST = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # quiet on client disconnects
        pass


# ---------------------------------------------------------------------------- the fake


class FakeStripe:
    """A running fake Stripe API on 127.0.0.1. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        platform_country: str = "US",
        fee_bps: int = 340,
        fee_fixed: int = 0,
        enforce_balance: bool = True,
        charge_availability_seconds: int = 0,
        require_manual_payouts: bool = True,
        api_version: str | None = None,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
    ):
        self.api_key = api_key
        self.host = host
        self.port = port
        self.platform_country = platform_country
        self.fee_bps = fee_bps
        self.fee_fixed = fee_fixed
        self.enforce_balance = enforce_balance
        self.charge_availability_seconds = charge_availability_seconds
        self.require_manual_payouts = require_manual_payouts
        self.api_version = api_version or _sdk_api_version()
        self.clock = clock or time.time
        self._rng = random.Random(seed)  # noqa: S311 - ids, not secrets
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._tls = threading.local()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeStripe:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"stripe-fake:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes delayed (accept_then_timeout) answers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise FakeUsageError("FakeStripe is not started")
        return f"http://{self.host}:{self.port}"

    def client(self, *, timeout: float | None = None, max_network_retries: int = 0, **kwargs):
        """A real `stripe.StripeClient` pointed at this fake (imports stripe lazily)."""
        import stripe

        if timeout is not None:
            kwargs["http_client"] = stripe.RequestsClient(timeout=timeout)
        return stripe.StripeClient(
            kwargs.pop("api_key", self.api_key),
            base_addresses={"api": self.url, "connect": self.url, "files": self.url},
            max_network_retries=max_network_retries,
            **kwargs,
        )

    def reset(self) -> None:
        """Forget every object, event, idempotency key, fault and logged request."""
        with self._lock:
            self._objects: dict[str, dict] = {}
            self._owner: dict[str, str | None] = {}
            self._order: dict[str, int] = {}
            self._seq = 0
            self._line_items: dict[str, list[dict]] = {}
            self._pi_data: dict[str, dict] = {}
            self._idempotency: dict[tuple, dict] = {}
            self._faults: list[_Fault] = []
            self._events: list[dict] = []
            self.requests: list[dict] = []

    # -- control API: read ----------------------------------------------------------------

    def get(self, object_id: str) -> dict:
        """A copy of any stored object (session, charge, transfer, payout, txn, event...)."""
        with self._lock:
            if object_id not in self._objects:
                raise KeyError(object_id)
            return copy.deepcopy(self._objects[object_id])

    def objects(self, object_type: str, account: Any = ...) -> list[dict]:
        """Copies of stored objects of one `object` type, oldest first; optionally one owner
        (None = the platform, "acct_..." = a connected account)."""
        with self._lock:
            return [
                copy.deepcopy(o)
                for o in self._sorted(object_type, reverse=False)
                if account is ... or self._owner[o["id"]] == account
            ]

    def events(self, type: str | None = None) -> list[dict]:  # noqa: A002
        """Every event recorded so far, oldest first (optionally of one type)."""
        with self._lock:
            return [copy.deepcopy(e) for e in self._events if type is None or e["type"] == type]

    def balance(self, account: str | None = None) -> dict[str, int]:
        """Sum of `net` of the balance transactions of the platform (or an account)."""
        with self._lock:
            totals: dict[str, int] = {}
            for txn in self._sorted("balance_transaction", reverse=False):
                if self._owner[txn["id"]] == account:
                    totals[txn["currency"]] = totals.get(txn["currency"], 0) + txn["net"]
            return totals

    # -- control API: what the outside world does -------------------------------------------

    def complete_checkout(
        self,
        session_id: str,
        *,
        payment_method_type: str | None = None,
        customer_email: str | None = None,
        customer_name: str = "Test Customer",
    ) -> dict:
        """The customer paid: the session becomes complete/paid, a PaymentIntent, a Charge
        and a balance transaction exist. Returns the `checkout.session.completed` event."""
        with self._lock:
            session = self._require_object(session_id, "checkout.session")
            if session["status"] != "open":
                raise FakeUsageError(f"{session_id} is {session['status']}, not open")
            method = payment_method_type or session["payment_method_types"][0]
            if method not in session["payment_method_types"]:
                raise FakeUsageError(f"{method} is not among {session['payment_method_types']}")
            owner = self._owner[session_id]
            now = self._now()
            amount, currency = session["amount_total"], session["currency"]
            pi_data = self._pi_data.get(session_id, {})
            pi_id, ch_id, pm_id = self._id("pi_"), self._id("ch_"), self._id("pm_")
            fee = self._fee(amount)
            txn = self._ledger(
                owner,
                amount,
                currency,
                fee=fee,
                type="charge" if method in _CARD_LIKE else "payment",
                reporting_category="charge",
                source=ch_id,
                available_on=now + self.charge_availability_seconds,
                description=pi_data.get("description"),
            )
            email = customer_email or session["customer_email"] or "customer@example.com"
            charge = {
                "id": ch_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "application": None,
                "application_fee": None,
                "application_fee_amount": None,
                "balance_transaction": txn["id"],
                "billing_details": {"address": None, "email": email, "name": customer_name,
                                    "phone": None},
                "calculated_statement_descriptor": "ROADWISE",
                "captured": True,
                "created": now,
                "currency": currency,
                "customer": None,
                "description": pi_data.get("description"),
                "disputed": False,
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "fraud_details": {},
                "livemode": False,
                "metadata": dict(pi_data.get("metadata", {})),
                "on_behalf_of": None,
                "outcome": {"network_status": "approved_by_network", "reason": None,
                            "risk_level": "normal", "seller_message": "Payment complete.",
                            "type": "authorized"},
                "paid": True,
                "payment_intent": pi_id,
                "payment_method": pm_id,
                "payment_method_details": _payment_method_details(method),
                "receipt_email": None,
                "receipt_url": f"{self._base()}/receipts/{ch_id}",
                "refunded": False,
                "review": None,
                "source_transfer": None,
                "statement_descriptor": None,
                "status": "succeeded",
                "transfer": None,
                "transfer_data": None,
                "transfer_group": pi_data.get("transfer_group"),
            }  # fmt: skip
            intent = {
                "id": pi_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "application": None,
                "application_fee_amount": None,
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": "automatic_async",
                "client_secret": f"{pi_id}_secret_{self._rand(25)}",
                "confirmation_method": "automatic",
                "created": now,
                "currency": currency,
                "customer": None,
                "description": pi_data.get("description"),
                "last_payment_error": None,
                "latest_charge": ch_id,
                "livemode": False,
                "metadata": dict(pi_data.get("metadata", {})),
                "next_action": None,
                "on_behalf_of": None,
                "payment_method": pm_id,
                "payment_method_types": [method],
                "receipt_email": None,
                "setup_future_usage": None,
                "statement_descriptor": None,
                "status": "succeeded",
                "transfer_data": None,
                "transfer_group": pi_data.get("transfer_group"),
            }
            self._put(intent, owner)
            self._put(charge, owner)
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=pi_id,
                customer_details={"address": None, "email": email, "name": customer_name,
                                  "phone": None, "tax_exempt": "none", "tax_ids": []},
            )  # fmt: skip
            account = owner
            self._emit("charge.succeeded", charge, account)
            self._emit("payment_intent.succeeded", intent, account)
            return self._emit("checkout.session.completed", session, account)

    def expire_checkout(self, session_id: str) -> dict:
        """The session timed out unpaid. Returns the `checkout.session.expired` event."""
        with self._lock:
            session = self._require_object(session_id, "checkout.session")
            if session["status"] != "open":
                raise FakeUsageError(f"{session_id} is {session['status']}, not open")
            session["status"] = "expired"
            return self._emit("checkout.session.expired", session, self._owner[session_id])

    def onboard(self, account_id: str) -> dict:
        """The driver finished Express onboarding. Returns the `account.updated` event."""
        with self._lock:
            account = self._require_object(account_id, "account")
            previous = {
                "charges_enabled": account["charges_enabled"],
                "details_submitted": account["details_submitted"],
                "payouts_enabled": account["payouts_enabled"],
                "requirements": copy.deepcopy(account["requirements"]),
                "capabilities": copy.deepcopy(account["capabilities"]),
            }
            account.update(charges_enabled=True, details_submitted=True, payouts_enabled=True)
            account["requirements"] = _requirements([])
            account["future_requirements"] = _requirements([])
            account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
            account["tos_acceptance"]["date"] = self._now()
            if not account["external_accounts"]["data"]:
                account["external_accounts"]["data"].append(
                    self._bank_account(account_id, account["country"], account["default_currency"])
                )
                account["external_accounts"]["total_count"] = 1
            return self._emit("account.updated", account, account_id, previous)

    def require_more_information(self, account_id: str, currently_due: list[str]) -> dict:
        """Stripe asks the driver for more details: payouts are disabled until given."""
        with self._lock:
            account = self._require_object(account_id, "account")
            previous = {"payouts_enabled": account["payouts_enabled"],
                        "requirements": copy.deepcopy(account["requirements"])}  # fmt: skip
            account["payouts_enabled"] = False
            account["requirements"] = _requirements(currently_due, "requirements.past_due")
            return self._emit("account.updated", account, account_id, previous)

    def pay_out(
        self,
        account_id: str,
        payout_id: str,
        status: str = "paid",
        *,
        failure_code: str = "account_closed",
        failure_message: str = "The bank account has been closed.",
    ) -> dict:
        """Move a connected account's payout to in_transit / paid / failed (a paid payout may
        still fail: the bank returned it). Returns the `payout.updated` (in_transit),
        `payout.paid` or `payout.failed` event."""
        if status not in ("in_transit", "paid", "failed"):
            raise FakeUsageError(f"status must be in_transit, paid or failed, not {status!r}")
        with self._lock:
            payout = self._require_object(payout_id, "payout")
            if self._owner[payout_id] != account_id:
                raise FakeUsageError(f"{payout_id} does not belong to {account_id}")
            # Stripe: a paid payout can still fail when the bank returns it (days later).
            if payout["status"] in ("failed", "canceled") or (
                payout["status"] == "paid" and status != "failed"
            ):
                raise FakeUsageError(f"{payout_id} is already {payout['status']}")
            previous = {"status": payout["status"]}
            payout["status"] = status
            if status == "failed":
                txn = self._ledger(
                    account_id,
                    payout["amount"],
                    payout["currency"],
                    type="payout_failure",
                    reporting_category="payout_reversal",
                    source=payout_id,
                    description="Payout failure",
                )
                payout.update(
                    failure_code=failure_code,
                    failure_message=failure_message,
                    failure_balance_transaction=txn["id"],
                )
            event_type = {"in_transit": "payout.updated", "paid": "payout.paid"}.get(
                status, "payout.failed"
            )
            return self._emit(event_type, payout, account_id, previous)

    def dispute(self, charge_id: str, *, reason: str = "fraudulent", fee: int = 1500) -> dict:
        """The customer's bank disputes a charge: the amount (and a dispute fee) leave the
        platform's balance at once. Returns the `charge.dispute.created` event."""
        with self._lock:
            charge = self._require_object(charge_id, "charge")
            owner = self._owner[charge_id]
            dispute_id = self._id("dp_")
            txn = self._ledger(
                owner,
                -charge["amount"],
                charge["currency"],
                fee=fee,
                type="adjustment",
                reporting_category="dispute",
                source=dispute_id,
                description=f"Chargeback withdrawal for {charge_id}",
            )
            dispute = {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "balance_transactions": [copy.deepcopy(txn)],
                "charge": charge_id,
                "created": self._now(),
                "currency": charge["currency"],
                "livemode": False,
                "metadata": {},
                "payment_intent": charge.get("payment_intent"),
                "reason": reason,
                "status": "needs_response",
            }
            self._put(dispute, owner)
            charge["disputed"] = True
            return self._emit("charge.dispute.created", dispute, owner)

    def close_dispute(self, dispute_id: str, status: str) -> dict:
        """The bank decides: ``won`` (the amount comes back to the balance) or ``lost``.
        Returns the `charge.dispute.closed` event."""
        if status not in ("won", "lost"):
            raise FakeUsageError(f"status must be won or lost, not {status!r}")
        with self._lock:
            dispute = self._require_object(dispute_id, "dispute")
            if dispute["status"] in ("won", "lost"):
                raise FakeUsageError(f"{dispute_id} is already {dispute['status']}")
            previous = {"status": dispute["status"]}
            owner = self._owner[dispute_id]
            if status == "won":
                txn = self._ledger(
                    owner,
                    dispute["amount"],
                    dispute["currency"],
                    type="adjustment",
                    reporting_category="dispute_reversal",
                    source=dispute_id,
                    description=f"Chargeback reversal for {dispute['charge']}",
                )
                dispute["balance_transactions"].append(copy.deepcopy(txn))
            dispute["status"] = status
            return self._emit("charge.dispute.closed", dispute, owner, previous)

    def event(
        self,
        type: str,  # noqa: A002 - Stripe's field name
        obj: dict,
        account: str | None = None,
        *,
        previous_attributes: dict | None = None,
        record: bool = True,
    ) -> dict:
        """Build an Event around `obj` (e.g. for webhook tests of event types the fake never
        emits). Recorded, and retrievable through GET /v1/events/{id}, unless record=False."""
        with self._lock:
            return self._emit(type, obj, account, previous_attributes, record=record)

    def plant_balance_transaction(
        self,
        amount: int,
        currency: str = "cny",
        *,
        type: str = "adjustment",  # noqa: A002
        reporting_category: str | None = None,
        account: str | None = None,
        fee: int = 0,
        source: str | None = None,
        created: int | None = None,
        description: str | None = "Planted by a test",
    ) -> dict:
        """Add a stray balance transaction (e.g. for reconciliation tests, or to fund the
        platform balance before transfers)."""
        with self._lock:
            txn = self._ledger(
                account,
                amount,
                currency.lower(),
                fee=fee,
                type=type,
                reporting_category=reporting_category or _default_category(type),
                source=source,
                description=description,
                created=created,
            )
            return copy.deepcopy(txn)

    # -- control API: faults -----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 500,
        times: int = 1,
        *,
        replay: bool = False,
        should_retry: bool | None = None,
        error: dict | None = None,
    ) -> None:
        """The next `times` matching requests fail with `status` without doing anything.

        replay=True models a failure *during* execution: like Stripe, the error is saved under
        the request's Idempotency-Key and replayed to retries with that key (and sent with
        `Stripe-Should-Retry: false`). `should_retry` sets the Stripe-Should-Retry header."""
        with self._lock:
            self._faults.append(
                _Fault(method.upper(), path_prefix, times, "fail", status=status, replay=replay,
                       should_retry=should_retry, error=error)
            )  # fmt: skip

    def forget_idempotency_keys(self) -> None:
        """Stripe prunes idempotency keys after 24 hours: a request repeated later with the
        same key runs afresh (and may make a second object)."""
        with self._lock:
            self._idempotency.clear()

    def accept_then_timeout(
        self, method: str, path_prefix: str, seconds: float, times: int = 1
    ) -> None:
        """The next `times` matching requests are performed (objects created, idempotency key
        saved) but answered only after `seconds`, so a client with a shorter timeout sees a
        timeout although Stripe accepted the request."""
        with self._lock:
            self._faults.append(_Fault(method.upper(), path_prefix, times, "slow", seconds=seconds))

    # -- HTTP entry point --------------------------------------------------------------------

    def _handle_http(self, method: str, raw_path: str, headers, body: bytes) -> _Response:
        parts = urlsplit(raw_path)
        path = parts.path
        if path.startswith("/c/pay/"):
            with self._lock:
                return self._pay_page(method, path, body)
        request_id = "req_" + self._rand(14)
        base_headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": headers.get("Stripe-Version") or self.api_version,
        }
        try:
            params = decode_form(parse_qsl(parts.query, keep_blank_values=True))
            if method == "POST" and body:
                params.update(decode_form(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
        except StripeFakeError as exc:
            return self._json(exc.status, exc.body(), base_headers)
        account = headers.get("Stripe-Account") or None
        idem_key = headers.get("Idempotency-Key") if method in ("POST", "DELETE") else None
        log = {
            "method": method,
            "path": path,
            "params": params,
            "idempotency_key": idem_key,
            "stripe_account": account,
            "stripe_version": headers.get("Stripe-Version"),
            "status": None,
            "replayed": False,
        }
        with self._lock:
            self.requests.append(log)
            response = self._handle_locked(method, path, params, headers, base_headers, log)
            log["status"] = response.status
            return response

    def _handle_locked(self, method, path, params, headers, base_headers, log) -> _Response:
        auth_error = self._check_auth(headers.get("Authorization"))
        if auth_error is not None:
            return self._json(401, auth_error.body(), base_headers)
        account = log["stripe_account"]
        idem_key = log["idempotency_key"]
        ctx = _Ctx(method, path, account, headers.get("Stripe-Version"),
                   base_headers["Request-Id"], idem_key)  # fmt: skip

        slow = 0.0
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.kind == "slow":
                    slow = fault.seconds
                    break
                return self._fault_response(fault, ctx, params, base_headers)

        scope = (self.api_key, account, idem_key)
        if idem_key is not None:
            if len(idem_key) > 255:
                err = _param_error("Idempotency-Key must be at most 255 characters long.")
                return self._json(400, err.body(), base_headers)
            saved = self._idempotency.get(scope)
            if saved is not None:
                response = self._replay(saved, method, path, params, idem_key, base_headers)
                log["replayed"] = response.headers.get("Idempotent-Replayed") == "true"
                response.delay = slow
                return response

        try:
            handler, path_args = self._route(method, path)
            if account is not None and not path.startswith("/v1/events"):
                self._check_connected(account)
            self._tls.ctx = ctx
            status, payload = 200, handler(ctx, params, **path_args)
            payload = self._expand(payload, params.get("expand"))
            store = True
            extra = {}
        except StripeFakeError as exc:
            status, payload, store, extra = exc.status, exc.body(), exc.store, exc.headers
        finally:
            self._tls.ctx = None
        body = json.dumps(payload, indent=2, sort_keys=False).encode()
        response_headers = {**base_headers, **extra}
        if idem_key is not None:
            response_headers["Idempotency-Key"] = idem_key
            if store:
                self._idempotency[scope] = {
                    "method": method,
                    "path": path,
                    "params": params,
                    "status": status,
                    "body": body,
                    "headers": extra,
                    "request_id": base_headers["Request-Id"],
                }
        return _Response(status, body, response_headers, delay=slow)

    def _fault_response(self, fault: _Fault, ctx: _Ctx, params, base_headers) -> _Response:
        if fault.error is not None:
            error = fault.error
        elif fault.status == 429:
            error = {"type": "invalid_request_error", "code": "rate_limit",
                     "message": "Request rate limit exceeded. (stripe_fake fault)"}  # fmt: skip
        elif fault.status == 409:
            error = {
                "type": "invalid_request_error",
                "code": "lock_timeout",
                "message": "This object cannot be accessed right now because another API "
                "request or Stripe process is currently accessing it. (stripe_fake fault)",
            }
        else:
            error = {"type": "api_error",
                     "message": "An unknown error occurred (stripe_fake fault)."}  # fmt: skip
        extra = {}
        should_retry = fault.should_retry
        if fault.replay and should_retry is None:
            should_retry = False
        if should_retry is not None:
            extra["Stripe-Should-Retry"] = "true" if should_retry else "false"
        body = json.dumps({"error": error}, indent=2).encode()
        if fault.replay and ctx.idempotency_key is not None:
            self._idempotency[(self.api_key, ctx.account, ctx.idempotency_key)] = {
                "method": ctx.method,
                "path": ctx.path,
                "params": params,
                "status": fault.status,
                "body": body,
                "headers": extra,
                "request_id": ctx.request_id,
            }
        return _Response(fault.status, body, {**base_headers, **extra})

    def _replay(self, saved, method, path, params, key, base_headers) -> _Response:
        if saved["method"] != method or saved["path"] != path:
            err = StripeFakeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved['path']}' vs '{path}'). Try using a key other than "
                f"'{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
            return self._json(400, err.body(), base_headers)
        if saved["params"] != params:
            err = StripeFakeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
            return self._json(400, err.body(), base_headers)
        headers = {
            **base_headers,
            **saved["headers"],
            "Idempotency-Key": key,
            "Idempotent-Replayed": "true",
            "Original-Request": saved["request_id"],
        }
        return _Response(saved["status"], saved["body"], headers)

    def _check_auth(self, header: str | None) -> StripeFakeError | None:
        key = None
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer":
                key = value.strip()
            elif scheme.lower() == "basic":
                import base64

                try:
                    key = base64.b64decode(value).decode().split(":", 1)[0]
                except ValueError:
                    key = None
        if not key:
            return StripeFakeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        if key != self.api_key:
            masked = key[:8] + "*" * max(len(key) - 12, 4) + key[-4:]
            return StripeFakeError(401, f"Invalid API Key provided: {masked}")
        return None

    def _check_connected(self, account: str) -> None:
        if self._objects.get(account, {}).get("object") != "account":
            raise StripeFakeError(
                403,
                f"The provided key '{self._masked_key()}' does not have access to account "
                f"'{account}' (or that account does not exist). Application access may have "
                "been revoked.",
                type="invalid_request_error",
                code="account_invalid",
                store=False,
            )

    def _masked_key(self) -> str:
        return self.api_key[:8] + "*" * 4 + self.api_key[-4:]

    def _json(self, status: int, payload: dict, headers: dict) -> _Response:
        return _Response(status, json.dumps(payload, indent=2).encode(), dict(headers))

    # -- routing -------------------------------------------------------------------------------

    def _build_routes(self):
        table = [
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions", self._list_sessions),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", self._retrieve("checkout.session",
                                                                            "checkout session")),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)/line_items", self._list_line_items),
            ("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire", self._expire_session),
            ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", self._retrieve("payment_intent")),
            ("GET", r"/v1/charges", self._list_simple("charge", ("payment_intent",))),
            ("GET", r"/v1/charges/(?P<id>[^/]+)", self._retrieve("charge")),
            ("POST", r"/v1/refunds", self._create_refund),
            ("GET", r"/v1/refunds", self._list_simple("refund", ("charge", "payment_intent"))),
            ("GET", r"/v1/refunds/(?P<id>[^/]+)", self._retrieve("refund")),
            ("POST", r"/v1/accounts", self._create_account),
            ("GET", r"/v1/accounts", self._list_simple("account", ())),
            ("GET", r"/v1/accounts/(?P<id>[^/]+)", self._retrieve("account")),
            ("POST", r"/v1/accounts/(?P<id>[^/]+)", self._update_account),
            ("POST", r"/v1/accounts/(?P<id>[^/]+)/login_links", self._create_login_link),
            ("POST", r"/v1/account_links", self._create_account_link),
            ("POST", r"/v1/transfers", self._create_transfer),
            ("GET", r"/v1/transfers", self._list_simple("transfer",
                                                        ("destination", "transfer_group"))),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)", self._retrieve("transfer")),
            ("POST", r"/v1/transfers/(?P<id>[^/]+)/reversals", self._create_reversal),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)/reversals", self._list_reversals),
            ("POST", r"/v1/payouts", self._create_payout),
            ("GET", r"/v1/payouts", self._list_simple("payout", ("status",))),
            ("GET", r"/v1/payouts/(?P<id>[^/]+)", self._retrieve("payout")),
            ("GET", r"/v1/disputes/(?P<id>[^/]+)", self._retrieve("dispute")),
            ("GET", r"/v1/balance", self._get_balance),
            ("GET", r"/v1/balance_transactions", self._list_balance_transactions),
            ("GET", r"/v1/balance_transactions/(?P<id>[^/]+)", self._retrieve(
                "balance_transaction")),
            ("GET", r"/v1/events", self._list_events),
            ("GET", r"/v1/events/(?P<id>[^/]+)", self._retrieve_event),
        ]  # fmt: skip
        return [(m, re.compile(f"^{p}$"), h) for m, p, h in table]

    def _route(self, method: str, path: str):
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        raise StripeFakeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            store=False,
        )

    # -- storage -------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _rand(self, n: int) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(n))

    def _id(self, prefix: str, n: int = 24) -> str:
        while True:
            candidate = prefix + self._rand(n)
            if candidate not in self._objects:
                return candidate

    def _put(self, obj: dict, owner: str | None) -> dict:
        self._seq += 1
        self._objects[obj["id"]] = obj
        self._owner[obj["id"]] = owner
        self._order[obj["id"]] = self._seq
        return obj

    def _sorted(self, object_type: str, *, reverse: bool = True) -> list[dict]:
        items = [o for o in self._objects.values() if o.get("object") == object_type]
        items.sort(key=lambda o: (o["created"], self._order[o["id"]]), reverse=reverse)
        return items

    def _require_object(self, object_id: str, object_type: str) -> dict:
        obj = self._objects.get(object_id)
        if obj is None or obj.get("object") != object_type:
            raise FakeUsageError(f"no {object_type} {object_id!r}")
        return obj

    def _lookup(self, ctx: _Ctx, object_id: str, object_type: str, kind: str | None = None,
                param: str | None = None, *, store: bool = True) -> dict:  # fmt: skip
        obj = self._objects.get(object_id)
        if (
            obj is None
            or obj.get("object") != object_type
            or self._owner[object_id] != (ctx.account if object_type != "account" else None)
        ):
            raise _no_such(kind or object_type, object_id, param, store=store)
        return obj

    def _retrieve(self, object_type: str, kind: str | None = None):
        def handler(ctx: _Ctx, params: dict, id: str):  # noqa: A002
            _check_known(params, set())
            obj = self._lookup(ctx, id, object_type, kind, "id", store=False)
            if object_type == "balance_transaction":
                return _with_status(obj, self._now())
            return obj

        return handler

    def _fee(self, amount: int) -> int:
        return (amount * self.fee_bps + 5000) // 10000 + self.fee_fixed

    def _ledger(
        self,
        owner: str | None,
        amount: int,
        currency: str,
        *,
        type: str,  # noqa: A002
        reporting_category: str,
        source: str | None,
        fee: int = 0,
        description: str | None = None,
        available_on: int | None = None,
        created: int | None = None,
    ) -> dict:
        now = self._now() if created is None else created
        txn = {
            "id": self._id("txn_"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": now if available_on is None else available_on,
            "balance_type": "payments",
            "created": now,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": (
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": currency,
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),  # fmt: skip
            "net": amount - fee,
            "reporting_category": reporting_category,
            "source": source,
            "status": "available",
            "type": type,
        }
        return self._put(txn, owner)

    def _available(self, owner: str | None, currency: str) -> int:
        now = self._now()
        return sum(
            t["net"]
            for t in self._objects.values()
            if t.get("object") == "balance_transaction"
            and self._owner[t["id"]] == owner
            and t["currency"] == currency
            and (t["available_on"] <= now or t["net"] < 0)
        )

    def _emit(self, type, obj, account=None, previous=None, *, record=True) -> dict:  # noqa: A002
        event = {
            "id": self._id("evt_"),
            "object": "event",
            "api_version": self.api_version,
            "created": self._now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        if account is not None:
            event["account"] = account
        if previous:
            event["data"]["previous_attributes"] = copy.deepcopy(previous)
        if record:
            current = getattr(self._tls, "ctx", None)
            if current is not None:
                event["request"] = {"id": current.request_id,
                                    "idempotency_key": current.idempotency_key}  # fmt: skip
            self._events.append(event)
            self._objects[event["id"]] = event
            self._owner[event["id"]] = account
            self._seq += 1
            self._order[event["id"]] = self._seq
        return copy.deepcopy(event)

    # -- lists -----------------------------------------------------------------------------

    def _page(self, items: list[dict], params: dict, url: str, kind: str) -> dict:
        """Stripe cursor pagination over `items` (already newest first)."""
        limit = _int(params, "limit", minimum=1)
        limit = 10 if limit is None else limit
        if limit > 100:
            raise _param_error(
                "Invalid limit: must be between 1 and 100", "limit", "parameter_invalid_integer"
            )
        ids = [item["id"] for item in items]
        after = _str(params, "starting_after")
        before = _str(params, "ending_before")
        if after is not None:
            if after not in ids and after not in self._objects:
                raise _no_such(kind, after, "starting_after", store=False)
            rest = items[ids.index(after) + 1 :] if after in ids else []
            page, has_more = rest[:limit], len(rest) > limit
        elif before is not None:
            if before not in ids and before not in self._objects:
                raise _no_such(kind, before, "ending_before", store=False)
            head = items[: ids.index(before)] if before in ids else []
            page, has_more = head[-limit:], len(head) > limit
        else:
            page, has_more = items[:limit], len(items) > limit
        return {"object": "list", "data": page, "has_more": has_more, "url": url}

    def _filter_created(self, items: list[dict], params: dict) -> list[dict]:
        created = params.get("created")
        if created is None:
            return items
        if isinstance(created, str):
            exact = _int(params, "created")
            return [i for i in items if i["created"] == exact]
        if not isinstance(created, dict):
            raise _param_error("Invalid created", "created")
        _check_known(created, {"gt", "gte", "lt", "lte"}, "created")
        bounds = {op: _int(created, op, label=f"created[{op}]") for op in created}
        tests = {
            "gt": lambda v, b: v > b,
            "gte": lambda v, b: v >= b,
            "lt": lambda v, b: v < b,
            "lte": lambda v, b: v <= b,
        }
        return [
            i
            for i in items
            if all(b is None or tests[op](i["created"], b) for op, b in bounds.items())
        ]

    def _owned(self, ctx: _Ctx, object_type: str) -> list[dict]:
        return [o for o in self._sorted(object_type) if self._owner[o["id"]] == ctx.account]

    def _list_simple(self, object_type: str, filters: tuple[str, ...]):
        url = {
            "charge": "/v1/charges",
            "refund": "/v1/refunds",
            "account": "/v1/accounts",
            "transfer": "/v1/transfers",
            "payout": "/v1/payouts",
        }[object_type]

        def handler(ctx: _Ctx, params: dict):
            allowed = {"limit", "starting_after", "ending_before", "created", *filters}
            _check_known(params, allowed)
            if object_type == "account":
                items = list(self._sorted("account"))
            else:
                items = self._owned(ctx, object_type)
            for name in filters:
                value = _str(params, name)
                if value is not None:
                    items = [i for i in items if i.get(name) == value]
            return self._page(self._filter_created(items, params), params, url, object_type)

        return handler

    # -- checkout ----------------------------------------------------------------------------

    _SESSION_PARAMS = frozenset(
        "line_items mode payment_method_types success_url cancel_url client_reference_id "
        "metadata customer_email customer customer_creation payment_intent_data "
        "payment_method_options expires_at locale submit_type ui_mode return_url "
        "allow_promotion_codes billing_address_collection phone_number_collection currency "
        "custom_text consent_collection invoice_creation after_expiration "
        "redirect_on_completion automatic_tax".split()
    )

    def _create_session(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, self._SESSION_PARAMS)
        mode = _str(params, "mode", required=True, choices={"payment", "setup", "subscription"})
        if mode != "payment":
            raise _not_modelled(f"Checkout mode={mode}")
        ui_mode = _str(params, "ui_mode", choices={"hosted", "hosted_page"}) or "hosted"
        success_url = _url(params, "success_url")
        cancel_url = _url(params, "cancel_url")
        raw_items = params.get("line_items")
        if not raw_items:
            raise _missing("line_items")
        if not isinstance(raw_items, list):
            raise _param_error("Invalid array", "line_items")
        items, currency = [], None
        for index, raw in enumerate(raw_items):
            label = f"line_items[{index}]"
            if not isinstance(raw, dict):
                raise _param_error("Invalid object", label)
            _check_known(raw, {"price", "price_data", "quantity", "adjustable_quantity",
                               "tax_rates", "dynamic_tax_rates"}, label)  # fmt: skip
            if "price" in raw:
                raise _not_modelled("line_items[].price (use price_data)")
            price_data = raw.get("price_data")
            if not isinstance(price_data, dict):
                raise _param_error(
                    f"You must specify either `price` or `price_data` in {label}.", label
                )
            pd_label = f"{label}[price_data]"
            _check_known(price_data, {"currency", "unit_amount", "unit_amount_decimal",
                                      "product_data", "product", "tax_behavior", "recurring"},
                         pd_label)  # fmt: skip
            if "recurring" in price_data:
                raise _param_error(
                    "You specified `payment` mode but passed a recurring price. Either switch "
                    "to `subscription` mode or use only one-time prices.", pd_label
                )  # fmt: skip
            item_currency = _currency(price_data, label=f"{pd_label}[currency]")
            unit_amount = _int(price_data, "unit_amount", required=True, minimum=0,
                               label=f"{pd_label}[unit_amount]")  # fmt: skip
            product_data = price_data.get("product_data")
            if not isinstance(product_data, dict):
                if "product" in price_data:
                    raise _not_modelled("price_data[product] (use product_data)")
                raise _missing(f"{pd_label}[product_data]")
            _check_known(product_data, {"name", "description", "images", "metadata",
                                        "tax_code", "unit_label"},
                         f"{pd_label}[product_data]")  # fmt: skip
            name = _str(product_data, "name", required=True,
                        label=f"{pd_label}[product_data][name]")  # fmt: skip
            quantity = _int(raw, "quantity", required=True, minimum=1, label=f"{label}[quantity]")
            if currency is None:
                currency = item_currency
            elif item_currency != currency:
                raise _param_error(
                    "All line items must use the same currency.", f"{pd_label}[currency]"
                )
            items.append((name, product_data.get("description"), unit_amount, quantity,
                          item_currency, _metadata(product_data)))  # fmt: skip
        method_types = params.get("payment_method_types") or ["card"]
        if not isinstance(method_types, list):
            raise _param_error("Invalid array", "payment_method_types")
        for index, method in enumerate(method_types):
            if method not in _PAYMENT_METHOD_TYPES:
                raise _param_error(
                    f"Invalid payment_method_types[{index}]: must be one of "
                    f"{', '.join(sorted(_PAYMENT_METHOD_TYPES))}",
                    f"payment_method_types[{index}]",
                    "parameter_invalid",
                )
        options = params.get("payment_method_options") or {}
        if not isinstance(options, dict):
            raise _param_error("Invalid object", "payment_method_options")
        if "wechat_pay" in method_types:
            client = (options.get("wechat_pay") or {}).get("client")
            if client not in ("web", "ios", "android"):
                raise _param_error(
                    "payment_method_options[wechat_pay][client] is required when "
                    "payment_method_types includes wechat_pay (use 'web' for Checkout).",
                    "payment_method_options[wechat_pay][client]",
                    "parameter_missing",
                )
        pi_data = params.get("payment_intent_data") or {}
        if not isinstance(pi_data, dict):
            raise _param_error("Invalid object", "payment_intent_data")
        _check_known(pi_data, {"metadata", "description", "transfer_group", "capture_method",
                               "receipt_email", "statement_descriptor",
                               "statement_descriptor_suffix", "setup_future_usage",
                               "on_behalf_of", "transfer_data", "application_fee_amount"},
                     "payment_intent_data")  # fmt: skip
        for unsupported in ("transfer_data", "on_behalf_of", "application_fee_amount"):
            if unsupported in pi_data:
                raise _not_modelled(f"payment_intent_data[{unsupported}] (destination charges)")
        if pi_data.get("capture_method") not in (None, "automatic", "automatic_async"):
            raise _not_modelled("manual capture")
        customer_email = _str(params, "customer_email")
        if params.get("customer"):
            raise _not_modelled("Customer objects (use customer_email)")
        client_reference_id = _str(params, "client_reference_id")
        if client_reference_id is not None and len(client_reference_id) > 200:
            raise _param_error("client_reference_id must be at most 200 characters.",
                               "client_reference_id")  # fmt: skip
        metadata = _metadata(params)
        now = self._now()
        expires_at = _int(params, "expires_at")
        if expires_at is None:
            expires_at = now + 24 * 3600
        elif not now + 30 * 60 <= expires_at <= now + 24 * 3600:
            raise _param_error(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.", "expires_at"
            )  # fmt: skip
        session_id = self._id("cs_test_a1", 56)
        line_items = []
        for name, description, unit_amount, quantity, item_currency, product_meta in items:
            product_id, price_id = self._id("prod_", 14), self._id("price_")
            line_items.append({
                "id": self._id("li_"),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": unit_amount * quantity,
                "amount_tax": 0,
                "amount_total": unit_amount * quantity,
                "currency": item_currency,
                "description": name,
                "price": {
                    "id": price_id, "object": "price", "active": False,
                    "billing_scheme": "per_unit", "created": now, "currency": item_currency,
                    "livemode": False, "lookup_key": None, "metadata": {}, "nickname": None,
                    "product": product_id, "recurring": None, "tax_behavior": "unspecified",
                    "type": "one_time", "unit_amount": unit_amount,
                    "unit_amount_decimal": str(unit_amount),
                },
                "quantity": quantity,
            })  # fmt: skip
            del description, product_meta
        total = sum(item["amount_total"] for item in line_items)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "client_secret": None,
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": (
                {
                    "address": None,
                    "email": customer_email,
                    "name": None,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": None,
                }
                if customer_email
                else None
            ),  # fmt: skip
            "customer_email": customer_email,
            "expires_at": expires_at,
            "invoice": None,
            "livemode": False,
            "locale": _str(params, "locale"),
            "metadata": metadata,
            "mode": mode,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_options": copy.deepcopy(options),
            "payment_method_types": list(method_types),
            "payment_status": "unpaid",
            "return_url": None,
            "setup_intent": None,
            "status": "open",
            "submit_type": _str(params, "submit_type"),
            "subscription": None,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": ui_mode,
            "url": f"{self._base()}/c/pay/{session_id}",
        }
        self._put(session, ctx.account)
        self._line_items[session_id] = line_items
        self._pi_data[session_id] = {
            "metadata": _metadata(pi_data),
            "description": _str(pi_data, "description"),
            "transfer_group": _str(pi_data, "transfer_group"),
        }
        return session

    def _list_sessions(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"limit", "starting_after", "ending_before", "created",
                              "payment_intent", "status", "customer_details"})  # fmt: skip
        items = self._owned(ctx, "checkout.session")
        for name in ("payment_intent", "status"):
            value = _str(params, name)
            if value is not None:
                items = [i for i in items if i[name] == value]
        items = self._filter_created(items, params)
        return self._page(items, params, "/v1/checkout/sessions", "checkout session")

    def _list_line_items(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, {"limit", "starting_after", "ending_before"})
        self._lookup(ctx, id, "checkout.session", "checkout session", store=False)
        items = list(self._line_items.get(id, []))
        # Line items keep their given order (oldest first), unlike most lists.
        return self._page(items, params, f"/v1/checkout/sessions/{id}/line_items", "line item")

    def _expire_session(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, set())
        session = self._lookup(ctx, id, "checkout.session", "checkout session", store=False)
        if session["status"] != "open":
            raise _param_error(
                f"Only Checkout Sessions with a status of `open` can be expired. This Checkout "
                f"Session has a status of `{session['status']}`."
            )
        session["status"] = "expired"
        self._emit("checkout.session.expired", session, ctx.account)
        return session

    def _pay_page(self, method: str, path: str, body: bytes) -> _Response:
        """A stand-in for checkout.stripe.com: GET shows a page, POST pays, /cancel leaves."""
        match = re.match(r"^/c/pay/([^/]+)(/cancel)?$", path)
        session = self._objects.get(match.group(1)) if match else None
        if session is None or session.get("object") != "checkout.session":
            return _Response(404, b"No such checkout session", {"Content-Type": "text/plain"})
        session_id = session["id"]
        if match.group(2):
            target = session["cancel_url"] or "about:blank"
            return _Response(303, b"", {"Location": target})
        if method == "POST":
            form = dict(parse_qsl(body.decode("utf-8")))
            if session["status"] == "open":
                self.complete_checkout(session_id, payment_method_type=form.get("method"))
            target = (session["success_url"] or "about:blank").replace(
                "{CHECKOUT_SESSION_ID}", quote(session_id)
            )
            return _Response(303, b"", {"Location": target})
        buttons = "".join(
            f'<button name="method" value="{html.escape(m)}">Pay with {html.escape(m)}</button>'
            for m in session["payment_method_types"]
        )
        page = (
            f"<!doctype html><title>Fake Stripe Checkout</title>"
            f"<h1>{_money(session['amount_total'], session['currency'])}</h1>"
            f"<p>Session {html.escape(session_id)} is {html.escape(session['status'])}</p>"
            f'<form method="post">{buttons}</form>'
            f'<a href="/c/pay/{quote(session_id)}/cancel">Cancel</a>'
        )
        return _Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    # -- refunds -----------------------------------------------------------------------------

    def _create_refund(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"payment_intent", "charge", "amount", "reason", "metadata",
                              "instructions_email", "refund_application_fee",
                              "reverse_transfer"})  # fmt: skip
        pi_id, ch_id = _str(params, "payment_intent"), _str(params, "charge")
        amount = _int(params, "amount", minimum=1)
        reason = _str(params, "reason", choices={"duplicate", "fraudulent",
                                                 "requested_by_customer"})  # fmt: skip
        metadata = _metadata(params)
        if pi_id is None and ch_id is None:
            raise _param_error(
                "One of the following params should be provided for this request: "
                "payment_intent or charge."
            )
        if pi_id is not None:
            intent = self._lookup(ctx, pi_id, "payment_intent", param="payment_intent",
                                  store=False)  # fmt: skip
            if intent["latest_charge"] is None:
                raise _param_error(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    "payment_intent",
                )
            if ch_id is not None and ch_id != intent["latest_charge"]:
                raise _param_error(f"Charge {ch_id} does not belong to {pi_id}.", "charge")
            ch_id = intent["latest_charge"]
        charge = self._lookup(ctx, ch_id, "charge", param="charge", store=False)
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeFakeError(
                400,
                f"Charge {ch_id} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeFakeError(
                400,
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded "
                f"amount on charge ({_money(remaining, charge['currency'])})",
                param="amount",
                code="amount_too_large",
            )
        method = charge["payment_method_details"]["type"]
        refund_id = self._id("re_")
        txn = self._ledger(
            ctx.account,
            -amount,
            charge["currency"],
            type="refund" if method in _CARD_LIKE else "payment_refund",
            reporting_category="refund",
            source=refund_id,
            description="REFUND FOR CHARGE",
        )
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn["id"],
            "charge": ch_id,
            "created": self._now(),
            "currency": charge["currency"],
            "destination_details": {"type": method, method: {}},
            "failure_balance_transaction": None,
            "failure_reason": None,
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._put(refund, ctx.account)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("refund.created", refund, ctx.account)
        self._emit("charge.refunded", charge, ctx.account,
                   {"amount_refunded": charge["amount_refunded"] - amount})  # fmt: skip
        return refund

    # -- connect accounts ----------------------------------------------------------------------

    _ACCOUNT_PARAMS = frozenset(
        "type controller country email capabilities metadata business_type business_profile "
        "default_currency settings tos_acceptance individual company external_account".split()
    )

    def _create_account(self, ctx: _Ctx, params: dict) -> dict:
        if ctx.account is not None:
            raise _param_error("You cannot create connected accounts with the Stripe-Account "
                               "header.")  # fmt: skip
        _check_known(params, self._ACCOUNT_PARAMS)
        account_type = _str(params, "type", choices={"express", "standard", "custom"})
        if account_type is None and "controller" not in params:
            raise _missing("type")
        if account_type in ("standard", "custom") or (account_type is None):
            raise _not_modelled(f"{account_type or 'controller-defined'} accounts (use express)")
        country = (_str(params, "country") or self.platform_country).upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise _param_error(f"Invalid country: {country}", "country")
        capabilities = params.get("capabilities") or {}
        if not isinstance(capabilities, dict):
            raise _param_error("Invalid object", "capabilities")
        requested = []
        for name, value in capabilities.items():
            if not isinstance(value, dict):
                raise _param_error("Invalid object", f"capabilities[{name}]")
            _check_known(value, {"requested"}, f"capabilities[{name}]")
            if _bool(value, "requested", f"capabilities[{name}][requested]"):
                requested.append(name)
        if not requested:
            raise _param_error(
                "You must request at least one capability (for example "
                "`capabilities[transfers][requested]=true`) when creating an Express account.",
                "capabilities",
            )
        tos = params.get("tos_acceptance") or {}
        if not isinstance(tos, dict):
            raise _param_error("Invalid object", "tos_acceptance")
        agreement = _str(tos, "service_agreement", choices={"full", "recipient"},
                         label="tos_acceptance[service_agreement]") or "full"  # fmt: skip
        if agreement == "recipient" and "card_payments" in requested:
            raise _param_error(
                "The `card_payments` capability cannot be requested for accounts under the "
                "`recipient` service agreement.", "capabilities[card_payments]"
            )  # fmt: skip
        settings = params.get("settings") or {}
        interval = self._payout_interval(settings)
        account_id = self._id("acct_", 16)
        default_currency = _currency(params, "default_currency", required=False) or (
            _COUNTRY_CURRENCY.get(country, "usd")
        )
        account = {
            "id": account_id,
            "object": "account",
            "business_profile": {"mcc": None, "name": None, "product_description": None,
                                 "support_email": None, "url": None},
            "business_type": _str(params, "business_type",
                                  choices={"individual", "company", "non_profit",
                                           "government_entity"}),
            "capabilities": dict.fromkeys(requested, "inactive"),
            "charges_enabled": False,
            "controller": {"fees": {"payer": "application"}, "is_controller": True,
                           "losses": {"payments": "application"},
                           "requirement_collection": "stripe",
                           "stripe_dashboard": {"type": "express"}, "type": "application"},
            "country": country,
            "created": self._now(),
            "default_currency": default_currency,
            "details_submitted": False,
            "email": _str(params, "email"),
            "external_accounts": {"object": "list", "data": [], "has_more": False,
                                  "total_count": 0,
                                  "url": f"/v1/accounts/{account_id}/external_accounts"},
            "future_requirements": _requirements([]),
            "metadata": _metadata(params),
            "payouts_enabled": False,
            "requirements": _requirements(list(_EXPRESS_REQUIREMENTS), "requirements.past_due"),
            "settings": {"payouts": {"debit_negative_balances": True,
                                     "schedule": {"delay_days": 2, "interval": interval},
                                     "statement_descriptor": None}},
            "tos_acceptance": {"date": None, "service_agreement": agreement},
            "type": "express",
        }  # fmt: skip
        self._put(account, None)
        return account

    def _payout_interval(self, settings: Any, default: str = "daily") -> str:
        if not settings:
            return default
        if not isinstance(settings, dict):
            raise _param_error("Invalid object", "settings")
        payouts = settings.get("payouts") or {}
        schedule = payouts.get("schedule") or {} if isinstance(payouts, dict) else {}
        if not isinstance(schedule, dict):
            raise _param_error("Invalid object", "settings[payouts][schedule]")
        return _str(schedule, "interval", choices={"manual", "daily", "weekly", "monthly"},
                    label="settings[payouts][schedule][interval]") or default  # fmt: skip

    def _update_account(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, {"email", "metadata", "settings", "business_profile",
                              "capabilities"})  # fmt: skip
        account = self._lookup(ctx, id, "account", param="account", store=False)
        previous: dict[str, Any] = {}
        if "email" in params:
            previous["email"] = account["email"]
            account["email"] = _str(params, "email")
        if "metadata" in params:
            previous["metadata"] = dict(account["metadata"])
            raw = params["metadata"] if isinstance(params["metadata"], dict) else {}
            merged = {**account["metadata"], **raw}
            account["metadata"] = {k: v for k, v in merged.items() if v != ""}
        if "settings" in params:
            schedule = account["settings"]["payouts"]["schedule"]
            previous["settings"] = copy.deepcopy(account["settings"])
            schedule["interval"] = self._payout_interval(params["settings"], schedule["interval"])
        if previous:
            self._emit("account.updated", account, id, previous)
        return account

    def _create_account_link(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"account", "refresh_url", "return_url", "type", "collect",
                              "collection_options"})  # fmt: skip
        account_id = _str(params, "account", required=True)
        refresh_url = _url(params, "refresh_url", required=True)
        return_url = _url(params, "return_url", required=True)
        _str(params, "type", required=True, choices={"account_onboarding", "account_update"})
        self._lookup(ctx, account_id, "account", param="account", store=False)
        del refresh_url, return_url
        now = self._now()
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self._base()}/setup/e/{account_id}/{self._rand(12)}",
        }

    def _create_login_link(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, set())
        account = self._lookup(ctx, id, "account", param="account", store=False)
        if not account["details_submitted"]:
            raise _param_error(
                "Cannot create a login link for an account that has not completed onboarding.",
                "account",
            )
        return {"object": "login_link", "created": self._now(),
                "url": f"{self._base()}/express/{id}/{self._rand(12)}"}  # fmt: skip

    # -- transfers ---------------------------------------------------------------------------

    def _create_transfer(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"amount", "currency", "destination", "transfer_group", "metadata",
                              "description", "source_transaction", "source_type"})  # fmt: skip
        amount = _int(params, "amount", required=True, minimum=1)
        currency = _currency(params)
        destination_id = _str(params, "destination", required=True)
        metadata = _metadata(params)
        description = _str(params, "description")
        transfer_group = _str(params, "transfer_group")
        source_transaction = _str(params, "source_transaction")
        destination = self._objects.get(destination_id)
        if destination is None or destination.get("object") != "account":
            raise _no_such("destination", destination_id, "destination", store=False)
        if (
            destination["capabilities"].get("transfers") != "active"
            and destination["capabilities"].get("crypto_transfers") != "active"
        ):
            raise StripeFakeError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                param="destination",
                code="insufficient_capabilities_for_transfer",
            )
        if (
            destination["country"] != self.platform_country
            and destination["tos_acceptance"]["service_agreement"] == "full"
            and not (
                destination["country"] in _FULL_AGREEMENT_ZONE
                and self.platform_country in _FULL_AGREEMENT_ZONE
            )
        ):
            raise StripeFakeError(
                400,
                f"Funds can't be sent to accounts located in {destination['country']} when the "
                "account is under the `full` service agreement. To learn more, see "
                "https://stripe.com/docs/connect/service-agreement-types.",
                param="destination",
                code="transfers_not_allowed",
            )
        if source_transaction is not None:
            charge = self._lookup(ctx, source_transaction, "charge", param="source_transaction",
                                  store=False)  # fmt: skip
            if charge["currency"] != currency:
                raise _param_error(
                    "The currency of source_transaction's balance transaction must be the same "
                    "as the transfer currency.", "currency"
                )  # fmt: skip
            if amount > charge["amount"] - charge["amount_refunded"]:
                raise StripeFakeError(
                    400, "Transfer amount exceeds source_transaction's remaining amount.",
                    param="amount", code="amount_too_large"
                )  # fmt: skip
        elif self.enforce_balance and self._available(ctx.account, currency) < amount:
            raise StripeFakeError(
                400,
                "You have insufficient available funds in your Stripe account. Try adding funds "
                "directly to your available balance by creating Charges using the "
                "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                code="balance_insufficient",
            )
        transfer_id = self._id("tr_")
        payment_id = self._id("py_")
        now = self._now()
        txn = self._ledger(ctx.account, -amount, currency, type="transfer",
                           reporting_category="transfer", source=transfer_id,
                           description=description)  # fmt: skip
        dest_txn = self._ledger(destination_id, amount, currency, type="payment",
                                reporting_category="charge", source=payment_id)  # fmt: skip
        payment = {
            "id": payment_id, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "balance_transaction": dest_txn["id"], "captured": True,
            "created": now, "currency": currency, "description": None, "livemode": False,
            "metadata": {}, "paid": True, "payment_intent": None,
            "payment_method_details": {"type": "stripe_account", "stripe_account": {}},
            "refunded": False, "source_transfer": transfer_id, "status": "succeeded",
            "transfer_group": transfer_group,
        }  # fmt: skip
        self._put(payment, destination_id)
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": txn["id"],
            "created": now,
            "currency": currency,
            "description": description,
            "destination": destination_id,
            "destination_payment": payment_id,
            "livemode": False,
            "metadata": metadata,
            "reversals": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                          "url": f"/v1/transfers/{transfer_id}/reversals"},
            "reversed": False,
            "source_transaction": source_transaction,
            "source_type": "card",
            "transfer_group": transfer_group,
        }  # fmt: skip
        self._put(transfer, ctx.account)
        self._emit("transfer.created", transfer, ctx.account)
        return transfer

    def _create_reversal(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, {"amount", "description", "metadata", "refund_application_fee"})
        transfer = self._lookup(ctx, id, "transfer", param="id", store=False)
        amount = _int(params, "amount", minimum=1)
        metadata = _metadata(params)
        remaining = transfer["amount"] - transfer["amount_reversed"]
        if remaining <= 0:
            raise StripeFakeError(
                400, f"Transfer {id} has already been fully reversed.",
                code="transfer_already_reversed"
            )  # fmt: skip
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeFakeError(
                400,
                f"Transfer reversal amount ({_money(amount, transfer['currency'])}) is greater "
                f"than the amount not yet reversed ({_money(remaining, transfer['currency'])}).",
                param="amount",
                code="amount_too_large",
            )
        reversal_id = self._id("trr_")
        refund_id = self._id("pyr_")
        txn = self._ledger(ctx.account, amount, transfer["currency"], type="transfer_refund",
                           reporting_category="transfer_reversal", source=reversal_id)  # fmt: skip
        self._ledger(transfer["destination"], -amount, transfer["currency"],
                     type="payment_refund", reporting_category="refund",
                     source=refund_id)  # fmt: skip
        payment = self._objects.get(transfer["destination_payment"])
        if payment is not None:
            payment["amount_refunded"] += amount
            payment["refunded"] = payment["amount_refunded"] == payment["amount"]
        reversal = {
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": txn["id"],
            "created": self._now(),
            "currency": transfer["currency"],
            "destination_payment_refund": refund_id,
            "metadata": metadata,
            "source_refund": None,
            "transfer": id,
        }
        self._put(reversal, ctx.account)
        previous = {"amount_reversed": transfer["amount_reversed"],
                    "reversed": transfer["reversed"]}  # fmt: skip
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        transfer["reversals"]["total_count"] += 1
        self._emit("transfer.reversed", transfer, ctx.account, previous)
        return reversal

    def _list_reversals(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, {"limit", "starting_after", "ending_before"})
        transfer = self._lookup(ctx, id, "transfer", param="id", store=False)
        items = list(transfer["reversals"]["data"])
        return self._page(items, params, f"/v1/transfers/{id}/reversals", "transfer reversal")

    # -- payouts -----------------------------------------------------------------------------

    def _create_payout(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"amount", "currency", "description", "metadata", "method",
                              "statement_descriptor", "destination", "source_type"})  # fmt: skip
        amount = _int(params, "amount", required=True, minimum=1)
        currency = _currency(params)
        method = _str(params, "method", choices={"standard", "instant"}) or "standard"
        metadata = _metadata(params)
        if ctx.account is None:
            raise _not_modelled("payouts of the platform's own balance (send Stripe-Account)")
        account = self._objects[ctx.account]
        if not account["payouts_enabled"]:
            raise StripeFakeError(
                400,
                "Payouts are not enabled on this account: it has requirements that are "
                "currently due.",
                code="payouts_not_allowed",
            )
        if (
            self.require_manual_payouts
            and account["settings"]["payouts"]["schedule"]["interval"] != "manual"
        ):
            raise StripeFakeError(
                400,
                "You cannot create payouts on an account with an automatic payout schedule; set "
                "settings[payouts][schedule][interval]=manual (stripe_fake models this rule).",
                code="payouts_not_allowed",
            )
        if self._available(ctx.account, currency) < amount:
            raise StripeFakeError(
                400,
                "You have insufficient funds in your Stripe account for this payout.",
                code="balance_insufficient",
            )
        payout_id = self._id("po_")
        now = self._now()
        txn = self._ledger(ctx.account, -amount, currency, type="payout",
                           reporting_category="payout", source=payout_id,
                           description=_str(params, "description"))  # fmt: skip
        bank = (
            account["external_accounts"]["data"][0]["id"]
            if account["external_accounts"]["data"]
            else None
        )
        payout = {
            "id": payout_id,
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": now + 2 * 86400,
            "automatic": False,
            "balance_transaction": txn["id"],
            "created": now,
            "currency": currency,
            "description": _str(params, "description"),
            "destination": bank,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": metadata,
            "method": method,
            "original_payout": None,
            "reconciliation_status": "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": _str(params, "statement_descriptor"),
            "status": "pending",
            "trace_id": None,
            "type": "bank_account",
        }
        self._put(payout, ctx.account)
        self._emit("payout.created", payout, ctx.account)
        return payout

    # -- balance -----------------------------------------------------------------------------

    def _get_balance(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, set())
        now = self._now()
        available: dict[str, int] = {}
        pending: dict[str, int] = {}
        for txn in self._owned(ctx, "balance_transaction"):
            bucket = available if txn["available_on"] <= now or txn["net"] < 0 else pending
            bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + txn["net"]
        currencies = sorted(set(available) | set(pending)) or [
            _COUNTRY_CURRENCY.get(self.platform_country, "usd")
        ]
        return {
            "object": "balance",
            "available": [{"amount": available.get(c, 0), "currency": c,
                           "source_types": {"card": available.get(c, 0)}} for c in currencies],
            "livemode": False,
            "pending": [{"amount": pending.get(c, 0), "currency": c,
                         "source_types": {"card": pending.get(c, 0)}} for c in currencies],
        }  # fmt: skip

    def _list_balance_transactions(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"limit", "starting_after", "ending_before", "created", "currency",
                              "type", "source", "payout"})  # fmt: skip
        if "payout" in params:
            raise _not_modelled("balance_transactions?payout= (automatic payouts)")
        items = self._owned(ctx, "balance_transaction")
        for name in ("currency", "type", "source"):
            value = _str(params, name)
            if value is not None:
                items = [i for i in items if i[name] == value]
        page = self._page(self._filter_created(items, params), params,
                          "/v1/balance_transactions", "balance_transaction")  # fmt: skip
        now = self._now()
        page["data"] = [_with_status(t, now) for t in page["data"]]
        return page

    # -- events --------------------------------------------------------------------------------

    def _list_events(self, ctx: _Ctx, params: dict) -> dict:
        _check_known(params, {"limit", "starting_after", "ending_before", "created", "type",
                              "types", "delivery_success"})  # fmt: skip
        items = list(reversed(self._events))
        if ctx.account is not None:
            items = [e for e in items if e.get("account") == ctx.account]
        event_type = _str(params, "type")
        if event_type is not None:
            pattern = re.compile("^" + re.escape(event_type).replace(r"\*", ".*") + "$")
            items = [e for e in items if pattern.match(e["type"])]
        types = params.get("types")
        if types:
            items = [e for e in items if e["type"] in types]
        return self._page(self._filter_created(items, params), params, "/v1/events", "event")

    def _retrieve_event(self, ctx: _Ctx, params: dict, id: str) -> dict:  # noqa: A002
        _check_known(params, set())
        event = self._objects.get(id)
        if event is None or event.get("object") != "event":
            raise _no_such("event", id, "id", store=False)
        if ctx.account is not None and event.get("account") != ctx.account:
            raise _no_such("event", id, "id", store=False)
        return event

    # -- expand --------------------------------------------------------------------------------

    def _expand(self, payload: dict, expand: Any) -> dict:
        payload = copy.deepcopy(payload)
        if not expand:
            return payload
        paths = expand if isinstance(expand, list) else [expand]
        for path in paths:
            if not isinstance(path, str):
                raise _param_error("Invalid array", "expand")
            self._expand_path(payload, path.split("."), path)
        return payload

    def _expand_path(self, node: Any, parts: list[str], full: str) -> None:
        if not parts or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if head == "data" and node.get("object") == "list":
            for item in node["data"]:
                self._expand_path(item, rest, full)
            return
        if head == "line_items" and node.get("object") == "checkout.session":
            items = copy.deepcopy(self._line_items.get(node["id"], []))
            node["line_items"] = {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/checkout/sessions/{node['id']}/line_items",
            }
            self._expand_path(node["line_items"], rest, full)
            return
        if head not in node:
            raise _param_error(
                f"This property cannot be expanded ({full}).", "expand", "parameter_invalid"
            )
        value = node[head]
        if isinstance(value, str):
            target = self._objects.get(value)
            if target is None:
                raise _param_error(
                    f"This property cannot be expanded ({full}).", "expand", "parameter_invalid"
                )
            node[head] = value = copy.deepcopy(target)
        self._expand_path(value, rest, full)

    def _bank_account(self, account_id: str, country: str, currency: str) -> dict:
        return {
            "id": self._id("ba_"),
            "object": "bank_account",
            "account": account_id,
            "bank_name": "STRIPE TEST BANK",
            "country": country,
            "currency": currency,
            "default_for_currency": True,
            "last4": "6789",
            "status": "new",
        }


# ---------------------------------------------------------------------------- helpers


def _sdk_api_version() -> str:
    try:
        from stripe._api_version import _ApiVersion

        return _ApiVersion.CURRENT
    except Exception:  # noqa: BLE001 - the fake must not need the SDK
        return FALLBACK_API_VERSION


def _requirements(currently_due: list[str], disabled_reason: str | None = None) -> dict:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(currently_due),
        "disabled_reason": disabled_reason if currently_due else None,
        "errors": [],
        "eventually_due": list(currently_due),
        "past_due": list(currently_due),
        "pending_verification": [],
    }


def _payment_method_details(method: str) -> dict:
    if method == "card":
        detail = {"brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2034,
                  "funding": "credit", "last4": "4242", "network": "visa"}  # fmt: skip
    elif method == "wechat_pay":
        detail = {"fingerprint": None, "transaction_id": "4200000000000000000000000000"}
    elif method == "alipay":
        detail = {"buyer_id": "2088000000000000", "fingerprint": None,
                  "transaction_id": "2026000000000000000000000000"}  # fmt: skip
    else:
        detail = {}
    return {"type": method, method: detail}


def _default_category(txn_type: str) -> str:
    return {
        "charge": "charge",
        "payment": "charge",
        "refund": "refund",
        "payment_refund": "refund",
        "transfer": "transfer",
        "transfer_refund": "transfer_reversal",
        "payout": "payout",
        "payout_failure": "payout_reversal",
        "stripe_fee": "fee",
    }.get(txn_type, "other_adjustment")


def _with_status(txn: dict, now: int) -> dict:
    txn = dict(txn)
    txn["status"] = "available" if txn["available_on"] <= now else "pending"
    return txn
