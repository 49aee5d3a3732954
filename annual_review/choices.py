"""Vocabularies of the annual review (年检, DOMAIN.md section 6)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("待填报")
    SUBMITTED = "submitted", _("待单位签署")
    SIGNED = "signed", _("待宣传部结论")
    RETURNED = "returned", _("退回修改")
    CONCLUDED = "concluded", _("已出结论")


class Outcome(models.TextChoices):
    PASS = "pass", _("合格")
    RECTIFY = "rectify", _("限期整改")
    FAIL = "fail", _("不合格")


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("提交")
    SIGN = "sign", _("单位签署")
    RETURN = "return", _("退回修改")
    CONCLUDE = "conclude", _("作出结论")
    ORDER_CLOSE = "order_close", _("责令注销")


class Progress(models.TextChoices):
    """Where a form stands, as the progress page counts it (a conclusion by its outcome)."""

    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("填报中")
    SUBMITTED = "submitted", _("待签署")
    SIGNED = "signed", _("待结论")
    PASS = "pass", _("合格")
    RECTIFY = "rectify", _("限期整改")
    FAIL = "fail", _("不合格")


# States in which the unit may edit the form (a rectify conclusion reopens it for the unit).
UNIT_STATES = frozenset({ReviewState.DRAFT, ReviewState.RETURNED, ReviewState.CONCLUDED})
