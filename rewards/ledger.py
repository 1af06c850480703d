"""The ledger's verbs and reads: open accounts, post and reverse transactions, balances.

Nothing else writes ledger rows. The sign convention is in `rewards.models.ledger`; PostgreSQL
enforces append-only and balanced transactions as a second line (migration 0001_ledger).
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import Organization, User
from rewards.models import Account, Entry, Transaction

IDEMPOTENCY_KEY_MAX_LENGTH = 200

# Floors of the accounts the helpers open. A platform spends only what it deposited (an
# operator may lower the floor to give it credit); a driver is paid out only what is owed.
DEFAULT_FLOORS = {
    Account.Kind.PLATFORM_FUNDING: 0,
    Account.Kind.DRIVER_PAYABLE: 0,
    Account.Kind.PAYOUTS_IN_TRANSIT: 0,
}


class LedgerError(Exception):
    """A posting the ledger refuses; nothing was written."""


class InvalidLeg(LedgerError):
    """A leg (or the transaction's shape) is not something the ledger can hold."""


class UnbalancedTransaction(LedgerError):
    """The legs do not sum to zero in some currency."""


class InsufficientFunds(LedgerError):
    """An account would go below its floor."""

    def __init__(self, message: str, *, account: Account, shortfall_fen: int):
        super().__init__(message)
        self.account = account
        self.shortfall_fen = shortfall_fen


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used for a different transaction."""


class ReversalRefused(LedgerError):
    """The transaction is a reversal itself, or has been reversed already."""


def yuan(fen: int) -> str:
    """12345 → "123.45", 123456789 → "1,234,567.89", -5 → "-0.05": integer arithmetic, never a
    float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


# --- accounts ------------------------------------------------------------------------------


def _account_code(*, kind: str, currency: str, organization, user) -> str:
    if kind == Account.Kind.PLATFORM_FUNDING:
        return f"platform:{organization.public_id}:funding:{currency}"
    if kind == Account.Kind.DRIVER_PAYABLE:
        return f"driver:{user.public_id}:payable:{currency}"
    return {
        Account.Kind.PAYOUTS_IN_TRANSIT: f"system:payouts-in-transit:{currency}",
        Account.Kind.FEES: f"system:fees:{currency}",
        Account.Kind.EXTERNAL: f"system:external:{currency}",
    }[kind]


def account_get_or_create(
    *,
    kind: str,
    currency: str = "CNY",
    organization: Organization | None = None,
    user: User | None = None,
    floor_fen: int | None = None,
) -> Account:
    """The account of that kind, currency and owner, opened the first time it is asked for.

    Codes are stable (public ids, not names), so a concurrent first call meets the unique code
    and returns the winner's account. `floor_fen` applies only when the account is opened.
    """
    kind = Account.Kind(kind)
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        raise InvalidLeg(
            _("“%(currency)s” is not a three-letter ISO currency code.") % {"currency": currency}
        )
    if (organization is not None) != (kind == Account.Kind.PLATFORM_FUNDING):
        raise InvalidLeg(_("Only a platform funding account belongs to an organisation."))
    if (user is not None) != (kind == Account.Kind.DRIVER_PAYABLE):
        raise InvalidLeg(_("Only a driver payable account belongs to a user."))
    if floor_fen is not None and (type(floor_fen) is not int):
        raise InvalidLeg(_("A floor is a whole number of fen."))
    code = _account_code(kind=kind, currency=currency, organization=organization, user=user)
    existing = Account.objects.filter(code=code).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Account.objects.create(
                code=code,
                kind=kind,
                currency=currency,
                organization=organization,
                user=user,
                floor_fen=floor_fen,
            )
    except IntegrityError:
        return Account.objects.get(code=code)


def platform_funding_account(organization: Organization, currency: str = "CNY") -> Account:
    if organization.kind != Organization.Kind.PLATFORM:
        raise InvalidLeg(_("Only a ride-hailing platform funds rewards."))
    return account_get_or_create(
        kind=Account.Kind.PLATFORM_FUNDING,
        currency=currency,
        organization=organization,
        floor_fen=DEFAULT_FLOORS[Account.Kind.PLATFORM_FUNDING],
    )


def driver_payable_account(user: User, currency: str = "CNY") -> Account:
    return account_get_or_create(
        kind=Account.Kind.DRIVER_PAYABLE,
        currency=currency,
        user=user,
        floor_fen=DEFAULT_FLOORS[Account.Kind.DRIVER_PAYABLE],
    )


def external_account(currency: str = "CNY") -> Account:
    return account_get_or_create(kind=Account.Kind.EXTERNAL, currency=currency)


def fees_account(currency: str = "CNY") -> Account:
    return account_get_or_create(kind=Account.Kind.FEES, currency=currency)


def payouts_in_transit_account(currency: str = "CNY") -> Account:
    return account_get_or_create(
        kind=Account.Kind.PAYOUTS_IN_TRANSIT,
        currency=currency,
        floor_fen=DEFAULT_FLOORS[Account.Kind.PAYOUTS_IN_TRANSIT],
    )


# --- posting -------------------------------------------------------------------------------


def _validate(*, idempotency_key, kind, legs, reverses) -> None:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise InvalidLeg(_("A transaction needs an idempotency key."))
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidLeg(
            _("An idempotency key has at most %(max)d characters.")
            % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}
        )
    if kind not in Transaction.Kind.values:
        raise InvalidLeg(_("“%(kind)s” is not a kind of ledger transaction.") % {"kind": kind})
    if (kind == Transaction.Kind.REVERSAL) != (reverses is not None):
        raise InvalidLeg(_("A reversal, and only a reversal, names the transaction it reverses."))
    if len(legs) < 2:
        raise InvalidLeg(_("A transaction has at least two legs."))
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if not (isinstance(leg, tuple | list) and len(leg) == 2):
            raise InvalidLeg(_("A leg is a pair (account, amount in fen)."))
        account, amount = leg
        if not isinstance(account, Account) or account.pk is None:
            raise InvalidLeg(_("A leg's account must be a saved ledger account."))
        # bool is an int to Python, and a float is never money here.
        if type(amount) is not int:
            raise InvalidLeg(
                _("Amounts are whole numbers of fen, not %(type)s (leg on %(account)s).")
                % {"type": type(amount).__name__, "account": account.code}
            )
        if amount == 0:
            raise InvalidLeg(_("A leg of zero fen on %(account)s.") % {"account": account.code})
        totals[account.currency] += amount
    for currency, total in sorted(totals.items()):
        if total != 0:
            raise UnbalancedTransaction(
                _("The legs in %(currency)s sum to %(total)d fen, not zero.")
                % {"currency": currency, "total": total}
            )


