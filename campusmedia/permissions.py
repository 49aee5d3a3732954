"""Access to the registry, in one place. Every page, API endpoint and action asks here first.

Where access comes from:

* A person's *current* role assignments (RoleAssignment with dates) name the unit role groups
  they act through. Nothing is cached on the user object, so ending or moving a role changes
  what they see on their next request.
* django-guardian rows (UnitGroupObjectPermission) grant those groups ``view_unit``,
  ``manage_unit`` or ``sign_unit`` on units: a college's groups on the college, its sub-units and
  its student organisations; the Youth League's on the school-level student organisations. An
  account, a request or a review form inherits the access of its owning unit, so permission rows
  grow with units, not with users or accounts.
* The propaganda department's roles and the auditor read everything; the auditor writes nothing.

An outsider (cannot see the object) gets 404; a reader without the right for an action gets 403.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from campusmedia.choices import GLOBAL_READ_ROLES, GLOBAL_WRITE_ROLES, Role, choice_labels
from campusmedia.models import (
    MediaAccount,
    Person,
    RoleAssignment,
    Unit,
    UnitGroupObjectPermission,
    User,
)

M = TypeVar("M", bound=Model)


class Action(StrEnum):
    VIEW = "view"
    MANAGE = "manage"  # keep the unit's accounts and file its requests (secretary)
    SIGN = "sign"  # first sign-off for the unit (unit head, Youth League approver)
    REVEAL = "reveal"  # see personal data in full, with a reason, logged


_CODENAMES = {
    Action.VIEW: {"view_unit", "manage_unit", "sign_unit"},
    Action.MANAGE: {"manage_unit"},
    Action.SIGN: {"sign_unit"},
}


@dataclass(frozen=True)
class HeldRole:
    """A role a user holds today, in a unit."""

    unit_id: int
    unit_name: str
    unit_kind: str
    role: str
    group_id: int
    starts_on: datetime.date

    @property
    def role_label(self) -> str:
        return choice_labels(Role).get(self.role, self.role)


@cache
def _held_roles_sql() -> str:
    """``RoleAssignment.objects.active().filter(person__user_id=…)`` with the units, written out.

    Every request of a signed-in user runs this look-up. The database answers it in tens of
    microseconds; building it through the ORM took over ten times that, the largest fixed cost of
    the list pages (``make bench``). Table and column names come from the models.
    """
    ra, person, unit = RoleAssignment._meta, Person._meta, Unit._meta
    quote = connection.ops.quote_name

    def col(meta: Any, field: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(field).column)}"

    return (
        f"SELECT {col(ra, 'unit')}, {col(unit, 'name')}, {col(unit, 'kind')}, {col(ra, 'role')}, "
        f"{col(ra, 'group')}, {col(ra, 'starts_on')} "
        f"FROM {quote(ra.db_table)} "
        f"JOIN {quote(person.db_table)} ON {col(person, 'id')} = {col(ra, 'person')} "
        f"JOIN {quote(unit.db_table)} ON {col(unit, 'id')} = {col(ra, 'unit')} "
        f"WHERE {col(person, 'user')} = %s AND {col(ra, 'starts_on')} <= %s "
        f"AND ({col(ra, 'ends_on')} IS NULL OR {col(ra, 'ends_on')} > %s) "
        f"ORDER BY {col(unit, 'sort_order')}, {col(unit, 'name')}, {col(ra, 'role')}"
    )


@cache
def _unit_codenames_sql(groups: int) -> str:
    """``UnitGroupObjectPermission.objects.filter(group_id__in=…).values_list("content_object_id",
    "permission__codename")`` written out, for the same reason as ``_held_roles_sql``."""
    row, perm = UnitGroupObjectPermission._meta, Permission._meta
    quote = connection.ops.quote_name

    def col(meta: Any, field: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(field).column)}"

    marks = ", ".join(["%s"] * groups)
    return (
        f"SELECT {col(row, 'content_object')}, {col(perm, 'codename')} "
        f"FROM {quote(row.db_table)} "
        f"JOIN {quote(perm.db_table)} ON {col(perm, 'id')} = {col(row, 'permission')} "
        f"WHERE {col(row, 'group')} IN ({marks})"
    )


class Access:
    """What one user may see and do, worked out once per request."""

    def __init__(self, user: User | AnonymousUser) -> None:
        self.user = user

    @cached_property
    def role_assignments(self) -> list[HeldRole]:
        """The user's current roles, with their units (one query per request)."""
        if not self.user.is_authenticated or not self.user.is_active:
            return []
        today = timezone.localdate()
        with connection.cursor() as cursor:
            cursor.execute(_held_roles_sql(), [self.user.pk, today, today])
            return [HeldRole(*row) for row in cursor.fetchall()]

    @property
    def assignments(self) -> list[tuple[int, str, int]]:
        """(unit id, role, group id) of the user's current roles."""
        return [(a.unit_id, a.role, a.group_id) for a in self.role_assignments]

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(role for _, role, _ in self.assignments)

    @cached_property
    def reads_all(self) -> bool:
        return bool(getattr(self.user, "is_superuser", False)) or bool(
            self.roles & GLOBAL_READ_ROLES
        )

    @cached_property
    def writes_all(self) -> bool:
        return bool(getattr(self.user, "is_superuser", False)) or bool(
            self.roles & GLOBAL_WRITE_ROLES
        )

    @property
    def is_auditor(self) -> bool:
        return Role.AUDITOR in self.roles and not self.writes_all

    @cached_property
    def unit_codenames(self) -> dict[int, frozenset[str]]:
        """Unit id → the permission codenames the user's groups hold on it."""
        group_ids = {group_id for _, _, group_id in self.assignments}
        if not group_ids:
            return {}
        found: dict[int, set[str]] = {}
        ids = sorted(group_ids)
        with connection.cursor() as cursor:
            cursor.execute(_unit_codenames_sql(len(ids)), ids)
            rows = cursor.fetchall()
        for unit_id, codename in rows:
            found.setdefault(unit_id, set()).add(codename)
        return {unit_id: frozenset(names) for unit_id, names in found.items()}

    def unit_ids(self, action: Action = Action.VIEW) -> set[int] | None:
        """Ids of the units the user may act on, or None for every unit."""
        if action == Action.VIEW and self.reads_all:
            return None
        if action in (Action.MANAGE, Action.SIGN) and self.writes_all:
            return None
        wanted = _CODENAMES.get(action, set())
        return {unit_id for unit_id, names in self.unit_codenames.items() if names & wanted}

    def signs_for(self, unit_id: int | None) -> bool:
        """Holds the first sign-off for a unit through a unit role (never through a global one:
        the propaganda department decides, it does not sign for the unit)."""
        return unit_id is not None and "sign_unit" in self.unit_codenames.get(unit_id, ())

    def keeps(self, unit_id: int | None) -> bool:
        """Keeps a unit's accounts through a unit role (the secretary), not a global one."""
        return unit_id is not None and "manage_unit" in self.unit_codenames.get(unit_id, ())

    def can(self, action: Action, unit_id: int | None) -> bool:
        ids = self.unit_ids(action)
        return ids is None or (unit_id is not None and unit_id in ids)

    # Lists: one selector per kind of object, already narrowed to what the user may see.

    def units(self, queryset: QuerySet[Unit] | None = None) -> QuerySet[Unit]:
        queryset = Unit.objects.all() if queryset is None else queryset
        ids = self.unit_ids()
        return queryset if ids is None else queryset.filter(pk__in=ids)

    def accounts(self, queryset: QuerySet[MediaAccount] | None = None) -> QuerySet[MediaAccount]:
        queryset = MediaAccount.objects.all() if queryset is None else queryset
        ids = self.unit_ids()
        return queryset if ids is None else queryset.filter(owner_unit_id__in=ids)

    def people(self, queryset: QuerySet[Person] | None = None) -> QuerySet[Person]:
        queryset = Person.objects.all() if queryset is None else queryset
        ids = self.unit_ids()
        if ids is None:
            return queryset
        related = Person.objects.filter(
            Q(unit_id__in=ids)
            | Q(team_memberships__account__owner_unit_id__in=ids)
            | Q(role_assignments__unit_id__in=ids)
        ).values("pk")
        return queryset.filter(pk__in=related)

    # Single objects.

    def can_reveal(self, person: Person) -> bool:
        """Full personal data: those who file it (propaganda department, the unit's secretary)
        and the person themself. Heads and the auditor see masks only."""
        if self.writes_all or (person.user_id is not None and person.user_id == self.user.pk):
            return True
        manageable = self.unit_ids(Action.MANAGE) or set()
        if person.unit_id in manageable:
            return True
        return person.team_memberships.filter(
            ends_on__isnull=True, account__owner_unit_id__in=manageable
        ).exists()


