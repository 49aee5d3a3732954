"""Requests to open, record, change or close an account, their sign-offs and what hangs off them.

The registry (``campusmedia``) changes only when a request reaches its final step
(``approvals.services``). Who may take a step is decided in ``approvals.permissions``; the steps
themselves are declared here with django-fsm-2 and carry no side effects.
"""

from __future__ import annotations

import datetime
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

from approvals.choices import (
    AttachmentKind,
    NotificationVerb,
    RequestKind,
    RequestState,
    StepAction,
    TeamChangeSource,
)
from approvals.routing import Route, route_for
from approvals.storage import get_private_storage
from campusmedia.choices import TeamRole
from campusmedia.crypto import EncryptedCharField
from campusmedia.models import MediaAccount, Person, Unit
from campusmedia.validators import EmailAddressValidator, LandlineValidator, MobileValidator

S = RequestState


def _may(step: str):
    """The fsm ``permission`` hook: asks approvals.permissions with a fresh look at the roles."""

    def check(instance: AccountRequest, user: Any) -> bool:
        from approvals.permissions import may
        from campusmedia.permissions import Access

        return may(step, instance, Access(user))

    check.__name__ = f"may_{step}"
    return check


def _has_first_signoff(instance: Any) -> bool:
    return instance.route.first_signoff


def _first_signoff_done(instance: Any) -> bool:
    """The final step never runs before the first (SECURITY.md, separation of duties)."""
    return instance.state == S.ENDORSED or not instance.route.first_signoff


class AccountRequestQuerySet(models.QuerySet["AccountRequest"]):
    def open(self) -> AccountRequestQuerySet:
        return self.exclude(state__in=[S.APPROVED, S.REJECTED, S.WITHDRAWN])


