"""Each table of the statistics page as an xlsx workbook.

A table is a title, its columns and its rows, built from the same selectors as the page (the
totals row included), so a workbook holds what the page shows. The layout is the house style of
``annual_review.documents.results_xlsx``: a bold header row with a fill, column widths, the header
frozen, and text that a spreadsheet would read as a formula kept as text.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, Tier, choice_labels
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from campusmedia.spreadsheets import add_sheet, cell_value
from stats import selectors
from stats.selectors import Matrix, MatrixRow, MonthRow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[tuple[str, int]]  # header, width
    rows: list[list[Any]]


def _status_columns() -> list[tuple[str, int]]:
    return [(label, 12) for label in choice_labels(AccountStatus).values()]


def _matrix_rows(matrix: Matrix, first: Callable[[MatrixRow], list[Any]]) -> list[list[Any]]:
    return [
        [*first(row), *(cell.count for cell in row.cells), row.total]
        for row in [*matrix.rows, matrix.total]
    ]


def accounts_by_tier(access: Access) -> list[Sheet]:
    return [
        Sheet(
            title=_("各级平台账号"),
            columns=[(_("级别"), 14), *_status_columns(), (_("合计"), 10)],
            rows=_matrix_rows(selectors.accounts_by_tier(access), lambda r: [r.label]),
        )
    ]


def accounts_by_platform(access: Access) -> list[Sheet]:
    return [
        Sheet(
            title=_("各平台账号"),
            columns=[(_("平台"), 16), *_status_columns(), (_("合计"), 10)],
            rows=_matrix_rows(selectors.accounts_by_platform(access), lambda r: [r.label]),
        )
    ]


def accounts_by_unit(access: Access) -> list[Sheet]:
    return [
        Sheet(
            title=_("各单位账号"),
            columns=[(_("单位"), 28), (_("类别"), 12), *_status_columns(), (_("合计"), 10)],
            rows=_matrix_rows(
                selectors.accounts_by_unit(access), lambda r: [r.label, r.note or None]
            ),
        )
    ]


def _follower_rows(matrix: Matrix) -> list[list[Any]]:
    return [
        [row.label, row.active, row.with_figure, row.without_figure, row.followers, row.average]
        for row in [*matrix.rows, matrix.total]
    ]


def _follower_columns(first: str) -> list[tuple[str, int]]:
    return [
        (first, 16),
        (_("运行中账号"), 12),
        (_("已填粉丝量"), 12),
        (_("未填粉丝量"), 12),
        (_("粉丝量合计"), 14),
        (_("平均粉丝量"), 12),
    ]


def followers(access: Access) -> list[Sheet]:
    """Follower figures of active accounts per tier and per platform, and the most followed
    accounts: one worksheet each."""
    tier_labels = choice_labels(Tier)
    top = [
        [
            rank,
            account.name,
            account.owner_unit.name,
            tier_labels[account.owner_unit.tier],
            account.platform.name,
            account.follower_count,
        ]
        for rank, account in enumerate(selectors.top_followed(access), start=1)
    ]
    return [
        Sheet(
            title=_("各级平台粉丝量"),
            columns=_follower_columns(_("级别")),
            rows=_follower_rows(selectors.accounts_by_tier(access)),
        ),
        Sheet(
            title=_("各平台粉丝量"),
            columns=_follower_columns(_("平台")),
            rows=_follower_rows(selectors.accounts_by_platform(access)),
        ),
        Sheet(
            title=_("粉丝量前%(n)s名") % {"n": selectors.TOP_FOLLOWED},
            columns=[
                (_("排名"), 8),
                (_("账号"), 28),
                (_("主办单位"), 24),
                (_("级别"), 12),
                (_("平台"), 14),
                (_("粉丝量"), 12),
            ],
            rows=top,
        ),
    ]


def requests_by_month(access: Access) -> list[Sheet]:
    data = selectors.requests_by_month(access)

    def line(row: MonthRow) -> list[Any]:
        return [
            row.label,
            row.submitted,
            row.decided,
            row.approved,
            row.rejected,
            row.median_days,
        ]

    return [
        Sheet(
            title=_("审批申请（近12个月）"),
            columns=[
                (_("月份"), 14),
                (_("提交"), 10),
                (_("作出决定"), 12),
                (_("通过"), 10),
                (_("未通过"), 10),
                (_("决定用时中位数（天）"), 22),
            ],
            rows=[*(line(r) for r in data.months), line(data.total)],
        )
    ]


def late_filings(access: Access) -> list[Sheet]:
    data = selectors.late_filings(access)
    return [
        Sheet(
            title=_("管理队伍变更报备"),
            columns=[
                (_("单位"), 28),
                (_("变更事项"), 12),
                (_("按时报备"), 12),
                (_("逾期报备"), 12),
                (_("未报备"), 12),
                (_("其中已逾期"), 12),
            ],
            rows=[
                [r.label, r.events, r.on_time, r.late, r.open, r.overdue]
                for r in [*data.rows, data.total]
            ],
        )
    ]


def review_outcomes(access: Access) -> list[Sheet]:
    keys = selectors.outcome_keys()
    return [
        Sheet(
            title=_("年检结论"),
            columns=[(_("年度"), 10), *((str(label), 12) for _key, label in keys), (_("合计"), 10)],
            rows=[
                [row.year, *(row.counts.get(key, 0) for key, _label in keys), row.total]
                for row in selectors.review_outcomes(access)
            ],
        )
    ]


# The tables, by the name their URL carries: the file's name and what builds its worksheets.
TABLES: dict[str, tuple[Any, Callable[[Access], list[Sheet]]]] = {
    "accounts-by-tier": (gettext_lazy("各级平台账号"), accounts_by_tier),
    "accounts-by-platform": (gettext_lazy("各平台账号"), accounts_by_platform),
    "accounts-by-unit": (gettext_lazy("各单位账号"), accounts_by_unit),
    "followers": (gettext_lazy("粉丝量"), followers),
    "requests-by-month": (gettext_lazy("审批申请"), requests_by_month),
    "late-filings": (gettext_lazy("管理队伍变更报备"), late_filings),
    "review-outcomes": (gettext_lazy("年检结论"), review_outcomes),
}


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per sheet: the header row styled and frozen, then the rows, escaped."""
    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = add_sheet(book, sheet.title, sheet.columns)
        for row in sheet.rows:
            ws.append([cell_value(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str


def export(
    table: str, access: Access, request: HttpRequest, today: datetime.date | None = None
) -> Export:
    """The workbook of one table (a KeyError for an unknown name) and its audit row."""
    title, build = TABLES[table]
    today = today or timezone.localdate()
    sheets = build(access)
    content = workbook(sheets)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        detail={
            "what": "stats",
            "table": table,
            "rows": sum(len(sheet.rows) for sheet in sheets),
        },
    )
    return Export(content=content, filename=f"{_('统计')}-{title}-{today.isoformat()}.xlsx")
