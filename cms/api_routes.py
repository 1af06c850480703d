"""The site's own endpoints under /api/v1/: who a platform's key says it is."""

from django.http import HttpRequest
from ninja import Router, Schema

from cms.api_auth import platform_key_auth

router = Router(auth=platform_key_auth, tags=["platform"])


class WhoAmI(Schema):
    platform: str
    name: str
    key: str


@router.get("/whoami", response=WhoAmI, summary="The platform this API key belongs to")
def whoami(request: HttpRequest):
    return {
        "platform": request.platform.slug,
        "name": request.platform.name,
        "key": request.api_key.prefix,
    }