class AccountRequest(ConcurrentTransitionMixin, models.Model):
    """One request (审批/备案申请) about one account, filed by the owning unit.

    ``data`` holds the proposed account fields (no personal data: the team is in ProposedMember,
    encrypted); ``before`` the account's values when the request was submitted, for the
    side-by-side view of a change.
    """

    kind = models.CharField(_("审批类型"), max_length=8, choices=RequestKind.choices)
    state = FSMField(
        _("状态"), max_length=12, choices=RequestState.choices, default=S.DRAFT, protected=True
    )
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="requests"
    )
    account = models.ForeignKey(
        MediaAccount,
        verbose_name=_("账号"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        help_text=_("开通申请在批准后才有账号。"),
    )
    data = models.JSONField(_("申请内容"), default=dict, blank=True)
    before = models.JSONField(_("原内容"), default=dict, blank=True)
    reason = models.TextField(_("申请说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    approval_year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    approval_sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)
    approval_number = models.CharField(_("审批号"), max_length=32, blank=True)
    # 3-day rule: a team change filed after its due date.
    is_late = models.BooleanField(_("逾期报备"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("审批申请")
        verbose_name_plural = _("审批申请")
        indexes = [
            models.Index(fields=["state", "owner_unit"]),
            models.Index(fields=["owner_unit", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["approval_year", "approval_sequence"], name="request_number_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.display_name}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:request_detail", args=[self.pk])

    def clean_fields(self, exclude: Any = None) -> None:
        # A protected FSMField refuses assignment, which full_clean would attempt.
        super().clean_fields(exclude={*(exclude or ()), "state"})

    @property
    def display_name(self) -> str:
        if self.data.get("name"):
            return str(self.data["name"])
        return self.account.name if self.account is not None else ""

    @property
    def tier(self) -> int:
        return self.owner_unit.tier

    @property
    def route(self) -> Route:
        return route_for(self.tier)

    # --- The steps (DOMAIN.md section 4). Bodies stay empty: effects live in services. ---

    @transition(
        field=state, source=[S.DRAFT, S.RETURNED], target=S.SUBMITTED, permission=_may("submit")
    )
    def submit(self) -> None:
        pass

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.ENDORSED,
        conditions=[_has_first_signoff],
        permission=_may("endorse"),
    )
    def endorse(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SUBMITTED, S.ENDORSED],
        target=S.APPROVED,
        conditions=[_first_signoff_done],
        permission=_may("decide"),
    )
    def approve(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SUBMITTED, S.ENDORSED],
        target=S.RETURNED,
        permission=_may("review"),
    )
    def return_for_changes(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SUBMITTED, S.ENDORSED],
        target=S.REJECTED,
        permission=_may("review"),
    )
    def reject(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.DRAFT, S.SUBMITTED, S.ENDORSED, S.RETURNED],
        target=S.WITHDRAWN,
        permission=_may("withdraw"),
    )
    def withdraw(self) -> None:
        pass


class ProposedMember(models.Model):
    """A member of the account's team as the request proposes it (the 管理队伍 table of the form).

    Either an existing person or the details of a new one; contact data is encrypted like Person's.
    """

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="team")
    role = models.CharField(_("职责"), max_length=16, choices=TeamRole.choices)
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.PROTECT, null=True, blank=True
    )
    name = models.CharField(_("姓名"), max_length=50)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    office_phone = models.CharField(
        _("办公电话"), max_length=32, blank=True, validators=[LandlineValidator()]
    )
    mobile = EncryptedCharField(_("手机号码"), blank=True, validators=[MobileValidator()])
    email = EncryptedCharField(_("电子邮箱"), blank=True, validators=[EmailAddressValidator()])
    wechat_id = models.CharField(_("微信号"), max_length=50, blank=True)
    is_student = models.BooleanField(_("学生"), default=False)
    expected_end = models.DateField(_("预计离任日期"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("拟任管理队伍成员")
        verbose_name_plural = _("拟任管理队伍成员")

    def __str__(self) -> str:
        return f"{self.get_role_display()} · {self.name}"


class RequestStep(models.Model):
    """The timeline: one row per step, written in the step's transaction (and to the audit log)."""

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=16, choices=StepAction.choices)
    source_state = models.CharField(_("原状态"), max_length=12, choices=RequestState.choices)
    target_state = models.CharField(_("新状态"), max_length=12, choices=RequestState.choices)
    comment = models.TextField(_("意见"), blank=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("审批记录")
        verbose_name_plural = _("审批记录")
        # The statistics read submissions and decisions by month.
        indexes = [models.Index(fields=["action", "at"], name="requeststep_action_at_idx")]

    def __str__(self) -> str:
        return f"{self.request_id} · {self.get_action_display()} · {self.actor_name}"


class ApprovalCounter(models.Model):
    """The last approval number handed out in a year; locked while a number is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("审批号计数")
        verbose_name_plural = _("审批号计数")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


def _private_name(instance: Attachment, filename: str) -> str:
    """A random name under the month; the original name is kept in the row, not on disk."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class Attachment(models.Model):
    """A file on a request or an account: stored privately, served only through the access check."""

    request = models.ForeignKey(
        AccountRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    account = models.ForeignKey(
        MediaAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    kind = models.CharField(_("材料类型"), max_length=16, choices=AttachmentKind.choices)
    file = models.FileField(
        _("文件"),
        storage=get_private_storage,  # type: ignore[arg-type]
        upload_to=_private_name,
    )
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        constraints = [
            models.CheckConstraint(
                condition=Q(request__isnull=False) | Q(account__isnull=False),
                name="attachment_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def owner_unit_id(self) -> int:
        if self.request is not None:
            return self.request.owner_unit_id
        return self.account.owner_unit_id if self.account else 0


class TeamChangeEventQuerySet(models.QuerySet["TeamChangeEvent"]):
    def open(self) -> TeamChangeEventQuerySet:
        return self.filter(filed_at__isnull=True)

    def overdue(self, on: datetime.date | None = None) -> TeamChangeEventQuerySet:
        return self.open().filter(due_on__lt=on or timezone.localdate())


class TeamChangeEvent(models.Model):
    """A change of an account's team that must be filed within the 3-day rule (DOMAIN.md 5).

    Recorded by the secretary, or created when a person on the team loses their role in the unit.
    It is filed by the change request that covers it; filed after ``due_on``, it counts as late.
    """

    account = models.ForeignKey(MediaAccount, on_delete=models.CASCADE, related_name="team_changes")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("职责"), max_length=16, choices=TeamRole.choices)
    happened_on = models.DateField(_("变更日期"))
    due_on = models.DateField(_("报备截止"))
    source = models.CharField(_("来源"), max_length=12, choices=TeamChangeSource.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filed_by_request = models.ForeignKey(
        AccountRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team_changes",
    )
    filed_at = models.DateTimeField(_("报备时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamChangeEventQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("管理队伍变更事项")
        verbose_name_plural = _("管理队伍变更事项")
        indexes = [models.Index(fields=["filed_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.person} · {self.happened_on}"

    @property
    def is_late(self) -> bool:
        if self.filed_at is not None:
            return timezone.localdate(self.filed_at) > self.due_on
        return timezone.localdate() > self.due_on


class Notification(models.Model):
    """A message in the site (the same one goes out by e-mail)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    verb = models.CharField(max_length=16, choices=NotificationVerb.choices)
    request = models.ForeignKey(
        AccountRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.CharField(_("内容"), max_length=300)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.text
