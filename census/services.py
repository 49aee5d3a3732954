"""Every way a census import job changes: upload, check, confirm, import.

The web pages, the background tasks and ``manage.py import_census`` all come here:

* ``job_create`` stores the upload under a random name (size capped while copying), recognises
  xlsx or UTF-8 CSV by content and checks it at once, or queues the check when the file is over
  the background thresholds.
* ``job_check`` streams the rows through the template's columns and
  ``campusmedia.services.accounts_import`` (dry run) chunk by chunk: per-row errors naming the
  row and the column, duplicates inside the file and against the registry. A clean file is
  staged (its rows as JSON lines) and waits for confirmation; a file with any bad row, or that
  cannot be read, is refused, and nothing is written.
* ``job_confirm`` takes a checked job (once: the row is locked) and ``job_import`` writes the
  staged rows through ``accounts_import`` in one transaction: all rows or none. The registry is
  checked again as it is written, so a change since the check refuses the import as a whole.

One audit row (IMPORT) per job records the outcome: the import, or the refusal of the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import signal
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from multiprocessing.util import Finalize
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import IntegrityError, connection, connections, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from approvals.storage import private_storage
from campusmedia.auditlog import audit_record
from campusmedia.collection import few_collections
from campusmedia.models import AccountHistory, TeamMember, User
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.net import client_ip
from campusmedia.permissions import Access
from campusmedia.services import accounts_import
from census.choices import JobStatus
from census.files import (
    FileRefused,
    copy_capped,
    estimate_rows,
    read_rows,
    refusal_for,
    sniff,
)
from census.models import ImportJob, _private_name
from census.permissions import may_import
from census.resources import (
    CensusResource,
    HeaderMap,
    Lookups,
    blank_row,
    clean_row,
    field_labels,
    from_staged,
    known_prefixes,
    map_header,
)

logger = logging.getLogger(__name__)

ERR_NOT_ALLOWED = gettext_noop("只有党委宣传部可以导入普查数据。")
ERR_NOT_CHECKED = gettext_noop("该文件没有通过检查，不能导入。")
ERR_MISSING_COLUMNS = gettext_noop("表头缺少必填列：%(columns)s。请使用下载的模板填写。")
ERR_EMPTY = gettext_noop("文件中没有数据行。")
ERR_INTERNAL = gettext_noop("处理文件时出错，请稍后重试或联系管理员。")
ERR_CHANGED = gettext_noop("登记册在检查之后发生了变化，导入已整体取消，没有写入任何数据。")
ERR_CONFLICT = gettext_noop(
    "导入时同一账号已被另一批导入或页面登记，导入已整体取消，没有写入任何数据。请重新上传检查。"
)
MSG_DISCARDED = gettext_noop("已放弃导入：文件已删除，没有写入任何数据。")
ERR_DUPLICATE = gettext_noop("与第 %(line)s 行重复（同一平台上的同一账号ID）。")

ERROR_CAP = 500  # errors kept on the job; the count holds them all
SAMPLE_ROWS = 10
CHUNK_ROWS = 1000
PROGRESS_EVERY_S = 1.0  # a job's progress is written at most this often (a write a chunk
# would wait, on SQLite, for the readers of the checking workers)

_RawRow = tuple[int, tuple[Any, ...]]  # (row number, the cells as read)


def _require(actor: User | None) -> User:
    if actor is None or not may_import(Access(actor)):
        raise PermissionDenied(_(ERR_NOT_ALLOWED))
    return actor


def _stored(name: str) -> Path:
    """Where a file of the private storage (a file system one) lives."""
    return Path(cast(FileSystemStorage, private_storage).path(name))


def source_of(job: ImportJob) -> str:
    """The history's source of what a job created: 普查导入 #12."""
    return _("普查导入 #%(id)s") % {"id": job.pk}


# --- Upload -----------------------------------------------------------------------------------


