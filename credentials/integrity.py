"""Is every certificate this site issued still sound? For restores from backup and for operators.

Each stored credential must verify as a stranger would verify it (signature, issuer DID
document, schema, status list), say what the database says about its status, have its QR
form signed by the same issuer, and keep its PDF; every issuer key must decrypt with the
configured CREDENTIALS_KEY_ENCRYPTION_KEY (without it no new certificate can be signed).
Nothing here writes to the database."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.files.storage import default_storage

from credentials.keys import IssuerKeyDecryptionError, decrypt_private_key
from credentials.models import Credential, IssuerKey, StatusList
from credentials.verification import PASS, Verifier

BATCH = 200
# Validity answers that say nothing is wrong with the stored credential itself.
_SOUND_VALIDITY = {"valid", "expired"}


@dataclass
class IntegrityReport:
    credentials: int = 0
    active: int = 0
    revoked: int = 0
    suspended: int = 0
    pdfs: int = 0
    issuer_keys: int = 0
    status_lists: int = 0
    problems: list[str] = field(default_factory=list)


def _batches(queryset, size: int = BATCH) -> Iterator[list]:
    batch = []
    for row in queryset.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _credential_problems(credential: Credential, report, verifier: Verifier) -> list[str]:
    name = f"credential {credential.number}"
    problems = []
    for check in ("proof", "issuer", "schema"):
        if report.checks[check].result != PASS:
            problems.append(f"{name}: {check} check says {report.checks[check].code}")
    if report.checks["validity"].code not in _SOUND_VALIDITY:
        problems.append(f"{name}: validity check says {report.checks['validity'].code}")
    status = report.checks["status"]
    expected = {
        Credential.Status.ACTIVE: "active",
        Credential.Status.REVOKED: "revoked",
        Credential.Status.SUSPENDED: "suspended",
    }[credential.status]
    if status.code != expected:
        problems.append(
            f"{name}: the database says {credential.status}, its status list says {status.code}"
        )
    revoked_bit = credential.revocation_list.bit(credential.revocation_index)
    suspended_bit = credential.suspension_list.bit(credential.suspension_index)
    if revoked_bit != (credential.status == Credential.Status.REVOKED) or suspended_bit != (
        credential.status == Credential.Status.SUSPENDED
    ):
        problems.append(f"{name}: its status bits disagree with its status {credential.status}")
    if str(report.document.get("id", "")).removeprefix("urn:uuid:") != str(credential.public_id):
        problems.append(f"{name}: the signed document names another credential")
    if credential.compact:
        compact = verifier.compact(credential.compact)
        if compact.checks["proof"].result != PASS:
            problems.append(f"{name}: its QR form says {compact.checks['proof'].code}")
    if credential.pdf:
        if not default_storage.exists(credential.pdf.name):
            problems.append(f"{name}: its PDF {credential.pdf.name} is missing from storage")
    return problems


def check_credentials() -> IntegrityReport:
    """Verify every issued credential, status list and issuer key; problems in ``problems``."""
    result = IntegrityReport()
    for issuer_key in IssuerKey.objects.select_related("organization").order_by("pk"):
        result.issuer_keys += 1
        try:
            decrypt_private_key(issuer_key)
        except IssuerKeyDecryptionError as exc:
            result.problems.append(str(exc))
    for status_list in StatusList.objects.select_related("issuer").order_by("pk"):
        result.status_lists += 1
        if not status_list.signed_document and status_list.allocated:
            result.problems.append(f"status list {status_list} in use but never signed")
    verifier = Verifier()
    rows = Credential.objects.select_related("revocation_list", "suspension_list").order_by("pk")
    for batch in _batches(rows):
        documents = []
        for credential in batch:
            try:
                documents.append(json.loads(credential.document))
            except ValueError:
                documents.append(None)
        verifier.known = {credential.public_id: credential for credential in batch}
        for credential, document in zip(batch, documents, strict=True):
            result.credentials += 1
            setattr(result, credential.status, getattr(result, credential.status) + 1)
            if credential.pdf:
                result.pdfs += 1
            if document is None:
                result.problems.append(f"credential {credential.number}: not valid JSON")
                continue
            report = verifier.document(document, credential=credential)
            result.problems.extend(_credential_problems(credential, report, verifier))
    return result
