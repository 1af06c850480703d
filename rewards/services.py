"""The verbs of platforms' service data: linking drivers (with their consent) and taking in
service events. The ledger's verbs are in ``rewards.ledger``."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from cms.models import Organization, User
from cms.phone import normalize_mobile
from rewards.models import DriverLink, LinkRequest, ServiceEvent

LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 8
LINK_REQUEST_TTL = timedelta(days=7)
MAX_EVENTS_PER_BATCH = 1000
# Events from further back than this are refused: rewards for old periods are settled.
MAX_EVENT_AGE = timedelta(days=400)
CLOCK_SKEW = timedelta(minutes=5)
MAX_SESSION = timedelta(hours=24)


# --- linking drivers -----------------------------------------------------------------------


def _check_platform(platform: Organization) -> None:
    if platform.kind != Organization.Kind.PLATFORM or not platform.is_active:
        raise PermissionDenied(_("Only an active ride-hailing platform can link drivers."))


def _new_code() -> str:
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


def link_request_create(
    *, platform: Organization, mobile: str, platform_driver_id: str
) -> LinkRequest:
    """Ask a driver to link their account to ``platform``; returns the request and its code.

    The driver sees the request on the site (if their number has an account) and may approve
    it, or types the code the platform shows them. A newer request for the same driver from
    the same platform replaces the pending one.
    """
    _check_platform(platform)
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 - any unparseable number is a bad number
        raise ValidationError(_("Not a valid mobile number.")) from None
    platform_driver_id = (platform_driver_id or "").strip()
    if not platform_driver_id or len(platform_driver_id) > 64:
        raise ValidationError(_("Give your own id for the driver (1 to 64 characters)."))
    now = timezone.now()
    with transaction.atomic():
        LinkRequest.objects.filter(
            platform=platform, mobile=mobile, status=LinkRequest.Status.PENDING
        ).update(status=LinkRequest.Status.CANCELLED, decided_at=now)
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return LinkRequest.objects.create(
                        platform=platform,
                        mobile=mobile,
                        platform_driver_id=platform_driver_id,
                        code=_new_code(),
                        expires_at=now + LINK_REQUEST_TTL,
                        driver=User.objects.filter(mobile=mobile, is_active=True).first(),
                    )
            except IntegrityError:
                continue  # the code was taken: draw another
    raise RuntimeError("could not draw a free link code")


def pending_link_requests(*, driver: User):
    return LinkRequest.objects.filter(
        mobile=driver.mobile, status=LinkRequest.Status.PENDING, expires_at__gt=timezone.now()
    ).select_related("platform")


def _approve(request: LinkRequest, driver: User) -> DriverLink:
    now = timezone.now()
    request.status = LinkRequest.Status.APPROVED
    request.decided_at = now
    request.driver = driver
    request.save(update_fields=["status", "decided_at", "driver"])
    # A driver has one active link per platform, and a platform id one driver: end old ones.
    DriverLink.objects.filter(platform=request.platform, unlinked_at=None).filter(
        driver=driver
    ).update(unlinked_at=now)
    DriverLink.objects.filter(
        platform=request.platform,
        platform_driver_id=request.platform_driver_id,
        unlinked_at=None,
    ).update(unlinked_at=now)
    return DriverLink.objects.create(
        platform=request.platform,
        driver=driver,
        platform_driver_id=request.platform_driver_id,
        request=request,
    )


def link_request_decide(*, request: LinkRequest, driver: User, approve: bool) -> DriverLink | None:
    """The driver approves (a link is made) or declines a pending request for their number."""
    with transaction.atomic():
        request = LinkRequest.objects.select_for_update().get(pk=request.pk)
        if request.mobile != driver.mobile:
            raise PermissionDenied(_("This request is not for your mobile number."))
        if request.status != LinkRequest.Status.PENDING or request.expires_at <= timezone.now():
            raise ValidationError(_("This request is no longer waiting for you."))
        if approve:
            return _approve(request, driver)
        request.status = LinkRequest.Status.DECLINED
        request.decided_at = timezone.now()
        request.driver = driver
        request.save(update_fields=["status", "decided_at", "driver"])
        return None


def link_code_redeem(*, code: str, driver: User) -> DriverLink:
    """The driver types the code a platform showed them: the link is made at once."""
    code = (code or "").strip().upper().replace(" ", "").replace("-", "")
    with transaction.atomic():
        request = (
            LinkRequest.objects.select_for_update()
            .select_related("platform")
            .filter(code=code, status=LinkRequest.Status.PENDING, expires_at__gt=timezone.now())
            .first()
        )
        if request is None:
            raise ValidationError(_("This code is not valid, or has expired."))
        return _approve(request, driver)


def link_end(*, link: DriverLink, driver: User) -> DriverLink:
    """The driver ends a link: the platform's later events about them are refused."""
    if link.driver_id != driver.pk:
        raise PermissionDenied(_("This is not your link."))
    if link.unlinked_at is None:
        link.unlinked_at = timezone.now()
        link.save(update_fields=["unlinked_at"])
    return link


