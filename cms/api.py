"""The JSON API for platforms, versioned under /api/v1/. Each app adds its own router here."""

from ninja import NinjaAPI

api_v1 = NinjaAPI(
    title="Roadwise API",
    version="1",
    description="Verify driver certificates, read consented credentials, send service events.",
    urls_namespace="api-v1",
)
