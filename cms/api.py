"""The JSON API for platforms, versioned under /api/v1/. Each app adds its own router here."""

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError

from cms.api_routes import router as cms_router
from cms.api_webhooks import router as webhooks_router
from credentials.api import router as credentials_router
from rewards.api import router as rewards_router
from rewards.api_platform import router as rewards_platform_router

api_v1 = NinjaAPI(
    title="Roadwise API",
    version="1",
    description="Verify driver certificates, read consented credentials, send service events, "
    "give awards, read reward totals, and receive signed webhooks. Every endpoint needs a "
    'platform API key: `Authorization: Bearer rw_…`. Errors answer `{"detail": …}`. '
    "A walk-through is in docs/platform-api.md.",
    urls_namespace="api-v1",
    # ninja's bundled Swagger UI ("ninja" is an installed app), with no online validator
    # badge: the docs work without the internet.
    docs=Swagger(settings={"validatorUrl": None}),
)


@api_v1.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    response = api_v1.create_response(
        request,
        {
            "detail": _(
                "A valid platform API key is required: send it as "
                "“Authorization: Bearer rw_…”. Revoked keys no longer work."
            )
        },
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="Roadwise API"'
    return response


@api_v1.exception_handler(OperationalError)
@api_v1.exception_handler(InterfaceError)
def _database_unavailable(request, exc):
    """The database is restarting or out of reach: a clear 503 the platform retries (with the
    same event ids, so nothing is stored twice), rather than a bare 500 page."""
    response = api_v1.create_response(
        request,
        {"detail": _("The service is briefly unavailable; please try again in a few seconds.")},
        status=503,
    )
    response["Retry-After"] = "5"
    return response


api_v1.add_router("/", cms_router)
api_v1.add_router("/", credentials_router)
api_v1.add_router("/", rewards_router)
api_v1.add_router("/", rewards_platform_router)
api_v1.add_router("/", webhooks_router)
