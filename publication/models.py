"""Public list editions (公开名录, DOMAIN.md section 8).

An edition is what the propaganda department published on a day: a numbered snapshot of the
public fields of every active account. Entries keep their own copy of those fields, so an edition
reads the same years later whatever happened to the accounts since; they never hold personal data
(no team, no contacts).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import Tier
from campusmedia.models import MediaAccount


class Edition(models.Model):
    """One published edition of the list, numbered 1, 2, 3 … without gaps."""

    number = models.PositiveIntegerField(_("期号"), unique=True)
    published_on = models.DateField(_("发布日期"), default=timezone.localdate)
    published_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("公开名录")
        verbose_name_plural = _("公开名录")

    def __str__(self) -> str:
        return str(_("第%(number)s期") % {"number": self.number})

    def get_absolute_url(self) -> str:
        return reverse("publication:edition", args=[self.number])


class EditionEntry(models.Model):
    """One account as an edition lists it: the public fields, copied when it was published."""

    edition = models.ForeignKey(
        Edition, verbose_name=_("公开名录"), on_delete=models.CASCADE, related_name="entries"
    )
    # The list's order (tier, unit, name), fixed when the edition was published.
    position = models.PositiveIntegerField(_("序号"))
    account = models.ForeignKey(
        MediaAccount,
        verbose_name=_("账号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="edition_entries",
    )
    account_name = models.CharField(_("账号名称"), max_length=100)
    platform_name = models.CharField(_("平台"), max_length=40)
    account_type = models.CharField(_("账号类型"), max_length=40, blank=True)
    # The account's id on its platform (``MediaAccount.account_id``).
    account_code = models.CharField(_("账号ID"), max_length=100, blank=True)
    unit_name = models.CharField(_("主办单位"), max_length=100)
    tier = models.PositiveSmallIntegerField(_("级别"), choices=Tier.choices)
    approval_number = models.CharField(_("审批号"), max_length=32, blank=True)
    opened_on = models.DateField(_("开通日期"), null=True, blank=True)
    url = models.URLField(_("主页链接"), blank=True)

    class Meta:
        ordering = ["edition", "position"]
        verbose_name = _("名录条目")
        verbose_name_plural = _("名录条目")
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "position"], name="edition_entry_position_once"
            ),
            models.UniqueConstraint(
                fields=["edition", "account"],
                condition=models.Q(account__isnull=False),
                name="edition_entry_account_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.edition} · {self.account_name}"


class EditionPdf(models.Model):
    """The printed list of an edition, kept once rendered: an edition never changes, and laying
    out thousands of rows takes seconds, which a public download must not cost each time."""

    edition = models.OneToOneField(
        Edition, verbose_name=_("公开名录"), on_delete=models.CASCADE, related_name="pdf"
    )
    content = models.BinaryField(_("PDF"))
    rendered_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("公开名录PDF")
        verbose_name_plural = _("公开名录PDF")

    def __str__(self) -> str:
        return f"{self.edition} · PDF"
