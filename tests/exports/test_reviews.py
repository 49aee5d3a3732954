"""The review export (/exports/reviews/<year>.xlsx and .csv): one campaign's forms the user may
see, under the campaign page's filters, in the columns of the results workbook."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from annual_review import services
from annual_review.choices import Outcome
from annual_review.models import ReviewCampaign
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.annual_review.conftest import YEAR, submitted
from tests.conftest import ID_NUMBER, World
from tests.exports.conftest import FORMATS, body, download, raw_text, read_rows

pytestmark = pytest.mark.django_db

HEADER = [
    "主办单位",
    "平台级别",
    "账号名称",
    "媒体平台",
    "账号ID",
    "状态",
    "结论",
    "粉丝量",
    "全年发布数",
    "其中原创数",
    "安全事件与违规（次）",
    "安全事件与违规情况",
    "参加培训情况",
    "管理队伍变更逾期报备（次）",
    "提交日期",
    "签署日期",
    "结论日期",
    "整改期限",
    "宣传部意见",
]
ALL = {"学校官方微信", "宣传部新闻号", "校学生会抖音", "计算机学院官微", "机械学院官微"}


def url(fmt: str, query: str = "", year: int = YEAR) -> str:
    return f"/exports/reviews/{year}.{fmt}" + (f"?{query}" if query else "")


def names(records) -> set[str]:
    return {record["账号名称"] for record in records}


def flat(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    return str(value)


@pytest.fixture
def concluded(world: World, campaign: ReviewCampaign):
    """College A's form submitted, signed and passed; college B's submitted."""
    form = submitted(campaign, world, "a")
    form = services.form_sign(form=form, actor=world.users["head_a"])
    form = services.form_conclude(
        form=form, actor=world.users["propaganda"], outcome=Outcome.PASS, comment="=合格"
    )
    submitted(campaign, world, "b", by="sec_b")
    return form


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_and_content(world: World, campaign, concluded, client_for, fmt):
    rows = read_rows(body(client_for(world.users["propaganda"]).get(url(fmt))), fmt)
    assert rows[0] == HEADER
    records = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    assert names(records) == ALL
    today = timezone.localdate().isoformat()
    row = {k: flat(v) for k, v in next(r for r in records if r["主办单位"] == "计算机学院").items()}
    assert row == {
        "主办单位": "计算机学院",
        "平台级别": "二级平台",
        "账号名称": "计算机学院官微",
        "媒体平台": "微信公众号",
        "账号ID": "gh_cs01",
        "状态": "已出结论",
        "结论": "合格",
        "粉丝量": "12000",
        "全年发布数": "180",
        "其中原创数": "120",
        "安全事件与违规（次）": "0",
        "安全事件与违规情况": "",
        "参加培训情况": "参加学校新媒体培训 2 次",
        "管理队伍变更逾期报备（次）": "0",
        "提交日期": today,
        "签署日期": today,
        "结论日期": today,
        "整改期限": "",
        "宣传部意见": "'=合格",  # a formula-like conclusion stays text
    }
    other = next(r for r in records if r["主办单位"] == "机械学院")
    assert (other["状态"], flat(other["结论"]), flat(other["签署日期"])) == ("待单位签署", "", "")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("sec_a", {"计算机学院官微"}),
        ("head_a", {"计算机学院官微"}),
        ("sec_b", {"机械学院官微"}),
        ("league", {"校学生会抖音"}),
        ("propaganda", ALL),
        ("auditor", ALL),
    ],
)
def test_only_what_the_exporter_may_see(world: World, campaign, client_for, fmt, persona, expected):
    records = download(client_for(world.users[persona]), url(fmt), fmt)
    assert names(records) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_and_unknown_year(world: World, campaign, client_for, fmt):
    assert client_for(None).get(url(fmt)).status_code == 302
    assert client_for(world.users["propaganda"]).get(url(fmt, year=1999)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("query", "persona", "expected"),
    [
        ("state=pass", "propaganda", {"计算机学院官微"}),
        ("state=submitted", "propaganda", {"机械学院官微"}),
        ("state=not_started", "propaganda", {"学校官方微信", "宣传部新闻号", "校学生会抖音"}),
        ("unit={a}", "propaganda", {"计算机学院官微"}),
        ("unit={b}", "sec_a", set()),
        ("mine=1", "sec_b", set()),  # B's form waits for its head, not its secretary
        ("state=nonsense", "propaganda", ALL),
    ],
)
def test_the_campaign_pages_filters(
    world: World, campaign, concluded, client_for, fmt, query, persona, expected
):
    query = query.format(a=world.units["a"].pk, b=world.units["b"].pk)
    records = download(client_for(world.users[persona]), url(fmt, query), fmt)
    assert names(records) == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_mine_is_what_waits_for_the_user(world: World, campaign, client_for, fmt):
    submitted(campaign, world, "a")
    records = download(client_for(world.users["head_a"]), url(fmt, "mine=1"), fmt)
    assert names(records) == {"计算机学院官微"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_audit_row_names_the_campaign_and_filters(world: World, campaign, client_for, fmt):
    unit = world.units["a"].pk
    download(client_for(world.users["sec_a"]), url(fmt, f"unit={unit}&state=draft"), fmt)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.object_type == "reviewcampaign"
    assert event.object_id == str(campaign.pk)
    assert event.detail == {
        "what": "reviews",
        "format": fmt,
        "filters": {"year": YEAR, "unit": unit, "state": "draft"},
        "rows": 1,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_personal_data(world: World, campaign, client_for, fmt):
    content = body(client_for(world.users["propaganda"]).get(url(fmt)))
    text = raw_text(content, fmt)
    assert ID_NUMBER not in text
    for admin in world.admins.values():
        assert admin.mobile not in text
        assert admin.email not in text


def test_response_headers(world: World, campaign, client_for):
    response = client_for(world.users["auditor"]).get(url("csv"))
    content = body(response)
    assert content.startswith(b"\xef\xbb\xbf")
    disposition = response["Content-Disposition"]
    # 2026年度年检表-<date>.csv
    assert disposition.startswith("attachment; filename*=utf-8''2026%E5%B9%B4%E5%BA%A6")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
