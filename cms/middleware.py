"""Per-request time zone (the signed-in person's own, Asia/Shanghai unless they chose) and
language of the JSON API."""

import zoneinfo

from django.utils import timezone, translation


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


class ApiLanguageMiddleware:
    """The JSON API answers in the language the caller asks for (Accept-Language), Chinese
    by default. The site's LocaleMiddleware picks the language from the URL prefix, and API
    URLs have none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        language = translation.get_language_from_request(request, check_path=False)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
