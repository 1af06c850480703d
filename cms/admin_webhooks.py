"""A read-only Wagtail admin view of platforms' webhook subscriptions and their delivery log.

Operators (superusers) see every platform's; platform staff see their own platform's only."""

import json

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import permission_denied
from wagtail.admin.menu import MenuItem

from cms.models import Organization, PlatformWebhook, PlatformWebhookDelivery

ADMIN_ROWS = 100


def can_see_webhooks(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    organization = user.organization
    return (
        organization is not None
        and organization.kind == Organization.Kind.PLATFORM
        and organization.is_active  # a deactivated platform's staff see nothing more
    )


def _subscriptions(user):
    subscriptions = PlatformWebhook.objects.select_related("organization")
    if user.is_superuser:
        return subscriptions
    return subscriptions.filter(organization_id=user.organization_id)


def webhook_index(request):
    if not can_see_webhooks(request.user):
        return permission_denied(request, PermissionDenied())
    pending = Q(deliveries__status=PlatformWebhookDelivery.Status.PENDING)
    failed = Q(deliveries__status=PlatformWebhookDelivery.Status.FAILED)
    subscriptions = _subscriptions(request.user).annotate(
        pending_count=Count("deliveries", filter=pending),
        failed_count=Count("deliveries", filter=failed),
    )
    return TemplateResponse(
        request,
        "cms/admin/webhooks/index.html",
        {
            "page_title": _("Platform webhooks"),
            "header_icon": "link-external",
            "subscriptions": subscriptions[:ADMIN_ROWS],
            "show_platform": request.user.is_superuser,
        },
    )


def webhook_detail(request, pk: int):
    if not can_see_webhooks(request.user):
        return permission_denied(request, PermissionDenied())
    subscription = get_object_or_404(_subscriptions(request.user), pk=pk)
    deliveries = subscription.deliveries.all()
    status = request.GET.get("status")
    if status in PlatformWebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    elif status:
        raise Http404
    return TemplateResponse(
        request,
        "cms/admin/webhooks/detail.html",
        {
            "page_title": _("Webhook deliveries"),
            "header_icon": "link-external",
            "subscription": subscription,
            "deliveries": [
                (d, json.dumps(d.payload, indent=2, ensure_ascii=False, sort_keys=True))
                for d in deliveries[:ADMIN_ROWS]
            ],
            "statuses": PlatformWebhookDelivery.Status.choices,
            "status": status or "",
        },
    )


urls = (
    [
        path("", webhook_index, name="index"),
        path("<int:pk>/", webhook_detail, name="detail"),
    ],
    "cms_webhooks",
)


class WebhooksMenuItem(MenuItem):
    def is_shown(self, request):
        return can_see_webhooks(request.user)


def menu_item() -> MenuItem:
    return WebhooksMenuItem(
        _("Platform webhooks"),
        reverse("cms_webhooks:index"),
        name="platform-webhooks",
        icon_name="link-external",
        order=920,
    )
