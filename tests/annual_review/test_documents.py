"""The papers of the annual review (annual_review/documents.py): the 年检表 and the campaign report
checked in the PDF itself with poppler (pages, embedded fonts, extracted text), and the results
workbook read back with openpyxl."""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from annual_review import documents, services
from annual_review.models import ReviewCampaign, ReviewForm
from approvals.choices import TeamChangeSource
from approvals.models import TeamChangeEvent
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import AuditEvent, Person
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from tests.annual_review.conftest import YEAR, filled, form_of, submitted
from tests.conftest import World, make_account, make_login

pytestmark = pytest.mark.django_db

POPPLER = ("pdfinfo", "pdffonts", "pdftotext")
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in POPPLER),
    reason="poppler-utils (pdfinfo, pdffonts, pdftotext) is not installed",
)

SIGN_COMMENT = "情况属实，同意报送。"
CONCLUSION = "审核记录不完整，请补齐三审记录。"
RECTIFY_BY = datetime.date(YEAR + 1, 3, 31)


# --- poppler helpers (as in tests/approvals/test_pdf.py) -----------------------------------------


def poppler(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    target = ["-"] if tool == "pdftotext" else []
    result = subprocess.run(
        [tool, *args, str(path), *target], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode()


def page_count(data: bytes, tmp_path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", poppler("pdfinfo", data, tmp_path), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def fonts(data: bytes, tmp_path: Path) -> list[tuple[str, bool]]:
    """(name, embedded) of every font ``pdffonts`` lists."""
    found = []
    for line in poppler("pdffonts", data, tmp_path).splitlines()[2:]:
        match = re.match(r"^(\S+)\s.*?\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        if match:
            found.append((match.group(1), match.group(2) == "yes"))
    return found


def embedded_cjk_fonts(data: bytes, tmp_path: Path) -> list[str]:
    return [name for name, emb in fonts(data, tmp_path) if emb and re.search(r"CJK|Noto", name)]


def text_of(data: bytes, tmp_path: Path) -> str:
    return poppler("pdftotext", data, tmp_path)


def compact(text: str) -> str:
    """The text without the line breaks and spaces that table cells put into it."""
    return "".join(text.split())


# --- Helpers -------------------------------------------------------------------------------------


def team_change(
    world: World,
    key: str,
    happened_on: datetime.date,
    *,
    filed_after_days: int | None,
    role: str = TeamRole.ADMINISTRATOR,
) -> TeamChangeEvent:
    """A team change of the account ``key``; filed ``filed_after_days`` after it happened (the
    rule allows 3), or not at all for None."""
    filed_at = None
    if filed_after_days is not None:
        filed_at = timezone.make_aware(
            datetime.datetime.combine(
                happened_on + datetime.timedelta(days=filed_after_days), datetime.time(10)
            )
        )
    return TeamChangeEvent.objects.create(
        account=world.accounts[key],
        person=world.admins[key],
        role=role,
        happened_on=happened_on,
        due_on=happened_on + datetime.timedelta(days=3),
        source=TeamChangeSource.RECORDED,
        filed_at=filed_at,
    )


def concluded_form(campaign: ReviewCampaign, world: World) -> ReviewForm:
    """College A's form: filled, submitted, signed by its head, concluded "rectify"."""
    form = submitted(campaign, world, "a")
    form = services.form_sign(form=form, actor=world.users["head_a"], comment=SIGN_COMMENT)
    return services.form_conclude(
        form=form,
        actor=world.users["propaganda"],
        outcome="rectify",
        comment=CONCLUSION,
        rectify_by=RECTIFY_BY,
    )


def sheet_rows(data: bytes) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(data))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


# --- The 年检表 ---------------------------------------------------------------------------------


@needs_poppler
def test_review_form_is_one_a4_page_with_embedded_cjk_fonts(world, campaign, tmp_path):
    team_change(world, "a", datetime.date(YEAR, 3, 2), filed_after_days=7)
    team_change(world, "a", datetime.date(YEAR, 9, 1), filed_after_days=2)
    data = documents.render_review_form(concluded_form(campaign, world))

    assert data.startswith(b"%PDF")
    assert page_count(data, tmp_path) == 1
    assert re.search(r"^Page size:.*\(A4\)$", poppler("pdfinfo", data, tmp_path), re.MULTILINE)
    assert embedded_cjk_fonts(data, tmp_path), poppler("pdffonts", data, tmp_path)
    # Only the regular Noto face: no bold face and no fallback font.
    assert all("Noto" in name and "Bold" not in name for name, _emb in fonts(data, tmp_path))


@needs_poppler
def test_review_form_prints_figures_team_changes_and_conclusion(world, campaign, tmp_path):
    team_change(world, "a", datetime.date(YEAR, 3, 2), filed_after_days=7)
    team_change(world, "a", datetime.date(YEAR, 9, 1), filed_after_days=2)
    team_change(world, "a", datetime.date(YEAR - 1, 9, 1), filed_after_days=30)  # another year
    data = documents.render_review_form(concluded_form(campaign, world))
    text = compact(text_of(data, tmp_path))

    assert "某某大学校园新媒体年度检查表" in text
    assert f"（{YEAR}年度）" in text
    assert "计算机学院官微" in text
    assert "gh_cs01" in text
    assert "二级平台" in text
    # The team as the unit confirmed it.
    assert "钱书记" in text
    assert "党委书记" in text
    assert "计算机学院管理员" in text
    # The figures of filled().
    for figure in ("12000", "180", "120", "参加学校新媒体培训2次", "按时更新，审核制度落实。"):
        assert figure in text
    assert "加强原创栏目建设。" in text
    # The year's two changes, one late, judged by the system; last year's is not listed.
    assert f"{YEAR}-03-02" in text
    assert "逾期报备" in text
    assert "按时报备" in text
    assert f"{YEAR - 1}-09-01" not in text
    assert "本年度变更2次，其中逾期1次" in text
    # Both opinion boxes: the commitment, what the system recorded, the blanks.
    assert "主办单位意见" in text
    assert SIGN_COMMENT in text
    assert "□合格" in text
    assert "■限期整改" in text
    assert "□不合格" in text
    assert f"{RECTIFY_BY.year}年{RECTIFY_BY.month}月{RECTIFY_BY.day}日" in text
    assert CONCLUSION in text
    assert text.count("负责人签字") == 2
    assert text.count("（加盖公章）") == 2
    layout = poppler("pdftotext", data, tmp_path, "-layout")
    assert len(re.findall(r"^\s+年\s+月\s+日\s*$", layout, re.MULTILINE)) == 2


@needs_poppler
def test_draft_form_reads_the_registry_and_leaves_the_conclusion_blank(world, campaign, tmp_path):
    data = documents.render_review_form(form_of(campaign, world, "b"))
    text = compact(text_of(data, tmp_path))

    assert page_count(data, tmp_path) == 1
    assert "机械学院官微" in text
    assert "机械学院分管领导" in text
    assert "本年度无管理队伍变更。" in text
    for tick in ("□合格", "□限期整改", "□不合格"):
        assert tick in text
    assert "■" not in text
    assert "系统记录" not in text


@needs_poppler
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("school", ["一级平台", "主办单位意见", "一级平台由党委宣传部统筹管理，无需单位签署。"]),
        ("school_org", ["三级平台", "校学生会（校团委）", "校团委意见"]),
    ],
)
def test_the_first_opinion_box_follows_the_tier(world, campaign, tmp_path, key, expected):
    data = documents.render_review_form(form_of(campaign, world, key))
    text = compact(text_of(data, tmp_path))

    assert page_count(data, tmp_path) == 1
    for words in expected:
        assert words in text


@needs_poppler
def test_submitted_form_prints_the_snapshot_not_the_registry(world, campaign, tmp_path):
    form = submitted(campaign, world, "a")
    Person.objects.filter(pk=world.admins["a"].pk).update(name="后来的名字")

    text = compact(text_of(documents.render_review_form(form), tmp_path))

    assert "计算机学院管理员" in text
    assert "后来的名字" not in text


@needs_poppler
def test_review_form_escapes_what_the_unit_typed(world, campaign, tmp_path):
    form = services.form_update(
        form=form_of(campaign, world, "a"),
        actor=world.users["sec_a"],
        data=filled(self_assessment='<img src="file:///etc/passwd">自评'),
    )
    text = text_of(documents.render_review_form(form), tmp_path)

    assert '<img src="file:///etc/passwd">自评' in text


# --- The campaign report -------------------------------------------------------------------------


@needs_poppler
def test_report_has_the_tables_and_the_charts(world, campaign, tmp_path):
    concluded_form(campaign, world)
    submitted(campaign, world, "b", by="sec_b")
    data = documents.render_campaign_report(campaign, Access(world.users["propaganda"]))
    raw = text_of(data, tmp_path)
    text = compact(raw)

    assert f"{YEAR}年度校园新媒体年检情况报告" in text
    assert "各级平台年检进度" in text
    for tier in ("一级平台", "二级平台", "三级平台"):
        assert tier in text
    for unit in ("某某大学", "党委宣传部", "校学生会", "计算机学院", "机械学院"):
        assert unit in text
    assert "应参加年检的账号共5个，已报送2个，已作出结论1个" in text
    # The charts are drawn as SVG with the document's font: their legends are text in the PDF
    # (once per chart, after the header of the two tables), and no fallback font is pulled in.
    charts = 1 + 3  # the tiers, and the units of each tier
    assert raw.count("未开始") == 2 + charts
    assert "图1" in text
    assert "图4" in text
    assert all("Noto" in name for name, _emb in fonts(data, tmp_path))


@needs_poppler
def test_report_lists_overdue_forms_and_open_close_orders(world, campaign, tmp_path):
    ReviewCampaign.objects.filter(pk=campaign.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=2)
    )
    campaign.refresh_from_db()
    services.review_order_close(
        form=form_of(campaign, world, "b"),
        actor=world.users["propaganda"],
        reason="逾期未报送年检表",
    )
    text = compact(
        text_of(
            documents.render_campaign_report(campaign, Access(world.users["propaganda"])), tmp_path
        )
    )

    assert "逾期未报送或逾期未整改的账号" in text
    assert "机械学院官微" in text
    assert "计算机学院官微" in text
    assert "责令注销尚未办结的账号" in text
    assert "逾期未报送年检表" in text