def job_create(
    *,
    actor: User,
    upload: Any,
    file_name: str,
    request: HttpRequest | None = None,
    run_now: bool = False,
) -> ImportJob:
    """Store an uploaded census file and check it (``run_now``: in this process whatever its
    size, as the command does). A file that is not a spreadsheet or is over a cap is refused."""
    _require(actor)
    job = ImportJob(
        created_by=actor,
        ip=client_ip(request) if request is not None else None,
        file_name=Path(file_name or "").name[:200] or "census",
    )
    name = _private_name(job, "upload.bin")  # the format comes from the content
    path = _stored(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("wb") as target:
            job.file_size, head = copy_capped(upload, target, settings.CAMPUSMEDIA_IMPORT_MAX_BYTES)
        file_format = sniff(head)
        if file_format is None:
            raise FileRefused(refusal_for(head))
        job.file_format = file_format
        estimate = estimate_rows(path, file_format) or 0
    except FileRefused as refused:
        path.unlink(missing_ok=True)
        return _refuse(job, refused.message)
    job.file.name = name
    job.total_rows = estimate
    job.background = not run_now and (
        job.file_size > settings.CAMPUSMEDIA_IMPORT_BACKGROUND_BYTES
        or estimate > settings.CAMPUSMEDIA_IMPORT_BACKGROUND_ROWS
    )
    job.save()
    if job.background:
        from census.tasks import check_job

        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(check_job, job_id))
        return job
    return job_check(job.pk)


def upload_refused(
    *, actor: User, file_name: str, message: str, request: HttpRequest | None = None
) -> ImportJob:
    """Record an upload refused before it was stored (over the size cap while uploading)."""
    _require(actor)
    job = ImportJob(
        created_by=actor,
        ip=client_ip(request) if request is not None else None,
        file_name=Path(file_name or "").name[:200] or "census",
    )
    return _refuse(job, message)


def _refuse(job: ImportJob, message: str) -> ImportJob:
    job.status = JobStatus.FAILED
    job.message = message
    job.checked_at = timezone.now()
    job.save()
    _audit(job, job.created_by, AuditOutcome.FAILURE, stage="upload", reason=message)
    return job


def _enqueue(task: Any, job_id: int) -> None:
    result = task.enqueue(job_id)
    # The immediate backend has run it already; the database backend leaves it to a worker.
    ImportJob.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


# --- Check ------------------------------------------------------------------------------------


@dataclass
class _Errors:
    """The first ``ERROR_CAP`` errors by row, and how many there are in all."""

    labels: dict[str, str]
    prefixes: set[str]
    kept: list[tuple[int, int, str, str]] = field(default_factory=list)
    count: int = 0
    order: dict[str, int] = field(default_factory=dict)

    def add_chunk(self, found: list[tuple[int, str, str]]) -> None:
        """Errors of one chunk as (row, field key, message); one per cell."""
        seen: set[tuple[int, str]] = set()
        for line, key, message in sorted(found, key=lambda e: (e[0], self._rank(e[1]))):
            if (line, key) in seen:
                continue
            seen.add((line, key))
            self.count += 1
            if len(self.kept) < ERROR_CAP:
                self.kept.append((line, self._rank(key), key, self._clean(message)))

    def add_late(self, found: list[tuple[int, str, str]]) -> None:
        """Errors found after the pass (duplicates across chunks), merged by row."""
        extra = [(line, self._rank(key), key, self._clean(msg)) for line, key, msg in found]
        self.count += len(extra)
        self.kept = sorted(self.kept + sorted(extra)[:ERROR_CAP])[:ERROR_CAP]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"row": line, "column": self.labels.get(key, ""), "message": message}
            for line, _rank, key, message in self.kept
        ]

    def _rank(self, key: str) -> int:
        return self.order.get(key, len(self.order))

    def _clean(self, message: str) -> str:
        prefix, sep, rest = message.partition("：")
        return rest if sep and prefix in self.prefixes and rest else message


def _errors() -> _Errors:
    labels = field_labels()
    return _Errors(
        labels=labels,
        prefixes=known_prefixes(),
        order={key: index for index, key in enumerate(labels)},
    )


