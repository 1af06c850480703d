from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Roadwise site")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cms.uploads import apply_image_limits

        apply_image_limits()
