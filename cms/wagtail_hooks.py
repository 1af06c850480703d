import json

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import include, path, reverse
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from laces.components import Component
from wagtail import hooks
from wagtail.admin.menu import AdminOnlyMenuItem

from cms import payments, tasks
from cms.models import CheckoutPayment, PaymentAlert, StripeEvent
from cms.viewsets import _operators_only, api_key_urls, organization_viewset

STRIPE_ADMIN_ROWS = 100


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


# --- Stripe: payments and webhook events, for operators ---------------------------------------


@_operators_only
def stripe_index(request):
    only_unprocessed = request.GET.get("events") == "unprocessed"
    events = StripeEvent.objects.defer("payload")
    if only_unprocessed:
        events = events.filter(processed_at__isnull=True)
    return TemplateResponse(
        request,
        "cms/admin/stripe/index.html",
        {
            "page_title": _("Stripe payments and events"),
            "header_icon": "list-ul",
            "configured": payments.payments_configured(),
            "payments": CheckoutPayment.objects.select_related("user", "organization")[
                :STRIPE_ADMIN_ROWS
            ],
            "events": events[:STRIPE_ADMIN_ROWS],
            "unprocessed_count": StripeEvent.objects.filter(processed_at__isnull=True).count(),
            "alerts": PaymentAlert.objects.filter(resolved_at__isnull=True),
            "resolved_alerts": PaymentAlert.objects.filter(resolved_at__isnull=False)
            .select_related("resolved_by")
            .order_by("-resolved_at")[:20],
            "only_unprocessed": only_unprocessed,
        },
    )


@_operators_only
def stripe_event_detail(request, pk: int):
    event = get_object_or_404(StripeEvent, pk=pk)
    return TemplateResponse(
        request,
        "cms/admin/stripe/event.html",
        {
            "page_title": _("Stripe event"),
            "header_icon": "list-ul",
            "event": event,
            "payload": json.dumps(event.payload, indent=2, ensure_ascii=False, sort_keys=True),
            "handlers": [
                f"{h.__module__}.{h.__qualname__}" for h in payments.stripe_handlers_for(event.type)
            ],
        },
    )


@_operators_only
@require_POST
def stripe_event_retry(request, pk: int):
    """Try an unprocessed event again now (e.g. after fixing what made its handler fail)."""
    event = get_object_or_404(StripeEvent, pk=pk)
    if event.processed_at is None:
        transaction.on_commit(lambda: tasks.stripe_event_process.delay(event.pk))
        messages.success(
            request, _gettext("Event %(id)s is queued to be processed.") % {"id": event.event_id}
        )
    else:
        messages.info(
            request, _gettext("Event %(id)s was already processed.") % {"id": event.event_id}
        )
    return redirect("cms_stripe:event", pk=event.pk)


@_operators_only
@require_POST
def stripe_alert_resolve(request, pk: int):
    alert = get_object_or_404(PaymentAlert, pk=pk)
    try:
        payments.payment_alert_resolve(
            alert, user=request.user, resolution=request.POST.get("resolution", "")
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _gettext("The alert is marked resolved."))
    return redirect(reverse("cms_stripe:index") + "#alerts")


class PaymentAlertsPanel(Component):
    """On the admin dashboard of operators: how many payment alerts wait for them."""

    order = 50
    template_name = "cms/admin/stripe/alerts_panel.html"

    def __init__(self, count: int):
        self.count = count

    def get_context_data(self, parent_context=None):
        return {"count": self.count, "url": reverse("cms_stripe:index") + "#alerts"}


@hooks.register("construct_homepage_panels")
def add_payment_alerts_panel(request, panels):
    if request.user.is_superuser:
        count = PaymentAlert.objects.filter(resolved_at__isnull=True).count()
        if count:
            panels.append(PaymentAlertsPanel(count))


stripe_urls = (
    [
        path("", stripe_index, name="index"),
        path("alerts/<int:pk>/resolve/", stripe_alert_resolve, name="alert_resolve"),
        path("events/<int:pk>/", stripe_event_detail, name="event"),
        path("events/<int:pk>/retry/", stripe_event_retry, name="event_retry"),
    ],
    "cms_stripe",
)


@hooks.register("register_admin_urls")
def register_stripe_urls():
    return [path("stripe/", include(stripe_urls))]


@hooks.register("register_settings_menu_item")
def register_stripe_menu_item():
    return AdminOnlyMenuItem(
        _("Stripe payments"),
        reverse("cms_stripe:index"),
        name="stripe-payments",
        icon_name="list-ul",
        order=910,
    )


# --- Platform webhooks: operators see all, platform staff their own (cms/admin_webhooks.py) ---


@hooks.register("register_admin_urls")
def register_platform_webhook_urls():
    from cms import admin_webhooks

    return [path("platform-webhooks/", include(admin_webhooks.urls))]


@hooks.register("register_admin_menu_item")
def register_platform_webhook_menu_item():
    from cms import admin_webhooks

    return admin_webhooks.menu_item()


# --- The audit log (cms/audit.py): its actions in Reports → Site history ----------------------


@hooks.register("register_log_actions")
def register_audit_log_actions(actions):
    from cms import audit

    audit.register_actions(actions)
