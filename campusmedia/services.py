"""Every write to the registry goes through these functions.

Views, the API, the admin, imports and management commands call them; each validates, locks what
it changes, saves, and writes the account history and the audit log in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, cast

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from campusmedia.auditlog import audit_record
from campusmedia.choices import (
    AccountStatus,
    PersonalField,
    Role,
    TeamRole,
    Tier,
    UnitDuty,
)
from campusmedia.events import role_ended
from campusmedia.masking import mask_email, mask_id_number, mask_mobile
from campusmedia.models import (
    AccountHistory,
    MediaAccount,
    Person,
    RoleAssignment,
    TeamMember,
    Unit,
    UnitGroupObjectPermission,
    UnitRoleGroup,
    User,
)
from campusmedia.models.audit import AuditAction

ERR_ROLE_NEEDS_PROPAGANDA = "角色：宣传部角色只能在党委宣传部任职。"
ERR_ROLE_NEEDS_LEAGUE = "角色：团委审批人只能在校团委任职。"
ERR_ROLE_ALREADY_HELD = "角色：%(person)s 已在%(unit)s担任%(role)s。"
ERR_ROLE_ALREADY_ENDED = "终止日期：该任职已于 %(date)s 终止。"
ERR_REVEAL_REASON = "查看原因：请写明查看完整信息的原因（至少 4 个字）。"
ERR_PERSON_NOT_ON_TEAM = "管理队伍：%(person)s 不在该账号的现任管理队伍中。"


# --- Object permissions on units (the routing of access; see permissions.py) -----------------


def _unit_roles(unit: Unit) -> list[str]:
    """The roles whose groups receive rights on the units a unit governs."""
    roles: list[str] = [Role.SECRETARY, Role.HEAD]
    if unit.duty == UnitDuty.YOUTH_LEAGUE:
        roles.append(Role.LEAGUE_APPROVER)
    return roles


def _codename(role: str, *, own: bool, target: Unit) -> str | None:
    """What a role of a governing unit may do on a governed unit (None: nothing).

    The secretary keeps the accounts; the head signs for tier-2 units and for the tier-3 units
    below them (DOMAIN.md section 2: tier 3 is approved by the college, the parent unit or the
    Youth League); a tier-3 unit's own head only reads. The Youth League approver signs for the
    school-level student organisations, not for the League's own accounts (its head does).
    """
    if role == Role.SECRETARY:
        return "manage_unit"
    if role == Role.LEAGUE_APPROVER:
        return None if own else "sign_unit"
    if not own or target.tier == Tier.TWO:
        return "sign_unit"
    return "view_unit"


def _ensure_groups(
    pairs: set[tuple[int, str]], codes: dict[int, str]
) -> dict[tuple[int, str], int]:
    """Group ids for (unit id, role) pairs, creating the missing groups in bulk."""
    found = {
        (unit_id, role): group_id
        for unit_id, role, group_id in UnitRoleGroup.objects.filter(
            unit_id__in={unit_id for unit_id, _ in pairs}
        ).values_list("unit_id", "role", "group_id")
    }
    missing = [pair for pair in pairs if pair not in found]
    if missing:
        groups = Group.objects.bulk_create(
            [Group(name=f"unit:{codes[unit_id]}:{role}") for unit_id, role in missing]
        )
        if any(group.pk is None for group in groups):  # backends without RETURNING
            by_name = dict(
                Group.objects.filter(name__in=[g.name for g in groups]).values_list("name", "pk")
            )
            for group in groups:
                group.pk = by_name[group.name]
        UnitRoleGroup.objects.bulk_create(
            [
                UnitRoleGroup(unit_id=unit_id, role=role, group_id=group.pk)
                for (unit_id, role), group in zip(missing, groups, strict=True)
            ]
        )
        found.update({pair: group.pk for pair, group in zip(missing, groups, strict=True)})
    return found


def unit_role_group(*, unit: Unit, role: str) -> Group:
    """The auth group of ``role`` in ``unit``."""
    group_id = _ensure_groups({(unit.pk, role)}, {unit.pk: unit.code})[(unit.pk, role)]
    return Group.objects.get(pk=group_id)


@transaction.atomic
def unit_permissions_sync(*, unit_ids: Iterable[int] | None = None) -> int:
    """Make the guardian rows on the given units (and their descendants) match the rules.

    Called when a unit is created or moved. Returns the number of rows written or removed.
    """
    units = {u.pk: u for u in Unit.objects.only("id", "code", "kind", "duty", "parent_id")}
    for unit in units.values():  # link parents in memory: no query per chain
        unit.parent = units.get(unit.parent_id) if unit.parent_id else None
    if unit_ids is None:
        targets = set(units)
    else:
        targets = set(unit_ids)
        children: dict[int, list[int]] = {}
        for unit in units.values():
            if unit.parent_id:
                children.setdefault(unit.parent_id, []).append(unit.pk)
        stack = list(targets)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in targets:
                    targets.add(child)
                    stack.append(child)

    wanted: set[tuple[int, str, int, str]] = set()  # (governing unit, role, target unit, codename)
    for target_id in targets:
        target = units[target_id]
        for governing in target.chain():
            for role in _unit_roles(governing):
                codename = _codename(role, own=governing.pk == target.pk, target=target)
                if codename is not None:
                    wanted.add((governing.pk, role, target.pk, codename))

    groups = _ensure_groups(
        {(g, r) for g, r, _, _ in wanted}, {u.pk: u.code for u in units.values()}
    )
    content_type = ContentType.objects.get_for_model(Unit)
    perm_ids = dict(
        Permission.objects.filter(
            content_type=content_type, codename__in=["view_unit", "manage_unit", "sign_unit"]
        ).values_list("codename", "pk")
    )
    desired = {(groups[(g, r)], perm_ids[c], t) for g, r, t, c in wanted}
    existing = {
        (group_id, perm_id, unit_id): row_id
        for row_id, group_id, perm_id, unit_id in UnitGroupObjectPermission.objects.filter(
            content_object_id__in=targets
        ).values_list("pk", "group_id", "permission_id", "content_object_id")
    }
    stale = [row_id for key, row_id in existing.items() if key not in desired]
    if stale:
        UnitGroupObjectPermission.objects.filter(pk__in=stale).delete()
    new = [
        UnitGroupObjectPermission(group_id=g, permission_id=p, content_object_id=t)
        for g, p, t in desired
        if (g, p, t) not in existing
    ]
    UnitGroupObjectPermission.objects.bulk_create(new, batch_size=2000)
    return len(stale) + len(new)


# --- Units ---------------------------------------------------------------------------------


@transaction.atomic
def unit_create(*, actor: User | None, request: HttpRequest | None = None, **fields: Any) -> Unit:
    unit = Unit(**fields)
    unit.full_clean()
    unit.save()
    unit_permissions_sync(unit_ids=[unit.pk])
    audit_record(
        action=AuditAction.UNIT_CHANGED,
        actor=actor,
        request=request,
        obj=unit,
        detail={"created": True},
    )
    return unit


@transaction.atomic
def unit_update(
    *, unit: Unit, actor: User | None, request: HttpRequest | None = None, **fields: Any
) -> Unit:
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    moved = any(
        name in fields and fields[name] != getattr(unit, name)
        for name in ("parent", "kind", "duty")
    )
    changed = [name for name, value in fields.items() if getattr(unit, name) != value]
    for name, value in fields.items():
        setattr(unit, name, value)
    unit.full_clean()
    unit.save()
    if moved:
        unit_permissions_sync(unit_ids=[unit.pk])
    audit_record(
        action=AuditAction.UNIT_CHANGED,
        actor=actor,
        request=request,
        obj=unit,
        detail={"fields": changed},
    )
    return unit


# --- Roles and people ----------------------------------------------------------------------


def _check_role_fits_unit(role: str, unit: Unit) -> None:
    if (
        role in (Role.PROPAGANDA_REVIEWER, Role.PROPAGANDA_HEAD)
        and unit.duty != UnitDuty.PROPAGANDA
    ):
        raise ValidationError({"role": _(ERR_ROLE_NEEDS_PROPAGANDA)})
    if role == Role.LEAGUE_APPROVER and unit.duty != UnitDuty.YOUTH_LEAGUE:
        raise ValidationError({"role": _(ERR_ROLE_NEEDS_LEAGUE)})


@transaction.atomic
def role_assign(
    *,
    person: Person,
    unit: Unit,
    role: str,
    actor: User | None,
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> RoleAssignment:
    """Give ``person`` ``role`` in ``unit``. Access follows on the next request."""
    _check_role_fits_unit(role, unit)
    Person.objects.select_for_update().filter(pk=person.pk).first()
    if (
        RoleAssignment.objects.active(starts_on)
        .filter(person=person, unit=unit, role=role)
        .exists()
    ):
        raise ValidationError(
            {
                "role": _(ERR_ROLE_ALREADY_HELD)
                % {"person": person, "unit": unit, "role": Role(role).label}
            }
        )
    assignment = RoleAssignment(
        person=person,
        unit=unit,
        role=role,
        group=unit_role_group(unit=unit, role=role),
        starts_on=starts_on or timezone.localdate(),
        ends_on=ends_on,
    )
    assignment.full_clean()
    assignment.save()
    audit_record(
        action=AuditAction.ROLE_ASSIGNED,
        actor=actor,
        request=request,
        obj=person,
        detail={"unit": unit.code, "role": role, "starts_on": str(assignment.starts_on)},
    )
    return assignment


@transaction.atomic
def role_end(
    *,
    assignment: RoleAssignment,
    actor: User | None,
    ends_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> RoleAssignment:
    """End a role: from ``ends_on`` (default today) the person no longer acts in it."""
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    day = ends_on or timezone.localdate()
    if assignment.ends_on is not None and assignment.ends_on <= day:
        raise ValidationError({"ends_on": _(ERR_ROLE_ALREADY_ENDED) % {"date": assignment.ends_on}})
    assignment.ends_on = max(day, assignment.starts_on)
    assignment.full_clean()
    assignment.save(update_fields=["ends_on"])
    audit_record(
        action=AuditAction.ROLE_ENDED,
        actor=actor,
        request=request,
        obj=assignment.person,
        detail={
            "unit": assignment.unit.code,
            "role": assignment.role,
            "ends_on": str(assignment.ends_on),
        },
    )
    # Other parts of the system react (the requests' 3-day rule when the person is on a team).
    role_ended.send(sender=RoleAssignment, assignment=assignment, actor=actor, request=request)
    return assignment


@transaction.atomic
def person_move(
    *,
    person: Person,
    unit: Unit,
    actor: User | None,
    roles: Iterable[str] | None = None,
    request: HttpRequest | None = None,
) -> Person:
    """Move a person to another unit today: their current unit roles end, ``roles`` (by default
    the same unit roles they held) start in the new unit, and access follows at once."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    today = timezone.localdate()
    current = list(
        RoleAssignment.objects.active(today).filter(person=person).select_related("unit")
    )
    moving = [a for a in current if a.role in (Role.SECRETARY, Role.HEAD)]
    new_roles = list(roles) if roles is not None else sorted({a.role for a in moving})
    previous_unit = person.unit
    for assignment in moving:
        role_end(assignment=assignment, actor=actor, ends_on=today, request=request)
    person.unit = unit
    person.save(update_fields=["unit", "updated_at"])
    for role in new_roles:
        role_assign(
            person=person, unit=unit, role=role, actor=actor, starts_on=today, request=request
        )
    audit_record(
        action=AuditAction.PERSON_MOVED,
        actor=actor,
        request=request,
        obj=person,
        detail={
            "from": previous_unit.code if previous_unit else None,
            "to": unit.code,
            "roles": new_roles,
        },
    )
    return person


