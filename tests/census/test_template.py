"""The census template: its columns are the resource's, it explains itself, and a template
filled in the way a secretary would (typing into the sheet) imports."""

from __future__ import annotations

import datetime
import io

import openpyxl

from campusmedia.models import MediaAccount, Platform
from census import services
from census.choices import JobStatus
from census.resources import CensusResource
from census.template import template_bytes

REQUIRED = {"主办单位", "账号名称（昵称）", "平台", "账号ID", "主要负责人姓名", "主要负责人手机"}


def _workbook() -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(template_bytes()))


def test_the_header_holds_every_column_of_the_campus_form(world):
    sheet = _workbook()["普查登记"]
    header = [cell.value for cell in sheet[1]]
    assert header == [column.column_name for column in CensusResource().columns]
    for label in (
        "主办单位",
        "账号名称（昵称）",
        "平台",
        "账号类型",
        "账号ID",
        "内容类别",
        "内容形式",
        "功能定位",
        "开通日期",
        "认证情况",
        "认证说明",
        "粉丝量",
        "运营人数",
        "主页链接",
        "主要负责人姓名",
        "主要负责人办公电话",
        "主要负责人手机",
        "管理员1姓名",
        "管理员1电子邮箱",
        "管理员1微信号",
        "管理员1是否学生",
        "管理员2手机",
    ):
        assert label in header
    assert sheet.freeze_panes == "C2"
    assert sheet.max_row == 1, "no example rows to forget to delete"
    required_fill = sheet.cell(row=1, column=header.index("账号ID") + 1).fill.fgColor.rgb
    optional_fill = sheet.cell(row=1, column=header.index("认证说明") + 1).fill.fgColor.rgb
    assert required_fill != optional_fill
    for label in REQUIRED | {"管理员1姓名", "管理员1手机"}:
        assert sheet.cell(row=1, column=header.index(label) + 1).fill.fgColor.rgb == required_fill


def test_drop_down_lists_and_text_columns(world):
    workbook = _workbook()
    sheet = workbook["普查登记"]
    header = [cell.value for cell in sheet[1]]
    letter = {label: openpyxl.utils.get_column_letter(i + 1) for i, label in enumerate(header)}
    lists = {
        str(v.sqref).split(":")[0]: v.formula1
        for v in sheet.data_validations.dataValidation
        if v.type == "list"
    }
    assert lists[f"{letter['认证情况']}2"] == '"已认证,未认证"'
    assert lists[f"{letter['管理员1是否学生']}2"] == '"是,否"'
    options = workbook["选项"]
    assert options.sheet_state == "hidden"
    platform_range = lists[f"{letter['平台']}2"]
    assert platform_range.startswith("'选项'!$B$2")
    names = [cell.value for cell in options["B"][1:]]
    assert names == list(
        Platform.objects.order_by("sort_order", "name").values_list("name", flat=True)
    )
    assert "计算机学院" in [cell.value for cell in options["A"][1:]]
    assert sheet.column_dimensions[letter["账号ID"]].number_format == "@"
    assert sheet.column_dimensions[letter["管理员1手机"]].number_format == "@"


def test_the_instructions_list_units_platforms_and_choices(world):
    sheet = _workbook()["填写说明"]
    text = "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value)
    for expected in (
        "cs",
        "计算机学院",
        "校学生会",
        "wechat",
        "微信公众号",
        "服务号、订阅号",
        "便民服务、会员服务",
        "文字、图片、语音、视频",
        "已认证、未认证",
        "200,000 行数据、20 MB",
        "同一单位、姓名和手机号都相同的人员只登记一次",
    ):
        assert expected in text, expected


def test_a_filled_template_round_trips(world, upload):
    """Typed into the downloaded template: dates as dates, numbers as numbers, choices from the
    lists. It checks clean and imports."""
    workbook = _workbook()
    sheet = workbook["普查登记"]
    header = [cell.value for cell in sheet[1]]
    values = {
        "主办单位": "计算机学院",
        "账号名称（昵称）": "计算机学院团学",
        "平台": "微信公众号",
        "账号类型": "服务号",
        "账号ID": "gh_roundtrip",
        "内容类别": "新闻发布，社会资讯",
        "内容形式": "文字、视频",
        "功能定位": "发布学院团学活动",
        "开通日期": datetime.datetime(2017, 4, 10),
        "认证情况": "未认证",
        "粉丝量": 3500,
        "运营人数": 4,
        "主要负责人姓名": "钱书记",
        "主要负责人手机": "13911112222",
        "管理员1姓名": "学生小李",
        "管理员1手机": "13622223333",
        "管理员1电子邮箱": "li@example.edu.cn",
        "管理员1是否学生": "是",
    }
    for label, value in values.items():
        sheet.cell(row=2, column=header.index(label) + 1, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = upload(buffer.getvalue(), name="填好的模板.xlsx")
    assert job.status == JobStatus.CHECKED, (job.message, job.errors)
    job = services.job_confirm(job=job, actor=world.users["propaganda"])
    assert job.status == JobStatus.IMPORTED
    account = MediaAccount.objects.get(account_id="gh_roundtrip")
    assert account.opened_on == datetime.date(2017, 4, 10)
    assert account.content_categories == ["news", "social"]
    assert account.team.count() == 2