def _same_legs(existing: Transaction, legs) -> bool:
    stored = Counter(_stored_legs(existing))
    return stored == Counter((account.pk, amount) for account, amount in legs)


def _existing(*, idempotency_key, kind, legs, reverses) -> Transaction | None:
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if (
        existing.kind != kind
        or existing.reverses_id != (reverses.pk if reverses is not None else None)
        or not _same_legs(existing, legs)
    ):
        raise IdempotencyConflict(
            _("The idempotency key %(key)s was already used for a different transaction.")
            % {"key": idempotency_key}
        )
    return existing


def _lock_floored_debits(legs) -> tuple[list[Account], dict[int, int]]:
    """Lock every floored account this transaction takes money from, in pk order (so that two
    postings never wait on each other crosswise). Returns them, and each account's net amount.
    The portable path only: PostgreSQL posts through ``rewards_ledger_post``."""
    net: dict[int, int] = defaultdict(int)
    for account, amount in legs:
        net[account.pk] += amount
    debited = [pk for pk, amount in net.items() if amount < 0]
    if not debited:
        return [], net
    # FOR NO KEY UPDATE: it serialises postings on the account, yet lets a concurrent posting
    # insert an entry that merely references it (the FK check takes FOR KEY SHARE). A plain
    # FOR UPDATE deadlocks a reward (platform → driver) against a reversal (driver → platform).
    locked = list(
        Account.objects.select_for_update(no_key=True)
        .filter(pk__in=debited, floor_fen__isnull=False)
        .order_by("pk")
    )
    return locked, net


def _check_floors(locked: list[Account], net: dict[int, int]) -> None:
    # The locked rows were read under the lock: their maintained balances are current.
    for account in locked:
        after = account.balance_fen + net[account.pk]
        if after < account.floor_fen:
            raise _insufficient(
                account, account.balance_fen, account.floor_fen - after, account.floor_fen
            )


