"""A streaming reader of the cells of one xlsx sheet, for census files.

openpyxl's ``read_only`` mode streams too, but builds Python objects for every XML element it
meets and parses shared strings through its descriptor classes: 0.5 s for the 3,000 rows of the
benchmark file, half the 1-second budget of a 3,000-row preview (``census.bench``). This reader
hands the sheet straight to expat and keeps only the values: 0.14 s for the same file, the same
values (tests/census/test_files.py compares them).

Safety is the one defusedxml gives openpyxl, on the same parser (expat): a document type
declaration (where entity bombs and external entities live; xlsx parts never have one) raises
``DTDForbidden``, and entity declarations and external references raise as well, before anything
is expanded. The parts are read from the ZIP in chunks, so a sheet is never in memory whole. The
shared strings table is kept (every reader of xlsx needs it), in a temporary file when it is
large. The small parts (workbook, relationships, styles) are read through
``defusedxml.ElementTree`` with a size cap.

What openpyxl supplies here is its knowledge of the format: which number formats are dates and
how Excel counts days (``openpyxl.styles.numbers``, ``openpyxl.utils.datetime``).
"""

from __future__ import annotations

import datetime
import mmap
import posixpath
import tempfile
import xml.parsers.expat
import zipfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SMALL_PART = 10 << 20  # workbook, relationships and styles: a few KB in any real file
SPILL_STRINGS = 4 << 20  # a shared strings part larger than this is kept on disk
CHUNK = 64 * 1024
# Date formats of the built-in ids: the international ones openpyxl knows, and those Excel
# reserves for East Asian locales (27–36 and 50–58 are the Chinese 年月日 formats).
DATE_FORMAT_IDS = frozenset(
    {i for i, code in BUILTIN_FORMATS.items() if is_date_format(code)}
    | set(range(27, 37))
    | set(range(50, 59))
)


