"""The alliance's home: what the user has to do, the charter in force, the members; for the
secretariat the recent tasks and what waits for its decision."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alliance import permissions as perms
from alliance import selectors
from campusmedia.choices import Tier
from campusmedia.models import User
from campusmedia.permissions import get_access

SHOWN = 6  # items of each to-do list; the count links to the full list


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    if not perms.may_read_alliance(access):
        raise PermissionDenied
    secretariat = perms.is_secretariat(access)
    panel = selectors.home_panel(access)
    summary = selectors.member_summary()
    return render(
        request,
        "alliance/index.html",
        {
            "panel": panel,
            "pending": list(selectors.pending_assignments(access)[:SHOWN]),
            "unread": list(selectors.unread_notices(cast(User, request.user))[:SHOWN]),
            "prepubs": list(selectors.prepub_waiting(access).order_by("planned_at")[:SHOWN]),
            "charter": selectors.charter_current(),
            "summary": summary,
            "tiers": [(tier, summary.by_tier.get(tier, 0)) for tier in Tier.values],
            "secretariat": secretariat,
            "recent_tasks": list(selectors.task_list(access)[:5]) if secretariat else [],
            "has_work": bool(panel.pending_tasks or panel.unread_notices or panel.prepub_waiting),
        },
    )
