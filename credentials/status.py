"""W3C Bitstring Status Lists: allocating entries, flipping bits, signing and reading the lists.

Each issuing organisation has one list per purpose (revocation, suspension) of 131,072 entries;
when a list is full the next one is opened. A list is re-signed (with the issuer's current key)
whenever one of its bits changes and before its ``validUntil`` passes, and is served at
``/credentials/status/<issuer>/<purpose>/<number>`` with caching headers.
"""

import base64
import gzip
import io
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cms.models import Organization
from credentials.documents import StatusEntry, status_list_credential
from credentials.keys import issuer_did, issuer_signing_key
from credentials.models import StatusList
from credentials.signing import EDDSA_RDFC_2022, create_proof

# A verifier may cache a list this long (Cache-Control max-age and the list's ``ttl``).
STATUS_LIST_MAX_AGE = 300
# Each signature of a list is valid this long; a beat task re-signs lists well before.
STATUS_LIST_VALIDITY = timedelta(days=2)
STATUS_LIST_RESIGN_BEFORE = timedelta(days=1)
# validFrom is backdated this much, so a verifier whose clock is a little behind ours (or
# that took its "now" just before the list was signed) does not see a list from the future.
CLOCK_SKEW = timedelta(minutes=5)
MIN_ENTRIES = StatusList.SIZE


class StatusListError(ValueError):
    """An encoded status list that cannot be decoded, or is shorter than the spec allows."""


# --- encoding ------------------------------------------------------------------------------


def encode_list(bits: bytes) -> str:
    """Multibase base64url (``u`` prefix, no padding) of the GZIP of the bitstring."""
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
    """The bitstring of an ``encodedList``; StatusListError if malformed or too short."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (starting with 'u')")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        decompressor = gzip.GzipFile(fileobj=io.BytesIO(compressed))
        bits = decompressor.read(max_bytes + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise StatusListError(f"encodedList cannot be decoded: {exc}") from None
    if len(bits) > max_bytes:
        raise StatusListError("encodedList is implausibly large")
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListError(
            f"the status list has {len(bits) * 8} entries, fewer than the {MIN_ENTRIES} required"
        )
    return bits


def bit_at(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _with_bit(bits: bytes, index: int, value: bool) -> bytes:
    data = bytearray(bits)
    mask = 0x80 >> (index % 8)
    if value:
        data[index // 8] |= mask
    else:
        data[index // 8] &= ~mask & 0xFF
    return bytes(data)


# --- lists of our issuers ------------------------------------------------------------------


def status_list_path(status_list: StatusList) -> str:
    return reverse(
        "credentials:status_list",
        kwargs={
            "slug": status_list.issuer.slug,
            "purpose": status_list.purpose,
            "number": status_list.number,
        },
    )


def status_list_url(status_list: StatusList) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + status_list_path(status_list)


def _new_list(issuer: Organization, purpose: str, number: int) -> StatusList:
    return StatusList.objects.create(
        issuer=issuer,
        purpose=purpose,
        number=number,
        bits=bytes(StatusList.SIZE // 8),
        scramble_a=secrets.randbelow(StatusList.SIZE // 2) * 2 + 1,  # odd: a bijection
        scramble_b=secrets.randbelow(StatusList.SIZE),
    )


def allocate_entry(*, issuer: Organization, purpose: str) -> tuple[StatusList, int]:
    """A fresh entry (list, bit index) in the issuer's current list for ``purpose``.

    Runs inside the caller's transaction; the list row is locked so that concurrent issuers
    never get the same bit (a unique constraint on Credential backs this up).
    """
    with transaction.atomic():
        status_list = (
            StatusList.objects.select_for_update()
            .filter(issuer=issuer, purpose=purpose)
            .order_by("-number")
            .first()
        )
        if status_list is None:
            status_list = _new_list(issuer, purpose, 1)
            status_list = StatusList.objects.select_for_update().get(pk=status_list.pk)
        elif status_list.allocated >= StatusList.SIZE:
            status_list = _new_list(issuer, purpose, status_list.number + 1)
            status_list = StatusList.objects.select_for_update().get(pk=status_list.pk)
        index = status_list.index_for(status_list.allocated)
        status_list.allocated += 1
        status_list.save(update_fields=["allocated"])
    status_list.issuer = issuer  # the list's URL names it: no query to load it again
    if not status_list.signed_document:
        transaction.on_commit(lambda: status_list_sign(status_list_id=status_list.pk))
    return status_list, index


def entry(status_list: StatusList, index: int) -> StatusEntry:
    return StatusEntry(
        purpose=status_list.purpose, list_url=status_list_url(status_list), index=index
    )


def set_bit(*, status_list_id: int, index: int, value: bool) -> StatusList:
    """Set one bit and re-sign the list, in one transaction (the list row locked)."""
    with transaction.atomic():
        status_list = StatusList.objects.select_for_update().get(pk=status_list_id)
        status_list.bits = _with_bit(bytes(status_list.bits), index, value)
        status_list.version += 1
        status_list.save(update_fields=["bits", "version"])
        return _sign(status_list)


def status_list_sign(*, status_list_id: int) -> StatusList:
    """(Re-)sign a list with its issuer's current key: a new validity window and proof."""
    with transaction.atomic():
        status_list = StatusList.objects.select_for_update().get(pk=status_list_id)
        return _sign(status_list)


def _sign(status_list: StatusList) -> StatusList:
    now = timezone.now().replace(microsecond=0)
    private_key, verification_method = issuer_signing_key(organization=status_list.issuer)
    document = status_list_credential(
        list_url=status_list_url(status_list),
        issuer_did=issuer_did(status_list.issuer),
        purpose=status_list.purpose,
        encoded_list=encode_list(bytes(status_list.bits)),
        valid_from=now - CLOCK_SKEW,
        valid_until=now + STATUS_LIST_VALIDITY,
        ttl_ms=STATUS_LIST_MAX_AGE * 1000,
    )
    signed = create_proof(
        document,
        private_key=private_key,
        verification_method=verification_method,
        cryptosuite=EDDSA_RDFC_2022,
        created=now,
    )
    status_list.signed_document = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    status_list.signed_at = now
    status_list.valid_until = now + STATUS_LIST_VALIDITY
    status_list.save(update_fields=["signed_document", "signed_at", "valid_until"])
    return status_list


def status_list_current_document(status_list: StatusList) -> str:
    """The signed list to serve: re-signed first if it was never signed or is about to expire."""
    if not status_list.signed_document or (
        status_list.valid_until is None
        or status_list.valid_until - STATUS_LIST_RESIGN_BEFORE <= timezone.now()
    ):
        status_list = status_list_sign(status_list_id=status_list.pk)
    return status_list.signed_document


def status_lists_refresh() -> int:
    """Re-sign every list that is unsigned or expires within a day; returns how many."""
    due = StatusList.objects.filter(
        valid_until__lte=timezone.now() + STATUS_LIST_RESIGN_BEFORE
    ) | StatusList.objects.filter(valid_until__isnull=True)
    count = 0
    for pk in due.values_list("pk", flat=True):
        status_list_sign(status_list_id=pk)
        count += 1
    return count
