from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKOUT = "lockout", _("账号锁定")
    LOGOUT = "logout", _("退出")
    SESSION_EXPIRED = "session_expired", _("会话超时")
    PASSWORD_CHANGE = "password_change", _("修改密码")
    ROLE_ASSIGNED = "role_assigned", _("授予角色")
    ROLE_ENDED = "role_ended", _("终止角色")
    PERSON_MOVED = "person_moved", _("人员调动")
    PERSON_CHANGED = "person_changed", _("人员信息变更")
    REVEAL = "reveal", _("查看完整个人信息")
    UNIT_CHANGED = "unit_changed", _("单位变更")
    ACCOUNT_CHANGED = "account_changed", _("账号变更")
    TEAM_CHANGED = "team_changed", _("管理队伍变更")
    PERMISSION_DENIED = "denied", _("越权访问")
    REQUEST_STEP = "request_step", _("审批操作")
    TEAM_CHANGE_RECORDED = "team_change", _("登记管理队伍变更")
    FILE_UPLOADED = "file_uploaded", _("上传附件")
    FILE_DOWNLOADED = "file_downloaded", _("下载附件")
    REVIEW_CAMPAIGN = "review_campaign", _("开启年检")
    REVIEW_STEP = "review_step", _("年检操作")
    ZERO_REPORT = "zero_report", _("零报告")
    CLOSE_ORDERED = "close_ordered", _("责令注销")
    EXPORT = "export", _("导出")
    FILING_BATCH = "filing_batch", _("市网信办报备")
    OFFICE_CHANGED = "office_changed", _("网信部门信息变更")
    EDITION_PUBLISHED = "edition", _("发布公开名录")
    CHARTER = "charter", _("联盟章程")
    MEMBERSHIP = "membership", _("联盟成员")
    ALLIANCE_TASK = "alliance_task", _("互联互动任务")
    NOTICE = "notice", _("政策通知")
    PREPUBLICATION = "prepublication", _("发布前审批")
    IMPORT = "import", _("导入")
    BACKUP = "backup", _("备份")
    RESTORE = "restore", _("恢复")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("audit events are append-only")

    def delete(self) -> NoReturn:
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """An append-only record of a security-relevant event (SECURITY.md, Audit).

    Never holds passwords, session ids or full ID numbers. The application can only add rows.
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # No database constraint: deleting a user must not touch the audit trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("事件"), max_length=24, choices=AuditAction.choices, db_index=True)
    outcome = models.CharField(
        _("结果"), max_length=8, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)
    object_type = models.CharField(_("对象类型"), max_length=40, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=40, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("audit events are append-only")
