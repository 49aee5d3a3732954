"""What the review pages, the report and the API read. Query counts do not grow with forms."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from annual_review.choices import Progress, ReviewState
from annual_review.models import CloseOrder, ReviewCampaign, ReviewForm, ZeroReport, progress_of
from annual_review.permissions import visible_forms, waiting_for, with_unit
from annual_review.services import year_team_changes
from approvals.services import account_data
from campusmedia.choices import TIER_OF_KIND, TeamRole, Tier, UnitKind, choice_labels
from campusmedia.models import Unit
from campusmedia.permissions import Access

PROGRESS_ORDER = list(Progress.values)
CONCLUDED = (Progress.PASS, Progress.RECTIFY, Progress.FAIL)


@dataclass
class ProgressRow:
    """Counts of forms by progress category for one unit or one tier."""

    key: Any
    label: str
    counts: Counter[str] = field(default_factory=Counter)
    tier: int | None = None
    zero_report: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def concluded(self) -> int:
        return sum(self.counts[c] for c in CONCLUDED)

    @property
    def answered(self) -> int:
        """Forms that reached the unit's head or the department."""
        return self.total - self.counts[Progress.NOT_STARTED] - self.counts[Progress.IN_PROGRESS]

    @property
    def percent_concluded(self) -> int:
        return round(100 * self.concluded / self.total) if self.total else 0

    def cells(self) -> list[int]:
        return [self.counts[c] for c in PROGRESS_ORDER]


@dataclass
class CampaignProgress:
    campaign: ReviewCampaign
    total: ProgressRow
    tiers: list[ProgressRow]
    units: list[ProgressRow]
    overdue: list[ReviewForm]
    overdue_count: int
    open_orders: list[CloseOrder]
    zero_reports: int
    units_without_forms: int
    # Units without forms that filed no zero report either: they did not answer.
    units_silent: int

    @property
    def categories(self) -> list[tuple[str, str]]:
        labels = choice_labels(Progress)
        return [(c, labels[c]) for c in PROGRESS_ORDER]


def campaign_progress(
    campaign: ReviewCampaign, access: Access, *, overdue_limit: int = 100
) -> CampaignProgress:
    """Progress per tier and per unit, the overdue list and open close orders (fixed queries)."""
    forms = visible_forms(access, ReviewForm.objects.filter(campaign=campaign))
    grouped = (
        forms.order_by()
        .values("owner_unit_id", "state", "outcome")
        .annotate(n=Count("id"), started=Count("started_at"))
    )
    per_unit: dict[int, Counter[str]] = {}
    for row in grouped:
        counts = per_unit.setdefault(row["owner_unit_id"], Counter())
        if row["state"] == ReviewState.DRAFT:
            counts[Progress.IN_PROGRESS] += row["started"]
            counts[Progress.NOT_STARTED] += row["n"] - row["started"]
        else:
            counts[progress_of(row["state"], row["outcome"], True)] += row["n"]
    units = {
        u["pk"]: u
        for u in access.units(Unit.objects.filter(pk__in=per_unit)).values(
            "pk", "name", "kind", "sort_order"
        )
    }
    tier_labels = choice_labels(Tier)
    tiers = {t: ProgressRow(key=t, label=tier_labels[t], tier=t) for t in Tier.values}
    total = ProgressRow(key="total", label="")
    unit_rows = []
    for unit_id, counts in per_unit.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        tier = TIER_OF_KIND[unit["kind"]]
        unit_rows.append(ProgressRow(key=unit_id, label=unit["name"], counts=counts, tier=tier))
        tiers[tier].counts.update(counts)
        total.counts.update(counts)
    unit_rows.sort(key=lambda r: (units[r.key]["sort_order"], r.label))

    overdue_qs = forms.overdue().select_related("account", "owner_unit", "campaign")
    overdue = list(overdue_qs.order_by("owner_unit__sort_order", "account__name")[:overdue_limit])
    overdue_count = len(overdue) if len(overdue) < overdue_limit else overdue_qs.count()

    orders = CloseOrder.objects.open().filter(review__campaign=campaign)
    visible = access.unit_ids()
    if visible is not None:
        orders = orders.filter(account__owner_unit_id__in=visible)
    open_orders = list(orders.select_related("account", "account__owner_unit"))

    zero = ZeroReport.objects.filter(campaign=campaign)
    if visible is not None:
        zero = zero.filter(unit_id__in=visible)
    without = (
        access.units(Unit.objects.filter(is_active=True))
        .exclude(kind=UnitKind.SCHOOL)
        .filter(~Exists(ReviewForm.objects.filter(campaign=campaign, owner_unit_id=OuterRef("pk"))))
    )
    return CampaignProgress(
        campaign=campaign,
        total=total,
        tiers=[tiers[t] for t in Tier.values],
        units=unit_rows,
        overdue=overdue,
        overdue_count=overdue_count,
        open_orders=open_orders,
        zero_reports=zero.count(),
        units_without_forms=without.count(),
        units_silent=without.exclude(
            Exists(ZeroReport.objects.filter(campaign=campaign, unit_id=OuterRef("pk")))
        ).count(),
    )


def form_list(access: Access, campaign: ReviewCampaign) -> QuerySet[ReviewForm]:
    """The forms of a campaign the user may see, with what a list row shows."""
    return visible_forms(access, ReviewForm.objects.filter(campaign=campaign)).select_related(
        "account", "account__platform", "owner_unit", "campaign"
    )


