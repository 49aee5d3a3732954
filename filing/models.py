"""Filing with the municipal network office (DOMAIN.md section 7).

A ``Batch`` holds the accounts that need filing when it is started, one ``BatchItem`` each with
the city form's data frozen (encrypted: it holds personal data) and fingerprinted. Generating it
writes one ZIP per office (``BatchPacket``, encrypted at rest). The office's receipt is recorded
per item; a filed receipt updates the account's ``AccountFiling``, the record of what the office
holds, which is what the next batch compares against.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from approvals.storage import get_private_storage
from campusmedia.crypto import EncryptedCharField
from campusmedia.models import MediaAccount, Office, Unit
from filing.choices import BatchState, ItemKind, MaterialKind, Receipt


def _private_name(instance: models.Model, filename: str) -> str:
    import secrets

    folder = instance._meta.model_name
    return f"filing/{folder}/{secrets.token_hex(16)}.bin"


class UnitMaterial(models.Model):
    """A paper the office asks for (000/001/003): the unit's code certificate or the unit head's
    ID copy. The file is encrypted before it is written (see ``filing.vault``)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="filing_materials"
    )
    kind = models.CharField(_("材料类型"), max_length=24, choices=MaterialKind.choices)
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
        ordering = ["unit", "kind"]
        verbose_name = _("报备材料")
        verbose_name_plural = _("报备材料")
        constraints = [
            # A new upload replaces the old one (the service deletes the old row and file).
            models.UniqueConstraint(fields=["unit", "kind"], name="material_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_kind_display()}"


class Batch(models.Model):
    """One forwarding to the municipal office: 2026 年第 3 批."""

    year = models.PositiveSmallIntegerField(_("年度"))
    seq = models.PositiveSmallIntegerField(_("批次"))
    city = models.SlugField(_("城市"), max_length=32)
    # Changed only by filing.services, under a row lock: draft → generating → ready → sent → done.
    state = models.CharField(
        _("状态"), max_length=16, choices=BatchState.choices, default=BatchState.DRAFT
    )
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    sent_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Progress of the generation task, read by the page's progress bar.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-year", "-seq"]
        verbose_name = _("报备批次")
        verbose_name_plural = _("报备批次")
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], name="batch_unique_number"),
        ]

    def __str__(self) -> str:
        return _("%(year)s年第%(seq)s批") % {"year": self.year, "seq": self.seq}

    def get_absolute_url(self) -> str:
        return reverse("filing:batch_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.state not in (BatchState.DRAFT, BatchState.GENERATING) else 0
        return min(100, self.progress_done * 100 // self.progress_total)


class BatchPacket(models.Model):
    """What goes to one office: the ZIP of forms, merged PDF, summary, materials and letter."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="packets")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="packets")
    file = models.FileField(
        storage=get_private_storage,  # type: ignore[arg-type]
        upload_to=_private_name,
        blank=True,
    )
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    sent_to = models.CharField(_("报送邮箱"), max_length=254, blank=True)

    class Meta:
        ordering = ["batch", "office__sort_order", "office_id"]
        verbose_name = _("报送包")
        verbose_name_plural = _("报送包")
        constraints = [
            models.UniqueConstraint(fields=["batch", "office"], name="packet_one_per_office"),
        ]

    def __str__(self) -> str:
        return f"{self.batch} · {self.office}"


class BatchItem(models.Model):
    """One account in a batch, with the city form's data as it was when the batch started."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(
        MediaAccount, verbose_name=_("账号"), on_delete=models.PROTECT, related_name="filings"
    )
    office = models.ForeignKey(Office, verbose_name=_("备案地址"), on_delete=models.PROTECT)
    kind = models.CharField(_("事项"), max_length=8, choices=ItemKind.choices)
    # HMAC of the canonical form data: equal data, equal fingerprint (campusmedia.crypto).
    fingerprint = models.CharField(max_length=64)
    # JSON of the form's fields, encrypted: the city form may ask for mobiles and ID numbers.
    data = EncryptedCharField(_("报备内容"))
    account_name = models.CharField(_("账号名称"), max_length=100)
    unit_name = models.CharField(_("主办单位"), max_length=100)
    receipt = models.CharField(
        _("回执"), max_length=8, choices=Receipt.choices, default=Receipt.PENDING
    )
    receipt_note = models.CharField(_("退回原因"), max_length=500, blank=True)
    receipt_at = models.DateTimeField(_("回执时间"), null=True, blank=True)
    receipt_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["batch", "office__sort_order", "office_id", "unit_name", "account_name", "id"]
        verbose_name = _("报备事项")
        verbose_name_plural = _("报备事项")
        constraints = [
            models.UniqueConstraint(fields=["batch", "account"], name="item_once_per_batch"),
            # An account waits in at most one batch with the same data.
            models.UniqueConstraint(
                fields=["account", "fingerprint"],
                condition=Q(receipt="pending"),
                name="item_same_data_pending_once",
            ),
        ]
        indexes = [models.Index(fields=["account", "receipt"])]

    def __str__(self) -> str:
        return f"{self.batch} · {self.account_name}"


class AccountFiling(models.Model):
    """What the office holds for an account, and since when the system knows it is unchanged.

    ``checked_at``: the account's data as of this moment equals what was filed (or is on its way
    in a batch). A history entry after it means the account may need filing again.
    """

    account = models.OneToOneField(
        MediaAccount, on_delete=models.CASCADE, related_name="municipal_filing"
    )
    fingerprint = models.CharField(max_length=64)
    filed_closed = models.BooleanField(_("已注销备案"), default=False)
    filed_at = models.DateTimeField(_("备案时间"))
    item = models.ForeignKey(BatchItem, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = _("账号备案状态")
        verbose_name_plural = _("账号备案状态")

    def __str__(self) -> str:
        return f"{self.account} · {self.filed_at:%Y-%m-%d}"
