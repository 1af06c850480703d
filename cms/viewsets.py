"""Wagtail admin views of the site's own models."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.users.views.users import UserViewSet as WagtailUserViewSet

from cms.admin_forms import RoadwiseUserCreationForm, RoadwiseUserEditForm
from cms.models import Organization


class UserViewSet(WagtailUserViewSet):
    def get_form_class(self, for_update=False):
        return RoadwiseUserEditForm if for_update else RoadwiseUserCreationForm


class OrganizationViewSet(ModelViewSet):
    model = Organization
    icon = "group"
    menu_label = _("Organisations")
    menu_order = 250
    add_to_admin_menu = True
    list_display = ["name", "name_en", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en", "slug"]
    form_fields = ["kind", "name", "name_en", "slug", "website", "is_active"]
    inspect_view_enabled = True


organization_viewset = OrganizationViewSet("organizations")
