from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import Role
from campusmedia.crypto import EncryptedCharField, blind_index
from campusmedia.masking import mask_email, mask_id_number, mask_mobile
from campusmedia.models.units import Unit
from campusmedia.validators import (
    EmailAddressValidator,
    IdNumberValidator,
    LandlineValidator,
    MobileValidator,
    normalize_id_number,
    normalize_mobile,
)


class Person(models.Model):
    """Someone named on a form: a secretary, a head, a supervising leader, an administrator.

    A person may have no login. Mobile, e-mail and ID number are stored encrypted and shown
    masked; uniqueness of the ID number goes through a keyed HMAC.
    """

    name = models.CharField(_("姓名"), max_length=50)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    staff_no = models.CharField(
        _("工号/学号"),
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        help_text=_("统一身份认证登录时按工号匹配。"),
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("所在单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    title = models.CharField(_("职务"), max_length=50, blank=True)
    office_phone = models.CharField(
        _("办公电话"), max_length=32, blank=True, validators=[LandlineValidator()]
    )
    mobile = EncryptedCharField(_("手机号码"), blank=True, validators=[MobileValidator()])
    email = EncryptedCharField(_("电子邮箱"), blank=True, validators=[EmailAddressValidator()])
    wechat_id = models.CharField(_("微信号"), max_length=50, blank=True)
    id_number = EncryptedCharField(_("身份证号"), blank=True, validators=[IdNumberValidator()])
    id_number_hmac = models.CharField(max_length=64, unique=True, null=True, editable=False)
    is_student = models.BooleanField(_("学生"), default=False)
    expected_end = models.DateField(
        _("预计离任日期"), null=True, blank=True, help_text=_("学生管理员填写预计毕业日期。")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.id_number:
            self.id_number = normalize_id_number(self.id_number)
        self.id_number_hmac = blind_index(self.id_number) if self.id_number else None
        if "update_fields" in kwargs and "id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "id_number_hmac"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("person_detail", args=[self.pk])

    def clean(self) -> None:
        if self.mobile:
            self.mobile = normalize_mobile(self.mobile)
        if self.id_number:
            self.id_number = normalize_id_number(self.id_number)
            taken = Person.objects.filter(id_number_hmac=blind_index(self.id_number))
            if taken.exclude(pk=self.pk).exists():
                raise ValidationError({"id_number": _("身份证号：该号码已登记在其他人员名下。")})

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)

    @property
    def email_masked(self) -> str:
        return mask_email(self.email)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self, on: datetime.date | None = None) -> RoleAssignmentQuerySet:
        day = on or timezone.localdate()
        return self.filter(starts_on__lte=day).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=day))


class RoleAssignment(models.Model):
    """A person holds a role in a unit from ``starts_on`` until the day before ``ends_on``.

    ``ends_on`` is the first day without the role, so a move takes effect on the day it is made.
    """

    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="role_assignments"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="role_assignments", editable=False
    )
    starts_on = models.DateField(_("起始日期"), default=timezone.localdate)
    ends_on = models.DateField(
        _("终止日期"), null=True, blank=True, help_text=_("自该日起不再担任此角色。")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "id"]
        verbose_name = _("角色任职")
        verbose_name_plural = _("角色任职")
        indexes = [models.Index(fields=["person", "ends_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="role_assignment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.unit} · {self.get_role_display()}"

    def is_active(self, on: datetime.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.starts_on <= day and (self.ends_on is None or self.ends_on > day)
