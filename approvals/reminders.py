"""The daily reminder: what each user has waiting, in one e-mail (``manage.py send_reminders``).

Per user: requests waiting for their step, returned requests of their units, team changes to
file under the 3-day rule (due or overdue), approved accounts not yet reported open, student
administrators leaving soon. Users with nothing due get nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from approvals.models import AccountRequest, TeamChangeEvent
from approvals.notifications import send_mail_template
from approvals.permissions import waiting_for
from campusmedia.choices import AccountStatus, Role
from campusmedia.models import MediaAccount, RoleAssignment, TeamMember, User
from campusmedia.permissions import Access, Action
from campusmedia.selectors import leaving_administrators


@dataclass
class Digest:
    user: User
    waiting: list[AccountRequest] = field(default_factory=list)
    team_changes: list[TeamChangeEvent] = field(default_factory=list)
    not_opened: list[MediaAccount] = field(default_factory=list)
    leaving: list[TeamMember] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.waiting or self.team_changes or self.not_opened or self.leaving)


def digests(today: datetime.date | None = None) -> list[Digest]:
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.CAMPUSMEDIA_GRADUATION_NOTICE_DAYS)
    user_ids = (
        RoleAssignment.objects.active(today)
        .exclude(role=Role.AUDITOR)
        .filter(person__user__is_active=True)
        .values_list("person__user_id", flat=True)
        .distinct()
    )
    out = []
    for user in User.objects.filter(pk__in=user_ids).order_by("username"):
        access = Access(user)
        digest = Digest(user=user)
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
