"""Offline study (issue 7): a lesson finished without a signal is queued on the phone and sent
later to a small JSON endpoint. Sending it twice counts once, a driver who is not enrolled is
refused, and CSRF protection stays on. The service worker and the offline page are served."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import Completion, LessonProgress
from tests.courses.builders import build_course
from tests.factories import DriverFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def built():
    return build_course()


@pytest.fixture
def driver():
    return DriverFactory()


def _csrf_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser, with the token a page would carry."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("courses:offline"))
    assert page.status_code == 200
    return client, page.cookies["csrftoken"].value


def _sync(client, lesson, token=None):
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.post(
        reverse("courses:lesson_complete_sync", args=[lesson.pk]),
        {"video_seconds_watched": "0"},
        **headers,
    )


def test_a_queued_completion_sent_twice_counts_once(built, driver):
    services.enrollment_create(user=driver, course=built.course)
    client, token = _csrf_client(driver)

    first = _sync(client, built.reading, token)
    assert first.status_code == 200
    assert first.json() == {
        "ok": True,
        "lesson": built.reading.pk,
        "course": str(built.course.translation_key),
        "done_count": 1,
        "lesson_count": 2,
        "progress_percent": 50,
    }
    completed_at = LessonProgress.objects.get(lesson=built.reading).completed_at

    again = _sync(client, built.reading, token)  # the phone did not hear the first answer
    assert again.status_code == 200
    assert again.json()["done_count"] == 1
    progress = LessonProgress.objects.filter(lesson=built.reading, enrollment__user=driver)
    assert progress.count() == 1
    assert progress.get().completed_at == completed_at
    assert not Completion.objects.exists()  # the quiz lesson is still to do


def test_a_completion_for_a_course_the_driver_is_not_enrolled_in_is_refused(built, driver):
    other = build_course(title="乘客服务")
    services.enrollment_create(user=driver, course=built.course)
    client, token = _csrf_client(driver)

    response = _sync(client, other.reading, token)
    assert response.status_code == 403
    assert response.json()["error"] == "not_enrolled"
    assert not LessonProgress.objects.filter(lesson=other.reading).exists()


def test_csrf_is_required(built, driver):
    services.enrollment_create(user=driver, course=built.course)
    client, token = _csrf_client(driver)

    assert _sync(client, built.reading).status_code == 403  # no token
    assert _sync(client, built.reading, "x" * 64).status_code == 403  # a wrong one
    assert not LessonProgress.objects.filter(lesson=built.reading).exists()
    assert _sync(client, built.reading, token).status_code == 200


def test_a_quiz_lesson_is_not_done_by_a_queued_click(built, driver):
    services.enrollment_create(user=driver, course=built.course)
    client, token = _csrf_client(driver)
    response = _sync(client, built.quiz, token)
    assert response.status_code == 400
    assert response.json()["error"] == "quiz_lesson"
    assert not LessonProgress.objects.filter(lesson=built.quiz).exists()


def test_signed_out_gets_401_and_get_is_not_allowed(built):
    client = Client()
    response = _sync(client, built.reading)
    assert response.status_code == 401
    url = reverse("courses:lesson_complete_sync", args=[built.reading.pk])
    client.force_login(DriverFactory())
    assert client.get(url).status_code == 405


def test_the_service_worker_is_served_at_the_root_scope_and_never_cached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    source = response.content.decode()
    assert "__VERSION__" not in source
    assert "__PRECACHE__" not in source
    # The offline page in each language is pre-cached, and picked by the language prefix.
    offline = json.loads(source.split("var OFFLINE = ", 1)[1].split(";\n", 1)[0])
    assert offline == {"/": "/learn/offline/", "/en/": "/en/learn/offline/"}


def test_the_offline_page_is_translated(client):
    assert "You are offline" in client.get("/en/learn/offline/").content.decode()
    response = client.get("/learn/offline/")
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in response.content.decode()


def test_an_enrolled_driver_sees_the_save_button_and_others_do_not(built, driver, client):
    client.force_login(driver)
    page = client.get(built.course.url).content.decode()
    assert "data-offline-save" not in page
    services.enrollment_create(user=driver, course=built.course)
    page = client.get(built.course.url).content.decode()
    assert "data-offline-save" in page
    assert page.count("data-lesson-link") == 2
    lesson = client.get(built.reading.url).content.decode()
    sync_url = reverse("courses:lesson_complete_sync", args=[built.reading.pk])
    assert f'data-sync-url="{sync_url}"' in lesson
