"""The rewards admin: service data upload, ledger; rules and disputes register their own hooks
(imported below)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from rewards import admin_rules, admin_topup, admin_totals, dispute_admin  # noqa: F401  (they register hooks)
from rewards.admin_views import can_upload, urlpatterns


class UploadMenuItem(MenuItem):
    def is_shown(self, request):
        return can_upload(request.user)


@hooks.register("register_admin_urls")
def register_rewards_admin_urls():
    return [path("service-data/", include((urlpatterns, "rewards_admin")))]


class LedgerMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser


@hooks.register("register_admin_menu_item")
def register_ledger_menu_item():
    return LedgerMenuItem(
        _("Ledger"),
        reverse("rewards_admin:ledger"),
        name="ledger",
        icon_name="table",
        order=380,
    )


@hooks.register("register_admin_menu_item")
def register_upload_menu_item():
    return UploadMenuItem(
        _("Service data"),
        reverse("rewards_admin:upload"),
        name="service-data",
        icon_name="upload",
        order=370,
    )