_PERSON_FIELDS = (
    "name",
    "staff_no",
    "unit",
    "title",
    "office_phone",
    "mobile",
    "email",
    "wechat_id",
    "id_number",
    "is_student",
    "expected_end",
    "user",
)


@transaction.atomic
def person_create(
    *, actor: User | None, request: HttpRequest | None = None, **fields: Any
) -> Person:
    person = Person(**fields)
    person.full_clean()
    person.save()
    audit_record(
        action=AuditAction.PERSON_CHANGED,
        actor=actor,
        request=request,
        obj=person,
        detail={"created": True},
    )
    return person


@transaction.atomic
def person_update(
    *, person: Person, actor: User | None, request: HttpRequest | None = None, **fields: Any
) -> Person:
    person = Person.objects.select_for_update().get(pk=person.pk)
    changed = [name for name, value in fields.items() if getattr(person, name) != value]
    for name, value in fields.items():
        setattr(person, name, value)
    person.full_clean()
    person.save()
    # Field names only: the values may be personal data.
    audit_record(
        action=AuditAction.PERSON_CHANGED,
        actor=actor,
        request=request,
        obj=person,
        detail={"fields": changed},
    )
    return person


def person_reveal(
    *,
    person: Person,
    field: str,
    reason: str,
    actor: User,
    request: HttpRequest | None = None,
) -> str:
    """Return one personal field in full and log who saw it and why (the value is not logged).

    The caller has already asked ``permissions.authorize(..., Action.REVEAL)``.
    """
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError({"reason": _(ERR_REVEAL_REASON)})
    field = PersonalField(field)
    audit_record(
        action=AuditAction.REVEAL,
        actor=actor,
        request=request,
        obj=person,
        detail={"field": field.value, "reason": reason[:200]},
    )
    return str(getattr(person, field.value))


