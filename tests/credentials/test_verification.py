"""Verification: every outcome a platform can meet, and failing closed where it cannot check."""

import json
import socket
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from cms.models import Organization
from credentials import services
from credentials.compact import PREFIX
from credentials.documents import status_list_credential
from credentials.keys import issuer_did, issuer_signing_key
from credentials.models import StatusList
from credentials.schema import ob_schema, schema_errors
from credentials.signing import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    create_proof,
    did_key_verification_method,
    public_key_to_multibase,
)
from credentials.status import encode_list, status_list_url
from credentials.verification import FetchError, Verifier, default_fetch, fastest_proofs
from tests.factories import DriverFactory, UserFactory

from .test_signing import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Reasons are translated; these tests read the English ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def credential(completion):
    return services.credential_issue(completion=completion)


@pytest.fixture
def operator(db):
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test's verification loudly."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def outcome(report) -> dict:
    return {name: (check.result, check.code) for name, check in report.checks.items()}


def test_a_fresh_certificate_verifies_without_any_network(credential, no_network):
    report = Verifier().any(credential.document)
    assert report.verified
    assert set(outcome(report).values()) <= {
        ("pass", "verified"),
        ("pass", "known_issuer"),
        ("pass", "active"),
        ("pass", "valid"),
        ("pass", "valid_schema"),
    }
    assert no_network == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["credentialSubject"]["identifier"][0].update(identityHash="王建军"),
        lambda d: d["credentialSubject"]["result"][0].update(value="59"),
        lambda d: d.update(validUntil="2099-01-01T00:00:00Z"),
        lambda d: d["credentialStatus"][0].update(statusListIndex="1"),
        lambda d: d["issuer"].update(name="假冒学院"),
    ],
    ids=["name", "score", "expiry", "status-index", "issuer-name"],
)
def test_a_changed_credential_fails_as_tampered(credential, tamper):
    document = json.loads(credential.document)
    tamper(document)
    report = Verifier().any(document)
    assert not report.verified
    assert report.checks["proof"].result == "fail"
    assert report.checks["proof"].code == "tampered"
    assert "Tampered" in report.checks["proof"].reason


def test_one_byte_changed_in_the_json_text_is_tampered(credential):
    text = credential.document
    position = text.index("王建国") + 2  # the last character of the name
    tampered = text[:position] + "军" + text[position + 1 :]
    assert len(tampered) == len(text)
    report = Verifier().any(tampered)
    assert (report.checks["proof"].result, report.checks["proof"].code) == ("fail", "tampered")
    # The fast path (eddsa-jcs-2022 only) catches it too.
    fast = Verifier(fastest=True).any(tampered)
    assert fast.checks["proof"].code == "tampered"


def test_a_revoked_credential_fails_with_its_reason_in_every_form(credential, operator):
    services.credential_revoke(credential=credential, actor=operator, reason="考试作弊，经调查属实")
    verifier = Verifier()
    for value in (credential.document, f"urn:uuid:{credential.public_id}", credential.compact):
        report = verifier.any(value)
        assert not report.verified
        assert report.checks["status"].result == "fail"
        assert report.checks["status"].code == "revoked"
        assert "考试作弊，经调查属实" in report.checks["status"].reason
        assert report.checks["proof"].result == "pass"  # the document itself is untouched


def test_suspension_fails_until_it_is_lifted(credential, operator):
    services.credential_suspend(credential=credential, actor=operator, reason="投诉调查中")
    report = Verifier().any(credential.document)
    assert report.checks["status"].code == "suspended"
    assert "投诉调查中" in report.checks["status"].reason
    services.credential_reinstate(credential=credential, actor=operator, reason="调查结束")
    assert Verifier().any(credential.document).verified


def test_an_expired_credential_fails_validity(credential):
    later = credential.valid_until + timedelta(seconds=1)
    report = Verifier(now=later).any(credential.document)
    assert not report.verified
    assert report.checks["validity"].code == "expired"
    assert credential.valid_until.date().isoformat() in report.checks["validity"].reason