# --- service events ------------------------------------------------------------------------
#
# A batch of up to 1,000 rows is checked in Python, row by row; the rows that pass go to the
# database in one set-based statement (PostgreSQL: arrays unnested, joined to the active driver
# links, ``INSERT … ON CONFLICT (platform_id, external_id) DO NOTHING RETURNING``), so that the
# answer says which rows this request really inserted. Only the rows whose id was already taken
# are read back, to tell a duplicate from an update or a different event under the same id.


@dataclass(slots=True)
class RowResult:
    index: int
    id: str | None
    status: str  # accepted | duplicate | updated | refused
    reason: str = ""

    def as_dict(self) -> dict:
        return {"index": self.index, "id": self.id, "status": self.status, "reason": self.reason}


class RowError(ValueError):
    pass


def _allowed(choices) -> tuple[frozenset, str]:
    """The values of a choices class as a set, and listed for the error message."""
    return frozenset(choices.values), ", ".join(choices.values)


KINDS = _allowed(ServiceEvent.Kind)
OUTCOMES = _allowed(ServiceEvent.Outcome)
SEVERITIES = _allowed(ServiceEvent.Severity)
_TRIP = ServiceEvent.Kind.TRIP.value
_RATING = ServiceEvent.Kind.RATING.value
_COMPLAINT = ServiceEvent.Kind.COMPLAINT.value
_SAFETY_INCIDENT = ServiceEvent.Kind.SAFETY_INCIDENT.value
_ONLINE_SESSION = ServiceEvent.Kind.ONLINE_SESSION.value
_PENDING = ServiceEvent.Outcome.PENDING.value


def _text(row: dict, name: str, *, required: bool = True, max_length: int = 100) -> str:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowError(_("“%(field)s” is missing.") % {"field": name})
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RowError(_("“%(field)s” must be text.") % {"field": name})
    value = str(value).strip()
    if len(value) > max_length:
        raise RowError(
            _("“%(field)s” is longer than %(max)s characters.") % {"field": name, "max": max_length}
        )
    return value


