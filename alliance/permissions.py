"""Who may do what in the alliance, in one place (views, API, services and the fsm ask here).

* The secretariat is the propaganda department (``writes_all``): it publishes charter versions,
  decides applications and member roles, posts tasks and notices, and decides pre-publication
  requests. The auditor reads everything and does nothing.
* Every signed-in user reads the charter and the member list: neither holds personal data, and
  the list of official accounts is public anyway.
* A member account is answered for by those who keep its unit (the secretary, through
  ``manage_unit``; the department, which keeps every unit's accounts) and by its current
  administrators who have a login (``TeamMember`` of role administrator linked to their person).
* An assignment, a pre-publication request or a membership is seen by whoever sees the account's
  unit, by the account's administrators, and by the department and the auditor; others get 404.
* A notice is seen by its recipients and by the department and the auditor.
* Nobody decides a pre-publication request they submitted.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from alliance.choices import AssignmentState, MembershipState, PrepubState
from alliance.models import (
    Assignment,
    Membership,
    Notice,
    NoticeReceipt,
    Prepublication,
    Task,
)
from campusmedia.choices import AccountStatus, TeamRole, Tier
from campusmedia.models import MediaAccount, TeamMember
from campusmedia.permissions import Access, Action

P = PrepubState


def is_secretariat(access: Access) -> bool:
    return bool(access.user.is_authenticated and access.writes_all)


def reads_all(access: Access) -> bool:
    return bool(access.user.is_authenticated and access.reads_all)


def administered_account_ids(access: Access) -> frozenset[int]:
    """Accounts the user runs as a current administrator (one query, kept on the Access)."""
    cached: frozenset[int] | None = getattr(access, "_alliance_administered", None)
    if cached is not None:
        return cached
    if not access.user.is_authenticated or not access.user.is_active:
        ids: frozenset[int] = frozenset()
    else:
        ids = frozenset(
            TeamMember.objects.current()
            .filter(role=TeamRole.ADMINISTRATOR, person__user_id=access.user.pk)
            .values_list("account_id", flat=True)
        )
    access._alliance_administered = ids  # type: ignore[attr-defined]
    return ids


def answerable_accounts(access: Access, queryset: QuerySet[MediaAccount] | None = None):
    """Accounts whose tasks, applications and pre-publication requests the user may act for."""
    queryset = MediaAccount.objects.all() if queryset is None else queryset
    if not access.user.is_authenticated or access.is_auditor:
        return queryset.none()
    ids = access.unit_ids(Action.MANAGE)
    if ids is None:
        return queryset
    return queryset.filter(Q(owner_unit_id__in=ids) | Q(pk__in=administered_account_ids(access)))


def may_answer_for(access: Access, account: MediaAccount) -> bool:
    if not access.user.is_authenticated or access.is_auditor:
        return False
    return access.can(Action.MANAGE, account.owner_unit_id) or (
        account.pk in administered_account_ids(access)
    )


def may_see_account(access: Access, account_id: int, owner_unit_id: int) -> bool:
    return access.can(Action.VIEW, owner_unit_id) or account_id in administered_account_ids(access)


# --- Charter and members ------------------------------------------------------------------------


def may_read_alliance(access: Access) -> bool:
    return bool(access.user.is_authenticated)


def may_apply(access: Access, account: MediaAccount, membership: Membership | None) -> bool:
    """A tier-3 account that is running and not already a member or applicant."""
    if not may_answer_for(access, account) or account.status != AccountStatus.ACTIVE:
        return False
    if account.owner_unit.tier != Tier.THREE:
        return False
    return membership is None or membership.state in (
        MembershipState.REJECTED,
        MembershipState.LEFT,
    )


def may_leave(access: Access, account: MediaAccount, membership: Membership | None) -> bool:
    """A tier-3 member may leave; tiers 1 and 2 are members by rule."""
    return (
        membership is not None
        and membership.state == MembershipState.APPROVED
        and account.owner_unit.tier == Tier.THREE
        and may_answer_for(access, account)
    )


# --- Tasks ------------------------------------------------------------------------------------


def visible_assignments(access: Access, queryset: QuerySet[Assignment] | None = None):
    queryset = Assignment.objects.all() if queryset is None else queryset
    ids = access.unit_ids()
    if ids is None:
        return queryset
    return queryset.filter(
        Q(account__owner_unit_id__in=ids) | Q(account_id__in=administered_account_ids(access))
    )


def visible_tasks(access: Access, queryset: QuerySet[Task] | None = None):
    """The department and the auditor see every task; others the tasks addressed to accounts
    they can see."""
    queryset = Task.objects.all() if queryset is None else queryset
    if access.unit_ids() is None:
        return queryset
    return queryset.filter(pk__in=visible_assignments(access).values("task_id"))


def may_answer(access: Access, assignment: Assignment) -> bool:
    return may_answer_for(access, assignment.account)


def answered(assignment: Assignment) -> bool:
    return assignment.state != AssignmentState.PENDING


# --- Notices ----------------------------------------------------------------------------------


def visible_notices(access: Access, queryset: QuerySet[Notice] | None = None):
    queryset = Notice.objects.all() if queryset is None else queryset
    if not access.user.is_authenticated:
        return queryset.none()
    if access.reads_all:
        return queryset
    # A subquery, not a join: counts annotated on the result must see every receipt.
    mine = NoticeReceipt.objects.filter(user_id=access.user.pk).values("notice_id")
    return queryset.filter(pk__in=mine)


# --- Pre-publication requests -----------------------------------------------------------------


def visible_prepublications(access: Access, queryset: QuerySet[Prepublication] | None = None):
    queryset = Prepublication.objects.all() if queryset is None else queryset
    ids = access.unit_ids()
    if ids is None:
        return queryset
    return queryset.filter(
        Q(owner_unit_id__in=ids) | Q(account_id__in=administered_account_ids(access))
    )


def _is_filer(prepub: Prepublication, access: Access) -> bool:
    """Acts for the asking side: keeps the unit that asked, or administers the account."""
    if not access.user.is_authenticated or access.is_auditor:
        return False
    return access.can(Action.MANAGE, prepub.owner_unit_id) or (
        prepub.account_id in administered_account_ids(access)
    )


def may_prepub(step: str, prepub: Prepublication, access: Access) -> bool:
    """May ``access.user`` take ``step`` on ``prepub`` now? The fsm declares the source states."""
    if step == "view":
        return access.can(Action.VIEW, prepub.owner_unit_id) or (
            prepub.account_id in administered_account_ids(access)
        )
    if step == "edit":  # before the decision, or after a return
        return _is_filer(prepub, access) and prepub.state in (P.SUBMITTED, P.RETURNED)
    if step == "resubmit":
        return _is_filer(prepub, access) and prepub.state == P.RETURNED
    if step == "withdraw":
        return _is_filer(prepub, access) and prepub.state in (P.SUBMITTED, P.RETURNED)
    if step == "file":
        return _is_filer(prepub, access) and prepub.state == P.APPROVED
    if step == "decide":
        return (
            is_secretariat(access)
            and prepub.state == P.SUBMITTED
            and access.user.pk != prepub.submitted_by_id
        )
    raise ValueError(f"unknown step {step!r}")


def takes_prepub_step(step: str, prepub: Prepublication, access: Access) -> bool:
    """Is ``step`` ever this user's on ``prepub``, whatever its state? The department decides
    (not its own requests), the asking side does the rest. A step of someone else's is refused
    (403); one of the user's that the state does not allow now is a conflict to explain."""
    if step == "decide":
        return is_secretariat(access) and access.user.pk != prepub.submitted_by_id
    if step in ("edit", "resubmit", "withdraw", "file"):
        return _is_filer(prepub, access)
    raise ValueError(f"unknown step {step!r}")


def may_ask_prepublication(access: Access) -> bool:
    return answerable_accounts(access).filter(status=AccountStatus.ACTIVE).exists()
