from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("新媒体联盟")
    default_auto_field = "django.db.models.BigAutoField"
