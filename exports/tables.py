"""The four exports as tables: the registry, the requests, one year's review forms and the
municipal filing batches.

Each starts from the same access selector and the same filters as its page, so "导出" gives
what the user is looking at (every row, not one page), and reads its rows in one query:

* registry: ``campusmedia.selectors.registry_accounts`` (``Access.accounts``) and
  ``RegistryFilter``; each account's current team comes in the same row, as a JSON array built by
  a correlated subquery (``aggregates.JSONGroupArray``). Mobiles and e-mails are stored encrypted,
  so they are decrypted and masked here, each distinct value once.
* requests: ``approvals.permissions.visible_requests`` (or ``waiting_for`` for the inbox) and the
  list's ``state`` and ``kind``; the time of the first sign-off comes from the timeline by a
  correlated subquery.
* reviews: ``annual_review.permissions.visible_forms`` of one campaign and the campaign page's
  ``FormFilter``; the columns of ``annual_review.documents.results_xlsx``.
* batches: the department's and the auditor's only (``filing.permissions.may_view_batches``,
  asked by the view); one row per account in a batch.

Personal data leaves only masked (``campusmedia.masking``); ID numbers are never read.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, F, JSONField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annual_review.choices import Outcome, ReviewState
from annual_review.models import ReviewCampaign, ReviewForm
from annual_review.permissions import visible_forms
from annual_review.views import FormFilter
from approvals import permissions as request_permissions
from approvals.choices import RequestKind, RequestState, StepAction
from approvals.models import RequestStep, TeamChangeEvent
from campusmedia.choices import TIER_OF_KIND, AccountStatus, TeamRole, Tier, Verification
from campusmedia.choices import choice_labels as labels
from campusmedia.crypto import decrypt
from campusmedia.masking import mask_email, mask_mobile
from campusmedia.models import Platform, TeamMember
from campusmedia.permissions import Access
from campusmedia.selectors import RegistryFilter, registry_accounts
from exports.aggregates import JSONGroupArray
from exports.writers import Column, Table
from filing.choices import BatchState, ItemKind, Receipt
from filing.models import Batch, BatchItem

# Rows fetched per round trip while streaming (one query, read in chunks).
CHUNK = 2000
# Several people in one cell (the administrators of an account).
JOIN = "；"
MISSING = "—"


def _present(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters that are set, for the audit row."""
    return {key: value for key, value in filters.items() if value not in ("", None, False)}


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    """A stored time as local wall-clock time to the minute (spreadsheets know no time zones)."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)


def _who(name: str | None, login: str | None) -> str:
    """A user as the timeline names them: the person's name and the login."""
    if not login:
        return ""
    return f"{name}（{login}）" if name else login


# --- The registry --------------------------------------------------------------------------------

REGISTRY_COLUMNS = (
    Column(gettext_lazy("账号名称"), 28),
    Column(gettext_lazy("平台"), 12),
    Column(gettext_lazy("账号类型"), 10),
    Column(gettext_lazy("账号ID"), 18),
    Column(gettext_lazy("主办单位"), 24),
    Column(gettext_lazy("级别"), 10),
    Column(gettext_lazy("状态"), 12),
    Column(gettext_lazy("审批号"), 16),
    Column(gettext_lazy("开通日期"), 12),
    Column(gettext_lazy("认证情况"), 10),
    Column(gettext_lazy("粉丝量"), 10),
    Column(gettext_lazy("主页链接"), 30),
    Column(gettext_lazy("主要负责人"), 12),
    Column(gettext_lazy("主要负责人手机"), 15),
    Column(gettext_lazy("管理员"), 16),
    Column(gettext_lazy("管理员手机"), 16),
    Column(gettext_lazy("管理员邮箱"), 26),
)

# The account's own columns, in the order of REGISTRY_COLUMNS (the bench's baseline reads these).
REGISTRY_FIELDS = (
    "name",
    "platform__name",
    "account_type",
    "account_id",
    "owner_unit__name",
    "owner_unit__kind",
    "status",
    "approval_number",
    "opened_on",
    "verification",
    "follower_count",
    "url",
)


