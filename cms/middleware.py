"""Show times in the signed-in person's own time zone (Asia/Shanghai unless they chose)."""

import zoneinfo

from django.utils import timezone


class UserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tzname = getattr(user, "timezone", "") if user is not None else ""
        try:
            zone = zoneinfo.ZoneInfo(tzname) if tzname else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None
        # override() puts the previous zone back when the response is done.
        with timezone.override(zone):
            return self.get_response(request)
