from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampusmediaConfig(AppConfig):
    name = "campusmedia"
    verbose_name = _("校园新媒体登记")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campusmedia import signals  # noqa: F401  (connects the audit receivers)
        from campusmedia.audit import checks  # noqa: F401  (audit retention)
