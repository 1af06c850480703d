"""Signing and verifying credentials: Ed25519 Multikeys, canonical forms, EdDSA Data Integrity.

Pure library code (no models, no network). See ``eddsa`` for the proof algorithms.
"""

from .canonical import (
    CanonicalizationError,
    UndefinedTermError,
    canonicalize_jcs,
    canonicalize_rdfc,
    escape_literal,
)
from .contexts import LOCAL_CONTEXTS, ContextNotAllowed, document_loader
from .eddsa import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    ProofError,
    ProofResult,
    VerificationResult,
    create_proof,
    did_key_resolver,
    hash_data,
    proof_configuration,
    proof_options,
    proofs_of,
    static_resolver,
    transform,
    verify_proof,
)
from .multikey import (
    MultikeyError,
    did_key_verification_method,
    multibase_decode,
    multibase_encode,
    private_key_from_multibase,
    private_key_to_multibase,
    public_key_from_did_key,
    public_key_from_multibase,
    public_key_to_multibase,
)

__all__ = [
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "LOCAL_CONTEXTS",
    "CanonicalizationError",
    "ContextNotAllowed",
    "MultikeyError",
    "ProofError",
    "ProofResult",
    "UndefinedTermError",
    "VerificationResult",
    "canonicalize_jcs",
    "canonicalize_rdfc",
    "create_proof",
    "did_key_resolver",
    "did_key_verification_method",
    "document_loader",
    "escape_literal",
    "hash_data",
    "multibase_decode",
    "multibase_encode",
    "private_key_from_multibase",
    "private_key_to_multibase",
    "proof_configuration",
    "proof_options",
    "proofs_of",
    "public_key_from_did_key",
    "public_key_from_multibase",
    "public_key_to_multibase",
    "static_resolver",
    "transform",
    "verify_proof",
]
