"""Wagtail admin views of the site's own models."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.defaults import permission_denied
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.users.views.users import UserViewSet as WagtailUserViewSet

from cms.admin_forms import RoadwiseUserCreationForm, RoadwiseUserEditForm
from cms.api_keys import platform_api_key_create, platform_api_key_revoke
from cms.api_scopes import ALL_SCOPES, SCOPE_CHOICES
from cms.models import Organization, PlatformApiKey


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


# Platform API keys: operators only. Plain views, because a key's secret must be shown
# once, on the page that answers the create form, and never stored anywhere to show later.


class PlatformApiKeyForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Platform"),
        queryset=Organization.objects.filter(kind=Organization.Kind.PLATFORM, is_active=True),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What the key is for, e.g. “production servers”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=SCOPE_CHOICES,
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the key may do. Give a platform only what it needs."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        required=False,
        min_value=0,
        help_text=_("Leave empty for the site's default; 0 means no limit."),
    )


def _operators_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_superuser:
            # A plain 403: Wagtail would turn a raised PermissionDenied into a redirect.
            return permission_denied(request, PermissionDenied())
        return view(request, *args, **kwargs)

    return wrapped


@_operators_only
def api_key_index(request):
    keys = PlatformApiKey.objects.select_related("organization", "created_by", "revoked_by")
    return TemplateResponse(
        request,
        "cms/admin/api_keys/index.html",
        {"page_title": _("Platform API keys"), "header_icon": "key", "api_keys": keys},
    )


@_operators_only
def api_key_create(request):
    form = PlatformApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw = platform_api_key_create(
                organization=form.cleaned_data["organization"],
                name=form.cleaned_data["name"],
                created_by=request.user,
                scopes=form.cleaned_data["scopes"],
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Answer the POST itself rather than redirect: the key then lives only in
            # this one response, not in a session or a URL.
            response = TemplateResponse(
                request,
                "cms/admin/api_keys/created.html",
                {
                    "page_title": _("New platform API key"),
                    "header_icon": "key",
                    "api_key": api_key,
                    "raw_key": raw,
                },
            )
            add_never_cache_headers(response)
            return response
    return TemplateResponse(
        request,
        "cms/admin/api_keys/create.html",
        {"page_title": _("New platform API key"), "header_icon": "key", "form": form},
    )


@_operators_only
def api_key_revoke(request, pk: int):
    api_key = get_object_or_404(PlatformApiKey.objects.select_related("organization"), pk=pk)
    if request.method == "POST":
        platform_api_key_revoke(api_key=api_key, revoked_by=request.user)
        messages.success(
            request,
            _("The key “%(name)s” (%(prefix)s) is revoked and no longer works.")
            % {"name": api_key.name, "prefix": api_key.prefix},
        )
        return redirect("cms_api_keys:index")
    return TemplateResponse(
        request,
        "cms/admin/api_keys/revoke.html",
        {"page_title": _("Revoke platform API key"), "header_icon": "key", "api_key": api_key},
    )


api_key_urls = (
    [
        path("", api_key_index, name="index"),
        path("new/", api_key_create, name="create"),
        path("<int:pk>/revoke/", api_key_revoke, name="revoke"),
    ],
    "cms_api_keys",
)
