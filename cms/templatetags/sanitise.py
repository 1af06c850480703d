"""Template filters that clean HTML people typed (cms/sanitising.py)."""

from django import template
from django.utils.safestring import mark_safe

from cms import sanitising

register = template.Library()


@register.filter
def sanitise_rich_text(html) -> str:
    return mark_safe(sanitising.clean_rich_text(str(html)))  # noqa: S308 - whitelisted by nh3


@register.filter
def sanitise_embed(html) -> str:
    return mark_safe(sanitising.clean_embed(str(html)))  # noqa: S308 - whitelisted by nh3


@register.filter
def http_url(url) -> str:
    return sanitising.http_url(str(url or ""))
