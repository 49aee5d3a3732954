"""The request export (/exports/requests.xlsx and .csv): the requests of the request list (or the
inbox) the user may see, under the list's filters, with who did each step and when."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from approvals import services
from approvals.models import AccountRequest
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.approvals.conftest import open_request
from tests.conftest import World
from tests.exports.conftest import FORMATS, body, download, raw_text, read_rows

pytestmark = pytest.mark.django_db

HEADER = [
    "申请编号",
    "审批类型",
    "账号名称",
    "平台",
    "主办单位",
    "级别",
    "状态",
    "提交人",
    "创建时间",
    "提交时间",
    "初审人",
    "初审时间",
    "决定人",
    "决定时间",
    "审批号",
    "逾期报备",
]
A_SUBMITTED, B_SUBMITTED, A_DRAFT = "计算机学院研究生会", "机械学院研究生会", "计算机学院草稿号"


def url(fmt: str, query: str = "") -> str:
    return f"/exports/requests.{fmt}" + (f"?{query}" if query else "")


def names(records) -> list[str]:
    return [record["账号名称"] for record in records]


def minute(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def flat(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_and_each_step(requests_world: World, client_for, fmt):
    world = requests_world
    request = AccountRequest.objects.get(data__name=A_SUBMITTED)
    request = services.request_endorse(account_request=request, actor=world.users["head_a"])
    request = services.request_approve(account_request=request, actor=world.users["propaganda"])
    endorsed_at = request.steps.get(action="endorse").at
    rows = read_rows(body(client_for(world.users["propaganda"]).get(url(fmt))), fmt)
    assert rows[0] == HEADER
    records = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    # The list's order: most recently changed first.
    assert names(records) == [A_SUBMITTED, A_DRAFT, B_SUBMITTED]
    row = {key: flat(value) for key, value in records[0].items()}
    assert row == {
        "申请编号": str(request.pk),
        "审批类型": "申请开通",
        "账号名称": A_SUBMITTED,
        "平台": "微信公众号",
        "主办单位": "计算机学院",
        "级别": "二级平台",
        "状态": "已通过",
        "提交人": "赵秘书（sec_a）",
        "创建时间": minute(request.created_at),
        "提交时间": minute(request.submitted_at),
        "初审人": "钱书记（head_a）",
        "初审时间": minute(endorsed_at),
        "决定人": "李审核（propaganda）",
        "决定时间": minute(request.decided_at),
        "审批号": request.approval_number,
        "逾期报备": "",
    }
    assert request.approval_number.startswith("XCB-")
    draft = {key: flat(value) for key, value in records[1].items()}
    assert (draft["状态"], draft["提交人"], draft["提交时间"]) == ("草稿", "赵秘书（sec_a）", "")
    assert (draft["平台"], draft["决定人"]) == ("微信公众号", "")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("sec_a", {A_SUBMITTED, A_DRAFT}),
        ("head_a", {A_SUBMITTED}),  # drafts only to the unit's keepers and filers
        ("sec_b", {B_SUBMITTED}),
        ("league", set()),
        ("propaganda", {A_SUBMITTED, A_DRAFT, B_SUBMITTED}),
        ("auditor", {A_SUBMITTED, B_SUBMITTED}),
    ],
)
def test_only_what_the_exporter_may_see(requests_world: World, client_for, fmt, persona, expected):
    records = download(client_for(requests_world.users[persona]), url(fmt), fmt)
    assert set(names(records)) == expected
    if persona == "sec_a":
        assert "机械学院" not in {r["主办单位"] for r in records}


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_goes_to_login(client_for, db, fmt):
    response = client_for(None).get(url(fmt))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=submitted", {A_SUBMITTED, B_SUBMITTED}),
        ("state=draft", {A_DRAFT}),
        ("kind=open", {A_SUBMITTED, B_SUBMITTED, A_DRAFT}),
        ("kind=close", set()),
        ("state=submitted&kind=open", {A_SUBMITTED, B_SUBMITTED}),
        ("state=bogus", {A_SUBMITTED, B_SUBMITTED, A_DRAFT}),  # ignored, as on the page
    ],
)
def test_the_request_lists_filters(requests_world: World, client_for, fmt, query, expected):
    records = download(client_for(requests_world.users["propaganda"]), url(fmt, query), fmt)
    assert set(names(records)) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_inbox(requests_world: World, client_for, fmt):
    records = download(client_for(requests_world.users["head_a"]), url(fmt, "inbox=1"), fmt)
    assert names(records) == [A_SUBMITTED]
    assert download(client_for(requests_world.users["sec_b"]), url(fmt, "inbox=1"), fmt) == []
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).first()
    assert event is not None
    assert event.detail["filters"] == {"inbox": True}


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_audit_row(requests_world: World, client_for, fmt):
    download(client_for(requests_world.users["sec_a"]), url(fmt, "state=draft&page=2"), fmt)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == requests_world.users["sec_a"]
    assert event.detail == {
        "what": "requests",
        "format": fmt,
        "filters": {"state": "draft"},
        "rows": 1,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_proposed_team_and_formulae(requests_world: World, client_for, fmt):
    """The proposed team's contact data is not exported at all; a formula in a proposed name
    stays text."""
    world = requests_world
    open_request(world, "a", "sec_a", name='=HYPERLINK("http://evil.example","x")')
    response = client_for(world.users["sec_a"]).get(url(fmt))
    content = body(response)
    text = raw_text(content, fmt)
    for request in AccountRequest.objects.all():
        for member in request.team.all():
            if member.mobile:
                assert member.mobile not in text
                assert member.email not in text
    assert "new.admin" not in text
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        cell = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.column == 3)
        assert cell.value == '\'=HYPERLINK("http://evil.example","x")'
        assert cell.data_type == "s"
    else:
        records = [dict(zip(HEADER, row, strict=True)) for row in read_rows(content, fmt)[1:]]
        assert '\'=HYPERLINK("http://evil.example","x")' in names(records)


def test_response_headers(requests_world: World, client_for):
    response = client_for(requests_world.users["propaganda"]).get(url("xlsx"))
    body(response)
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert "%E5%AE%A1%E6%89%B9%E7%94%B3%E8%AF%B7" in response["Content-Disposition"]  # 审批申请
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
