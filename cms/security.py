"""Security headers on every response: the Content Security Policy of each part of the site
and a Permissions-Policy (docs/decisions/0013-content-security-policy.md).

django-csp builds and sends the header; this module only says which policy a response gets:

- the drivers' site (HTML pages, error pages): ``CONTENT_SECURITY_POLICY``, strict, no inline
  script or style at all, so that whole pages can be cached and saved for offline reading;
- the Wagtail admin (under ``/admin/``): ``ROADWISE_CSP_ADMIN``, which lets Wagtail's own
  inline scripts and styles run and lets the admin frame its own preview;
- the API docs (``/api/v1/docs``): ``ROADWISE_CSP_API_DOCS``, for ninja's bundled Swagger UI;
- JSON anywhere and everything else under ``/api/``: ``ROADWISE_CSP_NONE``, which loads nothing.

Other responses (PDFs, images, the service worker's script) get no policy from here: Chrome's
PDF viewer is an HTML page of its own that a page's policy would break, and nosniff keeps a
browser from reading them as HTML. A policy a view set itself is never replaced.
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

STRIPE_API = "https://api.stripe.com"
# Where a form on the site or the admin may send the browser: Stripe Checkout (paid courses,
# seats, funding top-ups) and Stripe Connect onboarding (payouts) answer a POST with a
# redirect there, and browsers check form-action on redirects too.
STRIPE_FORM_TARGETS = ("https://checkout.stripe.com", "https://connect.stripe.com")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def stripe_form_targets() -> tuple[str, ...]:
    """Stripe's page origins, or the origin of the Stripe stand-in STRIPE_API_BASE points at
    (tests, a staging fake): its Checkout and onboarding pages live there."""
    base = getattr(settings, "STRIPE_API_BASE", STRIPE_API) or STRIPE_API
    if base.rstrip("/") == STRIPE_API:
        return STRIPE_FORM_TARGETS
    origin = _origin(base)
    return (origin,) if origin else ()


def _with_forms(policy: dict) -> dict:
    targets = stripe_form_targets()
    if not targets or "form-action" not in policy:
        return policy
    return {**policy, "form-action": [*policy["form-action"], *targets]}


def _kind(response) -> str:
    """The kind of document: "html", "json" or "other" (from its Content-Type)."""
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        return "html"
    if content_type == "application/json" or content_type.endswith("+json"):
        return "json"
    return "other"


def _is_api_docs(path: str) -> bool:
    return path.rstrip("/") == "/api/v1/docs"


class SecurityHeadersMiddleware(CSPMiddleware):
    """django-csp's middleware, choosing the policy by the part of the site and the kind of
    response, and adding Permissions-Policy. First in MIDDLEWARE after SecurityMiddleware, so
    that it sees every response, cached pages included."""

    def process_response(self, request, response):
        if getattr(request, "is_dummy", False):
            # Wagtail renders a page's preview by running a made-up request for the page's
            # own URL through the middleware, inside the admin's request: the admin's request
            # gives the preview its headers (the admin's policy, framed by the admin).
            return response
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if _kind(response) == "other" and not request.path_info.startswith("/api/"):
            response._csp_exempt = True
        return super().process_response(request, response)

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only or parts.config is not None:
            return parts  # a view's own @csp_override wins
        path = request.path_info
        html = _kind(response) == "html"
        if html and _is_api_docs(path):
            parts.config = settings.ROADWISE_CSP_API_DOCS
        elif not html or path.startswith("/api/"):
            parts.config = settings.ROADWISE_CSP_NONE
        elif path.startswith("/admin/"):
            parts.config = _with_forms(settings.ROADWISE_CSP_ADMIN)
        else:
            parts.config = _with_forms(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])
        return parts
