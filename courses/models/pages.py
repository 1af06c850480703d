"""The page tree authors work in:

    CourseIndexPage (the catalogue, /courses/)
      CourseSectionPage (one per school or carmaker: its authors' own section)
        CoursePage
          ModulePage (optional, for long courses)
            LessonPage
      LearningPathPage (an ordered series of courses towards a named level)

Enrolments and progress always point at the course and lesson pages of the default
language (zh-Hans); a translation is another view of the same course."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Locale, Orderable, Page
from wagtail.search import index

from cms.blocks import BaseStreamBlock
from cms.models import Organization
from courses.blocks import QUESTION_TYPES, LessonStreamBlock


class CourseCategory(models.TextChoices):
    SAFE_DRIVING = "safe_driving", _("Safe driving")
    SERVICE_QUALITY = "service_quality", _("Service quality")
    EV_TECHNOLOGY = "ev_technology", _("EV and vehicle technology")
    REGULATIONS = "regulations", _("Regulations")
    FIRST_AID = "first_aid", _("First aid")
    CAREER_FINANCE = "career_finance", _("Career and finance")


class CourseLevel(models.IntegerChoices):
    BEGINNER = 1, _("Beginner")
    INTERMEDIATE = 2, _("Intermediate")
    ADVANCED = 3, _("Advanced")


def default_locale_page(page: Page) -> Page:
    """The same page in the default language (what enrolments and progress point at)."""
    default = Locale.get_default()
    if page.locale_id == default.pk:
        return page
    return page.get_translation(default)


class CourseIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["courses.CourseSectionPage", "courses.LearningPathPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("course catalogue")

    def route(self, request, path_components):
        # The walk down to a course or lesson page is remembered (courses/page_cache.py).
        from courses import page_cache

        return page_cache.cached_route(self, request, path_components, super().route)

    def get_context(self, request, *args, **kwargs):
        from courses.selectors import catalogue_context

        context = super().get_context(request, *args, **kwargs)
        context.update(catalogue_context(request=request, index=self))
        return context


class CourseSectionPage(Page):
    """The part of the catalogue that one school or carmaker authors. Its authors'
    Wagtail permissions start here (see courses/authoring.py)."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="course_sections",
        limit_choices_to={"kind__in": [Organization.Kind.SCHOOL, Organization.Kind.CARMAKER]},
    )
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [
        *Page.content_panels,
        # Authors edit their section's text, never which organisation owns it.
        FieldPanel("organization", permission="cms.change_organization"),
        FieldPanel("intro"),
    ]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types = ["courses.CoursePage"]

    class Meta:
        verbose_name = _("course section")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["courses"] = (
            CoursePage.objects.child_of(self).live().public().select_related("cover_image")
        )
        return context


