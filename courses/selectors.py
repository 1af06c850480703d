"""Read-side queries for the learning pages: the catalogue, a course, a lesson, the
dashboard, learning paths. Each page's queries are a fixed number, whatever the number of
lessons or blocks (tests assert it)."""

from django.db.models import Count, Q
from django.utils.translation import get_language
from wagtail.models import Locale

from cms.models import Organization
from courses import page_cache, services
from courses.models import (
    Completion,
    CourseCategory,
    CourseIndexPage,
    CoursePage,
    CourseSectionPage,
    Enrollment,
    LearningPathPage,
    LessonPage,
    LessonProgress,
    ModulePage,
)
from courses.models.pages import CourseLevel, default_locale_page
from courses.search import segment_query

PRICE_FILTERS = {"free": Q(price_fen=0), "paid": Q(price_fen__gt=0)}


def _user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def catalogue_context(*, request, index: CourseIndexPage) -> dict:
    params = request.GET
    courses = (
        CoursePage.objects.live()
        .public()
        .descendant_of(index)
        .filter(locale=index.locale)
        .select_related("cover_image")
        .order_by("path")
    )
    category = params.get("category", "")
    if category in CourseCategory.values:
        courses = courses.filter(category=category)
    level = params.get("level", "")
    if level.isdigit() and int(level) in CourseLevel.values:
        courses = courses.filter(level=int(level))
    price = params.get("price", "")
    if price in PRICE_FILTERS:
        courses = courses.filter(PRICE_FILTERS[price])
    carmaker = params.get("carmaker", "")
    if carmaker:
        section_paths = list(
            index.get_children()
            .type(CourseSectionPage)
            .filter(coursesectionpage__organization__slug=carmaker)
            .values_list("path", flat=True)
        )
        in_section = Q()
        for path in section_paths:
            in_section |= Q(path__startswith=path)
        courses = courses.filter(Q(co_developers__slug=carmaker) | in_section).distinct()
    query = params.get("q", "").strip()[:100]
    if query:
        matches = (
            CoursePage.objects.live()
            .filter(locale=index.locale)
            .search(segment_query(query), operator="and")
        )
        courses = courses.filter(pk__in=[page.pk for page in matches])
    return {
        "courses": courses,
        "filters": {"category": category, "level": level, "price": price, "carmaker": carmaker},
        "query": query,
        "categories": CourseCategory.choices,
        "levels": CourseLevel.choices,
        "carmakers": Organization.objects.filter(
            kind=Organization.Kind.CARMAKER, is_active=True
        ).order_by("name"),
        "learning_paths": index.get_children().live().type(LearningPathPage).specific(),
    }


def _host(request) -> str:
    return request.get_host() if request is not None else ""


def _course_public(*, request, course: CoursePage) -> dict:
    """What every visitor of the course page sees alike, as plain data (cached per page,
    language and host): the outline in the course's language, provider, co-developers,
    prerequisites. From a fixed number of queries, whatever the number of lessons."""

    def compute() -> dict:
        canonical = default_locale_page(course).specific
        outline = []
        pages = course.get_descendants().live().type(ModulePage, LessonPage).order_by("path")
        for page in pages.specific():
            is_module = isinstance(page, ModulePage)
            outline.append(
                {
                    "pk": page.pk,
                    "title": page.title,
                    "url": page.get_url(request),
                    "is_module": is_module,
                    "has_quiz": (not is_module) and page.has_quiz,
                    "translation_key": page.translation_key,
                }
            )
        prerequisites = [
            {"pk": p.pk, "title": p.localized.title, "url": p.localized.get_url(request)}
            for p in canonical.prerequisites.all()
        ]
        return {
            "canonical_pk": canonical.pk,
            "outline": outline,
            "provider": {"display_name": canonical.provider.display_name},
            "co_developers": [
                {"display_name": org.display_name} for org in canonical.co_developers.all()
            ],
            "prerequisites": prerequisites,
        }

    return page_cache.get_or_set(("course", course.pk, get_language(), _host(request)), compute)


