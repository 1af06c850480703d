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


def document_loader(url: str, options: dict | None = None) -> dict:
    """A pyld document loader that serves the local contexts and refuses every other URL."""
    if url not in LOCAL_CONTEXTS:
        raise ContextNotAllowed(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(_read_context(url)),
        # "static": pyld keeps a remote context in the resolver's shared cache (below), with
        # its processed form, only when the document is tagged; untagged, every
        # canonicalisation would load and process the contexts again (most of its time).
        # Safe: the local copies never change.
        "tag": "static",
    }


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


def jsonld_options() -> dict:
    """pyld options that resolve contexts only through :func:`document_loader`.

    ``base`` is None so that relative IRIs stay relative (and are refused in safe mode), as in
    jsonld.js; pyld would otherwise resolve them against ``http://example.org/base/``.
    """
    return {
        "base": None,
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_resolved_contexts(), document_loader),
    }
