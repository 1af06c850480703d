"""Template tags for buying courses."""

from django import template

register = template.Library()


@register.simple_tag
def payments_ready() -> bool:
    """Whether this site can take payments (Stripe keys set); without them paid courses
    show their price and say so, and offer no buy button."""
    from courses.payments import payments_configured

    return payments_configured()
