"""Data Integrity proofs with the W3C EdDSA cryptosuites ``eddsa-rdfc-2022`` and ``eddsa-jcs-2022``.

Follows the vc-di-eddsa specification step by step; each step is its own small function so that
the tests can compare every intermediate value with the W3C and Open Badges test vectors:

1. transformation: the document without its proof, canonicalised (RDFC-1.0 N-Quads or JCS);
2. proof configuration: the proof options without ``proofValue``, with the document's
   ``@context`` when the proof has none, canonicalised the same way;
3. hashing: SHA-256(canonical proof configuration) ‖ SHA-256(canonical document);
4. signing: Ed25519 over those 64 bytes; ``proofValue`` is the signature in multibase base58btc.

A document may carry several proofs (a proof set, ``proof`` as a list): each is made over the
document without any proof, except that a proof naming ``previousProof`` also covers the proofs
it names (a proof chain). :func:`verify_proof` checks every proof and reports each one.
"""

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import (
    CanonicalizationError,
    UndefinedTermError,
    canonicalize_jcs,
    canonicalize_rdfc,
)
from .contexts import ContextNotAllowed
from .multikey import (
    MultikeyError,
    multibase_decode,
    multibase_encode,
    public_key_from_did_key,
    public_key_from_multibase,
)

PROOF_TYPE = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"
CRYPTOSUITES = {EDDSA_RDFC_2022: canonicalize_rdfc, EDDSA_JCS_2022: canonicalize_jcs}

# Reasons a proof does or does not verify (ProofResult.reason).
VERIFIED = "verified"
TAMPERED = "tampered"
UNKNOWN_KEY = "unknown_key"
NO_PROOF = "no_proof"
MALFORMED_PROOF = "malformed_proof"
UNSUPPORTED_CRYPTOSUITE = "unsupported_cryptosuite"
WRONG_PURPOSE = "wrong_purpose"
CONTEXT_MISMATCH = "context_mismatch"
UNKNOWN_CONTEXT = "unknown_context"
MALFORMED_DOCUMENT = "malformed_document"
UNDEFINED_TERM = "undefined_term"
MISSING_PREVIOUS_PROOF = "missing_previous_proof"

PublicKeyResolver = Callable[[str], "Ed25519PublicKey | str | None"]


class ProofError(ValueError):
    """A proof cannot be created from these inputs."""


@dataclass(frozen=True)
class ProofResult:
    """The outcome of checking one proof: ``reason`` is one of the constants above."""

    verified: bool
    reason: str
    message: str
    verification_method: str | None = None
    cryptosuite: str | None = None
    proof_id: str | None = None


@dataclass(frozen=True)
class VerificationResult:
    """All proofs of a document: verified only if there is at least one and every one verifies."""

    verified: bool
    reason: str
    message: str
    proofs: tuple[ProofResult, ...] = ()


class _Failure(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- the algorithm's steps ---------------------------------------------------------------------


def transform(unsecured_document: dict, cryptosuite: str) -> str:
    """Step 1: the canonical form of the document (which must carry no ``proof``)."""
    return _canonicalizer(cryptosuite)(unsecured_document)


def proof_configuration(proof_options: dict, unsecured_document: dict, cryptosuite: str) -> str:
    """Step 2: the canonical proof configuration (options without ``proofValue``)."""
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    if "@context" not in config and "@context" in unsecured_document:
        config["@context"] = unsecured_document["@context"]
    return _canonicalizer(cryptosuite)(config)


def hash_data(canonical_proof_config: str, canonical_document: str) -> bytes:
    """Step 3: SHA-256(proof configuration) ‖ SHA-256(document), the 64 bytes that are signed."""
    proof_hash = hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonical_document.encode("utf-8")).digest()
    return proof_hash + document_hash


def _canonicalizer(cryptosuite: str) -> Callable[[dict], str]:
    try:
        return CRYPTOSUITES[cryptosuite]
    except KeyError:
        raise ProofError(f"unsupported cryptosuite {cryptosuite!r}") from None


# --- creating proofs ---------------------------------------------------------------------------


