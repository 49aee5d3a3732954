"""Verify the audit log's hash chain: ``manage.py verify_audit`` (schedule it daily).

Seals what is still waiting to be sealed, then walks every row in chain order in chunks,
recomputes each hash and stops at the first broken row. Exit status 0 and a summary when the
chain is intact; 1 and the broken row (seq, id, time, what is wrong) otherwise.

Each run is itself recorded in the audit log (``audit_verified``, with the row count, the head
and the outcome): the auditor's page shows the last result from it, and the next run checks it
with the rest. Recording happens after the walk, so a run never verifies its own row and
nothing loops.

``--head-file PATH`` keeps the head of the chain (seq and hash) in a file outside the database:
the next run fails if that row is gone or changed, which is how rows cut off the end of the log
show (the chain alone cannot tell a short log from a truncated one).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from campusmedia.audit import chain
from campusmedia.auditlog import audit_record
from campusmedia.models.audit import AuditAction, AuditOutcome

ACTOR_NAME = "manage.py verify_audit"


def _when(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _age(since: datetime.datetime, now: datetime.datetime) -> str:
    seconds = int((now - since).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _read_head(path: Path) -> tuple[int, str] | None:
    if not path.exists():
        return None
    try:
        seq, digest = path.read_text().split()[:2]
        return int(seq), digest
    except ValueError as error:
        raise CommandError(f"{path}: not a head file (expected 'SEQ HASH')") from error


def installed_at() -> datetime.datetime | None:
    """When the database was set up: the first migration of this app."""
    return (
        MigrationRecorder.Migration.objects.filter(app="campusmedia", name="0001_initial")
        .values_list("applied", flat=True)
        .first()
    )


class Command(BaseCommand):
    help = "Seal pending audit rows, then verify the whole hash chain (exit 1 when broken)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=chain.VERIFY_CHUNK,
            help=f"rows read per round trip (default {chain.VERIFY_CHUNK})",
        )
        parser.add_argument(
            "--head-file",
            type=Path,
            help="file outside the database that keeps the head between runs (truncation check)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        sealed = chain.seal_pending()
        if sealed.rows:
            assert sealed.oldest_at is not None
            self.stdout.write(
                f"Sealed {sealed.rows} pending rows; the oldest had waited "
                f"{_age(sealed.oldest_at, now)} (since {_when(sealed.oldest_at)})."
            )
        head_file: Path | None = options["head_file"]
        result = chain.verify(
            chunk_size=options["chunk_size"],
            expect_head=_read_head(head_file) if head_file else None,
        )
        self._record(result, sealed)
        if result.broken is not None:
            broken = result.broken
            if broken.id is None:
                where = f"seq {broken.seq}"
            elif broken.seq is None:
                where = f"id {broken.id} ({_when(broken.at)}, not in the chain)"
            else:
                where = f"seq {broken.seq} (id {broken.id}, {_when(broken.at)})"
            raise CommandError(
                f"Audit chain BROKEN at {where}: {broken.kind}: {broken.detail}. "
                f"{result.rows} rows before it verified.",
                returncode=1,
            )
        self.stdout.write(
            f"{result.rows} rows, chain intact, oldest {_when(result.oldest)}, "
            f"newest {_when(result.newest)}, head seq {result.head_seq} "
            f"hash {result.head_hash[:16] or '-'}."
        )
        self._warn_retention(result, now)
        if head_file is not None:
            head_file.parent.mkdir(parents=True, exist_ok=True)
            head_file.write_text(f"{result.head_seq} {result.head_hash}\n")

    def _record(self, result: chain.Verification, sealed: chain.Sealed) -> None:
        detail: dict[str, Any] = {
            "rows": result.rows,
            "head_seq": result.head_seq,
            "head": result.head_hash[:16],
            "sealed": sealed.rows,
        }
        if result.broken is not None:
            detail["broken"] = result.broken.as_dict()
        audit_record(
            action=AuditAction.AUDIT_VERIFIED,
            actor_name=ACTOR_NAME,
            outcome=AuditOutcome.SUCCESS if result.intact else AuditOutcome.FAILURE,
            detail=detail,
        )

    def _warn_retention(self, result: chain.Verification, now: datetime.datetime) -> None:
        """The log should reach back the whole retention period once the system is that old."""
        days = settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS
        since = installed_at()
        cutoff = now - datetime.timedelta(days=days)
        if since is None or since > cutoff or result.oldest is None or result.oldest <= cutoff:
            return
        self.stderr.write(
            self.style.WARNING(
                f"Warning: the oldest row ({_when(result.oldest)}) is younger than the "
                f"{days}-day retention period, but this database has been in use since "
                f"{_when(since)}: older rows are missing (table emptied, or restored from a "
                "partial backup?)."
            )
        )
