"""Platforms' reward API: one-off awards, and the totals paid to their drivers."""

from ninja import Router

from cms.api_auth import platform_key_auth

router = Router(auth=platform_key_auth, tags=["rewards"])
