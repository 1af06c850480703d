"""The drivers' and the public's certificate pages (/certificates/…, /verify/…).

Each view reads or calls one service of ``credentials.services``; none changes a credential any
other way. Verification pages are public, never indexed, and take at most ``MAX_UPLOAD_BYTES``.
"""

import json
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cms.models import Organization
from credentials import files, services
from credentials.forms import MAX_UPLOAD_BYTES, VerifyForm
from credentials.models import ConsentGrant, Credential
from credentials.rendering.qr import qr_svg
from credentials.verification import FAIL, PASS, UNKNOWN, Report, Verifier, failed_input

EXPIRING_DAYS = 30
# The form's own fields and multipart overhead on top of the file itself.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024

DOWNLOADS = {
    "credential.json": "json",
    "certificate.pdf": "pdf",
    "badge.png": "badge",
}
SHARED_DOWNLOADS = {"credential.json": "json", "certificate.pdf": "pdf"}


# --- a certificate's standing, in plain words ----------------------------------------------


@dataclass(frozen=True)
class Standing:
    key: str  # valid | expiring | expired | suspended | revoked
    label: str
    reason: str = ""


def standing(credential: Credential, now=None) -> Standing:
    now = now or timezone.now()
    if credential.status == Credential.Status.REVOKED:
        return Standing("revoked", _("Revoked"), credential.status_reason)
    if credential.status == Credential.Status.SUSPENDED:
        return Standing("suspended", _("Suspended"), credential.status_reason)
    if credential.valid_until is not None:
        if credential.valid_until <= now:
            return Standing("expired", _("Expired"))
        if credential.valid_until <= now + timedelta(days=EXPIRING_DAYS):
            return Standing("expiring", _("Expires soon"))
    return Standing("valid", _("Valid"))


def _owned(request, public_id) -> Credential:
    """The user's own credential, else 404 (as if it did not exist)."""
    return get_object_or_404(
        Credential.objects.select_related("course", "course__renewal_course", "issuer"),
        public_id=public_id,
        holder=request.user,
    )


# --- the driver's pages --------------------------------------------------------------------


@login_required
@require_GET
def certificate_list(request):
    credentials = (
        Credential.objects.filter(holder=request.user)
        .select_related("course", "course__renewal_course", "issuer")
        .prefetch_related("co_signers")
        .order_by("-issued_at", "-pk")
    )
    now = timezone.now()
    rows = []
    for credential in credentials:
        state = standing(credential, now)
        renewal = None
        if state.key == "expired":
            renewal = credential.course.renewal_course or credential.course
        rows.append({"credential": credential, "standing": state, "renewal": renewal})
    return render(
        request,
        "credentials/list.html",
        {"rows": rows, "title": _("My certificates")},
    )


@login_required
@require_GET
def certificate_detail(request, public_id):
    credential = _owned(request, public_id)
    state = standing(credential)
    renewal = None
    if state.key == "expired":
        renewal = credential.course.renewal_course or credential.course
    return render(
        request,
        "credentials/detail.html",
        {
            "credential": credential,
            "co_signers": list(credential.co_signers.order_by("name")),
            "standing": state,
            "renewal": renewal,
            "share_url": files.share_url(credential),
            # segno's own SVG markup, made from our signed compact form: no user text in it.
            "qr": mark_safe(qr_svg(credential.compact, scale=3)),  # noqa: S308
            "title": credential.course.title,
        },
    )


def _ensure_files(credential: Credential) -> Credential:
    """Render the PDF and badge now if either is missing (the task may not have run yet)."""
    for field in (credential.pdf, credential.badge):
        if not field.name or not field.storage.exists(field.name):
            return files.credential_files_render(credential=credential)
    return credential


def _file_response(credential: Credential, what: str) -> HttpResponse:
    if what == "json":
        response = HttpResponse(credential.document, content_type="application/ld+json")
        response["Content-Disposition"] = (
            f'attachment; filename="{credential.number}.credential.json"'
        )
        return response
    credential = _ensure_files(credential)
    if what == "pdf":
        field, name, content_type = credential.pdf, f"{credential.number}.pdf", "application/pdf"
    else:
        field, name, content_type = credential.badge, f"{credential.number}.png", "image/png"
    return FileResponse(
        field.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )


