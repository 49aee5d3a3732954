"""Every write to the registry goes through these functions.

Views, the API, the admin, imports and management commands call them; each validates, locks what
it changes, saves, and writes the account history and the audit log in the same transaction.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterable
from typing import Any, cast

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
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
    Platform,
    RoleAssignment,
    TeamMember,
    Unit,
    UnitGroupObjectPermission,
    UnitRoleGroup,
    User,
)
from campusmedia.models.audit import AuditAction
from campusmedia.validators import normalize_mobile

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


# --- Bulk import (the census) ---------------------------------------------------------------


@transaction.atomic
def accounts_import(
    *,
    rows: list[dict[str, Any]],
    actor: User | None,
    source: str,
    dry_run: bool = False,
    validated: bool = False,
) -> dict[str, int]:
    """Create many accounts with their teams at once: what ``account_create``, ``person_create``
    and ``team_member_add`` do row by row, in a few queries. The census import calls it chunk by
    chunk inside its own transaction.

    A row is ``{"line": n, "account": {field: value}, "team": [{"key": "admin1", "label": …,
    "role": …, person fields…}]}`` with ``owner_unit`` and ``platform`` as instances. Every object
    goes through its model's ``full_clean`` (a person or team role repeated with the same values
    is checked once); the foreign keys, the uniqueness of (platform, account id) and the team
    constraints are checked for all rows together, in a few queries instead of one per object.
    When any row is invalid one ValidationError lists every problem (``params``: ``line``, and
    ``field``: a model field name or ``"<team key>.<field>"``) and nothing is written.

    ``dry_run`` only checks (its counts of people do not look for existing ones). ``validated``
    is for rows that passed a dry run and come back as that run left them (the census stages
    them between its check and its import, mobiles normalised): the models' validation does
    not run again; the checks against the registry and the constraints do.

    A team member is the existing person of the owning unit with the same name and mobile when
    there is one, and one new person wherever the rows repeat a name and mobile in a unit.

    Each account gets one "created" history row in ``account_create``'s format whose changes also
    name its first team (one entry per role, as ``team_member_add`` writes them), instead of a
    "team" row per member. No audit row per object: the caller records one IMPORT row.
    """
    errors: list[ValidationError] = []

    def fail(line: int, field: str, messages: Iterable[Any]) -> None:
        for message in messages:
            errors.append(
                ValidationError(
                    str(message).replace("%", "%%"),
                    code="import_row",
                    params={"line": line, "field": field},
                )
            )

    def clean(obj: Any, exclude: list[str]) -> dict[str, list[str]]:
        try:
            obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            return error.message_dict
        return {}

    today = timezone.localdate()
    accounts_in = [row["account"] for row in rows]
    unit_ids = {fields["owner_unit"].pk for fields in accounts_in if fields.get("owner_unit")}
    known_units = set(Unit.objects.filter(pk__in=unit_ids).values_list("pk", flat=True))
    known_platforms = set(
        Platform.objects.filter(
            pk__in={fields["platform"].pk for fields in accounts_in if fields.get("platform")}
        ).values_list("pk", flat=True)
    )
    # (platform, account id) is unique among the rows and against the registry.
    ids_by_platform: dict[int, list[str]] = {}
    for fields in accounts_in:
        if fields.get("platform") and fields.get("account_id"):
            ids_by_platform.setdefault(fields["platform"].pk, []).append(fields["account_id"])
    taken: set[tuple[int, str]] = set()
    for platform_id, wanted in ids_by_platform.items():
        for start in range(0, len(wanted), 500):
            taken.update(
                (platform_id, account_id)
                for account_id in MediaAccount.objects.filter(
                    platform_id=platform_id, account_id__in=wanted[start : start + 500]
                )
                .exclude(account_id="")  # the condition of the unique index, so it is used
                .order_by()
                .values_list("account_id", flat=True)
            )
    # People who may be named again: same unit and name (the mobile is encrypted, so it is
    # compared here rather than in SQL). A dry run does not need them: whether a member is a
    # new person or an existing one changes nothing about the row being valid.
    # Without an index on names each query reads the whole table: few queries, long lists.
    names = sorted({m["name"] for row in rows for m in row.get("team", ()) if m.get("name")})
    existing: dict[tuple[int, str, str], dict[str, Any]] = {}
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: the proxy costs a look-up a value
    db.ensure_connection()
    getlimit = getattr(db.connection, "getlimit", None)
    max_params = (
        getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        if getlimit is not None
        else db.features.max_query_params or 65535
    )
    per_query = max(500, min(5000, max_params - 10))
    for start in range(0, 0 if dry_run else len(names), per_query):
        for known in (
            Person.objects.filter(name__in=names[start : start + per_query])
            .exclude(mobile="")
            .only("id", "unit_id", "name", "mobile")
            .order_by("id")
        ):
            if known.unit_id is not None and known.unit_id in unit_ids:
                found = (known.unit_id, known.name, normalize_mobile(known.mobile))
                existing.setdefault(found, {"id": known.pk, "name": known.name})

    # What is written are records (column values by attribute name); model instances are made
    # only to be validated.
    attnames = {f.name: f.attname for f in MediaAccount._meta.concrete_fields}
    unit_label = MediaAccount._meta.get_field("owner_unit").verbose_name
    platform_label = MediaAccount._meta.get_field("platform").verbose_name
    role_labels = {str(role): str(label) for role, label in TeamRole.choices}
    role_errors: dict[str, dict[str, list[str]]] = {}
    people_checked: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, list[str]]]] = {}
    first_line: dict[tuple[int, str], int] = {}
    new_people: dict[tuple[int, str, str], dict[str, Any]] = {}
    reused: set[int] = set()
    plans: list[tuple[dict[str, Any], dict[str, Any], list[tuple[dict[str, Any], str]]]] = []
    for row in rows:
        line = row["line"]
        fields = row["account"]
        unit, platform = fields.get("owner_unit"), fields.get("platform")
        if unit is None or unit.pk not in known_units:
            fail(line, "owner_unit", [_("%(field)s：请填写已登记的单位。") % {"field": unit_label}])
            unit = None
        if platform is None or platform.pk not in known_platforms:
            fail(
                line, "platform", [_("%(field)s：请填写已登记的平台。") % {"field": platform_label}]
            )
        if not validated:
            account = MediaAccount(**fields)
            foreign = ["platform", "owner_unit", "filing_office"]  # checked above, in bulk
            for field, messages in clean(account, foreign).items():
                fail(line, field, messages)
        record = {
            attnames[name]: value.pk if value is not None and attnames[name] != name else value
            for name, value in fields.items()
        }
        account_id = fields.get("account_id") or ""
        if platform is not None and account_id:
            id_key = (platform.pk, account_id)
            if id_key in taken:
                fail(line, "account_id", [_("账号ID：该平台上已登记了相同的账号ID。")])
            elif id_key in first_line:
                message = _("账号ID：与第 %(line)s 行重复（同一平台上的同一账号ID）。")
                fail(line, "account_id", [message % {"line": first_line[id_key]}])
            else:
                first_line[id_key] = line
        team: list[tuple[dict[str, Any], str]] = []
        named: dict[tuple[tuple[int, str, str], str], str] = {}
        supervisors = 0
        for index, entry in enumerate(row.get("team", ())):
            prefix = f"{entry.get('key') or f'team.{index}'}."
            role = entry["role"]
            values = {k: v for k, v in entry.items() if k not in ("key", "label", "role")}
            if role not in role_errors:
                member = TeamMember(role=role, starts_on=today)
                role_errors[role] = {} if validated else clean(member, ["account", "person"])
            memo = (unit.pk if unit else None, *values.items())
            if memo not in people_checked:
                person = {"unit_id": unit.pk if unit else None, **values}
                problems: dict[str, list[str]] = {}
                if not validated:
                    candidate = Person(unit=unit, **values)
                    problems = clean(candidate, ["unit", "user"])
                    person["mobile"] = candidate.mobile  # normalised by Person.clean()
                people_checked[memo] = (person, problems)
            person, problems = people_checked[memo]
            problems = {**problems, **role_errors[role]}
            for field, messages in problems.items():
                fail(line, prefix + field, messages)
            if role == TeamRole.SUPERVISOR:
                supervisors += 1
                if supervisors > 1:
                    fail(line, prefix + "role", [_("管理队伍：一个账号只能有一位主要负责人。")])
                    continue
            if problems or unit is None:
                continue
            if person.get("mobile"):
                pkey = (unit.pk, person["name"], person["mobile"])
                if (pkey, role) in named:
                    message = _("管理队伍：与%(other)s是同一人，不能在一个账号中重复担任同一职责。")
                    fail(line, prefix + "name", [message % {"other": named[(pkey, role)]}])
                    continue
                named[(pkey, role)] = str(entry.get("label") or prefix.rstrip("."))
                if pkey in existing:
                    person = existing[pkey]
                    reused.add(person["id"])
                else:
                    person = new_people.setdefault(pkey, person)
            else:  # without a mobile nobody can tell two people of the same name apart
                person = dict(person)
                new_people[(unit.pk, person["name"], f"#{line}.{index}")] = person
            team.append((person, role))
        plans.append((record, fields, team))

    if errors:
        raise ValidationError(errors)
    summary = {
        "accounts": len(plans),
        "persons_created": len(new_people),
        "persons_reused": len(reused),
        "team_members": sum(len(team) for _a, _f, team in plans),
    }
    if dry_run:
        return summary

    # Written with the values bulk_create would write (every value through its field's
    # get_db_prep_save: encryption, JSON, dates; plain text, numbers and ids as they are), but
    # without model instances or the per-value work of its SQL compiler: multi-row INSERT …
    # RETURNING id on SQLite, COPY on PostgreSQL. About half bulk_create's time (census.bench).
    now = timezone.now()
    plain_types: tuple[type[Any], ...] = (
        models.CharField,
        models.TextField,
        models.SlugField,
        models.URLField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.BooleanField,
        models.ForeignKey,
    )
    STAMP, AS_IS, DATE, PREPARED = range(4)

    def insert(model: Any, records: list[dict[str, Any]]) -> None:
        """Insert the records and set each one's ``id``."""
        if not records:
            return
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        if not db.features.can_return_rows_from_bulk_insert:
            made = model.objects.bulk_create([model(**r) for r in records], batch_size=500)
            for record, obj in zip(records, made, strict=True):
                record["id"] = obj.pk
            return
        stamped = {f.attname for f in fields if getattr(f, "auto_now", False)}
        stamped |= {f.attname for f in fields if getattr(f, "auto_now_add", False)}
        defaults = {f.attname: f.get_default() for f in fields}
        # How each column's value is prepared: the time of this import, prepared once; as it
        # is; or through the field (None as it is for dates, never for encrypted text).
        kinds = [
            (f, STAMP)
            if f.attname in stamped
            else (f, AS_IS)
            if type(f) in plain_types
            else (f, DATE)
            if isinstance(f, models.DateField)
            else (f, PREPARED)
            for f in fields
        ]
        stamp = {f.attname: f.get_db_prep_save(now, db) for f in fields if f.attname in stamped}
        quote = db.ops.quote_name
        head = "INSERT INTO {} ({}) VALUES ".format(
            quote(meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        tail = f" RETURNING {quote(meta.pk.column)}"

        def prepared(record: dict[str, Any]) -> list[Any]:
            params: list[Any] = []
            for field, kind in kinds:
                name = field.attname
                if kind == STAMP:
                    params.append(stamp[name])
                    continue
                value = record.get(name, defaults[name])
                if value is None and kind != PREPARED:
                    params.append(None)
                elif kind == AS_IS and type(value) in (str, int, bool):
                    params.append(value)
                else:
                    params.append(field.get_db_prep_save(value, db))
            return params

        with db.cursor() as cursor:
            if db.vendor == "postgresql":
                # COPY, the fastest way in: the ids are taken from the table's sequence first,
                # since COPY returns nothing.
                table, pk = meta.db_table, meta.pk.column
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, pk, len(records)],
                )
                ids = [row[0] for row in cursor.fetchall()]
                columns = ", ".join(quote(c) for c in [pk, *(f.column for f in fields)])
                with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
                    for pk_value, record in zip(ids, records, strict=True):
                        copy.write_row([pk_value, *prepared(record)])
                        record["id"] = pk_value
                return
            batch = max(1, min(1000, max_params // len(fields)))
            for start in range(0, len(records), batch):
                chunk = records[start : start + batch]
                params = [value for record in chunk for value in prepared(record)]
                cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
                for record, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    record["id"] = pk

    insert(MediaAccount, [record for record, _f, _t in plans])
    insert(Person, list(new_people.values()))
    actor_name = (actor.get_full_name() or actor.get_username()) if actor is not None else ""
    # account_create's "created" row: each given field's label and ``_display`` value; the
    # labels and choice names are looked up once, not once a row.
    labels: dict[str, str] = {}
    named_choices: dict[str, dict[Any, str] | None] = {}
    members: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for record, fields, team in plans:
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in labels:
                model_field = cast("Field[Any, Any]", MediaAccount._meta.get_field(name))
                labels[name] = str(model_field.verbose_name)
                named_choices[name] = (
                    {k: str(v) for k, v in model_field.flatchoices} if model_field.choices else None
                )
            if isinstance(value, list):
                text = "、".join(str(v) for v in value)
            elif value is None:
                text = ""
            elif (choice_names := named_choices[name]) is not None:
                text = choice_names.get(value, str(value))
            else:
                text = str(value)
            if text:
                changes[name] = {"label": labels[name], "old": "", "new": text}
        for person, role in team:
            members.append(
                {
                    "account_id": record["id"],
                    "person_id": person["id"],
                    "role": role,
                    "starts_on": today,
                }
            )
            if role in changes:
                changes[role]["new"] += "、" + person["name"]
            else:
                changes[role] = {"label": role_labels[role], "old": "", "new": person["name"]}
        history.append(
            {
                "account_id": record["id"],
                "actor_id": actor.pk if actor is not None else None,
                "actor_name": actor_name,
                "action": AccountHistory.Action.CREATED.value,
                "changes": changes,
                "source": source,
                "at": now,
            }
        )
    insert(TeamMember, members)
    insert(AccountHistory, history)
    return summary
