from __future__ import annotations

from typing import Any, NoReturn, cast

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
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
    AUDIT_VERIFIED = "audit_verified", _("校验审计日志")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")


# The columns the chain fills when it seals a row; everything else is the row's content.
CHAIN_FIELDS = ("seq", "prev_hash", "hash")


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    """Rows can be added, never changed or removed (SECURITY.md, Audit).

    The one exception is ``seal``: it fills the chain columns of rows not yet sealed, which is
    all the PostgreSQL trigger lets through as well (migration 0009).
    """

    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("audit events are append-only")

    def delete(self) -> NoReturn:
        raise PermissionError("audit events are append-only")

    def unsealed(self) -> AuditQuerySet:
        return self.filter(hash__isnull=True)

    def sealed(self) -> AuditQuerySet:
        return self.filter(seq__isnull=False)

    def seal(self, links: list[tuple[int, int, str, str]]) -> None:
        """Give unsealed rows their place in the chain: ``(id, seq, prev_hash, hash)`` each, in
        one statement (``UPDATE … FROM (VALUES …)``, PostgreSQL and SQLite 3.33+ alike). Raises
        (and so rolls the caller's transaction back) when any of them was sealed already or is
        gone."""
        if not links:
            return
        meta, connection = self.model._meta, connections[self.db]
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        column = {
            name: quote(cast(models.Field, meta.get_field(name)).column)
            for name in ("id", *CHAIN_FIELDS)
        }
        # VALUES columns are named column1 … column4 on both databases.
        sql = (
            f"UPDATE {table} SET {column['seq']} = v.column2, {column['prev_hash']} = v.column3, "
            f"{column['hash']} = v.column4 "
            f"FROM (VALUES {', '.join(['(%s, %s, %s, %s)'] * len(links))}) AS v "
            f"WHERE {table}.{column['id']} = v.column1 AND {table}.{column['hash']} IS NULL"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for link in links for value in link])
            if cursor.rowcount != len(links):
                raise PermissionError("audit events are append-only: row already sealed")


class AuditEvent(models.Model):
    """An append-only record of a security-relevant event (SECURITY.md, Audit).

    Never holds passwords, session ids or full ID numbers. The application can only add rows.
    A row is written unsealed (``seq``, ``prev_hash`` and ``hash`` empty) inside whatever
    transaction records the event; after that transaction commits, ``campusmedia.audit.chain``
    seals it: the next ``seq`` and ``hash = HMAC(key, prev_hash + content)``, so an edited,
    removed or reordered row breaks the chain (``manage.py verify_audit``).
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
    # The chain, filled once when the row is sealed (null until then).
    seq = models.BigIntegerField(_("链序号"), null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(
        _("前一条哈希"), max_length=64, null=True, blank=True, editable=False
    )
    hash = models.CharField(_("哈希"), max_length=64, null=True, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The sealer's queue: small, whatever the size of the log.
            models.Index(fields=["id"], condition=Q(hash__isnull=True), name="audit_unsealed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only. A row with its id given (a restore) is inserted as it is, chain values
        included; an existing row is never written again."""
        if not self._state.adding:
            raise PermissionError("audit events are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("audit events are append-only")

    @property
    def is_sealed(self) -> bool:
        return self.hash is not None
