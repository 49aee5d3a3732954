"""Batch pages and the batch API: personas × endpoints, what each step leaves in the database,
the progress bar, receipts in place, query counts."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core import mail

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from filing import services
from filing.choices import BatchState, Receipt
from filing.models import Batch, BatchItem

ANONYMOUS = "anonymous"
PERSONAS = ["propaganda", "auditor", "sec_a", "head_a", "league", ANONYMOUS]
LOGIN = "login"


@pytest.fixture
def batch(filing_world) -> Batch:
    return services.batch_create(actor=filing_world.users["propaganda"])


def _ready(world, batch: Batch, committed) -> Batch:
    with committed():
        services.batch_generate(batch=batch, actor=world.users["propaganda"])
    batch.refresh_from_db()
    return batch


def _sent(world, batch: Batch, committed) -> Batch:
    _ready(world, batch, committed)
    return services.batch_send(batch=batch, actor=world.users["propaganda"], email=False)


def _client(client_for, world, persona):
    return client_for(None if persona == ANONYMOUS else world.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:300]


# (method, url builder, who gets what: propaganda, auditor, others)
READS = {
    "index": lambda b: "/filing/",
    "detail": lambda b: f"/filing/batches/{b.pk}/",
    "progress": lambda b: f"/filing/batches/{b.pk}/progress/",
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", sorted(READS))
def test_who_reads_batch_pages(filing_world, batch, client_for, persona, page):
    response = _client(client_for, filing_world, persona).get(READS[page](batch))
    expected = {"propaganda": 200, "auditor": 200, ANONYMOUS: LOGIN}.get(persona, 403)
    _expect(response, expected)


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "head_a", "league", ANONYMOUS])
def test_nobody_but_the_department_takes_a_step(filing_world, batch, client_for, persona):
    client = _client(client_for, filing_world, persona)
    item = batch.items.first()
    expected = LOGIN if persona == ANONYMOUS else 403
    for url, data in (
        ("/filing/batches/new/", {}),
        (f"/filing/batches/{batch.pk}/generate/", {}),
        (f"/filing/batches/{batch.pk}/send/", {"email": "0"}),
        (f"/filing/items/{item.pk}/receipt/", {"receipt": "filed"}),
    ):
        _expect(client.post(url, data), expected)
    batch.refresh_from_db()
    assert batch.state == BatchState.DRAFT and Batch.objects.count() == 1
    assert not batch.packets.exists()


@pytest.mark.parametrize("persona", ["auditor", "sec_a", ANONYMOUS])
def test_only_the_department_downloads_packets(filing_world, batch, client_for, persona, committed):
    _ready(filing_world, batch, committed)
    packet = batch.packets.first()
    response = _client(client_for, filing_world, persona).get(
        f"/filing/packets/{packet.pk}/download/"
    )
    _expect(response, LOGIN if persona == ANONYMOUS else 403)


def test_steps_are_post_only(filing_world, batch, client_for):
    client = client_for(filing_world.users["propaganda"])
    item = batch.items.first()
    for url in (
        "/filing/batches/new/",
        f"/filing/batches/{batch.pk}/generate/",
        f"/filing/batches/{batch.pk}/send/",
        f"/filing/items/{item.pk}/receipt/",
    ):
        assert client.get(url).status_code == 405


def test_the_department_runs_a_batch_through_the_pages(filing_world, client_for, committed):
    world = filing_world
    client = client_for(world.users["propaganda"])
    index = client.get("/filing/")
    assert "开始新批次" in index.content.decode()
    response = client.post("/filing/batches/new/", {"note": "12月集中报送"})
    batch = Batch.objects.get()
    assert response["Location"] == f"/filing/batches/{batch.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "生成报送材料" in page and world.accounts["a"].name in page

    with committed():
        client.post(f"/filing/batches/{batch.pk}/generate/")
    batch.refresh_from_db()
    assert batch.state == BatchState.READY
    page = client.get(f"/filing/batches/{batch.pk}/").content.decode()
    assert "100%" in page and "下载报送包" in page

    packet = batch.packets.get(office__parent__isnull=True)
    download = client.get(f"/filing/packets/{packet.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert AuditEvent.objects.filter(action=AuditAction.FILE_DOWNLOADED).count() == 1

    with committed():
        client.post(f"/filing/batches/{batch.pk}/send/", {"email": "1"})
    assert len(mail.outbox) == 2
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT

    item = batch.items.get(account=world.accounts["a"])
    row = client.post(
        f"/filing/items/{item.pk}/receipt/",
        {"receipt": "returned", "note": ""},
        HTTP_HX_REQUEST="true",
    )
    assert row.status_code == 400 and "退回原因" in row.content.decode()
    row = client.post(
        f"/filing/items/{item.pk}/receipt/",
        {"receipt": "returned", "note": "请补充功能定位"},
        HTTP_HX_REQUEST="true",
    )
    assert row.status_code == 200 and "请补充功能定位" in row.content.decode()
    assert "<html" not in row.content.decode()  # a table row, swapped in place
    item.refresh_from_db()
    assert item.receipt == Receipt.RETURNED

    for packet in batch.packets.all():
        client.post(f"/filing/packets/{packet.pk}/receipts/")
    assert set(batch.items.values_list("receipt", flat=True)) == {
        Receipt.FILED,
        Receipt.RETURNED,
    }
    batch.refresh_from_db()
    assert batch.state == BatchState.DONE


def test_progress_polls_while_generating_and_reloads_when_done(filing_world, batch, client_for):
    client = client_for(filing_world.users["propaganda"])
    Batch.objects.filter(pk=batch.pk).update(
        state=BatchState.GENERATING, progress_done=1, progress_total=3
    )
    fragment = client.get(f"/filing/batches/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'aria-valuenow="33"' in body
    assert "HX-Refresh" not in fragment
    Batch.objects.filter(pk=batch.pk).update(state=BatchState.READY, progress_done=3)
    fragment = client.get(f"/filing/batches/{batch.pk}/progress/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"
    assert "every 1s" not in fragment.content.decode()


def test_nothing_to_file_is_a_message(filing_world, batch, client_for):
    client = client_for(filing_world.users["propaganda"])
    response = client.post("/filing/batches/new/", follow=True)
    assert "目前没有需要报备的账号" in response.content.decode()
    assert Batch.objects.count() == 1


def test_query_counts_do_not_grow_with_items(
    filing_world, batch, client_for, django_assert_max_num_queries, committed
):
    client = client_for(filing_world.users["propaganda"])
    _sent(filing_world, batch, committed)
    with django_assert_max_num_queries(16):
        assert client.get(f"/filing/batches/{batch.pk}/").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get("/filing/").status_code == 200


def test_the_account_page_shows_the_filing_due_date(filing_world, client_for):
    world = filing_world
    page = client_for(world.users["sec_a"]).get(world.accounts["a"].get_absolute_url())
    assert "市网信办备案" in page.content.decode() and "新增备案待报备" in page.content.decode()
    weibo = client_for(world.users["propaganda"]).get(
        world.accounts["propaganda"].get_absolute_url()
    )
    assert "不属于滨州市登记表的报备范围" in weibo.content.decode()


def test_the_department_home_shows_what_is_due(filing_world, client_for):
    home = client_for(filing_world.users["propaganda"]).get("/").content.decode()
    assert "市网信办报备" in home and filing_world.accounts["b"].name in home
    assert (
        "市网信办报备（30 日内）"
        not in client_for(filing_world.users["sec_a"]).get("/").content.decode()
    )


# --- API -----------------------------------------------------------------------------------------


def test_api_runs_a_batch(filing_world, client_for, committed):
    world = filing_world
    client = client_for(world.users["propaganda"])
    created = client.post("/api/v1/batches/", {"note": "API"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "draft" and len(body["items"]) == 3
    batch_id = body["id"]
    early = client.post(f"/api/v1/batches/{batch_id}/send/", {}, content_type="application/json")
    assert early.status_code == 409 and "尚未生成" in early.json()["detail"]
    with committed():
        client.post(f"/api/v1/batches/{batch_id}/generate/")
    generated = client.get(f"/api/v1/batches/{batch_id}/")
    assert generated.json()["state"] == "ready" and generated.json()["percent"] == 100
    sent = client.post(
        f"/api/v1/batches/{batch_id}/send/", {"email": False}, content_type="application/json"
    )
    assert sent.json()["state"] == "sent" and not mail.outbox
    items = [i["id"] for i in sent.json()["items"]]
    bad = client.post(
        f"/api/v1/batches/{batch_id}/receipts/",
        {
            "receipts": [
                {"item": items[0], "receipt": "filed"},
                {"item": items[1], "receipt": "returned"},
            ]
        },
        content_type="application/json",
    )
    assert bad.status_code == 400 and "退回原因" in str(bad.json())
    assert not BatchItem.objects.exclude(receipt=Receipt.PENDING).exists()  # all or none
    done = client.post(
        f"/api/v1/batches/{batch_id}/receipts/",
        {"receipts": [{"item": i, "receipt": "filed"} for i in items]},
        content_type="application/json",
    )
    assert done.json()["state"] == "done" and done.json()["n_filed"] == 3
    listed = client.get("/api/v1/batches/").json()
    assert listed["count"] == 1 and listed["results"][0]["label"].endswith("第1批")
    again = client.post("/api/v1/batches/", {}, content_type="application/json")
    assert again.status_code == 409


@pytest.mark.parametrize("persona", ["sec_a", "head_a", "league", "auditor", ANONYMOUS])
def test_api_refuses_everyone_but_the_department(filing_world, batch, client_for, persona):
    client = _client(client_for, filing_world, persona)
    reads = client.get("/api/v1/batches/").status_code
    writes = client.post("/api/v1/batches/").status_code
    generate = client.post(f"/api/v1/batches/{batch.pk}/generate/").status_code
    if persona == ANONYMOUS:
        assert (reads, writes, generate) == (401, 401, 401) or {reads, writes, generate} == {403}
    elif persona == "auditor":
        assert (reads, writes, generate) == (200, 403, 403)
    else:
        assert (reads, writes, generate) == (403, 403, 403)
    batch.refresh_from_db()
    assert batch.state == BatchState.DRAFT and Batch.objects.count() == 1
