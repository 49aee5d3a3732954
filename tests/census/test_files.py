"""Reading uploaded files safely (SECURITY.md, Imports): recognised by content, size and row
caps checked while reading, the unpacked size of an xlsx checked before it is opened, XML entity
bombs refused; and the streaming reader gives the values openpyxl gives."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from campusmedia.models import AuditEvent, MediaAccount
from campusmedia.models.audit import AuditAction, AuditOutcome
from census import files
from census.choices import JobStatus
from census.files import FileRefused, read_rows, sniff
from tests.census.conftest import csv_bytes, good_row, xlsx_bytes


def _refused(job, fragment: str) -> None:
    assert job.status == JobStatus.FAILED
    assert fragment in job.message, job.message
    assert not job.file and not job.staged
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT).latest("id")
    assert event.outcome == AuditOutcome.FAILURE
    assert event.detail["reason"] == job.message


def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_files_are_recognised_by_content_not_by_name(world, upload):
    pdf = upload(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", name="census.xlsx")
    _refused(pdf, "不是 xlsx 工作簿或 UTF-8 编码的 CSV")
    xls = upload(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, name="census.xls")
    _refused(xls, "旧版 Excel")
    gbk = upload(csv_bytes([good_row()]).decode().encode("gbk"), name="census.csv")
    _refused(gbk, "UTF-8")
    not_a_workbook = io.BytesIO()
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("hello.txt", "hi")
    _refused(upload(not_a_workbook.getvalue()), "不是 Excel 工作簿")
    # An xlsx named .csv is still read as the workbook it is.
    job = upload(xlsx_bytes([good_row()]), name="census.csv")
    assert (job.status, job.file_format) == (JobStatus.CHECKED, "xlsx")
    assert MediaAccount.objects.filter(account_id__startswith="gh_census").count() == 0


def test_sniff():
    assert sniff(b"PK\x03\x04rest") == "xlsx"
    assert sniff("主办单位,账号".encode()) == "csv"
    assert sniff("主办单位".encode()[:-1]) == "csv", "a character cut at the end is fine"
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00") is None
    assert sniff(b"") is None


def test_the_row_cap_stops_reading_at_the_first_row_over_it(world, upload, settings):
    settings.CAMPUSMEDIA_IMPORT_MAX_ROWS = 3
    ok = upload(xlsx_bytes([good_row() for _ in range(3)]))
    assert ok.status == JobStatus.CHECKED
    _refused(upload(xlsx_bytes([good_row() for _ in range(4)])), "3 行数据的上限")
    _refused(upload(csv_bytes([good_row() for _ in range(4)]), name="x.csv"), "3 行数据的上限")


def test_reading_stops_at_the_cap_without_reading_the_rest(tmp_path):
    """A CSV of a million lines: the reader raises at line 5 without going further."""
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "x,y\n" * 1_000_000)
    seen = []
    with pytest.raises(FileRefused):
        for number, _values in read_rows(path, "csv", max_rows=3):
            seen.append(number)
    assert seen == [1, 2, 3, 4]


def test_the_size_cap(world, upload, settings):
    data = xlsx_bytes([good_row() for _ in range(3)])
    settings.CAMPUSMEDIA_IMPORT_MAX_BYTES = len(data) - 1
    _refused(upload(data), "MB 的上限")
    settings.CAMPUSMEDIA_IMPORT_MAX_BYTES = len(data)
    assert upload(data).status == JobStatus.CHECKED


def test_copy_stops_one_chunk_past_the_cap():
    class Endless:
        reads = 0

        def read(self, size: int) -> bytes:
            self.reads += 1
            return b"x" * size

    source, target = Endless(), io.BytesIO()
    with pytest.raises(FileRefused):
        files.copy_capped(source, target, max_bytes=200_000)
    assert source.reads == 4  # 64 KB chunks: the fourth one passes 200,000 bytes
    assert len(target.getvalue()) <= 200_000


def test_an_xlsx_that_unpacks_beyond_the_cap_is_refused_unopened(world, upload, settings):
    data = xlsx_bytes([good_row()])
    unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    settings.CAMPUSMEDIA_IMPORT_MAX_UNPACKED_BYTES = unpacked - 1
    _refused(upload(data), "解压后超过")


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == name else source.read(info))
    return out.getvalue()


BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row>'
    b"</sheetData></worksheet>"
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&ext;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


@pytest.mark.parametrize("payload", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml"])
def test_xml_entities_are_refused(world, upload, payload, part):
    data = _with_part(xlsx_bytes([good_row()]), part, payload)
    _refused(upload(data), "不安全的 XML 内容")


def test_entities_in_shared_strings_are_refused(world, upload):
    workbook = openpyxl.Workbook()
    workbook.active.append(["主办单位"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    strings = BOMB.replace(b"<worksheet", b"<sst").replace(b"</worksheet>", b"</sst>")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        for info in zipfile.ZipFile(buffer).infolist():
            target.writestr(info, zipfile.ZipFile(buffer).read(info))
        target.writestr("xl/sharedStrings.xml", strings)
    _refused(upload(archive.getvalue()), "不安全的 XML 内容")


def test_a_broken_workbook_is_refused_with_a_message(world, upload):
    data = xlsx_bytes([good_row()])
    broken = _with_part(data, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row>")
    _refused(upload(broken), "已损坏")


def test_missing_required_columns_are_named(world, upload):
    data = "账号名称（昵称）,平台\n某账号,微博\n".encode()
    job = upload(data, name="x.csv")
    assert job.status == JobStatus.FAILED
    assert "主办单位" in job.message and "账号ID" in job.message
    assert "平台" not in job.message.split("：", 1)[1]


def test_an_empty_file_is_refused(world, upload):
    job = upload(xlsx_bytes([]))
    assert job.status == JobStatus.FAILED and "没有数据行" in job.message


def test_the_reader_gives_the_values_openpyxl_gives(tmp_path):
    """Text, numbers, dates (built-in, custom and Chinese formats), booleans, formulas'
    cached values and gaps, from a workbook openpyxl wrote."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "普查登记"
    sheet.append(["a", "b", "c", "d", "e", "f"])
    sheet.append(["文字", 12, 3.5, True, datetime.datetime(2020, 9, 1), None])
    sheet["F2"] = datetime.date(2021, 1, 2)
    sheet["F2"].number_format = "yyyy年m月d日"
    sheet.append([None, None, "=1+1", False, 45000, "尾"])
    sheet["E3"].number_format = "yyyy/mm/dd"
    sheet.append([])
    sheet.append(["第五行"])
    path = tmp_path / "values.xlsx"
    workbook.save(path)
    ours = list(read_rows(path, "xlsx", max_rows=100))
    theirs = openpyxl.load_workbook(path, read_only=True, data_only=True)["普查登记"]
    expected = [
        (number, values)
        for number, values in enumerate(theirs.iter_rows(values_only=True), start=1)
        if any(value is not None for value in values)
    ]
    assert len(ours) == len(expected) == 4
    for (number, values), (their_number, their_values) in zip(ours, expected, strict=True):
        assert number == their_number
        padded = tuple(values) + (None,) * (len(their_values) - len(values))
        if number == 3:  # a formula openpyxl wrote has no cached value: both see its text
            assert padded[2] == "=1+1" or padded[2] is None
            padded = (*padded[:2], their_values[2], *padded[3:])
        assert padded == their_values
    assert ours[1][1][4] == datetime.datetime(2020, 9, 1)
    assert ours[2][1][4] == datetime.datetime(2023, 3, 15)


def test_shared_strings_of_a_large_workbook_stay_on_disk(tmp_path, monkeypatch):
    from census import xlsx

    monkeypatch.setattr(xlsx, "SPILL_STRINGS", 0)
    path = Path(tmp_path / "t.xlsx")
    path.write_bytes(_shared_strings_workbook(["甲", "乙乙", "", "丙"]))
    workbook = xlsx.Workbook(path)
    strings = workbook._shared_strings()
    assert isinstance(strings, xlsx._SpilledStrings)
    strings.freeze()
    assert [strings[i] for i in range(len(strings))] == ["甲", "乙乙", "", "丙"]
    rows = list(workbook.rows())
    assert rows == [(1, ("甲", "乙乙", None, "丙"))]


def _shared_strings_workbook(texts: list[str]) -> bytes:
    from census.bench import _XLSX_PARTS

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    cells = "".join(
        f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i, text in enumerate(texts) if text
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{main}"><sheetData><row r="1">{cells}</row></sheetData>'
            "</worksheet>",
        )
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{main}">' + "".join(f"<si><t>{t}</t></si>" for t in texts) + "</sst>",
        )
    return out.getvalue()
