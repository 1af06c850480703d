from django import template
from django.utils.translation import get_language
from wagtail.models import Locale

from courses import page_cache
from courses.models import CourseIndexPage

register = template.Library()


@register.simple_tag(takes_context=True)
def catalogue_url(context) -> str:
    """The course catalogue in the active language (cached, courses/page_cache.py)."""
    request = context.get("request")
    cache = getattr(request, "_roadwise_catalogue_urls", None) if request else None
    if cache is None:
        cache = {}
        if request is not None:
            request._roadwise_catalogue_urls = cache
    language = get_language()
    if language not in cache:

        def find() -> str:
            locale = Locale.objects.filter(language_code=language).first()
            index = CourseIndexPage.objects.live().filter(locale=locale).first() if locale else None
            return index.get_url(request) if index else ""

        host = request.get_host() if request is not None else ""
        cache[language] = page_cache.get_or_set(("catalogue-url", language, host), find)
    return cache[language]


@register.filter
def fen(amount: int) -> str:
    """9900 -> ¥99.00"""
    return f"¥{amount // 100}.{amount % 100:02d}"
