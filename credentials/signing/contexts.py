"""JSON-LD contexts served from local copies: a pyld document loader that never uses the network.

Canonicalising a credential (eddsa-rdfc-2022) needs the JSON-LD contexts it names. Fetching them
at run time would let whoever serves a context change what a signature means, and would make
verification depend on the network, so only the contexts copied into ``credentials/contexts/``
(see the README there) are served; any other URL is refused with :class:`ContextNotAllowed`.
"""

import copy
import json
import threading
from functools import cache
from pathlib import Path

from cachetools import LRUCache
from pyld.context_resolver import ContextResolver

CONTEXTS_DIR = Path(__file__).resolve().parent.parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
BITSTRING_STATUS_LIST_V1 = "https://www.w3.org/ns/credentials/status/v1"

LOCAL_CONTEXTS = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    CREDENTIALS_EXAMPLES_V2: "credentials-examples-v2.jsonld",
    OPEN_BADGES_V3: "ob-v3p0-context-3.0.3.json",
    BITSTRING_STATUS_LIST_V1: "vc-bitstring-status-list-v1.jsonld",
}


class ContextNotAllowed(ValueError):
    """A document named a JSON-LD context that is not one of the local copies."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(
            f"JSON-LD context {url!r} is not available locally; contexts are never fetched "
            f"from the network (allowed: {', '.join(sorted(LOCAL_CONTEXTS))})"
        )


@cache
def _read_context(url: str) -> dict:
    with (CONTEXTS_DIR / LOCAL_CONTEXTS[url]).open(encoding="utf-8") as handle:
        return json.load(handle)


# Every object inside a context document this loader handed to pyld, by id (keeping it alive,
# so that its id cannot be reused): pyld keeps those documents in its resolved-context cache
# and never changes them, so an embedded (type- or property-scoped) context that *is* one of
# these objects can be looked up by identity (:class:`LocalContextResolver`).
_SERVED_OBJECTS: dict[int, dict] = {}


def is_served_context(value) -> bool:
    """True if ``value`` is one of the objects of a context document this loader served."""
    return _SERVED_OBJECTS.get(id(value)) is value


def _remember_served(value) -> None:
    if isinstance(value, dict):
        _SERVED_OBJECTS[id(value)] = value
        for inner in value.values():
            _remember_served(inner)
    elif isinstance(value, list):
        for inner in value:
            _remember_served(inner)


def document_loader(url: str, options: dict | None = None) -> dict:
    """A pyld document loader that serves the local contexts and refuses every other URL."""
    if url not in LOCAL_CONTEXTS:
        raise ContextNotAllowed(url)
    document = copy.deepcopy(_read_context(url))
    if len(_SERVED_OBJECTS) > 100_000:  # only if caches were flushed very many times
        _SERVED_OBJECTS.clear()
    _remember_served(document)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
        # "static": pyld keeps a remote context in the resolver's shared cache (below), with
        # its processed form, only when the document is tagged; untagged, every
        # canonicalisation would load and process the contexts again (most of its time).
        # Safe: the local copies never change.
        "tag": "static",
    }


class LocalContextResolver(ContextResolver):
    """pyld's context resolver, with a quicker key for the scoped contexts of our own context
    documents.

    pyld looks an embedded context up by its JCS serialisation (the ``c14n`` package, pure
    Python), and does so each time a typed node applies its type-scoped context: for an Open
    Badges credential that was about a fifth of a verification (benchmark 1). A scoped context
    that is an object of a context document this loader served (never changed once served)
    maps to the same resolved context every time, so it is remembered by identity. Any other
    embedded context (one in a document being verified, which its caller might change between
    calls) goes through pyld's own lookup.
    """

    def __init__(self, shared_cache, document_loader, by_identity: dict):
        super().__init__(shared_cache, document_loader)
        self._by_identity = by_identity  # per thread, shared by this thread's resolvers

    def resolve(self, active_ctx, context, base, cycles=None):
        key = id(context)
        if is_served_context(context):
            found = self._by_identity.get(key)
            if found is not None and found[0] is context:
                return list(found[1])
            resolved = super().resolve(active_ctx, context, base, cycles)
            self._by_identity[key] = (context, list(resolved))
            return resolved
        return super().resolve(active_ctx, context, base, cycles)


# pyld's default resolved-context cache is shared by every loader in the process, so a context
# that another loader fetched could be used without asking ours. Ours only ever holds local ones,
# one cache per thread (cachetools caches are not thread-safe). It must hold the four contexts
# *and* the ~30 scoped contexts inside them (pyld caches each separately): a smaller cache evicts
# the URLs and every canonicalisation re-processes the contexts (5x slower, bench/verify.py).
RESOLVED_CONTEXTS_CACHE_SIZE = 256
_local = threading.local()


def _resolved_contexts() -> LRUCache:
    if not hasattr(_local, "cache"):
        _local.cache = LRUCache(maxsize=RESOLVED_CONTEXTS_CACHE_SIZE)
    return _local.cache


def _context_resolver() -> LocalContextResolver:
    """A new resolver per operation, as pyld makes them (its per-operation cache would grow
    with every embedded context it saw), sharing this thread's caches."""
    if not hasattr(_local, "by_identity") or len(_local.by_identity) > 10_000:
        _local.by_identity = {}
    return LocalContextResolver(_resolved_contexts(), document_loader, _local.by_identity)


def jsonld_options() -> dict:
    """pyld options that resolve contexts only through :func:`document_loader`.

    ``base`` is None so that relative IRIs stay relative (and are refused in safe mode), as in
    jsonld.js; pyld would otherwise resolve them against ``http://example.org/base/``.
    """
    return {
        "base": None,
        "documentLoader": document_loader,
        "contextResolver": _context_resolver(),
    }
