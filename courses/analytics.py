"""Partner analytics in the Wagtail admin: how many drivers enrol in a school's or
carmaker's courses, how many finish, how they score on quizzes, and at which lesson they
stop. Authors see their own organisation's courses (those in its section and those it
co-developed); operators see every course and can filter by organisation.

Every figure is aggregated in the database: the number of queries depends on the number of
courses and lessons shown, never on the number of enrolments. Only enrolments that gave a
driver a place and were not cancelled count (studying or completed): a driver waiting for
payment has not started, and a cancelled enrolment is not a driver the course lost.

The hooks registered here (menu item, admin URLs) take effect once this module is imported;
courses/wagtail_hooks.py imports it."""

import csv
from collections import defaultdict
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Length, Substr
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path, reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.coreutils import get_supported_content_language_variant

from cms.models import Organization
from courses.models import (
    CoursePage,
    CourseSectionPage,
    Enrollment,
    LessonPage,
    LessonProgress,
    QuizAttempt,
)

COUNTED_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
AUTHOR_KINDS = (Organization.Kind.SCHOOL, Organization.Kind.CARMAKER)


# --- who may see what -------------------------------------------------------------------


def is_operator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def author_organization(user) -> Organization | None:
    """The school or carmaker whose figures this user may see, if any."""
    if not (user.is_authenticated and user.is_active and user.organization_id):
        return None
    organization = user.organization
    if organization.kind in AUTHOR_KINDS and organization.is_active:
        return organization
    return None


def can_view_analytics(user) -> bool:
    return is_operator(user) or author_organization(user) is not None


def visible_courses(user, organization: Organization | None = None) -> QuerySet:
    """The default-language courses this user may see figures for, with ``provider_org_id``
    (the organisation of the section that holds each course). For an operator,
    ``organization`` narrows the list to what that organisation's authors see; for an
    author it is ignored: they only ever see their own organisation's courses."""
    default_language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    section = CourseSectionPage.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - CoursePage.steplen)
    ).values("organization_id")[:1]
    courses = CoursePage.objects.filter(locale__language_code=default_language).annotate(
        provider_org_id=Subquery(section)
    )
    if not is_operator(user):
        organization = author_organization(user)
        if organization is None:
            return courses.none()
    if organization is not None:
        co_developed = CoursePage.objects.filter(co_developers=organization).values("pk")
        courses = courses.filter(Q(provider_org_id=organization.pk) | Q(pk__in=co_developed))
    return courses.order_by("path")


# --- the figures ------------------------------------------------------------------------


