"""The test suite. DATABASE_URL picks the database (CI points it at PostgreSQL); tasks run
eagerly except in the tests that start a real Celery worker on purpose."""

import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR
from .env import env_bool, env_str

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Eager in the test process; the real-worker tests start workers with this off.
CELERY_TASK_ALWAYS_EAGER = env_bool("ROADWISE_EAGER_TASKS", True)
SMS_SENDER = env_str("SMS_SENDER", "cms.sms.OutboxSmsSender")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "test-media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker process can see the test database;
    # one per test run, so that runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-roadwise-{os.getpid()}.sqlite3")}
LOGGING = {"version": 1, "disable_existing_loggers": False}
