"""Reads of municipal filing: what is due (the 30-day rules), batches and their items.

``due_filings`` answers from the history alone, without reading anyone's personal data: an
account is due when it runs and was never filed, when its history has moved since its data was
last found equal to what the office holds, or when it was closed after being filed as running.
A change to a field no city form prints makes an account look due until the next batch compares
its data and finds it unchanged (``filing.services.batch_create`` then marks it checked).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from campusmedia.choices import AccountStatus
from campusmedia.models import AccountHistory, MediaAccount
from filing.choices import ItemKind, Receipt
from filing.cities import CityForm, city_form
from filing.models import AccountFiling, Batch, BatchItem
from filing.services import LIVE_STATUSES


@dataclass(frozen=True)
class DueFiling:
    account_id: int
    name: str
    unit_name: str
    kind: str  # ItemKind
    since: datetime.date
    due_on: datetime.date
    waiting: bool  # in a batch awaiting the office's receipt

    @property
    def overdue(self) -> bool:
        return self.due_on < timezone.localdate()

    @property
    def kind_label(self) -> str:
        return str(ItemKind(self.kind).label)


def _due_queryset(form: CityForm) -> QuerySet[MediaAccount]:
    checked = OuterRef("municipal_filing__checked_at")
    first_change = (
        AccountHistory.objects.filter(account=OuterRef("pk"), at__gt=checked)
        .order_by("at")
        .values("at")[:1]
    )
    last_change = (
        AccountHistory.objects.filter(account=OuterRef("pk")).order_by("-at").values("at")[:1]
    )
    waiting = BatchItem.objects.filter(
        account=OuterRef("pk"), receipt=Receipt.PENDING, batch__created_at__gte=OuterRef("last")
    )
    accounts = MediaAccount.objects.all()
    if form.platforms is not None:
        accounts = accounts.filter(platform__code__in=form.platforms)
    filed = Q(municipal_filing__isnull=False)
    return (
        accounts.annotate(
            first_change=Subquery(first_change),
            last=Coalesce(Subquery(last_change), F("created_at")),
        )
        .annotate(waiting=Exists(waiting))
        .filter(
            Q(status__in=LIVE_STATUSES, municipal_filing__isnull=True)
            | Q(status__in=LIVE_STATUSES, municipal_filing__filed_closed=True)
            | (filed & Q(municipal_filing__filed_closed=False, first_change__isnull=False))
            | (filed & Q(status=AccountStatus.CLOSED, municipal_filing__filed_closed=False))
        )
    )


def _due(row: dict, days: int) -> DueFiling:
    never = row["municipal_filing__filed_closed"] is None or row["municipal_filing__filed_closed"]
    if row["status"] == AccountStatus.CLOSED:
        kind = ItemKind.CLOSE
        since = row["closed_on"] or timezone.localdate(row["first_change"] or row["updated_at"])
    elif never:
        kind = ItemKind.NEW
        since = row["opened_on"] or timezone.localdate(row["created_at"])
    else:
        kind = ItemKind.CHANGE
        since = timezone.localdate(row["first_change"])
    return DueFiling(
        account_id=row["pk"],
        name=row["name"],
        unit_name=row["owner_unit__name"],
        kind=kind,
        since=since,
        due_on=since + datetime.timedelta(days=days),
        waiting=row["waiting"],
    )


def due_filings(
    *, form: CityForm | None = None, accounts: QuerySet[MediaAccount] | None = None
) -> list[DueFiling]:
    """Every account due for municipal filing, soonest first (two queries)."""
    form = form or city_form()
    queryset = _due_queryset(form)
    if accounts is not None:
        queryset = queryset.filter(pk__in=accounts.values("pk"))
    rows = queryset.values(  # type: ignore[misc]  # annotations of _due_queryset
        "pk",
        "name",
        "status",
        "opened_on",
        "closed_on",
        "created_at",
        "updated_at",
        "first_change",
        "waiting",
        "owner_unit__name",
        "municipal_filing__filed_closed",
    )
    days = settings.CAMPUSMEDIA_FILING_DAYS
    return sorted((_due(row, days) for row in rows), key=lambda d: (d.due_on, d.name))


@dataclass(frozen=True)
class DueSummary:
    to_batch: int  # due and in no batch
    overdue: int  # of those, past the due date
    waiting: int  # in a batch awaiting the receipt
    soonest: list[DueFiling]


def due_summary(*, limit: int = 8) -> DueSummary:
    """The department's home panel: counts and the most urgent accounts."""
    due = due_filings()
    open_ = [d for d in due if not d.waiting]
    return DueSummary(
        to_batch=len(open_),
        overdue=sum(1 for d in open_ if d.overdue),
        waiting=len(due) - len(open_),
        soonest=open_[:limit],
    )


@dataclass(frozen=True)
class AccountFilingState:
    """The municipal filing line of an account's page."""

    tone: str  # "ok", "due", "late", "wait", "none"
    due: DueFiling | None = None
    filing: AccountFiling | None = None
    waiting_item: BatchItem | None = None
    not_covered: bool = False


def account_filing_state(account: MediaAccount) -> AccountFilingState:
    form = city_form()
    if form.platforms is not None and account.platform.code not in form.platforms:
        return AccountFilingState(tone="none", not_covered=True)
    due = next(
        iter(due_filings(form=form, accounts=MediaAccount.objects.filter(pk=account.pk))), None
    )
    filing = AccountFiling.objects.filter(account=account).select_related("item__batch").first()
    waiting_item = (
        BatchItem.objects.filter(account=account, receipt=Receipt.PENDING)
        .select_related("batch")
        .order_by("-batch__created_at")
        .first()
    )
    if due is None:
        tone = "ok" if filing is not None else "none"
    elif due.waiting:
        tone = "wait"
    else:
        tone = "late" if due.overdue else "due"
    return AccountFilingState(tone=tone, due=due, filing=filing, waiting_item=waiting_item)


def batch_list() -> QuerySet[Batch]:
    """Batches with their item counts by receipt (one query)."""
    return (
        Batch.objects.select_related("created_by")
        .annotate(
            n_items=Count("items"),
            n_filed=Count("items", filter=Q(items__receipt=Receipt.FILED)),
            n_returned=Count("items", filter=Q(items__receipt=Receipt.RETURNED)),
        )
        .order_by("-year", "-seq")
    )


def batch_items(batch: Batch) -> QuerySet[BatchItem]:
    return batch.items.select_related("office", "account__platform")
