from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import AdminOnlyMenuItem

from cms.viewsets import api_key_urls, organization_viewset


@hooks.register("register_admin_viewset")
def register_organization_viewset():
    return organization_viewset


@hooks.register("register_admin_urls")
def register_api_key_urls():
    return [path("platform-api-keys/", include(api_key_urls))]


@hooks.register("register_settings_menu_item")
def register_api_key_menu_item():
    return AdminOnlyMenuItem(
        _("Platform API keys"),
        reverse("cms_api_keys:index"),
        name="platform-api-keys",
        icon_name="key",
        order=900,
    )
