"""Reconciliation: the platform's Stripe balance against the ledger.

Every Stripe balance transaction of the platform account in the period is matched, by the
Stripe object that caused it (its ``source``), with the ledger transactions that record that
object; each side's amounts for one object are summed and compared:

    Stripe balance transaction       ledger transaction          found by
    charge, payment        ch_…  +X  sale or deposit             metadata stripe_charge
    refund, payment_refund re_…  −X  refund                      metadata stripe_refund
    adjustment (dispute)   dp_…  −X  refund (dispute lost)       metadata stripe_refund
    transfer               tr_…  −X  payout:…:sent               the payout's transfer
    transfer_refund        trr_… +X  payout:…:returned           the payout's reversal

A ledger transaction's Stripe amount is minus the sum of its legs on the `external` and
`payouts in transit` accounts: what entered or left the platform's Stripe balance. A settled
payout (in transit → external) moves money on the driver's connected account, not on the
platform's, and is not compared; neither is a payout that Stripe refused before any transfer
(its "sent" and "returned" cancel out and never reached Stripe).

Fees: the ledger holds the gross amounts customers paid; Stripe's fees are Roadwise's cost, not
the platform's or the driver's, and are not booked. The gross ``amount`` of each balance
transaction is compared, and the fees are totalled in the report. Balance transactions that are
outside the ledger by design (payouts of the platform's own balance to Roadwise's bank, Stripe's
separate fee charges) are counted but are not differences. Everything else in Stripe (an
adjustment, an open dispute, anything unknown) is a difference until an operator books or
explains it; a dispute that was won nets to zero in Stripe and is not a difference.

Differences: in Stripe but not in the ledger; in the ledger but not in Stripe; amounts (or
currencies) that differ. To keep the edges of the period quiet, both sides are read a day beyond
it, and an object is reported when something about it happened within the period.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from cms.payments import stripe_client
from rewards.models import Account, Payout, Transaction

SLACK = timedelta(days=1)
RECENT_DAYS = 2
# Leave the newest hour alone: webhooks and payout tasks may still be at work on it.
SETTLING = timedelta(hours=1)

IN_LEDGER_TYPES = frozenset(
    {
        "charge",
        "payment",
        "refund",
        "payment_refund",
        "payment_failure_refund",
        "transfer",
        "transfer_refund",
        "transfer_cancel",
        "transfer_failure",
    }
)
OUTSIDE_LEDGER_TYPES = frozenset(
    {
        "payout",
        "payout_cancel",
        "payout_failure",
        "payout_minimum_balance_hold",
        "payout_minimum_balance_release",
        "stripe_fee",
        "stripe_fx_fee",
        "tax_fee",
    }
)
BOUNDARY_KINDS = (Account.Kind.EXTERNAL, Account.Kind.PAYOUTS_IN_TRANSIT)

MISSING_IN_LEDGER = "in Stripe, not in the ledger"
MISSING_IN_STRIPE = "in the ledger, not in Stripe"
AMOUNT_MISMATCH = "amounts differ"


@dataclass(frozen=True)
class Item:
    source: str  # the Stripe object (ch_…, re_…, tr_…, trr_…), or a placeholder
    amount: int  # fen, signed as the platform's Stripe balance moves
    currency: str
    at: datetime
    ref: str  # the balance transaction's id, or the ledger key
    type: str  # the balance transaction's type, or the ledger kind
    fee: int = 0


@dataclass
class Difference:
    problem: str
    source: str
    currency: str
    stripe_amount: int | None
    ledger_amount: int | None
    stripe_refs: list[str]
    ledger_refs: list[str]
    at: datetime

    def as_line(self) -> str:
        return (
            f"{self.problem}: {self.source} Stripe {_money(self.stripe_amount, self.currency)} "
            f"({', '.join(self.stripe_refs) or '-'}) ledger "
            f"{_money(self.ledger_amount, self.currency)} ({', '.join(self.ledger_refs) or '-'})"
        )


@dataclass
class Report:
    since: datetime
    until: datetime
    matched: int = 0
    fees: dict[str, int] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)  # currency → net of those
    outside_count: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "matched": self.matched,
            "differences": len(self.differences),
            "fees": dict(self.fees),
        }


def _money(fen: int | None, currency: str) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}"


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def _id_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(getattr(value, "id", "") or "")


# --- the two sides -------------------------------------------------------------------------


def stripe_items(start: datetime, end: datetime) -> list[Item]:
    """The platform's balance transactions created in [start, end), every page."""
    listed = stripe_client().v1.balance_transactions.list(
        {"created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())}, "limit": 100}
    )
    items = []
    for txn in listed.auto_paging_iter():
        data = txn.to_dict()
        items.append(
            Item(
                source=_id_of(data.get("source")) or data["id"],
                amount=int(data["amount"]),
                currency=str(data["currency"]).upper(),
                at=_at(data["created"]),
                ref=data["id"],
                type=str(data.get("type") or ""),
                fee=int(data.get("fee") or 0),
            )
        )
    return items


def ledger_items(start: datetime, end: datetime) -> list[Item]:
    """Ledger transactions posted in [start, end) that record something done through Stripe,
    as what they should have moved on the platform's Stripe balance."""
    transactions = list(
        Transaction.objects.filter(posted_at__gte=start, posted_at__lt=end)
        .filter(
            Q(metadata__has_key="stripe_charge")
            | Q(metadata__has_key="stripe_refund")
            | Q(metadata__has_key="payout")
        )
        .prefetch_related("entries__account")
        .order_by("posted_at", "pk")
    )
    payout_ids = {
        (txn.metadata or {}).get("payout") for txn in transactions if "payout" in txn.metadata
    }
    payouts = {
        str(payout.public_id): payout
        for payout in Payout.objects.filter(public_id__in=[p for p in payout_ids if _uuid(p)])
    }
    items = []
    for txn in transactions:
        metadata = txn.metadata or {}
        entries = list(txn.entries.all())
        amount = -sum(e.amount_fen for e in entries if e.account.kind in BOUNDARY_KINDS)
        if amount == 0:
            continue  # a settled payout: the connected account's money, not the platform's
        if metadata.get("stripe_refund"):
            source = metadata["stripe_refund"]
        elif metadata.get("stripe_charge"):
            source = metadata["stripe_charge"]
        elif "payout" in metadata:
            payout = payouts.get(str(metadata.get("payout")))
            stage = metadata.get("stage")
            if payout is not None and payout.money_returned and not payout.transfer_id:
                continue  # refused before any transfer: sent and returned never reached Stripe
            if payout is None:
                source = ""
            elif stage == "returned":
                source = payout.transfer_reversal_id or metadata.get("stripe_transfer_reversal")
            else:
                source = payout.transfer_id
            source = source or f"(no Stripe object for {txn.idempotency_key})"
        else:
            source = f"(no Stripe object for {txn.idempotency_key})"
        items.append(
            Item(
                source=source,
                amount=amount,
                currency=entries[0].currency if entries else "",
                at=txn.posted_at,
                ref=txn.idempotency_key,
                type=txn.kind,
            )
        )
    return items


def _uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- matching ------------------------------------------------------------------------------


def reconcile(since: datetime, until: datetime | None = None) -> Report:
    """Compare Stripe and the ledger for [since, until) (until: now)."""
    until = until or timezone.now()
    report = Report(since=since, until=until)
    stripe_side: dict[str, list[Item]] = defaultdict(list)
    for item in stripe_items(since - SLACK, until + SLACK):
        if item.type in OUTSIDE_LEDGER_TYPES and item.type not in IN_LEDGER_TYPES:
            if since <= item.at < until:
                report.outside_count += 1
                report.outside[item.currency] = report.outside.get(item.currency, 0) + item.amount
            continue
        stripe_side[item.source].append(item)
    ledger_side: dict[str, list[Item]] = defaultdict(list)
    for item in ledger_items(since - SLACK, until + SLACK):
        ledger_side[item.source].append(item)

    for source in sorted(set(stripe_side) | set(ledger_side)):
        stripe_list, ledger_list = stripe_side.get(source, []), ledger_side.get(source, [])
        inside = [i for i in stripe_list + ledger_list if since <= i.at < until]
        if not inside:
            continue
        for item in stripe_list:
            if since <= item.at < until and item.fee:
                report.fees[item.currency] = report.fees.get(item.currency, 0) + item.fee
        currency = (stripe_list or ledger_list)[0].currency
        stripe_amount = sum(i.amount for i in stripe_list) if stripe_list else None
        ledger_amount = sum(i.amount for i in ledger_list) if ledger_list else None
        currencies = {i.currency for i in stripe_list + ledger_list}
        if not ledger_list and stripe_amount == 0:
            report.matched += 1  # e.g. a dispute won: withdrawn and given back, nothing to book
            continue
        if not ledger_list:
            problem = MISSING_IN_LEDGER
        elif not stripe_list:
            problem = MISSING_IN_STRIPE
        elif stripe_amount != ledger_amount or len(currencies) > 1:
            problem = AMOUNT_MISMATCH
        else:
            report.matched += 1
            continue
        report.differences.append(
            Difference(
                problem=problem,
                source=source,
                currency=currency,
                stripe_amount=stripe_amount,
                ledger_amount=ledger_amount,
                stripe_refs=[f"{i.ref} {i.type}" for i in stripe_list],
                ledger_refs=[i.ref for i in ledger_list],
                at=min(i.at for i in inside),
            )
        )
    report.differences.sort(key=lambda d: (d.at, d.source))
    return report


def reconcile_recent(now: datetime | None = None) -> Report:
    """The daily check: the last RECENT_DAYS days, up to an hour ago."""
    now = now or timezone.now()
    return reconcile(now - timedelta(days=RECENT_DAYS), now - SETTLING)
