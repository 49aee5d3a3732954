"""Reading an uploaded census file safely (SECURITY.md, Imports).

* What a file is comes from its content: an xlsx is a ZIP holding ``xl/workbook.xml``; anything
  else must be UTF-8 text (a CSV). Old ``.xls`` workbooks, PDFs, images … are refused with a
  message that says what to do.
* The size cap is checked while the upload is copied (reading stops at cap + 1 byte); the row
  cap while the rows are read (reading stops at the first row over it).
* Before openpyxl opens an xlsx, the sizes its ZIP declares for its parts are added up: a small
  file that unpacks to gigabytes is refused unopened. zipfile never inflates a part beyond its
  declared size, so the declared sizes are a bound.
* The sheet is streamed through expat (``census.xlsx``) with defusedxml's protections: a part
  declaring a DTD or XML entities (the "billion laughs" bomb) or referring to external files
  raises instead of expanding.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext as _

from census.choices import FileFormat
from census.xlsx import Workbook, XlsxError

CHUNK = 64 * 1024
# The data sheet of the template; other workbooks are read from their first sheet.
DATA_SHEET = "普查登记"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:[A-Z]+(\d+)"')


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sniff(head: bytes) -> str | None:
    """``xlsx`` for a ZIP, ``csv`` for UTF-8 text, None otherwise (from the first bytes)."""
    if head.startswith(b"PK\x03\x04"):
        return FileFormat.XLSX
    if not head or b"\x00" in head:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return FileFormat.CSV if text and printable / len(text) > 0.95 else None


def refusal_for(head: bytes) -> str:
    """The message for a file that is neither an xlsx workbook nor UTF-8 CSV."""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _("这是旧版 Excel（.xls）文件：请在 Excel 中另存为“Excel 工作簿（.xlsx）”后上传。")
    if _looks_like_gbk_csv(head):
        return _(
            "CSV 文件应为 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，"
            "或直接上传 xlsx 文件。"
        )
    return _("文件不是 xlsx 工作簿或 UTF-8 编码的 CSV 表格，请使用下载的模板填写。")


def _looks_like_gbk_csv(head: bytes) -> bool:
    """Chinese text with commas in the encoding Excel's plain "CSV" uses on Chinese Windows."""
    try:
        text = head[:4096].decode("gb18030", errors="strict")
    except UnicodeDecodeError:
        text = head[:4095].decode("gb18030", errors="ignore")
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    return bool(text) and chinese and "," in text and printable / len(text) > 0.98


def copy_capped(source: Any, target: IO[bytes], max_bytes: int) -> tuple[int, bytes]:
    """Copy ``source`` (an uploaded file or an open binary file) into ``target``, stopping at
    ``max_bytes`` + 1. Returns the size and the first bytes; raises FileRefused over the cap."""
    size = 0
    head = b""
    chunks = (
        source.chunks(CHUNK) if hasattr(source, "chunks") else iter(lambda: source.read(CHUNK), b"")
    )
    for chunk in chunks:
        if not head:
            head = bytes(chunk[:8192])
        size += len(chunk)
        if size > max_bytes:
            raise FileRefused(too_large_message(max_bytes))
        target.write(chunk)
    return size, head


def too_large_message(max_bytes: int) -> str:
    return _("文件超过 %(size)s MB 的上限，请分成几个文件上传。") % {
        "size": f"{max_bytes / (1 << 20):g}"
    }


def check_xlsx(path: Path) -> int | None:
    """Refuse a ZIP that is not a workbook or unpacks beyond the cap; return the row count the
    sheet declares at its top (its ``dimension``), if it does, without parsing any XML."""
    limit = settings.CAMPUSMEDIA_IMPORT_MAX_UNPACKED_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "xl/workbook.xml" not in names:
                raise FileRefused(_("ZIP 文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写。"))
            if len(infos) > 2000 or sum(info.file_size for info in infos) > limit:
                raise FileRefused(
                    _("工作簿解压后超过 %(size)s MB 的上限，已拒绝。") % {"size": limit >> 20}
                )
            sheet = "xl/worksheets/sheet1.xml"
            if sheet in names:
                with archive.open(sheet) as handle:
                    match = _DIMENSION.search(handle.read(4096))
                if match:
                    return max(0, int(match.group(1)) - 1)
    except zipfile.BadZipFile as error:
        raise FileRefused(_("xlsx 文件已损坏，无法打开。")) from error
    return None


def count_csv_lines(path: Path) -> int:
    """Lines of a CSV (a row estimate for the background decision), read in chunks."""
    lines = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)


def estimate_rows(path: Path, file_format: str) -> int | None:
    if file_format == FileFormat.XLSX:
        return check_xlsx(path)
    return count_csv_lines(path)


def read_rows(path: Path, file_format: str, max_rows: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, cells) of every row, the header first (row 1). Raises FileRefused when the
    file cannot be read or holds more than ``max_rows`` rows below the header."""
    rows = _xlsx_rows(path) if file_format == FileFormat.XLSX else _csv_rows(path)
    for number, values in rows:
        if number > max_rows + 1:
            raise FileRefused(
                _("文件超过 %(rows)s 行数据的上限，请分成几个文件上传。") % {"rows": max_rows}
            )
        yield number, values


def _xlsx_rows(path: Path) -> Iterator[tuple[int, tuple[Any, ...]]]:
    check_xlsx(path)
    try:
        workbook = Workbook(path)
    except DefusedXmlException as error:
        raise FileRefused(_unsafe()) from error
    except (XlsxError, ExpatError, SyntaxError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise FileRefused(_("无法读取该 xlsx 文件：文件已损坏或不是 Excel 工作簿。")) from error
    try:
        names = workbook.sheet_names
        if not names:
            raise FileRefused(_("工作簿中没有工作表。"))
        try:
            yield from workbook.rows(DATA_SHEET if DATA_SHEET in names else names[0])
        except DefusedXmlException as error:
            raise FileRefused(_unsafe()) from error
        except (XlsxError, ExpatError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise FileRefused(_("无法读取该 xlsx 文件：文件已损坏。")) from error
    finally:
        workbook.close()


def _unsafe() -> str:
    return _("文件含有不安全的 XML 内容（实体或外部引用声明），已拒绝。请用 Excel 另存后再上传。")


def _csv_rows(path: Path) -> Iterator[tuple[int, tuple[Any, ...]]]:
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        try:
            for number, values in enumerate(csv.reader(text), start=1):
                yield number, tuple(values)
        except UnicodeDecodeError as error:
            raise FileRefused(
                _("CSV 文件中有不是 UTF-8 编码的内容：请另存为“CSV UTF-8（逗号分隔）”。")
            ) from error
        except csv.Error as error:
            raise FileRefused(
                _("CSV 文件格式有误：%(error)s") % {"error": str(error)[:100]}
            ) from error