def percent_of(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def mean(total: int, count: int) -> float | None:
    return round(total / count, 1) if count else None


@dataclass
class LessonFigures:
    lesson: LessonPage
    number: int  # 1-based position in the course
    enrolments: int
    completed: int  # enrolled drivers who completed this lesson
    stopped: int  # drivers who got this far (completed the step before) but not this lesson
    attempts: int = 0
    average_score: float | None = None  # mean percent of all quiz attempts
    average_best_score: float | None = None  # mean of each driver's best attempt

    @property
    def completion_rate(self) -> float | None:
        return percent_of(self.completed, self.enrolments)


@dataclass
class CourseFigures:
    course: CoursePage
    provider: Organization | None
    enrolments: int = 0
    completions: int = 0
    attempts: int = 0
    average_score: float | None = None
    average_best_score: float | None = None
    lessons: list[LessonFigures] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        return percent_of(self.completions, self.enrolments)

    @property
    def drop_off(self) -> LessonFigures | None:
        """The lesson at which most drivers stopped (did not complete it although they had
        completed the one before), or None if nobody stopped anywhere."""
        candidates = [lesson for lesson in self.lessons if lesson.stopped > 0]
        return max(candidates, key=lambda lesson: lesson.stopped, default=None)


def live_lessons_by_course(courses: list[CoursePage]) -> dict[int, list[LessonPage]]:
    """Each course's live lessons in reading order (as ``CoursePage.lessons()``), in one
    query per distinct course depth (practically one), whatever the number of courses."""
    by_length: dict[int, dict[str, CoursePage]] = defaultdict(dict)
    for course in courses:
        by_length[len(course.path)][course.path] = course
    lessons: dict[int, list[LessonPage]] = {course.pk: [] for course in courses}
    for length, by_path in by_length.items():
        rows = (
            LessonPage.objects.live()
            .annotate(course_path=Substr("path", 1, length))
            .filter(course_path__in=list(by_path), depth__gt=length // LessonPage.steplen)
            .only("pk", "title", "path", "depth")
            .order_by("path")
        )
        for lesson in rows:
            lessons[by_path[lesson.course_path].pk].append(lesson)
    return lessons


def _attempt_totals(attempts: QuerySet) -> dict[tuple[int, int], tuple[int, int]]:
    """(course id, lesson id) -> (number of attempts, sum of their percents). Sums rather
    than averages, so that course-wide means are exact."""
    rows = (
        attempts.order_by()
        .values("enrollment__course_id", "lesson_id")
        .annotate(count=Count("pk"), total=Sum("percent"))
    )
    return {
        (row["enrollment__course_id"], row["lesson_id"]): (row["count"], row["total"] or 0)
        for row in rows
    }


def build_figures(courses: list[CoursePage], *, with_lessons: bool = False) -> list[CourseFigures]:
    """The figures of these courses (annotated by ``visible_courses``), in a fixed number
    of queries."""
    if not courses:
        return []
    ids = [course.pk for course in courses]
    providers = Organization.objects.in_bulk(
        {course.provider_org_id for course in courses if course.provider_org_id}
    )
    figures = {
        course.pk: CourseFigures(course=course, provider=providers.get(course.provider_org_id))
        for course in courses
    }

    enrolments = (
        Enrollment.objects.filter(course_id__in=ids, status__in=COUNTED_STATUSES)
        .order_by()
        .values("course_id")
        .annotate(enrolments=Count("pk"), completions=Count("completion"))
    )
    for row in enrolments:
        figures[row["course_id"]].enrolments = row["enrolments"]
        figures[row["course_id"]].completions = row["completions"]

    attempts = QuizAttempt.objects.filter(
        enrollment__course_id__in=ids, enrollment__status__in=COUNTED_STATUSES
    )
    better = QuizAttempt.objects.filter(
        enrollment_id=OuterRef("enrollment_id"), lesson_id=OuterRef("lesson_id")
    ).filter(
        Q(percent__gt=OuterRef("percent"))
        | Q(percent=OuterRef("percent"), number__lt=OuterRef("number"))
    )
    all_attempts = _attempt_totals(attempts)
    best_attempts = _attempt_totals(attempts.filter(~Exists(better)))

    course_totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (course_id, _lesson_id), (count, total) in all_attempts.items():
        course_totals[course_id][0] += count
        course_totals[course_id][1] += total
    for (course_id, _lesson_id), (count, total) in best_attempts.items():
        course_totals[course_id][2] += count
        course_totals[course_id][3] += total
    for course_id, (count, total, best_count, best_total) in course_totals.items():
        figures[course_id].attempts = count
        figures[course_id].average_score = mean(total, count)
        figures[course_id].average_best_score = mean(best_total, best_count)

    if with_lessons:
        completed = dict(
            LessonProgress.objects.filter(
                enrollment__course_id__in=ids,
                enrollment__status__in=COUNTED_STATUSES,
                completed_at__isnull=False,
            )
            .order_by()
            .values("lesson_id")
            .annotate(count=Count("pk"))
            .values_list("lesson_id", "count")
        )
        for course_id, lessons in live_lessons_by_course(courses).items():
            course = figures[course_id]
            reached = course.enrolments
            for number, lesson in enumerate(lessons, start=1):
                done = completed.get(lesson.pk, 0)
                count, total = all_attempts.get((course_id, lesson.pk), (0, 0))
                best_count, best_total = best_attempts.get((course_id, lesson.pk), (0, 0))
                course.lessons.append(
                    LessonFigures(
                        lesson=lesson,
                        number=number,
                        enrolments=course.enrolments,
                        completed=done,
                        stopped=max(reached - done, 0),
                        attempts=count,
                        average_score=mean(total, count),
                        average_best_score=mean(best_total, best_count),
                    )
                )
                reached = done
    return [figures[course.pk] for course in courses]


# --- the drop-off chart -----------------------------------------------------------------


@dataclass
class Bar:
    label: str
    short_label: str
    value: int
    percent: float | None
    y: int
    width: int
    kind: str  # "enrolled", "lesson" or "completed"

    @property
    def bar_y(self) -> int:
        return self.y + Chart.label_height

    @property
    def text_y(self) -> int:
        return self.y + Chart.label_height - 6

    @property
    def value_x(self) -> int:
        return self.width + 6

    @property
    def value_y(self) -> int:
        return self.bar_y + Chart.bar_height - 4


@dataclass
class Chart:
    """A horizontal bar chart of how many drivers are left at each step, drawn on the
    server as SVG: one row per step, the label above its bar, the number after it."""

    bars: list[Bar]
    width: int = 640
    label_height = 22
    bar_height = 18
    row_height = 50
    max_bar_width = 500

    @property
    def height(self) -> int:
        return len(self.bars) * self.row_height


def drop_off_chart(figures: CourseFigures) -> Chart:
    steps = [("enrolled", str(_("Enrolled")), figures.enrolments)]
    steps += [
        ("lesson", f"{lesson.number}. {lesson.lesson.title}", lesson.completed)
        for lesson in figures.lessons
    ]
    steps.append(("completed", str(_("Completed the course")), figures.completions))
    scale = max([value for _kind, _label, value in steps] + [1])
    bars = []
    for row, (kind, label, value) in enumerate(steps):
        width = round(Chart.max_bar_width * value / scale)
        bars.append(
            Bar(
                label=label,
                short_label=Truncator(label).chars(48),
                value=value,
                percent=percent_of(value, figures.enrolments),
                y=row * Chart.row_height,
                width=max(width, 2) if value else 0,
                kind=kind,
            )
        )
    return Chart(bars=bars)


# --- CSV --------------------------------------------------------------------------------


def csv_safe(value):
    """Text an author typed must not run as a spreadsheet formula in Excel."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def csv_header() -> list:
    return [
        _("Row"),
        _("Course ID"),
        _("Course"),
        _("Organisation"),
        _("Lesson number"),
        _("Lesson"),
        _("Enrolments"),
        _("Completed"),
        _("Completion rate (%)"),
        _("Drivers who stopped here"),
        _("Quiz attempts"),
        _("Average quiz score (%)"),
        _("Average best quiz score (%)"),
    ]


def csv_rows(all_figures: list[CourseFigures]):
    yield [str(cell) for cell in csv_header()]
    for figures in all_figures:
        course = figures.course
        provider = figures.provider.display_name if figures.provider else ""
        yield [
            str(_("course")),
            course.pk,
            csv_safe(course.title),
            csv_safe(provider),
            "",
            "",
            figures.enrolments,
            figures.completions,
            csv_safe(figures.completion_rate),
            "",
            figures.attempts,
            csv_safe(figures.average_score),
            csv_safe(figures.average_best_score),
        ]
        for lesson in figures.lessons:
            yield [
                str(_("lesson")),
                course.pk,
                csv_safe(course.title),
                csv_safe(provider),
                lesson.number,
                csv_safe(lesson.lesson.title),
                lesson.enrolments,
                lesson.completed,
                csv_safe(lesson.completion_rate),
                lesson.stopped,
                lesson.attempts,
                csv_safe(lesson.average_score),
                csv_safe(lesson.average_best_score),
            ]


def csv_response(all_figures: list[CourseFigures], filename: str) -> HttpResponse:
    """UTF-8 with a byte order mark, so that Excel reads the Chinese titles correctly."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerows(csv_rows(all_figures))
    return response


# --- admin views ------------------------------------------------------------------------


class OrganizationFilterForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organization.objects.filter(kind__in=AUTHOR_KINDS),
        required=False,
        empty_label=_("All organisations"),
    )


class AnalyticsAccessMixin:
    """Authors of a school or carmaker and operators; anyone else is turned away (the
    Wagtail admin shows its 'no permission' message)."""

    def dispatch(self, request, *args, **kwargs):
        if not can_view_analytics(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def filter_organization(self) -> Organization | None:
        """The operator's organisation filter, if valid; authors have none."""
        if not is_operator(self.request.user):
            return None
        form = self.filter_form()
        return form.cleaned_data["organization"] if form.is_valid() else None

    def filter_form(self) -> OrganizationFilterForm:
        if not hasattr(self, "_filter_form"):
            self._filter_form = OrganizationFilterForm(self.request.GET or None)
        return self._filter_form


class AnalyticsIndexView(AnalyticsAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "courses/admin/analytics.html"
    page_title = _("Course analytics")
    header_icon = "table"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def export_url(self) -> str:
        url = reverse("course_analytics:export")
        organization = self.filter_organization()
        return f"{url}?organization={organization.pk}" if organization else url

    def get_header_buttons(self):
        return [HeaderButton(_("Download CSV"), url=self.export_url(), icon_name="download")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        courses = list(visible_courses(user, self.filter_organization()))
        context.update(
            figures=build_figures(courses),
            filter_form=self.filter_form() if is_operator(user) else None,
            organization=author_organization(user),
            export_url=self.export_url(),
        )
        return context


class AnalyticsExportView(AnalyticsAccessMixin, View):
    def get(self, request):
        courses = list(visible_courses(request.user, self.filter_organization()))
        return csv_response(build_figures(courses, with_lessons=True), "course-analytics.csv")


class CourseAnalyticsMixin(AnalyticsAccessMixin):
    def get_course(self) -> CoursePage:
        """404 for a course this user may not see: as if it did not exist."""
        return get_object_or_404(visible_courses(self.request.user), pk=self.kwargs["course_id"])


class CourseAnalyticsView(CourseAnalyticsMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "courses/admin/analytics/course.html"
    header_icon = "table"

    def get(self, request, *args, **kwargs):
        self.course = self.get_course()
        return super().get(request, *args, **kwargs)

    def get_page_title(self):
        return self.course.title

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("course_analytics:index"), "label": _("Course analytics")},
            {"url": "", "label": self.course.title},
        ]

    def get_header_buttons(self):
        url = reverse("course_analytics:course_export", args=[self.course.pk])
        return [HeaderButton(_("Download CSV"), url=url, icon_name="download")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        [figures] = build_figures([self.course], with_lessons=True)
        context.update(figures=figures, chart=drop_off_chart(figures))
        return context


class CourseAnalyticsExportView(CourseAnalyticsMixin, View):
    def get(self, request, course_id):
        course = self.get_course()
        figures = build_figures([course], with_lessons=True)
        return csv_response(figures, f"course-{course.pk}-analytics.csv")


urlpatterns = [
    path("", AnalyticsIndexView.as_view(), name="index"),
    path("export.csv", AnalyticsExportView.as_view(), name="export"),
    path("<int:course_id>/", CourseAnalyticsView.as_view(), name="course"),
    path("<int:course_id>/export.csv", CourseAnalyticsExportView.as_view(), name="course_export"),
]


class AnalyticsMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_analytics(request.user)


@hooks.register("register_admin_urls")
def register_analytics_urls():
    return [path("course-analytics/", include((urlpatterns, "course_analytics")))]


@hooks.register("register_admin_menu_item")
def register_analytics_menu_item():
    return AnalyticsMenuItem(
        _("Course analytics"),
        reverse("course_analytics:index"),
        name="course-analytics",
        icon_name="table",
        order=350,
    )
