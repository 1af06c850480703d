"""Counters in the cache that slow down callers: API requests per key, failed sign-ins per
account and per address, one-time codes per address.

Every counter is a fixed window: one cache entry per (bucket, window), counted up atomically
(a Lua INCR+EXPIRE on Redis, add+incr elsewhere), so concurrent requests never let more
through than the limit. A cache that fails must not take the site down: the counter then
answers "allowed" and logs the failure (fail open); the limits are a brake, not the lock."""

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

KEY_PREFIX = "throttle"
# Entries outlive their window a little, so that a late increment still finds its entry.
EXPIRY_MARGIN_SECONDS = 60

# One round trip: count up, and give a new entry its expiry in the same atomic step, so that
# an entry can never be left without one.
_REDIS_INCR = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class Window:
    """Where one counter stands after a call."""

    allowed: bool
    limit: int
    count: int
    retry_after: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def _now() -> float:
    return time.time()


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    index = int(now // window_seconds)
    retry_after = max(1, math.ceil((index + 1) * window_seconds - now))
    return index, retry_after


def _key(bucket: str, index: int) -> str:
    return f"{KEY_PREFIX}:{bucket}:{index}"


def _incr(key: str, timeout: int) -> int:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(key, write=True)
        return int(client.eval(_REDIS_INCR, 1, cache.make_and_validate_key(key), timeout))
    # LocMem and others: incr holds the backend's lock; add is a no-op if the entry exists.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def hit(*, bucket: str, limit: int, window_seconds: int) -> Window:
    """Count one more event in ``bucket``; allowed while the count is at most ``limit``."""
    index, retry_after = _window(window_seconds, _now())
    try:
        count = _incr(_key(bucket, index), window_seconds + EXPIRY_MARGIN_SECONDS)
    except Exception:  # noqa: BLE001 - any cache failure: let the request through
        logger.exception("throttle counter %s unavailable; allowing the request", bucket)
        return Window(allowed=True, limit=limit, count=0, retry_after=0)
    return Window(allowed=count <= limit, limit=limit, count=count, retry_after=retry_after)


def peek(*, bucket: str, limit: int, window_seconds: int) -> Window:
    """Where ``bucket`` stands now, without counting anything."""
    index, retry_after = _window(window_seconds, _now())
    try:
        count = int(caches["default"].get(_key(bucket, index)) or 0)
    except Exception:  # noqa: BLE001
        logger.exception("throttle counter %s unavailable; allowing the request", bucket)
        count = 0
    return Window(allowed=count < limit, limit=limit, count=count, retry_after=retry_after)


def reset(*, bucket: str, window_seconds: int) -> None:
    """Forget ``bucket``'s count in the current window (a successful sign-in)."""
    index, _retry_after = _window(window_seconds, _now())
    try:
        caches["default"].delete(_key(bucket, index))
    except Exception:  # noqa: BLE001
        logger.exception("throttle counter %s unavailable; could not reset it", bucket)


def client_ip(request) -> str:
    """The caller's address. Behind ROADWISE_TRUSTED_PROXIES proxies (load balancers that
    append to X-Forwarded-For), the address the nearest trusted proxy saw; otherwise
    REMOTE_ADDR. Without this setting behind a proxy every visitor would share one address."""
    proxies = getattr(settings, "ROADWISE_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "unknown"
