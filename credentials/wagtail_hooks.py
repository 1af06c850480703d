"""The "Certificates" admin menu item and URLs (views in ``credentials.admin_views``)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from credentials.admin_views import can_view_certificates, urlpatterns


class CertificatesMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_certificates(request.user)


@hooks.register("register_admin_urls")
def register_certificate_admin_urls():
    return [path("certificates/", include((urlpatterns, "credential_admin")))]


@hooks.register("register_admin_menu_item")
def register_certificates_menu_item():
    return CertificatesMenuItem(
        _("Certificates"),
        reverse("credential_admin:index"),
        name="certificates",
        icon_name="doc-full",
        order=360,
    )
