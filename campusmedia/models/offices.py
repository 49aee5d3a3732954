from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campusmedia.validators import EmailAddressValidator


class OfficeQuerySet(models.QuerySet["Office"]):
    def of_city(self, city: str) -> OfficeQuerySet:
        return self.filter(city=city, is_active=True)


class Office(models.Model):
    """A municipal network office (市网信办) or one of its district offices (备案地址).

    The school files its accounts with them (DOMAIN.md section 7); the department keeps these rows
    up to date. ``parent`` is empty for the municipal office of a city, which serves every account
    that names no district office.
    """

    city = models.SlugField(
        _("城市"), max_length=32, help_text=_("报备所用城市表格的代码，如 binzhou。")
    )
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级网信部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="districts",
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    # Free text: the notices print numbers with and without area codes ("8827067").
    duty_phone = models.CharField(_("值班电话"), max_length=40, blank=True)
    email = models.CharField(
        _("电子邮箱"), max_length=254, blank=True, validators=[EmailAddressValidator()]
    )
    contacts = models.CharField(_("联系人"), max_length=100, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("有效"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OfficeQuerySet.as_manager()

    class Meta:
        ordering = ["city", "sort_order", "id"]
        verbose_name = _("网信部门")
        verbose_name_plural = _("网信部门")
        constraints = [
            models.UniqueConstraint(fields=["city", "name"], name="office_unique_name"),
            models.UniqueConstraint(
                fields=["city"],
                condition=Q(parent__isnull=True, is_active=True),
                name="office_one_municipal_per_city",
                violation_error_message=_("每个城市只能有一个市级网信部门。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_municipal(self) -> bool:
        return self.parent_id is None
