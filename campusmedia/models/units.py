from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase

from campusmedia.choices import TIER_OF_KIND, Role, UnitDuty, UnitKind
from campusmedia.validators import LandlineValidator, UsccValidator

# Which kinds of parent each kind of unit may hang under (DOMAIN.md section 2).
ALLOWED_PARENT_KINDS: dict[str, frozenset[str]] = {
    UnitKind.SCHOOL: frozenset(),
    UnitKind.FUNCTIONAL: frozenset({UnitKind.SCHOOL}),
    UnitKind.DIRECT: frozenset({UnitKind.SCHOOL}),
    UnitKind.COLLEGE: frozenset({UnitKind.SCHOOL}),
    UnitKind.SUB_UNIT: frozenset({UnitKind.FUNCTIONAL, UnitKind.DIRECT, UnitKind.COLLEGE}),
    UnitKind.COLLEGE_STUDENT_ORG: frozenset({UnitKind.COLLEGE}),
    # School-level student organisations sit under the Youth League (checked in clean()).
    UnitKind.SCHOOL_STUDENT_ORG: frozenset({UnitKind.FUNCTIONAL}),
}


class Unit(models.Model):
    """A node of the university's organisation tree."""

    code = models.SlugField(_("单位代码"), max_length=40, unique=True)
    name = models.CharField(_("单位名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    kind = models.CharField(_("单位类别"), max_length=24, choices=UnitKind.choices)
    duty = models.CharField(
        _("特殊职责"), max_length=16, choices=UnitDuty.choices, blank=True, default=UnitDuty.NONE
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, blank=True, validators=[UsccValidator()]
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(
        _("办公电话"), max_length=32, blank=True, validators=[LandlineValidator()]
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        permissions = [
            ("manage_unit", _("维护单位的新媒体账号并提交申请")),
            ("sign_unit", _("为单位的申请和年检表签署意见")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["duty"], condition=~models.Q(duty=""), name="unit_one_unit_per_duty"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("unit_detail", args=[self.pk])

    @property
    def tier(self) -> int:
        return TIER_OF_KIND[self.kind]

    def clean(self) -> None:
        allowed = ALLOWED_PARENT_KINDS.get(self.kind, frozenset())
        if self.kind == UnitKind.SCHOOL:
            if self.parent_id is not None:
                raise ValidationError({"parent": _("学校是组织树的根，不能有上级单位。")})
            return
        if self.parent is None:
            raise ValidationError({"parent": _("请选择上级单位。")})
        if self.parent.kind not in allowed:
            raise ValidationError(
                {
                    "parent": _("“%(kind)s”不能隶属于“%(parent)s”。")
                    % {"kind": self.get_kind_display(), "parent": self.parent.get_kind_display()}
                }
            )
        if self.kind == UnitKind.SCHOOL_STUDENT_ORG and self.parent.duty != UnitDuty.YOUTH_LEAGUE:
            raise ValidationError({"parent": _("校级学生组织应隶属于校团委。")})

    def chain(self) -> list[Unit]:
        """This unit and its ancestors below the school, nearest first.

        The roles of every unit in the chain reach this unit: a college reaches its sub-units and
        student organisations, the Youth League the school-level student organisations.
        """
        units: list[Unit] = []
        node: Unit | None = self
        while node is not None and node.kind != UnitKind.SCHOOL:
            units.append(node)
            node = node.parent
        return units


class UnitRoleGroup(models.Model):
    """The one auth group of a role in a unit; object permissions are granted to these groups.

    Who is in the role comes from RoleAssignment (with dates); the group is the handle that
    django-guardian's permission rows point to.
    """

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="role_groups")
    role = models.CharField(max_length=24, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="unit_role")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "role"], name="unit_role_group_unique"),
        ]
        verbose_name = _("单位角色组")
        verbose_name_plural = _("单位角色组")

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_role_display()}"


class UnitGroupObjectPermission(GroupObjectPermissionBase):
    """django-guardian's direct foreign-key table for permissions on units."""

    content_object = models.ForeignKey(Unit, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("单位对象权限")
        verbose_name_plural = _("单位对象权限")
        indexes = [models.Index(fields=["group", "permission"])]
