"""The "Certificates" section of the Wagtail admin: find a credential, revoke, suspend or
reinstate it with a reason, and see its status history.

Operators (superusers) see every credential; members of a school or carmaker see only the
credentials their organisation issued. Anyone else gets no menu item and is turned away (the
admin's "no permission" redirect). Every change goes through ``credentials.services``.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from credentials import services
from credentials.forms import CredentialFilterForm, StatusChangeForm
from credentials.models import Credential
from credentials.tasks import render_credential_files

PER_PAGE = 50
ALLOWED_ACTIONS = {
    Credential.Status.ACTIVE: ("revoke", "suspend"),
    Credential.Status.SUSPENDED: ("reinstate", "revoke"),
    Credential.Status.REVOKED: (),
}
SERVICES = {
    "revoke": services.credential_revoke,
    "suspend": services.credential_suspend,
    "reinstate": services.credential_reinstate,
}


def is_operator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def issuing_organization(user):
    """The school or carmaker whose credentials this user manages, if any."""
    if not (user.is_authenticated and user.is_active and user.organization_id):
        return None
    organization = user.organization
    # A deactivated school or carmaker no longer manages its certificates (as for analytics).
    return organization if organization.is_author_org and organization.is_active else None


def can_view_certificates(user) -> bool:
    return is_operator(user) or issuing_organization(user) is not None


def visible_credentials(user) -> QuerySet:
    credentials = Credential.objects.select_related("issuer", "course", "holder")
    if is_operator(user):
        return credentials
    organization = issuing_organization(user)
    if organization is None:
        return credentials.none()
    return credentials.filter(issuer=organization)


class CertificatesAccessMixin:
    def dispatch(self, request, *args, **kwargs):
        if not can_view_certificates(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class CredentialIndexView(CertificatesAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "credentials/admin/index.html"
    page_title = gettext_lazy("Certificates")
    header_icon = "doc-full"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = CredentialFilterForm(self.request.GET or None)
        credentials = visible_credentials(self.request.user).order_by("-issued_at", "-pk")
        if form.is_valid():
            query = form.cleaned_data["q"].strip()
            if query:
                credentials = credentials.filter(
                    Q(number__icontains=query) | Q(holder_name__icontains=query)
                )
            if form.cleaned_data["status"]:
                credentials = credentials.filter(status=form.cleaned_data["status"])
        page = Paginator(credentials, PER_PAGE).get_page(self.request.GET.get("p"))
        querystring = self.request.GET.copy()
        querystring.pop("p", None)
        context.update(
            filter_form=form,
            page_obj=page,
            credentials=page.object_list,
            querystring=querystring.urlencode(),
            organization=issuing_organization(self.request.user)
            if not is_operator(self.request.user)
            else None,
        )
        return context


class CredentialDetailView(CertificatesAccessMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "credentials/admin/detail.html"
    header_icon = "doc-full"

    def get_credential(self) -> Credential:
        """404 for a credential this user may not see: as if it did not exist."""
        return get_object_or_404(visible_credentials(self.request.user), pk=self.kwargs["pk"])

    def get_page_title(self):
        return self.credential.number

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("credential_admin:index"), "label": _("Certificates")},
            {"url": "", "label": self.credential.number},
        ]

    def get(self, request, *args, **kwargs):
        self.credential = self.get_credential()
        self.form = self._form()
        return super().get(request, *args, **kwargs)

    def _form(self, data=None) -> StatusChangeForm:
        return StatusChangeForm(data, allowed=ALLOWED_ACTIONS.get(self.credential.status, ()))

    def post(self, request, *args, **kwargs):
        self.credential = self.get_credential()
        if request.POST.get("regenerate"):
            credential_id = self.credential.pk
            transaction.on_commit(lambda: render_credential_files.delay(credential_id))
            messages.success(
                request, _("The PDF certificate and the badge image are being rendered again.")
            )
            return redirect("credential_admin:detail", pk=credential_id)
        self.form = self._form(request.POST)
        if self.form.is_valid():
            action = self.form.cleaned_data["action"]
            try:
                SERVICES[action](
                    credential=self.credential,
                    actor=request.user,
                    reason=self.form.cleaned_data["reason"],
                )
            except PermissionDenied:
                self.form.add_error(
                    None, _("Only operators and the issuing organisation may change it.")
                )
            except ValidationError as exc:  # also CredentialStateError
                for message in exc.messages:
                    self.form.add_error(None, message)
            else:
                messages.success(request, self._done_message(action))
                return redirect("credential_admin:detail", pk=self.credential.pk)
        return self.render_to_response(self.get_context_data(**kwargs))

    def _done_message(self, action: str) -> str:
        number = self.credential.number
        if action == "revoke":
            return _("Certificate %(number)s is revoked.") % {"number": number}
        if action == "suspend":
            return _("Certificate %(number)s is suspended.") % {"number": number}
        return _("The suspension of certificate %(number)s is lifted.") % {"number": number}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        credential = self.credential
        context.update(
            credential=credential,
            co_signers=list(credential.co_signers.order_by("name")),
            changes=list(credential.status_changes.select_related("actor").order_by("-at", "-pk")),
            form=self.form,
            can_change=bool(ALLOWED_ACTIONS.get(credential.status)),
        )
        return context


urlpatterns = [
    path("", CredentialIndexView.as_view(), name="index"),
    path("<int:pk>/", CredentialDetailView.as_view(), name="detail"),
]
