"""Issuer keys: encrypted at rest, rotated without breaking old certificates, published as
did:web DID documents, and resolved from the database for verification."""

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from cms.models import Organization
from credentials.did import did_web_host, resolve_verification_method
from credentials.keys import (
    IssuerKeyDecryptionError,
    NotAnIssuer,
    decrypt_private_key,
    issuer_did,
    issuer_key_ensure,
    issuer_key_rotate,
    issuer_keys_reencrypt,
    issuer_signing_key,
)
from credentials.models import IssuerKey
from credentials.signing import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    create_proof,
    public_key_to_multibase,
    verify_proof,
)
from tests.factories import OrganizationFactory

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET_KEY = "k" * 20 + "9f3a0c8e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
GOOD_ENCRYPTION_KEY = "e" * 16 + "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DEFAULT_ENCRYPTION_KEY = "roadwise-insecure-development-credentials-key-change-me"


@pytest.fixture
def school(settings):
    settings.DID_WEB_HOST = "127.0.0.1:8000"
    return OrganizationFactory(slug="beijing-school", kind=Organization.Kind.SCHOOL)


def _credential(issuer: str) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:6a9c92a9-2530-4e2b-9776-530467e9bbe0",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:1b0e3e4c-5d2f-4f6e-8a7b-9c0d1e2f3a4b"},
    }


def _sign(organization, cryptosuite=EDDSA_JCS_2022) -> dict:
    private_key, verification_method = issuer_signing_key(organization=organization)
    return create_proof(
        _credential(issuer_did(organization)),
        private_key=private_key,
        verification_method=verification_method,
        cryptosuite=cryptosuite,
        created="2026-01-01T00:00:00Z",
    )


# --- encryption at rest ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_private_key_is_encrypted_at_rest_and_decrypts(school):
    key = issuer_key_ensure(organization=school)
    private_key = decrypt_private_key(IssuerKey.objects.get(pk=key.pk))
    seed = private_key.private_bytes_raw()
    assert public_key_to_multibase(private_key.public_key()) == key.public_key_multibase

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM credentials_issuerkey WHERE id = %s", [key.pk])
        row = cursor.fetchone()
    raw_row = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    for form in (seed, seed.hex().encode(), base64.b64encode(seed)):
        assert form not in raw_row
    assert "encrypted_private_key" not in repr(key) and key.encrypted_private_key not in repr(key)


@pytest.mark.django_db
def test_a_wrong_encryption_key_fails_clearly(school, settings):
    key = issuer_key_ensure(organization=school)
    settings.CREDENTIALS_KEY_ENCRYPTION_KEY = "another-key-that-is-not-the-one-used-at-all"
    with pytest.raises(IssuerKeyDecryptionError, match="CREDENTIALS_KEY_ENCRYPTION_KEY"):
        decrypt_private_key(IssuerKey.objects.get(pk=key.pk))
    with pytest.raises(IssuerKeyDecryptionError):
        issuer_signing_key(organization=school)


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_row_is_refused(school):
    first = issuer_key_ensure(organization=school)
    second = issuer_key_ensure(organization=OrganizationFactory(kind=Organization.Kind.CARMAKER))
    second.encrypted_private_key = first.encrypted_private_key
    with pytest.raises(IssuerKeyDecryptionError, match="does not match"):
        decrypt_private_key(second)


@pytest.mark.django_db
def test_the_encryption_key_itself_can_be_rotated(school, settings):
    old = settings.CREDENTIALS_KEY_ENCRYPTION_KEY
    key = issuer_key_ensure(organization=school)
    new = "a-brand-new-encryption-key-for-issuer-keys-2026"
    settings.CREDENTIALS_KEY_ENCRYPTION_KEY = f"{new},{old}"
    decrypt_private_key(IssuerKey.objects.get(pk=key.pk))  # the old key still decrypts
    assert issuer_keys_reencrypt() == 1
    settings.CREDENTIALS_KEY_ENCRYPTION_KEY = new
    private_key = decrypt_private_key(IssuerKey.objects.get(pk=key.pk))
    assert public_key_to_multibase(private_key.public_key()) == key.public_key_multibase


