"""Canonical forms of a JSON document: RDFC-1.0 N-Quads (via pyld) and JCS (RFC 8785).

RDFC-1.0 writes literals in canonical N-Quads form (RDFC-1.0 §4, after canonical N-Triples):
``\\b \\t \\n \\f \\r \\" \\\\`` as ECHAR, the other control characters U+0000–U+001F and U+007F
as ``\\uXXXX`` with upper-case hex, and everything else (Chinese, emoji and other non-BMP
characters) as raw UTF-8. pyld 3.3.0 escapes only ``\\t \\n \\r \\" \\\\`` and writes the other
control characters raw, so its output (and the blank-node hashes computed from it) differs
from jsonld.js and pyoxigraph on such input. :func:`escape_literal` is the spec's escaping;
importing this module installs it as pyld's N-Quads escape, which fixes both the serialised
output and the hashes the canonicalisation algorithm computes from serialised quads.

RDFC canonicalisation is done in "safe mode", as the VC Data Integrity specification asks: a
property that the contexts do not define, or a type or id that does not expand to an absolute
IRI, would silently be left out of the RDF dataset and so out of the signature, letting anyone
add unsigned data to a signed credential. Such documents raise :class:`UndefinedTermError`.
"""

import json
import re
import threading

import pyld.nquads
import rfc8785
from cachetools import LRUCache
from frozendict import frozendict
from pyld import jsonld

from .contexts import ContextNotAllowed, is_served_context, jsonld_options

_ECHAR = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')


class CanonicalizationError(ValueError):
    """A document could not be turned into an RDF dataset or canonicalised."""


class UndefinedTermError(CanonicalizationError):
    """Part of the document would be dropped from its RDF dataset (JSON-LD safe mode)."""


def _escape_char(match: re.Match) -> str:
    char = match.group()
    return _ECHAR.get(char) or f"\\u{ord(char):04X}"


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form as canonical N-Quads requires (RDFC-1.0)."""
    return _NEEDS_ESCAPE.sub(_escape_char, value)


pyld.nquads.escape = escape_literal


def _find_cause(exc: BaseException, kind: type) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


_ABSOLUTE_IRI_OR_BLANK_NODE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|_:)")


def _refuse_dropped_property(expanded_property: str | None) -> None:
    name = f"the property {expanded_property!r}" if expanded_property else "a keyword-like property"
    raise UndefinedTermError(f"{name} is not defined by the document's JSON-LD contexts")


def _check_iri(value, what: str) -> None:
    if value == "@json" and what == "datatype":
        return
    if not isinstance(value, str) or not _ABSOLUTE_IRI_OR_BLANK_NODE.match(value):
        raise UndefinedTermError(f"the {what} {value!r} does not expand to an absolute IRI")


def _refuse_relative_iris(element) -> None:
    """Walk expanded JSON-LD: every @id and @type must be an absolute IRI or a blank node."""
    if isinstance(element, list):
        for item in element:
            _refuse_relative_iris(item)
        return
    if not isinstance(element, dict):
        return
    if "@id" in element:
        _check_iri(element["@id"], "id")
    types = element.get("@type", [])
    for value in types if isinstance(types, list) else [types]:
        _check_iri(value, "datatype" if "@value" in element else "type")
    for key, value in element.items():
        if key not in ("@id", "@type", "@value", "@language", "@direction"):
            _refuse_relative_iris(value)


_SCOPED_MEMO = threading.local()
SCOPED_MEMO_SIZE = 2048


class _Processor(jsonld.JsonLdProcessor):
    """pyld's processor, remembering the active context that a scoped context of our served
    context documents gives when applied to an immutable (frozen) active context.

    pyld processes a type-scoped context again on every typed node: the derived active
    context gets a fresh uuid each time, so pyld's own processed-context cache never hits
    (97 term definitions per verification of the Open Badges example, ~40 % of its time).
    The result depends only on the (frozen, so unchanging) active context, the scoped context
    (an object of a served context document, never changed) and the flags, which make the key.
    Results that pyld did not freeze are not remembered. Tests compare the N-Quads with
    ``jsonld.normalize`` (pyld's own processor)."""

    def _process_context(
        self,
        active_ctx,
        local_ctx,
        options,
        override_protected=False,
        propagate=True,
        validate_scoped=True,
        cycles=None,
    ):
        if (
            cycles is not None
            or not isinstance(active_ctx, frozendict)
            or "_uuid" not in active_ctx
            or not is_served_context(local_ctx)
        ):
            return super()._process_context(
                active_ctx,
                local_ctx,
                options,
                override_protected,
                propagate,
                validate_scoped,
                cycles,
            )
        memo = getattr(_SCOPED_MEMO, "cache", None)
        if memo is None:
            memo = _SCOPED_MEMO.cache = LRUCache(maxsize=SCOPED_MEMO_SIZE)
        key = (active_ctx["_uuid"], id(local_ctx), override_protected, propagate, validate_scoped)
        found = memo.get(key)
        if found is not None and found[0] is local_ctx:
            return found[1]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped
        )
        if isinstance(result, frozendict):
            memo[key] = (local_ctx, result)
        return result


