"""Reads that cross relations. Every list comes already narrowed by the user's Access."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from campusmedia.choices import TIER_OF_KIND, AccountStatus, TeamRole, kinds_of_tier
from campusmedia.models import MediaAccount, Platform, TeamMember, Unit
from campusmedia.permissions import Access, HeldRole

_PLATFORMS_KEY = "campusmedia:platforms:v1"


def platforms() -> list[Platform]:
    """The platform catalogue, cached: it changes a few times a year, lists read it always."""
    cached = cache.get(_PLATFORMS_KEY)
    if cached is None:
        cached = list(Platform.objects.all())
        cache.set(_PLATFORMS_KEY, cached, 300)
    return cached


def platforms_changed() -> None:
    cache.delete(_PLATFORMS_KEY)


@dataclass
class RegistryFilter:
    q: str = ""
    platform: str = ""
    tier: int | None = None
    unit: int | None = None
    status: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RegistryFilter:
        """Read filters leniently from a query string: unknown values are ignored."""

        def number(name: str) -> int | None:
            try:
                return int(params.get(name) or "")
            except ValueError:
                return None

        tier = number("tier")
        status = str(params.get("status") or "")
        return cls(
            q=str(params.get("q") or params.get("search") or "").strip()[:100],
            platform=str(params.get("platform") or "")[:32],
            tier=tier if tier in (1, 2, 3) else None,
            unit=number("unit"),
            status=status if status in AccountStatus.values else "",
        )


def registry_accounts(access: Access, filters: RegistryFilter) -> QuerySet[MediaAccount]:
    """The registry list: visible accounts, filtered, in a stable order; page it with
    RegistryPaginator, which joins platform and unit for one page."""
    qs = access.accounts(MediaAccount.objects.all())
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(account_id__icontains=filters.q))
    if filters.platform:
        qs = qs.filter(platform__code=filters.platform)
    if filters.tier:
        qs = qs.filter(owner_unit__kind__in=kinds_of_tier(filters.tier))
    if filters.unit:
        qs = qs.filter(
            Q(owner_unit_id=filters.unit)
            | Q(owner_unit__parent_id=filters.unit)
            | Q(owner_unit__parent__parent_id=filters.unit)
        )
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by("name", "id")


def account_detail(pk: int) -> QuerySet[MediaAccount]:
    """One account with everything its page shows, in a fixed number of queries."""
    return MediaAccount.objects.select_related("platform", "owner_unit__parent").prefetch_related(
        Prefetch(
            "team",
            queryset=TeamMember.objects.select_related("person").order_by(
                "ends_on", "role", "starts_on", "id"
            ),
        ),
        "history",
    )


def unit_tree(access: Access) -> list[tuple[Unit, int, int]]:
    """Visible units in tree order with their depth and number of accounts.

    A visible unit whose parent is hidden is shown at the top level.
    """
    units = list(
        access.units(Unit.objects.annotate(account_count=Count("accounts")))
        .select_related(None)
        .order_by("sort_order", "name")
    )
    by_parent: dict[int | None, list[Unit]] = {}
    ids = {u.pk for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in ids else None
        by_parent.setdefault(parent, []).append(unit)
    rows: list[tuple[Unit, int, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in by_parent.get(parent, []):
            rows.append((unit, depth, unit.account_count))  # type: ignore[attr-defined]
            walk(unit.pk, depth + 1)

    walk(None, 0)
    return rows


@dataclass
class HomeData:
    my_roles: list[HeldRole]
    status_counts: dict[str, int]
    tier_counts: dict[int, int]
    total: int
    recent: list[MediaAccount]
    due: list[dict[str, Any]] = field(default_factory=list)


def leaving_administrators(
    accounts: QuerySet[MediaAccount], horizon: datetime.date
) -> QuerySet[TeamMember]:
    """Current student administrators of open ``accounts`` expected to leave by ``horizon``."""
    return (
        TeamMember.objects.current()
        .filter(
            account__in=accounts,
            role=TeamRole.ADMINISTRATOR,
            person__expected_end__isnull=False,
            person__expected_end__lte=horizon,
        )
        .exclude(account__status=AccountStatus.CLOSED)
        .select_related("person", "account")
        .order_by("person__expected_end")
    )


def home(access: Access) -> HomeData:
    """What a user sees first: their units and roles, their accounts, and what is due."""
    my_roles = access.role_assignments
    visible = access.accounts()
    status_counts: dict[str, int] = {}
    tier_counts: dict[int, int] = {1: 0, 2: 0, 3: 0}
    for status, kind, count in (
        visible.values_list("status", "owner_unit__kind").annotate(n=Count("id")).order_by()
    ):
        status_counts[status] = status_counts.get(status, 0) + count
        tier_counts[TIER_OF_KIND[kind]] += count
    recent = list(
        visible.select_related("platform", "owner_unit").order_by("-updated_at", "-id")[:8]
    )
    today = timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.CAMPUSMEDIA_GRADUATION_NOTICE_DAYS)
    due: list[dict[str, Any]] = []
    for account in visible.filter(status=AccountStatus.APPROVED).select_related("owner_unit")[:20]:
        due.append({"kind": "not_opened", "account": account, "date": account.planned_opening_on})
    leaving = leaving_administrators(visible, horizon)[:20]
    for member in leaving:
        due.append(
            {
                "kind": "graduating",
                "account": member.account,
                "person": member.person,
                "date": member.person.expected_end,
            }
        )
    return HomeData(
        my_roles=my_roles,
        status_counts=status_counts,
        tier_counts=tier_counts,
        total=sum(status_counts.values()),
        recent=recent,
        due=due,
    )


class RegistryPaginator(Paginator):
    """Pages of the registry: the database orders only the keys, then joins one page's rows.

    ``WHERE owner_unit_id IN (…) ORDER BY name, id LIMIT 50`` over the joined rows makes the
    database fetch and sort every visible row; ordering ``(owner_unit_id, name, id)`` straight
    from a covering index and joining platform and unit for the 50 keys of the page alone keeps
    a secretary's list flat as the registry grows (see ``make bench``).
    """

    related = ("platform", "owner_unit")
    # The columns of a registry row (page and API list): no JSON lists, texts or timestamps.
    fields = (
        "name",
        "account_id",
        "account_type",
        "status",
        "opened_on",
        "follower_count",
        "approval_number",
        "platform__code",
        "platform__name",
        "owner_unit__code",
        "owner_unit__name",
        "owner_unit__kind",
    )

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset = cast("QuerySet[MediaAccount]", self.object_list)
        keys = queryset.values("pk")[bottom:top]
        rows = (
            queryset.model._default_manager.select_related(*self.related)
            .only(*self.fields)
            .filter(pk__in=keys)
            .order_by(*queryset.query.order_by)
        )
        return Page(rows, number, self)