def _insufficient(account: Account, held: int, shortfall: int, floor: int) -> InsufficientFunds:
    return InsufficientFunds(
        _(
            "%(account)s holds %(balance)d fen; this transaction would take it "
            "%(shortfall)d fen below its floor of %(floor)d fen."
        )
        % {
            "account": account.code,
            "balance": held,
            "shortfall": shortfall,
            "floor": floor,
        },
        account=account,
        shortfall_fen=shortfall,
    )


def post_transaction(
    *,
    idempotency_key: str,
    kind: str,
    legs: list[tuple[Account, int]],
    description: str = "",
    created_by: User | None = None,
    metadata: dict | None = None,
    reverses: Transaction | None = None,
) -> Transaction:
    """Post a balanced transaction, or return the one already posted under the same key.

    Refuses (raising a `LedgerError`, writing nothing) a malformed or unbalanced transaction,
    one that takes a floored account below its floor, and a key reused for other legs.

    On PostgreSQL the posting is one call of ``rewards_ledger_post`` (migrations 0006, 0007);
    elsewhere (SQLite) the portable path below does the same checks in Python.
    """
    legs = list(legs or [])
    _validate(idempotency_key=idempotency_key, kind=kind, legs=legs, reverses=reverses)
    legs = [tuple(leg) for leg in legs]
    if connection.vendor == "postgresql":
        return _post_on_postgresql(
            idempotency_key=idempotency_key,
            kind=kind,
            legs=legs,
            description=description,
            created_by=created_by,
            metadata=metadata,
            reverses=reverses,
        )
    stored = dict(
        Account.objects.filter(pk__in={account.pk for account, _amount in legs}).values_list(
            "pk", "currency"
        )
    )
    for account, _amount in legs:
        if stored.get(account.pk) != account.currency:
            raise InvalidLeg(
                _("The leg's currency is not that of account %(account)s.")
                % {"account": account.code}
            )
    existing = _existing(idempotency_key=idempotency_key, kind=kind, legs=legs, reverses=reverses)
    if existing is not None:
        return existing
    if reverses is not None:
        _check_reversal(reverses, legs)
    try:
        with transaction.atomic():
            locked, net = _lock_floored_debits(legs)
            if locked:
                # While this waited for the locks, a concurrent posting may have committed the
                # same key or reversed the same original: that answer comes before the floors.
                existing = _existing(
                    idempotency_key=idempotency_key, kind=kind, legs=legs, reverses=reverses
                )
                if existing is not None:
                    return existing
                _refuse_second_reversal(reverses)
            _check_floors(locked, net)
            posted = Transaction.objects.create(
                idempotency_key=idempotency_key,
                kind=kind,
                description=description,
                posted_at=timezone.now(),
                reverses=reverses,
                created_by=created_by,
                metadata=metadata or {},
            )
            Entry.objects.bulk_create(
                Entry(
                    transaction=posted,
                    account=account,
                    amount_fen=amount,
                    currency=account.currency,
                    posted_at=posted.posted_at,
                )
                for account, amount in legs
            )
            return posted
    except IntegrityError:
        # A concurrent posting won: the same key (return it) or the same original reversed.
        existing = _existing(
            idempotency_key=idempotency_key, kind=kind, legs=legs, reverses=reverses
        )
        if existing is not None:
            return existing
        _refuse_second_reversal(reverses)
        raise


# SQLSTATEs raised by rewards_ledger_post (migration 0006).
_INSUFFICIENT, _CONFLICT, _WRONG_ACCOUNT, _SLICE_SHORT = "RW001", "RW002", "RW003", "RW004"


