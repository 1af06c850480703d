"""The verbs of platforms' service data: linking drivers (with their consent) and taking in
service events. The ledger's verbs are in ``rewards.ledger``."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
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


@dataclass
class RowResult:
    index: int
    id: str | None
    status: str  # accepted | duplicate | updated | refused
    reason: str = ""

    def as_dict(self) -> dict:
        return {"index": self.index, "id": self.id, "status": self.status, "reason": self.reason}


class RowError(ValueError):
    pass


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


def _time(row: dict, name: str, now: datetime, *, required: bool = True) -> datetime | None:
    raw = row.get(name)
    if raw in (None, ""):
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
    if value > now + CLOCK_SKEW:
        raise RowError(_("“%(field)s” is in the future.") % {"field": name})
    if value < now - MAX_EVENT_AGE:
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


def _choice(row: dict, name: str, choices, *, required: bool = True) -> str:
    value = row.get(name)
    if value in (None, ""):
        if required:
            raise RowError(_("“%(field)s” is missing.") % {"field": name})
        return ""
    if value not in choices.values:
        raise RowError(
            _("“%(field)s” must be one of: %(choices)s.")
            % {"field": name, "choices": ", ".join(choices.values)}
        )
    return value


def _parse_row(row, now: datetime) -> dict:
    """The fields of one event, checked; RowError says what is wrong."""
    if not isinstance(row, dict):
        raise RowError(_("An event must be a JSON object."))
    kind = _choice(row, "type", ServiceEvent.Kind)
    fields = {
        "external_id": _text(row, "id"),
        "driver_ref": _text(row, "driver", max_length=64),
        "kind": kind,
        "occurred_at": _time(row, "occurred_at", now),
    }
    if kind == ServiceEvent.Kind.TRIP:
        fields["fare_fen"] = _integer(row, "fare_fen", low=0, high=10_000_000)
        currency = _text(row, "currency", required=False, max_length=3) or "CNY"
        if currency != "CNY":
            raise RowError(_("Only CNY amounts are accepted."))
        fields["currency"] = currency
    elif kind == ServiceEvent.Kind.RATING:
        fields["rating"] = _integer(row, "rating", low=1, high=5)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == ServiceEvent.Kind.COMPLAINT:
        fields["outcome"] = _choice(row, "outcome", ServiceEvent.Outcome)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == ServiceEvent.Kind.SAFETY_INCIDENT:
        fields["severity"] = _choice(row, "severity", ServiceEvent.Severity)
        fields["trip_external_id"] = _text(row, "trip_id", required=False)
    elif kind == ServiceEvent.Kind.ONLINE_SESSION:
        ended_at = _time(row, "ended_at", now)
        if ended_at <= fields["occurred_at"]:
            raise RowError(_("An online session must end after it starts."))
        if ended_at - fields["occurred_at"] > MAX_SESSION:
            raise RowError(_("An online session cannot be longer than 24 hours; split it."))
        fields["ended_at"] = ended_at
    return fields


def _same(event: ServiceEvent, fields: dict) -> bool:
    return all(
        getattr(event, name) == value
        for name, value in fields.items()
        if name not in ("external_id", "driver_ref")
    )


def service_events_ingest(*, platform: Organization, rows: list) -> list[RowResult]:
    """Take in a batch of a platform's service events; a result per row, in order.

    Each row is checked on its own: a refused row (bad data, a driver who has not linked their
    account to this platform) is reported and skipped; the accepted rows are written together
    in one transaction. An id seen before is a duplicate and changes nothing, except that a
    complaint still under review may be sent again with its outcome.
    """
    _check_platform(platform)
    if len(rows) > MAX_EVENTS_PER_BATCH:
        raise ValidationError(
            _("At most %(max)s events per batch.") % {"max": MAX_EVENTS_PER_BATCH}
        )
    now = timezone.now()
    results: list[RowResult] = []
    parsed: dict[int, dict] = {}
    for index, row in enumerate(rows):
        row_id = row.get("id") if isinstance(row, dict) else None
        row_id = str(row_id)[:100] if row_id is not None else None
        try:
            parsed[index] = _parse_row(row, now)
            results.append(RowResult(index, parsed[index]["external_id"], "accepted"))
        except RowError as exc:
            results.append(RowResult(index, row_id, "refused", str(exc)))

    seen_in_batch: dict[str, int] = {}
    for index, fields in list(parsed.items()):
        first = seen_in_batch.setdefault(fields["external_id"], index)
        if first != index:
            results[index].status = "refused"
            results[index].reason = _("The same id appears twice in this batch.")
            del parsed[index]

    links = dict(
        DriverLink.objects.filter(
            platform=platform,
            unlinked_at=None,
            platform_driver_id__in={fields["driver_ref"] for fields in parsed.values()},
        ).values_list("platform_driver_id", "driver_id")
    )
    existing = {
        event.external_id: event
        for event in ServiceEvent.objects.filter(
            platform=platform, external_id__in=[f["external_id"] for f in parsed.values()]
        )
    }
    new_events, updates = [], []
    for index, fields in parsed.items():
        result = results[index]
        driver_id = links.get(fields["driver_ref"])
        if driver_id is None:
            result.status, result.reason = (
                "refused",
                _("This driver has not linked their Roadwise account to your platform."),
            )
            continue
        values = {k: v for k, v in fields.items() if k != "driver_ref"}
        old = existing.get(fields["external_id"])
        if old is not None:
            if old.driver_id == driver_id and _same(old, values):
                result.status, result.reason = "duplicate", _("Already received; nothing changed.")
            elif (
                old.kind == ServiceEvent.Kind.COMPLAINT
                and old.outcome == ServiceEvent.Outcome.PENDING
                and values["kind"] == old.kind
                and values.get("outcome") != ServiceEvent.Outcome.PENDING
                and old.driver_id == driver_id
            ):
                old.outcome = values["outcome"]
                updates.append(old)
                result.status, result.reason = "updated", _("The complaint's outcome is recorded.")
            else:
                result.status, result.reason = (
                    "refused",
                    _("This id was already used for a different event; events cannot be changed."),
                )
            continue
        new_events.append(ServiceEvent(platform=platform, driver_id=driver_id, **values))
    with transaction.atomic():
        ServiceEvent.objects.bulk_create(new_events, ignore_conflicts=True, batch_size=500)
        for event in updates:
            ServiceEvent.objects.filter(pk=event.pk, outcome=ServiceEvent.Outcome.PENDING).update(
                outcome=event.outcome
            )
    return results
