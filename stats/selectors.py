"""The figures of the statistics page, each aggregated in the database.

Every function runs a fixed number of grouped queries whatever the number of accounts, requests
or forms; Python only sorts the groups into rows (tiers, platforms, units, months). The account
figures start from ``access.accounts()``, the list the registry starts from, and every row carries
the registry filter that lists the same accounts (``MatrixRow.url``): a count on this page is the
number of rows the registry shows behind its link.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from annual_review.choices import Outcome, ReviewState
from annual_review.models import ReviewForm
from annual_review.permissions import visible_forms
from approvals.choices import RequestState, StepAction
from approvals.models import RequestStep, TeamChangeEvent
from campusmedia.choices import TIER_OF_KIND, AccountStatus, Tier, UnitKind, choice_labels
from campusmedia.models import MediaAccount, Platform, Unit
from campusmedia.permissions import Access
from campusmedia.selectors import platforms

# The months the request figures cover, ending with the current one.
MONTHS = 12
# Accounts listed by follower count.
TOP_FOLLOWED = 10
# Outcome key of forms without a conclusion yet (beside the three Outcome values).
NOT_CONCLUDED = "not_concluded"
_DECIDED = (RequestState.APPROVED, RequestState.REJECTED)


def registry_url(params: dict[str, str]) -> str:
    base = reverse("registry")
    return f"{base}?{urlencode(params)}" if params else base


# --- Accounts: by tier, platform and unit, each by status -----------------------------------------


@dataclass(frozen=True)
class Cell:
    status: str
    label: str
    count: int
    url: str


@dataclass
class MatrixRow:
    """Accounts of one tier, platform or unit by status, and the follower figures of its active
    accounts. ``query`` is the registry filter listing the same accounts (None: no such filter)."""

    key: str
    label: str
    query: dict[str, str] | None
    counts: dict[str, int] = field(default_factory=dict)
    followers: int = 0
    with_figure: int = 0
    tier: int | None = None
    note: str = ""

    def add(self, status: str, n: int, followers: int | None, with_figure: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + n
        if status == AccountStatus.ACTIVE:
            self.followers += followers or 0
            self.with_figure += with_figure

    def url(self, status: str = "") -> str:
        if self.query is None:
            return ""
        return registry_url({**self.query, "status": status} if status else self.query)

    @property
    def active_url(self) -> str:
        return self.url(AccountStatus.ACTIVE)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def active(self) -> int:
        return self.counts.get(AccountStatus.ACTIVE, 0)

    @property
    def without_figure(self) -> int:
        return self.active - self.with_figure

    @property
    def average(self) -> int | None:
        return round(self.followers / self.with_figure) if self.with_figure else None

    @property
    def cells(self) -> list[Cell]:
        """One cell per status, in the vocabulary's order (a zero has no link)."""
        cells = []
        for status, label in choice_labels(AccountStatus).items():
            n = self.counts.get(status, 0)
            cells.append(Cell(status, label, n, self.url(status) if n else ""))
        return cells


@dataclass
class Matrix:
    rows: list[MatrixRow]
    total: MatrixRow


def _grouped(access: Access, *fields: str) -> QuerySet[MediaAccount, dict[str, Any]]:
    """Visible accounts counted per ``fields`` and status, with the followers of each group."""
    return (
        access.accounts(MediaAccount.objects.all())
        .order_by()
        .values(*fields, "status")
        .annotate(n=Count("id"), followers=Sum("follower_count"), figures=Count("follower_count"))
    )


def _total(rows: Iterable[MatrixRow]) -> MatrixRow:
    total = MatrixRow(key="total", label=_("合计"), query={})
    for row in rows:
        for status, n in row.counts.items():
            total.counts[status] = total.counts.get(status, 0) + n
        total.followers += row.followers
        total.with_figure += row.with_figure
    return total


def accounts_by_tier(access: Access) -> Matrix:
    labels = choice_labels(Tier)
    rows = {
        tier: MatrixRow(key=str(tier), label=labels[tier], query={"tier": str(tier)}, tier=tier)
        for tier in Tier.values
    }
    for group in _grouped(access, "owner_unit__kind"):
        rows[TIER_OF_KIND[group["owner_unit__kind"]]].add(
            group["status"], group["n"], group["followers"], group["figures"]
        )
    return Matrix(rows=list(rows.values()), total=_total(rows.values()))


def accounts_by_platform(access: Access) -> Matrix:
    """Every platform of the catalogue, those without accounts included."""
    catalogue = {p.pk: p for p in platforms()}
    groups = list(_grouped(access, "platform_id"))
    missing = {g["platform_id"] for g in groups} - catalogue.keys()
    if missing:  # added since the catalogue was cached
        catalogue.update({p.pk: p for p in Platform.objects.filter(pk__in=missing)})
    ordered = sorted(catalogue.values(), key=lambda p: (p.sort_order, p.name))
    rows = {p.pk: MatrixRow(key=p.code, label=p.name, query={"platform": p.code}) for p in ordered}
    for group in groups:
        rows[group["platform_id"]].add(
            group["status"], group["n"], group["followers"], group["figures"]
        )
    return Matrix(rows=list(rows.values()), total=_total(rows.values()))