@login_required
@require_GET
def download(request, public_id, kind: str):
    what = DOWNLOADS.get(kind)
    if what is None:
        raise Http404
    response = _file_response(_owned(request, public_id), what)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def share(request, public_id):
    credential = get_object_or_404(Credential, public_id=public_id)
    if credential.holder_id != request.user.pk:
        raise PermissionDenied
    action = request.POST.get("action")
    if action == "renew":
        services.credential_share_renew(credential=credential, user=request.user)
        messages.success(
            request,
            _("Your certificate has a new share link. The old link no longer works."),
        )
    elif action == "disable":
        services.credential_share_disable(credential=credential, user=request.user)
        messages.success(request, _("Sharing is off. Nobody can open a share link now."))
    else:
        return HttpResponseBadRequest(_("Unknown action."))
    return redirect("certificates:detail", public_id=credential.public_id)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def consents(request):
    if request.method == "POST":
        return _consent_change(request)
    platforms = Organization.objects.filter(
        kind=Organization.Kind.PLATFORM, is_active=True
    ).order_by("name")
    grants = list(ConsentGrant.objects.filter(holder=request.user).select_related("platform"))
    current = {g.platform_id: g for g in grants if g.withdrawn_at is None}
    rows = [{"platform": p, "grant": current.get(p.pk)} for p in platforms]
    history = sorted(
        (g for g in grants if g.withdrawn_at is not None),
        key=lambda g: g.withdrawn_at,
        reverse=True,
    )
    return render(
        request,
        "credentials/consents.html",
        {"rows": rows, "history": history, "title": _("Platform access")},
    )


def _consent_change(request):
    action = request.POST.get("action")
    if action == "grant":
        platform = get_object_or_404(
            Organization,
            pk=_int_or_404(request.POST.get("platform")),
            kind=Organization.Kind.PLATFORM,
            is_active=True,
        )
        try:
            services.consent_grant(holder=request.user, platform=platform)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("%(platform)s can now see your certificates.")
                % {"platform": platform.display_name},
            )
    elif action == "withdraw":
        grant = get_object_or_404(
            ConsentGrant.objects.select_related("platform"),
            pk=_int_or_404(request.POST.get("grant")),
        )
        services.consent_withdraw(grant=grant, holder=request.user)  # PermissionDenied: 403
        messages.success(
            request,
            _("%(platform)s can no longer see your certificates.")
            % {"platform": grant.platform.display_name},
        )
    else:
        return HttpResponseBadRequest(_("Unknown action."))
    return redirect("certificates:consents")


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


# --- verification (public) -----------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    key: str  # valid | expired | revoked | suspended | tampered | unverified | unknown_issuer
    #           | no_status | not_credential | invalid
    title: str
    explanation: str
    good: bool = False


VERDICT_TEXT = {
    "valid": (
        gettext_lazy("Valid"),
        gettext_lazy("This certificate is genuine and in force."),
    ),
    "expired": (
        gettext_lazy("Expired"),
        gettext_lazy("This certificate was genuine, but it is past its expiry date."),
    ),
    "revoked": (
        gettext_lazy("Revoked"),
        gettext_lazy("The issuer has withdrawn this certificate. It is no longer valid."),
    ),
    "suspended": (
        gettext_lazy("Suspended"),
        gettext_lazy("The issuer has suspended this certificate for now. Do not rely on it."),
    ),
    "tampered": (
        gettext_lazy("Tampered"),
        gettext_lazy("Someone changed this certificate after it was signed. Do not trust it."),
    ),
    "unverified": (
        gettext_lazy("Signature could not be verified"),
        gettext_lazy("We cannot confirm who issued this certificate. Do not rely on it."),
    ),
    "unknown_issuer": (
        gettext_lazy("Unknown issuer"),
        gettext_lazy("The signature is sound, but the issuer is not known to Roadwise."),
    ),
    "no_status": (
        gettext_lazy("Could not check status"),
        gettext_lazy("We could not find out whether it was revoked. Try again later."),
    ),
    "not_credential": (
        gettext_lazy("Not a credential"),
        gettext_lazy("What you gave us is not a certificate we can read."),
    ),
    "invalid": (
        gettext_lazy("Not valid"),
        gettext_lazy("This certificate did not pass every check. See the details below."),
    ),
}


def _is_failed_input(report: Report) -> bool:
    return all(
        report.checks[name].code == "not_checked" for name in report.checks if name != "proof"
    )


def verdict_of(report: Report) -> Verdict:
    """The one verdict a person needs, chosen from the checks in order of gravity."""
    checks = report.checks
    proof, status = checks["proof"], checks["status"]
    if proof.result == FAIL and _is_failed_input(report):
        key = "not_credential"
    elif proof.result == FAIL and proof.code == "tampered":
        key = "tampered"
    elif proof.result in (FAIL, UNKNOWN):
        key = "unverified"
    elif status.result == FAIL and status.code in ("revoked", "suspended"):
        key = status.code
    elif checks["validity"].result == FAIL and checks["validity"].code == "expired":
        key = "expired"
    elif status.result == UNKNOWN:
        key = "no_status"
    elif checks["issuer"].result == UNKNOWN:
        key = "unknown_issuer"
    elif report.verified:
        key = "valid"
    else:
        key = "invalid"
    title, explanation = VERDICT_TEXT[key]
    return Verdict(key, str(title), str(explanation), good=key == "valid")


