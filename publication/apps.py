from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicationConfig(AppConfig):
    name = "publication"
    verbose_name = _("公开名录与核验")
    default_auto_field = "django.db.models.BigAutoField"
