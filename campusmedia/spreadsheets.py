"""What every spreadsheet the application writes shares (SECURITY.md, Exports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

# Text starting with these is a formula (or DDE) to a spreadsheet; a leading ' makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(value: Any) -> Any:
    """Text a spreadsheet would evaluate, kept as text; everything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def sheet_title(title: str) -> str:
    """A worksheet title: no []:*?/\\ and at most 31 characters."""
    for character in "[]:*?/\\":
        title = title.replace(character, " ")
    return title[:31]


def add_sheet(book: Workbook, title: str, columns: Sequence[tuple[str, float]]) -> Any:
    """A write-only worksheet in the house style: the header row bold, filled, wrapped and
    frozen, each column at its width. Rows are appended by the caller."""
    sheet = book.create_sheet(title=sheet_title(title))
    sheet.freeze_panes = "A2"
    font = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE4EE")
    border = Border(bottom=Side(style="thin"))
    wrap = Alignment(wrap_text=True, vertical="center")
    header = []
    for index, (name, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        cell = WriteOnlyCell(sheet, value=str(name))
        cell.font, cell.fill, cell.border, cell.alignment = font, fill, border, wrap
        header.append(cell)
    sheet.append(header)
    return sheet
