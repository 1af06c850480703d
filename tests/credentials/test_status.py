"""Bitstring status lists: the encoding the W3C spec defines, served signed with caching
headers, re-signed when a bit changes and before they expire."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from credentials import services
from credentials.models import StatusList
from credentials.signing import verify_proof
from credentials.status import (
    STATUS_LIST_MAX_AGE,
    StatusListError,
    bit_at,
    decode_list,
    encode_list,
    status_list_path,
    status_lists_refresh,
)
from credentials.verification import KeyResolver, default_fetch
from tests.factories import UserFactory

# From the spec's example BitstringStatusListCredential (shared vectors).
SPEC_EXAMPLE_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_the_spec_example_list_decodes_to_131072_unset_entries():
    bits = decode_list(SPEC_EXAMPLE_LIST)
    assert len(bits) * 8 == 131_072
    assert not any(bits)


def test_encoding_round_trips_and_bit_zero_is_the_leftmost_bit():
    bits = bytearray(16384)
    bits[0] = 0x80  # index 0
    bits[1] = 0x01  # index 15
    decoded = decode_list(encode_list(bytes(bits)))
    assert decoded == bytes(bits)
    assert bit_at(decoded, 0) and bit_at(decoded, 15)
    assert not bit_at(decoded, 1) and not bit_at(decoded, 8)
    assert encode_list(bytes(bits)).startswith("u")
    assert "=" not in encode_list(bytes(bits))


@pytest.mark.parametrize(
    "encoded",
    ["", "H4sI", "u", "u!!!!", "uAAAA", encode_list(bytes(1000)), 7, None],
)
def test_malformed_or_short_lists_are_refused(encoded):
    with pytest.raises(StatusListError):
        decode_list(encoded)


def test_a_gzip_bomb_is_refused():
    import base64
    import gzip

    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(StatusListError):
        decode_list(encoded)


@pytest.mark.django_db
def test_the_list_is_served_signed_with_caching_headers_and_changes_after_revocation(
    client, completion
):
    credential = services.credential_issue(completion=completion)
    path = status_list_path(credential.revocation_list)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vc+ld+json")
    assert f"max-age={STATUS_LIST_MAX_AGE}" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == "*"
    document = json.loads(response.content)
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    assert verify_proof(document, public_key_resolver=KeyResolver(default_fetch)).verified
    bits = decode_list(document["credentialSubject"]["encodedList"])
    assert not bit_at(bits, credential.revocation_index)

    operator = UserFactory(is_superuser=True)
    services.credential_revoke(credential=credential, actor=operator, reason="发证错误")
    after = json.loads(client.get(path).content)
    assert bit_at(
        decode_list(after["credentialSubject"]["encodedList"]), credential.revocation_index
    )
    assert verify_proof(after, public_key_resolver=KeyResolver(default_fetch)).verified
    # The suspension list is untouched.
    suspension = json.loads(client.get(status_list_path(credential.suspension_list)).content)
    assert not any(decode_list(suspension["credentialSubject"]["encodedList"]))


@pytest.mark.django_db
def test_unknown_lists_are_404(client, completion):
    credential = services.credential_issue(completion=completion)
    slug = credential.issuer.slug
    assert client.get(f"/credentials/status/{slug}/revocation/99").status_code == 404
    assert client.get(f"/credentials/status/{slug}/bogus/1").status_code == 404
    assert client.get("/credentials/status/nobody/revocation/1").status_code == 404


@pytest.mark.django_db
def test_lists_are_re_signed_before_they_expire(completion):
    credential = services.credential_issue(completion=completion)
    status_lists_refresh()
    assert status_lists_refresh() == 0  # all fresh now
    StatusList.objects.update(valid_until=timezone.now() + timedelta(hours=2))
    assert status_lists_refresh() == 2
    status_list = StatusList.objects.get(pk=credential.revocation_list_id)
    assert status_list.valid_until > timezone.now() + timedelta(days=1)
