"""The JSON API for platforms, versioned under /api/v1/. Each app adds its own router here."""

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError
from ninja.openapi.schema import OpenAPISchema

from cms.api_auth import ANY_KEY, PlatformKeyAuth, rate_limit_headers
from cms.api_routes import router as cms_router
from cms.api_webhooks import router as webhooks_router
from credentials.api import router as credentials_router
from rewards.api import router as rewards_router
from rewards.api_platform import router as rewards_platform_router


class _ScopedSchema(OpenAPISchema):
    """Names each operation's scope in its security requirement (OpenAPI 3.1 allows role
    names there for any scheme) and as ``x-scope``, so the docs say which key can call it."""

    def operation_details(self, operation):
        result = super().operation_details(operation)
        scopes = [a.scope for a in operation.auth_callbacks if isinstance(a, PlatformKeyAuth)]
        if scopes and scopes[0] is not None:
            result["x-scope"] = scopes[0]
            if scopes[0] != ANY_KEY:
                result["security"] = [{PlatformKeyAuth.__name__: [scopes[0]]}]
        return result


class RoadwiseAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return _ScopedSchema(self, path_prefix)


api_v1 = RoadwiseAPI(
    title="Roadwise API",
    version="1",
    description="Verify driver certificates, read consented credentials, send service events, "
    "give awards, read reward totals, and receive signed webhooks. Every endpoint needs a "
    'platform API key: `Authorization: Bearer rw_…`. Errors answer `{"detail": …}`. '
    "Each operation needs its scope on the key (`x-scope`; 403 names a missing one). "
    "Each key may make a limited number of requests a minute (`X-RateLimit-Limit`, "
    "`X-RateLimit-Remaining`; past it 429 with `Retry-After`). "
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


api_v1.add_decorator(rate_limit_headers, mode="view")


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
