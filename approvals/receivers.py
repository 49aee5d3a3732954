"""Reactions of the request workflow to registry events."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.dispatch import receiver

from approvals.choices import TeamChangeSource
from approvals.services import team_change_record
from campusmedia.choices import AccountStatus
from campusmedia.events import role_ended
from campusmedia.models import RoleAssignment, TeamMember


@receiver(role_ended)
def _role_ended(
    sender: Any, assignment: RoleAssignment, actor: Any, request: Any = None, **kw: Any
) -> None:
    """A person who leaves a unit while on the team of one of its accounts (or of the units it
    governs) starts the 3-day rule for that account (DOMAIN.md section 5)."""
    day = assignment.ends_on
    if day is None:
        return
    still_there = (
        RoleAssignment.objects.active(day)
        .filter(person_id=assignment.person_id, unit_id=assignment.unit_id)
        .exists()
    )
    if still_there:
        return
    members = (
        TeamMember.objects.current()
        .filter(person_id=assignment.person_id)
        .filter(
            Q(account__owner_unit_id=assignment.unit_id)
            | Q(account__owner_unit__parent_id=assignment.unit_id)
        )
        .exclude(account__status=AccountStatus.CLOSED)
    )
    for member in members.select_related("account"):
        team_change_record(
            member=member,
            actor=actor,
            happened_on=day,
            source=TeamChangeSource.ROLE_ENDED,
            note=str(assignment.get_role_display()),
            request=request,
        )
