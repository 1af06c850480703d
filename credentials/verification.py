"""Verifying credentials: ours or any other issuer's, as a document, an id or a compact QR form.

Five checks, each ``pass``, ``fail`` or ``unknown`` with a reason in plain words; a credential is
verified only when all five pass.

- proof: every Data Integrity proof verifies (eddsa-rdfc-2022 / eddsa-jcs-2022), and one of
  them is made with a key of the credential's issuer. Keys come from ``did:key`` (in the
  identifier), our own ``did:web`` issuers (from the database: no network), or another host's
  ``did:web`` document (fetched over HTTPS); other DID methods are "unsupported".
- issuer: the issuer is an organisation Roadwise knows. Another issuer's credential may pass
  ``proof`` and still be ``unknown`` here.
- status: each ``BitstringStatusListEntry`` is looked up in its status list credential, whose
  own proof, issuer and validity are checked first. Fails closed: a list that cannot be
  fetched, is expired, or does not verify gives ``unknown`` ("could not check status").
- validity: ``validFrom`` has passed and ``validUntil`` has not.
- schema: Open Badges credentials validate against the OB 3.0 JSON Schema.

``Fetcher`` is how status lists and foreign DID documents are obtained; the default one reads
our own from the database and others over HTTPS. Tests pass their own.
"""

import hashlib
import ipaddress
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from cachetools import TTLCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.models import Organization
from credentials.compact import CompactFormError, compact_parse
from credentials.did import did_prefix, issuing_organizations, resolve_verification_method
from credentials.models import Credential, StatusList
from credentials.schema import is_open_badge, schema_errors
from credentials.signing import (
    MultikeyError,
    proofs_of,
    public_key_from_did_key,
    public_key_from_multibase,
    verify_proof,
)
from credentials.status import StatusListError, bit_at, decode_list, status_list_current_document

logger = logging.getLogger(__name__)

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
CHECKS = ("proof", "issuer", "status", "validity", "schema")
MAX_FETCH_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 5
SUPPORTED_DID_METHODS = ("did:key:", "did:web:")


class FetchError(Exception):
    """A status list or DID document could not be obtained."""


Fetcher = Callable[[str], dict]


@dataclass(frozen=True)
class Check:
    result: str
    code: str
    reason: str

    def as_dict(self) -> dict:
        return {"result": self.result, "code": self.code, "reason": self.reason}


@dataclass
class Report:
    checks: dict[str, Check]
    credential: Credential | None = None  # ours, when we issued it
    document: dict | None = None
    issuer_name: str = ""
    summary: dict = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return all(self.checks[name].result == PASS for name in CHECKS)

    def as_dict(self) -> dict:
        return {
            "verified": self.verified,
            "checks": {name: self.checks[name].as_dict() for name in CHECKS},
            "credential": self.summary or None,
        }


def _not_checked(reason: str) -> Check:
    return Check(UNKNOWN, "not_checked", reason)


def failed_input(code: str, reason: str) -> Report:
    """A report for input that is not a credential at all."""
    checks = {
        name: _not_checked(_("Not checked: the input is not a credential.")) for name in CHECKS
    }
    checks["proof"] = Check(FAIL, code, reason)
    return Report(checks=checks)


def _withdrawn(credential: Credential) -> Report:
    """A credential of ours whose holder deleted their account: Roadwise keeps no copy to
    check, and it was revoked when the account was deleted (docs/decisions/0015)."""
    checks = {
        name: _not_checked(_("Not checked: Roadwise no longer keeps a copy of this certificate."))
        for name in CHECKS
    }
    text = _("Revoked by the issuer.")
    if credential.status_reason:
        text = _("Revoked by the issuer. Reason: %(reason)s") % {"reason": credential.status_reason}
    checks["status"] = Check(FAIL, "revoked", text)
    return Report(
        checks=checks,
        credential=credential,
        summary={"id": f"urn:uuid:{credential.public_id}", "number": credential.number},
    )


# --- fetching ------------------------------------------------------------------------------


def _site_prefix() -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + "/"


