"""Reads of the request workflow that pages share: the home page's inbox and obligations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from approvals.choices import RequestKind
from approvals.models import AccountRequest, Notification, TeamChangeEvent
from approvals.permissions import waiting_for
from approvals.services import ACCOUNT_FIELDS, account_data
from campusmedia.choices import ContentCategory, ContentForm, Verification, choice_labels
from campusmedia.models import MediaAccount
from campusmedia.permissions import Access
from campusmedia.selectors import platforms


@dataclass
class RequestsPanel:
    waiting: list[AccountRequest]
    waiting_count: int
    team_changes: list[TeamChangeEvent]
    # (unit name, open, overdue, filed late this year) per unit, for the department.
    per_unit: list[dict[str, Any]] = field(default_factory=list)
    unread: int = 0


def home_panel(access: Access) -> RequestsPanel:
    """What the home page shows of requests: the inbox and the 3-day-rule obligations."""
    inbox = waiting_for(access).select_related("owner_unit", "account").order_by("-updated_at")
    waiting = list(inbox[:6])
    waiting_count = inbox.count()
    events = TeamChangeEvent.objects.open().select_related("account__owner_unit", "person")
    ids = access.unit_ids()
    if ids is not None:
        events = events.filter(account__owner_unit_id__in=ids)
    team_changes = list(events.order_by("due_on", "id")[:20])
    per_unit: list[dict[str, Any]] = []
    if access.reads_all:
        today = timezone.localdate()
        year_start = today.replace(month=1, day=1)
        per_unit = list(
            TeamChangeEvent.objects.filter(
                Q(filed_at__isnull=True) | Q(happened_on__gte=year_start)
            )
            .values("account__owner_unit__name")
            .annotate(
                open=Count("id", filter=Q(filed_at__isnull=True)),
                overdue=Count("id", filter=Q(filed_at__isnull=True, due_on__lt=today)),
                late=Count(
                    "filed_by_request",
                    filter=Q(filed_by_request__is_late=True),
                    distinct=True,
                ),
            )
            .order_by("-overdue", "-open", "account__owner_unit__name")[:20]
        )
    unread = (
        Notification.objects.filter(user_id=access.user.pk, read_at__isnull=True).count()
        if access.user.is_authenticated
        else 0
    )
    return RequestsPanel(
        waiting=waiting,
        waiting_count=waiting_count,
        team_changes=team_changes,
        per_unit=per_unit,
        unread=unread,
    )


def account_requests(access: Access, account: Any) -> list[AccountRequest]:
    """The requests about one account that the user may see, newest first."""
    from approvals.permissions import visible_requests

    return list(
        visible_requests(access, AccountRequest.objects.filter(account=account))
        .select_related("owner_unit")
        .order_by("-created_at", "-id")[:20]
    )


def account_team_changes(account: Any) -> list[TeamChangeEvent]:
    """An account's team changes still to be filed under the 3-day rule."""
    return list(TeamChangeEvent.objects.open().filter(account=account).select_related("person"))


_LABELLED: dict[str, type[models.Choices]] = {
    "content_categories": ContentCategory,
    "content_forms": ContentForm,
    "verification": Verification,
}


def field_display(name: str, value: Any) -> str:
    """A proposed account value as stored in ``AccountRequest.data`` (codes, ISO dates), as
    people read it: platform and vocabulary labels, lists joined, empty as a dash."""
    if value in (None, "", []):
        return "—"
    if name == "platform":
        return next((p.name for p in platforms() if p.code == value), str(value))
    if name in _LABELLED:
        labels = choice_labels(_LABELLED[name])
        codes = value if isinstance(value, list) else [value]
        return "、".join(labels.get(code, str(code)) for code in codes)
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    changed: bool


def field_changes(account_request: AccountRequest) -> list[FieldChange]:
    """A change request's account fields, old (as registered when it was submitted, or now for a
    draft) beside new, readable; ``changed`` marks what the request changes."""
    if account_request.kind != RequestKind.CHANGE:
        return []
    before = account_request.before or (
        account_data(account_request.account) if account_request.account else {}
    )
    after = account_request.data
    rows = []
    for name in ACCOUNT_FIELDS:
        old, new = field_display(name, before.get(name)), field_display(name, after.get(name))
        label = str(getattr(MediaAccount._meta.get_field(name), "verbose_name", name))
        rows.append(FieldChange(name, label, old, new, name in after and old != new))
    return rows
