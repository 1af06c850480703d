"""did:web DIDs and DID documents of the organisations that issue through Roadwise.

An issuer's DID is ``did:web:<host>:issuers:<slug>`` where ``<host>`` is
``settings.DID_WEB_HOST`` with a port's colon percent-encoded (``127.0.0.1%3A8000``), as
did:web requires. did:web maps it to ``https://<host>/issuers/<slug>/did.json``, which
``credentials.views.did_document`` serves.
"""

from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from cms.models import Organization
from credentials.models import IssuerKey
from credentials.signing import public_key_from_multibase

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
ISSUERS_PATH = "issuers"


def did_web_host(host: str | None = None) -> str:
    """The did:web method-specific host: the port's colon becomes ``%3A``."""
    host = settings.DID_WEB_HOST if host is None else host
    return quote(host.lower(), safe="[]")


def did_prefix() -> str:
    return f"did:web:{did_web_host()}:{ISSUERS_PATH}:"


def organization_did(organization: Organization) -> str:
    return did_prefix() + organization.slug


def issuing_organizations():
    return Organization.objects.exclude(kind=Organization.Kind.PLATFORM)


def did_document(organization: Organization) -> dict:
    """The DID document of an issuing organisation.

    Every key the organisation has ever had is a ``Multikey`` verification method, and every
    one of them is in ``assertionMethod``: a verifier checks a credential's proof against the
    key its ``verificationMethod`` names *and* checks that the DID document authorises that key
    for the proof's purpose (``assertionMethod``). If a retired key left ``assertionMethod``,
    every certificate signed before the rotation would stop verifying in any conforming
    verifier, although nothing about it changed. Rotation here is routine hygiene, not a
    response to compromise: a retired key signs nothing new because its private half is never
    used again, not because the world is told to distrust it. (A *compromised* key must instead
    be removed from the document altogether and its certificates reissued; that is a different
    operation, not built yet.)

    ``authentication`` lists only the current key: it proves control of the DID now, which
    only the current key should do.
    """
    did = organization_did(organization)
    keys = list(IssuerKey.objects.filter(organization=organization).order_by("created_at", "pk"))
    methods = [
        {
            "id": f"{did}#{key.key_id}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_key_multibase,
        }
        for key in keys
    ]
    current = [f"{did}#{key.key_id}" for key in keys if key.retired_at is None]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
        "authentication": current,
    }


def resolve_verification_method(vm_id: str) -> Ed25519PublicKey:
    """The public key of one of our issuers' verification methods, from the database.

    Usable as ``public_key_resolver`` of ``credentials.signing.verify_proof``; every key it
    returns is in its DID's ``assertionMethod``. Raises LookupError for anything else (other
    hosts, other DID methods, unknown organisations or keys, platforms). No network.
    """
    if not isinstance(vm_id, str):
        raise LookupError("a verification method id must be a string")
    did, separator, fragment = vm_id.partition("#")
    prefix = did_prefix()
    if not separator or not fragment or not did.startswith(prefix):
        raise LookupError(f"not a verification method of a Roadwise issuer: {vm_id}")
    slug = did.removeprefix(prefix)
    key = (
        IssuerKey.objects.filter(
            organization__in=issuing_organizations(), organization__slug=slug, key_id=fragment
        )
        .only("public_key_multibase")
        .first()
    )
    if key is None:
        raise LookupError(f"unknown verification method: {vm_id}")
    return public_key_from_multibase(key.public_key_multibase)
