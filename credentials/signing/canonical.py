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

import re

import pyld.nquads
import rfc8785
from pyld import jsonld

from .contexts import ContextNotAllowed, jsonld_options

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


def _expand_safely(document: dict, options: dict) -> list:
    processor = jsonld.JsonLdProcessor(on_property_dropped=_refuse_dropped_property)
    expanded = processor.expand(document, options)
    _refuse_relative_iris(expanded)
    return expanded


def canonicalize_rdfc(document: dict) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document, contexts loaded locally only."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", **jsonld_options()}
    try:
        return jsonld.normalize(_expand_safely(document, options), options)
    except jsonld.JsonLdError as exc:
        refused = _find_cause(exc, ContextNotAllowed)
        if refused is not None:
            raise ContextNotAllowed(refused.url) from exc
        raise CanonicalizationError(f"cannot canonicalise the document: {exc}") from exc


def canonicalize_jcs(document: dict) -> str:
    """The JSON Canonicalization Scheme (RFC 8785) form of a JSON document."""
    try:
        return rfc8785.dumps(document).decode("utf-8")
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"cannot canonicalise the document: {exc}") from exc