def get_access(request: HttpRequest) -> Access:
    """The request's Access, made once and kept on the request."""
    access = getattr(request, "_campusmedia_access", None)
    if access is None or access.user is not request.user:
        access = Access(request.user)
        request._campusmedia_access = access  # type: ignore[attr-defined]
    return access


def _owning_unit_id(obj: Any) -> int | None:
    if isinstance(obj, Unit):
        return obj.pk
    if isinstance(obj, MediaAccount):
        return obj.owner_unit_id
    owner = getattr(obj, "owner_unit_id", None)
    if owner is not None:
        return int(owner)
    raise TypeError(f"no access rule for {type(obj).__name__}")


def authorize(access: Access, obj: Any, action: Action = Action.VIEW) -> None:
    """Raise Http404 if the user may not see ``obj``, PermissionDenied if they may not act."""
    if isinstance(obj, Person):
        if not (access.reads_all or access.people(Person.objects.filter(pk=obj.pk)).exists()):
            raise Http404
        if action == Action.REVEAL and not access.can_reveal(obj):
            raise PermissionDenied
        if action in (Action.MANAGE, Action.SIGN) and not access.can(action, obj.unit_id):
            raise PermissionDenied
        return
    unit_id = _owning_unit_id(obj)
    if not access.can(Action.VIEW, unit_id):
        raise Http404
    if action == Action.REVEAL:
        raise PermissionDenied
    if action != Action.VIEW and not access.can(action, unit_id):
        raise PermissionDenied


def get_for(access: Access, queryset: QuerySet[M], pk: Any, action: Action = Action.VIEW) -> M:
    """Fetch one object through the access check: 404 for outsiders, 403 without the right."""
    try:
        obj = queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    authorize(access, obj, action)
    return obj
