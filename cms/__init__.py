"""The Roadwise site: settings, identity, organisations, home and partner pages, API assembly."""

from .celery import app as celery_app

__all__ = ["celery_app"]
