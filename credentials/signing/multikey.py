"""Ed25519 keys as Multikey strings, and the base58btc multibase encoding they use.

A Multikey public key is ``"z" + base58btc(0xed01 + 32-byte public key)`` and a secret key is
``"z" + base58btc(0x8026 + 32-byte seed)`` (W3C Controlled Identifiers, vc-di-eddsa). Some
publishers (the Open Badges 3.0 example) append the public key to the seed; that 64-byte form
is accepted when reading, and checked against the seed.

base58btc encoding comes from the ``base58`` package (PyPI), whose default alphabet is
Bitcoin's; decoding, which every verification does, is :func:`b58decode` here: the same result
(a test compares them) in a few microseconds instead of about sixty.
"""

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_PUBLIC_PREFIX = b"\xed\x01"
ED25519_SECRET_PREFIX = b"\x80\x26"
BASE58BTC_PREFIX = "z"


class MultikeyError(ValueError):
    """A string is not a valid base58btc multibase value or Ed25519 Multikey."""


_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = {code: value for value, code in enumerate(_B58_ALPHABET)}


def b58decode(text: str) -> bytes:
    """Bitcoin-alphabet base58 to bytes (leading "1"s are leading zero bytes); ValueError on a
    character outside the alphabet."""
    try:
        data = text.encode("ascii")
        number = 0
        for code in data:
            number = number * 58 + _B58_VALUE[code]
    except (UnicodeEncodeError, KeyError):
        raise ValueError("invalid character in base58 text") from None
    zeros = len(data) - len(data.lstrip(b"1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def multibase_encode(data: bytes) -> str:
    """Encode bytes as multibase base58btc ("z" prefix)."""
    return BASE58BTC_PREFIX + base58.b58encode(data).decode("ascii")


def multibase_decode(value: str) -> bytes:
    """Decode a multibase base58btc string; any other multibase prefix is refused."""
    if not isinstance(value, str) or not value.startswith(BASE58BTC_PREFIX):
        raise MultikeyError("expected a multibase base58btc value starting with 'z'")
    try:
        return b58decode(value[1:])
    except ValueError as exc:
        raise MultikeyError(f"invalid base58btc: {exc}") from exc


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_to_multibase(public_key: Ed25519PublicKey) -> str:
    """An Ed25519 public key as ``publicKeyMultibase``."""
    return multibase_encode(ED25519_PUBLIC_PREFIX + public_key_bytes(public_key))


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Read a ``publicKeyMultibase`` Ed25519 Multikey."""
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PUBLIC_PREFIX) or len(raw) != 34:
        raise MultikeyError("not an Ed25519 Multikey public key (0xed01 + 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_key_to_multibase(private_key: Ed25519PrivateKey) -> str:
    """An Ed25519 private key as ``secretKeyMultibase`` (0x8026 + 32-byte seed)."""
    seed = private_key.private_bytes_raw()
    return multibase_encode(ED25519_SECRET_PREFIX + seed)


def private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    """Read an Ed25519 secret Multikey: 0x8026 + seed, or 0x8026 + seed + public key."""
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_SECRET_PREFIX) or len(raw) not in (34, 66):
        raise MultikeyError("not an Ed25519 Multikey secret key (0x8026 + 32 or 64 bytes)")
    private_key = Ed25519PrivateKey.from_private_bytes(raw[2:34])
    if len(raw) == 66 and public_key_bytes(private_key.public_key()) != raw[34:]:
        raise MultikeyError("the public half of the secret key does not match its seed")
    return private_key


def did_key_verification_method(public_key: Ed25519PublicKey) -> str:
    """The did:key verification method id of a public key: ``did:key:z6Mk…#z6Mk…``."""
    multibase = public_key_to_multibase(public_key)
    return f"did:key:{multibase}#{multibase}"


def public_key_from_did_key(verification_method: str) -> Ed25519PublicKey:
    """The Ed25519 public key named by a did:key verification method (or bare did:key DID).

    The fragment, when present, must repeat the method-specific id, as did:key requires.
    """
    if not verification_method.startswith("did:key:"):
        raise MultikeyError("not a did:key identifier")
    did, _, fragment = verification_method.partition("#")
    multibase = did.removeprefix("did:key:")
    if fragment and fragment != multibase:
        raise MultikeyError("did:key fragment does not match the key")
    return public_key_from_multibase(multibase)