def accounts_by_unit(access: Access) -> Matrix:
    """Per unit directly under the school, its accounts with those of its sub-units and student
    organisations (down to grandchildren, as the registry's unit filter reaches), after a first
    row for the school's own (tier-1) accounts. Top-level units without accounts are listed while
    they are active."""
    kinds = choice_labels(UnitKind)
    tops = list(
        access.units(Unit.objects.filter(parent__kind=UnitKind.SCHOOL))
        .order_by("sort_order", "name")
        .values("pk", "name", "kind", "is_active")
    )
    school = MatrixRow(
        key="school", label=_("学校（一级平台）"), query={"tier": str(Tier.ONE)}, tier=Tier.ONE
    )
    rows: dict[int, MatrixRow] = {
        u["pk"]: MatrixRow(
            key=str(u["pk"]),
            label=u["name"],
            query={"unit": str(u["pk"])},
            tier=TIER_OF_KIND[u["kind"]],
            note=kinds[u["kind"]],
        )
        for u in tops
    }
    other = MatrixRow(key="other", label=_("其他"), query=None, note=_("不在上述单位之下"))
    chain = ("owner_unit_id", "owner_unit__parent_id", "owner_unit__parent__parent_id")
    for group in _grouped(access, "owner_unit__kind", *chain):
        if group["owner_unit__kind"] == UnitKind.SCHOOL:
            row = school
        else:
            row = next((rows[group[f]] for f in chain if group[f] in rows), other)
        row.add(group["status"], group["n"], group["followers"], group["figures"])
    active_ids = {u["pk"] for u in tops if u["is_active"]}
    listed = [school, *(r for pk, r in rows.items() if r.total or pk in active_ids)]
    if other.total:
        listed.append(other)
    return Matrix(rows=listed, total=_total(listed))


def top_followed(access: Access, limit: int = TOP_FOLLOWED) -> list[MediaAccount]:
    """The active accounts with the most followers (ties by name)."""
    return list(
        access.accounts(MediaAccount.objects.all())
        .filter(status=AccountStatus.ACTIVE, follower_count__isnull=False)
        .select_related("platform", "owner_unit")
        .only(
            "name",
            "follower_count",
            "platform__name",
            "owner_unit__name",
            "owner_unit__kind",
        )
        .order_by("-follower_count", "name", "id")[:limit]
    )


# --- Requests per month ---------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: datetime.date  # the first day
    label: str
    submitted: int = 0
    approved: int = 0
    rejected: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def median_days(self) -> float | None:
        return round(statistics.median(self.days), 1) if self.days else None


@dataclass
class RequestMonths:
    months: list[MonthRow]
    total: MonthRow
    start: datetime.date
    end: datetime.date  # the first day after the window

    @property
    def first(self) -> MonthRow:
        return self.months[0]

    @property
    def last(self) -> MonthRow:
        return self.months[-1]


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month_key(value: datetime.datetime | datetime.date) -> tuple[int, int]:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.year, value.month


def _visible_steps(access: Access) -> QuerySet[RequestStep]:
    steps = RequestStep.objects.all()
    ids = access.unit_ids()
    return steps if ids is None else steps.filter(request__owner_unit_id__in=ids)


def requests_by_month(access: Access, today: datetime.date | None = None) -> RequestMonths:
    """Per month of the last ``MONTHS`` ending with this one: requests first submitted (a
    resubmission after a return does not count again), requests decided (the step into
    approved or rejected: a rejection has no ``decided_at``, its step has the time), and the
    median days from first submission to that decision for the requests decided in the month."""
    today = today or timezone.localdate()
    end = _add_months(today.replace(day=1), 1)
    start = _add_months(end, -MONTHS)
    window = Q(at__gte=_local_midnight(start), at__lt=_local_midnight(end))
    steps = _visible_steps(access)
    months = {}
    for i in range(MONTHS):
        first = _add_months(start, i)
        label = _("%(year)s年%(month)s月") % {"year": first.year, "month": first.month}
        months[(first.year, first.month)] = MonthRow(month=first, label=label)

    earlier_submission = RequestStep.objects.filter(
        request=OuterRef("request"), action=StepAction.SUBMIT
    ).filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")))
    submitted = (
        steps.filter(window, action=StepAction.SUBMIT)
        .filter(~Exists(earlier_submission))
        .annotate(month=TruncMonth("at"))
        .order_by()
        .values("month")
        .annotate(n=Count("id"))
    )
    for group in submitted:
        months[_month_key(group["month"])].submitted += group["n"]

    decisions = steps.filter(window, target_state__in=_DECIDED).exclude(source_state__in=_DECIDED)
    decided = (
        decisions.annotate(month=TruncMonth("at"))
        .order_by()
        .values("month", "target_state")
        .annotate(n=Count("id"))
    )
    for group in decided:
        row = months[_month_key(group["month"])]
        if group["target_state"] == RequestState.APPROVED:
            row.approved += group["n"]
        else:
            row.rejected += group["n"]

    first_submission = (
        RequestStep.objects.filter(request=OuterRef("request"), action=StepAction.SUBMIT)
        .order_by("at", "pk")
        .values("at")[:1]
    )
    # The median is computed here from one list of (decision, first submission) pairs.
    total = MonthRow(month=start, label=_("合计"))
    for decided_at, submitted_at in decisions.annotate(
        submitted=Subquery(first_submission)
    ).values_list("at", "submitted"):
        if submitted_at is None:
            continue
        days = (decided_at - submitted_at).total_seconds() / 86400
        months[_month_key(decided_at)].days.append(days)
        total.days.append(days)

    rows = list(months.values())
    total.submitted = sum(r.submitted for r in rows)
    total.approved = sum(r.approved for r in rows)
    total.rejected = sum(r.rejected for r in rows)
    return RequestMonths(months=rows, total=total, start=start, end=end)