# --- Media accounts and their history ------------------------------------------------------

_MASKERS = {"mobile": mask_mobile, "email": mask_email, "id_number": mask_id_number}


def _field(account: MediaAccount, name: str) -> Field[Any, Any]:
    return cast("Field[Any, Any]", account._meta.get_field(name))


def _label(account: MediaAccount, name: str) -> str:
    return str(_field(account, name).verbose_name)


def _display(account: MediaAccount, name: str) -> str:
    value = getattr(account, name)
    field = _field(account, name)
    if field.choices and not isinstance(value, list):
        return str(dict(field.flatchoices).get(value, value))
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _history(
    *,
    account: MediaAccount,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    source: str,
    note: str = "",
) -> AccountHistory:
    return AccountHistory.objects.create(
        account=account,
        actor=actor,
        actor_name=(actor.get_full_name() or actor.get_username()) if actor is not None else "",
        action=action,
        changes=changes,
        source=source,
        note=note,
    )


@transaction.atomic
def account_create(
    *,
    actor: User | None,
    source: str,
    request: HttpRequest | None = None,
    **fields: Any,
) -> MediaAccount:
    account = MediaAccount(**fields)
    account.full_clean()
    account.save()
    changes = {
        name: {
            "label": _label(account, name),
            "old": "",
            "new": _display(account, name),
        }
        for name in fields
        if _display(account, name)
    }
    _history(
        account=account,
        actor=actor,
        action=AccountHistory.Action.CREATED,
        changes=changes,
        source=source,
    )
    audit_record(
        action=AuditAction.ACCOUNT_CHANGED,
        actor=actor,
        request=request,
        obj=account,
        detail={"created": True, "source": source},
    )
    return account


