"""The cryptographic core of credentials: Multikeys, canonical forms, EdDSA Data Integrity proofs.

Every intermediate value of the W3C vc-di-eddsa vectors and the Open Badges 3.0 signing example
is reproduced byte for byte (fixtures/README.md names their sources), and canonical N-Quads of
awkward input (Chinese, emoji, control characters, long strings) are compared with pyoxigraph.
"""

import copy
import hashlib
import json
import socket
from pathlib import Path

import pyoxigraph
import pytest
from pyld import jsonld

from credentials.signing import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    ContextNotAllowed,
    UndefinedTermError,
    canonicalize_jcs,
    canonicalize_rdfc,
    create_proof,
    did_key_resolver,
    did_key_verification_method,
    document_loader,
    escape_literal,
    hash_data,
    private_key_from_multibase,
    private_key_to_multibase,
    proof_configuration,
    public_key_from_multibase,
    public_key_to_multibase,
    static_resolver,
    transform,
    verify_proof,
)
from credentials.signing.contexts import jsonld_options
from credentials.signing.multikey import multibase_decode, multibase_encode

FIXTURES = Path(__file__).parent / "fixtures"
EDDSA = FIXTURES / "vc-di-eddsa"
OB = FIXTURES / "openbadges-3.0"


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def vector_key():
    return private_key_from_multibase(load(EDDSA / "keyPair.json")["privateKeyMultibase"])


