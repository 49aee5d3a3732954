from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingConfig(AppConfig):
    name = "filing"
    verbose_name = _("市网信办报备")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from filing import receivers  # noqa: F401
