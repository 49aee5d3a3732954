"""The registry export (/exports/registry.xlsx and .csv): the accounts the user may see under the
registry page's filters, each with its current team, contact data masked, formulae kept as
text, one audit row per download, and one query for the rows whatever their number."""

from __future__ import annotations

import datetime
import io
from urllib.parse import quote

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from campusmedia import services
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.permissions import Access
from campusmedia.selectors import RegistryFilter, registry_accounts
from exports import writers
from tests.conftest import ID_NUMBER, SOURCE, World, make_account, next_mobile
from tests.exports.conftest import (
    FORMATS,
    as_records,
    body,
    close_early,
    download,
    raw_text,
    read_rows,
)

pytestmark = pytest.mark.django_db

HEADER = [
    "账号名称",
    "平台",
    "账号类型",
    "账号ID",
    "主办单位",
    "级别",
    "状态",
    "审批号",
    "开通日期",
    "认证情况",
    "粉丝量",
    "主页链接",
    "主要负责人",
    "主要负责人手机",
    "管理员",
    "管理员手机",
    "管理员邮箱",
]


def url(fmt: str, query: str = "") -> str:
    return f"/exports/registry.{fmt}" + (f"?{query}" if query else "")


def flat(value) -> str:
    """A cell as CSV shows it, so one expectation serves both formats."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    return str(value)


def names(records) -> set[str]:
    return {record["账号名称"] for record in records}


def masked_mobile(number: str) -> str:
    return f"{number[:3]}****{number[-4:]}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_and_one_row_per_account(world: World, client_for, fmt):
    services.account_update(
        account=world.accounts["a"],
        actor=None,
        source=SOURCE,
        follower_count=4321,
        opened_on=datetime.date(2020, 9, 1),
        verification="yes",
        url="https://mp.weixin.qq.com/cs",
        approval_number="XCB-2020-0007",
    )
    response = client_for(world.users["propaganda"]).get(url(fmt))
    rows = read_rows(body(response), fmt)
    assert rows[0] == HEADER
    records = as_records(rows)
    assert names(records) == world.account_names(*world.accounts)
    # In the registry's order: by name.
    assert [r["账号名称"] for r in records] == sorted(names(records))
    row = next(r for r in records if r["账号名称"] == "计算机学院官微")
    admin = world.admins["a"]
    assert {key: flat(value) for key, value in row.items()} == {
        "账号名称": "计算机学院官微",
        "平台": "微信公众号",
        "账号类型": "订阅号",
        "账号ID": "gh_cs01",
        "主办单位": "计算机学院",
        "级别": "二级平台",
        "状态": "运行中",
        "审批号": "XCB-2020-0007",
        "开通日期": "2020-09-01",
        "认证情况": "已认证",
        "粉丝量": "4321",
        "主页链接": "https://mp.weixin.qq.com/cs",
        "主要负责人": "钱书记",
        "主要负责人手机": "",
        "管理员": "计算机学院管理员",
        "管理员手机": masked_mobile(admin.mobile),
        "管理员邮箱": "a***@example.edu.cn",
    }
    suspended = next(r for r in records if r["账号名称"] == "计科学生会")
    assert (suspended["级别"], suspended["状态"]) == ("三级平台", "已暂停")


@pytest.mark.parametrize("fmt", FORMATS)
def test_team_is_the_current_one_in_aligned_cells(world: World, client_for, fmt):
    """Several administrators share a cell in the order they joined; who left is not listed;
    a missing value among several shows as a dash so the cells stay aligned."""
    account = world.accounts["b"]
    second = services.person_create(
        actor=None, name="第二管理员", unit=world.units["b"], mobile="13912345678"
    )
    services.team_member_add(
        account=account,
        person=second,
        role=TeamRole.ADMINISTRATOR,
        actor=None,
        source=SOURCE,
        starts_on=timezone.localdate(),
    )
    leaver = services.person_create(actor=None, name="已离任管理员", unit=world.units["b"])
    member = services.team_member_add(
        account=account, person=leaver, role=TeamRole.ADMINISTRATOR, actor=None, source=SOURCE
    )
    type(member).objects.filter(pk=member.pk).update(ends_on=timezone.localdate())
    records = download(client_for(world.users["propaganda"]), url(fmt), fmt)
    row = next(r for r in records if r["账号名称"] == "机械学院官微")
    first = world.admins["b"]
    assert row["主要负责人"] == "机械学院分管领导"
    assert row["管理员"] == "机械学院管理员；第二管理员"
    assert row["管理员手机"] == f"{masked_mobile(first.mobile)}；139****5678"
    assert row["管理员邮箱"] == "a***@example.edu.cn；—"
    assert "已离任管理员" not in str(records)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("persona", "keys"),
    [
        ("sec_a", ("a", "a_sub", "a_org")),
        ("head_a", ("a", "a_sub", "a_org")),
        ("sec_b", ("b",)),
        ("league", ("school_org",)),
        ("propaganda", None),  # every account
        ("auditor", None),
    ],
)
def test_only_what_the_exporter_may_see(world: World, client_for, fmt, persona, keys):
    records = download(client_for(world.users[persona]), url(fmt), fmt)
    assert names(records) == world.account_names(*(keys or world.accounts))
    if persona == "sec_a":
        assert "机械学院官微" not in names(records)
        assert "机械学院" not in {r["主办单位"] for r in records}


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_goes_to_login_and_nothing_is_audited(client_for, db, fmt):
    response = client_for(None).get(url(fmt))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_only_and_known_formats(world: World, client_for, fmt):
    client = client_for(world.users["propaganda"])
    assert client.post(url(fmt)).status_code == 405
    assert client.get("/exports/registry.pdf").status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=active", ("school", "propaganda", "school_org", "a", "b")),
        ("platform=wechat", ("school", "a", "b")),
        ("tier=3", ("school_org", "a_sub", "a_org")),
        ("q=学院官微", ("a", "b")),
        ("q=gh_cs", ("a",)),
        ("unit={a}", ("a", "a_sub", "a_org")),
        ("unit={a}&status=approved", ("a_sub",)),
        ("status=nonsense", tuple(sorted(["school", "propaganda", "league", "school_org"]))),
    ],
)
def test_the_registry_pages_filters(world: World, client_for, fmt, query, expected):
    query = query.format(a=world.units["a"].pk)
    user = world.users["propaganda"]
    records = download(client_for(user), url(fmt, query), fmt)
    if query == "status=nonsense":  # ignored, as on the page
        assert names(records) == world.account_names(*world.accounts)
        return
    assert names(records) == world.account_names(*expected)
    # The same rows as the registry page's selector under the same query string.
    params = dict(pair.split("=") for pair in query.split("&"))
    page_rows = registry_accounts(Access(user), RegistryFilter.from_params(params))
    assert names(records) == set(page_rows.values_list("name", flat=True))


def test_the_filters_of_a_secretary_stay_inside_their_units(world: World, client_for):
    unit_b = world.units["b"].pk
    records = download(client_for(world.users["sec_a"]), url("csv", f"unit={unit_b}"), "csv")
    assert records == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_personal_data_leaves_masked(world: World, client_for, fmt):
    response = client_for(world.users["propaganda"]).get(url(fmt))
    text = raw_text(body(response), fmt)
    assert ID_NUMBER not in text
    assert ID_NUMBER[:6] + "*" not in text  # not even a masked ID: no ID column at all
    for key, admin in world.admins.items():
        assert admin.mobile not in text, key
        assert admin.email not in text, key
        assert masked_mobile(admin.mobile) in text
    assert "a***@example.edu.cn" in text
    assert "gAAAAA" not in text  # nor the encrypted tokens (Fernet)


@pytest.mark.parametrize("fmt", FORMATS)
def test_formulae_stay_text(world: World, client_for, fmt):
    account = make_account(unit=world.units["a"], name="=1+1", status=AccountStatus.APPROVED)
    admin = services.person_create(
        actor=None, name="@SUM(A1:A9)", unit=world.units["a"], mobile=next_mobile()
    )
    services.team_member_add(
        account=account, person=admin, role=TeamRole.ADMINISTRATOR, actor=None, source=SOURCE
    )
    response = client_for(world.users["sec_a"]).get(url(fmt))
    content = body(response)
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        cells = {cell.value: cell for row in sheet.iter_rows(min_row=2) for cell in row}
        assert cells["'=1+1"].data_type == "s"
        assert cells["'@SUM(A1:A9)"].data_type == "s"
        assert "=1+1" not in cells
        assert not any(cell.data_type == "f" for cell in cells.values())
    else:
        records = as_records(read_rows(content, fmt))
        row = next(r for r in records if r["账号名称"] == "'=1+1")
        assert row["管理员"] == "'@SUM(A1:A9)"
    cells = [str(v) for row in read_rows(content, fmt) for v in row]
    assert not [cell for cell in cells if cell.startswith(("=", "@", "+", "-"))]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_audit_row_with_filters_and_row_count(world: World, client_for, fmt):
    query = f"status=active&unit={world.units['a'].pk}&page=3"
    records = download(client_for(world.users["sec_a"]), url(fmt, query), fmt)
    assert len(records) == 1
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == world.users["sec_a"]
    assert event.outcome == AuditOutcome.SUCCESS
    assert event.ip == "127.0.0.1"
    assert event.detail == {
        "what": "registry",
        "format": fmt,
        "filters": {"status": "active", "unit": world.units["a"].pk},
        "rows": 1,
    }


def test_every_download_is_audited(world: World, client_for):
    client = client_for(world.users["auditor"])
    for fmt in (*FORMATS, "csv"):
        download(client, url(fmt), fmt)
    rows = [e.detail["rows"] for e in AuditEvent.objects.filter(action=AuditAction.EXPORT)]
    assert rows == [8, 8, 8]


@pytest.mark.parametrize("fmt", FORMATS)
def test_response_headers(world: World, client_for, fmt):
    response = client_for(world.users["propaganda"]).get(url(fmt))
    body(response)
    name = f"账号登记-{timezone.localdate().isoformat()}.{fmt}"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    if fmt == "xlsx":
        assert isinstance(response, FileResponse)
        assert response["Content-Type"] == writers.XLSX
    else:
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_xlsx_house_style(world: World, client_for):
    response = client_for(world.users["propaganda"]).get(url("xlsx"))
    sheet = load_workbook(io.BytesIO(body(response))).worksheets[0]
    assert sheet.title == "账号登记"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert {cell.fill.fgColor.rgb for cell in sheet[1]} == {"00DDE4EE"}
    assert sheet.column_dimensions["A"].width == 28
    assert sheet.column_dimensions["Q"].width == 26
    assert not any(cell.font.bold for cell in sheet[2])


def test_csv_is_utf8_with_bom_and_crlf(world: World, client_for):
    content = body(client_for(world.users["propaganda"]).get(url("csv")))
    assert content.startswith(b"\xef\xbb\xbf\xe8\xb4\xa6\xe5\x8f\xb7")  # BOM, then 账号
    assert content.count(b"\r\n") == 1 + 8
    assert "计算机学院官微".encode() in content


def test_csv_streams_in_chunks(world: World, client_for, monkeypatch):
    monkeypatch.setattr(writers, "CSV_CHUNK_ROWS", 3)
    response = client_for(world.users["propaganda"]).get(url("csv"))
    chunks = list(response.streaming_content)
    assert len(chunks) == 3  # rows 1-3, 4-6, 7-8 (the header goes with the first)
    assert AuditEvent.objects.get(action=AuditAction.EXPORT).detail["rows"] == 8


def test_a_download_stopped_early_is_audited_with_what_went_out(
    world: World, client_for, monkeypatch
):
    monkeypatch.setattr(writers, "CSV_CHUNK_ROWS", 3)
    response = client_for(world.users["propaganda"]).get(url("csv"))
    next(iter(response.streaming_content))
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    close_early(response)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.outcome == AuditOutcome.FAILURE
    assert event.detail == {
        "what": "registry",
        "format": "csv",
        "filters": {},
        "rows": 3,
        "complete": False,
    }


def _add_accounts(world: World, count: int) -> None:
    for n in range(count):
        account = make_account(unit=world.units["a"], name=f"扩充账号{n:03d}")
        person = services.person_create(
            actor=None,
            name=f"扩充管理员{n:03d}",
            unit=world.units["a"],
            mobile=next_mobile(),
            email=f"extra{n}@example.com",
        )
        services.team_member_add(
            account=account, person=person, role=TeamRole.ADMINISTRATOR, actor=None, source=SOURCE
        )


def _export_queries(client, fmt: str) -> tuple[int, list[str], int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(fmt))
        rows = len(read_rows(body(response), fmt)) - 1
    sqls = [q["sql"] for q in captured.captured_queries]
    # On PostgreSQL the rows come through a server-side cursor: DECLARE … CURSOR FOR SELECT …
    account_reads = [s for s in sqls if "SELECT" in s and 'FROM "campusmedia_mediaaccount"' in s]
    return len(sqls), account_reads, rows


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("persona", ["propaganda", "sec_a"])
def test_queries_do_not_grow_with_accounts(world: World, client_for, fmt, persona):
    """One query reads the accounts with their teams; 8 or 80 accounts cost the same."""
    client = client_for(world.users[persona])
    small, reads_small, rows_small = _export_queries(client, fmt)
    _add_accounts(world, 72)
    large, reads_large, rows_large = _export_queries(client, fmt)
    assert rows_large == rows_small + 72
    assert small == large
    assert len(reads_small) == len(reads_large) == 1
    assert "campusmedia_teammember" in reads_large[0]  # the team in the same query
    # Session and user, the roles (and for a secretary the unit permissions), the rows, the
    # audit row: nothing else.
    assert large == (5 if persona == "propaganda" else 6)
