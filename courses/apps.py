from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = _("Courses")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Course purchases and sponsored seats follow the Stripe payments (cms.payments).
        from courses.payments import connect_receivers

        connect_receivers()
        # Cached course pages are forgotten when a page or an organisation changes.
        from courses import page_cache

        page_cache.connect_receivers()