def without_proof(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "proof"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Signing and verifying must never open a connection."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- Multikey ----------------------------------------------------------------------------------


def test_multikey_reads_and_writes_the_vector_key_pair():
    pair = load(EDDSA / "keyPair.json")
    private_key = private_key_from_multibase(pair["privateKeyMultibase"])
    assert private_key_to_multibase(private_key) == pair["privateKeyMultibase"]
    assert public_key_to_multibase(private_key.public_key()) == pair["publicKeyMultibase"]
    public_key = public_key_from_multibase(pair["publicKeyMultibase"])
    assert public_key_to_multibase(public_key) == pair["publicKeyMultibase"]
    assert did_key_verification_method(public_key) == (
        f"did:key:{pair['publicKeyMultibase']}#{pair['publicKeyMultibase']}"
    )


def test_multikey_reads_the_open_badges_64_byte_secret_key():
    pair = load(OB / "keypair.json")
    private_key = private_key_from_multibase(pair["secretKeyMultibase"])
    assert private_key.private_bytes_raw().hex() == pair["privateKeyHex"][:64]
    assert public_key_to_multibase(private_key.public_key()) == pair["publicKeyMultibase"]
    assert multibase_decode(pair["publicKeyMultibase"])[2:].hex() == pair["publicKeyHex"]


def test_base58btc_keeps_leading_zero_bytes():
    assert multibase_decode(multibase_encode(b"\x00\x00\x01\xff")) == b"\x00\x00\x01\xff"


# --- eddsa-rdfc-2022 and eddsa-jcs-2022 vectors ------------------------------------------------

SUITE_VECTORS = [
    pytest.param(EDDSA_RDFC_2022, EDDSA / "eddsa-rdfc-2022", "DataInt", id="eddsa-rdfc-2022"),
    pytest.param(EDDSA_JCS_2022, EDDSA / "eddsa-jcs-2022", "JCS", id="eddsa-jcs-2022"),
]


@pytest.mark.parametrize(("cryptosuite", "folder", "suffix"), SUITE_VECTORS)
def test_vector_reproduces_every_intermediate_value(cryptosuite, folder, suffix):
    unsigned = load(EDDSA / "unsigned.json")
    options = load(folder / f"proofConfig{suffix}.json")

    canonical_document = transform(unsigned, cryptosuite)
    canonical_config = proof_configuration(options, unsigned, cryptosuite)
    assert canonical_document == text(folder / f"canonDoc{suffix}.txt")
    assert canonical_config == text(folder / f"proofCanon{suffix}.txt")
    assert hashlib.sha256(canonical_document.encode()).hexdigest() == text(
        folder / f"docHash{suffix}.txt"
    )
    assert hashlib.sha256(canonical_config.encode()).hexdigest() == text(
        folder / f"proofHash{suffix}.txt"
    )
    data = hash_data(canonical_config, canonical_document)
    assert data.hex() == text(folder / f"combinedHash{suffix}.txt")
    signature = vector_key().sign(data)
    assert signature.hex() == text(folder / f"sigHex{suffix}.txt")
    assert multibase_encode(signature) == text(folder / f"sigBTC58{suffix}.txt")


@pytest.mark.parametrize(("cryptosuite", "folder", "suffix"), SUITE_VECTORS)
def test_vector_create_proof_reproduces_the_signed_credential(cryptosuite, folder, suffix):
    options = load(folder / f"proofConfig{suffix}.json")
    signed = create_proof(
        load(EDDSA / "unsigned.json"),
        private_key=vector_key(),
        verification_method=options["verificationMethod"],
        created=options["created"],
        cryptosuite=cryptosuite,
    )
    assert signed == load(folder / f"signed{suffix}.json")


@pytest.mark.parametrize(("cryptosuite", "folder", "suffix"), SUITE_VECTORS)
def test_vector_signed_credential_verifies(cryptosuite, folder, suffix):
    result = verify_proof(
        load(folder / f"signed{suffix}.json"), public_key_resolver=did_key_resolver
    )
    assert result.verified, result
    assert result.reason == "verified"
    assert [proof.cryptosuite for proof in result.proofs] == [cryptosuite]


def test_rdfc_employ_vector_hashes_and_signs_from_its_canonical_forms():
    """Its context (citizenship/v4rc1) is not kept locally, so start from the canonical text."""
    folder = EDDSA / "eddsa-rdfc-2022" / "employ"
    data = hash_data(text(folder / "proofCanonDataInt.txt"), text(folder / "canonDocDataInt.txt"))
    assert data[:32].hex() == text(folder / "proofHashDataInt.txt")
    assert data[32:].hex() == text(folder / "docHashDataInt.txt")
    assert data.hex() == text(folder / "combinedHashDataInt.txt")
    signature = vector_key().sign(data)
    assert signature.hex() == text(folder / "sigHexDataInt.txt")
    assert multibase_encode(signature) == text(folder / "sigBTC58DataInt.txt")
    signed = load(folder / "signedDataInt.json")
    assert signed["proof"]["proofValue"] == multibase_encode(signature)
    assert without_proof(signed) == load(EDDSA / "employmentAuth.json")


def test_rdfc_employ_vector_with_an_unknown_context_fails_without_network():
    signed = load(EDDSA / "eddsa-rdfc-2022" / "employ" / "signedDataInt.json")
    result = verify_proof(signed, public_key_resolver=did_key_resolver)
    assert not result.verified
    assert result.reason == "unknown_context"
    assert "citizenship/v4rc1" in result.message


# --- Open Badges 3.0 ---------------------------------------------------------------------------


def ob_resolver():
    pair = load(OB / "keypair.json")
    return static_resolver({pair["verificationMethod"]: pair["publicKeyMultibase"]})


def test_open_badges_example_reproduces_every_intermediate_value():
    unsigned = load(OB / "unsigned.json")
    options = load(OB / "proof-config.json")
    values = load(OB / "intermediate-values.json")

    canonical_document = transform(unsigned, EDDSA_RDFC_2022)
    canonical_config = proof_configuration(options, unsigned, EDDSA_RDFC_2022)
    assert canonical_document == text(OB / "document-canon.txt")
    assert canonical_config == text(OB / "proof-canon.txt")
    data = hash_data(canonical_config, canonical_document)
    assert data[32:].hex() == values["documentHashHex"]
    assert data[:32].hex() == values["proofHashHex"]
    assert data.hex() == values["dataToSignHex"]
    private_key = private_key_from_multibase(load(OB / "keypair.json")["secretKeyMultibase"])
    signature = private_key.sign(data)
    assert signature.hex() == values["signatureHex"]
    assert multibase_encode(signature) == values["proofValue"]


def test_open_badges_example_create_proof_reproduces_the_signed_credential():
    pair = load(OB / "keypair.json")
    options = load(OB / "proof-config.json")
    signed = create_proof(
        load(OB / "unsigned.json"),
        private_key=private_key_from_multibase(pair["secretKeyMultibase"]),
        verification_method=pair["verificationMethod"],
        created=options["created"],
    )
    assert signed == load(OB / "signed.json")


def test_open_badges_example_verifies_with_its_https_verification_method():
    result = verify_proof(load(OB / "signed.json"), public_key_resolver=ob_resolver())
    assert result.verified, result


# --- proof sets and proof chains ---------------------------------------------------------------

SETS = EDDSA / "proof-set-chain"


def chain_key(number: int):
    pairs = load(SETS / "multiKeyPairs.json")
    return private_key_from_multibase(pairs[f"keyPair{number}"]["privateKeyMultibase"])


def add_proof(document: dict, config_name: str, key_number: int) -> dict:
    config = load(SETS / config_name)
    return create_proof(
        document,
        private_key=chain_key(key_number),
        verification_method=config["verificationMethod"],
        created=config["created"],
        proof_id=config.get("id"),
        previous_proof=config.get("previousProof"),
    )


def test_proof_set_reproduces_both_signed_vectors():
    once = add_proof(load(SETS / "unsigned.json"), "proofSetConfig1.json", 1)
    assert once == load(SETS / "signedProofSet1.json")
    twice = add_proof(once, "proofSetConfig2.json", 2)
    assert twice == load(SETS / "signedProofSet2.json")


def test_proof_set_each_proof_is_over_the_document_without_proofs():
    twice = load(SETS / "signedProofSet2.json")
    for proof in twice["proof"]:
        alone = without_proof(twice) | {"proof": proof}
        assert verify_proof(alone, public_key_resolver=did_key_resolver).verified


def test_proof_set_verifies_every_proof():
    result = verify_proof(load(SETS / "signedProofSet2.json"), public_key_resolver=did_key_resolver)
    assert result.verified, result
    assert len(result.proofs) == 2
    assert all(proof.verified for proof in result.proofs)


def test_proof_set_fails_when_one_proof_is_broken():
    document = load(SETS / "signedProofSet2.json")
    document["proof"][1]["created"] = "2023-02-24T23:36:39Z"
    result = verify_proof(document, public_key_resolver=did_key_resolver)
    assert not result.verified
    assert [proof.verified for proof in result.proofs] == [True, False]
    assert result.reason == "tampered"


def test_proof_chain_reproduces_both_signed_vectors():
    chained = add_proof(load(SETS / "signedProofSet2.json"), "proofChainConfig1.json", 3)
    assert chained == load(SETS / "signedProofChain1.json")
    chained = add_proof(chained, "proofChainConfig2.json", 4)
    assert chained == load(SETS / "signedProofChain2.json")


def test_proof_chain_verifies_every_proof():
    for name in ("signedProofChain1.json", "signedProofChain2.json"):
        result = verify_proof(load(SETS / name), public_key_resolver=did_key_resolver)
        assert result.verified, (name, result)


def test_proof_chain_fails_when_a_previous_proof_is_missing():
    document = load(SETS / "signedProofChain2.json")
    del document["proof"][2]
    result = verify_proof(document, public_key_resolver=did_key_resolver)
    assert not result.verified
    assert result.reason == "missing_previous_proof"


# --- tampering, wrong and unknown keys ---------------------------------------------------------

SIGNED = [
    pytest.param(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json", id="eddsa-rdfc-2022"),
    pytest.param(EDDSA / "eddsa-jcs-2022" / "signedJCS.json", id="eddsa-jcs-2022"),
]


@pytest.mark.parametrize("path", SIGNED)
def test_tampered_subject_fails_with_tampered(path):
    signed = load(path)
    signed["credentialSubject"]["alumniOf"] = "The School of Examplez"
    result = verify_proof(signed, public_key_resolver=did_key_resolver)
    assert not result.verified
    assert result.reason == "tampered"
    assert "changed" in result.message


def test_tampered_open_badge_fails_with_tampered():
    signed = load(OB / "signed.json")
    signed["credentialSubject"]["achievement"]["name"] = "Teamwerk"
    result = verify_proof(signed, public_key_resolver=ob_resolver())
    assert (result.verified, result.reason) == (False, "tampered")


@pytest.mark.parametrize("path", SIGNED)
def test_wrong_key_fails(path):
    signed = load(path)
    other_key = chain_key(1).public_key()
    result = verify_proof(signed, public_key_resolver=lambda method: other_key)
    assert not result.verified
    assert result.reason == "tampered"


@pytest.mark.parametrize("path", SIGNED)
def test_unknown_verification_method_fails_with_unknown_key(path):
    result = verify_proof(load(path), public_key_resolver=static_resolver({}))
    assert not result.verified
    assert result.reason == "unknown_key"
    assert "unknown verification method" in result.message


def test_document_without_proof_does_not_verify():
    result = verify_proof(load(EDDSA / "unsigned.json"), public_key_resolver=did_key_resolver)
    assert (result.verified, result.reason) == (False, "no_proof")


def test_wrong_proof_purpose_fails():
    result = verify_proof(
        load(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json"),
        public_key_resolver=did_key_resolver,
        expected_proof_purpose="authentication",
    )
    assert (result.verified, result.reason) == (False, "wrong_purpose")


def test_jcs_proof_context_must_match_the_document():
    signed = load(EDDSA / "eddsa-jcs-2022" / "signedJCS.json")
    signed["@context"] = signed["@context"][:1]
    result = verify_proof(signed, public_key_resolver=did_key_resolver)
    assert (result.verified, result.reason) == (False, "context_mismatch")


# --- canonicalisation edge cases ---------------------------------------------------------------

AWKWARD = '\u0001\u0008\u000b\u000c\u001f\u007f\t\n\r"\\ end'


def awkward_credential() -> dict:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:0e9a1b0c-6d0e-4a59-9a43-7c1f0c2a0001",
        "type": ["VerifiableCredential", "CourseCredential"],
        "issuer": "did:web:roadwise.example:orgs:school",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "name": "张伟",
            "nickname": "老司机 🚗😀 𠮷",
            "controls": AWKWARD,
            "bio": "长" * 50_000 + "x" * 100_000,
            "results": [{"note": "a\u0001"}, {"note": "a\u0002"}, {"note": "a\t"}],
        },
    }


def pyoxigraph_canonical(document: dict) -> str:
    """pyld's RDF dataset of the document, canonicalised and written by pyoxigraph."""
    dataset = jsonld.to_rdf(document, jsonld_options())
    quads = [
        pyoxigraph.Quad(
            _term(triple["subject"]),
            _term(triple["predicate"]),
            _term(triple["object"]),
            pyoxigraph.DefaultGraph() if graph == "@default" else _term({"value": graph}),
        )
        for graph, triples in dataset.items()
        for triple in triples
    ]
    store = pyoxigraph.Dataset(quads)
    store.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    nquads = pyoxigraph.serialize(store, format=pyoxigraph.RdfFormat.N_QUADS).decode("utf-8")
    return "".join(sorted(nquads.splitlines(keepends=True)))


def _term(term: dict):
    value = term["value"]
    if term.get("type") == "literal":
        if term.get("language"):
            return pyoxigraph.Literal(value, language=term["language"])
        return pyoxigraph.Literal(value, datatype=pyoxigraph.NamedNode(term["datatype"]))
    if value.startswith("_:"):
        return pyoxigraph.BlankNode(value[2:])
    return pyoxigraph.NamedNode(value)


def test_escape_literal_follows_canonical_n_quads():
    assert escape_literal(AWKWARD) == '\\u0001\\b\\u000B\\f\\u001F\\u007F\\t\\n\\r\\"\\\\ end'
    assert escape_literal("张伟 😀 𠮷 \u0080 \u2028") == "张伟 😀 𠮷 \u0080 \u2028"


def test_awkward_credential_canonicalises_exactly_as_pyoxigraph():
    document = awkward_credential()
    canonical = canonicalize_rdfc(document)
    assert canonical == pyoxigraph_canonical(document)
    assert '"张伟"' in canonical
    assert "老司机 🚗😀 𠮷" in canonical
    assert '"\\u0001\\b\\u000B\\f\\u001F\\u007F\\t\\n\\r\\"\\\\ end"' in canonical
    assert "\u0001" not in canonical and "\u007f" not in canonical


def test_awkward_credential_canonical_form_is_utf8_with_raw_non_bmp_characters():
    canonical = canonicalize_rdfc(awkward_credential()).encode("utf-8")
    assert "😀".encode() in canonical
    assert b"\\U" not in canonical
    assert len(canonical) > 250_000


@pytest.mark.parametrize("cryptosuite", [EDDSA_RDFC_2022, EDDSA_JCS_2022])
def test_awkward_credential_signs_and_verifies(cryptosuite):
    key = chain_key(2)
    method = did_key_verification_method(key.public_key())
    signed = create_proof(
        awkward_credential(), private_key=key, verification_method=method, cryptosuite=cryptosuite
    )
    assert verify_proof(signed, public_key_resolver=did_key_resolver).verified
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["controls"] = AWKWARD.replace("\u0001", "\u0002")
    result = verify_proof(tampered, public_key_resolver=did_key_resolver)
    assert (result.verified, result.reason) == (False, "tampered")


def test_jcs_keeps_non_ascii_raw_and_sorts_by_utf16():
    assert canonicalize_jcs({"b": "张😀", "a": "\u0001"}) == '{"a":"\\u0001","b":"张😀"}'


# --- the document loader -----------------------------------------------------------------------


def test_document_loader_serves_the_local_contexts():
    for url in (
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://www.w3.org/ns/credentials/status/v1",
    ):
        loaded = document_loader(url)
        assert loaded["documentUrl"] == url
        assert "@context" in loaded["document"]


def test_document_loader_refuses_unknown_urls():
    with pytest.raises(ContextNotAllowed, match="never fetched"):
        document_loader("https://evil.example/context.jsonld")


def test_canonicalising_a_document_with_an_unknown_context_raises_without_network():
    document = load(EDDSA / "unsigned.json")
    document["@context"] = [*document["@context"], "https://evil.example/context.jsonld"]
    with pytest.raises(ContextNotAllowed) as raised:
        canonicalize_rdfc(document)
    assert raised.value.url == "https://evil.example/context.jsonld"


# --- JSON-LD safe mode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.__setitem__("extraThing", "unsigned"), id="top-level"),
        pytest.param(lambda d: d["credentialSubject"].__setitem__("score", 100), id="subject"),
        pytest.param(lambda d: d.__setitem__("@foo", "x"), id="keyword-like"),
    ],
)
def test_undefined_property_added_to_a_signed_badge_fails(change):
    """RDFC would silently drop an undefined term, so the signature would not cover it."""
    signed = load(OB / "signed.json")
    change(signed)
    result = verify_proof(signed, public_key_resolver=ob_resolver())
    assert (result.verified, result.reason) == (False, "undefined_term")
    assert "not defined" in result.message


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.__setitem__("id", "credentials/3527"), id="relative-id"),
        pytest.param(lambda d: d["type"].append("MadeUpType"), id="relative-type"),
    ],
)
def test_relative_iris_are_refused_not_resolved_against_a_made_up_base(change):
    document = load(OB / "unsigned.json")
    change(document)
    with pytest.raises(UndefinedTermError, match="absolute IRI"):
        canonicalize_rdfc(document)


