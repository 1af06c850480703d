"""HTML that people typed, made safe to show to other people.

Rich text is whitelisted by Wagtail's editor when an author saves it in the admin, but it can
reach the database by other ways (imports, translations, seeders, revisions restored from JSON,
a script), and Wagtail's rendering (``expand_db_html``, the ``richtext`` filter) rewrites links
without removing a ``<script>``. So every piece of rich text is also cleaned when it is
rendered, by nh3 (Rust's ammonia): only the tags our editor features produce, links only to
http(s), mail and phone addresses or to our own pages.
"""

from urllib.parse import urlsplit

import nh3

RICH_TEXT_TAGS = {"p", "br", "b", "strong", "i", "em", "a", "ol", "ul", "li", "h2", "h3", "h4"}
RICH_TEXT_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

# Video embeds (oEmbed HTML from the providers Wagtail knows): a player in an iframe, no script.
EMBED_TAGS = {"iframe", "div", "p", "a", "blockquote"}
EMBED_ATTRIBUTES = {
    "iframe": {
        "src",
        "width",
        "height",
        "title",
        "allow",
        "allowfullscreen",
        "frameborder",
        "referrerpolicy",
        "loading",
    },
    "a": {"href"},
}


def clean_rich_text(html: str) -> str:
    """``html`` with only the whitelisted tags, attributes and link schemes left."""
    return nh3.clean(
        html or "",
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def clean_embed(html: str) -> str:
    """An embed's HTML reduced to iframes (https players) and plain links."""
    return nh3.clean(
        html or "",
        tags=EMBED_TAGS,
        attributes=EMBED_ATTRIBUTES,
        url_schemes={"https"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def http_url(url: str) -> str:
    """``url`` if it is an absolute http(s) address, else the empty string (so that a
    ``javascript:`` or ``data:`` value stored by some other way never becomes a link)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return ""