def course_page_context(*, request, course: CoursePage, body: bool = True) -> dict:
    user = _user(request)
    public = _course_public(request=request, course=course)
    outline = [dict(entry) for entry in public["outline"]]
    lessons = [e for e in outline if not e["is_module"]]
    enrollment = None
    done_keys: set = set()
    if user:
        enrollment = (
            Enrollment.objects.filter(user=user, course_id=public["canonical_pk"])
            .select_related("last_lesson", "completion")
            .first()
        )
        if enrollment:
            done_keys = set(
                LessonProgress.objects.filter(
                    enrollment=enrollment, completed_at__isnull=False
                ).values_list("lesson__translation_key", flat=True)
            )
    for entry in outline:
        entry["done"] = entry["translation_key"] in done_keys
    next_lesson = next((e for e in lessons if e["translation_key"] not in done_keys), None)
    missing = []
    if user and public["prerequisites"]:
        completed = set(
            Completion.objects.filter(
                user=user, course_id__in=[p["pk"] for p in public["prerequisites"]]
            ).values_list("course_id", flat=True)
        )
        missing = [p for p in public["prerequisites"] if p["pk"] not in completed]
    return {
        "outline": outline,
        "lesson_count": len(lessons),
        "done_count": sum(1 for e in lessons if e["translation_key"] in done_keys),
        "progress_percent": round(100 * len(done_keys) / len(lessons)) if lessons else 0,
        "enrollment": enrollment,
        "next_lesson": next_lesson,
        "missing_prerequisites": missing,
        "provider": public["provider"],
        "co_developers": public["co_developers"],
        "body_html": _stream_html(request, course, "courses/includes/course_body.html")
        if body
        else "",
    }


def _stream_html(request, page, template: str) -> str:
    """A page's content blocks rendered (images as renditions): the same for everyone, so
    cached per page revision and language."""
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    def compute() -> str:
        return render_to_string(template, {"page": page, "request": request})

    parts = ("stream", page.pk, page.latest_revision_id, get_language(), _host(request))
    return mark_safe(page_cache.get_or_set(parts, compute))  # noqa: S308 - our own template


def _lesson_public(*, request, lesson: LessonPage) -> dict:
    """The lesson's place in its course (cached like the course's outline)."""

    def compute() -> dict:
        course = lesson.course
        canonical = default_locale_page(course)
        lessons = list(LessonPage.objects.live().descendant_of(course).order_by("path"))
        index = next(i for i, p in enumerate(lessons) if p.pk == lesson.pk)

        def link(page):
            return {"title": page.title, "url": page.get_url(request)} if page else None

        return {
            "course": {
                "pk": course.pk,
                "title": course.title,
                "url": course.get_url(request),
                "translation_key": course.translation_key,
                "pass_mark": course.pass_mark,
            },
            "canonical_course_pk": canonical.pk,
            "previous_lesson": link(lessons[index - 1] if index > 0 else None),
            "next_lesson": link(lessons[index + 1] if index + 1 < len(lessons) else None),
            "lesson_number": index + 1,
            "lesson_count": len(lessons),
        }

    return page_cache.get_or_set(("lesson", lesson.pk, get_language(), _host(request)), compute)


def lesson_page_context(*, request, lesson: LessonPage) -> dict:
    user = _user(request)
    public = _lesson_public(request=request, lesson=lesson)
    enrollment = None
    done_keys: set = set()
    if user:
        enrollment = Enrollment.objects.filter(
            user=user,
            course_id=public["canonical_course_pk"],
            status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED],
        ).first()
    if enrollment:
        done_keys = set(
            LessonProgress.objects.filter(
                enrollment=enrollment, completed_at__isnull=False
            ).values_list("lesson__translation_key", flat=True)
        )
    quiz = None
    if lesson.has_quiz:
        state = services.quiz_state(enrollment=enrollment, lesson=lesson)
        quiz = {**state, "questions": _questions_for_display(lesson, state["latest"])}
    count = public["lesson_count"]
    return {
        "course": public["course"],
        "enrollment": enrollment,
        "lesson_done": lesson.translation_key in done_keys,
        "previous_lesson": public["previous_lesson"],
        "next_lesson": public["next_lesson"],
        "lesson_number": public["lesson_number"],
        "lesson_count": count,
        "progress_percent": round(100 * len(done_keys) / count) if count else 0,
        "quiz": quiz,
        "body_html": _stream_html(request, lesson, "courses/includes/lesson_body.html"),
    }