def _expand_safely(document: dict, options: dict) -> list:
    processor = _Processor(on_property_dropped=_refuse_dropped_property)
    expanded = processor.expand(document, options)
    _refuse_relative_iris(expanded)
    return expanded


def _normalize_expanded(expanded: list, options: dict) -> str:
    """RDFC-1.0 (URDNA2015) of an already expanded document, as ``jsonld.normalize`` does it
    (its ``to_rdf`` then ``URDNA2015().main``) but without expanding the expanded form a second
    time (a third of the work for a Roadwise credential). Tests compare it with
    ``jsonld.normalize`` on the shared test vectors and our credentials."""
    options = {
        **options,
        "processingMode": "json-ld-1.1",
        "produceGeneralizedRdf": False,
        "rdfDirection": None,
    }
    processor = jsonld.JsonLdProcessor()
    issuer = jsonld.IdentifierIssuer("_:b")
    node_map = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    dataset = {
        name: processor._graph_to_rdf(graph, issuer, options)
        for name, graph in sorted(node_map.items())
        if name == "@default" or jsonld._is_absolute_iri(name)
    }
    return jsonld.URDNA2015().main(dataset, options)


def canonicalize_rdfc(document: dict) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document, contexts loaded locally only."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", **jsonld_options()}
    try:
        return _normalize_expanded(_expand_safely(document, options), options)
    except jsonld.JsonLdError as exc:
        refused = _find_cause(exc, ContextNotAllowed)
        if refused is not None:
            raise ContextNotAllowed(refused.url) from exc
        raise CanonicalizationError(f"cannot canonicalise the document: {exc}") from exc


_JCS_INT_MAX = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: larger integers are refused
_JCS_KEY_SAFE = "\ud800"  # keys below it sort the same by code point and by UTF-16 unit
# Non-integral floats in this range: Python's repr and ECMAScript's Number::toString both write
# the shortest round-tripping digits without an exponent, so they agree.
_FLOAT_LOW, _FLOAT_HIGH = 1e-4, 1e16
PLAIN, INTEGRAL_FLOATS, SLOW = 0, 1, 2


def _jcs_path(value) -> int:
    """Whether :func:`json.dumps` writes ``value`` exactly as RFC 8785 does: PLAIN if so;
    INTEGRAL_FLOATS if it would once integral floats (``2.0``, which RFC 8785 writes ``2``) are
    made ints; SLOW otherwise (keys with characters from U+D800 up, whose code-point order may
    differ from RFC 8785's UTF-16 order; integers beyond ±(2^53 − 1); floats written with an
    exponent; other types)."""
    found = PLAIN
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not (key.isascii() or max(key) < _JCS_KEY_SAFE):
                    return SLOW
                if type(inner) is not str:  # most values: nothing more to check
                    push(inner)
        elif kind is list:
            for inner in item:
                if type(inner) is not str:
                    push(inner)
        elif kind is str or item is None or kind is bool:
            continue
        elif kind is int:
            if not -_JCS_INT_MAX <= item <= _JCS_INT_MAX:
                return SLOW
        elif kind is float:
            magnitude = abs(item)
            if item.is_integer() and magnitude <= _JCS_INT_MAX:
                found = INTEGRAL_FLOATS
            elif not _FLOAT_LOW <= magnitude < _FLOAT_HIGH:
                return SLOW
        else:
            return SLOW
    return found


def _integral_floats_as_ints(value):
    if type(value) is dict:
        return {key: _integral_floats_as_ints(inner) for key, inner in value.items()}
    if type(value) is list:
        return [_integral_floats_as_ints(inner) for inner in value]
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def canonicalize_jcs(document: dict) -> str:
    """The JSON Canonicalization Scheme (RFC 8785) form of a JSON document.

    When :func:`_jcs_path` allows (every credential Roadwise issues), the standard library's
    C encoder writes exactly the RFC 8785 form — sorted keys, no whitespace, raw UTF-8, the
    same escapes (the two-character ones and lower-case ``\\u00xx`` for the other control
    characters), the same numbers — about 10 times faster than ``rfc8785``, which takes
    everything else. A property test (tests/credentials/test_canonical_jcs.py) compares both.
    """
    path = _jcs_path(document)
    if path != SLOW:
        if path == INTEGRAL_FLOATS:
            document = _integral_floats_as_ints(document)
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 gives the error below
        else:
            return text
    try:
        return rfc8785.dumps(document).decode("utf-8")
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"cannot canonicalise the document: {exc}") from exc
