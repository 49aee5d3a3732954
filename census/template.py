"""The census template (普查登记模板.xlsx), written from ``CensusResource``'s columns.

Sheet 普查登记: the header row (required columns shaded, each with its explanation as a cell
comment), frozen with the unit and account name; drop-down lists for units, platforms, account
types, verification and yes/no; text format for ids and phone numbers so a spreadsheet keeps
their digits. Sheet 填写说明: what to write in each column, the caps, and the valid units,
platforms and options. A hidden sheet 选项 holds the drop-down lists.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from campusmedia.choices import TIER_OF_KIND, ContentCategory, ContentForm, UnitKind, Verification
from campusmedia.models import Platform, Unit
from campusmedia.spreadsheets import cell_value
from census.files import DATA_SHEET
from census.resources import CensusField, CensusResource

INSTRUCTIONS_SHEET = "填写说明"
OPTIONS_SHEET = "选项"
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
REQUIRED_FILL = PatternFill("solid", fgColor="F8CBAD")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
TEXT_COLUMNS = ("account_id", "office_phone", "mobile", "wechat_id")


def template_filename() -> str:
    return _("普查登记模板-%(date)s.xlsx") % {"date": timezone.localdate().strftime("%Y%m%d")}


def template_bytes() -> bytes:
    resource = CensusResource()
    units = list(Unit.objects.filter(is_active=True).order_by("sort_order", "name"))
    platforms = list(Platform.objects.order_by("sort_order", "name"))
    workbook = Workbook()
    data = workbook.active
    assert isinstance(data, Worksheet)
    data.title = DATA_SHEET
    _data_sheet(data, resource.columns)
    _instructions(workbook.create_sheet(INSTRUCTIONS_SHEET), resource.columns, units, platforms)
    _options(workbook.create_sheet(OPTIONS_SHEET), data, resource.columns, units, platforms)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _data_sheet(sheet: Worksheet, columns: list[CensusField]) -> None:
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.column_name)
        cell.font = BOLD
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        note = (_("必填。") if column.required else "") + str(column.help or "")
        if note:
            cell.comment = Comment(note, "campusmedia", width=260, height=90)
        letter = get_column_letter(index)
        width = max(10, min(30, len(column.column_name) * 2 + 2))
        if column.key in ("function_description", "url"):
            width = 30
        sheet.column_dimensions[letter].width = width
        if column.name in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
        if column.key == "opened_on":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "C2"


def _options(
    sheet: Worksheet,
    data: Worksheet,
    columns: list[CensusField],
    units: list[Unit],
    platforms: list[Platform],
) -> None:
    """Drop-down lists: long ones from the hidden options sheet, short ones inline. They warn
    rather than stop, so a unit code typed by hand is still accepted."""
    sheet.sheet_state = "hidden"
    lists = {
        "owner_unit": sorted({unit.name for unit in units}),
        "platform": [platform.name for platform in platforms],
        "account_type": sorted({t for platform in platforms for t in platform.account_types}),
    }
    ranges = {}
    for position, (key, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(position)
        sheet.cell(row=1, column=position, value=key)
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=position, value=cell_value(value))
        ranges[key] = f"'{OPTIONS_SHEET}'!${letter}$2:${letter}${max(2, len(values) + 1)}"
    last = settings.CAMPUSMEDIA_IMPORT_MAX_ROWS + 1
    inline = {
        "verification": ",".join(str(label) for label in Verification.labels),
        "is_student": ",".join((_("是"), _("否"))),
    }
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cells = f"{letter}2:{letter}{last}"
        validation: DataValidation | None = None
        if column.key in ranges:
            validation = DataValidation(type="list", formula1=ranges[column.key])
        elif column.name in inline:
            validation = DataValidation(type="list", formula1=f'"{inline[column.name]}"')
        elif column.key == "opened_on":
            validation = DataValidation(
                type="date", operator="greaterThan", formula1="DATE(1990,1,1)"
            )
        elif column.key in ("follower_count", "operator_count"):
            validation = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
        if validation is None:
            continue
        validation.allow_blank = True
        validation.errorStyle = "warning"
        validation.error = str(column.help or _("请从列表中选择或按“填写说明”填写。"))
        validation.add(cells)
        data.add_data_validation(validation)


def _instructions(
    sheet: Worksheet,
    columns: list[CensusField],
    units: list[Unit],
    platforms: list[Platform],
) -> None:
    max_rows = settings.CAMPUSMEDIA_IMPORT_MAX_ROWS
    max_mb = settings.CAMPUSMEDIA_IMPORT_MAX_BYTES / (1 << 20)
    lines = [
        _("校园新媒体账号普查登记表 · 填写说明"),
        _("1. 在“普查登记”表中每行填写一个已经开通运行的账号，第一行表头不要修改、删除或移动。"),
        _("2. 橙色表头为必填列；管理员2可不填，填写时姓名和手机必填。"),
        _(
            "3. 同一单位、姓名和手机号都相同的人员只登记一次，已登记的人员沿用登记信息，"
            "表格中的其他联系方式不会覆盖它。"
        ),
        _("4. 同一平台上的账号ID不能重复，也不能与已登记的账号重复。"),
        _(
            "5. 上传 xlsx 文件或 UTF-8 编码的 CSV 文件，最多 %(rows)s 行数据、%(mb)s MB；"
            "有任何一行出错时整个文件不会导入，请按预览页列出的行号和列名修改后重新上传。"
        )
        % {"rows": f"{max_rows:,}", "mb": f"{max_mb:g}"},
    ]
    row = 1
    for number, text in enumerate(lines):
        cell = sheet.cell(row=row, column=1, value=text)
        cell.font = TITLE_FONT if number == 0 else Font()
        row += 1
    row += 1
    row = _table(
        sheet,
        row,
        _("各列填写要求"),
        (_("列名"), _("必填"), _("说明")),
        [(c.column_name, _("是") if c.required else "", str(c.help or "")) for c in columns],
    )
    kinds = dict(UnitKind.choices)
    row = _table(
        sheet,
        row,
        _("单位（填写单位代码或完整名称）"),
        (_("单位代码"), _("单位名称"), _("类别"), _("层级")),
        [
            (u.code, u.name, str(kinds.get(u.kind, u.kind)), TIER_OF_KIND.get(u.kind, ""))
            for u in units
        ],
    )
    row = _table(
        sheet,
        row,
        _("平台（填写平台名称或代码）"),
        (_("平台代码"), _("平台名称"), _("账号类型")),
        [(p.code, p.name, "、".join(p.account_types)) for p in platforms],
    )
    options = [
        (_("内容类别"), "、".join(map(str, ContentCategory.labels))),
        (_("内容形式"), "、".join(map(str, ContentForm.labels))),
        (_("认证情况"), "、".join(map(str, Verification.labels))),
        (_("是否学生"), _("是、否")),
    ]
    _table(sheet, row, _("可选值"), (_("列名"), _("可填")), options)
    for letter, width in (("A", 24), ("B", 30), ("C", 44), ("D", 10)):
        sheet.column_dimensions[letter].width = width


def _table(
    sheet: Worksheet, row: int, title: str, header: tuple[str, ...], rows: list[tuple]
) -> int:
    sheet.cell(row=row, column=1, value=title).font = BOLD
    row += 1
    for column, text in enumerate(header, start=1):
        cell = sheet.cell(row=row, column=column, value=text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
    row += 1
    for values in rows:
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=cell_value(value))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    return row + 1
