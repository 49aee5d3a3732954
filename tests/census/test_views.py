"""The census pages: who reaches what (SECURITY.md, Authorization), uploading through the page,
the preview, confirming (POST only, CSRF), the progress fragment, the query count of the list."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campusmedia.models import AuditEvent, MediaAccount
from campusmedia.models.audit import AuditAction, AuditOutcome
from census.choices import JobStatus
from census.models import ImportJob
from tests.census.conftest import good_row, xlsx_bytes

ANONYMOUS = "anonymous"
OTHERS = ["sec_a", "head_a", "auditor", "sec_b", "league"]
LOGIN = "login"


@pytest.fixture
def job(world, upload) -> ImportJob:
    return upload(xlsx_bytes([good_row(), good_row()]))


def _client(client_for, world, persona: str) -> Client:
    return client_for(None if persona == ANONYMOUS else world.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:300]


PAGES = {
    "index": lambda job: "/census/",
    "template": lambda job: "/census/template.xlsx",
    "job": lambda job: f"/census/{job.pk}/",
    "progress": lambda job: f"/census/{job.pk}/progress/",
}
# Non-department users: 403 on the department's pages, 404 on a job (not theirs to know about).
OTHERS_GET = {"index": 403, "template": 403, "job": 404, "progress": 404}


@pytest.mark.parametrize("persona", ["propaganda", *OTHERS, ANONYMOUS])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_who_reads_the_census_pages(world, job, client_for, persona, page):
    response = _client(client_for, world, persona).get(PAGES[page](job))
    expected = {"propaganda": 200, ANONYMOUS: LOGIN}.get(persona, OTHERS_GET[page])
    _expect(response, expected)


@pytest.mark.parametrize("persona", [*OTHERS, ANONYMOUS])
def test_nobody_else_uploads_or_confirms(world, job, client_for, persona):
    client = _client(client_for, world, persona)
    upload = SimpleUploadedFile("x.xlsx", xlsx_bytes([good_row()]))
    _expect(
        client.post("/census/upload/", {"file": upload}),
        LOGIN if persona == ANONYMOUS else 403,
    )
    for action in ("confirm", "discard"):
        _expect(
            client.post(f"/census/{job.pk}/{action}/"),
            LOGIN if persona == ANONYMOUS else 404,
        )
    assert ImportJob.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()


def test_the_department_uploads_previews_and_confirms(world, client_for, committed):
    client = client_for(world.users["propaganda"])
    rows = [good_row(), good_row()]
    response = client.post(
        "/census/upload/", {"file": SimpleUploadedFile("普查.xlsx", xlsx_bytes(rows))}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/census/{job.pk}/"
    assert job.status == JobStatus.CHECKED and job.file_name == "普查.xlsx"
    page = client.get(f"/census/{job.pk}/")
    body = page.content.decode()
    assert "确认导入 2 个账号" in body
    assert rows[0]["账号名称（昵称）"] in body and "139****9000" in body
    assert rows[0]["管理员1手机"] not in body
    assert "no-store" in page["Cache-Control"]
    with committed():
        response = client.post(f"/census/{job.pk}/confirm/", follow=True)
    assert "已导入 2 个账号" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.IMPORTED
    assert MediaAccount.objects.filter(account_id__in=[r["账号ID"] for r in rows]).count() == 2
    # The page after the import has no confirm button any more.
    assert "确认导入" not in client.get(f"/census/{job.pk}/").content.decode()


def test_the_preview_names_every_bad_row_and_offers_no_confirmation(world, client_for):
    client = client_for(world.users["propaganda"])
    rows = [good_row(), good_row(**{"管理员1手机": "12345"}), good_row(**{"主办单位": "无此单位"})]
    client.post("/census/upload/", {"file": SimpleUploadedFile("bad.xlsx", xlsx_bytes(rows))})
    job = ImportJob.objects.get()
    body = client.get(f"/census/{job.pk}/").content.decode()
    assert "第 3 行" in body and "「管理员1手机」" in body
    assert "第 4 行" in body and "「主办单位」" in body
    assert "确认导入" not in body
    response = client.post(f"/census/{job.pk}/confirm/", follow=True)
    assert "没有通过检查" in response.content.decode()
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()


def test_confirm_is_post_only_and_needs_csrf(world, job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(
        world.users["propaganda"], backend="django.contrib.auth.backends.ModelBackend"
    )
    assert client.get(f"/census/{job.pk}/confirm/").status_code == 405
    assert client.post(f"/census/{job.pk}/confirm/").status_code == 403  # no token
    assert (
        client.post("/census/upload/", {"file": SimpleUploadedFile("x.xlsx", b"x")}).status_code
        == 403
    )
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED
    assert ImportJob.objects.count() == 1
    page = client.get(f"/census/{job.pk}/")
    token = page.cookies["csrftoken"].value
    response = client.post(f"/census/{job.pk}/confirm/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.IMPORTED


def test_an_upload_over_the_cap_is_refused_while_it_arrives(world, client_for, settings):
    settings.CAMPUSMEDIA_IMPORT_MAX_BYTES = 100 * 1024
    client = client_for(world.users["propaganda"])
    big = SimpleUploadedFile("big.xlsx", b"PK\x03\x04" + b"\x00" * (300 * 1024))
    response = client.post("/census/upload/", {"file": big}, follow=True)
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED and "MB 的上限" in job.message
    assert job.file_name == "big.xlsx" and not job.file
    assert "MB 的上限" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert event.outcome == AuditOutcome.FAILURE


def test_an_upload_without_a_file_is_a_message(world, client_for):
    client = client_for(world.users["propaganda"])
    response = client.post("/census/upload/", {}, follow=True)
    assert "请选择要上传的文件" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_the_template_downloads_as_an_attachment(world, client_for):
    response = client_for(world.users["propaganda"]).get("/census/template.xlsx")
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:2] == ["普查登记", "填写说明"]


def test_progress_polls_while_a_job_runs_and_reloads_when_it_ends(world, job, client_for):
    client = client_for(world.users["propaganda"])
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.CHECKING, background=True, processed_rows=1000, total_rows=4000
    )
    fragment = client.get(f"/census/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'aria-valuenow="25"' in body
    assert "已检查 1000 / 约 4000 行" in body
    assert "HX-Refresh" not in fragment
    page = client.get(f"/census/{job.pk}/").content.decode()
    assert 'hx-get="/census/' in page and "确认导入" not in page
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.CHECKED, processed_rows=4000)
    fragment = client.get(f"/census/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"
    assert "every 1s" not in fragment.content.decode()


def test_the_job_list_shows_jobs_with_status_badges(world, job, upload, client_for):
    upload(xlsx_bytes([good_row(**{"管理员1手机": "1"})]), name="坏文件.xlsx")
    body = client_for(world.users["propaganda"]).get("/census/").content.decode()
    assert 'class="badge census-checked"' in body and 'class="badge census-failed"' in body
    assert "坏文件.xlsx" in body and "下载普查登记模板" in body


def test_the_job_list_query_count_does_not_grow(
    world, upload, client_for, django_assert_num_queries
):
    client = client_for(world.users["propaganda"])
    upload(xlsx_bytes([good_row()]))
    client.get("/census/")
    with django_assert_num_queries(4):  # session, user, roles, jobs
        assert client.get("/census/").status_code == 200
    for _ in range(5):
        upload(xlsx_bytes([good_row()]))
    assert ImportJob.objects.count() == 6
    with django_assert_num_queries(4):  # session, user, roles, jobs
        assert client.get("/census/").status_code == 200


def test_the_nav_links_the_census_for_the_department_only(world, client_for):
    assert 'href="/census/"' in client_for(world.users["propaganda"]).get("/").content.decode()
    assert 'href="/census/"' not in client_for(world.users["sec_a"]).get("/").content.decode()


def test_a_checked_job_can_be_discarded_and_its_files_go(world, job, client_for):
    client = client_for(world.users["propaganda"])
    stored = [job.file.path, job.staged.path]
    assert "放弃导入并删除文件" in client.get(f"/census/{job.pk}/").content.decode()
    assert client.get(f"/census/{job.pk}/discard/").status_code == 405
    response = client.post(f"/census/{job.pk}/discard/", follow=True)
    assert "已放弃导入" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and not job.file and not job.staged
    assert not any(os.path.exists(path) for path in stored)
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert (event.outcome, event.detail["stage"]) == (AuditOutcome.FAILURE, "discarded")
    response = client.post(f"/census/{job.pk}/confirm/", follow=True)
    assert "没有通过检查" in response.content.decode()
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()