def test_a_credential_signed_by_an_unknown_key_fails(credential, school):
    document = json.loads(credential.document)
    del document["proof"]
    forger = Ed25519PrivateKey.generate()
    # The forger claims to be our school's key-7, which does not exist.
    forged = create_proof(
        document, private_key=forger, verification_method=f"{issuer_did(school)}#key-7"
    )
    report = Verifier().any(forged)
    assert (report.checks["proof"].result, report.checks["proof"].code) == ("fail", "unknown_key")
    # …or signs with their own did:key: the proof verifies, but it is not the issuer's.
    self_signed = create_proof(
        document,
        private_key=forger,
        verification_method=did_key_verification_method(forger.public_key()),
    )
    report = Verifier().any(self_signed)
    assert report.checks["proof"].code == "not_signed_by_issuer"
    assert not report.verified


def test_another_issuers_did_key_credential_passes_proof_but_the_issuer_is_unknown():
    unsigned = json.loads((FIXTURES / "vc-di-eddsa" / "unsigned.json").read_text())
    key = Ed25519PrivateKey.generate()
    vm = did_key_verification_method(key.public_key())
    unsigned["issuer"] = vm.split("#")[0]
    unsigned["validFrom"] = "2024-01-01T00:00:00Z"
    signed = create_proof(unsigned, private_key=key, verification_method=vm)
    report = Verifier().any(signed)
    assert report.checks["proof"].result == "pass"
    assert report.checks["issuer"].result == "unknown"
    assert report.checks["schema"].result == "pass"  # a plain VC 2.0, not an Open Badge
    assert report.checks["status"].code == "no_status"
    assert not report.verified


def test_a_foreign_did_web_issuer_is_resolved_through_its_did_document():
    unsigned = json.loads((FIXTURES / "vc-di-eddsa" / "unsigned.json").read_text())
    key = Ed25519PrivateKey.generate()
    did = "did:web:skills.example.org:issuers:ev"
    unsigned["issuer"] = did
    signed = create_proof(unsigned, private_key=key, verification_method=f"{did}#k1")
    fetched = []

    def fetch(url):
        fetched.append(url)
        return {
            "id": did,
            "verificationMethod": [
                {
                    "id": f"{did}#k1",
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": public_key_to_multibase(key.public_key()),
                }
            ],
            "assertionMethod": [f"{did}#k1"],
        }

    report = Verifier(fetch=fetch).any(signed)
    assert fetched == ["https://skills.example.org/issuers/ev/did.json"]
    assert report.checks["proof"].result == "pass"
    assert report.checks["issuer"].result == "unknown"

    def unreachable(url):
        raise FetchError("connection refused")

    report = Verifier(fetch=unreachable).any(signed)
    assert report.checks["proof"].code == "unknown_key"


def test_other_did_methods_are_unsupported(credential):
    document = json.loads(credential.document)
    del document["proof"]
    key = Ed25519PrivateKey.generate()
    signed = create_proof(document, private_key=key, verification_method="did:ion:EiA123#key-1")
    report = Verifier().any(signed)
    assert report.checks["proof"].result == "unknown"
    assert report.checks["proof"].code == "unsupported"
    assert "did:ion" in report.checks["proof"].reason


# --- status lists: failing closed ----------------------------------------------------------


def _status_fetch_returning(credential, document_for_revocation_list):
    revocation_url = status_list_url(credential.revocation_list)

    def fetch(url):
        if url == revocation_url:
            return document_for_revocation_list
        return default_fetch(url)

    return fetch


def test_a_status_list_that_cannot_be_fetched_means_could_not_check(credential):
    def fetch(url):
        raise FetchError("503 Service Unavailable")

    report = Verifier(fetch=fetch).any(credential.document)
    assert report.checks["status"].result == "unknown"
    assert report.checks["status"].code == "status_unavailable"
    assert "Could not check status" in report.checks["status"].reason
    assert not report.verified


def _signed_list(credential, *, valid_from, valid_until, bits=None, organization=None):
    status_list = credential.revocation_list
    organization = organization or status_list.issuer
    document = status_list_credential(
        list_url=status_list_url(status_list),
        issuer_did=issuer_did(organization),
        purpose="revocation",
        encoded_list=encode_list(bits if bits is not None else bytes(status_list.bits)),
        valid_from=valid_from,
        valid_until=valid_until,
        ttl_ms=300_000,
    )
    private_key, vm = issuer_signing_key(organization=organization)
    return create_proof(document, private_key=private_key, verification_method=vm)


