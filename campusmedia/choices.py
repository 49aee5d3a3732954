"""The registry's vocabularies. Tiers and role reach are derived here, in one place."""

from __future__ import annotations

import functools
from typing import Any

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    SCHOOL = "school", _("学校")
    FUNCTIONAL = "functional", _("机关部门")
    DIRECT = "direct", _("直属单位")
    COLLEGE = "college", _("学院")
    SUB_UNIT = "sub_unit", _("内设机构")
    SCHOOL_STUDENT_ORG = "school_student_org", _("校级学生组织")
    COLLEGE_STUDENT_ORG = "college_student_org", _("院级学生组织")


class UnitDuty(models.TextChoices):
    """Units with special duties in the governance process."""

    NONE = "", _("无")
    PROPAGANDA = "propaganda", _("党委宣传部")
    YOUTH_LEAGUE = "youth_league", _("校团委")


class Tier(models.IntegerChoices):
    ONE = 1, _("一级平台")
    TWO = 2, _("二级平台")
    THREE = 3, _("三级平台")


# DOMAIN.md section 2: the tier follows from the owning unit's kind; nobody types it.
TIER_OF_KIND: dict[str, int] = {
    UnitKind.SCHOOL: Tier.ONE,
    UnitKind.FUNCTIONAL: Tier.TWO,
    UnitKind.DIRECT: Tier.TWO,
    UnitKind.COLLEGE: Tier.TWO,
    UnitKind.SUB_UNIT: Tier.THREE,
    UnitKind.SCHOOL_STUDENT_ORG: Tier.THREE,
    UnitKind.COLLEGE_STUDENT_ORG: Tier.THREE,
}


def kinds_of_tier(tier: int) -> list[str]:
    return [kind for kind, t in TIER_OF_KIND.items() if t == tier]


class Role(models.TextChoices):
    SECRETARY = "secretary", _("秘书（联络员）")
    HEAD = "head", _("单位负责人")
    PROPAGANDA_REVIEWER = "propaganda_reviewer", _("宣传部审核员")
    PROPAGANDA_HEAD = "propaganda_head", _("宣传部负责人")
    LEAGUE_APPROVER = "league_approver", _("团委审批人")
    AUDITOR = "auditor", _("审计员")


# Roles whose reach is the whole registry. The auditor reads everything and changes nothing.
GLOBAL_READ_ROLES = frozenset({Role.PROPAGANDA_REVIEWER, Role.PROPAGANDA_HEAD, Role.AUDITOR})
GLOBAL_WRITE_ROLES = frozenset({Role.PROPAGANDA_REVIEWER, Role.PROPAGANDA_HEAD})


class AccountStatus(models.TextChoices):
    APPROVED = "approved", _("已批准未开通")
    ACTIVE = "active", _("运行中")
    SUSPENDED = "suspended", _("已暂停")
    ORDERED_TO_CLOSE = "ordered_to_close", _("责令注销")
    CLOSED = "closed", _("已停办")


class ContentCategory(models.TextChoices):
    CONVENIENCE = "convenience", _("便民服务")
    MEMBERSHIP = "membership", _("会员服务")
    DATING = "dating", _("征婚交友")
    NEWS = "news", _("新闻发布")
    ADVERTISING = "advertising", _("广告业务")
    POLICY = "policy", _("政策法规")
    SOCIAL = "social", _("社会资讯")
    TECHNICAL = "technical", _("专业技术")
    COMMUNITY = "community", _("微社区")
    OTHER = "other", _("其他")


class ContentForm(models.TextChoices):
    TEXT = "text", _("文字")
    IMAGE = "image", _("图片")
    VOICE = "voice", _("语音")
    VIDEO = "video", _("视频")


class Verification(models.TextChoices):
    VERIFIED = "yes", _("已认证")
    NOT_VERIFIED = "no", _("未认证")


class TeamRole(models.TextChoices):
    SUPERVISOR = "supervisor", _("主要负责人（分管领导）")
    ADMINISTRATOR = "administrator", _("管理员")


class PersonalField(models.TextChoices):
    """Personal data fields that are stored encrypted and revealed only on purpose."""

    ID_NUMBER = "id_number", _("身份证号")
    MOBILE = "mobile", _("手机号码")
    EMAIL = "email", _("电子邮箱")


def choice_labels(choices: type[models.Choices]) -> dict[Any, str]:
    """``{code: label}`` of a vocabulary in the active language, translated once per process.

    ``get_FOO_display()`` and ``str()`` of a lazy label look the catalogue up on every call,
    which on a list of 50 rows costs more than the query.
    """
    return _labels_in(choices, get_language())


@functools.cache
def _labels_in(choices: type[models.Choices], language: str | None) -> dict[Any, str]:
    return {value: str(label) for value, label in choices.choices}
