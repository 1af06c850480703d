"""How the JSON API knows which platform is calling: `Authorization: Bearer rw_…`."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from cms.api_keys import platform_api_key_authenticate
from cms.models import PlatformApiKey


class PlatformKeyAuth(HttpBearer):
    """Accepts a live platform API key; sets ``request.platform`` and ``request.api_key``.

    Returning None makes ninja answer 401."""

    def authenticate(self, request: HttpRequest, token: str) -> PlatformApiKey | None:
        api_key = platform_api_key_authenticate(token)
        if api_key is None:
            return None
        request.platform = api_key.organization
        request.api_key = api_key
        return api_key


platform_key_auth = PlatformKeyAuth()
