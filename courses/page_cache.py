"""Caching of the course pages (issue 8, benchmark 6), safe for personalised content.

Three layers, all in the shared cache (Redis in production, ``REDIS_CACHE_URL``), all keyed
by a *generation* that any change to the page tree or to an organisation bumps (so a publish,
an unpublish, a move, a deletion or a renamed school shows at once), and all expiring after
``ROADWISE_PAGE_CACHE_SECONDS`` at the latest:

1. **Whole pages for anonymous visitors** (:class:`AnonymousPageCacheMiddleware`, the last
   middleware): only responses a view marked public (:func:`mark_public`: the course page seen
   by a visitor without a session), only GET/HEAD without a query string, without a session or
   messages cookie, answered 200 with no cookie set and no CSRF token in them. The key is the
   host, the language and the path. A signed-in driver never reads or writes this layer.
2. **The route** from the catalogue to a course or lesson page (:func:`cached_route`): the
   page's model and id, instead of Wagtail's walk down the tree level by level. The page is
   still loaded (and checked live) on every request.
3. **Public parts of a page** (the course outline, the provider and co-developers, the
   rendered description and lesson content): the same for every driver, keyed by page and
   language. What belongs to one driver (enrolment, lessons done, quiz answers, CSRF tokens)
   is never cached: it is read and rendered on every request.

``ROADWISE_PAGE_CACHE=0`` turns all of it off (the benchmark's "uncached" figure).

The cache is an accelerator, never a dependency: while it is out of reach (Redis restarting),
pages are built as if caching were off and the failure is logged (issue 9's fault test: Redis
unavailable for a minute). A bump missed meanwhile leaves pages cached before it for at most
``ROADWISE_PAGE_CACHE_SECONDS``.
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation

logger = logging.getLogger(__name__)

GENERATION_KEY = "courses:pagecache:generation"
PUBLIC_ATTRIBUTE = "_roadwise_public_page"
SESSION_COOKIES = ("sessionid", "messages")


def enabled() -> bool:
    return getattr(settings, "ROADWISE_PAGE_CACHE", True)


def timeout() -> int:
    return getattr(settings, "ROADWISE_PAGE_CACHE_SECONDS", 600)


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        value = 1
        cache.add(GENERATION_KEY, value, None)
    return value


def bump(**_kwargs) -> None:
    """Forget every cached page and part (a page or an organisation changed)."""
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.add(GENERATION_KEY, 2, None)
    except Exception:  # noqa: BLE001 - the change itself must not fail for the cache
        logger.exception("page cache unavailable: could not forget cached pages")


def _unavailable(what: str) -> None:
    logger.warning("page cache unavailable (%s): serving uncached", what, exc_info=True)


def key(*parts) -> str:
    """The cache key of ``parts``. A URL path can hold any character and be of any length (a
    client sends what it likes): such a part goes in as its SHA-256, since keys with control
    characters or over 250 characters are refused by memcached and warned about by Django
    (a CacheKeyWarning, which the test suite turns into a 500)."""
    text = ":".join(str(p) for p in parts)
    if len(text) > 150 or not text.isprintable() or " " in text:
        text = "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"courses:pagecache:{generation()}:{text}"


def get_or_set(parts: tuple, compute):
    """``compute()`` once per generation and ``parts`` (always computed when caching is off)."""
    if not enabled():
        return compute()
    try:
        name = key(*parts)
        value = cache.get(name)
    except Exception:  # noqa: BLE001 - see the module's docstring
        _unavailable("get")
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(name, value, timeout())
        except Exception:  # noqa: BLE001
            _unavailable("set")
    return value


def is_anonymous_visit(request) -> bool:
    """A visitor without a session or messages: what they see is the same for everyone."""
    return (
        request.method in ("GET", "HEAD")
        and not request.GET
        and not any(name in request.COOKIES for name in SESSION_COOKIES)
    )


def mark_public(request, response) -> HttpResponse:
    """Let the middleware keep ``response`` for every anonymous visitor of this URL."""
    if enabled() and is_anonymous_visit(request):
        setattr(response, PUBLIC_ATTRIBUTE, True)
    return response


def _page_key(request) -> str:
    return key("page", request.get_host(), translation.get_language(), request.path)


class AnonymousPageCacheMiddleware:
    """Serves (and keeps) the pages views marked public to visitors without a session.

    Last in ``MIDDLEWARE``, so that every other middleware (security headers, GZip, language,
    frame options) still handles a response served from the cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        candidate = enabled() and is_anonymous_visit(request)
        if candidate:
            try:
                stored = cache.get(_page_key(request))
            except Exception:  # noqa: BLE001 - see the module's docstring
                _unavailable("page")
                return self.get_response(request)
            if stored is not None:
                content, content_type = stored
                response = HttpResponse(content, content_type=content_type)
                response["X-Page-Cache"] = "hit"
                return response
        response = self.get_response(request)
        if (
            candidate
            and getattr(response, PUBLIC_ATTRIBUTE, False)
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and b"csrfmiddlewaretoken" not in response.content
        ):
            try:
                cache.set(
                    _page_key(request), (response.content, response["Content-Type"]), timeout()
                )
            except Exception:  # noqa: BLE001
                _unavailable("page")
            else:
                response["X-Page-Cache"] = "miss"
        return response


def cached_route(index_page, request, path_components, route):
    """Wagtail's ``route`` from ``index_page`` down ``path_components``, remembered as the
    target page's model and id (valid while the generation lasts)."""
    from django.apps import apps
    from wagtail.url_routing import RouteResult

    if not enabled() or not path_components:
        return route(request, path_components)
    try:
        name = key("route", index_page.pk, "/".join(path_components))
        found = cache.get(name)
    except Exception:  # noqa: BLE001 - see the module's docstring
        _unavailable("route")
        return route(request, path_components)
    if found is not None:
        label, pk = found
        page = apps.get_model(label).objects.filter(pk=pk, live=True).first()
        if page is not None:
            return RouteResult(page)
    result = route(request, path_components)
    page, args, kwargs = result
    if not args and not kwargs and page.live:
        try:
            cache.set(name, (page._meta.label, page.pk), timeout())
        except Exception:  # noqa: BLE001
            _unavailable("route")
    return result


def connect_receivers() -> None:
    from django.db.models.signals import post_delete, post_save
    from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

    from cms.models import Organization

    for signal in (page_published, page_unpublished, post_page_move, page_slug_changed):
        signal.connect(bump, dispatch_uid=f"courses-pagecache-{id(signal)}")
    from wagtail.models import Page

    post_delete.connect(bump, sender=Page, dispatch_uid="courses-pagecache-page-delete")
    for signal in (post_save, post_delete):
        signal.connect(
            bump, sender=Organization, dispatch_uid=f"courses-pagecache-org-{id(signal)}"
        )
