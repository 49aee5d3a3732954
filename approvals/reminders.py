"""The daily reminder: what each user has waiting, in one e-mail (``manage.py send_reminders``).

Per user: requests waiting for their step, returned requests of their units, team changes to
file under the 3-day rule (due or overdue), approved accounts not yet reported open, student
administrators leaving soon; for the department, accounts due for municipal filing within
``CAMPUSMEDIA_FILING_REMIND_DAYS`` or past; and from the annual review: their units' forms
still with the unit when the due date (or the rectify date) is ``CAMPUSMEDIA_REVIEW_REMIND_DAYS``
away or past, forms waiting for their signature or conclusion, and open orders to close their
units' accounts. From the New Media Alliance: coordinated tasks still to answer whose deadline is
``CAMPUSMEDIA_TASK_REMIND_DAYS`` away or past, notices not yet confirmed as read, and
pre-publication requests waiting for the user (to decide, to resubmit, to file the published
link). Account administrators with a login and no unit role get the alliance part too. Users with
nothing due get nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from alliance import selectors as alliance
from alliance.models import Assignment, NoticeReceipt, Prepublication
from annual_review.choices import ReviewState
from annual_review.models import CloseOrder, ReviewForm
from annual_review.permissions import waiting_for as reviews_waiting_for
from approvals.models import AccountRequest, TeamChangeEvent
from approvals.notifications import send_mail_template
from approvals.permissions import waiting_for
from campusmedia.choices import AccountStatus, Role, TeamRole, Tier, kinds_of_tier
from campusmedia.models import MediaAccount, RoleAssignment, TeamMember, User
from campusmedia.permissions import Access, Action
from campusmedia.selectors import leaving_administrators
from filing.selectors import DueFiling, due_filings


@dataclass
class Digest:
    user: User
    waiting: list[AccountRequest] = field(default_factory=list)
    team_changes: list[TeamChangeEvent] = field(default_factory=list)
    not_opened: list[MediaAccount] = field(default_factory=list)
    leaving: list[TeamMember] = field(default_factory=list)
    # The annual review: forms the unit still has to submit (due soon or overdue), forms waiting
    # for this user's signature or conclusion, open orders to close an account.
    reviews_to_fill: list[ReviewForm] = field(default_factory=list)
    reviews_waiting: list[ReviewForm] = field(default_factory=list)
    close_orders: list[CloseOrder] = field(default_factory=list)
    # Municipal filing (the department): accounts due within the reminder period or past.
    filings: list[DueFiling] = field(default_factory=list)
    # The alliance: tasks to answer, notices to read, pre-publication requests waiting.
    tasks: list[Assignment] = field(default_factory=list)
    notices: list[NoticeReceipt] = field(default_factory=list)
    prepublications: list[Prepublication] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.waiting
            or self.team_changes
            or self.not_opened
            or self.leaving
            or self.reviews_to_fill
            or self.reviews_waiting
            or self.close_orders
            or self.filings
            or self.tasks
            or self.notices
            or self.prepublications
        )


def _reviews_to_fill(access: Access, today: datetime.date) -> list[ReviewForm]:
    """Forms of the user's units still with the unit, due within the reminder period or past.

    "Their units": those they keep or sign for through a unit role (the secretary fills the
    form, the head answers for it); the department keeps the school's own tier-1 accounts."""
    horizon = today + datetime.timedelta(days=settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS)
    own = [
        unit_id
        for unit_id, names in access.unit_codenames.items()
        if names & {"manage_unit", "sign_unit"}
    ]
    mine = Q(owner_unit_id__in=own)
    if access.unit_ids(Action.MANAGE) is None:
        mine |= Q(owner_unit__kind__in=kinds_of_tier(Tier.ONE))
    with_unit = [ReviewState.DRAFT, ReviewState.RETURNED]
    due = Q(state__in=with_unit, campaign__due_on__lte=horizon)
    due |= Q(state=ReviewState.CONCLUDED, rectify_by__lte=horizon)  # reopened to rectify
    # An account ordered closed owes a close request instead (listed with the close orders).
    forms = (
        ReviewForm.objects.unanswered()
        .filter(mine, due)
        .exclude(account__status__in=[AccountStatus.ORDERED_TO_CLOSE, AccountStatus.CLOSED])
    )
    return list(
        forms.select_related("campaign", "account", "owner_unit").order_by(
            "campaign__due_on", "owner_unit__sort_order", "account__name", "id"
        )[:50]
    )