def _service_errors(error: ValidationError) -> list[tuple[int, str, str]]:
    found = []
    for item in error.error_list:
        params = item.params or {}
        message = item.message % params if params else item.message
        found.append((int(params.get("line", 0)), str(params.get("field", "")), str(message)))
    return found


def _duplicate_key(platform_id: int, account_id: str) -> int:
    """64 bits of a hash of (platform, account id): eight bytes a row for finding repeats in a
    file of any length. Two different keys sharing a hash would be reported as a repeat; with
    200,000 rows the chance is about one in a billion."""
    digest = hashlib.blake2b(f"{platform_id}\x1f{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class _Pass:
    """What one pass over a file keeps: counts, errors, repeats, the preview sample."""

    errors: _Errors
    rows: int = 0
    keys: array = field(default_factory=lambda: array("Q"))
    lines: array = field(default_factory=lambda: array("L"))
    chunks: array = field(default_factory=lambda: array("L"))
    chunk_count: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)


def job_check(job_id: int) -> ImportJob:
    """Check a stored file (the work of the check task; inline for small files). Idempotent: a
    job already checked is returned as it is."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in (JobStatus.UPLOADED, JobStatus.CHECKING):
            return job
        job.status = JobStatus.CHECKING
        job.processed_rows = 0
        job.save(update_fields=["status", "processed_rows"])
    staged_name = _private_name(job, "rows.jsonl")
    staged_path = _stored(staged_name)
    staged_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with few_collections(), staged_path.open("w", encoding="utf-8") as staged:
            result = _check_rows(job, staged)
    except FileRefused as refused:
        staged_path.unlink(missing_ok=True)
        return _check_failed(job, message=refused.message)
    except Exception:
        logger.exception("census job %s could not be checked", job_id)
        staged_path.unlink(missing_ok=True)
        return _check_failed(job, message=_(ERR_INTERNAL))
    job.total_rows = job.processed_rows = result.rows
    job.errors = result.errors.rows()
    job.error_count = result.errors.count
    job.sample = result.sample
    job.checked_at = timezone.now()
    if result.errors.count or not result.rows:
        staged_path.unlink(missing_ok=True)
        return _check_failed(job, message="" if result.rows else _(ERR_EMPTY))
    job.status = JobStatus.CHECKED
    job.staged.name = staged_name
    job.save()
    return job


def _check_failed(job: ImportJob, *, message: str) -> ImportJob:
    job.status = JobStatus.FAILED
    job.message = message
    job.checked_at = job.checked_at or timezone.now()
    _delete_files(job)
    job.save()
    _audit(
        job,
        job.created_by,
        AuditOutcome.FAILURE,
        stage="check",
        errors=job.error_count,
        reason=message,
    )
    return job


def _check_rows(job: ImportJob, staged: IO[str]) -> _Pass:
    resource = CensusResource()
    result = _Pass(errors=_errors())
    rows = read_rows(Path(job.file.path), job.file_format, settings.CAMPUSMEDIA_IMPORT_MAX_ROWS)
    first = next(rows, None)
    if first is None:
        raise FileRefused(_(ERR_EMPTY))
    header = map_header(first[1], resource)
    if header.missing_required:
        raise FileRefused(_(ERR_MISSING_COLUMNS) % {"columns": "、".join(header.missing_required)})
    context = _ChunkContext(
        actor=job.created_by,
        source=source_of(job),
        header=header,
        resource=resource,
        lookups=Lookups.load(),
    )
    chunks = _raw_chunks(rows, header)
    workers = settings.CAMPUSMEDIA_IMPORT_WORKERS
    if workers > 1 and job.total_rows >= settings.CAMPUSMEDIA_IMPORT_PARALLEL_ROWS and _may_fork():
        checked = _checked_in_workers(context, chunks, workers)
    else:
        checked = (_check_chunk(context, chunk) for chunk in chunks)
    progress = _Progress(job.pk)
    for found in checked:
        _merge_chunk(job, found, result, staged, progress)
    result.errors.add_late(_repeats(result))
    return result


def _raw_chunks(rows: Iterator[_RawRow], header: HeaderMap) -> Iterator[list[_RawRow]]:
    """The file's rows as read, ``CHUNK_ROWS`` non-blank rows at a time."""
    chunk: list[_RawRow] = []
    for line, values in rows:
        if blank_row(values, header):
            continue
        chunk.append((line, values))
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _ChunkContext:
    """What checking a chunk needs besides its rows (inherited by forked workers)."""

    actor: User | None
    source: str
    header: HeaderMap
    resource: CensusResource
    lookups: Lookups


