from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import AccountStatus, TeamRole, Verification
from campusmedia.models.offices import Office
from campusmedia.models.people import Person
from campusmedia.models.units import Unit


class Platform(models.Model):
    """The platform catalogue (DOMAIN.md section 3); rows come from a data migration."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("平台"), max_length=40)
    account_types = models.JSONField(
        _("账号类型"), default=list, blank=True, help_text=_("如微信公众号的“服务号”“订阅号”。")
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("平台")
        verbose_name_plural = _("平台")

    def __str__(self) -> str:
        return self.name


@cache
def _choice_values(choices_path: str) -> frozenset[str]:
    """A vocabulary's values, looked up once: the census checks a list on every row."""
    return frozenset(import_string(choices_path).values)


@deconstructible(path="campusmedia.models.accounts.ChoiceListValidator")
class ChoiceListValidator:
    """A JSON list whose items all come from one TextChoices vocabulary."""

    def __init__(self, choices_path: str, label: str) -> None:
        self.choices_path = choices_path
        self.label = label

    def __call__(self, value: object) -> None:
        allowed = _choice_values(self.choices_path)
        if not isinstance(value, list) or any(item not in allowed for item in value):
            raise ValidationError(
                _("%(field)s：包含无效选项。") % {"field": self.label}, code="invalid_choice"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChoiceListValidator) and (self.choices_path, self.label) == (
            other.choices_path,
            other.label,
        )


class MediaAccount(models.Model):
    """An official new-media account that speaks in the university's name.

    The tier is never stored: it follows from the owning unit (``tier``). The status changes only
    through approved requests; every change is kept in AccountHistory.
    """

    name = models.CharField(_("账号名称（昵称）"), max_length=100)
    account_id = models.CharField(
        _("账号ID"), max_length=100, blank=True, help_text=_("开通后填写平台上的账号ID。")
    )
    platform = models.ForeignKey(
        Platform, verbose_name=_("平台"), on_delete=models.PROTECT, related_name="accounts"
    )
    account_type = models.CharField(_("账号类型"), max_length=40, blank=True)
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="accounts"
    )
    content_categories = models.JSONField(
        _("内容类别"),
        default=list,
        blank=True,
        validators=[ChoiceListValidator("campusmedia.choices.ContentCategory", "内容类别")],
    )
    content_forms = models.JSONField(
        _("内容形式"),
        default=list,
        blank=True,
        validators=[ChoiceListValidator("campusmedia.choices.ContentForm", "内容形式")],
    )
    function_description = models.TextField(_("功能定位"), blank=True)
    planned_opening_on = models.DateField(_("拟开通时间"), null=True, blank=True)
    opened_on = models.DateField(_("开通日期"), null=True, blank=True)
    verification = models.CharField(
        _("认证情况"), max_length=8, choices=Verification.choices, blank=True
    )
    verification_note = models.CharField(_("认证说明"), max_length=200, blank=True)
    follower_count = models.PositiveIntegerField(_("粉丝量"), null=True, blank=True)
    operator_count = models.PositiveSmallIntegerField(_("运营人数"), null=True, blank=True)
    url = models.URLField(_("主页链接"), blank=True)
    filing_office = models.ForeignKey(
        Office,
        verbose_name=_("备案地址"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        help_text=_("向哪个网信部门报备；不填则报市级网信部门。"),
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=AccountStatus.choices, default=AccountStatus.APPROVED
    )
    approval_number = models.CharField(_("审批号"), max_length=32, blank=True)
    closed_on = models.DateField(_("停办日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("新媒体账号")
        verbose_name_plural = _("新媒体账号")
        indexes = [
            models.Index(fields=["owner_unit", "status"]),
            # Serves a secretary's registry page: keys in order straight from the index.
            models.Index(fields=["owner_unit", "name", "id"], name="account_unit_name_idx"),
            models.Index(fields=["status", "name"]),
            models.Index(fields=["platform", "status"]),
            models.Index(fields=["name", "id"]),
            models.Index(fields=["-updated_at", "-id"], name="account_recent_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "account_id"],
                condition=~Q(account_id=""),
                name="account_unique_platform_id",
                violation_error_message=_("该平台上已登记了相同的账号ID。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("account_detail", args=[self.pk])

    @property
    def tier(self) -> int:
        return self.owner_unit.tier

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.platform_id and self.account_type:
            types = self.platform.account_types
            if types and self.account_type not in types:
                errors["account_type"] = _("账号类型：该平台可选 %(types)s。") % {
                    "types": "、".join(types)
                }
        if self.opened_on and self.opened_on > timezone.localdate():
            errors["opened_on"] = _("开通日期：不能晚于今天。")
        if self.status == AccountStatus.ACTIVE and not self.account_id:
            errors["account_id"] = _("账号ID：运行中的账号必须填写账号ID。")
        if errors:
            raise ValidationError(errors)


class TeamMemberQuerySet(models.QuerySet["TeamMember"]):
    def current(self) -> TeamMemberQuerySet:
        return self.filter(ends_on__isnull=True)


class TeamMember(models.Model):
    """A person on an account's team: the supervising leader or an administrator."""

    account = models.ForeignKey(
        MediaAccount, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="team"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="team_memberships"
    )
    role = models.CharField(_("职责"), max_length=16, choices=TeamRole.choices)
    starts_on = models.DateField(_("起始日期"), default=timezone.localdate)
    ends_on = models.DateField(_("终止日期"), null=True, blank=True)

    objects = TeamMemberQuerySet.as_manager()

    class Meta:
        ordering = ["role", "starts_on", "id"]
        verbose_name = _("管理队伍成员")
        verbose_name_plural = _("管理队伍成员")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(role=TeamRole.SUPERVISOR, ends_on__isnull=True),
                name="team_one_current_supervisor",
                violation_error_message=_("一个账号只能有一位现任主要负责人。"),
            ),
            models.UniqueConstraint(
                fields=["account", "person", "role"],
                condition=Q(ends_on__isnull=True),
                name="team_member_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_role_display()} · {self.person}"


class AccountHistory(models.Model):
    """One change of an account: who, when, what (old and new values), and through what."""

    class Action(models.TextChoices):
        CREATED = "created", _("登记")
        CHANGED = "changed", _("信息变更")
        TEAM = "team", _("管理队伍变更")
        STATUS = "status", _("状态变更")

    account = models.ForeignKey(MediaAccount, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("类型"), max_length=16, choices=Action.choices)
    # {"field": {"label": "…", "old": "…", "new": "…"}}; personal data is stored masked here.
    changes = models.JSONField(_("变更内容"), default=dict)
    source = models.CharField(
        _("依据"), max_length=100, blank=True, help_text=_("如审批号、导入批次或“管理后台”。")
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("账号变更记录")
        verbose_name_plural = _("账号变更记录")
        indexes = [models.Index(fields=["account", "-at"])]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_action_display()} · {self.at:%Y-%m-%d}"
