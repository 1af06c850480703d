"""Settings come from the environment; production refuses to run unsafely."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARS = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "REDIS_CACHE_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "DJANGO_SETTINGS_MODULE",
    "CREDENTIALS_KEY_ENCRYPTION_KEY",
}
GOOD_KEY = "k" * 20 + "9f3a0c8e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
GOOD_ENCRYPTION_KEY = "e" * 16 + "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _env(**overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["ROADWISE_VAR_DIR"] = str(ROOT / "var")
    env.update(overrides)
    return env


def _settings(module: str, **env) -> subprocess.CompletedProcess:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
        "'name': str(settings.DATABASES['default']['NAME']), "
        "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'debug': settings.DEBUG, "
        "'storage': settings.STORAGES['default']['BACKEND']}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(DJANGO_SETTINGS_MODULE=module, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_laptop_needs_nothing_configured():
    result = _settings("cms.settings.dev")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"].endswith("roadwise.sqlite3")
    assert values["eager"] is True
    assert values["debug"] is True


def test_database_and_broker_urls_switch_to_the_real_services():
    result = _settings(
        "cms.settings.dev",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/roadwise",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["name"] == "roadwise"
    assert values["eager"] is False


def test_media_goes_to_s3_compatible_storage_when_a_bucket_is_named():
    result = _settings("cms.settings.dev", AWS_STORAGE_BUCKET_NAME="roadwise-media")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["storage"] == "storages.backends.s3.S3Storage"


def test_a_malformed_boolean_is_refused_with_its_name():
    result = _settings("cms.settings.dev", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "roadwise.example", "DEBUG": "1"}, "DEBUG"),
        ({"ALLOWED_HOSTS": "roadwise.example"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "roadwise.example"}, "SECRET_KEY"),
        (
            {
                "SECRET_KEY": "roadwise-insecure-development-key-change-me",
                "ALLOWED_HOSTS": "roadwise.example",
            },
            "SECRET_KEY",
        ),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_unsafe_settings(env, message):
    result = _settings("cms.settings.production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr.splitlines()[-1]


def test_production_starts_with_safe_settings():
    result = _settings(
        "cms.settings.production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="roadwise.example",
        CREDENTIALS_KEY_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


def test_check_deploy_is_silent_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="cms.settings.production",
            SECRET_KEY=GOOD_KEY,
            ALLOWED_HOSTS="roadwise.example",
            CREDENTIALS_KEY_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_says_exactly_no_issues_with_a_realistic_environment():
    """A deployment as docs/deployment.md describes it: random secrets, real host names, TLS
    at the proxy. `check --deploy` prints the one line and nothing else, on either stream, and
    silences nothing (SILENCED_SYSTEM_CHECKS would show as "(N silenced)")."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_env(
            DJANGO_SETTINGS_MODULE="cms.settings.production",
            SECRET_KEY=secrets.token_urlsafe(64),
            ALLOWED_HOSTS="roadwise.example,www.roadwise.example",
            CSRF_TRUSTED_ORIGINS="https://roadwise.example",
            SITE_URL="https://roadwise.example",
            CREDENTIALS_KEY_ENCRYPTION_KEY=f"{secrets.token_urlsafe(48)},{secrets.token_urlsafe(48)}",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n", result.stdout
    assert result.stderr == ""
