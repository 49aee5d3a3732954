from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchState(models.TextChoices):
    DRAFT = "draft", _("待生成")
    GENERATING = "generating", _("生成中")
    READY = "ready", _("已生成")
    SENT = "sent", _("已报送")
    DONE = "done", _("已办结")


class ItemKind(models.TextChoices):
    NEW = "new", _("新增备案")
    CHANGE = "change", _("变更备案")
    CLOSE = "close", _("注销备案")


class Receipt(models.TextChoices):
    PENDING = "pending", _("待回执")
    FILED = "filed", _("已备案")
    RETURNED = "returned", _("退回")


class MaterialKind(models.TextChoices):
    USCC_CERTIFICATE = "uscc_certificate", _("组织机构代码证或统一社会信用代码证")
    HEAD_ID_COPY = "head_id_copy", _("单位负责人身份证复印件")