def current_team() -> Subquery:
    """The account's current team as a JSON array of ``{role, name, mobile, email, since, id}``
    (mobile and e-mail still encrypted), or NULL without one: a correlated subquery."""
    members = (
        TeamMember.objects.filter(account=OuterRef("pk"), ends_on__isnull=True)
        .order_by()
        .values("account")
        .annotate(
            members=JSONGroupArray(
                JSONObject(
                    role="role",
                    name="person__name",
                    mobile="person__mobile",
                    email="person__email",
                    since="starts_on",
                    id="id",
                )
            )
        )
        .values("members")
    )
    return Subquery(members, output_field=JSONField())


class _Masks:
    """Decrypts and masks contact data, each distinct stored token once per export (a person on
    the teams of many accounts is decrypted once)."""

    def __init__(self) -> None:
        self._mobiles: dict[str, str] = {}
        self._emails: dict[str, str] = {}

    def mobile(self, token: str | None) -> str:
        if not token:
            return ""
        found = self._mobiles.get(token)
        if found is None:
            found = self._mobiles[token] = mask_mobile(decrypt(token))
        return found

    def email(self, token: str | None) -> str:
        if not token:
            return ""
        found = self._emails.get(token)
        if found is None:
            found = self._emails[token] = mask_email(decrypt(token))
        return found


def _joined(values: Sequence[str]) -> str:
    """One cell for several people: aligned across the name, mobile and e-mail columns, so a
    missing value of one of several is shown as a dash."""
    if len(values) == 1:
        return values[0]
    return JOIN.join(value or MISSING for value in values)


def _team_cells(team: list[dict[str, Any]] | None, masks: _Masks) -> list[str]:
    """Supervising leader (name, mobile), administrators (names, mobiles, e-mails)."""
    members = sorted(
        team or (),
        key=lambda m: (m["role"] != TeamRole.SUPERVISOR, str(m["since"] or ""), m["id"]),
    )
    leaders = [m for m in members if m["role"] == TeamRole.SUPERVISOR]
    admins = [m for m in members if m["role"] != TeamRole.SUPERVISOR]
    return [
        _joined([m["name"] for m in leaders]),
        _joined([masks.mobile(m["mobile"]) for m in leaders]),
        _joined([m["name"] for m in admins]),
        _joined([masks.mobile(m["mobile"]) for m in admins]),
        _joined([masks.email(m["email"]) for m in admins]),
    ]


def registry_query(access: Access, filters: RegistryFilter) -> QuerySet[Any]:
    """The visible, filtered accounts in the registry's order with their current teams."""
    return (
        registry_accounts(access, filters)
        .annotate(current_team=current_team())
        .values_list(*REGISTRY_FIELDS, "current_team")
    )


def _registry_rows(access: Access, filters: RegistryFilter) -> Iterator[list[Any]]:
    tiers, statuses = labels(Tier), labels(AccountStatus)
    verifications = labels(Verification)
    masks = _Masks()
    for row in registry_query(access, filters).iterator(chunk_size=CHUNK):
        (name, platform, kind, ident, unit, unit_kind, status, number, opened) = row[:9]
        verification, followers, url, team = row[9:]
        yield [
            name,
            platform,
            kind,
            ident,
            unit,
            tiers.get(TIER_OF_KIND.get(unit_kind, 0), ""),
            statuses.get(status, status),
            number,
            opened,
            verifications.get(verification, verification),
            followers,
            url,
            *_team_cells(team, masks),
        ]


def registry(access: Access, filters: RegistryFilter) -> Table:
    return Table(
        what="registry",
        title=_("账号登记"),
        columns=REGISTRY_COLUMNS,
        rows=_registry_rows(access, filters),
        filters=_present(asdict(filters)),
    )


