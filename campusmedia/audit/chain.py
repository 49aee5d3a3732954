"""The audit log's hash chain (SECURITY.md, Audit: append-only, tampering detectable).

Every sealed row carries ``seq`` (1, 2, 3 … without gaps), ``prev_hash`` (the hash of the row
before it, ``""`` for the first) and ``hash = HMAC-SHA256(key, prev_hash || content)``, where
``content`` is the canonical JSON of the row's own columns (id, time to the millisecond, actor,
action, outcome, IP, object, detail). The key is derived from ``settings.FIELD_HMAC_KEY`` with a
label of its own, so it lives outside the database: someone who can only write to the database
can change a row but cannot compute the hash that would hide the change. (A different
``CAMPUSMEDIA_HMAC_KEY`` makes every row fail verification, as it makes the ID number look-ups
fail: that key is kept, never rotated.)

When rows are sealed. ``audit_record`` is called in the middle of service transactions that go on
to lock other rows; giving the row its place in the chain there would mean holding one global lock
until those transactions end, and they would queue behind it (or deadlock) under load. So a row
is inserted *unsealed* (chain columns null) and sealed after its transaction commits
(``transaction.on_commit``, once per transaction), in a short transaction of its own that takes
the chain lock (PostgreSQL: ``pg_advisory_xact_lock``; SQLite: its one write lock), reads the head
of the chain and every committed unsealed row in id order, and fills their chain columns in one
batched UPDATE. A row written outside any transaction is sealed at once. A rolled-back row never
existed, so it never enters the chain. A commit whose sealing failed (logged) leaves its rows for
the next commit or ``manage.py verify_audit``, which seals everything pending first; the queue is
a partial index, so finding it costs nothing however large the log is.

The order of the chain is the order of sealing, not of ``at`` or ``id``: two transactions that
commit in the other order than they started appear in commit order.

What the chain proves: a sealed row was not edited, removed or moved since it was sealed (the
``unique`` on ``seq`` also stops two sealers from forking it). What it cannot prove alone: that
the newest rows were not cut off the end (``verify_audit --head-file`` keeps the head outside the
database for that), nor anything about a row in the moment before it is sealed: a row inserted
straight into the database without a hash is sealed like the application's own.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction

logger = logging.getLogger(__name__)

# Domain separation: the same secret keys the ID number HMACs; this label makes a different key.
KEY_LABEL = b"campusmedia/audit-chain/v1"
# The columns a row's hash covers, in the order rows are read.
CONTENT_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "outcome",
    "ip",
    "object_type",
    "object_id",
    "object_repr",
    "detail",
)
ROW_FIELDS = (*CONTENT_FIELDS, "seq", "prev_hash", "hash")
# Rows sealed in one transaction: a backlog is sealed in several short ones.
SEAL_BATCH = 500
# At most this many rows sealed after one commit (a large import's rows are; a backlog left by
# failures is worked off over the next commits, or by verify_audit, without slowing one request).
SEAL_AFTER_COMMIT = 10 * SEAL_BATCH
# The advisory lock that serialises sealers on PostgreSQL ("audit" in ASCII).
LOCK_KEY = 0x6175646974
# Rows read per round trip while verifying.
VERIFY_CHUNK = 5000


class Kind:
    """What is wrong at the first broken row."""

    DELETED = "deleted"  # a gap in seq, or a row that links to a row no longer there
    EDITED = "edited"  # the hash does not match the row: edited, or inserted without a valid hash
    REORDERED = "reordered"  # the row links to a row that is elsewhere in the chain
    UNCHAINED = "unchained"  # a row with a hash but no place in the chain
    TRUNCATED = "truncated"  # the head recorded outside the database is gone or changed


KIND_LABELS = {
    Kind.DELETED: gettext_lazy("有记录被删除"),
    Kind.EDITED: gettext_lazy("记录内容与哈希不符（封存后被修改，或插入时没有有效哈希）"),
    Kind.REORDERED: gettext_lazy("记录顺序被调换"),
    Kind.UNCHAINED: gettext_lazy("有记录带哈希却不在链中（插入时没有有效哈希）"),
    Kind.TRUNCATED: gettext_lazy("链尾的记录被截去"),
}


# --- Hashing ----------------------------------------------------------------------------------


def chain_key() -> bytes:
    return hmac.new(settings.FIELD_HMAC_KEY.encode(), KEY_LABEL, hashlib.sha256).digest()


def _utc(value: datetime.datetime) -> str:
    """UTC to the millisecond, cut (not rounded) as Django's JSON serializer cuts it, so rows
    dumped and loaded again (``dumpdata``/``loaddata``, a restore) still verify."""
    if timezone.is_naive(value):  # USE_TZ=False databases store naive UTC
        value = value.replace(tzinfo=datetime.UTC)
    value = value.astimezone(datetime.UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def canonical(row: Any) -> bytes:
    """The content of a row (anything with the ``CONTENT_FIELDS`` as attributes) as canonical
    JSON: sorted keys, no spaces, UTF-8, time in UTC to the millisecond. Read back from either
    database, or dumped and loaded again, the same row gives the same bytes."""
    payload = {
        "id": row.id,
        "at": _utc(row.at),
        "actor": row.actor_id,
        "actor_name": row.actor_name,
        "action": row.action,
        "outcome": row.outcome,
        "ip": row.ip,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "object_repr": row.object_repr,
        "detail": row.detail,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(key: bytes, prev_hash: str, row: Any) -> str:
    return hmac.new(key, prev_hash.encode("ascii") + canonical(row), hashlib.sha256).hexdigest()


class ChainRow(NamedTuple):
    id: int
    at: datetime.datetime
    actor_id: int | None
    actor_name: str
    action: str
    outcome: str
    ip: str | None
    object_type: str
    object_id: str
    object_repr: str
    detail: Any
    seq: int | None
    prev_hash: str | None
    hash: str | None


def _rows(queryset: Any) -> Any:
    return queryset.values_list(*ROW_FIELDS)


# --- Sealing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    rows: int = 0
    oldest_at: datetime.datetime | None = None  # when the longest-waiting of them was written


def _take_chain_lock(using: str) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        elif connection.vendor == "sqlite":
            # A deferred SQLite transaction takes the write lock at its first write; two sealers
            # that had both read the head would then deadlock. A write that changes nothing takes
            # the lock before anything is read.
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            cursor.execute(f"UPDATE {table} SET id = id WHERE 0 = 1")


def seal_pending(*, limit: int | None = None, using: str = DEFAULT_DB_ALIAS) -> Sealed:
    """Seal committed unsealed rows in id order, ``SEAL_BATCH`` per short transaction, until
    none is left (or ``limit`` rows are sealed). Per transaction: the lock, the queue, the head,
    one batched UPDATE."""
    key = chain_key()
    events = AuditEvent.objects.db_manager(using)
    done, oldest, after = 0, None, 0
    while limit is None or done < limit:
        batch = SEAL_BATCH if limit is None else min(SEAL_BATCH, limit - done)
        with transaction.atomic(using=using):
            _take_chain_lock(using)
            # After the first batch, start past the rows just sealed: on PostgreSQL their old
            # entries stay in the queue's index until vacuumed, and each batch would step over
            # them all again. A row of a smaller id committed meanwhile waits for the next call.
            queue = events.unsealed().filter(id__gt=after).order_by("id")
            rows = [
                ChainRow._make((*values, None, None, None))
                for values in queue.values_list(*CONTENT_FIELDS)[:batch]
            ]
            if not rows:
                break
            head = events.sealed().order_by("-seq").values_list("seq", "hash").first()
            seq: int = head[0] or 0 if head is not None else 0
            prev: str = head[1] or "" if head is not None else ""
            links = []
            for row in rows:
                seq += 1
                digest = row_hash(key, prev, row)
                links.append((row.id, seq, prev, digest))
                prev = digest
            events.seal(links)
        done += len(rows)
        after = rows[-1].id
        first = min(row.at for row in rows)
        oldest = first if oldest is None else min(oldest, first)
        if len(rows) < batch:
            break
    return Sealed(rows=done, oldest_at=oldest)


def _seal_after_commit() -> None:
    """Seal what the committed transaction wrote. Never raises: the work is committed, and a
    row left unsealed is sealed by the next commit or by ``verify_audit``."""
    try:
        seal_pending(limit=SEAL_AFTER_COMMIT)
    except Exception:
        logger.exception("audit rows left unsealed; the next commit or verify_audit seals them")


def schedule_seal(using: str = DEFAULT_DB_ALIAS) -> None:
    """Called after an audit row is inserted: seal it after the commit, or at once outside a
    transaction. One sealing per transaction, however many rows it writes."""
    connection = connections[using]
    if not connection.in_atomic_block:
        _seal_after_commit()
        return
    # Already scheduled in this transaction? A callback registered in a savepoint that is rolled
    # back is dropped with it, together with the rows it was scheduled for, so looking at what is
    # scheduled now is enough. (run_on_commit holds (savepoint ids, callback, robust) tuples.)
    if any(entry[1] is _seal_after_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_seal_after_commit, using=using, robust=True)


# --- Verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first place where the chain is broken."""

    kind: str
    seq: int | None
    id: int | None
    at: datetime.datetime | None
    detail: str  # in English, for the command's output and the audit row

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "id": self.id, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    rows: int
    oldest: datetime.datetime | None
    newest: datetime.datetime | None
    head_seq: int
    head_hash: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _break(kind: str, row: ChainRow, detail: str) -> Break:
    return Break(kind=kind, seq=row.seq, id=row.id, at=row.at, detail=detail)