@dataclass
class _Checked:
    """What checking one chunk found, in plain values: it may come from a worker process."""

    rows: int = 0
    found: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field key, message)
    keys: list[tuple[int, int]] = field(default_factory=list)  # (repeat key, row)
    samples: list[dict[str, Any]] = field(default_factory=list)  # the first valid rows
    staged: list[str] = field(default_factory=list)  # each valid row as a JSON line


def _check_chunk(context: _ChunkContext, raw: list[_RawRow]) -> _Checked:
    """Read a chunk's rows through the columns' widgets and check them with the service (a
    dry run: the models' validation, units, platforms, repeats and the registry)."""
    chunk = [
        row
        for line, values in raw
        if (row := clean_row(line, values, context.header, context.resource, context.lookups))
    ]
    checked = _Checked(rows=len(chunk))
    if not chunk:
        return checked
    checked.found = [(row.line, key, message) for row in chunk for key, message in row.errors]
    try:
        accounts_import(
            rows=[row.as_service_row() for row in chunk],
            actor=context.actor,
            source=context.source,
            dry_run=True,
        )
    except ValidationError as error:
        checked.found += _service_errors(error)
    for row in chunk:
        platform, account_id = row.account.get("platform"), row.account.get("account_id")
        if platform is not None and account_id:
            checked.keys.append((_duplicate_key(platform.pk, account_id), row.line))
    bad = {line for line, _key, _message in checked.found}
    for row in chunk:
        if row.line in bad:
            continue
        if len(checked.samples) < SAMPLE_ROWS:
            checked.samples.append(row.sample())
        data = json.dumps(row.staged(), ensure_ascii=False, separators=(",", ":"))
        checked.staged.append(data + "\n")
    return checked


def _merge_chunk(
    job: ImportJob, checked: _Checked, result: _Pass, staged: IO[str], progress: _Progress
) -> None:
    number = result.chunk_count
    result.chunk_count += 1
    for key, line in checked.keys:
        result.keys.append(key)
        result.lines.append(line)
        result.chunks.append(number)
    result.errors.add_chunk(checked.found)
    result.sample.extend(checked.samples[: SAMPLE_ROWS - len(result.sample)])
    if not result.errors.count:  # staged rows only matter while the file is clean
        staged.writelines(checked.staged)
    result.rows += checked.rows
    progress(result.rows, total=max(job.total_rows, result.rows))


# --- Checking in forked workers ---------------------------------------------------------------
# A large file's rows are checked by a pool of forked processes: this process reads the sheet
# and hands out chunks of raw rows, a few ahead of what is merged (memory stays flat), and merges
# the results in file order, so the outcome is the one of a check in one process.

_worker_context: _ChunkContext | None = None
_inherited: list[Any] = []


def _may_fork() -> bool:
    """Workers read the database through connections of their own: only committed rows of a
    database other processes can open are visible to them (not an in-memory SQLite test database,
    not inside a transaction)."""
    if connection.in_atomic_block:
        return False
    in_memory = getattr(connection, "is_in_memory_db", None)
    return not (connection.vendor == "sqlite" and in_memory is not None and in_memory())


