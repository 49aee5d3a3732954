"""Writing a table as an xlsx workbook or a CSV file, answering with it, and auditing it.

A ``Table`` is a title, its columns and a lazy iterator of rows (one query, read in chunks). The
same rows go into both formats, every cell through ``campusmedia.spreadsheets.cell_value`` so
text a spreadsheet would evaluate stays text.

* xlsx: openpyxl's write-only workbook in the house style of ``stats.exports`` and
  ``annual_review.documents.results_xlsx`` (bold header with a fill, column widths, the header row
  frozen), saved to a temporary file and sent from there.
* CSV: UTF-8 with a byte order mark (Excel then reads Chinese correctly), CRLF line ends, streamed
  in chunks of rows, so a large export never sits in memory.

Each export writes one audit row (SECURITY.md, Audit: "every export (filter, row count)"): what,
format, filters and rows. The workbook's row is written once the file is complete; the CSV's once
its last chunk has gone out, or, when the download stops early, when the response is closed,
then with the rows sent so far and the outcome "failure".
"""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Model
from django.http import FileResponse, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from openpyxl import Workbook

from campusmedia.auditlog import audit_record
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.spreadsheets import add_sheet, cell_value

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")
# Rows per CSV chunk: large enough that the per-chunk overhead vanishes, small enough to stream.
CSV_CHUNK_ROWS = 500
BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    header: str | Promise
    width: int  # in characters, as openpyxl counts them


@dataclass
class Table:
    """One export: ``what`` names it in the audit log, ``title`` in the file name."""

    what: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    filters: dict[str, Any] = field(default_factory=dict)
    obj: Model | None = None  # the object the export belongs to (the campaign of a review)

    def filename(self, fmt: str, today: datetime.date | None = None) -> str:
        return f"{self.title}-{(today or timezone.localdate()).isoformat()}.{fmt}"


# --- xlsx ----------------------------------------------------------------------------------------


def write_xlsx(table: Table, target: IO[bytes]) -> int:
    """Write ``table`` as a one-sheet workbook to ``target``; returns the number of rows."""
    book = Workbook(write_only=True)
    sheet = add_sheet(book, table.title, [(str(c.header), c.width) for c in table.columns])
    count = 0
    append = sheet.append
    for row in table.rows:
        append([cell_value(value) for value in row])
        count += 1
    book.save(target)
    return count


# --- CSV -----------------------------------------------------------------------------------------


def _csv_text(value: Any) -> str:
    """A cell as CSV text: dates ISO, times to the minute, nothing for empty."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class CsvStream:
    """The CSV of a table in chunks of bytes, counting rows; ``on_end(rows, complete)`` runs
    once: after the last chunk, or from ``close()`` when the response ends before that."""

    def __init__(self, table: Table, on_end: Callable[[int, bool], None]) -> None:
        self.rows = 0
        self._table = table
        self._on_end = on_end
        self._ended = False
        self._chunks = self._generate()

    def _generate(self) -> Generator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow([str(column.header) for column in self._table.columns])
        pending = 0
        for row in self._table.rows:
            writer.writerow([_csv_text(cell_value(value)) for value in row])
            self.rows += 1
            pending += 1
            if pending == CSV_CHUNK_ROWS:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        yield buffer.getvalue().encode()

    def __iter__(self) -> CsvStream:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self._end(complete=True)
            raise

    def close(self) -> None:
        self._chunks.close()
        self._end(complete=False)

    def _end(self, *, complete: bool) -> None:
        if not self._ended:
            self._ended = True
            self._on_end(self.rows, complete)


# --- Responses -----------------------------------------------------------------------------------


def audit_export(
    table: Table, fmt: str, rows: int, request: HttpRequest, *, complete: bool = True
) -> None:
    detail: dict[str, Any] = {
        "what": table.what,
        "format": fmt,
        "filters": table.filters,
        "rows": rows,
    }
    if not complete:
        detail["complete"] = False
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=table.obj,
        outcome=AuditOutcome.SUCCESS if complete else AuditOutcome.FAILURE,
        detail=detail,
    )


def _protect(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def xlsx_response(table: Table, request: HttpRequest) -> HttpResponseBase:
    """The workbook, written to a temporary file first (openpyxl cannot stream a zip), then
    sent from it; audited once complete."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    try:
        rows = write_xlsx(table, target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    audit_export(table, "xlsx", rows, request)
    response = FileResponse(
        target, as_attachment=True, filename=table.filename("xlsx"), content_type=XLSX
    )
    return _protect(response)


def csv_response(table: Table, request: HttpRequest) -> HttpResponseBase:
    """The CSV, streamed; audited when the stream ends."""

    def on_end(rows: int, complete: bool) -> None:
        audit_export(table, "csv", rows, request, complete=complete)

    response = StreamingHttpResponse(CsvStream(table, on_end), content_type=CSV)
    response["Content-Disposition"] = (
        content_disposition_header(True, table.filename("csv")) or "attachment"
    )
    return _protect(response)


def respond(table: Table, fmt: str, request: HttpRequest) -> HttpResponseBase:
    if fmt == "xlsx":
        return xlsx_response(table, request)
    if fmt == "csv":
        return csv_response(table, request)
    raise ValueError(f"unknown export format {fmt!r}")