def _diagnose_link(key: bytes, row: ChainRow, using: str) -> Break:
    """``row.prev_hash`` is not the hash of the row before it: say why."""
    stored_prev = row.prev_hash or ""
    if row.hash is not None and row_hash(key, stored_prev, row) == row.hash:
        # The row itself is whole: it was sealed after another row than the one before it now.
        elsewhere = (
            AuditEvent.objects.db_manager(using)
            .filter(hash=stored_prev)
            .values_list("seq", flat=True)
            .first()
            if stored_prev
            else None
        )
        if elsewhere is not None:
            return _break(
                Kind.REORDERED,
                row,
                f"sealed after the row now at seq {elsewhere}: rows were reordered",
            )
        return _break(Kind.DELETED, row, "the row it was sealed after is gone: a row was deleted")
    return _break(
        Kind.EDITED,
        row,
        "hash does not match the row: edited after sealing, or inserted without a valid hash",
    )


def verify(
    *,
    chunk_size: int = VERIFY_CHUNK,
    expect_head: tuple[int, str] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Verification:
    """Walk the whole chain in seq order, ``chunk_size`` rows per round trip, recompute every
    hash and stop at the first broken row. ``expect_head``: (seq, hash) of a head recorded
    earlier outside the database, which must still be in the chain (a cut-off tail)."""
    key = chain_key()
    events = AuditEvent.objects.db_manager(using)
    prev, expected_seq, count = "", 1, 0
    oldest: datetime.datetime | None = None
    newest: datetime.datetime | None = None
    broken: Break | None = None
    rows = _rows(events.sealed().order_by("seq")).iterator(chunk_size=chunk_size)
    for values in rows:
        row = ChainRow._make(values)
        seq = row.seq or 0  # never null here: only sealed rows are read
        if seq != expected_seq:
            broken = _break(
                Kind.DELETED,
                row,
                f"seq {expected_seq}"
                + (f"–{seq - 1}" if seq - 1 > expected_seq else "")
                + " missing: rows were deleted",
            )
        elif row.hash is None or row.prev_hash is None:
            broken = _break(Kind.EDITED, row, "chain columns emptied after sealing")
        elif row.prev_hash != prev:
            broken = _diagnose_link(key, row, using)
        elif row_hash(key, prev, row) != row.hash:
            broken = _break(
                Kind.EDITED,
                row,
                "hash does not match the row: edited after sealing, or inserted without a "
                "valid hash",
            )
        if broken is not None:
            break
        prev = row.hash or ""
        count += 1
        expected_seq += 1
        oldest = row.at if oldest is None or row.at < oldest else oldest
        newest = row.at if newest is None or row.at > newest else newest
    head_seq = expected_seq - 1
    if broken is None:
        stray = (
            events.filter(seq__isnull=True, hash__isnull=False)
            .order_by("id")
            .values_list(*ROW_FIELDS)
            .first()
        )
        if stray is not None:
            broken = _break(
                Kind.UNCHAINED,
                ChainRow(*stray),
                "has a hash but no place in the chain: inserted without a valid hash",
            )
    if broken is None and expect_head is not None:
        seq, digest = expect_head
        if seq > head_seq or events.filter(seq=seq, hash=digest).count() != 1:
            broken = Break(
                kind=Kind.TRUNCATED,
                seq=seq,
                id=None,
                at=None,
                detail=f"the head recorded earlier (seq {seq}) is gone or changed: "
                "rows were cut off the end",
            )
    return Verification(
        rows=count,
        oldest=oldest,
        newest=newest,
        head_seq=head_seq,
        head_hash=prev,
        broken=broken,
    )


# --- The auditor's page: a cheap look, not a full walk ----------------------------------------


def check_recent(rows: Sequence[ChainRow], key: bytes | None = None) -> Break | None:
    """Check the newest sealed rows (newest first): consecutive, linked, hashes right."""
    key = key or chain_key()
    older_rows: list[ChainRow | None] = [*rows[1:], None] if rows else []
    for newer, older in zip(rows, older_rows, strict=True):
        if newer.hash is None or row_hash(key, newer.prev_hash or "", newer) != newer.hash:
            return _break(Kind.EDITED, newer, "hash does not match the row")
        if older is None:
            if newer.seq == 1 and newer.prev_hash != "":
                return _break(Kind.EDITED, newer, "the first row links to another")
            continue
        if older.seq != (newer.seq or 0) - 1:
            return _break(Kind.DELETED, newer, f"seq {(newer.seq or 0) - 1} missing")
        if newer.prev_hash != older.hash:
            return _break(Kind.REORDERED, newer, "does not link to the row before it")
    return None


@dataclass(frozen=True)
class ChainState:
    """What the auditor's page says about the chain, from four cheap queries."""

    sealed: int  # the head's seq: rows in the chain
    pending: int
    oldest_pending: datetime.datetime | None
    oldest: datetime.datetime | None
    checked: int  # newest rows checked now
    broken: Break | None  # found among them
    last_verification: dict[str, Any] | None  # the latest verify_audit run: at, outcome, detail

    @property
    def total(self) -> int:
        return self.sealed + self.pending

    @property
    def problem(self) -> dict[str, Any] | None:
        """Where the chain is broken, found now among the newest rows or by the last full
        verification: label, seq, id, and which of the two found it."""
        if self.broken is not None:
            return {
                "label": KIND_LABELS.get(self.broken.kind, self.broken.kind),
                "seq": self.broken.seq,
                "id": self.broken.id,
                "found_by": "recent",
            }
        last = self.last_verification
        if last is not None and last["outcome"] != "success":
            broken = (last["detail"] or {}).get("broken") or {}
            kind = broken.get("kind", "")
            return {
                "label": KIND_LABELS.get(kind, kind),
                "seq": broken.get("seq"),
                "id": broken.get("id"),
                "found_by": "verify",
            }
        return None

    @property
    def intact(self) -> bool:
        return self.problem is None


def chain_state(recent: int = 20, using: str = DEFAULT_DB_ALIAS) -> ChainState:
    events = AuditEvent.objects.db_manager(using)
    rows = [ChainRow(*values) for values in _rows(events.sealed().order_by("-seq"))[:recent]]
    queue = events.unsealed().aggregate(n=Count("id"), oldest=Min("at"))
    last = (
        events.filter(action=AuditAction.AUDIT_VERIFIED)
        .order_by("-at", "-id")
        .values("at", "outcome", "detail")
        .first()
    )
    return ChainState(
        sealed=(rows[0].seq or 0) if rows else 0,
        pending=queue["n"],
        oldest_pending=queue["oldest"],
        oldest=events.aggregate(oldest=Min("at"))["oldest"],
        checked=len(rows),
        broken=check_recent(rows),
        last_verification=dict(last) if last is not None else None,
    )
