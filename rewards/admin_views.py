"""Admin: a platform's staff upload service events as CSV (the same checks as the API).

Platform staff (users whose organisation is a platform) upload for their own platform;
operators choose the platform. Anyone else gets no menu item and a 403.
"""

import csv
import io

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.models import Organization
from rewards import ledger, services
from rewards.ledger import yuan
from rewards.models import Account, Transaction

MAX_CSV_BYTES = 2 * 1024 * 1024
LEDGER_PAGE = 100
INTEGER_COLUMNS = ("fare_fen", "rating")
COLUMNS = (
    "id", "driver", "type", "occurred_at", "ended_at", "fare_fen", "currency", "rating",
    "outcome", "severity", "trip_id",
)  # fmt: skip


def uploading_platform(user) -> Organization | None:
    if not (user.is_authenticated and user.is_active and user.organization_id):
        return None
    organization = user.organization
    if organization.kind == Organization.Kind.PLATFORM and organization.is_active:
        return organization
    return None


def can_upload(user) -> bool:
    return bool(user.is_authenticated and user.is_superuser) or uploading_platform(user) is not None


class UploadForm(forms.Form):
    platform = forms.ModelChoiceField(
        queryset=Organization.objects.filter(kind=Organization.Kind.PLATFORM, is_active=True),
        label=gettext_lazy("Platform"),
        required=False,
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, one event per row, with a header row naming the columns: id, driver, type, "
            "occurred_at, and as the type needs ended_at, fare_fen, rating, outcome, severity, "
            "trip_id. At most 1,000 rows and 2 MB."
        ),
    )

    def __init__(self, *args, operator: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if operator:
            self.fields["platform"].required = True
        else:
            del self.fields["platform"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise ValidationError(_("The file is larger than 2 MB."))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text.")) from None
        reader = csv.DictReader(io.StringIO(text))
        unknown = set(reader.fieldnames or []) - set(COLUMNS)
        if not reader.fieldnames or {"id", "driver", "type", "occurred_at"} - set(
            reader.fieldnames
        ):
            raise ValidationError(
                _("The header row must name at least: id, driver, type, occurred_at.")
            )
        if unknown:
            raise ValidationError(
                _("Unknown columns: %(columns)s.") % {"columns": ", ".join(sorted(unknown))}
            )
        rows = []
        try:
            for row in reader:
                rows.append(_row(row))
                if len(rows) > services.MAX_EVENTS_PER_BATCH:
                    raise ValidationError(_("At most 1,000 rows per file."))
        except csv.Error as exc:
            raise ValidationError(
                _("The file is not valid CSV: %(error)s") % {"error": exc}
            ) from None
        if not rows:
            raise ValidationError(_("The file has no rows."))
        return rows


def _row(row: dict) -> dict:
    """A CSV row as the API's JSON: empty cells left out, whole numbers as numbers."""
    event = {}
    for name, value in row.items():
        if name is None or value is None or value.strip() == "":
            continue
        value = value.strip()
        if name in INTEGER_COLUMNS:
            try:
                event[name] = int(value)
            except ValueError:
                event[name] = value  # the service says what is wrong with it
        else:
            event[name] = value
    return event


def upload(request):
    if not can_upload(request.user):
        raise PermissionDenied
    operator = request.user.is_superuser
    results = None
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, operator=operator)
        if form.is_valid():
            platform = form.cleaned_data.get("platform") or uploading_platform(request.user)
            results = services.service_events_ingest(
                platform=platform, rows=form.cleaned_data["file"]
            )
    else:
        form = UploadForm(operator=operator)
    counts = {}
    labels = {
        "accepted": _("accepted"),
        "duplicate": _("already received"),
        "updated": _("updated"),
        "refused": _("refused"),
    }
    if results is not None:
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        results = [{**result.as_dict(), "label": labels[result.status]} for result in results]
    return render(
        request,
        "rewards/admin/upload.html",
        {"form": form, "results": results, "counts": counts, "columns": COLUMNS},
    )


def ledger_overview(request):
    """Operators audit the ledger: every account's balance, the latest transactions with their
    legs, and the invariants checked now. Read-only: the ledger is changed only by postings."""
    if not (request.user.is_authenticated and request.user.is_superuser):
        raise PermissionDenied
    accounts = list(Account.objects.select_related("organization", "user").order_by("kind", "code"))
    totals = ledger.balances(accounts)
    transactions = list(
        Transaction.objects.select_related("reverses")
        .prefetch_related("entries__account")
        .order_by("-posted_at", "-pk")[:LEDGER_PAGE]
    )
    return render(
        request,
        "rewards/admin/ledger.html",
        {
            "accounts": [
                (account, totals.get(account.pk, 0), yuan(totals.get(account.pk, 0)))
                for account in accounts
            ],
            "transactions": transactions,
            "problems": ledger.check_invariants(),
        },
    )


urlpatterns = [
    path("", upload, name="upload"),
    path("ledger/", ledger_overview, name="ledger"),
]
