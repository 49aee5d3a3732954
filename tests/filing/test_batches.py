"""Municipal filing batches: what a batch holds, generating, sending, receipts, the 30-day rule.

The personas' WeChat accounts (the Binzhou form files WeChat official accounts only) are the
school's, college A's and college B's; all three run and were never filed.
"""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import zipfile

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from approvals import services as requests
from approvals.choices import RequestKind
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import AuditEvent, MediaAccount, Office
from campusmedia.models.audit import AuditAction
from filing import services
from filing.choices import BatchState, ItemKind, Receipt
from filing.models import AccountFiling, Batch, BatchPacket
from filing.packets import packet_bytes
from filing.selectors import due_filings
from tests.approvals.conftest import new_team

WECHAT = ("school", "a", "b")


def _start(world) -> Batch:
    return services.batch_create(actor=world.users["propaganda"])


def _generated(world, committed) -> Batch:
    batch = _start(world)
    with committed():
        services.batch_generate(batch=batch, actor=world.users["propaganda"])
    batch.refresh_from_db()
    return batch


def _names(batch: Batch) -> set[str]:
    return set(batch.items.values_list("account_name", flat=True))


def _receipt(world, batch: Batch, account_key: str, receipt: str, note: str = "") -> None:
    item = batch.items.get(account=world.accounts[account_key])
    services.receipts_record(
        batch=batch,
        lines=[services.ReceiptLine(item, receipt, note)],
        actor=world.users["propaganda"],
    )


def _filed_all(world, committed) -> Batch:
    batch = _generated(world, committed)
    services.batch_send(batch=batch, actor=world.users["propaganda"], email=False)
    for key in WECHAT:
        _receipt(world, batch, key, Receipt.FILED)
    batch.refresh_from_db()
    return batch


# --- What a batch holds --------------------------------------------------------------------------


def test_batch_holds_every_running_account_of_the_form_never_filed(filing_world):
    world = filing_world
    batch = _start(world)
    assert _names(batch) == world.account_names(*WECHAT)
    assert set(batch.items.values_list("kind", flat=True)) == {ItemKind.NEW}
    offices = dict(batch.items.values_list("account_name", "office__name"))
    assert offices[world.accounts["b"].name] == "滨城区网络文化办公室"
    assert offices[world.accounts["a"].name] == "滨州市网络文化办公室"
    assert (batch.year, batch.seq) == (timezone.localdate().year, 1)
    assert AuditEvent.objects.filter(action=AuditAction.FILING_BATCH).count() == 1


