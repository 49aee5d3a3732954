"""The "导出 Excel / CSV" buttons of the four list pages carry the page's query string (without
the page number), so following one exports what the page shows under the same filters."""

from __future__ import annotations

import html
import re

import pytest

from filing import services as filing_services
from tests.conftest import World
from tests.exports.conftest import FORMATS, download

pytestmark = pytest.mark.django_db

_LINK = re.compile(r'<a class="button button-small" href="([^"]+)" download data-export-format')


def export_links(page: str) -> list[str]:
    return [html.unescape(url) for url in _LINK.findall(page)]


def test_registry_page(world: World, client_for):
    client = client_for(world.users["sec_a"])
    page = client.get("/registry/?status=active&q=学院&page=1").content.decode()
    links = export_links(page)
    assert links == [
        "/exports/registry.xlsx?status=active&q=%E5%AD%A6%E9%99%A2",
        "/exports/registry.csv?status=active&q=%E5%AD%A6%E9%99%A2",
    ]
    assert ">导出 Excel</a>" in page and ">导出 CSV</a>" in page
    for link, fmt in zip(links, FORMATS, strict=True):
        assert [r["账号名称"] for r in download(client, link, fmt)] == ["计算机学院官微"]


def test_request_list_and_inbox(requests_world: World, client_for):
    client = client_for(requests_world.users["head_a"])
    listed = export_links(client.get("/requests/?state=submitted").content.decode())
    assert listed == [
        "/exports/requests.xlsx?state=submitted",
        "/exports/requests.csv?state=submitted",
    ]
    inbox = export_links(client.get("/requests/inbox/").content.decode())
    assert inbox == ["/exports/requests.xlsx?inbox=1", "/exports/requests.csv?inbox=1"]
    assert [r["账号名称"] for r in download(client, inbox[1], "csv")] == ["计算机学院研究生会"]


def test_campaign_page(world: World, campaign, client_for):
    client = client_for(world.users["propaganda"])
    unit = world.units["a"].pk
    page = client.get(f"/reviews/{campaign.year}/?unit={unit}&page=1").content.decode()
    links = export_links(page)
    assert links == [
        f"/exports/reviews/{campaign.year}.xlsx?unit={unit}",
        f"/exports/reviews/{campaign.year}.csv?unit={unit}",
    ]
    assert [r["账号名称"] for r in download(client, links[0], "xlsx")] == ["计算机学院官微"]


def test_batch_list(filing_world: World, client_for):
    client = client_for(filing_world.users["auditor"])
    assert export_links(client.get("/filing/").content.decode()) == []  # no batch yet
    filing_services.batch_create(actor=filing_world.users["propaganda"])
    links = export_links(client.get("/filing/").content.decode())
    assert links == ["/exports/batches.xlsx", "/exports/batches.csv"]
    assert len(download(client, links[1], "csv")) == 3
