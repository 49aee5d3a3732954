"""The New Media Alliance (新媒体联盟, 004 sections 二 and 三): its charter, members, coordinated
publishing tasks, policy notices and the pre-publication approval of sensitive posts.

Membership follows the registry: every active account of tiers 1 and 2 is a member by rule, and a
tier-3 account is a member once the secretariat approves its application (``Membership``). Nothing
has to be kept in step when an account closes: a member is always an *active* account
(``alliance.selectors.members``).

Who may do what is decided in ``alliance.permissions``; every write goes through
``alliance.services``.
"""

from __future__ import annotations

import secrets
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from alliance.choices import (
    AssignmentState,
    MemberRole,
    MembershipState,
    PrepubAction,
    PrepubState,
    PrepubTopic,
    TaskAudience,
)
from approvals.storage import get_private_storage
from campusmedia.models import MediaAccount, Unit

P = PrepubState


class CharterVersion(models.Model):
    """One version of the charter (章程). Versions are never edited: a change is a new version.
    The current version is the latest one whose effective date has come."""

    number = models.PositiveSmallIntegerField(_("版本号"), unique=True)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"))
    summary = models.CharField(_("修订说明"), max_length=300, blank=True)
    effective_on = models.DateField(_("生效日期"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("联盟章程")
        verbose_name_plural = _("联盟章程")

    def __str__(self) -> str:
        return f"{self.title}（第{self.number}版）"

    def get_absolute_url(self) -> str:
        return reverse("alliance:charter_version", args=[self.number])

    @property
    def is_effective(self) -> bool:
        return self.effective_on <= timezone.localdate()


class Membership(models.Model):
    """The alliance record of one account: its member role, and for tier 3 its application.

    Tiers 1 and 2 need no row to be members; one is written when the secretariat gives such an
    account a role other than its tier's default."""

    account = models.OneToOneField(
        MediaAccount, on_delete=models.CASCADE, related_name="alliance_membership"
    )
    role = models.CharField(
        _("成员类别"), max_length=12, choices=MemberRole.choices, default=MemberRole.MEMBER
    )
    state = models.CharField(
        _("状态"), max_length=12, choices=MembershipState.choices, default=MembershipState.APPLIED
    )
    reason = models.TextField(_("申请理由"), blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(_("申请时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)
    joined_on = models.DateField(_("加入日期"), null=True, blank=True)
    left_on = models.DateField(_("退出日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("联盟成员")
        verbose_name_plural = _("联盟成员")
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_state_display()}"

    @property
    def owner_unit_id(self) -> int:
        return self.account.owner_unit_id


class Task(models.Model):
    """A coordinated publishing task (互联互动): members are asked to share a piece."""

    title = models.CharField(_("任务标题"), max_length=100)
    source_account = models.ForeignKey(
        MediaAccount,
        verbose_name=_("来源账号"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("发布原文的账号，一般为学校官方账号。"),
    )
    link = models.URLField(_("原文链接"), max_length=500)
    instructions = models.TextField(_("转发要求"), blank=True)
    due_at = models.DateTimeField(_("完成时限"))
    audience = models.CharField(
        _("发送范围"), max_length=8, choices=TaskAudience.choices, default=TaskAudience.ALL
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(_("发布时间"), default=timezone.now)

    class Meta:
        ordering = ["-posted_at", "-id"]
        verbose_name = _("互联互动任务")
        verbose_name_plural = _("互联互动任务")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("alliance:task_detail", args=[self.pk])

    @property
    def is_overdue(self) -> bool:
        return timezone.now() > self.due_at


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def pending(self) -> AssignmentQuerySet:
        return self.filter(state=AssignmentState.PENDING)


class Assignment(models.Model):
    """One member account's part in a task: done with the link of its post, or declined with a
    reason. The answer may be corrected until the secretariat's figures are final; every answer
    is in the audit log."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    account = models.ForeignKey(
        MediaAccount, on_delete=models.PROTECT, related_name="alliance_assignments"
    )
    state = models.CharField(
        _("完成情况"),
        max_length=10,
        choices=AssignmentState.choices,
        default=AssignmentState.PENDING,
    )
    post_link = models.URLField(_("转发链接"), max_length=500, blank=True)
    reason = models.TextField(_("未转发原因"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["task", "account__name", "id"]
        verbose_name = _("任务分派")
        verbose_name_plural = _("任务分派")
        constraints = [
            models.UniqueConstraint(fields=["task", "account"], name="assignment_once"),
            models.CheckConstraint(
                condition=~Q(state=AssignmentState.DONE) | ~Q(post_link=""),
                name="assignment_done_has_link",
            ),
            models.CheckConstraint(
                condition=~Q(state=AssignmentState.DECLINED) | ~Q(reason=""),
                name="assignment_declined_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["account", "state"])]

    def __str__(self) -> str:
        return f"{self.task} · {self.account}"

    @property
    def owner_unit_id(self) -> int:
        return self.account.owner_unit_id

    @property
    def is_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.task.due_at


class Notice(models.Model):
    """A policy notice (政策通知, 002 section 五) to the administrators and secretaries. Its
    recipients are fixed when it is posted, one receipt each."""

    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"))
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    reminded_at = models.DateTimeField(_("最近提醒"), null=True, blank=True)

    class Meta:
        ordering = ["-posted_at", "-id"]
        verbose_name = _("政策通知")
        verbose_name_plural = _("政策通知")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("alliance:notice_detail", args=[self.pk])


def _private_name(instance: Any, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"notices/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class NoticeAttachment(models.Model):
    """A file of a notice: checked by content, stored privately, served through the access check."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(
        _("文件"),
        storage=get_private_storage,  # type: ignore[arg-type]
        upload_to=_private_name,
    )
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        verbose_name = _("通知附件")
        verbose_name_plural = _("通知附件")

    def __str__(self) -> str:
        return self.original_name


class NoticeReceipt(models.Model):
    """One recipient of a notice; ``read_at`` is set when they confirm they have read it."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_receipts"
    )
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("提醒次数"), default=0)

    class Meta:
        ordering = ["notice", "id"]
        verbose_name = _("阅读回执")
        verbose_name_plural = _("阅读回执")
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="notice_receipt_once")
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.notice} · {self.user}"


def _may(step: str):
    """The fsm ``permission`` hook: asks alliance.permissions with a fresh look at the roles."""

    def check(instance: Prepublication, user: Any) -> bool:
        from alliance.permissions import may_prepub
        from campusmedia.permissions import Access

        return may_prepub(step, instance, Access(user))

    check.__name__ = f"may_{step}"
    return check


class Prepublication(ConcurrentTransitionMixin, models.Model):
    """A unit's request to publish about a major event, an emergency or a sensitive topic
    (004 section 三.2): approved or returned by the department, then the published link is filed.
    Kept for good; a request is withdrawn, never deleted."""

    account = models.ForeignKey(
        MediaAccount,
        verbose_name=_("发布账号"),
        on_delete=models.PROTECT,
        related_name="prepublications",
    )
    # The unit that asked: access follows it, as for requests, even if the account moves later.
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("申请单位"), on_delete=models.PROTECT, related_name="prepublications"
    )
    topic = models.CharField(_("内容类别"), max_length=16, choices=PrepubTopic.choices)
    title = models.CharField(_("标题"), max_length=100)
    content = models.TextField(_("拟发布内容"), blank=True)
    draft_link = models.URLField(_("预览链接"), max_length=500, blank=True)
    planned_at = models.DateTimeField(_("计划发布时间"))
    state = FSMField(
        _("状态"), max_length=12, choices=PrepubState.choices, default=P.SUBMITTED, protected=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)
    published_link = models.URLField(_("发布链接"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filed_at = models.DateTimeField(_("备案时间"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("发布前审批")
        verbose_name_plural = _("发布前审批")
        indexes = [
            models.Index(fields=["state", "owner_unit"]),
            models.Index(fields=["owner_unit", "-submitted_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(content="") | ~Q(draft_link=""), name="prepub_has_content"
            ),
            models.CheckConstraint(
                condition=~Q(state=P.PUBLISHED) | ~Q(published_link=""),
                name="prepub_published_has_link",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("alliance:prepub_detail", args=[self.pk])

    def clean_fields(self, exclude: Any = None) -> None:
        # A protected FSMField refuses assignment, which full_clean would attempt.
        super().clean_fields(exclude={*(exclude or ()), "state"})

    # --- The steps. Bodies stay empty: effects live in alliance.services. ---

    @transition(field=state, source=P.RETURNED, target=P.SUBMITTED, permission=_may("resubmit"))
    def resubmit(self) -> None:
        pass

    @transition(field=state, source=P.SUBMITTED, target=P.APPROVED, permission=_may("decide"))
    def approve(self) -> None:
        pass

    @transition(field=state, source=P.SUBMITTED, target=P.RETURNED, permission=_may("decide"))
    def return_for_changes(self) -> None:
        pass

    @transition(
        field=state,
        source=[P.SUBMITTED, P.RETURNED],
        target=P.WITHDRAWN,
        permission=_may("withdraw"),
    )
    def withdraw(self) -> None:
        pass

    @transition(field=state, source=P.APPROVED, target=P.PUBLISHED, permission=_may("file"))
    def file_published(self) -> None:
        pass


class PrepubStep(models.Model):
    """The record of a pre-publication request: one row per step (and an audit row)."""

    prepublication = models.ForeignKey(
        Prepublication, on_delete=models.CASCADE, related_name="steps"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=10, choices=PrepubAction.choices)
    source_state = models.CharField(
        _("原状态"), max_length=12, choices=PrepubState.choices, blank=True
    )
    target_state = models.CharField(_("新状态"), max_length=12, choices=PrepubState.choices)
    comment = models.TextField(_("意见"), blank=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("发布前审批记录")
        verbose_name_plural = _("发布前审批记录")

    def __str__(self) -> str:
        return f"{self.prepublication_id} · {self.get_action_display()} · {self.actor_name}"