# --- Requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """The request list's filters (``approvals.views.request_list``), or its inbox."""

    state: str = ""
    kind: str = ""
    inbox: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RequestFilter:
        state = str(params.get("state") or "")
        kind = str(params.get("kind") or "")
        return cls(
            state=state if state in RequestState.values else "",
            kind=kind if kind in RequestKind.values else "",
            inbox=params.get("inbox") == "1",
        )


REQUEST_COLUMNS = (
    Column(gettext_lazy("申请编号"), 10),
    Column(gettext_lazy("审批类型"), 12),
    Column(gettext_lazy("账号名称"), 26),
    Column(gettext_lazy("平台"), 12),
    Column(gettext_lazy("主办单位"), 24),
    Column(gettext_lazy("级别"), 10),
    Column(gettext_lazy("状态"), 14),
    Column(gettext_lazy("提交人"), 18),
    Column(gettext_lazy("创建时间"), 17),
    Column(gettext_lazy("提交时间"), 17),
    Column(gettext_lazy("初审人"), 18),
    Column(gettext_lazy("初审时间"), 17),
    Column(gettext_lazy("决定人"), 18),
    Column(gettext_lazy("决定时间"), 17),
    Column(gettext_lazy("审批号"), 16),
    Column(gettext_lazy("逾期报备"), 10),
)