def test_item_data_is_encrypted_and_holds_only_what_the_form_asks(filing_world):
    world = filing_world
    batch = _start(world)
    item = batch.items.get(account=world.accounts["a"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM filing_batchitem WHERE id = %s", [item.pk])
        stored = cursor.fetchone()[0]
    admin = world.admins["a"]
    assert admin.mobile not in stored and admin.name not in stored
    fields = json.loads(item.data)
    assert admin.mobile in json.dumps(fields, ensure_ascii=False)  # Binzhou asks 管理员手机
    assert "11010519491231002X" not in json.dumps(fields)  # and no ID number


def test_a_second_batch_right_after_holds_nothing(filing_world):
    world = filing_world
    _start(world)
    with pytest.raises(services.BatchConflict, match="没有需要报备的账号"):
        _start(world)
    assert Batch.objects.count() == 1


def test_only_the_department_starts_a_batch(filing_world):
    for login in ("sec_a", "head_a", "league", "auditor"):
        with pytest.raises(PermissionDenied):
            services.batch_create(actor=filing_world.users[login])
    assert not Batch.objects.exists()


def test_without_a_municipal_office_the_message_says_what_to_add(world):
    with pytest.raises(ValidationError, match="市级网信部门"):
        _start(world)


# --- Generating and sending ----------------------------------------------------------------------


def _zip(packet: BatchPacket) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(packet_bytes(packet)))


def test_generating_writes_one_sealed_packet_per_office(filing_world, committed):
    world = filing_world
    batch = _generated(world, committed)
    assert batch.state == BatchState.READY
    assert (batch.progress_done, batch.progress_total) == (3, 3)
    packets = {p.office.name: p for p in batch.packets.select_related("office")}
    assert set(packets) == {"滨州市网络文化办公室", "滨城区网络文化办公室"}
    municipal = _zip(packets["滨州市网络文化办公室"])
    names = municipal.namelist()
    assert "报送函.pdf" in names and "汇总表.xlsx" in names and "合并打印.pdf" in names
    forms = [n for n in names if n.startswith("登记表/")]
    assert len(forms) == 2
    assert all(municipal.read(n).startswith(b"%PDF") for n in forms)
    assert len(_zip(packets["滨城区网络文化办公室"]).namelist()) == 4  # letter, sheet, merged, form
    # Sealed at rest: the stored file is not a ZIP.
    with packets["滨州市网络文化办公室"].file.open("rb") as stored:
        assert not stored.read(4).startswith(b"PK")


def test_generating_twice_changes_nothing(filing_world, committed):
    world = filing_world
    batch = _generated(world, committed)
    before = list(batch.packets.values_list("pk", "sha256", "file"))
    again = services.batch_generate(batch=batch, actor=world.users["propaganda"])
    assert again.state == BatchState.READY
    assert list(batch.packets.values_list("pk", "sha256", "file")) == before


def test_summary_sheet_escapes_formulae(filing_world, committed):
    from openpyxl import load_workbook

    world = filing_world
    MediaAccount.objects.filter(pk=world.accounts["a"].pk).update(name="=1+1")
    batch = _generated(world, committed)
    packet = batch.packets.get(office__parent__isnull=True)
    sheet = load_workbook(io.BytesIO(_zip(packet).read("汇总表.xlsx"))).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "'=1+1" in values and "=1+1" not in values


def test_sending_mails_each_office_its_packet_once(filing_world, committed):
    world = filing_world
    batch = _generated(world, committed)
    with pytest.raises(services.BatchConflict):
        services.receipts_record(
            batch=batch,
            lines=[services.ReceiptLine(batch.items.first(), Receipt.FILED)],
            actor=world.users["propaganda"],
        )
    with committed():
        services.batch_send(batch=batch, actor=world.users["propaganda"])
    assert sorted(m.to[0] for m in mail.outbox) == ["bcwwb@example.cn", "bzwlb@example.cn"]
    attachment = mail.outbox[0].attachments[0]
    assert attachment[0].endswith(".zip") and attachment[2] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(attachment[1])).namelist()
    with committed():
        services.batch_send(batch=batch, actor=world.users["propaganda"])
    assert len(mail.outbox) == 2
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT


def test_a_batch_cannot_be_sent_before_it_is_generated(filing_world):
    batch = _start(filing_world)
    with pytest.raises(services.BatchConflict, match="尚未生成"):
        services.batch_send(batch=batch, actor=filing_world.users["propaganda"])


# --- Receipts ------------------------------------------------------------------------------------


def test_receipts_file_the_data_and_finish_the_batch(filing_world, committed):
    world = filing_world
    batch = _filed_all(world, committed)
    assert batch.state == BatchState.DONE
    assert AccountFiling.objects.count() == 3
    with pytest.raises(services.BatchConflict, match="没有需要报备的账号"):
        _start(world)
    assert due_filings() == []


def test_a_returned_account_needs_a_reason_and_comes_back_in_the_next_batch(
    filing_world, committed
):
    world = filing_world
    batch = _generated(world, committed)
    services.batch_send(batch=batch, actor=world.users["propaganda"], email=False)
    with pytest.raises(ValidationError, match="退回原因"):
        _receipt(world, batch, "a", Receipt.RETURNED)
    _receipt(world, batch, "a", Receipt.RETURNED, "功能定位填写不完整")
    _receipt(world, batch, "b", Receipt.FILED)
    _receipt(world, batch, "school", Receipt.FILED)
    with pytest.raises(services.BatchConflict):
        _receipt(world, batch, "a", Receipt.FILED)
    second = _start(world)
    assert _names(second) == world.account_names("a")