def test_create_proof_refuses_a_document_with_an_undefined_property():
    document = load(OB / "unsigned.json") | {"extraThing": "x"}
    with pytest.raises(UndefinedTermError):
        create_proof(
            document,
            private_key=chain_key(1),
            verification_method="https://example.edu/issuers/565049#key-1",
        )


def test_malformed_proof_value_fails():
    signed = load(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    signed["proof"]["proofValue"] = "uNotBase58"
    result = verify_proof(signed, public_key_resolver=did_key_resolver)
    assert (result.verified, result.reason) == (False, "malformed_proof")


def test_did_key_resolver_refuses_a_fragment_naming_another_key():
    pair = load(EDDSA / "keyPair.json")
    other = load(SETS / "multiKeyPairs.json")["keyPair1"]["publicKeyMultibase"]
    assert did_key_resolver(f"did:key:{pair['publicKeyMultibase']}#{other}") is None
    assert did_key_resolver("did:web:roadwise.example#key-1") is None


def test_blank_node_ids_are_allowed_in_safe_mode():
    document = load(EDDSA / "unsigned.json")
    document["credentialSubject"]["id"] = "_:driver"
    assert "_:c14n0" in canonicalize_rdfc(document)


# --- the quicker canonicalisation paths give pyld's own answer ------------------------------


def _json_files():
    return sorted(
        path
        for path in FIXTURES.rglob("*.json")
        if "keypair" not in path.name and "controller" not in path.name
    )


@pytest.mark.parametrize("path", _json_files(), ids=lambda path: str(path.relative_to(FIXTURES)))
def test_rdfc_without_the_second_expansion_is_pyld_normalize(path):
    """canonicalize_rdfc skips jsonld.normalize's re-expansion of the expanded form and finds
    type-scoped contexts by identity: the N-Quads must be exactly what pyld itself gives."""
    from pyld import jsonld

    from credentials.signing.canonical import CanonicalizationError
    from credentials.signing.contexts import ContextNotAllowed, jsonld_options

    document = json.loads(path.read_text())
    if not isinstance(document, dict) or "@context" not in document:
        pytest.skip("not a JSON-LD document")
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", **jsonld_options()}
    try:
        ours = canonicalize_rdfc(unsecured)
    except (CanonicalizationError, ContextNotAllowed):
        pytest.skip("outside the local contexts or not safe-mode JSON-LD")
    assert ours == jsonld.normalize(unsecured, options)
    assert canonicalize_rdfc(unsecured) == ours  # and again, from the warm caches
