"""The fast JCS path (the standard library's JSON encoder) must give exactly RFC 8785's bytes
(and the fast base58 decoder exactly the ``base58`` package's).

A wrong byte would make every eddsa-jcs-2022 signature we create unverifiable elsewhere, or
let a verifier here disagree with others, so it is compared with the reference ``rfc8785``
package on generated documents: Chinese and emoji text, control characters, quotes,
backslashes, keys that sort differently by code point and by UTF-16 unit, big integers,
floats and lone surrogates (which must take the slow path or fail the same way).
"""

import json

import base58
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.services import credential_issue
from credentials.signing.canonical import SLOW, CanonicalizationError, _jcs_path, canonicalize_jcs
from credentials.signing.multikey import b58decode

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),  # ASCII, with every control character
        st.sampled_from("驾驶安全新能源汽车鹏城交通学院é€\u2028\u2029\ufeff\ue000\uffff"),
        st.sampled_from(["😀", "𝄞", "\U00010000"]),  # outside the BMP (surrogate pairs)
    ),
    max_size=12,
)
INTEGERS = st.integers(min_value=-(2**60), max_value=2**60)
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, TEXT)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(TEXT, children, max_size=5)
    ),
    max_leaves=30,
)


def reference(value) -> str | type:
    try:
        return rfc8785.dumps(value).decode("utf-8")
    except (rfc8785.CanonicalizationError, ValueError, TypeError):
        return CanonicalizationError


def ours(value) -> str | type:
    try:
        return canonicalize_jcs(value)
    except CanonicalizationError:
        return CanonicalizationError


@settings(max_examples=600, deadline=None)
@given(JSON)
def test_the_fast_path_writes_exactly_what_rfc8785_writes(value):
    assert ours(value) == reference(value)


FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**54), max_value=2**54).map(float),  # integral: 2.0 is "2"
    st.sampled_from([0.5, 1.5, 0.1, 1e-4, 9.999e-5, 1e16, 1e15 + 0.5, 1e21, -0.0, 5e-324]),
)


@settings(max_examples=600, deadline=None)
@given(JSON, st.lists(FLOATS, max_size=4))
def test_floats_are_written_as_rfc8785_writes_them(value, numbers):
    document = {"value": value, "numbers": numbers}
    assert ours(document) == reference(document)


def test_keys_that_sort_differently_in_utf16_take_the_slow_path():
    # By code point U+E000 < U+1F600; by UTF-16 unit 0xD83D (the emoji's first) < 0xE000.
    document = {"\ue000": 1, "😀": 2}
    assert _jcs_path(document) == SLOW
    assert canonicalize_jcs(document) == '{"😀":2,"\ue000":1}'
    assert json.dumps(document, sort_keys=True, ensure_ascii=False).startswith('{"\ue000"')


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), "\ud800", {"key": "\udfff"}, {1: "not a string key"}, {1.5}],
)
def test_what_rfc8785_refuses_is_refused_the_same_way(value):
    assert ours(value) is CanonicalizationError
    assert reference(value) is CanonicalizationError


@pytest.mark.django_db
def test_a_roadwise_credential_takes_the_fast_path_and_matches(completion):
    document = json.loads(credential_issue(completion=completion).document)
    assert _jcs_path(document) != SLOW
    assert canonicalize_jcs(document) == rfc8785.dumps(document).decode("utf-8")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_base58_decoding_matches_the_base58_package(data):
    text = base58.b58encode(data).decode("ascii")
    assert b58decode(text) == base58.b58decode(text) == data


@pytest.mark.parametrize("text", ["0OIl", "abc0", "日本", "abc def"])
def test_base58_refuses_characters_outside_the_alphabet(text):
    with pytest.raises(ValueError):
        b58decode(text)


@pytest.mark.django_db
def test_a_roadwise_credential_canonicalises_as_pyld_normalize_does(completion):
    from pyld import jsonld

    from credentials.signing import canonicalize_rdfc
    from credentials.signing.contexts import jsonld_options

    document = json.loads(credential_issue(completion=completion).document)
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", **jsonld_options()}
    expected = jsonld.normalize(unsecured, options)
    assert canonicalize_rdfc(unsecured) == expected
    assert canonicalize_rdfc(unsecured) == expected  # warm caches
    assert "新能源汽车安全" in expected
