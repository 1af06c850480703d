"""The driver's actions on courses (POST) and the dashboard. Each calls one service."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cms.models import CheckoutPayment
from courses import payments, selectors, services
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
        with transaction.atomic():
            # A seat code (or a course made free) replaces a purchase still waiting for
            # payment; if the code is refused, the purchase stays as it was.
            payments.purchase_abandon(user=request.user, course=course)
            services.enrollment_create(
                user=request.user,
                course=course,
                voucher_code=request.POST.get("voucher_code", ""),
            )
    except ValidationError as exc:
        if exc.code == "payment_unavailable":
            messages.error(
                request,
                _("This course is paid: buy it, or enter a sponsored seat code."),
            )
        else:
            _say_errors(request, exc)
        return redirect(course.url)
    messages.success(request, _("You are enrolled. Start with the first lesson."))
    first = course.specific.lessons().first()
    return redirect(first.url if first else course.url)


@login_required
@require_POST
def purchase(request, page_id: int):
    """Buy a paid course: the driver is sent to Stripe Checkout (303). The place opens when
    Stripe confirms the payment, not when the driver comes back."""
    course = _live(CoursePage, page_id)
    return_url = request.build_absolute_uri(reverse("courses:purchase_return"))
    try:
        payment = payments.purchase_start(
            user=request.user,
            course=course,
            # Stripe fills in the session id; the return view finds the payment from it.
            success_url=f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=request.build_absolute_uri(course.url),
        )
    except ValidationError as exc:
        _say_errors(request, exc)
        return redirect(course.url)
    except payments.PaymentsNotConfigured as exc:
        messages.error(request, str(exc))
        return redirect(course.url)
    except payments.PaymentError as exc:  # Stripe refused or did not answer
        messages.error(request, str(exc))
        return redirect(course.url)
    response = HttpResponseRedirect(payment.session_url)
    response.status_code = 303  # after a POST: the browser GETs Stripe's page
    return response


@login_required
@require_GET
def purchase_return(request):
    """Stripe sends the buyer back here; on to the purchase's own page."""
    payment = payments.purchase_for_session(
        user=request.user, session_id=request.GET.get("session_id", "")
    )
    if payment is None:
        raise Http404
    return redirect("courses:purchase_status", public_id=payment.public_id)


@login_required
@require_GET
def purchase_status(request, public_id):
    """The buyer's purchase: waiting for Stripe's confirmation, paid, or to try again.
    Anyone else gets a 404."""
    payment = get_object_or_404(
        CheckoutPayment,
        public_id=public_id,
        purpose=CheckoutPayment.Purpose.COURSE,
        user=request.user,
    )
    context = payments.purchase_state(payment)
    course = context["course"]
    if course is None:
        raise Http404
    shown = course.localized
    first = shown.specific.lessons().first() if context["state"] == "paid" else None
    context.update(shown_course=shown, first_lesson=first)
    return render(request, "courses/purchase.html", context)


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


# --- offline study (issue 7) --------------------------------------------------------------

# Static files every page needs offline; the service worker caches them when it installs.
OFFLINE_ASSETS = ("css/site.css", "js/offline.js", "js/lesson.js")


@lru_cache(maxsize=1)
def _service_worker_source() -> tuple[str, str]:
    """static/js/sw.js with its cache version and the files to pre-cache filled in. The
    version is a hash of the site's own static files (the worker among them), so a deploy
    that changes any of them installs a new worker, which drops the old caches."""
    digest = hashlib.sha256()
    for directory in settings.STATICFILES_DIRS:
        for file in sorted(Path(directory).rglob("*")):
            if file.is_file():
                digest.update(file.relative_to(directory).as_posix().encode())
                digest.update(file.read_bytes())
    offline_pages = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            url = reverse("courses:offline")
        offline_pages[url.removesuffix("learn/offline/") or "/"] = url
    urls = [static(path) for path in OFFLINE_ASSETS] + list(offline_pages.values())
    digest.update("\n".join(urls).encode())
    with open(finders.find("js/sw.js"), encoding="utf-8") as handle:
        source = handle.read()
    version = digest.hexdigest()[:12]
    source = (
        source.replace('"__VERSION__"', json.dumps(version))
        .replace("__PRECACHE__", json.dumps(urls))
        .replace("__OFFLINE__", json.dumps(offline_pages))
    )
    return source, version


@require_GET
def service_worker(request):
    """The service worker, served at /sw.js so that its scope is the whole site (Chinese at /,
    English at /en/). Never cached by the browser's HTTP cache: an update must reach phones."""
    if settings.DEBUG:
        _service_worker_source.cache_clear()
    source, _version = _service_worker_source()
    response = HttpResponse(source, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache, max-age=0"
    return response


@require_GET
def offline(request):
    """What an unsaved page shows when the phone has no signal (the service worker keeps a
    copy of this page in each language)."""
    return render(request, "courses/offline.html", {"title": _("You are offline")})


@never_cache
@require_POST
def lesson_complete_sync(request, page_id: int):
    """A lesson completion the driver's phone queued while offline, sent now. JSON in and
    out, CSRF-protected like any POST; the same service as the form, so sending it twice
    counts once and a driver who is not enrolled is refused."""
    if not request.user.is_authenticated:
        return JsonResponse({"ok": False, "error": "login_required"}, status=401)
    lesson = _live(LessonPage, page_id)
    try:
        seconds = max(0, int(request.POST.get("video_seconds_watched") or 0))
    except ValueError:
        seconds = 0
    try:
        services.lesson_complete(user=request.user, lesson=lesson, video_seconds_watched=seconds)
    except PermissionDenied:
        return JsonResponse(
            {"ok": False, "error": "not_enrolled", "message": _("Enrol in the course first.")},
            status=403,
        )
    except ValidationError as exc:
        return JsonResponse(
            {"ok": False, "error": exc.code or "invalid", "message": " ".join(exc.messages)},
            status=400,
        )
    progress = selectors.course_page_context(request=request, course=lesson.course, body=False)
    return JsonResponse(
        {
            "ok": True,
            "lesson": lesson.pk,
            "course": str(lesson.course.translation_key),
            "done_count": progress["done_count"],
            "lesson_count": progress["lesson_count"],
            "progress_percent": progress["progress_percent"],
        }
    )