@needs_poppler
def test_report_shows_only_what_the_reader_may_see(world, campaign, tmp_path):
    text = compact(
        text_of(documents.render_campaign_report(campaign, Access(world.users["sec_a"])), tmp_path)
    )

    assert "计算机学院" in text
    assert "机械学院" not in text
    assert "应参加年检的账号共1个" in text


@needs_poppler
def test_report_for_a_reader_without_units_is_empty(world, campaign, tmp_path):
    nobody = make_login("nobody")
    data = documents.render_campaign_report(campaign, Access(nobody))
    text = compact(text_of(data, tmp_path))

    assert "应参加年检的账号共0个" in text
    assert "计算机学院" not in text
    assert "某某大学" in text  # the school's name in the byline only


# --- The results workbook ------------------------------------------------------------------------


def test_results_hold_the_forms_the_exporter_may_see(world, campaign):
    concluded_form(campaign, world)
    for persona, expected in (
        ("propaganda", world.account_names("school", "propaganda", "school_org", "a", "b")),
        ("sec_a", world.account_names("a")),
    ):
        user = world.users[persona]
        rows = sheet_rows(documents.results_xlsx(campaign, Access(user), user))

        assert rows[0][:3] == ("主办单位", "平台级别", "账号名称")
        assert {row[2] for row in rows[1:]} == expected
        assert len(rows) - 1 == len(expected)