class CoursePage(Page):
    summary = models.CharField(_("summary"), max_length=300)
    cover_image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("cover image"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = StreamField(BaseStreamBlock(), blank=True, verbose_name=_("description"))
    co_developers = ParentalManyToManyField(
        Organization,
        verbose_name=_("co-developed with"),
        blank=True,
        related_name="co_developed_courses",
        limit_choices_to={"kind": Organization.Kind.CARMAKER},
    )
    category = models.CharField(_("category"), max_length=32, choices=CourseCategory.choices)
    level = models.PositiveSmallIntegerField(
        _("level"), choices=CourseLevel.choices, default=CourseLevel.BEGINNER
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated minutes"), default=30)
    teaching_language = models.CharField(
        _("teaching language"),
        max_length=16,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    vehicle_models = models.CharField(
        _("vehicle models"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated, for example: Yuanhang E5, Yuanhang E7. Empty: any."),
    )
    prerequisites = ParentalManyToManyField(
        "courses.CoursePage",
        verbose_name=_("prerequisites"),
        blank=True,
        related_name="required_by",
    )
    price_fen = models.PositiveIntegerField(
        _("price (fen)"), default=0, help_text=_("In fen: 9900 is ¥99.00. 0 means free.")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    attempt_limit = models.PositiveSmallIntegerField(
        _("attempts allowed per quiz"), default=3, help_text=_("0 means no limit.")
    )
    cooldown_minutes = models.PositiveIntegerField(_("wait between attempts (minutes)"), default=30)
    certificate_valid_days = models.PositiveIntegerField(
        _("certificate valid for (days)"), default=730, help_text=_("0 means it never expires.")
    )
    renewal_course = models.ForeignKey(
        "courses.CoursePage",
        verbose_name=_("renewal course"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Offered to drivers whose certificate for this course has expired."),
    )
    search_terms = models.TextField(
        editable=False,
        blank=True,
        help_text="Chinese text split into words, so the search backend can match them.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("cover_image"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                FieldPanel("category"),
                FieldPanel("level"),
                FieldPanel("estimated_minutes"),
                FieldPanel("teaching_language"),
                FieldPanel("vehicle_models"),
                FieldPanel("co_developers"),
                FieldPanel("prerequisites"),
            ],
            heading=_("About the course"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("price_fen"),
                FieldPanel("pass_mark"),
                FieldPanel("attempt_limit"),
                FieldPanel("cooldown_minutes"),
                FieldPanel("certificate_valid_days"),
                FieldPanel("renewal_course"),
            ],
            heading=_("Enrolment, passing and certificate"),
        ),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("search_terms"),
        index.FilterField("category"),
        index.FilterField("level"),
        index.FilterField("price_fen"),
    ]
    parent_page_types = ["courses.CourseSectionPage"]
    subpage_types = ["courses.ModulePage", "courses.LessonPage"]

    class Meta:
        verbose_name = _("course")

    @property
    def is_free(self) -> bool:
        return self.price_fen == 0

    @cached_property
    def provider(self) -> Organization:
        """The school or carmaker whose section holds this course."""
        section = self.get_parent().specific
        return section.organization

    def lessons(self):
        """This course's live lessons in reading order (modules flattened)."""
        return LessonPage.objects.live().descendant_of(self).order_by("path")

    def save(self, *args, **kwargs):
        from courses.search import segment_for_index

        self.search_terms = segment_for_index(self.title, self.summary, self.vehicle_models)
        super().save(*args, **kwargs)

    def serve(self, request, *args, **kwargs):
        # The same page for every visitor without a session: kept whole (courses/page_cache.py).
        from courses import page_cache

        response = super().serve(request, *args, **kwargs)
        if not request.user.is_authenticated:
            page_cache.mark_public(request, response)
        return response

    def get_context(self, request, *args, **kwargs):
        from courses.selectors import course_page_context

        context = super().get_context(request, *args, **kwargs)
        context.update(course_page_context(request=request, course=self))
        return context


class ModulePage(Page):
    intro = models.CharField(_("introduction"), max_length=300, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["courses.CoursePage"]
    subpage_types = ["courses.LessonPage"]

    class Meta:
        verbose_name = _("module")

    def serve(self, request, *args, **kwargs):
        # A module is only a heading in the course outline.
        return redirect(self.get_parent().get_url(request))


class LessonPage(Page):
    estimated_minutes = models.PositiveIntegerField(_("estimated minutes"), default=10)
    body = StreamField(LessonStreamBlock(), verbose_name=_("content"))

    content_panels = [*Page.content_panels, FieldPanel("estimated_minutes"), FieldPanel("body")]
    parent_page_types = ["courses.CoursePage", "courses.ModulePage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("lesson")

    @cached_property
    def course(self) -> CoursePage:
        return CoursePage.objects.ancestor_of(self).get()

    @property
    def questions(self) -> list:
        return [block for block in self.body if block.block_type in QUESTION_TYPES]

    @property
    def has_quiz(self) -> bool:
        # From the raw JSON: converting blocks could query (images, documents).
        return any(item["type"] in QUESTION_TYPES for item in self.body.raw_data)

    def serve(self, request, *args, **kwargs):
        from courses import services

        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not services.lesson_visit(user=user, lesson=self):
            messages.info(request, _("Enrol in the course to study its lessons."))
            return redirect(self.course.get_url(request))
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        from courses.selectors import lesson_page_context

        context = super().get_context(request, *args, **kwargs)
        context.update(lesson_page_context(request=request, lesson=self))
        return context


class LearningPathPage(Page):
    """A career ladder: courses in order, each step reaching a named level."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        InlinePanel("steps", label=_("Steps"), min_num=1),
    ]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("learning path")

    def get_context(self, request, *args, **kwargs):
        from courses.selectors import learning_path_context

        context = super().get_context(request, *args, **kwargs)
        context.update(learning_path_context(request=request, path=self))
        return context


class LearningPathStep(Orderable):
    path = ParentalKey(LearningPathPage, on_delete=models.CASCADE, related_name="steps")
    course = models.ForeignKey(
        CoursePage, verbose_name=_("course"), on_delete=models.PROTECT, related_name="+"
    )
    level_name = models.CharField(
        _("level reached"), max_length=80, help_text=_("For example: EV driver level 1")
    )

    panels = [FieldPanel("course"), FieldPanel("level_name")]

    class Meta(Orderable.Meta):
        verbose_name = _("learning path step")