# --- services --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ensure_is_idempotent(school):
    first = issuer_key_ensure(organization=school)
    assert issuer_key_ensure(organization=school) == first
    assert first.key_id == "key-1" and first.is_current
    assert IssuerKey.objects.filter(organization=school).count() == 1


@pytest.mark.django_db
def test_platforms_get_no_issuer_keys():
    platform = OrganizationFactory(kind=Organization.Kind.PLATFORM)
    with pytest.raises(NotAnIssuer):
        issuer_key_ensure(organization=platform)
    with pytest.raises(NotAnIssuer):
        issuer_key_rotate(organization=platform)


@pytest.mark.django_db
def test_an_organisation_has_at_most_one_current_key(school):
    key = issuer_key_ensure(organization=school)
    with pytest.raises(IntegrityError), transaction.atomic():
        IssuerKey.objects.create(
            organization=school,
            key_id="key-9",
            public_key_multibase=key.public_key_multibase,
            encrypted_private_key=key.encrypted_private_key,
        )


@pytest.mark.django_db
def test_signing_key_names_the_current_verification_method(school):
    private_key, verification_method = issuer_signing_key(organization=school)
    assert isinstance(private_key, Ed25519PrivateKey)
    assert verification_method == "did:web:127.0.0.1%3A8000:issuers:beijing-school#key-1"


# --- rotation --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("cryptosuite", [EDDSA_JCS_2022, EDDSA_RDFC_2022])
def test_rotation_keeps_old_certificates_verifying(school, cryptosuite):
    old_credential = _sign(school, cryptosuite)
    old_key = IssuerKey.objects.get(organization=school)

    new_key = issuer_key_rotate(organization=school)
    old_key.refresh_from_db()
    assert old_key.retired_at is not None and new_key.is_current
    assert new_key.key_id == "key-2"

    new_credential = _sign(school, cryptosuite)
    assert new_credential["proof"]["verificationMethod"].endswith("#key-2")
    assert old_credential["proof"]["verificationMethod"].endswith("#key-1")
    for credential in (old_credential, new_credential):
        result = verify_proof(credential, public_key_resolver=resolve_verification_method)
        assert result.verified, result.message

    tampered = json.loads(json.dumps(old_credential))
    tampered["validFrom"] = "2027-01-01T00:00:00Z"
    assert not verify_proof(tampered, public_key_resolver=resolve_verification_method).verified


@pytest.mark.django_db
def test_the_rotate_command(school):
    issuer_key_ensure(organization=school)
    out = io.StringIO()
    call_command("issuer_key_rotate", "beijing-school", stdout=out)
    assert "#key-2" in out.getvalue()
    assert list(
        IssuerKey.objects.filter(organization=school, retired_at=None).values_list(
            "key_id", flat=True
        )
    ) == ["key-2"]
    with pytest.raises(CommandError):
        call_command("issuer_key_rotate", "no-such-school", stdout=out)


# --- resolution ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "vm_id",
    [
        "did:web:127.0.0.1%3A8000:issuers:beijing-school#key-7",
        "did:web:127.0.0.1%3A8000:issuers:beijing-school",
        "did:web:127.0.0.1%3A8000:issuers:nobody#key-1",
        "did:web:evil.example:issuers:beijing-school#key-1",
        "did:web:127.0.0.1%3A8000:issuers:beijing-school:x#key-1",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    ],
)
def test_unknown_verification_methods_raise_lookup_error(school, vm_id):
    issuer_key_ensure(organization=school)
    with pytest.raises(LookupError):
        resolve_verification_method(vm_id)


