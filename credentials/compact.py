"""The compact signed form of a certificate, small enough for a QR code that is checked offline.

A full credential with its proof set is several kilobytes: too dense for a QR code a phone
camera reads from another phone's screen. The compact form carries the claims a platform needs
at a glance, signed by the issuer's own key (the same key as the credential's proof)::

    RW1:<base64url(JCS(claims))>.<base64url(Ed25519 signature over the JCS bytes)>

``claims`` are ``{"v": 1, "id", "n" (certificate number), "iss" (issuer DID), "kid"
(verification method), "sub" (holder name), "ach" (achievement name), "nbf", "exp" (or null),
"st": [[purpose, status list URL, index], ...]}``. A verifier that has the issuer's DID
document (cached) checks the signature and validity offline, and the status lists when online.
"""

import base64
import json
from dataclasses import dataclass

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "RW1:"
MAX_LENGTH = 2000


class CompactFormError(ValueError):
    """Not a compact certificate, or a malformed one."""


@dataclass(frozen=True)
class CompactCredential:
    claims: dict
    signed_bytes: bytes
    signature: bytes

    @property
    def verification_method(self) -> str:
        return self.claims["kid"]

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, self.signed_bytes)
        except InvalidSignature:
            return False
        return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_ALPHABET for c in text):
        raise CompactFormError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def compact_claims(document: dict, *, number: str, verification_method: str) -> dict:
    """The claims of the compact form, taken from a credential document."""
    identifiers = document["credentialSubject"].get("identifier") or [{}]
    return {
        "v": 1,
        "id": document["id"],
        "n": number,
        "iss": document["issuer"]["id"],
        "kid": verification_method,
        "sub": identifiers[0].get("identityHash", ""),
        "ach": document["credentialSubject"]["achievement"]["name"],
        "nbf": document["validFrom"],
        "exp": document.get("validUntil"),
        "st": [
            [entry["statusPurpose"], entry["statusListCredential"], int(entry["statusListIndex"])]
            for entry in document.get("credentialStatus", [])
        ],
    }


def compact_sign(claims: dict, private_key: Ed25519PrivateKey) -> str:
    data = rfc8785.dumps(claims)
    return f"{PREFIX}{_b64(data)}.{_b64(private_key.sign(data))}"


def compact_parse(text: str) -> CompactCredential:
    """Split and decode a compact form; CompactFormError if it is not one."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise CompactFormError("not a Roadwise compact certificate (it must start with RW1:)")
    if len(text) > MAX_LENGTH:
        raise CompactFormError("the compact certificate is too long")
    body, dot, signature = text[len(PREFIX) :].strip().partition(".")
    if not dot:
        raise CompactFormError("the compact certificate has no signature")
    signed_bytes = _unb64(body)
    signature_bytes = _unb64(signature)
    if len(signature_bytes) != 64:
        raise CompactFormError("the signature is not a 64-byte Ed25519 signature")
    try:
        claims = json.loads(signed_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CompactFormError("the claims are not JSON") from None
    required = {"v", "id", "n", "iss", "kid", "sub", "ach", "nbf", "exp", "st"}
    if not isinstance(claims, dict) or claims.get("v") != 1 or not required <= claims.keys():
        raise CompactFormError("the claims are not those of a version 1 compact certificate")
    if not isinstance(claims["kid"], str) or not isinstance(claims["iss"], str):
        raise CompactFormError("kid and iss must be strings")
    st = claims["st"]
    if not isinstance(st, list) or not all(
        isinstance(item, list)
        and len(item) == 3
        and isinstance(item[0], str)
        and isinstance(item[1], str)
        and isinstance(item[2], int)
        for item in st
    ):
        raise CompactFormError("st must be a list of [purpose, list URL, index]")
    return CompactCredential(claims, signed_bytes, signature_bytes)