def _own_status_list(url: str) -> dict | None:
    prefix = _site_prefix() + "credentials/status/"
    if not url.startswith(prefix):
        return None
    parts = url.removeprefix(prefix).strip("/").split("/")
    if len(parts) != 3 or not parts[2].isdigit():
        raise FetchError(_("No such status list."))
    status_list = (
        StatusList.objects.select_related("issuer")
        .filter(issuer__slug=parts[0], purpose=parts[1], number=int(parts[2]))
        .first()
    )
    if status_list is None:
        raise FetchError(_("No such status list."))
    return json.loads(status_list_current_document(status_list))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point at a private address after the check: follow none."""

    def redirect_request(self, *args, **kwargs):
        raise urllib.error.URLError("redirects are not followed")


_OPENER = urllib.request.build_opener(_NoRedirects)


def _public_address(host: str, port: int) -> None:
    """FetchError unless every address of ``host`` is a public one: a credential must not make
    this server call its own network (SSRF: metadata services, databases, the admin)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(_("The host cannot be resolved (%(error)s).") % {"error": exc}) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(_("Refusing to fetch from a non-public address."))


def http_fetch_json(url: str) -> dict:
    """GET a JSON document over HTTPS from a public host, small and quick, or FetchError."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise FetchError(_("Only https URLs are fetched."))
    _public_address(parts.hostname, parts.port or 443)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/json, application/did+json, application/ld+json"}
    )
    try:
        with _OPENER.open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_FETCH_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise FetchError(str(exc)) from None
    if len(body) > MAX_FETCH_BYTES:
        raise FetchError(_("The document is too large."))
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(_("The document is not JSON.")) from None


def default_fetch(url: str) -> dict:
    """Our own status lists from the database; anything else over HTTPS."""
    own = _own_status_list(url)
    if own is not None:
        return own
    return http_fetch_json(url)


MAX_REMOTE_FETCHES = 20


def limited_fetch(fetch: Fetcher, limit: int = MAX_REMOTE_FETCHES) -> Fetcher:
    """``fetch``, refusing after ``limit`` documents from other hosts (one verification or
    one batch must not turn this server into a crawler)."""
    remote = 0

    def limited(url: str) -> dict:
        nonlocal remote
        if not url.startswith(_site_prefix()):
            remote += 1
            if remote > limit:
                raise FetchError(_("Too many documents from other hosts in one request."))
        return fetch(url)

    return limited


# --- keys ----------------------------------------------------------------------------------


class UnsupportedMethod(LookupError):
    pass


def _did_web_url(did: str) -> str:
    parts = [unquote(part) for part in did.removeprefix("did:web:").split(":")]
    host, path = parts[0], parts[1:]
    return (
        f"https://{host}/{'/'.join(path)}/did.json"
        if path
        else f"https://{host}/.well-known/did.json"
    )


class KeyResolver:
    """Resolves verification method ids to Ed25519 keys, caching foreign DID documents."""

    def __init__(self, fetch: Fetcher):
        self.fetch = fetch
        self.documents: dict[str, dict | FetchError] = {}
        self.keys: dict[str, Ed25519PublicKey | LookupError] = {}

    def __call__(self, vm_id: str) -> Ed25519PublicKey:
        if isinstance(vm_id, str) and vm_id in self.keys:
            found = self.keys[vm_id]
            if isinstance(found, LookupError):
                raise found
            return found
        try:
            found = self._resolve(vm_id)
        except LookupError as exc:
            if isinstance(vm_id, str):
                self.keys[vm_id] = exc
            raise
        self.keys[vm_id] = found
        return found

    def _resolve(self, vm_id: str) -> Ed25519PublicKey:
        if not isinstance(vm_id, str):
            raise LookupError("verification method must be a string")
        if vm_id.startswith("did:key:"):
            try:
                return public_key_from_did_key(vm_id)
            except MultikeyError as exc:
                raise LookupError(str(exc)) from None
        if vm_id.startswith(did_prefix()):
            return resolve_verification_method(vm_id)
        if vm_id.startswith("did:web:"):
            return self._foreign_did_web(vm_id)
        raise UnsupportedMethod(vm_id)

    def _foreign_did_web(self, vm_id: str) -> Ed25519PublicKey:
        did, _sep, _fragment = vm_id.partition("#")
        if did not in self.documents:
            try:
                self.documents[did] = self.fetch(_did_web_url(did))
            except FetchError as exc:
                self.documents[did] = exc
        document = self.documents[did]
        if isinstance(document, FetchError) or not isinstance(document, dict):
            raise LookupError(f"DID document of {did} unavailable")
        if document.get("id") != did:
            raise LookupError("the DID document is for another DID")
        authorised = {
            (m if isinstance(m, str) else m.get("id")) for m in document.get("assertionMethod", [])
        }
        if vm_id not in authorised and vm_id.removeprefix(did) not in authorised:
            raise LookupError("key not authorised for assertions")
        for method in document.get("verificationMethod", []):
            if isinstance(method, dict) and method.get("id") in (vm_id, vm_id.removeprefix(did)):
                multibase = method.get("publicKeyMultibase")
                if isinstance(multibase, str):
                    try:
                        return public_key_from_multibase(multibase)
                    except MultikeyError as exc:
                        raise LookupError(str(exc)) from None
        raise LookupError("verification method not in the DID document")


def _did_of(vm_id) -> str:
    return vm_id.partition("#")[0] if isinstance(vm_id, str) else ""


def _known_organization(did: str, cache: dict | None = None) -> Organization | None:
    if cache is not None and did in cache:
        return cache[did]
    prefix = did_prefix()
    found = None
    if did.startswith(prefix):
        found = (
            issuing_organizations().filter(slug=did.removeprefix(prefix), is_active=True).first()
        )
    if cache is not None:
        cache[did] = found
    return found


# --- the checks ----------------------------------------------------------------------------


def _issuer_id(document: dict) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


PROOF_REASONS = {
    "tampered": lambda: _(
        "Tampered: the signature does not match; the certificate was changed after it was "
        "signed, or it was not signed with this key."
    ),
    "unknown_key": lambda: _("The signing key is unknown: it is not one of the issuer's keys."),
    "no_proof": lambda: _("The certificate carries no signature."),
    "malformed_proof": lambda: _("The signature is malformed."),
    "unsupported_cryptosuite": lambda: _("The signature uses an unsupported algorithm."),
    "wrong_purpose": lambda: _("The signature was not made for issuing credentials."),
    "context_mismatch": lambda: _("The signature does not belong to this document."),
    "unknown_context": lambda: _(
        "The certificate uses a vocabulary (JSON-LD context) this verifier does not hold."
    ),
    "undefined_term": lambda: _(
        "The certificate has a field no vocabulary defines, so no signature can cover it."
    ),
    "malformed_document": lambda: _("The certificate is not a well-formed JSON-LD document."),
    "missing_previous_proof": lambda: _("A signature this one builds on is missing."),
}


def fastest_proofs(document: dict) -> dict:
    """The document with, for each key that signed in both cryptosuites, only its
    eddsa-jcs-2022 proof (about 20 times quicker to check than eddsa-rdfc-2022): both proofs
    cover the same document with the same key, so either one shows it is unchanged."""
    proofs = proofs_of(document)
    jcs_keys = {
        p.get("verificationMethod")
        for p in proofs
        if isinstance(p, dict) and p.get("cryptosuite") == "eddsa-jcs-2022"
    }
    kept = [
        p
        for p in proofs
        if not (
            isinstance(p, dict)
            and p.get("cryptosuite") == "eddsa-rdfc-2022"
            and p.get("verificationMethod") in jcs_keys
            and "id" not in p  # a proof others may chain to stays
        )
    ]
    if len(kept) == len(proofs):
        return document
    return {**document, "proof": kept}


def check_proof(document: dict, resolver: KeyResolver, *, fastest: bool = False) -> Check:
    if fastest:
        document = fastest_proofs(document)
    proofs = proofs_of(document)
    for proof in proofs:
        vm = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if isinstance(vm, str) and not vm.startswith(SUPPORTED_DID_METHODS):
            method = ":".join(vm.split(":")[:2]) if vm.startswith("did:") else vm.split(":")[0]
            return Check(
                UNKNOWN,
                "unsupported",
                _("Unsupported: keys of %(method)s are not resolved by this verifier.")
                % {"method": method},
            )
    result = verify_proof(document, public_key_resolver=resolver)
    if not result.verified:
        reason = PROOF_REASONS.get(result.reason, lambda: result.message)()
        return Check(FAIL, result.reason, reason)
    issuer = _issuer_id(document)
    signers = {_did_of(p.verification_method) for p in result.proofs}
    if issuer not in signers:
        return Check(FAIL, "not_signed_by_issuer", _("None of the signatures is the issuer's own."))
    return Check(
        PASS,
        "verified",
        _("%(count)s signature(s) verified, from %(signers)s.")
        % {"count": len(result.proofs), "signers": ", ".join(sorted(signers))},
    )


def check_issuer(document: dict, cache: dict | None = None) -> tuple[Check, str]:
    issuer = _issuer_id(document)
    if not issuer:
        return Check(FAIL, "no_issuer", _("The certificate names no issuer.")), ""
    organization = _known_organization(issuer, cache)
    if organization is None:
        return (
            Check(
                UNKNOWN,
                "unknown_issuer",
                _("Unknown issuer: %(issuer)s is not an organisation Roadwise knows.")
                % {"issuer": issuer},
            ),
            "",
        )
    co = [
        org.display_name
        for did in sorted(
            {
                _did_of(p.get("verificationMethod"))
                for p in proofs_of(document)
                if isinstance(p, dict)
            }
        )
        if did != issuer and (org := _known_organization(did, cache)) is not None
    ]
    reason = _("Issued by %(issuer)s, a training provider on Roadwise.") % {
        "issuer": organization.display_name
    }
    if co:
        reason += " " + _("Also signed by %(orgs)s.") % {"orgs": ", ".join(co)}
    return Check(PASS, "known_issuer", reason), organization.display_name


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_validity(document: dict, now: datetime) -> Check:
    valid_from_raw = document.get("validFrom", document.get("issuanceDate"))
    valid_until_raw = document.get("validUntil", document.get("expirationDate"))
    valid_from = _parse_time(valid_from_raw)
    if valid_from is None:
        return Check(FAIL, "no_valid_from", _("The certificate has no valid issue date."))
    if valid_from > now:
        return Check(
            FAIL,
            "not_yet_valid",
            _("Not valid yet: valid from %(date)s.") % {"date": valid_from.date().isoformat()},
        )
    if valid_until_raw is not None:
        valid_until = _parse_time(valid_until_raw)
        if valid_until is None:
            return Check(FAIL, "bad_valid_until", _("The expiry date is not a date."))
        if valid_until <= now:
            return Check(
                FAIL,
                "expired",
                _("Expired on %(date)s.") % {"date": valid_until.date().isoformat()},
            )
        return Check(
            PASS,
            "valid",
            _("Valid from %(start)s until %(end)s.")
            % {"start": valid_from.date().isoformat(), "end": valid_until.date().isoformat()},
        )
    return Check(
        PASS,
        "valid",
        _("Valid from %(start)s; it does not expire.") % {"start": valid_from.date().isoformat()},
    )


def check_schema(document: dict) -> Check:
    if is_open_badge(document):
        errors = schema_errors(document)
        if errors:
            return Check(
                FAIL,
                "schema",
                _("It does not follow the Open Badges 3.0 schema: %(errors)s")
                % {"errors": "; ".join(errors[:3])},
            )
        return Check(PASS, "valid_schema", _("It follows the Open Badges 3.0 JSON Schema."))
    types = document.get("type")
    if document.get("@context", [None])[:1] != ["https://www.w3.org/ns/credentials/v2"] or (
        not isinstance(types, list) or "VerifiableCredential" not in types
    ):
        return Check(FAIL, "schema", _("It is not a W3C Verifiable Credential."))
    return Check(PASS, "valid_schema", _("It is a W3C Verifiable Credential (not an Open Badge)."))


# Status lists that passed every check but the validity window, by their exact content, for
# a minute: verifying a list's RDFC proof was most of a single verification over the API
# (benchmark 3). A revocation or suspension changes the list, hence the key, so it shows at
# once; what can take up to a minute to show is a change to the issuer's keys themselves.
CHECKED_LISTS_SECONDS = 60
_CHECKED_LISTS: TTLCache = TTLCache(maxsize=256, ttl=CHECKED_LISTS_SECONDS)
_CHECKED_LISTS_LOCK = threading.Lock()


def _status_list_memo_key(document: dict, url: str, issuer: str, purpose: str) -> tuple | None:
    try:
        text = json.dumps(document, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return (url, issuer, purpose, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())


class StatusChecker:
    """Checks status entries, fetching and verifying each status list once per instance (and
    a list with the very same content once a minute per process)."""

    def __init__(self, fetch: Fetcher, resolver: KeyResolver, now: datetime):
        self.fetch = fetch
        self.resolver = resolver
        self.now = now
        self.lists: dict[str, tuple[bytes, str] | Check] = {}

    def _list(self, url: str, issuer: str, purpose: str) -> tuple[bytes, str] | Check:
        key = f"{url} {issuer} {purpose}"
        if key not in self.lists:
            self.lists[key] = self._load(url, issuer, purpose)
        return self.lists[key]

    def _unavailable(self, why: str) -> Check:
        return Check(
            UNKNOWN,
            "status_unavailable",
            _("Could not check status: %(why)s") % {"why": why},
        )

    def _load(self, url: str, issuer: str, purpose: str) -> tuple[bytes, str] | Check:
        try:
            document = self.fetch(url)
        except FetchError as exc:
            return self._unavailable(
                _("the status list cannot be fetched (%(error)s).") % {"error": exc}
            )
        except Exception:  # noqa: BLE001 - any failure to fetch fails closed
            logger.exception("Fetching status list %s", url)
            return self._unavailable(_("the status list cannot be fetched."))
        if not isinstance(document, dict):
            return self._unavailable(_("the status list is not a JSON object."))
        memo_key = _status_list_memo_key(document, url, issuer, purpose)
        with _CHECKED_LISTS_LOCK:
            bits = _CHECKED_LISTS.get(memo_key) if memo_key else None
        if bits is None:
            checked = self._check_list(document, url, issuer, purpose)
            if isinstance(checked, Check):
                return checked
            bits = checked
            if memo_key:
                with _CHECKED_LISTS_LOCK:
                    _CHECKED_LISTS[memo_key] = bits
        # The validity window is checked every time: a remembered list may have expired since.
        validity = check_validity(document, self.now)
        if validity.result != PASS:
            return self._unavailable(
                _("the status list is out of date (%(why)s)") % {"why": validity.reason}
            )
        return bits, purpose

    def _check_list(self, document: dict, url: str, issuer: str, purpose: str) -> bytes | Check:
        """Everything about a fetched list but its validity window: issuer, proof, id,
        purpose, the bitstring."""
        if _issuer_id(document) != issuer:
            return self._unavailable(
                _("the status list was not issued by the certificate's issuer.")
            )
        if not verify_proof(document, public_key_resolver=self.resolver).verified:
            return self._unavailable(_("the status list's own signature does not verify."))
        if document.get("id") != url:
            return self._unavailable(_("the status list is not the one the certificate names."))
        subject = document.get("credentialSubject")
        if not isinstance(subject, dict) or subject.get("statusPurpose") != purpose:
            return self._unavailable(_("the status list is for another purpose."))
        try:
            return decode_list(subject.get("encodedList"))
        except StatusListError as exc:
            return self._unavailable(str(exc))

    def check(self, document: dict, entries, credential: Credential | None) -> Check:
        issuer = _issuer_id(document)
        if entries is None:
            return Check(
                PASS,
                "no_status",
                _("The issuer publishes no status for it (it cannot be revoked)."),
            )
        entries = entries if isinstance(entries, list) else [entries]
        revoked = suspended = False
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
                return self._unavailable(_("the status method is not supported."))
            purpose = entry.get("statusPurpose")
            url = entry.get("statusListCredential")
            try:
                index = int(entry.get("statusListIndex"))
            except (TypeError, ValueError):
                return self._unavailable(_("the status entry has no valid index."))
            if purpose not in ("revocation", "suspension") or not isinstance(url, str):
                return self._unavailable(_("the status entry is malformed."))
            loaded = self._list(url, issuer, purpose)
            if isinstance(loaded, Check):
                return loaded
            try:
                is_set = bit_at(loaded[0], index)
            except StatusListError as exc:
                return self._unavailable(str(exc))
            revoked |= is_set and purpose == "revocation"
            suspended |= is_set and purpose == "suspension"
        reason = credential.status_reason if credential is not None else ""
        if revoked:
            text = _("Revoked by the issuer.")
            if reason:
                text = _("Revoked by the issuer. Reason: %(reason)s") % {"reason": reason}
            return Check(FAIL, "revoked", text)
        if suspended:
            text = _("Suspended by the issuer.")
            if reason:
                text = _("Suspended by the issuer. Reason: %(reason)s") % {"reason": reason}
            return Check(FAIL, "suspended", text)
        return Check(PASS, "active", _("Not revoked or suspended (checked just now)."))


# --- entry points --------------------------------------------------------------------------


class Verifier:
    """Verifies many inputs, sharing fetched status lists and DID documents between them."""

    def __init__(
        self, *, fetch: Fetcher | None = None, now: datetime | None = None, fastest: bool = False
    ):
        self.fastest = fastest
        self.fetch = limited_fetch(fetch or default_fetch)
        self.now = now or timezone.now()
        self.resolver = KeyResolver(self.fetch)
        self.organizations: dict[str, Organization | None] = {}
        self.status = StatusChecker(self.fetch, self.resolver, self.now)
        # Our credentials looked up in advance by :meth:`many` (public id -> row or None).
        self.known: dict[uuid.UUID, Credential | None] = {}
        self.issuer_checks: dict[tuple, tuple[Check, str]] = {}

    def document(self, document, *, credential: Credential | None = None) -> Report:
        if not isinstance(document, dict):
            return failed_input("malformed", _("A credential must be a JSON object."))
        if credential is None:
            credential = self._ours(document)
        proof = check_proof(document, self.resolver, fastest=self.fastest)
        issuer, issuer_name = self._check_issuer(document)
        status = self.status.check(document, document.get("credentialStatus"), credential)
        checks = {
            "proof": proof,
            "issuer": issuer,
            "status": status,
            "validity": check_validity(document, self.now),
            "schema": check_schema(document),
        }
        return Report(
            checks=checks,
            credential=credential,
            document=document,
            issuer_name=issuer_name,
            summary=_summary(document),
        )

    def _check_issuer(self, document: dict) -> tuple[Check, str]:
        """:func:`check_issuer`, once per issuer and set of signers in a batch (its answer
        depends on nothing else, and a batch usually has a few issuers)."""
        signers = tuple(
            sorted(
                {
                    str(p.get("verificationMethod"))
                    for p in proofs_of(document)
                    if isinstance(p, dict)
                }
            )
        )
        key = (str(_issuer_id(document)), signers)
        if key not in self.issuer_checks:
            self.issuer_checks[key] = check_issuer(document, self.organizations)
        return self.issuer_checks[key]

    def _ours(self, document: dict) -> Credential | None:
        public_id = _document_public_id(document)
        if public_id is None:
            return None
        if public_id in self.known:
            return self.known[public_id]
        return Credential.objects.filter(public_id=public_id).first()

    def many(self, values: list) -> list[Report]:
        """:meth:`any` for each of ``values``, in order, looking up which documents are ours
        with one query for the whole batch instead of one each. Only the columns the checks
        read are loaded (not the stored document, several KB a row)."""
        wanted = {
            public_id
            for value in values
            if isinstance(value, dict) and (public_id := _document_public_id(value))
        }
        if wanted:
            self.known = dict.fromkeys(wanted)
            for credential in Credential.objects.filter(public_id__in=wanted).only(
                "id", "public_id", "status", "status_reason"
            ):
                self.known[credential.public_id] = credential
        return [self.any(value) for value in values]

    def credential_id(self, value: str) -> Report:
        public_id = _uuid_or_none(value.removeprefix("urn:uuid:"))
        credential = Credential.objects.filter(public_id=public_id).first() if public_id else None
        if credential is None:
            return failed_input(
                "unknown_credential", _("No certificate with this id was issued here.")
            )
        if not credential.document:  # its holder deleted their account (cms.privacy)
            return _withdrawn(credential)
        return self.document(json.loads(credential.document), credential=credential)

    def compact(self, text: str) -> Report:
        try:
            compact = compact_parse(text)
        except CompactFormError as exc:
            return failed_input(
                "malformed", _("Not a valid certificate QR code: %(error)s") % {"error": exc}
            )
        claims = compact.claims
        if _did_of(compact.verification_method) != claims["iss"]:
            proof = Check(
                FAIL, "not_signed_by_issuer", _("The QR code is not signed by its issuer.")
            )
        else:
            try:
                key = self.resolver(compact.verification_method)
            except UnsupportedMethod:
                key = None
                proof = Check(UNKNOWN, "unsupported", _("Unsupported DID method."))
            except LookupError:
                key = None
                proof = Check(FAIL, "unknown_key", PROOF_REASONS["unknown_key"]())
            if key is not None:
                proof = (
                    Check(PASS, "verified", _("The QR code's signature is the issuer's."))
                    if compact.verify(key)
                    else Check(FAIL, "tampered", PROOF_REASONS["tampered"]())
                )
        pseudo = {"issuer": claims["iss"], "validFrom": claims["nbf"]}
        if claims["exp"] is not None:
            pseudo["validUntil"] = claims["exp"]
        issuer, issuer_name = check_issuer(pseudo, self.organizations)
        entries = [
            {
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListCredential": url,
                "statusListIndex": str(index),
            }
            for purpose, url, index in claims["st"]
        ]
        credential = None
        public_id = _uuid_or_none(str(claims["id"]).removeprefix("urn:uuid:"))
        if public_id:
            credential = Credential.objects.filter(public_id=public_id).first()
        status = self.status.check(pseudo, entries or None, credential)
        checks = {
            "proof": proof,
            "issuer": issuer,
            "status": status,
            "validity": check_validity(pseudo, self.now),
            "schema": Check(PASS, "compact", _("A compact certificate (version 1).")),
        }
        summary = {
            "id": claims["id"],
            "number": claims["n"],
            "name": claims["ach"],
            "holder": claims["sub"],
            "issuer": claims["iss"],
            "validFrom": claims["nbf"],
            "validUntil": claims["exp"],
        }
        return Report(
            checks=checks, credential=credential, issuer_name=issuer_name, summary=summary
        )

    def any(self, value) -> Report:
        """A credential document (object or JSON text), a credential id, or a QR payload."""
        if isinstance(value, dict):
            return self.document(value)
        if not isinstance(value, str) or not value.strip():
            return failed_input("malformed", _("Give a credential, a credential id or a QR code."))
        text = value.strip()
        if text.startswith("RW1:"):
            return self.compact(text)
        if text.startswith("{"):
            try:
                return self.document(json.loads(text))
            except ValueError:
                return failed_input("malformed", _("This is not valid JSON."))
        return self.credential_id(text)


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _document_public_id(document: dict) -> uuid.UUID | None:
    cid = document.get("id")
    if not isinstance(cid, str) or not cid.startswith("urn:uuid:"):
        return None
    return _uuid_or_none(cid.removeprefix("urn:uuid:"))


def _summary(document: dict) -> dict:
    subject = document.get("credentialSubject") if isinstance(document, dict) else None
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    identifiers = subject.get("identifier") if isinstance(subject.get("identifier"), list) else []
    holder = next(
        (i.get("identityHash") for i in identifiers if isinstance(i, dict) and not i.get("hashed")),
        None,
    )
    return {
        "id": document.get("id"),
        "number": subject.get("licenseNumber"),
        "name": achievement.get("name") or document.get("name"),
        "holder": holder,
        "issuer": _issuer_id(document),
        "validFrom": document.get("validFrom"),
        "validUntil": document.get("validUntil"),
    }


def verify(value, *, fetch: Fetcher | None = None) -> Report:
    return Verifier(fetch=fetch).any(value)
