"""Export helpers on top of the shared personas (tests/conftest.py).

Every export is fetched through the test client and read back: a workbook with openpyxl, a CSV
with the csv module (after checking its byte order mark). ``raw_text`` is every byte of a
download as text, the xlsx unzipped, for the tests that look for personal data anywhere in it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any
from unittest import mock

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponseBase
from django.test import Client
from openpyxl import load_workbook

from approvals import services as request_services
from tests.annual_review.conftest import campaign  # noqa: F401 (fixture)
from tests.approvals.conftest import open_request
from tests.conftest import World
from tests.filing.conftest import filing_world, offices  # noqa: F401 (fixtures)

FORMATS = ("xlsx", "csv")
BOM = b"\xef\xbb\xbf"


def body(response: HttpResponseBase) -> bytes:
    """The whole content of a (streaming or file) response. The test client closes a streamed
    response itself once its content has been read, as a server would."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined]


def close_early(response: HttpResponseBase) -> None:
    """Close a response before its content has been read (the browser went away), keeping the
    test's database connection open (the end of a request would close it, and with it the test's
    transaction, on PostgreSQL)."""
    with mock.patch.object(BaseDatabaseWrapper, "close_if_unusable_or_obsolete"):
        response.close()


def read_rows(content: bytes, fmt: str) -> list[list[Any]]:
    """Header and rows of a download; CSV cells as text, empty cells as ``""`` in both."""
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(content))
        assert len(book.worksheets) == 1
        return [
            ["" if value is None else value for value in row]
            for row in book.worksheets[0].iter_rows(values_only=True)
        ]
    assert content.startswith(BOM), "CSV without a byte order mark"
    return [list(row) for row in csv.reader(io.StringIO(content.decode("utf-8-sig")))]


def as_records(rows: list[list[Any]]) -> list[dict[str, Any]]:
    header, *data = rows
    return [dict(zip(header, row, strict=True)) for row in data]


def download(client: Client, url: str, fmt: str) -> list[dict[str, Any]]:
    """The records (header → value) of a successful download."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return as_records(read_rows(body(response), fmt))


def raw_text(content: bytes, fmt: str) -> str:
    """Every byte of a download as text: each member of the xlsx's zip, or the CSV."""
    if fmt == "csv":
        return content.decode("utf-8-sig")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


@pytest.fixture
def requests_world(world: World) -> World:
    """A submitted open request of college A and of college B, and a draft of college A."""
    for unit_key, login, name in (
        ("a", "sec_a", "计算机学院研究生会"),
        ("b", "sec_b", "机械学院研究生会"),
    ):
        draft = open_request(world, unit_key, login, name=name)
        request_services.request_submit(account_request=draft, actor=world.users[login])
    open_request(world, "a", "sec_a", name="计算机学院草稿号")
    return world