def format_datetime(value: datetime | str | None) -> str:
    """An XML Schema dateTime in UTC to the second (``2023-02-24T23:36:38Z``); None is now."""
    if isinstance(value, str):
        return value
    value = value or datetime.now(UTC)
    if value.tzinfo is None:
        raise ProofError("created must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_options(
    document: dict,
    *,
    verification_method: str,
    cryptosuite: str = EDDSA_RDFC_2022,
    proof_purpose: str = "assertionMethod",
    created: datetime | str | None = None,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict:
    """The proof as it will appear in the document, before ``proofValue`` is added.

    eddsa-jcs-2022 copies the document's ``@context`` into the proof itself; eddsa-rdfc-2022
    only uses it while canonicalising the proof configuration.
    """
    _canonicalizer(cryptosuite)
    options = {"type": PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options |= {
        "cryptosuite": cryptosuite,
        "created": format_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    if cryptosuite == EDDSA_JCS_2022 and "@context" in document:
        options["@context"] = document["@context"]
    return options


def create_proof(
    document: dict,
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    proof_purpose: str = "assertionMethod",
    created: datetime | str | None = None,
    cryptosuite: str = EDDSA_RDFC_2022,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict:
    """A copy of ``document`` with one more proof; a second proof turns ``proof`` into a list."""
    existing = proofs_of(document)
    options = proof_options(
        document,
        verification_method=verification_method,
        cryptosuite=cryptosuite,
        proof_purpose=proof_purpose,
        created=created,
        proof_id=proof_id,
        previous_proof=previous_proof,
    )
    try:
        unsecured = _document_to_secure(document, existing, options)
    except _Failure as failure:
        raise ProofError(failure.message) from None
    data = hash_data(
        proof_configuration(options, unsecured, cryptosuite), transform(unsecured, cryptosuite)
    )
    proof = options | {"proofValue": multibase_encode(private_key.sign(data))}
    secured = copy.deepcopy(document)
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


def proofs_of(document: dict) -> list:
    """The document's proofs as a list (empty if it has none)."""
    proof = document.get("proof")
    if proof is None:
        return []
    return list(proof) if isinstance(proof, list) else [proof]


def _without_proof(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "proof"}


def _document_to_secure(document: dict, all_proofs: list, proof: dict) -> dict:
    """The document without proofs, plus the earlier proofs that ``previousProof`` names."""
    unsecured = _without_proof(document)
    previous = proof.get("previousProof")
    if previous is None:
        return unsecured
    wanted = [previous] if isinstance(previous, str) else previous
    if not isinstance(wanted, list) or not all(isinstance(item, str) for item in wanted):
        raise _Failure(MALFORMED_PROOF, "previousProof must be a proof id or a list of them")
    matching = [p for p in all_proofs if isinstance(p, dict) and p.get("id") in wanted]
    if len(matching) != len(wanted):
        raise _Failure(MISSING_PREVIOUS_PROOF, "a proof named in previousProof is missing")
    unsecured["proof"] = matching
    return unsecured


# --- verifying proofs --------------------------------------------------------------------------


def verify_proof(
    document: dict,
    *,
    public_key_resolver: PublicKeyResolver,
    expected_proof_purpose: str = "assertionMethod",
) -> VerificationResult:
    """Verify every proof on ``document``.

    ``public_key_resolver`` maps a verification method id to its Ed25519 public key (a key
    object or a ``publicKeyMultibase`` string), or returns None / raises LookupError if it does
    not know it. It must only return keys their controller authorises for the proof purpose.
    """
    proofs = proofs_of(document)
    if not proofs:
        return VerificationResult(False, NO_PROOF, "the document carries no proof")
    results = tuple(
        _verify_one(document, proofs, proof, public_key_resolver, expected_proof_purpose)
        for proof in proofs
    )
    failed = next((result for result in results if not result.verified), None)
    if failed is not None:
        return VerificationResult(False, failed.reason, failed.message, results)
    return VerificationResult(True, VERIFIED, f"{len(results)} proof(s) verified", results)


def _verify_one(document, all_proofs, proof, resolver, expected_purpose) -> ProofResult:
    if not isinstance(proof, dict):
        return ProofResult(False, MALFORMED_PROOF, "a proof is not a JSON object")
    details = {
        "verification_method": proof.get("verificationMethod"),
        "cryptosuite": proof.get("cryptosuite"),
        "proof_id": proof.get("id"),
    }
    try:
        _check_one(document, all_proofs, proof, resolver, expected_purpose)
    except _Failure as failure:
        return ProofResult(False, failure.reason, failure.message, **details)
    return ProofResult(True, VERIFIED, "the signature matches the document", **details)


def _check_one(document, all_proofs, proof, resolver, expected_purpose) -> None:
    cryptosuite = _check_proof_shape(proof, expected_purpose)
    signature = _decode_signature(proof["proofValue"])
    public_key = _resolve_key(resolver, proof["verificationMethod"])
    unsecured = _document_to_secure(document, all_proofs, proof)
    if "@context" in proof:
        unsecured["@context"] = _check_context(document, proof["@context"])
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    try:
        data = hash_data(
            proof_configuration(options, unsecured, cryptosuite),
            transform(unsecured, cryptosuite),
        )
    except ContextNotAllowed as exc:
        raise _Failure(UNKNOWN_CONTEXT, str(exc)) from None
    except UndefinedTermError as exc:
        raise _Failure(UNDEFINED_TERM, f"{exc}, so no signature can cover it") from None
    except CanonicalizationError as exc:
        raise _Failure(MALFORMED_DOCUMENT, str(exc)) from None
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise _Failure(
            TAMPERED,
            "the signature does not match: the credential or its proof was changed after "
            "signing, or it was not signed with this key",
        ) from None


def _check_proof_shape(proof: dict, expected_purpose: str) -> str:
    if proof.get("type") != PROOF_TYPE:
        raise _Failure(MALFORMED_PROOF, f"proof type must be {PROOF_TYPE}")
    cryptosuite = proof.get("cryptosuite")
    if cryptosuite not in CRYPTOSUITES:
        raise _Failure(UNSUPPORTED_CRYPTOSUITE, f"unsupported cryptosuite {cryptosuite!r}")
    if proof.get("proofPurpose") != expected_purpose:
        raise _Failure(WRONG_PURPOSE, f"proof purpose is not {expected_purpose!r}")
    for field in ("verificationMethod", "proofValue", "created"):
        if not isinstance(proof.get(field), str):
            raise _Failure(MALFORMED_PROOF, f"proof has no {field}")
    return cryptosuite


def _decode_signature(proof_value: str) -> bytes:
    try:
        signature = multibase_decode(proof_value)
    except MultikeyError as exc:
        raise _Failure(MALFORMED_PROOF, f"proofValue: {exc}") from None
    if len(signature) != 64:
        raise _Failure(MALFORMED_PROOF, "proofValue is not a 64-byte Ed25519 signature")
    return signature


def _resolve_key(resolver: PublicKeyResolver, verification_method: str) -> Ed25519PublicKey:
    try:
        key = resolver(verification_method)
        if isinstance(key, str):
            key = public_key_from_multibase(key)
    except (LookupError, MultikeyError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise _Failure(UNKNOWN_KEY, f"unknown verification method {verification_method!r}")
    return key


def _check_context(document: dict, proof_context) -> list:
    """The proof's ``@context`` must be a prefix of the document's; it replaces it for hashing."""
    wanted = proof_context if isinstance(proof_context, list) else [proof_context]
    have = document.get("@context")
    have = have if isinstance(have, list) else [have]
    if have[: len(wanted)] != wanted:
        raise _Failure(CONTEXT_MISMATCH, "the proof's @context does not match the document's")
    return proof_context


# --- public key resolvers ----------------------------------------------------------------------


def did_key_resolver(verification_method: str) -> Ed25519PublicKey | None:
    """Resolve ``did:key`` Ed25519 verification methods (the key is in the identifier)."""
    try:
        return public_key_from_did_key(verification_method)
    except MultikeyError:
        return None


def static_resolver(
    keys: dict[str, Ed25519PublicKey | str], *, fallback: PublicKeyResolver | None = None
) -> PublicKeyResolver:
    """A resolver over a fixed map of verification method id -> key (or publicKeyMultibase)."""

    def resolve(verification_method: str):
        if verification_method in keys:
            return keys[verification_method]
        return fallback(verification_method) if fallback else None

    return resolve
