"""The site's own pages: the home page and the public profiles of partner organisations."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from cms.blocks import BaseStreamBlock

from .identity import Organization


class HomePage(Page):
    hero_title = models.CharField(_("hero title"), max_length=120)
    hero_text = models.CharField(_("hero text"), max_length=300, blank=True)
    body = StreamField(BaseStreamBlock(), blank=True, verbose_name=_("body"))

    content_panels = [
        *Page.content_panels,
        FieldPanel("hero_title"),
        FieldPanel("hero_text"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("hero_text")]
    # Other apps' sections hang here too (named, not imported: cms imports no app).
    subpage_types = ["cms.PartnerIndexPage", "courses.CourseIndexPage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["partners"] = (
            PartnerPage.objects.live()
            .public()
            .filter(locale=self.locale)
            .select_related("organization", "logo")
            .order_by("title")
        )
        return context


class PartnerIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PartnerPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("partner index page")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["partners"] = (
            PartnerPage.objects.child_of(self)
            .live()
            .public()
            .select_related("organization", "logo")
            .order_by("title")
        )
        return context


class PartnerPage(Page):
    """A school's or carmaker's public profile."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="partner_pages",
        limit_choices_to={"kind__in": [Organization.Kind.SCHOOL, Organization.Kind.CARMAKER]},
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    description = RichTextField(
        _("description"), blank=True, features=["bold", "italic", "link", "ol", "ul", "h3"]
    )
    city = models.CharField(_("city"), max_length=60, blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("organization"),
        FieldPanel("logo"),
        FieldPanel("tagline"),
        FieldPanel("city"),
        FieldPanel("description"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("tagline"),
        index.SearchField("description"),
    ]
    parent_page_types = ["cms.PartnerIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("partner page")
