"""The driver's actions on courses (POST) and the dashboard. Each calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses import selectors, services
from courses.models import CoursePage, LessonPage


def _live(model, page_id):
    return get_object_or_404(model.objects.live().public(), pk=page_id)


def _say_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_POST
def enrol(request, page_id: int):
    course = _live(CoursePage, page_id)
    try:
        services.enrollment_create(
            user=request.user, course=course, voucher_code=request.POST.get("voucher_code", "")
        )
    except ValidationError as exc:
        _say_errors(request, exc)
        return redirect(course.url)
    messages.success(request, _("You are enrolled. Start with the first lesson."))
    first = course.specific.lessons().first()
    return redirect(first.url if first else course.url)


@login_required
@require_POST
def lesson_complete(request, page_id: int):
    lesson = _live(LessonPage, page_id)
    try:
        seconds = int(request.POST.get("video_seconds_watched") or 0)
    except ValueError:
        seconds = 0
    try:
        services.lesson_complete(user=request.user, lesson=lesson, video_seconds_watched=seconds)
    except PermissionDenied:
        messages.error(request, _("Enrol in the course first."))
        return redirect(lesson.course.url)
    except ValidationError as exc:
        _say_errors(request, exc)
        return redirect(lesson.url)
    following = lesson.course.lessons().filter(path__gt=lesson.path).first()
    if following is None:
        return redirect(lesson.course.url)
    return redirect(following.url)


@login_required
@require_POST
def quiz_submit(request, page_id: int):
    lesson = _live(LessonPage, page_id)
    answers = {
        key.removeprefix("q-"): request.POST.getlist(key)
        for key in request.POST
        if key.startswith("q-")
    }
    try:
        attempt = services.quiz_attempt_submit(user=request.user, lesson=lesson, answers=answers)
    except PermissionDenied:
        messages.error(request, _("Enrol in the course first."))
        return redirect(lesson.course.url)
    except ValidationError as exc:
        _say_errors(request, exc)
        return redirect(f"{lesson.url}#quiz")
    if attempt.passed:
        messages.success(
            request,
            _("Passed with %(percent)d%%. Well done!") % {"percent": attempt.percent},
        )
    else:
        messages.warning(
            request,
            _("%(percent)d%%: not yet the %(pass_mark)d%% needed. See what to review below.")
            % {"percent": attempt.percent, "pass_mark": lesson.course.pass_mark},
        )
    return redirect(f"{lesson.url}#quiz")


@login_required
@require_GET
def dashboard(request):
    context = selectors.dashboard_context(user=request.user, language_code=get_language())
    return render(request, "courses/dashboard.html", context)
