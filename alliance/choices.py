"""The alliance's vocabularies (004 sections 二 and 三)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberRole(models.TextChoices):
    COUNCIL = "council", _("理事单位")
    MEMBER = "member", _("会员单位")


class MembershipState(models.TextChoices):
    """A tier-3 account's application; tiers 1 and 2 are members by rule and never apply."""

    APPLIED = "applied", _("待审核")
    APPROVED = "approved", _("已加入")
    REJECTED = "rejected", _("未通过")
    LEFT = "left", _("已退出")


class TaskAudience(models.TextChoices):
    ALL = "all", _("全体成员")
    CHOSEN = "chosen", _("指定成员")


class AssignmentState(models.TextChoices):
    PENDING = "pending", _("待完成")
    DONE = "done", _("已完成")
    DECLINED = "declined", _("不转发")


class PrepubTopic(models.TextChoices):
    """004 section 三.2: what may not be published without the department's approval."""

    MAJOR_EVENT = "major_event", _("涉及学校的重大事件")
    EMERGENCY = "emergency", _("突发事件")
    SENSITIVE = "sensitive", _("社会热点及敏感问题")


class PrepubState(models.TextChoices):
    SUBMITTED = "submitted", _("待审批")
    RETURNED = "returned", _("已退回修改")
    APPROVED = "approved", _("已批准，待发布")
    PUBLISHED = "published", _("已发布备案")
    WITHDRAWN = "withdrawn", _("已撤回")


class PrepubAction(models.TextChoices):
    SUBMIT = "submit", _("提交")
    RESUBMIT = "resubmit", _("修改后重新提交")
    APPROVE = "approve", _("批准")
    RETURN = "return", _("退回修改")
    WITHDRAW = "withdraw", _("撤回")
    FILE = "file", _("发布备案")