def _questions_for_display(lesson: LessonPage, latest) -> list[dict]:
    """Question text and choices WITHOUT the answer key; with the latest attempt's verdict
    (and the explanation) once the driver has answered."""
    verdicts = {r["question"]: r for r in (latest.results if latest else [])}
    questions = []
    for number, block in enumerate(lesson.questions, start=1):
        value = block.value
        verdict = verdicts.get(block.id)
        if block.block_type == "true_false":
            choices = [
                {"id": "true", "text": None, "label": "true"},
                {"id": "false", "text": None, "label": "false"},
            ]
        else:
            choices = [
                {"id": item.id, "text": item.value["text"], "label": None}
                for item in value["choices"].bound_blocks
            ]
        chosen = set(verdict["chosen"]) if verdict else set()
        wrong = set(verdict["wrong_choices"]) if verdict else set()
        for choice in choices:
            choice["chosen"] = choice["id"] in chosen
            choice["wrong"] = choice["id"] in wrong
        questions.append(
            {
                "id": block.id,
                "number": number,
                "kind": block.block_type,
                "text": value["question"],
                "points": value["points"],
                "choices": choices,
                "verdict": verdict,
                "explanation": value["explanation"] if verdict else None,
            }
        )
    return questions


def dashboard_context(*, user, language_code: str) -> dict:
    """A driver's courses with progress, next steps and completions, in their language."""
    locale = Locale.objects.filter(language_code=language_code).first()
    enrollments = list(
        Enrollment.objects.filter(user=user)
        .exclude(status=Enrollment.Status.CANCELLED)
        .select_related("course", "last_lesson", "completion", "completion__credential")
        .annotate(
            lessons_done=Count(
                "progress", filter=Q(progress__completed_at__isnull=False), distinct=True
            )
        )
        .order_by("-updated_at")
    )
    courses = [e.course for e in enrollments]
    in_courses = Q(pk__in=[])
    for course in courses:
        in_courses |= Q(path__startswith=course.path)
    lesson_paths = list(LessonPage.objects.live().filter(in_courses).values_list("path", flat=True))
    rows = []
    translations = _translations(courses, locale)
    for enrollment in enrollments:
        total = sum(1 for path in lesson_paths if path.startswith(enrollment.course.path))
        shown = translations.get(enrollment.course.translation_key, enrollment.course)
        rows.append(
            {
                "enrollment": enrollment,
                "course": shown,
                "lessons_total": total,
                "lessons_done": enrollment.lessons_done,
                "percent": round(100 * enrollment.lessons_done / total) if total else 0,
                "completion": getattr(enrollment, "completion", None),
            }
        )
    return {
        "rows": rows,
        "studying": [r for r in rows if r["completion"] is None],
        "completed": [r for r in rows if r["completion"] is not None],
    }


def _translations(pages, locale) -> dict:
    if locale is None or not pages:
        return {}
    return {
        page.translation_key: page
        for page in CoursePage.objects.filter(
            translation_key__in=[p.translation_key for p in pages], locale=locale
        ).live()
    }


def learning_path_context(*, request, path) -> dict:
    user = _user(request)
    steps = list(path.steps.select_related("course").order_by("sort_order"))
    canonical_ids = [default_locale_page(step.course).pk for step in steps]
    completed = set()
    if user:
        completed = set(
            Completion.objects.filter(user=user, course_id__in=canonical_ids).values_list(
                "course_id", flat=True
            )
        )
    rows = []
    reached = None
    for step, canonical_id in zip(steps, canonical_ids, strict=True):
        done = canonical_id in completed
        rows.append({"step": step, "course": step.course.localized, "done": done})
        if done:
            reached = step.level_name
    current = next((row for row in rows if not row["done"]), None)
    return {"path_rows": rows, "reached_level": reached, "current_step": current}