@transaction.atomic
def account_update(
    *,
    account: MediaAccount,
    actor: User | None,
    source: str,
    request: HttpRequest | None = None,
    note: str = "",
    **fields: Any,
) -> MediaAccount:
    """Change an account's fields; the history keeps old and new values and the source."""
    account = MediaAccount.objects.select_for_update().get(pk=account.pk)
    before = {name: _display(account, name) for name in fields}
    for name, value in fields.items():
        setattr(account, name, value)
    if fields.get("status") == AccountStatus.CLOSED and not account.closed_on:
        account.closed_on = timezone.localdate()
    account.full_clean()
    changes = {
        name: {
            "label": _label(account, name),
            "old": before[name],
            "new": _display(account, name),
        }
        for name in fields
        if before[name] != _display(account, name)
    }
    if not changes:
        return account
    account.save()
    action = (
        AccountHistory.Action.STATUS
        if set(changes) == {"status"}
        else AccountHistory.Action.CHANGED
    )
    _history(account=account, actor=actor, action=action, changes=changes, source=source, note=note)
    audit_record(
        action=AuditAction.ACCOUNT_CHANGED,
        actor=actor,
        request=request,
        obj=account,
        detail={"fields": sorted(changes), "source": source},
    )
    return account


@transaction.atomic
def team_member_add(
    *,
    account: MediaAccount,
    person: Person,
    role: str,
    actor: User | None,
    source: str,
    starts_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> TeamMember:
    """Put a person on an account's team. A new supervising leader replaces the current one."""
    account = MediaAccount.objects.select_for_update().get(pk=account.pk)
    day = starts_on or timezone.localdate()
    changes: dict[str, Any] = {}
    if role == TeamRole.SUPERVISOR:
        for previous in (
            account.team.current().filter(role=TeamRole.SUPERVISOR).select_related("person")
        ):
            previous.ends_on = day
            previous.save(update_fields=["ends_on"])
            changes["supervisor_ended"] = {
                "label": _("原主要负责人"),
                "old": previous.person.name,
                "new": "",
            }
    member = TeamMember(account=account, person=person, role=role, starts_on=day)
    member.full_clean()
    member.save()
    changes[role] = {"label": str(TeamRole(role).label), "old": "", "new": person.name}
    _history(
        account=account,
        actor=actor,
        action=AccountHistory.Action.TEAM,
        changes=changes,
        source=source,
    )
    audit_record(
        action=AuditAction.TEAM_CHANGED,
        actor=actor,
        request=request,
        obj=account,
        detail={"added": person.pk, "role": role, "source": source},
    )
    return member


@transaction.atomic
def team_member_end(
    *,
    member: TeamMember,
    actor: User | None,
    source: str,
    ends_on: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> TeamMember:
    member = (
        TeamMember.objects.select_for_update().select_related("account", "person").get(pk=member.pk)
    )
    if member.ends_on is not None:
        raise ValidationError({"person": _(ERR_PERSON_NOT_ON_TEAM) % {"person": member.person}})
    member.ends_on = ends_on or timezone.localdate()
    member.save(update_fields=["ends_on"])
    _history(
        account=member.account,
        actor=actor,
        action=AccountHistory.Action.TEAM,
        source=source,
        changes={
            member.role: {"label": member.get_role_display(), "old": member.person.name, "new": ""}
        },
    )
    audit_record(
        action=AuditAction.TEAM_CHANGED,
        actor=actor,
        request=request,
        obj=member.account,
        detail={"ended": member.person_id, "role": member.role, "source": source},
    )
    return member
