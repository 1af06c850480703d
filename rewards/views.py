"""The driver's pages of the rewards app: which platforms may send their service data, and the
reward rules of those platforms (in effect and announced)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rewards import rules, services
from rewards.ledger import yuan
from rewards.models import DriverLink, LinkRequest, RuleVersion
from rewards.policy import effective_policy


@login_required
@require_http_methods(["GET", "POST"])
def links(request):
    """Approve or decline platforms' requests, type a platform's code, end a link."""
    if request.method == "POST":
        _change(request)
        return redirect("rewards:links")
    return render(
        request,
        "rewards/links.html",
        {
            "title": _("Platforms and your service data"),
            "pending": list(services.pending_link_requests(driver=request.user)),
            "active": list(
                DriverLink.objects.filter(driver=request.user, unlinked_at=None)
                .select_related("platform")
                .order_by("-linked_at")
            ),
            "ended": list(
                DriverLink.objects.filter(driver=request.user, unlinked_at__isnull=False)
                .select_related("platform")
                .order_by("-unlinked_at")[:20]
            ),
        },
    )


def _change(request) -> None:
    action = request.POST.get("action")
    try:
        if action in ("approve", "decline"):
            link_request = get_object_or_404(
                LinkRequest, public_id=_uuid_or_404(request.POST.get("request"))
            )
            link = services.link_request_decide(
                request=link_request, driver=request.user, approve=action == "approve"
            )
            if link is not None:
                messages.success(
                    request,
                    _("%(platform)s is linked: it can now send your service data for rewards.")
                    % {"platform": link.platform.display_name},
                )
            else:
                messages.success(request, _("The request is declined."))
        elif action == "code":
            link = services.link_code_redeem(code=request.POST.get("code", ""), driver=request.user)
            messages.success(
                request,
                _("%(platform)s is linked: it can now send your service data for rewards.")
                % {"platform": link.platform.display_name},
            )
        elif action == "unlink":
            link = get_object_or_404(DriverLink, pk=_int_or_404(request.POST.get("link")))
            services.link_end(link=link, driver=request.user)
            messages.success(
                request,
                _("%(platform)s can no longer send your service data.")
                % {"platform": link.platform.display_name},
            )
        else:
            messages.error(request, _("Unknown action."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))


def _uuid_or_404(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@login_required
def rules_page(request):
    """The rules of each platform the driver is linked to: what is in effect this month, what
    has been announced (published, taking effect later), and the rest rules."""
    today = timezone.localdate(timezone.now(), rules.CHINA)
    programmes = []
    for link in (
        DriverLink.objects.filter(driver=request.user, unlinked_at=None)
        .select_related("platform")
        .order_by("platform__name")
    ):
        platform = link.platform
        in_effect = rules.applicable_versions(platform, today)
        upcoming = list(
            RuleVersion.objects.filter(
                platform=platform, published_at__isnull=False, effective_from__gt=today
            ).order_by("effective_from", "kind", "pk")
        )
        policy = effective_policy(platform)
        programmes.append(
            {
                "platform": platform,
                "in_effect": [_terms(version) for version in in_effect],
                "upcoming": [_terms(version) for version in upcoming],
                "policy": {
                    "continuous_hours": _hours(policy.continuous_limit_minutes),
                    "break_minutes": policy.break_minutes,
                    "daily_cap_hours": _hours(policy.daily_cap_minutes),
                },
            }
        )
    return render(
        request,
        "rewards/rules.html",
        {"title": _("Reward rules"), "programmes": programmes, "today": today},
    )


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}" if not rest else f"{hours}:{rest:02d}"


def _terms(version: RuleVersion) -> dict:
    """What a version pays for, ready for the template (amounts in yuan)."""
    params = version.params or {}
    terms = {"version": version, "kind": version.kind, "amount": yuan(version.amount_fen or 0)}
    if version.kind == RuleVersion.Kind.SKILL_ALLOWANCE:
        terms["levels"] = [
            {"level": level, "amount": yuan(fen)}
            for level, fen in sorted(params.get("per_level_fen", {}).items())
            if fen
        ]
    elif version.kind == RuleVersion.Kind.TIER:
        terms["tiers"] = [
            {**tier, "amount": yuan(tier.get("amount_fen") or 0)}
            for tier in params.get("tiers", [])
        ]
    else:
        terms.update(params)
    return terms