@pytest.mark.django_db
def test_a_credential_signed_by_an_unknown_key_fails(school):
    issuer_key_ensure(organization=school)
    forged = create_proof(
        _credential(issuer_did(school)),
        private_key=Ed25519PrivateKey.generate(),
        verification_method=f"{issuer_did(school)}#key-1",
        cryptosuite=EDDSA_JCS_2022,
    )
    assert not verify_proof(forged, public_key_resolver=resolve_verification_method).verified


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:8000", "127.0.0.1%3A8000"),
        ("roadwise.example", "roadwise.example"),
        ("Roadwise.Example:8443", "roadwise.example%3A8443"),
    ],
)
def test_did_web_host_encodes_the_port_colon(host, expected):
    assert did_web_host(host) == expected


@pytest.mark.django_db
def test_the_did_follows_site_url_host(settings):
    settings.DID_WEB_HOST = "roadwise.example"
    org = OrganizationFactory(slug="shanghai-ev")
    assert issuer_did(org) == "did:web:roadwise.example:issuers:shanghai-ev"


# --- the DID document over HTTP --------------------------------------------------------------


@pytest.mark.django_db
def test_the_did_document_lists_every_key(client, school):
    key_1 = issuer_key_ensure(organization=school)
    key_2 = issuer_key_rotate(organization=school)
    response = client.get("/issuers/beijing-school/did.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/did+json"
    assert "max-age=300" in response["Cache-Control"]
    document = json.loads(response.content)
    did = "did:web:127.0.0.1%3A8000:issuers:beijing-school"
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert document["id"] == did
    assert document["verificationMethod"] == [
        {
            "id": f"{did}#key-1",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key_1.public_key_multibase,
        },
        {
            "id": f"{did}#key-2",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key_2.public_key_multibase,
        },
    ]
    assert document["assertionMethod"] == [f"{did}#key-1", f"{did}#key-2"]
    assert document["authentication"] == [f"{did}#key-2"]
    assert key_1.public_key_multibase.startswith("z6Mk")
    assert "encrypted" not in response.content.decode()


@pytest.mark.django_db
def test_unknown_platform_and_keyless_organisations_have_no_did_document(client, school):
    platform = OrganizationFactory(slug="didi-like", kind=Organization.Kind.PLATFORM)
    IssuerKey.objects.create(
        organization=platform,
        key_id="key-1",
        public_key_multibase="z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        encrypted_private_key="x",
    )
    assert client.get("/issuers/nobody/did.json").status_code == 404
    assert client.get("/issuers/didi-like/did.json").status_code == 404
    assert client.get("/issuers/beijing-school/did.json").status_code == 404  # no key yet
    with pytest.raises(LookupError):
        resolve_verification_method("did:web:127.0.0.1%3A8000:issuers:didi-like#key-1")


# --- settings and migrations -----------------------------------------------------------------


def _production(**env) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "CREDENTIALS_KEY_ENCRYPTION_KEY", "DEBUG"}
    }
    base.update(
        DJANGO_SETTINGS_MODULE="cms.settings.production",
        SECRET_KEY=GOOD_SECRET_KEY,
        ALLOWED_HOSTS="roadwise.example",
        ROADWISE_VAR_DIR=str(ROOT / "var"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"CREDENTIALS_KEY_ENCRYPTION_KEY": DEFAULT_ENCRYPTION_KEY},
        {"CREDENTIALS_KEY_ENCRYPTION_KEY": "short"},
        {"CREDENTIALS_KEY_ENCRYPTION_KEY": f"{GOOD_ENCRYPTION_KEY},{DEFAULT_ENCRYPTION_KEY}"},
    ],
)
def test_production_refuses_the_default_encryption_key(env):
    result = _production(**env)
    assert result.returncode != 0
    assert "CREDENTIALS_KEY_ENCRYPTION_KEY" in result.stderr.splitlines()[-1]


def test_production_starts_with_a_real_encryption_key():
    result = _production(CREDENTIALS_KEY_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "credentials", "--check", "--dry-run", verbosity=0)
