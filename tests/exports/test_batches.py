"""The batch export (/exports/batches.xlsx and .csv): every account of the municipal filing
batches, for the department and the auditor only; never the encrypted form data."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from filing import services
from filing.models import Batch
from tests.conftest import ID_NUMBER, World
from tests.exports.conftest import FORMATS, body, download, raw_text, read_rows

pytestmark = pytest.mark.django_db

HEADER = [
    "批次",
    "批次状态",
    "创建时间",
    "生成时间",
    "报送时间",
    "备案地址",
    "账号名称",
    "平台",
    "账号ID",
    "主办单位",
    "事项",
    "回执",
    "退回原因",
    "回执时间",
]
FILED = {"学校官方微信", "计算机学院官微", "机械学院官微"}  # the active WeChat accounts


def url(fmt: str, query: str = "") -> str:
    return f"/exports/batches.{fmt}" + (f"?{query}" if query else "")


def flat(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


@pytest.fixture
def batch(filing_world: World) -> Batch:
    return services.batch_create(actor=filing_world.users["propaganda"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_and_one_row_per_account(filing_world: World, batch, client_for, fmt):
    rows = read_rows(body(client_for(filing_world.users["propaganda"]).get(url(fmt))), fmt)
    assert rows[0] == HEADER
    records = [{k: flat(v) for k, v in zip(HEADER, row, strict=True)} for row in rows[1:]]
    assert {r["账号名称"] for r in records} == FILED
    created = timezone.localtime(batch.created_at).strftime("%Y-%m-%d %H:%M")
    row = next(r for r in records if r["账号名称"] == "机械学院官微")
    assert row == {
        "批次": str(batch),
        "批次状态": "待生成",
        "创建时间": created,
        "生成时间": "",
        "报送时间": "",
        "备案地址": "滨城区网络文化办公室",  # college B's account is served by the district office
        "账号名称": "机械学院官微",
        "平台": "微信公众号",
        "账号ID": "gh_me01",
        "主办单位": "机械学院",
        "事项": "新增备案",
        "回执": "待回执",
        "退回原因": "",
        "回执时间": "",
    }
    # The municipal office's accounts first (the batch page's order).
    assert records[-1]["备案地址"] == "滨城区网络文化办公室"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("persona", ["propaganda", "auditor"])
def test_department_and_auditor(filing_world: World, batch, client_for, fmt, persona):
    records = download(client_for(filing_world.users[persona]), url(fmt), fmt)
    assert len(records) == 3


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("persona", ["sec_a", "head_a", "sec_b", "league"])
def test_others_get_403_and_nothing_is_audited(
    filing_world: World, batch, client_for, fmt, persona
):
    response = client_for(filing_world.users[persona]).get(url(fmt))
    assert response.status_code == 403
    assert "机械学院官微" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_goes_to_login(db, client_for, fmt):
    response = client_for(None).get(url(fmt))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("fmt", FORMATS)
def test_year_and_batch_filters_and_the_audit_row(filing_world: World, batch, client_for, fmt):
    client = client_for(filing_world.users["auditor"])
    assert len(download(client, url(fmt, f"year={batch.year}"), fmt)) == 3
    assert download(client, url(fmt, "year=1999"), fmt) == []
    assert len(download(client, url(fmt, f"batch={batch.pk}"), fmt)) == 3
    assert download(client, url(fmt, f"batch={batch.pk + 1}"), fmt) == []
    details = [
        e.detail for e in AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("pk")
    ]
    assert details == [
        {"what": "batches", "format": fmt, "filters": {"year": batch.year}, "rows": 3},
        {"what": "batches", "format": fmt, "filters": {"year": 1999}, "rows": 0},
        {"what": "batches", "format": fmt, "filters": {"batch": batch.pk}, "rows": 3},
        {"what": "batches", "format": fmt, "filters": {"batch": batch.pk + 1}, "rows": 0},
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_personal_data_and_no_form_data(filing_world: World, batch, client_for, fmt):
    text = raw_text(body(client_for(filing_world.users["propaganda"]).get(url(fmt))), fmt)
    assert ID_NUMBER not in text
    for admin in filing_world.admins.values():
        assert admin.mobile not in text
        assert admin.email not in text
    item = batch.items.first()
    assert item is not None
    assert item.data[:40] not in text
    assert "gAAAAA" not in text


def test_response_headers(filing_world: World, batch, client_for):
    response = client_for(filing_world.users["propaganda"]).get(url("xlsx"))
    body(response)
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