class _SpilledStrings:
    """A large shared strings table kept in a temporary file (UTF-8, one after the other) and
    read through a memory map: eight bytes of memory a string instead of a Python object, so
    a large workbook's reading memory does not grow with its rows."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.offsets = array("Q", [0])
        self.map: mmap.mmap | None = None

    def append(self, text: str) -> None:
        data = text.encode()
        self.file.write(data)
        self.offsets.append(self.offsets[-1] + len(data))

    def freeze(self) -> None:
        self.file.flush()
        if self.offsets[-1]:
            self.map = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.map[start:end].decode() if self.map is not None else ""

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
        self.file.close()


class XlsxError(Exception):
    """The workbook is not what an xlsx file should be."""


def _local(name: str) -> str:
    """``{namespace}c`` (ElementTree) or ``x:c`` (expat) → ``c``."""
    return name.rpartition("}")[2].rpartition(":")[2]


def _protected_parser() -> Any:
    """An expat parser that refuses DTDs, entity declarations and external references."""
    parser = xml.parsers.expat.ParserCreate()

    def doctype(name: str, sysid: Any, pubid: Any, has_internal_subset: Any) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def entity(
        name: str, is_parameter: Any, value: Any, base: Any, sysid: Any, pubid: Any, notation: Any
    ) -> None:
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation)

    def unparsed(name: str, base: Any, sysid: Any, pubid: Any, notation: Any) -> None:
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation)

    def external(context: Any, base: Any, sysid: Any, pubid: Any) -> int:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = unparsed
    parser.ExternalEntityRefHandler = external
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


class Workbook:
    """One xlsx file: its sheets' names, and the rows of one of them."""

    def __init__(self, path: Path) -> None:
        self.archive = zipfile.ZipFile(path)
        self.names = set(self.archive.namelist())
        workbook = self._small("xl/workbook.xml")
        self.date1904 = any(
            el.get("date1904") in ("1", "true")
            for el in workbook.iter()
            if _local(el.tag) == "workbookPr"
        )
        targets = self._relationships("xl/_rels/workbook.xml.rels", base="xl")
        self.sheets: list[tuple[str, str]] = []
        for el in workbook.iter():
            if _local(el.tag) == "sheet":
                target = targets.get(el.get(f"{{{REL_NS}}}id", ""))
                if target:
                    self.sheets.append((el.get("name", ""), target))
        self.date_styles = self._date_styles()

    def close(self) -> None:
        self.archive.close()

    @property
    def sheet_names(self) -> list[str]:
        return [name for name, _target in self.sheets]

    def _small(self, name: str) -> Any:
        if name not in self.names:
            raise XlsxError(name)
        if self.archive.getinfo(name).file_size > SMALL_PART:
            raise XlsxError(name)
        return SafeET.fromstring(self.archive.read(name), forbid_dtd=True)

    def _relationships(self, name: str, base: str) -> dict[str, str]:
        if name not in self.names:
            return {}
        found = {}
        for el in self._small(name).iter(f"{{{PKG_REL_NS}}}Relationship"):
            target = el.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
            found[el.get("Id", "")] = posixpath.normpath(path)
        return found

    def _date_styles(self) -> frozenset[int]:
        """Indexes of the cell formats (``s`` of a cell) that show a number as a date."""
        if "xl/styles.xml" not in self.names:
            return frozenset()
        styles = self._small("xl/styles.xml")
        custom = {
            int(el.get("numFmtId", "-1")): el.get("formatCode", "")
            for el in styles.iter(f"{{{MAIN_NS}}}numFmt")
        }
        dates = set()
        for xfs in styles.iter(f"{{{MAIN_NS}}}cellXfs"):
            for index, xf in enumerate(xfs.iter(f"{{{MAIN_NS}}}xf")):
                fmt = int(xf.get("numFmtId", "0"))
                if fmt in custom:
                    if is_date_format(custom[fmt]):
                        dates.add(index)
                elif fmt in DATE_FORMAT_IDS:
                    dates.add(index)
        return frozenset(dates)

    def _shared_strings(self) -> Any:
        name = "xl/sharedStrings.xml"
        if name not in self.names:
            return []
        large = self.archive.getinfo(name).file_size > SPILL_STRINGS
        strings: Any = _SpilledStrings() if large else []
        parts: list[str] = []
        state = {"text": False, "phonetic": 0}

        def start(tag: str, attrs: Any) -> None:
            tag = _local(tag)
            if tag == "si":
                parts.clear()
            elif tag == "rPh":
                state["phonetic"] += 1
            elif tag == "t" and not state["phonetic"]:
                state["text"] = True

        def end(tag: str) -> None:
            tag = _local(tag)
            if tag == "si":
                strings.append("".join(parts))
            elif tag == "rPh":
                state["phonetic"] -= 1
            elif tag == "t":
                state["text"] = False

        def data(text: str) -> None:
            if state["text"]:
                parts.append(text)

        parser = _protected_parser()
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        with self.archive.open(name) as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
        if large:
            strings.freeze()
        return strings

    def rows(self, sheet_name: str | None = None) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(row number, values) of the sheet's rows that hold cells, in order; values as
        openpyxl gives them: str, int, float, bool, datetime, or None for an empty cell."""
        targets = dict(self.sheets)
        if not targets:
            raise XlsxError("no sheets")
        target = targets.get(sheet_name or "", self.sheets[0][1])
        if target not in self.names:
            raise XlsxError(target)
        shared = self._shared_strings()
        dates = self.date_styles
        epoch = CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900
        done: list[tuple[int, tuple[Any, ...]]] = []
        cells: dict[int, Any] = {}
        parts: list[str] = []
        tags: dict[str, str] = {}
        kind, style, column, row, text, phonetic = "n", 0, -1, 0, False, 0

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal kind, style, column, row, text, phonetic
            tag = tags.get(tag) or tags.setdefault(tag, _local(tag))
            if tag == "c":
                ref = attrs.get("r")
                if ref:
                    column = 0
                    for char in ref:
                        if char <= "9":
                            break
                        column = column * 26 + ord(char) - 64
                    column -= 1
                else:
                    column += 1
                kind = attrs.get("t", "n")
                style = int(attrs.get("s", 0))
                parts.clear()
            elif tag == "v" or tag == "t":
                text = not phonetic
            elif tag == "row":
                cells.clear()
                number = attrs.get("r")
                row = int(number) if number else row + 1
                column = -1
            elif tag == "rPh":
                phonetic += 1

        def end(tag: str) -> None:
            nonlocal text, phonetic
            tag = tags.get(tag) or tags.setdefault(tag, _local(tag))
            if tag == "v" or tag == "t":
                text = False
            elif tag == "c":
                if parts:
                    cells[column] = _value(kind, "".join(parts), style in dates, shared, epoch)
            elif tag == "row" and cells:
                width = max(cells) + 1
                done.append((row, tuple(cells.get(i) for i in range(width))))
            elif tag == "rPh":
                phonetic -= 1

        def data(chunk: str) -> None:
            if text:
                parts.append(chunk)

        parser = _protected_parser()
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        try:
            with self.archive.open(target) as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    parser.Parse(chunk, False)
                    yield from done
                    done.clear()
            parser.Parse(b"", True)
            yield from done
        finally:
            if isinstance(shared, _SpilledStrings):
                shared.close()


def _value(kind: str, text: str, is_date: bool, shared: Any, epoch: Any) -> Any:
    if kind == "s":
        index = int(text)
        if not 0 <= index < len(shared):
            raise XlsxError("shared string index")
        return shared[index]
    if kind in ("inlineStr", "str", "e"):
        return text
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "d":
        return datetime.datetime.fromisoformat(text.strip())
    number = float(text)
    if is_date:
        return from_excel(number, epoch)
    return int(number) if number.is_integer() else number
