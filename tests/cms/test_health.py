import pytest

from tests.conftest import redis_url

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_eager_tasks(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] in {"sqlite", "postgresql"}
    assert body["broker"] == {
        "ok": True,
        "mode": "eager",
        "detail": "tasks run in-process (no broker set)",
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_says_unavailable_when_the_broker_is_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


@pytest.mark.services
def test_healthz_reaches_a_real_redis_broker(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_url()
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["broker"]["mode"] == "broker"


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
