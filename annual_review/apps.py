from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnualReviewConfig(AppConfig):
    name = "annual_review"
    verbose_name = _("年检")
    default_auto_field = "django.db.models.BigAutoField"