def test_an_expired_status_list_means_could_not_check(credential):
    now = timezone.now()
    stale = _signed_list(
        credential, valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1)
    )
    report = Verifier(fetch=_status_fetch_returning(credential, stale)).any(credential.document)
    assert report.checks["status"].code == "status_unavailable"
    assert "out of date" in report.checks["status"].reason


def test_a_status_list_whose_proof_does_not_verify_means_could_not_check(credential):
    now = timezone.now()
    listed = _signed_list(credential, valid_from=now, valid_until=now + timedelta(days=1))
    # Someone clears the bits in transit: the list's own signature no longer matches.
    listed["credentialSubject"]["encodedList"] = encode_list(bytes(StatusList.SIZE // 8))
    listed["validUntil"] = (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = Verifier(fetch=_status_fetch_returning(credential, listed)).any(credential.document)
    assert report.checks["status"].code == "status_unavailable"
    assert "signature" in report.checks["status"].reason


def test_a_status_list_signed_by_someone_else_means_could_not_check(credential, carmaker):
    now = timezone.now()
    other = _signed_list(
        credential, valid_from=now, valid_until=now + timedelta(days=1), organization=carmaker
    )
    report = Verifier(fetch=_status_fetch_returning(credential, other)).any(credential.document)
    assert report.checks["status"].code == "status_unavailable"


def test_a_short_status_list_is_refused(credential):
    now = timezone.now()
    short = _signed_list(
        credential, valid_from=now, valid_until=now + timedelta(days=1), bits=bytes(1024)
    )
    report = Verifier(fetch=_status_fetch_returning(credential, short)).any(credential.document)
    assert report.checks["status"].code == "status_unavailable"
    assert "131072" in report.checks["status"].reason


def test_a_verifier_fetches_each_status_list_once_per_batch(credential, completion):
    calls = []

    def counting(url):
        calls.append(url)
        return default_fetch(url)

    verifier = Verifier(fetch=counting)
    for _ in range(20):
        assert verifier.any(credential.document).verified
    assert len(calls) == 2  # the revocation list and the suspension list


# --- schema, compact form, malformed input -------------------------------------------------


def test_the_schema_check_is_the_published_schema_with_the_vc2_adaptation():
    example = json.loads((FIXTURES / "openbadges-3.0" / "signed.json").read_text())
    assert schema_errors(example) == []
    # As published (VC 1.1 names), 1EdTech's own VC 2.0 example fails only on issuanceDate.
    import jsonschema

    errors = list(jsonschema.Draft4Validator(ob_schema()).iter_errors(example))
    assert [error.message for error in errors] == ["'issuanceDate' is a required property"]


def test_a_credential_missing_required_fields_fails_the_schema(credential):
    document = json.loads(credential.document)
    del document["credentialSubject"]["achievement"]["name"]
    report = Verifier().any(document)
    assert report.checks["schema"].result == "fail"
    assert "name" in report.checks["schema"].reason


def test_a_tampered_qr_code_fails(credential):
    body, signature = credential.compact.removeprefix(PREFIX).split(".")
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    report = Verifier().any(f"{PREFIX}{flipped}.{signature}")
    assert not report.verified
    assert report.checks["proof"].result == "fail"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "not json",
        "{broken",
        "RW1:",
        "RW1:abc",
        "RW1:!!!.???",
        "urn:uuid:nope",
        "[1, 2]",
        42,
        None,
        ["a"],
        "{" + '"a":' * 5000,
    ],
)
def test_malformed_input_is_a_clear_failure_never_an_exception(value):
    report = Verifier().any(value)
    assert report.verified is False
    assert report.checks["proof"].result in ("fail", "unknown")
    assert report.checks["proof"].reason


def test_the_fast_path_drops_only_rdfc_proofs_of_keys_that_also_signed_in_jcs(credential):
    document = json.loads(credential.document)
    fast = fastest_proofs(document)
    assert [p["cryptosuite"] for p in fast["proof"]] == [EDDSA_JCS_2022, EDDSA_JCS_2022]
    only_rdfc = dict(
        document, proof=[p for p in document["proof"] if p["cryptosuite"] == EDDSA_RDFC_2022]
    )
    assert fastest_proofs(only_rdfc) == only_rdfc


# --- who may revoke ------------------------------------------------------------------------


def test_only_operators_and_the_issuing_organisation_may_revoke(credential, driver, carmaker):
    outsider = UserFactory(
        organization=Organization.objects.create(
            kind=Organization.Kind.SCHOOL, name="别的学校", slug="other-school"
        )
    )
    for user in (driver, outsider, UserFactory(organization=carmaker)):
        with pytest.raises(PermissionDenied):
            services.credential_revoke(credential=credential, actor=user, reason="不应该")
    member = UserFactory(organization=credential.issuer)
    with pytest.raises(ValidationError):
        services.credential_revoke(credential=credential, actor=member, reason="  ")
    services.credential_revoke(credential=credential, actor=member, reason="成绩有误")
    with pytest.raises(services.CredentialStateError):
        services.credential_revoke(credential=credential, actor=member, reason="再来一次")
    with pytest.raises(services.CredentialStateError):
        services.credential_suspend(credential=credential, actor=member, reason="暂停")
    assert credential.status_changes.count() == 1
    assert credential.revocation_list.__class__.objects.get(pk=credential.revocation_list_id).bit(
        credential.revocation_index
    )


# --- fetching other hosts' documents safely ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/status/1",  # not https
        "https://127.0.0.1/status/1",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://10.0.0.5/status",
        "https://[::1]/status",
        "https://localhost/status",
        "file:///etc/passwd",
    ],
)
def test_credentials_cannot_make_the_server_fetch_private_addresses(url, no_network):
    from credentials.verification import http_fetch_json

    with pytest.raises(FetchError):
        http_fetch_json(url)
    assert no_network == []  # refused before any connection