# With a context: bare words like "Failed" or "Format" mean other things in other catalogues.
CHECK_LABELS = {
    "proof": pgettext_lazy("verification check", "Signature"),
    "issuer": pgettext_lazy("verification check", "Issuer"),
    "status": pgettext_lazy("verification check", "Revocation status"),
    "validity": pgettext_lazy("verification check", "Dates"),
    "schema": pgettext_lazy("verification check", "Format"),
}
RESULT_LABELS = {
    PASS: pgettext_lazy("verification check result", "Passed"),
    FAIL: pgettext_lazy("verification check result", "Failed"),
    UNKNOWN: pgettext_lazy("verification check result", "Could not tell"),
}


def _date(value) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return value[:10]


def _results(request, report: Report, *, status=200, extra=None) -> HttpResponse:
    verdict = verdict_of(report)
    summary = report.summary or {}
    credential = report.credential
    reason = ""
    if verdict.key in ("revoked", "suspended") and credential is not None:
        reason = credential.status_reason
    elif verdict.key == "not_credential":
        reason = report.checks["proof"].reason  # what was wrong with the input
    checks = [
        {
            "name": name,
            "label": CHECK_LABELS[name],
            "result": check.result,
            "result_label": RESULT_LABELS.get(check.result, check.result),
            "reason": check.reason,
        }
        for name, check in report.checks.items()
    ]
    context = {
        "verdict": verdict,
        "reason": reason,
        "summary": summary,
        "holder": summary.get("holder") or (credential.holder_name if credential else ""),
        "issuer_name": report.issuer_name or summary.get("issuer") or "",
        "valid_from": _date(summary.get("validFrom")),
        "valid_until": _date(summary.get("validUntil")),
        "checks": checks,
        "title": _("Verification result"),
        **(extra or {}),
    }
    response = render(request, "credentials/verify_result.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def _verify_input(form: VerifyForm) -> Report:
    upload = form.cleaned_data.get("file")
    if upload:
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            from credentials.rendering.badge import unbake_png

            try:
                value = unbake_png(data)
            except ValueError:
                return failed_input("malformed", _("The image is damaged or not a PNG badge."))
            if value is None:
                return failed_input(
                    "malformed", _("This image has no certificate inside (it is not a badge).")
                )
            return Verifier().any(value)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return failed_input(
                "malformed", _("The file is neither a badge image (PNG) nor a JSON file.")
            )
        return Verifier().any(text)
    return Verifier().any(form.cleaned_data["text"])


@never_cache
@csrf_exempt  # checked below, once the body is known to be small enough to read
@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request):
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            form = VerifyForm()
            response = render(
                request,
                "credentials/verify.html",
                {
                    "form": form,
                    "too_large": True,
                    "title": _("Check a certificate"),
                },
                status=413,
            )
            response["X-Robots-Tag"] = "noindex"
            return response
    return _verify_form(request)


@csrf_protect
def _verify_form(request):
    form = VerifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        return _results(request, _verify_input(form))
    response = render(
        request, "credentials/verify.html", {"form": form, "title": _("Check a certificate")}
    )
    response["X-Robots-Tag"] = "noindex"
    return response


def _shared_or_404(request, token: str) -> Credential | HttpResponse:
    credential = None
    if token:
        credential = (
            Credential.objects.select_related("course", "issuer").filter(share_token=token).first()
        )
    if credential is None:
        response = render(
            request,
            "credentials/shared_missing.html",
            {"title": _("This link does not work")},
            status=404,
        )
        response["X-Robots-Tag"] = "noindex"
        return response
    return credential


@never_cache
@require_GET
def shared(request, token: str):
    found = _shared_or_404(request, token)
    if isinstance(found, HttpResponse):
        return found
    credential = found
    report = Verifier().document(json.loads(credential.document), credential=credential)
    return _results(request, report, extra={"shared": credential, "token": token})


@require_GET
def shared_download(request, token: str, kind: str):
    what = SHARED_DOWNLOADS.get(kind)
    if what is None:
        raise Http404
    found = _shared_or_404(request, token)
    if isinstance(found, HttpResponse):
        return found
    response = _file_response(found, what)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
