"""Vocabularies of the request workflow (DOMAIN.md section 4)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    OPEN = "open", _("申请开通")
    RECORD = "record", _("已开通备案")
    CHANGE = "change", _("变更")
    CLOSE = "close", _("停办")


class RequestState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待初审")
    ENDORSED = "endorsed", _("待宣传部决定")
    RETURNED = "returned", _("退回修改")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


# States in which the submitter may still change the request.
EDITABLE_STATES = frozenset({RequestState.DRAFT, RequestState.RETURNED})
# States waiting for a reviewer.
UNDER_REVIEW_STATES = frozenset({RequestState.SUBMITTED, RequestState.ENDORSED})
FINAL_STATES = frozenset({RequestState.APPROVED, RequestState.REJECTED, RequestState.WITHDRAWN})


class StepAction(models.TextChoices):
    CREATE = "create", _("创建")
    SUBMIT = "submit", _("提交")
    ENDORSE = "endorse", _("初审同意")
    APPROVE = "approve", _("审批通过")
    RECORD = "record", _("审核备案")
    RETURN = "return", _("退回修改")
    REJECT = "reject", _("不予通过")
    WITHDRAW = "withdraw", _("撤回")
    REPORT_OPENING = "report_opening", _("报送开通")


class Decision(models.TextChoices):
    """What the final step is called for a tier: approval (审批) or review and record (审核备案)."""

    APPROVE = "approve", _("审批")
    RECORD = "record", _("审核备案")


class AttachmentKind(models.TextChoices):
    PLEDGE = "pledge", _("网络信息安全承诺书（签字盖章）")
    SIGNED_FORM = "signed_form", _("审批（备案）表（签字盖章扫描件）")
    EVIDENCE = "evidence", _("其他材料")


class TeamChangeSource(models.TextChoices):
    RECORDED = "recorded", _("秘书登记")
    ROLE_ENDED = "role_ended", _("人员离任")
    GRADUATION = "graduation", _("学生毕业")


class NotificationVerb(models.TextChoices):
    TO_SIGN = "to_sign", _("待你审签")
    RETURNED = "returned", _("已退回修改")
    REJECTED = "rejected", _("未通过")
    APPROVED = "approved", _("已通过")
    TEAM_CHANGE_DUE = "team_change_due", _("管理队伍变更待报备")
    REVIEW = "review", _("年检")
    CLOSE_ORDERED = "close_ordered", _("责令注销")
    ALLIANCE_TASK = "alliance_task", _("联盟互动任务")
    NOTICE = "notice", _("政策通知")
    PREPUBLICATION = "prepublication", _("发布前审批")
