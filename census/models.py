"""The census import (普查导入): one ImportJob per uploaded file.

The file is stored under the private root with a random name while it waits to be imported, and
removed once it is imported or refused (it holds mobiles and e-mail addresses). What the pages
show afterwards, the error list and a masked sample of the rows, is kept on the job.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from approvals.storage import get_private_storage
from census.choices import FileFormat, JobStatus


def _private_name(instance: models.Model, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"census/{secrets.token_hex(16)}.{suffix}"


class ImportJob(models.Model):
    """One census file: who uploaded it, what the check found, what the import created."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_format = models.CharField(_("格式"), max_length=8, choices=FileFormat.choices, blank=True)
    file_size = models.PositiveBigIntegerField(_("大小"), default=0)
    # The upload, and the checked rows as JSON lines (what the import writes); both removed
    # when the job ends.
    file = models.FileField(
        storage=get_private_storage,  # type: ignore[arg-type]
        upload_to=_private_name,
        blank=True,
    )
    staged = models.FileField(
        storage=get_private_storage,  # type: ignore[arg-type]
        upload_to=_private_name,
        blank=True,
    )
    # Changed only by census.services: see JobStatus for the order.
    status = models.CharField(
        _("状态"), max_length=12, choices=JobStatus.choices, default=JobStatus.UPLOADED
    )
    background = models.BooleanField(_("后台处理"), default=False)
    task_id = models.CharField(max_length=64, blank=True)
    total_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    # A problem with the file as a whole (not a spreadsheet, over a cap, missing columns).
    message = models.TextField(_("说明"), blank=True)
    # [{"row": 12, "column": "管理员1手机", "message": "…"}], the first ones by row; the count
    # holds them all.
    errors = models.JSONField(_("错误"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    # The first valid rows, personal data masked, for the preview.
    sample = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(_("检查时间"), null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    created_count = models.PositiveIntegerField(_("新建账号"), default=0)
    persons_created = models.PositiveIntegerField(_("新建人员"), default=0)
    persons_reused = models.PositiveIntegerField(_("沿用已有人员"), default=0)
    team_count = models.PositiveIntegerField(_("管理队伍成员"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("普查导入")
        verbose_name_plural = _("普查导入")

    def __str__(self) -> str:
        return _("普查导入 #%(id)s") % {"id": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("census:job", args=[self.pk])

    @property
    def running(self) -> bool:
        return self.status in (JobStatus.UPLOADED, JobStatus.CHECKING, JobStatus.IMPORTING)

    @property
    def percent(self) -> int:
        if self.status in (JobStatus.CHECKED, JobStatus.IMPORTED):
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))

    @property
    def more_errors(self) -> int:
        return max(0, self.error_count - len(self.errors))
