"""Reads of the alliance that cross relations. Each list a user sees comes already narrowed by
``alliance.permissions``; each page reads with a fixed number of queries."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from alliance import permissions as perms
from alliance.choices import AssignmentState, MemberRole, MembershipState, PrepubState
from alliance.models import (
    Assignment,
    CharterVersion,
    Membership,
    Notice,
    NoticeReceipt,
    Prepublication,
    Task,
)
from campusmedia.choices import (
    TIER_OF_KIND,
    AccountStatus,
    Role,
    TeamRole,
    Tier,
    UnitKind,
    kinds_of_tier,
)
from campusmedia.models import MediaAccount, RoleAssignment, TeamMember, User
from campusmedia.permissions import Access

A = AssignmentState


# --- Charter ----------------------------------------------------------------------------------


def charter_current(on: datetime.date | None = None) -> CharterVersion | None:
    """The version in force: the latest whose effective date has come."""
    on = on or timezone.localdate()
    return (
        CharterVersion.objects.filter(effective_on__lte=on)
        .select_related("published_by__person")
        .order_by("-effective_on", "-number")
        .first()
    )


def charter_versions() -> QuerySet[CharterVersion]:
    return CharterVersion.objects.select_related("published_by__person").order_by("-number")


# --- Members ----------------------------------------------------------------------------------


def member_filter(prefix: str = "") -> Q:
    """Accounts that are members today: active, and of tier 1 or 2 or with an approved
    application. ``prefix`` reaches the account through a relation (``"account__"``)."""
    by_rule = kinds_of_tier(Tier.ONE) + kinds_of_tier(Tier.TWO)
    return Q(**{f"{prefix}status": AccountStatus.ACTIVE}) & (
        Q(**{f"{prefix}owner_unit__kind__in": by_rule})
        | Q(**{f"{prefix}alliance_membership__state": MembershipState.APPROVED})
    )


def default_role() -> Case:
    """The school's own flagship accounts sit on the council; everyone else is a member."""
    return Case(
        When(owner_unit__kind=UnitKind.SCHOOL, then=Value(MemberRole.COUNCIL)),
        default=Value(MemberRole.MEMBER),
        output_field=CharField(),
    )


def members(queryset: QuerySet[MediaAccount] | None = None) -> QuerySet[MediaAccount]:
    """Member accounts with ``member_role``, their unit and platform, in unit order."""
    queryset = MediaAccount.objects.all() if queryset is None else queryset
    return (
        queryset.filter(member_filter())
        .annotate(member_role=Coalesce(F("alliance_membership__role"), default_role()))
        .select_related("owner_unit", "platform", "alliance_membership")
        .order_by("owner_unit__sort_order", "owner_unit__name", "name", "id")
    )


def is_member(account: MediaAccount) -> bool:
    return MediaAccount.objects.filter(member_filter(), pk=account.pk).exists()


def applications(state: str = MembershipState.APPLIED) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(state=state)
        .select_related("account__owner_unit", "account__platform", "applied_by__person")
        .order_by("applied_at", "id")
    )


@dataclass
class MemberSummary:
    total: int
    by_role: dict[str, int]
    by_tier: dict[int, int]


def member_summary() -> MemberSummary:
    rows = (
        members()
        .values("member_role", "owner_unit__kind")  # type: ignore[misc]  # an annotation
        .annotate(n=Count("id"))
        .order_by()
    )
    by_role: Counter[str] = Counter()
    by_tier: Counter[int] = Counter()
    for row in rows:
        by_role[row["member_role"]] += row["n"]
        by_tier[TIER_OF_KIND[row["owner_unit__kind"]]] += row["n"]
    return MemberSummary(sum(by_role.values()), dict(by_role), dict(by_tier))


# --- Tasks ------------------------------------------------------------------------------------


def task_list(access: Access) -> QuerySet[Task]:
    """Tasks the user sees, with the counts of their visible assignments by state."""
    visible = perms.visible_assignments(access, Assignment.objects.all()).values("pk")
    scope = Q(assignments__pk__in=visible) if access.unit_ids() is not None else Q()
    return (
        perms.visible_tasks(access)
        .select_related("source_account", "posted_by")
        .annotate(
            total=Count("assignments", filter=scope, distinct=True),
            done=Count("assignments", filter=scope & Q(assignments__state=A.DONE), distinct=True),
            declined=Count(
                "assignments", filter=scope & Q(assignments__state=A.DECLINED), distinct=True
            ),
        )
        .order_by("-posted_at", "-id")
    )


def task_assignments(access: Access, task: Task) -> list[Assignment]:
    return list(
        perms.visible_assignments(access, task.assignments.all())
        .select_related("account__owner_unit__parent", "account__platform", "answered_by__person")
        .order_by("account__owner_unit__sort_order", "account__owner_unit__name", "account__name")
    )


@dataclass
class UnitProgress:
    unit_id: int
    unit_name: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts[A.DONE]

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def unit_progress(assignments: list[Assignment]) -> list[UnitProgress]:
    """Completion per unit from the loaded assignments (tier-3 accounts count under their
    parent unit, as the secretary who answers for them sees it)."""
    rows: dict[int, UnitProgress] = {}
    for item in assignments:
        unit = item.account.owner_unit
        top = unit.parent if unit.tier == Tier.THREE and unit.parent is not None else unit
        row = rows.setdefault(top.pk, UnitProgress(top.pk, top.name))
        row.counts[item.state] += 1
    return sorted(rows.values(), key=lambda r: (r.percent, r.unit_name))


