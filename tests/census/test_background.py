"""Large files go to the background: the check and the import are tasks run by the database
backend's worker (as in production), the page shows their progress, and they finish."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from campusmedia.models import AuditEvent, MediaAccount
from campusmedia.models.audit import AuditAction, AuditOutcome
from census import services
from census.choices import JobStatus
from census.models import ImportJob
from tests.census.conftest import good_row, xlsx_bytes


def _work() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


# The worker runs tasks on its own connection between commits, as in production: the data must
# be committed for it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_large_file_is_checked_and_imported_by_the_worker(world, settings, client_for):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.CAMPUSMEDIA_IMPORT_BACKGROUND_ROWS = 3
    client = client_for(world.users["propaganda"])
    rows = [good_row() for _ in range(5)]
    response = client.post(
        "/census/upload/", {"file": SimpleUploadedFile("large.xlsx", xlsx_bytes(rows))}
    )
    job = ImportJob.objects.get()
    assert response["Location"] == f"/census/{job.pk}/"
    assert (job.status, job.background, job.total_rows) == (JobStatus.UPLOADED, True, 5)
    assert job.task_id and DBTaskResult.objects.filter(status="READY").count() == 1
    page = client.get(f"/census/{job.pk}/").content.decode()
    assert "等待检查" in page and 'hx-trigger="every 1s"' in page

    _work()
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED and job.processed_rows == 5
    fragment = client.get(f"/census/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true"
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()

    client.post(f"/census/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == JobStatus.IMPORTING
    fragment = client.get(f"/census/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "正在导入" in fragment.content.decode() and "HX-Refresh" not in fragment
    assert not MediaAccount.objects.filter(account_id__startswith="gh_census").exists()

    _work()
    job.refresh_from_db()
    assert (job.status, job.created_count) == (JobStatus.IMPORTED, 5)
    assert MediaAccount.objects.filter(account_id__startswith="gh_census").count() == 5
    assert not job.file and not job.staged
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert event.outcome == AuditOutcome.SUCCESS and event.actor == world.users["propaganda"]
    assert event.ip == "127.0.0.1", "the address of the confirmation, though no request ran it"
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_check_reports_its_progress_as_it_goes(world, settings, monkeypatch):
    """The processed count is written as chunks are done (here after each, not at most once a
    second), where a polling page sees it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.CAMPUSMEDIA_IMPORT_BACKGROUND_ROWS = 1
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    monkeypatch.setattr(services, "PROGRESS_EVERY_S", 0)
    seen: list[tuple[str, int]] = []
    original = services._progress

    def spy(job_id: int, done: int, **kwargs) -> None:
        original(job_id, done, **kwargs)
        job = ImportJob.objects.get(pk=job_id)
        seen.append((job.status, job.processed_rows))

    monkeypatch.setattr(services, "_progress", spy)
    job = services.job_create(
        actor=world.users["propaganda"],
        upload=SimpleUploadedFile("x.xlsx", xlsx_bytes([good_row() for _ in range(5)])),
        file_name="x.xlsx",
    )
    _work()
    assert seen == [("checking", 2), ("checking", 4), ("checking", 5)]
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_import_progress_is_seen_by_others_before_the_commit(world, monkeypatch):
    """On PostgreSQL the import's progress is written through a connection of its own, so the
    polling page sees it while the rows are still uncommitted. (On SQLite that connection would
    wait for the import's write lock: there the bar shows the import running, without figures.)"""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("progress inside the import's transaction is shown on PostgreSQL")
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    monkeypatch.setattr(services, "PROGRESS_EVERY_S", 0)
    job = services.job_create(
        actor=world.users["propaganda"],
        upload=SimpleUploadedFile("x.xlsx", xlsx_bytes([good_row() for _ in range(5)])),
        file_name="x.xlsx",
    )
    assert job.status == JobStatus.CHECKED
    seen: list[tuple[int, int]] = []
    original = services._progress

    def spy(job_id: int, done: int, **kwargs) -> None:
        original(job_id, done, **kwargs)

        def look() -> None:  # another connection, as the polling request has
            from django.db import connection as own

            seen.append(
                (
                    ImportJob.objects.get(pk=job_id).processed_rows,
                    MediaAccount.objects.filter(account_id__startswith="gh_census").count(),
                )
            )
            own.close()

        reader = threading.Thread(target=look)
        reader.start()
        reader.join()

    monkeypatch.setattr(services, "_progress", spy)
    services.job_confirm(job=job, actor=world.users["propaganda"])
    # The figures move while the accounts are not visible yet: all of them come at the commit.
    assert seen == [(2, 0), (4, 0), (5, 0)]
    assert MediaAccount.objects.filter(account_id__startswith="gh_census").count() == 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_forked_workers_check_a_large_file_as_one_process_would(world, settings, monkeypatch):
    """From CAMPUSMEDIA_IMPORT_PARALLEL_ROWS rows on the chunks are checked by forked worker
    processes while the job's process reads the sheet: the errors (in cells, repeats within and
    across chunks), the preview and the staged rows are those of a check in one process."""
    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("forked workers open the database anew, which an in-memory one cannot be")
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    settings.CAMPUSMEDIA_IMPORT_PARALLEL_ROWS = 1
    forked: list[int] = []
    original = services._checked_in_workers

    def spy(context, chunks, workers):
        forked.append(workers)
        return original(context, chunks, workers)

    monkeypatch.setattr(services, "_checked_in_workers", spy)

    def check(rows: list[dict], workers: int) -> tuple:
        settings.CAMPUSMEDIA_IMPORT_WORKERS = workers
        job = services.job_create(
            actor=world.users["propaganda"],
            upload=SimpleUploadedFile("x.xlsx", xlsx_bytes(rows)),
            file_name="x.xlsx",
            run_now=True,
        )
        staged = job.staged.open("rb").read() if job.staged else b""
        return job.status, job.total_rows, job.error_count, job.errors, job.sample, staged

    clean = [good_row() for _ in range(11)]
    one, two = check(clean, 1), check(clean, 2)
    assert forked == [2]
    assert one == two and one[0] == JobStatus.CHECKED and one[1] == 11
    assert one[5].count(b"\n") == 11 and len(one[4]) == 10
    bad = [good_row() for _ in range(11)]
    bad[4]["平台"] = "没有的平台"  # a cell
    bad[2]["账号ID"] = bad[0]["账号ID"]  # a repeat in the first chunk
    bad[9]["账号ID"] = bad[1]["账号ID"]  # a repeat of the first chunk in the fourth
    one, two = check(bad, 1), check(bad, 2)
    assert forked == [2, 2]
    assert one == two and one[0] == JobStatus.FAILED
    assert [(e["row"], e["column"]) for e in two[3]] == [
        (4, "账号ID"),
        (6, "平台"),
        (11, "账号ID"),
    ]


def _handlers() -> tuple[object, object]:
    import signal

    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


def test_a_checking_worker_does_not_keep_the_signal_handlers_it_inherits():
    """The tasks worker asks a first SIGTERM for a graceful stop; a forked checking worker that
    kept that handler would survive ``Pool.terminate`` and leave the job waiting for it."""
    import multiprocessing
    import signal

    previous = signal.signal(signal.SIGTERM, lambda *args: None)
    try:
        pool = multiprocessing.get_context("fork").Pool(1, initializer=services._worker_start)
        try:
            term, interrupt = pool.apply(_handlers)
        finally:
            pool.terminate()
            pool.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert term == signal.SIG_DFL and interrupt == signal.SIG_IGN