def test_a_credential_pointing_its_status_list_inward_fails_closed(credential, no_network):
    document = json.loads(credential.document)
    del document["proof"]
    for entry in document["credentialStatus"]:
        entry["statusListCredential"] = "https://169.254.169.254/latest/meta-data"
    key = Ed25519PrivateKey.generate()
    vm = did_key_verification_method(key.public_key())
    document["issuer"] = {"id": vm.split("#")[0], "type": ["Profile"], "name": "X"}
    signed = create_proof(document, private_key=key, verification_method=vm)
    report = Verifier().any(signed)
    assert report.checks["status"].code == "status_unavailable"
    assert no_network == []


def test_one_request_fetches_at_most_twenty_remote_documents():
    from credentials.verification import limited_fetch

    fetched = []
    fetch = limited_fetch(lambda url: fetched.append(url) or {}, limit=20)
    for n in range(20):
        fetch(f"https://issuer{n}.example/status")
    with pytest.raises(FetchError):
        fetch("https://one-more.example/status")
    assert len(fetched) == 20


# --- batches -------------------------------------------------------------------------------


def _issued(co_developed, count):
    from tests.credentials.conftest import complete_course

    return [
        json.loads(
            services.credential_issue(
                completion=complete_course(DriverFactory(), co_developed)
            ).document
        )
        for _ in range(count)
    ]


def test_a_batch_looks_its_credentials_up_in_one_query_whatever_its_size(co_developed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    documents = _issued(co_developed, 6)
    Verifier(fastest=True).many(documents[:1])  # process-wide caches (keys, sites) warm up
    counts = []
    for size in (2, 6):
        verifier = Verifier(fastest=True)
        with CaptureQueriesContext(connection) as queries:
            reports = verifier.many(documents[:size])
        assert [report.verified for report in reports] == [True] * size
        assert all(report.credential is not None for report in reports)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_batch_answers_in_order_and_revocation_still_shows(co_developed, operator):
    documents = _issued(co_developed, 3)
    public_id = documents[1]["id"].removeprefix("urn:uuid:")
    revoked = services.Credential.objects.get(public_id=public_id)
    services.credential_revoke(credential=revoked, actor=operator, reason="考试作弊")
    foreign = {"id": "urn:uuid:not-a-uuid", "type": ["VerifiableCredential"]}
    reports = Verifier(fastest=True).many([documents[0], documents[1], foreign, documents[2]])
    assert [r.verified for r in reports] == [True, False, False, True]
    assert reports[1].checks["status"].code == "revoked"
    assert "考试作弊" in reports[1].checks["status"].reason
    assert reports[2].credential is None