def _worker_start() -> None:
    """A forked worker leaves the parent's database connections alone (it keeps them referenced
    so that they are never closed from here, which would end the parent's session) and opens its
    own, closed when the pool ends. It also drops the signal handlers it inherited (the tasks
    worker's or the web server's): a SIGTERM from ``Pool.terminate`` ends it, rather than asking
    a "graceful" stop that would leave the pool waiting; an interrupt is the parent's to handle."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGQUIT"):
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None
    Finalize(None, connections.close_all, exitpriority=10)


def _check_in_worker(raw: list[_RawRow]) -> _Checked:
    assert _worker_context is not None
    return _check_chunk(_worker_context, raw)


def _checked_in_workers(
    context: _ChunkContext, chunks: Iterator[list[_RawRow]], workers: int
) -> Iterator[_Checked]:
    global _worker_context
    _worker_context = context
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start)
    try:
        pending: deque[AsyncResult[_Checked]] = deque()
        for raw in chunks:
            pending.append(pool.apply_async(_check_in_worker, (raw,)))
            if len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
        _worker_context = None


def _repeats(result: _Pass) -> list[tuple[int, str, str]]:
    """Rows repeating an earlier row's (platform, account id) in another chunk (repeats within a
    chunk are reported by the service already)."""
    keys, lines, chunks = result.keys, result.lines, result.chunks
    order = sorted(range(len(keys)), key=keys.__getitem__)
    found: list[tuple[int, str, str]] = []
    first = 0
    for position in range(1, len(order) + 1):
        if position < len(order) and keys[order[position]] == keys[order[first]]:
            continue
        group = sorted(order[first:position], key=lines.__getitem__)
        for other in group[1:]:
            if chunks[other] != chunks[group[0]]:
                message = _(ERR_DUPLICATE) % {"line": lines[group[0]]}
                found.append((lines[other], "account_id", message))
        first = position
    return found


_importing = threading.local()


class _Progress:
    """A job's progress, written at most once every ``PROGRESS_EVERY_S`` seconds."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.written_at = float("-inf")

    def __call__(self, done: int, *, total: int | None = None) -> None:
        if time.monotonic() - self.written_at >= PROGRESS_EVERY_S:
            _progress(self.job_id, done, total=total)
            self.written_at = time.monotonic()


def _progress(job_id: int, done: int, *, total: int | None = None) -> None:
    """Show how far a job is. Inside the import's transaction the row is written through a
    connection of its own (another thread), so the polling page sees it before the commit; on
    SQLite that connection would wait for the import's write lock, so there is no figure there
    until the end."""
    values: dict[str, Any] = {"processed_rows": done}
    if total is not None:
        values["total_rows"] = total
    if not getattr(_importing, "active", False):
        ImportJob.objects.filter(pk=job_id).update(**values)
        return
    if connection.vendor == "sqlite":
        return

    def write() -> None:
        from django.db import connection as own

        try:
            ImportJob.objects.filter(pk=job_id).update(**values)
        finally:
            own.close()

    worker = threading.Thread(target=write, daemon=True)
    worker.start()
    worker.join(timeout=5)


# --- Confirm and import -----------------------------------------------------------------------