def _reviews_waiting(access: Access) -> list[ReviewForm]:
    """Forms waiting for the user's signature or conclusion (the unit's own turn is above)."""
    forms = (
        reviews_waiting_for(access)
        .filter(state__in=[ReviewState.SUBMITTED, ReviewState.SIGNED])
        .select_related("campaign", "account", "owner_unit")
    )
    return list(forms.order_by("submitted_at", "id")[:50])


def _close_orders(access: Access) -> list[CloseOrder]:
    orders = CloseOrder.objects.open()
    visible = access.unit_ids()
    if visible is not None:
        orders = orders.filter(account__owner_unit_id__in=visible)
    return list(orders.select_related("account", "account__owner_unit")[:50])


def digests(today: datetime.date | None = None) -> list[Digest]:
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.CAMPUSMEDIA_GRADUATION_NOTICE_DAYS)
    user_ids = set(
        RoleAssignment.objects.active(today)
        .exclude(role=Role.AUDITOR)
        .filter(person__user__is_active=True)
        .values_list("person__user_id", flat=True)
    )
    # Administrators with a login answer the alliance's tasks and read its notices.
    user_ids.update(
        TeamMember.objects.current()
        .filter(role=TeamRole.ADMINISTRATOR, person__user__is_active=True)
        .values_list("person__user_id", flat=True)
    )
    task_horizon = timezone.now() + datetime.timedelta(days=settings.CAMPUSMEDIA_TASK_REMIND_DAYS)
    out = []
    filings: list[DueFiling] | None = None
    filing_horizon = today + datetime.timedelta(days=settings.CAMPUSMEDIA_FILING_REMIND_DAYS)
    for user in User.objects.filter(pk__in=user_ids).order_by("username"):
        access = Access(user)
        digest = Digest(user=user)
        if access.writes_all:
            if filings is None:
                filings = [d for d in due_filings() if not d.waiting and d.due_on <= filing_horizon]
            digest.filings = filings[:50]
        digest.waiting = list(waiting_for(access).select_related("owner_unit")[:50])
        manage = access.unit_ids(Action.MANAGE)
        keeps = manage is None or bool(manage)
        if keeps or access.reads_all or access.unit_ids(Action.SIGN):
            events = TeamChangeEvent.objects.open().filter(
                due_on__lte=today + datetime.timedelta(days=1)
            )
            visible = access.unit_ids()
            if visible is not None:
                events = events.filter(account__owner_unit_id__in=visible)
            digest.team_changes = list(events.select_related("account", "person")[:50])
            digest.close_orders = _close_orders(access)
        digest.reviews_to_fill = _reviews_to_fill(access, today)
        digest.reviews_waiting = _reviews_waiting(access)
        if keeps and manage is not None:
            digest.not_opened = list(
                MediaAccount.objects.filter(
                    owner_unit_id__in=manage, status=AccountStatus.APPROVED
                )[:50]
            )
            digest.leaving = list(
                leaving_administrators(
                    MediaAccount.objects.filter(owner_unit_id__in=manage), horizon
                )[:50]
            )
        digest.tasks = list(
            alliance.pending_assignments(access).filter(task__due_at__lte=task_horizon)[:50]
        )
        digest.notices = list(alliance.unread_notices(user)[:50])
        digest.prepublications = list(alliance.prepub_waiting(access).order_by("planned_at")[:50])
        if digest:
            out.append(digest)
    return out


def send_reminders(today: datetime.date | None = None, *, dry_run: bool = False) -> tuple[int, int]:
    """(users with something due, e-mails sent)."""
    found = digests(today)
    sent = 0
    site = settings.CAMPUSMEDIA_SITE_URL.rstrip("/")
    for digest in found:
        if dry_run or not digest.user.email:
            continue
        send_mail_template(
            "emails/reminder",
            {"digest": digest, "site": site, "today": today or timezone.localdate()},
            [digest.user.email],
        )
        sent += 1
    return len(found), sent