# --- Late filings under the 3-day rule ------------------------------------------------------------


@dataclass
class LateRow:
    unit_id: int | None
    label: str
    tier: int | None = None
    events: int = 0
    late: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def on_time(self) -> int:
        return self.events - self.late - self.open


@dataclass
class LateFilings:
    rows: list[LateRow]
    total: LateRow


def late_filings(access: Access, today: datetime.date | None = None) -> LateFilings:
    """Per owning unit with any team change: changes recorded, filed late (``is_late`` of a
    filed change: filed after its due date), still open, and of those overdue (as
    ``TeamChangeEvent.objects.open()`` and ``overdue()``)."""
    today = today or timezone.localdate()
    events = TeamChangeEvent.objects.all()
    ids = access.unit_ids()
    if ids is not None:
        events = events.filter(account__owner_unit_id__in=ids)
    grouped = (
        events.order_by()
        .values("account__owner_unit_id", "account__owner_unit__name", "account__owner_unit__kind")
        .annotate(
            events=Count("id"),
            late=Count("id", filter=Q(filed_at__isnull=False, filed_at__date__gt=F("due_on"))),
            open=Count("id", filter=Q(filed_at__isnull=True)),
            overdue=Count("id", filter=Q(filed_at__isnull=True, due_on__lt=today)),
        )
        .order_by("-overdue", "-late", "-open", "account__owner_unit__name")
    )
    rows = [
        LateRow(
            unit_id=g["account__owner_unit_id"],
            label=g["account__owner_unit__name"],
            tier=TIER_OF_KIND[g["account__owner_unit__kind"]],
            events=g["events"],
            late=g["late"],
            open=g["open"],
            overdue=g["overdue"],
        )
        for g in grouped
    ]
    total = LateRow(unit_id=None, label=_("合计"))
    for row in rows:
        total.events += row.events
        total.late += row.late
        total.open += row.open
        total.overdue += row.overdue
    return LateFilings(rows=rows, total=total)


# --- Annual review outcomes -----------------------------------------------------------------------


@dataclass
class OutcomeRow:
    year: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def concluded(self) -> int:
        return self.total - self.counts.get(NOT_CONCLUDED, 0)


def outcome_keys() -> list[tuple[str, str]]:
    """The columns of the outcome figures: the three outcomes, then "not concluded"."""
    return [*choice_labels(Outcome).items(), (NOT_CONCLUDED, _("未出结论"))]


def review_outcomes(access: Access) -> list[OutcomeRow]:
    """Per campaign year, newest first: forms concluded pass, rectify or fail, and forms without
    a conclusion (a form reopened for rectification counts again once it is concluded anew)."""
    grouped = (
        visible_forms(access, ReviewForm.objects.all())
        .order_by()
        .values("campaign__year", "state", "outcome")
        .annotate(n=Count("id"))
    )
    rows: dict[int, OutcomeRow] = {}
    for group in grouped:
        row = rows.setdefault(group["campaign__year"], OutcomeRow(year=group["campaign__year"]))
        if group["state"] == ReviewState.CONCLUDED:
            # As the progress page counts it: a conclusion without an outcome is a pass.
            key = group["outcome"] or Outcome.PASS
        else:
            key = NOT_CONCLUDED
        row.counts[key] = row.counts.get(key, 0) + group["n"]
    return [rows[year] for year in sorted(rows, reverse=True)]


# --- The page -------------------------------------------------------------------------------------


@dataclass
class Overview:
    today: datetime.date
    by_tier: Matrix
    by_platform: Matrix
    by_unit: Matrix
    top_followed: list[MediaAccount]
    requests: RequestMonths
    late: LateFilings
    outcomes: list[OutcomeRow]


def overview(access: Access, today: datetime.date | None = None) -> Overview:
    today = today or timezone.localdate()
    return Overview(
        today=today,
        by_tier=accounts_by_tier(access),
        by_platform=accounts_by_platform(access),
        by_unit=accounts_by_unit(access),
        top_followed=top_followed(access),
        requests=requests_by_month(access, today),
        late=late_filings(access, today),
        outcomes=review_outcomes(access),
    )