def request_query(access: Access, filters: RequestFilter) -> QuerySet[Any]:
    if filters.inbox:
        queryset = request_permissions.waiting_for(access)
    else:
        queryset = request_permissions.visible_requests(access)
        if filters.state:
            queryset = queryset.filter(state=filters.state)
        if filters.kind:
            queryset = queryset.filter(kind=filters.kind)
    endorsed_at = (
        RequestStep.objects.filter(request=OuterRef("pk"), action=StepAction.ENDORSE)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    # An open request has no account yet: its platform is the code in its data.
    data_platform = Platform.objects.filter(code=OuterRef("data_platform")).values("name")[:1]
    return (
        queryset.annotate(
            data_name=KT("data__name"),
            data_platform=KT("data__platform"),
            endorsed_at=Subquery(endorsed_at),
        )
        .annotate(platform_name=Coalesce(F("account__platform__name"), Subquery(data_platform)))
        .order_by("-updated_at", "-id")
        .values_list(
            "pk",
            "kind",
            "data_name",
            "account__name",
            "platform_name",
            "owner_unit__name",
            "owner_unit__kind",
            "state",
            "submitted_by__person__name",
            "submitted_by__username",
            "created_by__person__name",
            "created_by__username",
            "created_at",
            "submitted_at",
            "endorsed_by__person__name",
            "endorsed_by__username",
            "endorsed_at",
            "decided_by__person__name",
            "decided_by__username",
            "decided_at",
            "approval_number",
            "is_late",
        )
    )


def _request_rows(access: Access, filters: RequestFilter) -> Iterator[list[Any]]:
    kinds, states, tiers = labels(RequestKind), labels(RequestState), labels(Tier)
    late = _("是")
    for (
        pk,
        kind,
        data_name,
        account_name,
        platform,
        unit,
        unit_kind,
        state,
        submitter_name,
        submitter,
        creator_name,
        creator,
        created_at,
        submitted_at,
        endorser_name,
        endorser,
        endorsed_at,
        decider_name,
        decider,
        decided_at,
        number,
        is_late,
    ) in request_query(access, filters).iterator(chunk_size=CHUNK):
        yield [
            pk,
            kinds.get(kind, kind),
            data_name or account_name or "",
            platform or "",
            unit,
            tiers.get(TIER_OF_KIND.get(unit_kind, 0), ""),
            states.get(state, state),
            _who(submitter_name, submitter) or _who(creator_name, creator),
            _local(created_at),
            _local(submitted_at),
            _who(endorser_name, endorser),
            _local(endorsed_at),
            _who(decider_name, decider),
            _local(decided_at),
            number,
            late if is_late else "",
        ]


def requests(access: Access, filters: RequestFilter) -> Table:
    return Table(
        what="requests",
        title=_("待我处理的审批申请") if filters.inbox else _("审批申请"),
        columns=REQUEST_COLUMNS,
        rows=_request_rows(access, filters),
        filters=_present(asdict(filters)),
    )


# --- Review forms of one campaign ----------------------------------------------------------------

# The columns of annual_review.documents.results_xlsx, so both workbooks read alike.
REVIEW_COLUMNS = (
    Column(gettext_lazy("主办单位"), 22),
    Column(gettext_lazy("平台级别"), 10),
    Column(gettext_lazy("账号名称"), 22),
    Column(gettext_lazy("媒体平台"), 12),
    Column(gettext_lazy("账号ID"), 16),
    Column(gettext_lazy("状态"), 12),
    Column(gettext_lazy("结论"), 10),
    Column(gettext_lazy("粉丝量"), 10),
    Column(gettext_lazy("全年发布数"), 10),
    Column(gettext_lazy("其中原创数"), 10),
    Column(gettext_lazy("安全事件与违规（次）"), 10),
    Column(gettext_lazy("安全事件与违规情况"), 30),
    Column(gettext_lazy("参加培训情况"), 30),
    Column(gettext_lazy("管理队伍变更逾期报备（次）"), 12),
    Column(gettext_lazy("提交日期"), 12),
    Column(gettext_lazy("签署日期"), 12),
    Column(gettext_lazy("结论日期"), 12),
    Column(gettext_lazy("整改期限"), 12),
    Column(gettext_lazy("宣传部意见"), 30),
)


def _late_changes(year: int) -> Subquery:
    """The account's team changes of ``year`` filed late or still unfiled after their deadline
    (``TeamChangeEvent.is_late``, as results_xlsx counts them), as a correlated subquery."""
    today = timezone.localdate()
    late = Q(filed_at__isnull=False, filed_at__date__gt=F("due_on")) | Q(
        filed_at__isnull=True, due_on__lt=today
    )
    counted = (
        TeamChangeEvent.objects.filter(account=OuterRef("account_id"), happened_on__year=year)
        .filter(late)
        .order_by()
        .values("account")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(counted)


def review_query(access: Access, campaign: ReviewCampaign, filters: FormFilter) -> QuerySet[Any]:
    forms = visible_forms(access, ReviewForm.objects.filter(campaign=campaign))
    return (
        filters.apply(forms, access)
        .annotate(late_changes=_late_changes(campaign.year))
        .order_by("owner_unit__sort_order", "owner_unit__name", "account__name", "id")
        .values_list(
            "owner_unit__name",
            "owner_unit__kind",
            "account__name",
            "account__platform__name",
            "account__account_id",
            "state",
            "outcome",
            "follower_count",
            "post_count",
            "original_post_count",
            "incident_count",
            "incidents",
            "training",
            "late_changes",
            "submitted_at",
            "signed_at",
            "concluded_at",
            "rectify_by",
            "conclusion",
        )
    )


def _date(value: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(value) if value is not None else None


def _review_rows(
    access: Access, campaign: ReviewCampaign, filters: FormFilter
) -> Iterator[list[Any]]:
    tiers, states, outcomes = labels(Tier), labels(ReviewState), labels(Outcome)
    for (
        unit,
        unit_kind,
        account,
        platform,
        ident,
        state,
        outcome,
        followers,
        posts,
        originals,
        incident_count,
        incidents,
        training,
        late_changes,
        submitted_at,
        signed_at,
        concluded_at,
        rectify_by,
        conclusion,
    ) in review_query(access, campaign, filters).iterator(chunk_size=CHUNK):
        # A rectify conclusion reopens the form: its outcome counts only while concluded.
        concluded = state == ReviewState.CONCLUDED
        yield [
            unit,
            tiers.get(TIER_OF_KIND.get(unit_kind, 0), ""),
            account,
            platform,
            ident,
            states.get(state, state),
            outcomes.get(outcome, "") if concluded else "",
            followers,
            posts,
            originals,
            incident_count,
            incidents,
            training,
            late_changes or 0,
            _date(submitted_at),
            _date(signed_at),
            _date(concluded_at) if concluded else None,
            rectify_by if concluded else None,
            conclusion if concluded else "",
        ]


def reviews(access: Access, campaign: ReviewCampaign, filters: FormFilter) -> Table:
    return Table(
        what="reviews",
        title=_("%(year)s年度年检表") % {"year": campaign.year},
        columns=REVIEW_COLUMNS,
        rows=_review_rows(access, campaign, filters),
        filters={"year": campaign.year, **_present(asdict(filters))},
        obj=campaign,
    )


# --- Municipal filing batches --------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFilter:
    """The batch list has no filter bar; a year or one batch may still be asked for."""

    year: int | None = None
    batch: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BatchFilter:
        def number(name: str) -> int | None:
            try:
                return int(params.get(name) or "") or None
            except ValueError:
                return None

        return cls(year=number("year"), batch=number("batch"))


BATCH_COLUMNS = (
    Column(gettext_lazy("批次"), 14),
    Column(gettext_lazy("批次状态"), 10),
    Column(gettext_lazy("创建时间"), 17),
    Column(gettext_lazy("生成时间"), 17),
    Column(gettext_lazy("报送时间"), 17),
    Column(gettext_lazy("备案地址"), 24),
    Column(gettext_lazy("账号名称"), 26),
    Column(gettext_lazy("平台"), 12),
    Column(gettext_lazy("账号ID"), 18),
    Column(gettext_lazy("主办单位"), 24),
    Column(gettext_lazy("事项"), 10),
    Column(gettext_lazy("回执"), 10),
    Column(gettext_lazy("退回原因"), 30),
    Column(gettext_lazy("回执时间"), 17),
)


def batch_query(filters: BatchFilter) -> QuerySet[Any]:
    """Every account of every batch (never the encrypted form data it was filed with)."""
    items = BatchItem.objects.all()
    if filters.year:
        items = items.filter(batch__year=filters.year)
    if filters.batch:
        items = items.filter(batch_id=filters.batch)
    return items.order_by(
        "-batch__year", "-batch__seq", "office__sort_order", "office_id", "unit_name",
        "account_name", "id",
    ).values_list(
        "batch__year",
        "batch__seq",
        "batch__state",
        "batch__created_at",
        "batch__generated_at",
        "batch__sent_at",
        "office__name",
        "account_name",
        "account__platform__name",
        "account__account_id",
        "unit_name",
        "kind",
        "receipt",
        "receipt_note",
        "receipt_at",
    )  # fmt: skip


def _batch_rows(filters: BatchFilter) -> Iterator[list[Any]]:
    states, kinds, receipts = labels(BatchState), labels(ItemKind), labels(Receipt)
    names: dict[tuple[int, int], str] = {}
    for (
        year,
        seq,
        state,
        created_at,
        generated_at,
        sent_at,
        office,
        account,
        platform,
        ident,
        unit,
        kind,
        receipt,
        note,
        receipt_at,
    ) in batch_query(filters).iterator(chunk_size=CHUNK):
        name = names.get((year, seq))
        if name is None:
            name = names[(year, seq)] = str(Batch(year=year, seq=seq))
        yield [
            name,
            states.get(state, state),
            _local(created_at),
            _local(generated_at),
            _local(sent_at),
            office,
            account,
            platform,
            ident,
            unit,
            kinds.get(kind, kind),
            receipts.get(receipt, receipt),
            note,
            _local(receipt_at),
        ]


def batches(filters: BatchFilter) -> Table:
    return Table(
        what="batches",
        title=_("市网信办报备批次"),
        columns=BATCH_COLUMNS,
        rows=_batch_rows(filters),
        filters=_present(asdict(filters)),
    )
