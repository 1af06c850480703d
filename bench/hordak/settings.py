"""Minimal Django settings for the hordak reference ledger (benchmark 7). Only hordak and what
it needs; the database comes from HORDAK_DATABASE_URL (a database of its own on the same
PostgreSQL as the project's benchmark)."""

import os

import dj_database_url

SECRET_KEY = "bench-hordak-only"  # noqa: S105 - a throw-away benchmark process, never served
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "mptt",
    "hordak",
]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("HORDAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hordak_bench")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_CURRENCY = "CNY"
HORDAK_DEFAULT_CURRENCY = "CNY"
HORDAK_INTERNAL_CURRENCY = "CNY"
HORDAK_CURRENCIES = ["CNY"]
CURRENCIES = ["CNY"]
HORDAK_DECIMAL_PLACES = 2
HORDAK_MAX_DIGITS = 20