def _post_on_postgresql(
    *, idempotency_key, kind, legs, description, created_by, metadata, reverses
) -> Transaction:
    """The posting in one statement, ``rewards_ledger_post`` (migration 0006): the same checks
    as the portable path below, in one round trip (within a savepoint inside an outer
    transaction, so that a refusal leaves the caller's transaction usable)."""
    if reverses is not None:
        existing = _existing(
            idempotency_key=idempotency_key, kind=kind, legs=legs, reverses=reverses
        )
        if existing is not None:
            return existing
        _check_reversal(reverses, legs)
    posted_at = timezone.now()
    metadata = metadata or {}
    params = [
        idempotency_key,
        kind,
        description,
        json.dumps(metadata),
        created_by.pk if created_by is not None else None,
        reverses.pk if reverses is not None else None,
        posted_at,
        [account.pk for account, _amount in legs],
        [amount for _account, amount in legs],
        [account.currency for account, _amount in legs],
    ]
    sql = "SELECT * FROM rewards_ledger_post(%s, %s, %s, %s::jsonb, %s, %s, %s, %s::bigint[], %s::bigint[], %s::text[], %s)"  # noqa: E501
    try:
        try:
            posted_id, created = _call(sql, [*params, False])
        except DatabaseError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != _SLICE_SHORT:
                raise
            # The slice of the platform's funding this posting took holds too little: again,
            # taking every slice and spreading the money (migration 0007).
            posted_id, created = _call(sql, [*params, True])
    except IntegrityError:
        # Another constraint than the key's: the original reversed meanwhile.
        _refuse_second_reversal(reverses)
        raise
    except DatabaseError as exc:
        raise _ledger_error(exc, idempotency_key=idempotency_key, legs=legs) from exc
    if not created:
        return Transaction.objects.get(pk=posted_id)
    return Transaction.from_db(
        connection.alias,
        ["id", "idempotency_key", "kind", "description", "posted_at", "reverses_id"]
        + ["created_by_id", "metadata"],
        [
            posted_id,
            idempotency_key,
            kind,
            description,
            posted_at,
            reverses.pk if reverses is not None else None,
            created_by.pk if created_by is not None else None,
            metadata,
        ],
    )


def _call(sql: str, params: list) -> tuple[int, bool]:
    if connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _ledger_error(exc: DatabaseError, *, idempotency_key, legs) -> Exception:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None)
    detail = getattr(getattr(cause, "diag", None), "message_detail", None) or ""
    by_pk = {account.pk: account for account, _amount in legs}
    if state == _INSUFFICIENT:
        account_id, held, shortfall, floor = (int(x) for x in detail.split())
        return _insufficient(by_pk[account_id], held, shortfall, floor)
    if state == _CONFLICT:
        return IdempotencyConflict(
            _("The idempotency key %(key)s was already used for a different transaction.")
            % {"key": idempotency_key}
        )
    if state == _WRONG_ACCOUNT:
        account = by_pk.get(int(detail)) if detail else None
        return InvalidLeg(
            _("The leg's currency is not that of account %(account)s.")
            % {"account": account.code if account is not None else "?"}
        )
    return exc


def _check_reversal(original: Transaction, legs) -> None:
    if original.pk is None or not Transaction.objects.filter(pk=original.pk).exists():
        raise InvalidLeg(_("A reversal reverses a posted transaction."))
    if original.reverses_id is not None:
        raise ReversalRefused(
            _("Transaction %(key)s is a reversal; it cannot be reversed.")
            % {"key": original.idempotency_key}
        )
    _refuse_second_reversal(original)
    negated = Counter((account_id, -amount) for account_id, amount in _stored_legs(original))
    if negated != Counter((account.pk, amount) for account, amount in legs):
        raise InvalidLeg(
            _("A reversal's legs are those of %(key)s, negated.")
            % {"key": original.idempotency_key}
        )


def _stored_legs(posted: Transaction) -> list[tuple[int, int]]:
    return list(posted.entries.values_list("account_id", "amount_fen"))


def _refuse_second_reversal(original: Transaction | None) -> None:
    if original is not None and Transaction.objects.filter(reverses=original).exists():
        raise ReversalRefused(
            _("Transaction %(key)s has been reversed already.") % {"key": original.idempotency_key}
        )


def reverse_transaction(
    *,
    original: Transaction,
    idempotency_key: str,
    description: str,
    created_by: User | None = None,
) -> Transaction:
    """Post the original's legs negated. A transaction is reversed at most once, and a reversal
    is never reversed (post a new transaction instead); the same key again returns the same
    reversal.

    Floors apply to a reversal too: a reversal restores an earlier state, but the platform or
    driver may have spent the money since, and no account goes below its floor silently. Taking
    back money that is gone is for an operator to decide (lower the floor, or an adjustment).
    """
    legs = [
        (entry.account, -entry.amount_fen)
        for entry in original.entries.select_related("account").order_by("pk")
    ]
    return post_transaction(
        idempotency_key=idempotency_key,
        kind=Transaction.Kind.REVERSAL,
        legs=legs,
        description=description,
        created_by=created_by,
        metadata={"reverses": original.idempotency_key},
        reverses=original,
    )


