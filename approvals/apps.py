from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("审批")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals import receivers  # noqa: F401  (the 3-day rule on role changes)
