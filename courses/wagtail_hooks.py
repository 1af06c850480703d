"""Authors see only their own organisation's section in the admin.

Wagtail's permissions (set up by courses.authoring.section_ensure) already keep an author
out of other sections' edit, preview, explorer and search views, and limit image and
document listings and choosers to collections the author has permissions on. The hooks
here narrow what an author can *see* to their organisation whatever groups they are in:

- pages: their organisation's sections and everything below them, plus the ancestors
  needed to reach them (home, catalogue). Never another section, partner pages or
  learning paths. Applies to the explorer listing, the explorer menu (both through
  construct_explorer_page_queryset) and the page chooser (browse and search).
- images and documents: their organisation's collection and its children, in the
  choosers (construct_image_chooser_queryset, construct_document_chooser_queryset).
  Wagtail 8 has no hook for the image and document listings or for the admin page
  search; those are filtered by Wagtail's own permission checks.
- the "Page types usage" report names the last edited page of each type across the whole
  site, so it is taken out of the reports menu for everyone but operators, and its URLs
  answer only operators (cms/urls.py routes them to the views below, before Wagtail's).
- Wagtail's admin API (/admin/api/main/images/, documents/) lists every image and document
  whatever its collection: its viewsets are replaced by ones narrowed like the choosers.

The hooks never narrow what operators (staff users and superusers) see: a superuser sees
everything, a staff user what their groups allow. Any other admin user without a school or
carmaker sees no pages and no media through these views."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from wagtail import hooks
from wagtail.admin.auth import require_admin_access
from wagtail.admin.views.reports.page_types_usage import PageTypesUsageReportView
from wagtail.documents.api.admin.views import DocumentsAdminAPIViewSet
from wagtail.images.api.admin.views import ImagesAdminAPIViewSet
from wagtail.models import Collection, Page

from courses import (
    admin_seats,  # noqa: F401 - registers the sponsors' seat purchase views
    analytics,  # noqa: F401 - registers the partner analytics admin view
)
from courses.authoring import (
    member_groups_sync,
    organization_collection,
    organization_sections,
    section_ensure,
)
from courses.viewsets import seat_pool_viewset

_SCOPE_CACHE = "_roadwise_authoring_scope"


def is_operator(user) -> bool:
    return bool(user.is_active and (user.is_staff or user.is_superuser))


class _Scope:
    """What one non-operator user may see, worked out once per request."""

    def __init__(self, user):
        organization = getattr(user, "organization", None)
        self.page_filter = None
        self.collection_ids: list[int] = []
        if organization is None or not organization.is_author_org:
            return
        paths = list(organization_sections(organization).values_list("path", flat=True))
        if paths:
            steplen = Page.steplen
            ancestors = {p[:end] for p in paths for end in range(steplen, len(p), steplen)}
            page_filter = Q(path__in=sorted(ancestors))
            for path in paths:
                page_filter |= Q(path__startswith=path)
            self.page_filter = page_filter
        collection = organization_collection(organization)
        if collection is not None:
            self.collection_ids = list(
                Collection.objects.filter(path__startswith=collection.path).values_list(
                    "pk", flat=True
                )
            )


def _scope(request) -> _Scope | None:
    """None for operators (no narrowing); otherwise the user's scope."""
    user = request.user
    if is_operator(user):
        return None
    scope = getattr(request, _SCOPE_CACHE, None)
    if scope is None:
        scope = _Scope(user)
        setattr(request, _SCOPE_CACHE, scope)
    return scope


def _visible_pages(pages, request):
    scope = _scope(request)
    if scope is None:
        return pages
    if scope.page_filter is None:
        return pages.none()
    return pages.filter(pk__in=Page.objects.filter(scope.page_filter).values("pk"))


def _visible_media(items, request):
    scope = _scope(request)
    if scope is None:
        return items
    if not scope.collection_ids:
        return items.none()
    return items.filter(collection_id__in=scope.collection_ids)


@hooks.register("construct_explorer_page_queryset")
def explorer_shows_own_section(parent_page, pages, request):
    return _visible_pages(pages, request)


@hooks.register("construct_page_chooser_queryset")
def page_chooser_shows_own_section(pages, request):
    return _visible_pages(pages, request)


@hooks.register("construct_image_chooser_queryset")
def image_chooser_shows_own_collection(images, request):
    return _visible_media(images, request)


@hooks.register("construct_document_chooser_queryset")
def document_chooser_shows_own_collection(documents, request):
    return _visible_media(documents, request)


class OwnCollectionImagesAdminAPIViewSet(ImagesAdminAPIViewSet):
    def get_queryset(self):
        return _visible_media(super().get_queryset(), self.request)


class OwnCollectionDocumentsAdminAPIViewSet(DocumentsAdminAPIViewSet):
    def get_queryset(self):
        return _visible_media(super().get_queryset(), self.request)


# After wagtail.images' and wagtail.documents' own hooks, so that these replace theirs.
@hooks.register("construct_admin_api", order=100)
def admin_api_shows_own_collection(router):
    router.register_endpoint("images", OwnCollectionImagesAdminAPIViewSet)
    router.register_endpoint("documents", OwnCollectionDocumentsAdminAPIViewSet)


def _operators_only(view):
    """An admin view for operators; anyone else is refused as Wagtail refuses."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_operator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return require_admin_access(wrapped)


page_types_usage_report = _operators_only(PageTypesUsageReportView.as_view())
page_types_usage_report_results = _operators_only(
    PageTypesUsageReportView.as_view(results_only=True)
)


@hooks.register("construct_reports_menu")
def hide_site_wide_page_reports(request, menu_items):
    if not is_operator(request.user):
        menu_items[:] = [item for item in menu_items if item.name != "page-types-usage"]


@hooks.register("after_create_user")
@hooks.register("after_edit_user")
def sync_author_groups(request, user):
    """An operator set someone's organisation in Settings → Users: make sure the
    organisation has its section, then give them its authors group (and take other
    organisations' groups away)."""
    if user.organization is not None and user.organization.is_author_org:
        try:
            section_ensure(organization=user.organization)
        except ValueError:  # no course catalogue yet: the groups still work later
            pass
    member_groups_sync(user=user)


@hooks.register("register_admin_viewset")
def register_seat_pool_viewset():
    return seat_pool_viewset