# --- reads ---------------------------------------------------------------------------------


def balance(account: Account, *, at: datetime | None = None) -> int:
    """The account's balance in fen, now or just after the moment `at`."""
    entries = Entry.objects.filter(account=account)
    if at is not None:
        entries = entries.filter(posted_at__lte=at)
    return entries.aggregate(total=Sum("amount_fen"))["total"] or 0


def balances(accounts: Iterable[Account], at: datetime | None = None) -> dict[int, int]:
    """Balances of several accounts in one query, by account id (zero for no entries)."""
    ids = [account.pk for account in accounts]
    entries = Entry.objects.filter(account_id__in=ids)
    if at is not None:
        entries = entries.filter(posted_at__lte=at)
    totals = dict(
        entries.values("account_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("account_id", "total")
        .order_by()
    )
    return {pk: totals.get(pk, 0) for pk in ids}


def check_invariants(currency: str | None = None) -> list[str]:
    """What is wrong with the ledger, for tests and operators: an empty list when all is well."""
    problems: list[str] = []
    entries = Entry.objects.all()
    transactions = Transaction.objects.all()
    accounts = Account.objects.all()
    if currency is not None:
        entries = entries.filter(currency=currency)
        transactions = transactions.filter(entries__currency=currency).distinct()
        accounts = accounts.filter(currency=currency)

    for row in (
        entries.values("transaction__idempotency_key", "currency")
        .annotate(total=Sum("amount_fen"))
        .exclude(total=0)
        .order_by("transaction__idempotency_key")
    ):
        problems.append(
            f"transaction {row['transaction__idempotency_key']} sums to {row['total']} "
            f"{row['currency']}"
        )
    for key in (
        Transaction.objects.filter(pk__in=transactions.values("pk"))
        .annotate(legs=Count("entries"))
        .filter(legs__lt=2)
        .values_list("idempotency_key", flat=True)
    ):
        problems.append(f"transaction {key} has fewer than two entries")
    for row in (
        entries.values("currency").annotate(total=Sum("amount_fen")).exclude(total=0).order_by()
    ):
        problems.append(f"the accounts in {row['currency']} sum to {row['total']}, not zero")
    for entry_id in entries.exclude(currency=F("account__currency")).values_list("pk", flat=True):
        problems.append(f"entry {entry_id} is not in its account's currency")
    for entry_id in entries.exclude(posted_at=F("transaction__posted_at")).values_list(
        "pk", flat=True
    ):
        problems.append(f"entry {entry_id} is not posted when its transaction is")
    for key in transactions.filter(reverses__reverses__isnull=False).values_list(
        "idempotency_key", flat=True
    ):
        problems.append(f"transaction {key} reverses a reversal")
    for key in transactions.filter(
        Q(kind=Transaction.Kind.REVERSAL, reverses__isnull=True)
        | (~Q(kind=Transaction.Kind.REVERSAL) & Q(reverses__isnull=False))
    ).values_list("idempotency_key", flat=True):
        problems.append(f"transaction {key} is a reversal without an original, or vice versa")
    kept_balance = F("balance_fen")
    if connection.vendor == "postgresql":  # and a platform's funding slices (migration 0007)
        kept_balance = F("balance_fen") + RawSQL(
            "SELECT COALESCE(SUM(s.balance_fen), 0) FROM rewards_account_slice s"
            " WHERE s.account_id = rewards_account.id",
            [],
            output_field=BigIntegerField(),
        )
    for code, kept, total in (
        accounts.annotate(
            total=Coalesce(
                Subquery(
                    Entry.objects.filter(account=OuterRef("pk"))
                    .order_by()
                    .values("account")
                    .annotate(total=Sum("amount_fen"))
                    .values("total")
                ),
                0,
            ),
            kept=kept_balance,
        )
        .exclude(kept=F("total"))
        .order_by("code")
        .values_list("code", "kept", "total")
    ):
        problems.append(f"account {code} keeps a balance of {kept}; its entries sum to {total}")
    floored = list(accounts.filter(floor_fen__isnull=False))
    current = balances(floored)
    for account in floored:
        if current[account.pk] < account.floor_fen:
            problems.append(
                f"account {account.code} holds {current[account.pk]}, below its floor "
                f"{account.floor_fen}"
            )
    return problems