def job_confirm(*, job: ImportJob, actor: User, request: HttpRequest | None = None) -> ImportJob:
    """Start importing a checked job. A job importing or imported is returned as it is, so a
    second click imports nothing twice."""
    _require(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (JobStatus.IMPORTING, JobStatus.IMPORTED):
            return job
        if job.status != JobStatus.CHECKED:
            raise ValidationError(_(ERR_NOT_CHECKED))
        job.status = JobStatus.IMPORTING
        job.processed_rows = 0
        job.imported_by = actor
        if request is not None:
            job.ip = client_ip(request)
        job.save(update_fields=["status", "processed_rows", "imported_by", "ip"])
        if job.background:
            from census.tasks import import_job

            job_id = job.pk
            transaction.on_commit(lambda: _enqueue(import_job, job_id))
    if job.background:
        job.refresh_from_db()
        return job
    return job_import(job.pk)


def job_discard(*, job: ImportJob, actor: User, request: HttpRequest | None = None) -> ImportJob:
    """Give up a checked job instead of importing it: its files (personal data) are deleted at
    once rather than waiting for a confirmation that will not come."""
    _require(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != JobStatus.CHECKED:
            raise ValidationError(_(ERR_NOT_CHECKED))
        job.status = JobStatus.FAILED
        job.message = _(MSG_DISCARDED)
        if request is not None:
            job.ip = client_ip(request)
        _delete_files(job)
        job.save()
        _audit(job, actor, AuditOutcome.FAILURE, stage="discarded")
    return job


def _staged_chunks(job: ImportJob) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    with open(job.staged.path, encoding="utf-8") as handle:
        for text in handle:
            chunk.append(json.loads(text))
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def job_import(job_id: int) -> ImportJob:
    """Write a confirmed job's rows (the work of the import task; inline for small files): all
    rows in one transaction, with one audit row. Idempotent: only an importing job is imported."""
    job = ImportJob.objects.select_related("imported_by").get(pk=job_id)
    if job.status != JobStatus.IMPORTING:
        return job
    actor = job.imported_by
    source = source_of(job)
    try:
        _importing.active = True
        with few_collections(), transaction.atomic():
            _write_rows(job, actor, source)
            _audit(job, actor, AuditOutcome.SUCCESS, stage="import")
            transaction.on_commit(lambda: _delete_files(job, save=True))
    except ValidationError as error:
        errors = _errors()
        errors.add_chunk(_service_errors(error))
        return _import_failed(job, errors=errors.rows(), count=errors.count)
    except IntegrityError:  # written by someone else at the same moment (a unique constraint)
        return _import_failed(job, errors=[], count=0, message=_(ERR_CONFLICT))
    except Exception:
        logger.exception("census job %s could not be imported", job_id)
        return _import_failed(job, errors=[], count=0, message=_(ERR_INTERNAL))
    finally:
        _importing.active = False
    return job


def _write_rows(job: ImportJob, actor: User | None, source: str) -> None:
    lookups = Lookups.load()
    totals = {"accounts": 0, "persons_created": 0, "team_members": 0}
    progress = _Progress(job.pk)
    for chunk in _staged_chunks(job):
        summary = accounts_import(
            rows=[from_staged(data, lookups) for data in chunk],
            actor=actor,
            source=source,
            validated=True,
        )
        for name in totals:
            totals[name] += summary[name]
        progress(totals["accounts"])
    # People on the new teams who were in the registry before (the service counts per chunk,
    # and a person created by an earlier chunk is "existing" to the next).
    people = (
        TeamMember.objects.filter(
            account__history__source=source,
            account__history__action=AccountHistory.Action.CREATED,
        )
        .values("person_id")
        .distinct()
        .count()
    )
    job.status = JobStatus.IMPORTED
    job.imported_at = timezone.now()
    job.processed_rows = job.created_count = totals["accounts"]
    job.persons_created = totals["persons_created"]
    job.persons_reused = max(0, people - totals["persons_created"])
    job.team_count = totals["team_members"]
    job.save()


def _import_failed(
    job: ImportJob, *, errors: list[dict[str, Any]], count: int, message: str = ""
) -> ImportJob:
    job.refresh_from_db()
    job.status = JobStatus.FAILED
    job.errors = errors
    job.error_count = count
    job.message = message or _(ERR_CHANGED)
    _delete_files(job)
    job.save()
    _audit(job, job.imported_by, AuditOutcome.FAILURE, stage="import", errors=count)
    return job


def _delete_files(job: ImportJob, save: bool = False) -> None:
    """The upload and the staged rows hold personal data: kept only while the job needs them."""
    for field_file in (job.file, job.staged):
        if field_file.name:
            field_file.storage.delete(field_file.name)
            field_file.name = ""
    if save:
        ImportJob.objects.filter(pk=job.pk).update(file="", staged="")


def _audit(job: ImportJob, actor: User | None, outcome: str, **detail: Any) -> None:
    # A background job has no request: its address is the one of the upload or confirmation.
    request = None
    if job.ip:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = job.ip
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        request=request,
        obj=job,
        outcome=AuditOutcome(outcome),
        detail={
            "file": job.file_name,
            "rows": job.total_rows,
            "accounts": job.created_count,
            **{k: v for k, v in detail.items() if v not in ("", None)},
        },
    )
