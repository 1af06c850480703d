"""Issuers' Ed25519 keys: created, rotated, encrypted at rest, handed to the signer.

Private keys are stored as a Fernet token (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
of the 32-byte seed. The Fernet key is derived with HKDF-SHA256 from
``settings.CREDENTIALS_KEY_ENCRYPTION_KEY``. That setting may hold several comma-separated
values to rotate it: the first encrypts, each of them decrypts (``MultiFernet``); after a
rotation, re-encrypt with ``issuer_keys_reencrypt()`` and drop the old value.

After decrypting, the seed's public key is compared with the stored ``public_key_multibase``,
so a ciphertext moved to another row is refused. The seed is never logged or returned in
clear, except as the key object the signer needs.
"""

import base64
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from cms.audit import SYSTEM_COMMAND, audit
from cms.models import Organization, User
from credentials.models import IssuerKey
from credentials.signing import public_key_to_multibase

HKDF_INFO = b"roadwise credentials issuer-key encryption v1"
KEY_ID_PATTERN = re.compile(r"^key-(\d+)$")


class IssuerKeyDecryptionError(ImproperlyConfigured):
    """An issuer's private key cannot be decrypted with the configured encryption key(s)."""


class NotAnIssuer(ValueError):
    """The organisation does not issue certificates (platforms verify, they do not issue)."""


# --- encryption at rest ----------------------------------------------------------------------


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    secrets = [s.strip() for s in settings.CREDENTIALS_KEY_ENCRYPTION_KEY.split(",") if s.strip()]
    if not secrets:
        raise ImproperlyConfigured("CREDENTIALS_KEY_ENCRYPTION_KEY is empty.")
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def encrypt_seed(seed: bytes) -> str:
    """The Fernet token of a 32-byte Ed25519 seed, under the first configured encryption key."""
    return _fernet().encrypt(seed).decode("ascii")


def decrypt_private_key(issuer_key: IssuerKey) -> Ed25519PrivateKey:
    """The private key of ``issuer_key``; IssuerKeyDecryptionError if it cannot be recovered."""
    try:
        seed = _fernet().decrypt(issuer_key.encrypted_private_key.encode("ascii"))
    except InvalidToken:
        raise IssuerKeyDecryptionError(
            f"Cannot decrypt issuer key {issuer_key}: CREDENTIALS_KEY_ENCRYPTION_KEY does not "
            "hold the key it was encrypted with."
        ) from None
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if public_key_to_multibase(private_key.public_key()) != issuer_key.public_key_multibase:
        raise IssuerKeyDecryptionError(
            f"Issuer key {issuer_key}: the decrypted private key does not match its public key."
        )
    return private_key


def issuer_keys_reencrypt() -> int:
    """Re-encrypt every issuer key under the first configured encryption key; returns the count."""
    fernet = _fernet()
    count = 0
    with transaction.atomic():
        for issuer_key in IssuerKey.objects.select_for_update().order_by("pk"):
            decrypt_private_key(issuer_key)  # checks the key pair before rewriting it
            token = fernet.rotate(issuer_key.encrypted_private_key.encode("ascii"))
            issuer_key.encrypted_private_key = token.decode("ascii")
            issuer_key.save(update_fields=["encrypted_private_key"])
            count += 1
    return count


# --- services --------------------------------------------------------------------------------


def issuer_did(organization: Organization) -> str:
    """The organisation's DID: ``did:web:<host>:issuers:<slug>``."""
    from credentials.did import organization_did

    return organization_did(organization)


def _check_issuer(organization: Organization) -> None:
    if organization.kind == Organization.Kind.PLATFORM:
        raise NotAnIssuer(f"{organization.slug} is a platform; platforms do not issue.")


def _create_key(organization: Organization, number: int) -> IssuerKey:
    private_key = Ed25519PrivateKey.generate()
    return IssuerKey.objects.create(
        organization=organization,
        key_id=f"key-{number}",
        public_key_multibase=public_key_to_multibase(private_key.public_key()),
        encrypted_private_key=encrypt_seed(private_key.private_bytes_raw()),
    )


def _next_number(organization: Organization) -> int:
    numbers = [
        int(match.group(1))
        for key_id in IssuerKey.objects.filter(organization=organization).values_list(
            "key_id", flat=True
        )
        if (match := KEY_ID_PATTERN.match(key_id))
    ]
    return max(numbers, default=0) + 1


def _lock(organization: Organization) -> None:
    """Serialise key changes of one organisation (row lock on PostgreSQL)."""
    list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))


def issuer_key_ensure(*, organization: Organization) -> IssuerKey:
    """The organisation's current key, created (``key-1``, or the next number) if it has none."""
    _check_issuer(organization)
    with transaction.atomic():
        _lock(organization)
        current = IssuerKey.objects.filter(organization=organization, retired_at=None).first()
        if current is not None:
            return current
        return _create_key(organization, _next_number(organization))


def issuer_key_rotate(
    *, organization: Organization, user: User | None = None, actor_label: str | None = None
) -> IssuerKey:
    """Retire the current key (kept, still resolvable) and make ``key-N+1`` the current one.
    ``user`` / ``actor_label``: who rotated it, for the audit log."""
    _check_issuer(organization)
    with transaction.atomic():
        _lock(organization)
        retired = list(
            IssuerKey.objects.filter(organization=organization, retired_at=None).values_list(
                "key_id", flat=True
            )
        )
        IssuerKey.objects.filter(organization=organization, retired_at=None).update(
            retired_at=timezone.now()
        )
        issuer_key = _create_key(organization, _next_number(organization))
        audit(
            "roadwise.issuer_key.rotate",
            issuer_key,
            user=user,
            actor_label=actor_label or (None if user else SYSTEM_COMMAND),
            data={
                "issuer": organization.slug,
                "retired": retired,
                "current": issuer_key.key_id,
                "public_key": issuer_key.public_key_multibase,
            },
        )
        return issuer_key


def issuer_signing_key(*, organization: Organization) -> tuple[Ed25519PrivateKey, str]:
    """The current private key and its verification method id (``<did>#key-N``)."""
    issuer_key = issuer_key_ensure(organization=organization)
    return decrypt_private_key(issuer_key), f"{issuer_did(organization)}#{issuer_key.key_id}"
