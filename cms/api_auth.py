"""How the JSON API knows which platform is calling (`Authorization: Bearer rw_…`), whether
its key may do what it asks (scopes), and how often it may ask (a rate limit per key).

Each operation names its scope with ``auth=needs(scope)``. A router's default auth is
``platform_key_auth``, which declares no scope and therefore refuses every key: an operation
that forgets to declare one is closed, never open."""

from functools import wraps

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from cms import throttling
from cms.api_keys import platform_api_key_authenticate
from cms.api_scopes import ALL_SCOPES
from cms.models import PlatformApiKey

# Declared by operations that any live key may call (whoami), so that "no scope" is a choice
# written down, not something forgotten.
ANY_KEY = "any"
RATE_WINDOW_SECONDS = 60


class ScopeMissing(HttpError):
    def __init__(self, scope: str | None):
        if scope is None:
            message = _("This operation is not open to API keys.")
        else:
            message = _(
                "This API key lacks the scope “%(scope)s” that this operation needs. "
                "Ask the Roadwise operator for a key with that scope."
            ) % {"scope": scope}
        super().__init__(403, message)
        self.scope = scope


class RateLimited(HttpError):
    def __init__(self, window: throttling.Window):
        super().__init__(
            429,
            _(
                "Too many requests with this API key: at most %(limit)d a minute. "
                "Try again in %(seconds)d seconds."
            )
            % {"limit": window.limit, "seconds": window.retry_after},
        )
        self.window = window


def api_rate_limit(api_key: PlatformApiKey) -> int:
    """Requests a minute this key may make; 0 means unlimited."""
    if api_key.rate_limit_per_minute is not None:
        return api_key.rate_limit_per_minute
    return settings.API_RATE_LIMIT_PER_MINUTE


def api_rate_limit_hit(*, request: HttpRequest, api_key: PlatformApiKey) -> None:
    """Count this request against its key; raise RateLimited past the key's limit. The
    window is left on the request for the X-RateLimit-* headers (see rate_limit_headers)."""
    limit = api_rate_limit(api_key)
    if not limit:
        return
    window = throttling.hit(
        bucket=f"api:{api_key.prefix}", limit=limit, window_seconds=RATE_WINDOW_SECONDS
    )
    if window.count:  # zero: the cache failed and the request was let through
        request.rate_limit = window
    if not window.allowed:
        raise RateLimited(window)


class PlatformKeyAuth(HttpBearer):
    """Accepts a live platform API key that carries ``scope`` (or any live key, for
    ANY_KEY); sets ``request.platform`` and ``request.api_key``.

    Returning None makes ninja answer 401; ScopeMissing answers 403 and RateLimited 429."""

    def __init__(self, scope: str | None = None):
        if scope is not None and scope != ANY_KEY and scope not in ALL_SCOPES:
            raise ValueError(f"unknown API scope {scope!r}")
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> PlatformApiKey | None:
        api_key = platform_api_key_authenticate(token)
        if api_key is None:
            return None
        # Counted before the scope check, so that a key cannot probe for free.
        api_rate_limit_hit(request=request, api_key=api_key)
        if self.scope is None or (self.scope != ANY_KEY and not api_key.has_scope(self.scope)):
            raise ScopeMissing(self.scope)
        request.platform = api_key.organization
        request.api_key = api_key
        return api_key


def needs(scope: str) -> PlatformKeyAuth:
    """``@router.get(..., auth=needs(EVENTS_WRITE))``: the scope an operation needs."""
    return PlatformKeyAuth(scope)


# The routers' default: declares no scope, so it lets no key through (see the docstring).
platform_key_auth = PlatformKeyAuth()


def rate_limit_headers(view):
    """Wraps every API operation (a ninja "view" decorator, outside authentication): tells
    the caller where its key stands, on every answer including 429."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        window = getattr(request, "rate_limit", None)
        if window is not None:
            response["X-RateLimit-Limit"] = str(window.limit)
            response["X-RateLimit-Remaining"] = str(window.remaining)
            if not window.allowed:
                response["Retry-After"] = str(window.retry_after)
        return response

    return wrapped