def test_an_approved_change_of_administrator_puts_the_account_in_the_next_batch(
    filing_world, committed
):
    world = filing_world
    _filed_all(world, committed)
    account = world.accounts["a"]
    team = [r for r in requests.team_of(account) if r["role"] == TeamRole.SUPERVISOR]
    req = requests.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=requests.data_to_fields(requests.account_data(account)),
        team=[*team, new_team()[1]],
    )
    req = requests.request_submit(account_request=req, actor=world.users["sec_a"])
    req = requests.request_endorse(account_request=req, actor=world.users["head_a"])
    requests.request_approve(account_request=req, actor=world.users["propaganda"])
    due = due_filings()
    assert [(d.name, d.kind) for d in due] == [(account.name, ItemKind.CHANGE)]
    assert due[0].due_on == timezone.localdate() + datetime.timedelta(days=30)
    batch = _start(world)
    item = batch.items.get()
    assert (item.account_id, item.kind) == (account.pk, ItemKind.CHANGE)
    assert "新管理员" in item.data


def test_a_change_no_form_prints_is_found_unchanged_and_not_filed(filing_world, committed):
    world = filing_world
    _filed_all(world, committed)
    from campusmedia import services as registry

    registry.account_update(
        account=world.accounts["a"], actor=None, source="测试", url="https://example.edu.cn/"
    )
    assert [d.name for d in due_filings()] == [world.accounts["a"].name]
    with pytest.raises(services.BatchConflict):
        _start(world)
    assert due_filings() == []  # checked: the office holds the same data


def test_a_closure_after_filing_is_filed_as_a_closure(filing_world, committed):
    world = filing_world
    _filed_all(world, committed)
    MediaAccount.objects.filter(pk=world.accounts["b"].pk).update(
        status=AccountStatus.CLOSED, closed_on=timezone.localdate()
    )
    batch = _start(world)
    assert list(batch.items.values_list("account_id", "kind")) == [
        (world.accounts["b"].pk, ItemKind.CLOSE)
    ]


# --- The 30-day rule -----------------------------------------------------------------------------


def test_due_dates_count_from_the_opening(filing_world):
    world = filing_world
    opened = timezone.localdate() - datetime.timedelta(days=40)
    MediaAccount.objects.filter(pk=world.accounts["a"].pk).update(opened_on=opened)
    due = {d.name: d for d in due_filings()}
    late = due[world.accounts["a"].name]
    assert late.due_on == opened + datetime.timedelta(days=30)
    assert late.overdue and not late.waiting
    assert not due[world.accounts["b"].name].overdue
    _start(world)
    assert all(d.waiting for d in due_filings())


# --- Other cities --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "title", "accounts"),
    [
        ("rizhao", "日照市微信公众账号备案登记表", WECHAT),
        # Langfang files every new-media account; a suspended one still exists on its platform.
        (
            "langfang",
            "廊坊市新媒体账号登记备案表",
            ("school", "propaganda", "school_org", "a", "a_org", "b"),
        ),
    ],
)
def test_switching_the_city_yields_that_citys_forms(
    world, settings, committed, city, title, accounts
):
    settings.CAMPUSMEDIA_FILING_CITY = city
    Office.objects.create(city=city, name=f"{city}网信办", email=f"{city}@example.cn")
    batch = _generated(world, committed)
    assert _names(batch) == world.account_names(*accounts)
    archive = _zip(batch.packets.get())
    forms = [n for n in archive.namelist() if n.startswith("登记表/")]
    assert len(forms) == len(accounts)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=archive.read(forms[0]), capture_output=True, check=True
    ).stdout.decode()
    assert title in text
    assert batch.city == city


# --- The production path: the database backend and its worker -----------------------------------


# The worker closes and reopens its connection between tasks, as it does in production: the data
# must be committed for it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_generation_queued_in_the_database_is_run_by_the_worker(filing_world, settings, committed):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = filing_world
    batch = _start(world)
    with committed():
        services.batch_generate(batch=batch, actor=world.users["propaganda"])
    batch.refresh_from_db()
    assert batch.state == BatchState.GENERATING and batch.task_id
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    batch.refresh_from_db()
    assert batch.state == BatchState.READY and batch.packets.count() == 2
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