def _time(
    row: dict, name: str, earliest: datetime, latest: datetime, *, required: bool = True
) -> datetime | None:
    raw = row.get(name)
    if raw is None or raw == "":
        if required:
            raise RowError(_("“%(field)s” is missing.") % {"field": name})
        return None
    try:
        value = parse_datetime(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        raise RowError(
            _("“%(field)s” is not a date and time (ISO 8601, e.g. 2026-11-01T08:30:00+08:00).")
            % {"field": name}
        )
    if value.tzinfo is None:
        raise RowError(_("“%(field)s” needs a time zone (e.g. +08:00 or Z).") % {"field": name})
    if value > latest:
        raise RowError(_("“%(field)s” is in the future.") % {"field": name})
    if value < earliest:
        raise RowError(_("“%(field)s” is too long ago to count.") % {"field": name})
    return value


def _integer(row: dict, name: str, *, low: int, high: int, required: bool = True) -> int | None:
    value = row.get(name)
    if value is None:
        if required:
            raise RowError(_("“%(field)s” is missing.") % {"field": name})
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RowError(
            _("“%(field)s” must be a whole number from %(low)s to %(high)s.")
            % {"field": name, "low": low, "high": high}
        )
    return value


def _choice(row: dict, name: str, allowed: tuple[frozenset, str], *, required: bool = True) -> str:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowError(_("“%(field)s” is missing.") % {"field": name})
        return ""
    if not isinstance(value, str) or value not in allowed[0]:
        raise RowError(
            _("“%(field)s” must be one of: %(choices)s.") % {"field": name, "choices": allowed[1]}
        )
    return value


def _parse_row(row, earliest: datetime, latest: datetime) -> dict:
    """The fields of one event, checked; RowError says what is wrong. Times must lie between
    ``earliest`` and ``latest`` (now less MAX_EVENT_AGE, now plus CLOCK_SKEW)."""
    if not isinstance(row, dict):
        raise RowError(_("An event must be a JSON object."))
    kind = _choice(row, "type", KINDS)
    fields = {
        "external_id": _text(row, "id"),
        "driver_ref": _text(row, "driver", max_length=64),
        "kind": kind,
        "occurred_at": _time(row, "occurred_at", earliest, latest),
    }
    if kind == _TRIP:
        fields["fare_fen"] = _integer(row, "fare_fen", low=0, high=10_000_000)
        currency = _text(row, "currency", required=False, max_length=3) or "CNY"
        if currency != "CNY":
            raise RowError(_("Only CNY amounts are accepted."))
        fields["currency"] = currency
    elif kind == _RATING:
        fields["rating"] = _integer(row, "rating", low=1, high=5)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == _COMPLAINT:
        fields["outcome"] = _choice(row, "outcome", OUTCOMES)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == _SAFETY_INCIDENT:
        fields["severity"] = _choice(row, "severity", SEVERITIES)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == _ONLINE_SESSION:
        ended_at = _time(row, "ended_at", earliest, latest)
        if ended_at <= fields["occurred_at"]:
            raise RowError(_("An online session must end after it starts."))
        if ended_at - fields["occurred_at"] > MAX_SESSION:
            raise RowError(_("An online session cannot be longer than 24 hours; split it."))
        fields["ended_at"] = ended_at
    return fields


# The columns a row sets, after platform_id, in the order of the statements below. A column
# that a kind does not use gets NULL (numbers, times) or "" (text).
_VALUE_COLUMNS = (
    "external_id",
    "kind",
    "occurred_at",
    "ended_at",
    "fare_fen",
    "currency",
    "rating",
    "outcome",
    "severity",
    "trip_external_id",
)
_BLANK = {"currency": "", "outcome": "", "severity": "", "trip_external_id": ""}
# What is read back of an event whose id was taken, to compare it with the row sent again.
_COMPARED = ("id", "driver_id", *_VALUE_COLUMNS)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The columns sent as text, and as numbers (times as microseconds since 1970: exact, and
# five times quicker to write than their ISO form, measured).
_TEXT_COLUMNS = ("external_id", "kind", "currency", "outcome", "severity", "trip_external_id")
_NUMBER_COLUMNS = ("fare_fen", "rating")


def _text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of strings: each quoted, backslashes and quotes escaped."""
    if not values:
        return "{}"
    return (
        '{"'
        + '","'.join([value.replace("\\", "\\\\").replace('"', '\\"') for value in values])
        + '"}'
    )


def _number_array(values: list) -> str:
    """A PostgreSQL array literal of whole numbers or NULLs."""
    return "{" + ",".join(["NULL" if value is None else str(value) for value in values]) + "}"


def _micros_array(values: list) -> str:
    """Aware datetimes (or None) as an array literal of microseconds since 1970."""
    return _number_array(
        [None if value is None else (value - _EPOCH) // _MICROSECOND for value in values]
    )


def _postgres_insert(cursor, platform_id: int, rows: list[tuple[int, dict]], now) -> dict:
    """One statement: unnest the rows, join them to the platform's active driver links, insert
    them (in id order, so that two batches with the same new ids wait for each other instead of
    deadlocking) and skip the ids already taken. Returns {index: (driver_id, inserted)} for the
    rows of linked drivers; a row missing from it is of a driver who is not linked.

    Each column goes as one array literal written here: psycopg would adapt the 12,000 values
    one by one in Python (a third of the time of a batch, measured)."""
    every = [fields for _index, fields in rows]
    refs = [fields["driver_ref"] for fields in every]
    arrays = [
        _number_array([index for index, _fields in rows]),
        _text_array(refs),
        *(_text_array([fields.get(name, "") for fields in every]) for name in _TEXT_COLUMNS),
        *(_number_array([fields.get(name) for fields in every]) for name in _NUMBER_COLUMNS),
        _micros_array([fields["occurred_at"] for fields in every]),
        _micros_array([fields.get("ended_at") for fields in every]),
    ]
    cursor.execute(
        """
        WITH input AS (
            SELECT * FROM unnest(
                %s::integer[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                %s::text[], %s::text[], %s::bigint[], %s::smallint[], %s::bigint[],
                %s::bigint[]
            ) AS input (idx, driver_ref, external_id, kind, currency, outcome, severity,
                        trip_external_id, fare_fen, rating, occurred_us, ended_us)
        ), link AS (
            SELECT platform_driver_id, driver_id
            FROM rewards_driverlink
            WHERE platform_id = %s
              AND unlinked_at IS NULL
              AND platform_driver_id = ANY(%s::text[])
        ), linked AS (
            SELECT input.*, link.driver_id
            FROM input JOIN link ON link.platform_driver_id = input.driver_ref
        ), inserted AS (
            INSERT INTO rewards_serviceevent (platform_id, driver_id, received_at, external_id,
                kind, occurred_at, ended_at, fare_fen, currency, rating, outcome, severity,
                trip_external_id)
            SELECT %s, driver_id, %s, external_id, kind,
                   'epoch'::timestamptz + occurred_us * interval '1 microsecond',
                   'epoch'::timestamptz + ended_us * interval '1 microsecond',
                   fare_fen, currency, rating, outcome, severity, trip_external_id
            FROM linked
            ORDER BY external_id
            ON CONFLICT (platform_id, external_id) DO NOTHING
            RETURNING external_id
        )
        SELECT linked.idx, linked.driver_id, inserted.external_id IS NOT NULL
        FROM linked LEFT JOIN inserted ON inserted.external_id = linked.external_id
        """,
        [*arrays, platform_id, _text_array(list(set(refs))), platform_id, now],
    )
    return {index: (driver_id, inserted) for index, driver_id, inserted in cursor.fetchall()}


_GENERIC_INSERT = (
    "INSERT INTO rewards_serviceevent (platform_id, driver_id, received_at, external_id, kind, "
    "occurred_at, ended_at, fare_fen, currency, rating, outcome, severity, trip_external_id) "
    "VALUES ",
    " ON CONFLICT (platform_id, external_id) DO NOTHING RETURNING external_id",
)


def _generic_insert(cursor, platform_id: int, rows: list[tuple[int, dict]], now) -> dict:
    """The same as ``_postgres_insert`` for the other databases (SQLite ≥ 3.35 in
    development): links looked up, then multi-row ``INSERT … ON CONFLICT DO NOTHING
    RETURNING`` statements."""
    links = dict(
        DriverLink.objects.filter(
            platform_id=platform_id,
            unlinked_at=None,
            platform_driver_id__in={fields["driver_ref"] for _index, fields in rows},
        ).values_list("platform_driver_id", "driver_id")
    )
    ops = cursor.db.ops
    received_at = ops.adapt_datetimefield_value(now)
    linked, by_id = [], {}
    for index, fields in rows:
        driver_id = links.get(fields["driver_ref"])
        if driver_id is not None:
            linked.append((fields["external_id"], index, driver_id, fields))
            by_id[fields["external_id"]] = index
    linked.sort(key=lambda item: item[0])
    out = {index: (driver_id, False) for _id, index, driver_id, _fields in linked}
    width = 3 + len(_VALUE_COLUMNS)
    per_statement = max(1, min(500, (cursor.db.features.max_query_params or 999) // width))
    placeholders = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(linked), per_statement):
        chunk = linked[start : start + per_statement]
        params = []
        for _id, _index, driver_id, fields in chunk:
            params += (platform_id, driver_id, received_at)
            for name in _VALUE_COLUMNS:
                value = fields.get(name, _BLANK.get(name))
                if name in ("occurred_at", "ended_at"):
                    value = ops.adapt_datetimefield_value(value)
                params.append(value)
        values = ", ".join([placeholders] * len(chunk))
        cursor.execute(f"{_GENERIC_INSERT[0]}{values}{_GENERIC_INSERT[1]}", params)
        for (external_id,) in cursor.fetchall():
            index = by_id[external_id]
            out[index] = (out[index][0], True)
    return out


def _same(old: dict, fields: dict) -> bool:
    return all(
        old[name] == value
        for name, value in fields.items()
        if name not in ("external_id", "driver_ref")
    )


def _settle_taken(platform: Organization, taken: list, results: list[RowResult]) -> list:
    """Rows whose id was already taken: a duplicate (nothing changes), a pending complaint's
    outcome (updated), or a different event under a used id (refused). Returns the rows whose
    event vanished since the insert (deleted meanwhile): they are tried again."""
    existing = {
        old["external_id"]: old
        for old in ServiceEvent.objects.filter(
            platform=platform, external_id__in=[fields["external_id"] for _i, fields, _d in taken]
        ).values(*_COMPARED)
    }
    vanished = []
    for index, fields, driver_id in taken:
        result = results[index]
        old = existing.get(fields["external_id"])
        while True:
            if old is None:
                vanished.append((index, fields))
                break
            if old["driver_id"] == driver_id and _same(old, fields):
                result.status, result.reason = "duplicate", _("Already received; nothing changed.")
            elif (
                old["kind"] == _COMPLAINT
                and old["outcome"] == _PENDING
                and fields["kind"] == _COMPLAINT
                and fields.get("outcome") != _PENDING
                and old["driver_id"] == driver_id
            ):
                if not ServiceEvent.objects.filter(pk=old["id"], outcome=_PENDING).update(
                    outcome=fields["outcome"]
                ):
                    # Another request recorded an outcome first: compare with that one.
                    old = ServiceEvent.objects.filter(pk=old["id"]).values(*_COMPARED).first()
                    continue
                result.status, result.reason = "updated", _("The complaint's outcome is recorded.")
            else:
                result.status, result.reason = (
                    "refused",
                    _("This id was already used for a different event; events cannot be changed."),
                )
            break
    return vanished


def service_events_ingest(*, platform: Organization, rows: list) -> list[RowResult]:
    """Take in a batch of a platform's service events; a result per row, in order.

    Each row is checked on its own: a refused row (bad data, a driver who has not linked their
    account to this platform) is reported and skipped; the accepted rows are written together
    in one transaction. An id seen before is a duplicate and changes nothing, except that a
    complaint still under review may be sent again with its outcome. "accepted" means this
    call inserted the row: of two concurrent batches with the same new id, one is told
    "accepted", the other "duplicate".
    """
    _check_platform(platform)
    if len(rows) > MAX_EVENTS_PER_BATCH:
        raise ValidationError(
            _("At most %(max)s events per batch.") % {"max": MAX_EVENTS_PER_BATCH}
        )
    now = timezone.now()
    earliest, latest = now - MAX_EVENT_AGE, now + CLOCK_SKEW
    results: list[RowResult] = []
    checked: list[tuple[int, dict]] = []
    seen: set[str] = set()
    twice = None
    for index, row in enumerate(rows):
        try:
            fields = _parse_row(row, earliest, latest)
        except RowError as exc:
            row_id = row.get("id") if isinstance(row, dict) else None
            row_id = str(row_id)[:100] if row_id is not None else None
            results.append(RowResult(index, row_id, "refused", str(exc)))
            continue
        external_id = fields["external_id"]
        if external_id in seen:
            twice = twice or _("The same id appears twice in this batch.")
            results.append(RowResult(index, external_id, "refused", twice))
            continue
        seen.add(external_id)
        results.append(RowResult(index, external_id, "accepted"))
        checked.append((index, fields))
    if not checked:
        return results

    using = router.db_for_write(ServiceEvent)
    connection = connections[using]
    insert = _postgres_insert if connection.vendor == "postgresql" else _generic_insert
    unlinked = None
    with transaction.atomic(using=using):
        for _attempt in range(3):
            with connection.cursor() as cursor:
                written = insert(cursor, platform.pk, checked, now)
            taken = []
            for index, fields in checked:
                driver_id, inserted = written.get(index, (None, False))
                if driver_id is None:
                    unlinked = unlinked or _(
                        "This driver has not linked their Roadwise account to your platform."
                    )
                    results[index].status, results[index].reason = "refused", unlinked
                elif not inserted:
                    taken.append((index, fields, driver_id))
            checked = _settle_taken(platform, taken, results) if taken else []
            if not checked:
                break
        else:  # an event deleted and its id taken again, three times over, in one request
            raise RuntimeError("service events kept vanishing under the same ids; try again")
    return results
