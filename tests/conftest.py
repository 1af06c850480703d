import os
import socket
from urllib.parse import urlparse

import pytest

from cms import sms


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked `services` need Redis. On a laptop without it they are skipped; in CI
    (REQUIRE_SERVICES=1) a missing service is a failure, never a silent skip."""
    url = redis_url()
    if _reachable(url) or os.environ.get("REQUIRE_SERVICES") == "1":
        return
    skip = pytest.mark.skip(reason=f"Redis is not reachable at {url}")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


def redis_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters (cms/throttling.py) live in the cache, which outlives a test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_content_types(request):
    """Django caches content types by id for the whole process; a test's rolled-back rows
    would leave ids there that the next test's database does not have (the audit log, Wagtail's
    log entries, points at content types). Not for transactional tests: their database is
    flushed and reloaded around them, and an empty cache would re-create rows in between."""
    from django.contrib.contenttypes.models import ContentType

    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def admin_in_english():
    """The Wagtail admin speaks each user's preferred language (Chinese by default); tests that
    read its English messages use this: every user created meanwhile prefers English.
    (Changing LANGUAGE_CODE instead would leave Django's URL caches without the /en/ prefix
    for the tests that follow.)"""
    from django.db.models.signals import post_save
    from wagtail.users.models import UserProfile

    from cms.models import User

    def prefer_english(sender, instance, created, **kwargs):
        if created:
            UserProfile.objects.update_or_create(
                user=instance, defaults={"preferred_language": "en"}
            )

    post_save.connect(prefer_english, sender=User, dispatch_uid="tests-admin-in-english")
    yield
    post_save.disconnect(sender=User, dispatch_uid="tests-admin-in-english")