def pending_assignments(access: Access) -> QuerySet[Assignment]:
    """What the user has to answer: pending assignments of accounts they answer for (the
    department's own flagship accounts only, not every unit's)."""
    if not access.user.is_authenticated or access.is_auditor:
        return Assignment.objects.none()
    qs = Assignment.objects.pending().filter(account__status=AccountStatus.ACTIVE)
    own = perms.administered_account_ids(access)
    kept = [uid for uid, names in access.unit_codenames.items() if "manage_unit" in names]
    condition = Q(account__owner_unit_id__in=kept) | Q(account_id__in=own)
    if access.writes_all:
        condition |= Q(account__owner_unit__kind=UnitKind.SCHOOL)
    return (
        qs.filter(condition)
        .select_related("task", "account__platform")
        .order_by("task__due_at", "task_id", "account__name")
    )


# --- Notices ----------------------------------------------------------------------------------


def notice_recipients() -> QuerySet[User]:
    """Who a notice goes to: every active user who is a secretary today, or a current
    administrator of an active account."""
    secretaries = RoleAssignment.objects.active().filter(role=Role.SECRETARY).values("person_id")
    administrators = (
        TeamMember.objects.current()
        .filter(role=TeamRole.ADMINISTRATOR, account__status=AccountStatus.ACTIVE)
        .values("person_id")
    )
    return User.objects.filter(is_active=True).filter(
        Q(person__in=secretaries) | Q(person__in=administrators)
    )


def notice_list(access: Access) -> QuerySet[Notice]:
    qs = perms.visible_notices(access).select_related("posted_by")
    qs = qs.annotate(
        recipient_count=Count("receipts", distinct=True),
        read_count=Count("receipts", filter=Q(receipts__read_at__isnull=False), distinct=True),
    )
    if access.user.is_authenticated:
        qs = qs.annotate(
            my_read=Count(
                "receipts",
                filter=Q(receipts__user_id=access.user.pk, receipts__read_at__isnull=False),
                distinct=True,
            ),
            mine=Count("receipts", filter=Q(receipts__user_id=access.user.pk), distinct=True),
        )
    return qs.order_by("-posted_at", "-id")


def notice_receipts(notice: Notice) -> list[NoticeReceipt]:
    """The receipts with each reader's name and unit, unread first."""
    return list(
        notice.receipts.select_related("user__person__unit").order_by(
            F("read_at").asc(nulls_first=True), "user__username"
        )
    )


def my_receipt(notice: Notice, user: User) -> NoticeReceipt | None:
    if not user.is_authenticated:
        return None
    return NoticeReceipt.objects.filter(notice=notice, user=user).first()


def unread_notices(user: User) -> QuerySet[NoticeReceipt]:
    return (
        NoticeReceipt.objects.filter(user=user, read_at__isnull=True)
        .select_related("notice")
        .order_by("-notice__posted_at")
    )


# --- Pre-publication requests -----------------------------------------------------------------


def prepub_list(access: Access, state: str = "") -> QuerySet[Prepublication]:
    qs = perms.visible_prepublications(access).select_related(
        "account__platform", "owner_unit", "submitted_by"
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-submitted_at", "-id")


def prepub_waiting(access: Access) -> QuerySet[Prepublication]:
    """Requests the user has to act on: to decide (the department, not its own), to resubmit
    after a return, or to file the published link."""
    qs = perms.visible_prepublications(access)
    condition = Q(pk__in=[])
    if perms.is_secretariat(access):
        condition |= Q(state=PrepubState.SUBMITTED) & ~Q(submitted_by_id=access.user.pk)
    if access.user.is_authenticated and not access.is_auditor:
        kept = [uid for uid, names in access.unit_codenames.items() if "manage_unit" in names]
        own = perms.administered_account_ids(access)
        filer = Q(owner_unit_id__in=kept) | Q(account_id__in=own)
        if access.writes_all:
            filer |= Q(submitted_by_id=access.user.pk)
        condition |= filer & Q(state__in=[PrepubState.RETURNED, PrepubState.APPROVED])
    return qs.filter(condition).select_related("account__platform", "owner_unit")


# --- Home -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlliancePanel:
    pending_tasks: int
    unread_notices: int
    prepub_waiting: int
    applications: int


def home_panel(access: Access) -> AlliancePanel:
    """The four counts of the home page in one query (plus the user's administered accounts)."""
    if not access.user.is_authenticated:
        return AlliancePanel(0, 0, 0, 0)
    applications = (
        Membership.objects.filter(state=MembershipState.APPLIED)
        if perms.is_secretariat(access)
        else Membership.objects.none()
    )
    counts = count_all(
        [
            pending_assignments(access),
            NoticeReceipt.objects.filter(user_id=access.user.pk, read_at__isnull=True),
            prepub_waiting(access),
            applications,
        ]
    )
    return AlliancePanel(*counts)


def count_all(querysets: list[QuerySet]) -> list[int]:
    """``[qs.count() for qs in querysets]`` in one round trip: each count is a scalar subquery
    of one SELECT. An empty queryset (``none()``) counts 0 without SQL."""
    parts: list[str] = []
    params: list[Any] = []
    slots: list[int | None] = []
    for queryset in querysets:
        try:
            sql, sub_params = queryset.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:
            slots.append(None)
            continue
        slots.append(len(parts))
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted_{len(parts)})")
        params.extend(sub_params)
    found: list[int] = []
    if parts:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            found = [int(n) for n in cursor.fetchone()]
    return [0 if slot is None else found[slot] for slot in slots]
