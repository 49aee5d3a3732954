"""The xlsx of each table: it opens, holds the page's rows (totals included) under a styled and
frozen header, keeps formula-like text as text, is named in Chinese, and leaves one audit row."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from campusmedia import services
from campusmedia.choices import AccountStatus, UnitKind, choice_labels
from campusmedia.models import AuditEvent, Platform
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from stats import exports, selectors
from tests.conftest import SOURCE, World
from tests.stats.conftest import EXPORTS, export_url, only_sheet, sheets_of

pytestmark = pytest.mark.django_db

STATUS_LABELS = list(choice_labels(AccountStatus).values())


def _download(world: World, client_for, table: str, persona: str = "propaganda"):
    response = client_for(world.users[persona]).get(export_url(table))
    assert response.status_code == 200
    return response


def _matrix_rows(matrix: selectors.Matrix, *extra: str) -> list[list]:
    return [
        [
            row.label,
            *(getattr(row, name) or None for name in extra),
            *(c.count for c in row.cells),
            row.total,
        ]
        for row in [*matrix.rows, matrix.total]
    ]


def test_accounts_by_tier(world, client_for):
    rows = only_sheet(_download(world, client_for, "accounts-by-tier"))
    assert rows[0] == ["级别", *STATUS_LABELS, "合计"]
    expected = _matrix_rows(selectors.accounts_by_tier(Access(world.users["propaganda"])))
    assert rows[1:] == expected
    assert rows[-1] == ["合计", 2, 5, 1, 0, 0, 8]


def test_accounts_by_platform(world, client_for):
    rows = only_sheet(_download(world, client_for, "accounts-by-platform", "auditor"))
    assert rows[0] == ["平台", *STATUS_LABELS, "合计"]
    expected = _matrix_rows(selectors.accounts_by_platform(Access(world.users["auditor"])))
    assert rows[1:] == expected
    assert len(rows) == 1 + Platform.objects.count() + 1


def test_accounts_by_unit_escapes_formulas(world, client_for):
    for code, name in (("f1", '=HYPERLINK("http://evil.example","点我")'), ("f2", "-2+3")):
        services.unit_create(
            actor=None, code=code, name=name, kind=UnitKind.DIRECT, parent=world.units["school"]
        )
    rows = only_sheet(_download(world, client_for, "accounts-by-unit"))
    assert rows[0] == ["单位", "类别", *STATUS_LABELS, "合计"]
    labels = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","点我")' in labels
    assert "'-2+3" in labels
    assert not any(isinstance(v, str) and v.startswith(("=", "-")) for v in labels)
    expected = _matrix_rows(selectors.accounts_by_unit(Access(world.users["propaganda"])), "note")
    assert [[exports.cell_value(v) for v in row] for row in expected] == rows[1:]
    assert rows[-1][-1] == 8


def test_followers_has_three_sheets(world, client_for):
    services.account_update(
        account=world.accounts["a"], actor=None, source=SOURCE, follower_count=4321
    )
    services.account_create(
        actor=None,
        source=SOURCE,
        name="@SUM(A1:A9)",
        platform=Platform.objects.get(code="weibo"),
        owner_unit=world.units["b"],
        status=AccountStatus.ACTIVE,
        account_id="at_sum",
        follower_count=99,
    )
    sheets = sheets_of(_download(world, client_for, "followers"))
    assert list(sheets) == ["各级平台粉丝量", "各平台粉丝量", "粉丝量前10名"]
    tiers = sheets["各级平台粉丝量"]
    assert tiers[0] == [
        "级别",
        "运行中账号",
        "已填粉丝量",
        "未填粉丝量",
        "粉丝量合计",
        "平均粉丝量",
    ]
    assert tiers[2] == ["二级平台", 4, 2, 2, 4420, 2210]
    assert tiers[-1] == ["合计", 6, 2, 4, 4420, 2210]
    top = sheets["粉丝量前10名"]
    assert top[1] == [1, "计算机学院官微", "计算机学院", "二级平台", "微信公众号", 4321]
    assert top[2] == [2, "'@SUM(A1:A9)", "机械学院", "二级平台", "微博", 99]
    assert len(top) == 3


def test_requests_by_month(world, client_for):
    rows = only_sheet(_download(world, client_for, "requests-by-month"))
    assert rows[0] == ["月份", "提交", "作出决定", "通过", "未通过", "决定用时中位数（天）"]
    data = selectors.requests_by_month(Access(world.users["propaganda"]))
    assert [row[0] for row in rows[1:]] == [*(m.label for m in data.months), "合计"]
    assert rows[-1] == ["合计", 0, 0, 0, 0, None]


def test_late_filings_and_review_outcomes_headers(world, client_for):
    late = only_sheet(_download(world, client_for, "late-filings"))
    assert late == [
        ["单位", "变更事项", "按时报备", "逾期报备", "未报备", "其中已逾期"],
        ["合计", 0, 0, 0, 0, 0],
    ]
    outcomes = only_sheet(_download(world, client_for, "review-outcomes"))
    assert outcomes == [["年度", "合格", "限期整改", "不合格", "未出结论", "合计"]]


@pytest.mark.parametrize("table", EXPORTS)
def test_house_style_name_and_audit(world, client_for, table):
    response = _download(world, client_for, table, "auditor")
    assert response["Cache-Control"] == "no-store"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    title = str(exports.TABLES[table][0])
    assert f"统计-{title}-" in unquote(disposition)
    book = load_workbook(io.BytesIO(response.content))
    for ws in book:
        assert ws.freeze_panes == "A2"
        header = ws[1]
        assert all(cell.font.bold for cell in header)
        assert {cell.fill.fgColor.rgb for cell in header} == {"00DDE4EE"}
        assert ws.column_dimensions["A"].width >= 8
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert events.count() == 1
    event = events.get()
    assert event.actor == world.users["auditor"]
    data_rows = sum(ws.max_row - 1 for ws in book)
    assert event.detail == {"what": "stats", "table": table, "rows": data_rows}


def test_every_download_is_audited(world, client_for):
    client = client_for(world.users["propaganda"])
    for _ in range(2):
        assert client.get(export_url("accounts-by-tier")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 2


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("计算机学院", "计算机学院"),
        ("a=b", "a=b"),
        (-5, -5),
        (None, None),
    ],
)
def test_cell_value(value, kept):
    assert exports.cell_value(value) == kept
