"""Helpers of the statistics tests, on top of the shared personas (tests/conftest.py).

The accounts of the world by tier and status (what several tests start from)::

    tier 1  school                                   active
    tier 2  propaganda, a, b (active), league (approved)
    tier 3  school_org (active), a_sub (approved), a_org (suspended)
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from django.http import HttpResponse
from openpyxl import load_workbook

from stats.exports import TABLES

EXPORTS = sorted(TABLES)
PAGE = "/stats/"

# A count on the page that links to the registry: <a href="/registry/?…">12</a>.
_REGISTRY_LINK = re.compile(r'<a href="(/registry/[^"]*)">(\d+)</a>')


def registry_links(response: HttpResponse) -> list[tuple[str, int]]:
    """(URL, number shown) of every count on the page that links to the registry."""
    text = response.content.decode()
    return [(html.unescape(url), int(n)) for url, n in _REGISTRY_LINK.findall(text)]


def export_url(table: str) -> str:
    return f"/stats/{table}.xlsx"


def sheets_of(response: HttpResponse) -> dict[str, list[list[Any]]]:
    """Worksheet title → its rows (header first) of a downloaded workbook."""
    book = load_workbook(io.BytesIO(response.content))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}


def only_sheet(response: HttpResponse) -> list[list[Any]]:
    sheets = sheets_of(response)
    assert len(sheets) == 1
    return next(iter(sheets.values()))