def test_results_row_of_a_concluded_form(world, campaign):
    team_change(world, "a", datetime.date(YEAR, 3, 2), filed_after_days=7)  # late
    team_change(world, "a", datetime.date(YEAR, 9, 1), filed_after_days=2)  # in time
    team_change(world, "a", datetime.date(YEAR, 10, 1), filed_after_days=None)  # overdue, unfiled
    team_change(world, "a", datetime.date(YEAR - 1, 3, 2), filed_after_days=9)  # another year
    concluded_form(campaign, world)
    user = world.users["propaganda"]
    rows = sheet_rows(documents.results_xlsx(campaign, Access(user), user))
    header = rows[0]
    row = dict(zip(header, next(r for r in rows if r[2] == "计算机学院官微"), strict=True))

    assert row["主办单位"] == "计算机学院"
    assert row["平台级别"] == "二级平台"
    assert row["媒体平台"] == "微信公众号"
    assert row["状态"] == "已出结论"
    assert row["结论"] == "限期整改"
    assert (row["粉丝量"], row["全年发布数"], row["其中原创数"]) == (12000, 180, 120)
    assert row["管理队伍变更逾期报备（次）"] == 2
    assert row["整改期限"].date() == RECTIFY_BY
    assert row["提交日期"].date() == timezone.localdate()
    assert row["宣传部意见"] == CONCLUSION
    # No contact data of the team.
    admin = world.admins["a"]
    flat = repr(rows)
    assert admin.mobile not in flat
    assert admin.email not in flat


