"""The driver's "Your data" pages: what Roadwise holds, a download of all of it, and the
deletion of the account (the rules are in cms.privacy and docs/decisions/0015)."""

from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from cms import privacy
from cms.forms import StackedForm
from credentials.models import Credential
from rewards.ledger import yuan


class DeleteAccountForm(StackedForm):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that this cannot be undone."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


def _context(request) -> dict:
    user = request.user
    return {
        "masked_mobile": user.masked_mobile,
        "certificates": Credential.objects.filter(holder=user).exclude(status="revoked").count(),
        "balances": [
            {"fen": fen, "currency": currency, "yuan": yuan(fen)}
            for fen, currency in privacy.payable_balances(user=user)
        ],
        "blockers": privacy.deletion_blockers(user=user),
    }


@login_required
@never_cache
def your_data(request):
    return render(request, "cms/privacy/your_data.html", _context(request))


@login_required
@require_POST
def export(request):
    """The zip of everything; POST (with CSRF) so that no link or image can fetch it."""
    body = privacy.driver_data_export_zip(user=request.user)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="roadwise-my-data-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete_account(request):
    form = DeleteAccountForm(request.POST or None)
    context = _context(request)
    if request.method == "POST" and not context["blockers"] and form.is_valid():
        try:
            pseudonym = privacy.driver_account_delete(
                user=request.user, password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            form.add_error("password" if exc.code == "wrong_password" else None, exc.messages[0])
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            logout(request)
            return render(
                request,
                "cms/privacy/deleted.html",
                {"pseudonym": pseudonym, "balances": context["balances"]},
            )
    return render(request, "cms/privacy/delete.html", {**context, "form": form})
