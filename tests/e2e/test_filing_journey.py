"""Municipal filing in a real browser against a live server, on the demo data.

The department starts a batch, starts its generation and watches the progress bar move without
reloading the page, downloads the municipal office's ZIP (one Binzhou form per account, looked at
as a PNG), sends the batch, and records receipts in place: one account filed, one returned with
a reason. Drives Debian's /usr/bin/chromium through Playwright; a missing Chromium fails the test.

The generation runs where a worker would run it: the tasks backend is the dummy one here (it
queues and does not run), and the test runs the queued work itself while the page polls.
"""

from __future__ import annotations

import io
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections

from campusmedia.models import MediaAccount, User
from filing.choices import BatchState, Receipt
from filing.models import Batch, BatchItem
from filing.services import batch_build
from tests.conftest import PASSWORD, World
from tests.e2e.conftest import CHROMIUM, Login

PROGRESS_SHOT = Path("/tmp/filing-progress.png")
BATCH_SHOT = Path("/tmp/filing-batch.png")
FORM_PNG = Path("/tmp/filing-binzhou")

pytestmark = [
    pytest.mark.browser,
    # live_server needs committed data; serialized_rollback restores the migration-loaded
    # platform catalogue after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def committed_world(transactional_db, _fast_hasher, settings) -> World:
    """The demo data (``manage.py seed_demo``: units, accounts, offices), with the test's
    password on the department's login."""
    call_command("seed_demo", verbosity=0)
    for user in User.objects.filter(username__in=["propaganda"]):
        user.set_password(PASSWORD)
        user.save()
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    return World()


def _work(batch_id: int, connection) -> None:
    """The worker's job in a thread that shares the test's connection (as the live server
    does: an in-memory SQLite database exists only on that connection)."""
    connections["default"] = connection
    try:
        batch_build(batch_id)
    finally:
        connection.dec_thread_sharing()


def test_the_department_files_the_demo_accounts(live_server, login: Login) -> None:
    page = login("propaganda")
    page.goto(f"{live_server.url}/filing/")
    running_wechat = MediaAccount.objects.filter(platform__code="wechat", status="active").count()
    assert page.get_by_text("待报备账号").is_visible()
    page.get_by_role("button", name="开始新批次").click()
    page.wait_for_url("**/filing/batches/*/")
    batch = Batch.objects.get()
    assert batch.items.count() == running_wechat > 20

    page.get_by_role("button", name="生成报送材料").click()
    page.wait_for_selector("text=正在生成报送材料")
    bar = page.get_by_role("progressbar")
    assert bar.get_attribute("aria-valuenow") == "0"
    # The queued work, run as the worker would run it, while the page keeps polling.
    connections["default"].inc_thread_sharing()
    worker = threading.Thread(target=_work, args=(batch.pk, connections["default"]))
    worker.start()
    page.wait_for_function(
        "() => { const b = document.querySelector('[role=progressbar]');"
        " const v = b && +b.getAttribute('aria-valuenow'); return v > 0 && v < 100; }",
        timeout=60_000,
    )
    page.screenshot(path=str(PROGRESS_SHOT), full_page=False)
    worker.join()
    # The fragment asks for a reload when the work is done: the packets appear.
    page.wait_for_selector("text=报送材料已生成", timeout=30_000)
    assert Batch.objects.get().state == BatchState.READY

    municipal = batch.packets.get(office__parent__isnull=True)
    with page.expect_download() as download_info:
        page.locator(f"a[href$='/filing/packets/{municipal.pk}/download/']").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    forms = sorted(n for n in archive.namelist() if n.startswith("登记表/"))
    assert len(forms) == municipal.item_count == batch.items.filter(office=municipal.office).count()
    pdf = Path("/tmp/filing-form.pdf")
    pdf.write_bytes(archive.read(forms[0]))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "NotoSerifCJK" in fonts.replace("-", "") and "Helvetica" not in fonts
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "滨州市微信公众账号登记表" in text
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", "-singlefile", str(pdf), str(FORM_PNG)], check=True
    )

    page.get_by_role("button", name="通过电子邮件报送").click()
    page.wait_for_selector("text=已报送")
    assert len(mail.outbox) == batch.packets.count()

    first, second = list(
        BatchItem.objects.filter(batch=batch, office=municipal.office).order_by(
            "unit_name", "account_name", "id"
        )[:2]
    )
    page.locator(f"#item-{first.pk} button[value=filed]").click()
    page.wait_for_selector(f"#item-{first.pk} .receipt-filed")
    page.fill(f"#note-{second.pk}", "功能定位请写明信息发布范围")
    page.locator(f"#item-{second.pk} button[value=returned]").click()
    page.wait_for_selector(f"#item-{second.pk} >> text=功能定位请写明信息发布范围")
    page.screenshot(path=str(BATCH_SHOT), full_page=False)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.receipt, second.receipt) == (Receipt.FILED, Receipt.RETURNED)
    assert first.account.municipal_filing.fingerprint == first.fingerprint


def test_an_anonymous_visitor_verifies_an_account(live_server, committed_world, monkeypatch):
    """No login: an official account is found by name, an unknown name is "not official"."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    official = MediaAccount.objects.filter(status="active").order_by("name").first()
    assert official is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{live_server.url}/public/verify/")
        page.fill("input[name=q]", official.name)
        page.locator("form [type=submit]").first.click()
        page.wait_for_load_state()
        body = page.content()
        assert "官方账号" in body and official.approval_number in body
        assert "/accounts/login/" not in page.url
        page.fill("input[name=q]", "冒名顶替的假账号")
        page.locator("form [type=submit]").first.click()
        page.wait_for_load_state()
        assert "不是本校登记的官方账号" in page.content()
        browser.close()
