"""/healthz: is this process able to reach its database and its task broker?"""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cms.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2.0


def _check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}
    return {
        "ok": True,
        "vendor": connection.vendor,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager", "detail": "tasks run in-process (no broker set)"}
    started = time.perf_counter()
    try:
        # The URL from settings, so that what /healthz checks is what Django was told.
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}
    return {
        "ok": True,
        "mode": "broker",
        "transport": str(transport),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
