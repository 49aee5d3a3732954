"""The census import's vocabularies."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    """uploaded → checking → checked (no errors) or failed (refused); checked → importing →
    imported, or failed when the registry changed under the file since it was checked."""

    UPLOADED = "uploaded", _("已上传")
    CHECKING = "checking", _("检查中")
    CHECKED = "checked", _("检查通过")
    FAILED = "failed", _("未通过")
    IMPORTING = "importing", _("导入中")
    IMPORTED = "imported", _("已导入")


class FileFormat(models.TextChoices):
    XLSX = "xlsx", "xlsx"
    CSV = "csv", "CSV"