@dataclass
class ReviewPanel:
    """The home page's review panel: the open campaign and what waits for the user."""

    campaign: ReviewCampaign | None
    waiting: int
    waiting_forms: list[ReviewForm]
    open_orders: int


def home_panel(access: Access) -> ReviewPanel:
    campaign = ReviewCampaign.objects.order_by("-year").first()
    if campaign is None or not access.user.is_authenticated:
        return ReviewPanel(campaign=campaign, waiting=0, waiting_forms=[], open_orders=0)
    waiting = waiting_for(access, ReviewForm.objects.filter(campaign=campaign))
    rows = list(waiting.select_related("account", "owner_unit").order_by("id")[:6])
    orders = CloseOrder.objects.open()
    visible = access.unit_ids()
    if visible is not None:
        orders = orders.filter(account__owner_unit_id__in=visible)
    return ReviewPanel(
        campaign=campaign,
        waiting=len(rows) if len(rows) < 6 else waiting.count(),
        waiting_forms=rows[:5],
        open_orders=orders.count(),
    )


# --- One form: the registry as the form shows it, and the year's team changes ---------------------


def progress_counts(forms: QuerySet[ReviewForm]) -> Counter[str]:
    """Forms by progress category, in one grouped query (as ``campaign_progress`` counts them)."""
    counts: Counter[str] = Counter()
    rows = (
        forms.order_by()
        .values("state", "outcome")
        .annotate(n=Count("id"), started=Count("started_at"))
    )
    for row in rows:
        if row["state"] == ReviewState.DRAFT:
            counts[Progress.IN_PROGRESS] += row["started"]
            counts[Progress.NOT_STARTED] += row["n"] - row["started"]
        else:
            counts[progress_of(row["state"], row["outcome"], True)] += row["n"]
    return counts


def zero_report_units(access: Access, campaign: ReviewCampaign) -> list[Unit]:
    """Units the user keeps through a unit role that have no form in the campaign, each with
    ``zero_filed_at`` (their zero report, if filed)."""
    kept = [uid for uid, names in access.unit_codenames.items() if "manage_unit" in names]
    if not kept:
        return []
    filed = ZeroReport.objects.filter(campaign=campaign, unit_id=OuterRef("pk")).values("filed_at")[
        :1
    ]
    return list(
        Unit.objects.filter(pk__in=kept, is_active=True)
        .exclude(kind=UnitKind.SCHOOL)
        .exclude(Exists(ReviewForm.objects.filter(campaign=campaign, owner_unit_id=OuterRef("pk"))))
        .annotate(zero_filed_at=Subquery(filed))
        .order_by("sort_order", "name")
    )


@dataclass(frozen=True)
class TeamLine:
    role: str
    role_label: str
    name: str = ""
    title: str = ""


@dataclass(frozen=True)
class FormRegistry:
    """The account and team a form shows: what the unit confirmed (``snapshot``) once the form
    left its hands, the registry while the unit fills it in (again). ``values`` are stored as the
    requests store them (codes, ISO dates: ``approvals.services.data_to_fields`` reads them)."""

    values: dict[str, Any]
    team: list[TeamLine]
    from_snapshot: bool


def registry_view(form: ReviewForm) -> FormRegistry:
    roles = choice_labels(TeamRole)
    snapshot = form.snapshot or {}
    if not with_unit(form) and snapshot.get("account"):
        members = [
            (m["role"], m.get("name") or "", m.get("title") or "")
            for m in snapshot.get("team") or []
        ]
        values, from_snapshot = snapshot["account"], True
    else:
        current = form.account.team.current().select_related("person").order_by("id")
        members = [(m.role, m.person.name, m.person.title) for m in current]
        values, from_snapshot = account_data(form.account), False
    team = sorted(
        (TeamLine(role, roles.get(role, role), name, title) for role, name, title in members),
        key=lambda line: line.role != TeamRole.SUPERVISOR,
    )
    return FormRegistry(values=values, team=team, from_snapshot=from_snapshot)


@dataclass(frozen=True)
class ChangeLine:
    """A team change of the year with the system's reckoning of the 3-day rule."""

    person: str
    role: str
    role_label: str
    happened_on: datetime.date
    due_on: datetime.date
    filed_on: datetime.date | None
    request_url: str
    is_late: bool

    @property
    def verdict(self) -> str:
        if self.filed_on is not None:
            return _("逾期报备") if self.is_late else _("按时报备")
        return _("逾期未报备") if self.is_late else _("待报备")


def change_lines(form: ReviewForm, roles: dict[str, str] | None = None) -> list[ChangeLine]:
    """The year's team changes (``services.year_team_changes``), role labels from ``roles``."""
    roles = roles or choice_labels(TeamRole)
    return [
        ChangeLine(
            person=event.person.name,
            role=event.role,
            role_label=roles.get(event.role, event.role),
            happened_on=event.happened_on,
            due_on=event.due_on,
            filed_on=timezone.localdate(event.filed_at) if event.filed_at else None,
            request_url=(
                event.filed_by_request.get_absolute_url() if event.filed_by_request else ""
            ),
            is_late=event.is_late,
        )
        for event in year_team_changes(form)
    ]