def test_results_header_is_frozen(world, campaign):
    user = world.users["propaganda"]
    workbook = load_workbook(io.BytesIO(documents.results_xlsx(campaign, Access(user), user)))
    sheet = workbook.worksheets[0]

    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width > 10


@pytest.mark.parametrize("typed", ["=1+1", "+1", "-1+2", "@SUM(A1)", '=HYPERLINK("x")'])
def test_results_escape_formulae(world, campaign, typed):
    services.form_update(
        form=form_of(campaign, world, "a"),
        actor=world.users["sec_a"],
        data=filled(incident_count=1, incidents=typed, training=typed),
    )
    user = world.users["propaganda"]
    data = documents.results_xlsx(campaign, Access(user), user)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[2].value == "计算机学院官微")
    cell = row[header.index("安全事件与违规情况")]

    assert cell.value == "'" + typed
    assert cell.data_type == "s"
    assert row[header.index("参加培训情况")].value == "'" + typed


def test_results_export_is_audited(world, campaign):
    user = world.users["sec_a"]
    documents.results_xlsx(campaign, Access(user), user)

    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == user
    assert event.detail == {"what": "review_results", "year": YEAR, "rows": 1}
    assert event.object_type == "reviewcampaign"


def _export_queries(campaign: ReviewCampaign, world: World) -> int:
    user = world.users["propaganda"]
    with CaptureQueriesContext(connection) as queries:
        documents.results_xlsx(campaign, Access(user), user)
    return len(queries)


def test_results_queries_do_not_grow_with_forms(world, campaign, django_assert_num_queries):
    user = world.users["propaganda"]
    # Two forms first.
    ReviewForm.objects.filter(campaign=campaign).exclude(
        account__in=[world.accounts["a"], world.accounts["b"]]
    ).delete()
    assert ReviewForm.objects.filter(campaign=campaign).count() == 2
    expected = _export_queries(campaign, world)
    with django_assert_num_queries(expected):
        documents.results_xlsx(campaign, Access(user), user)

    # Then eleven (adding accounts brings the three deleted forms back), with team changes and
    # a conclusion.
    for n in range(6):
        make_account(
            unit=world.units["a"],
            name=f"计算机学院账号{n}",
            status=AccountStatus.ACTIVE,
            account_id=f"gh_more{n}",
        )
    services.campaign_add_accounts(campaign=campaign, actor=user)
    team_change(world, "a", datetime.date(YEAR, 3, 2), filed_after_days=7)
    team_change(world, "b", datetime.date(YEAR, 3, 2), filed_after_days=8)
    concluded_form(campaign, world)
    assert ReviewForm.objects.filter(campaign=campaign).count() == 11
    with django_assert_num_queries(expected):
        rows = sheet_rows(documents.results_xlsx(campaign, Access(user), user))
    assert len(rows) == 1 + 11
    # The role lookup, the late team changes, the rows and the audit row.
    assert expected == 4
