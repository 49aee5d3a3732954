"""The audit log's hash chain (SECURITY.md, Audit): append-only, tampering detectable.

Rows are written unsealed inside the recording transaction and chained after it commits; the
transactional tests show that with real commits. The others seal explicitly
(``chain.seal_pending``) inside the test's transaction, then tamper with the table the way
someone with database access would (raw SQL; on PostgreSQL past the trigger, which the test's
superuser connection may disable) and expect ``verify_audit`` to name the row.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import checks, serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campusmedia.audit import chain
from campusmedia.auditlog import audit_record
from campusmedia.management.commands import verify_audit
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.conftest import make_login

TABLE = AuditEvent._meta.db_table
TRIGGER = "campusmedia_audit_append_only"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger and row locks need PostgreSQL"
)
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _write(count: int, *, start: int = 0) -> list[AuditEvent]:
    """Rows with everything a real row holds: an actor, an address (v4 and v6), an object, and a
    detail with Chinese text, numbers, lists and nested objects."""
    factory = RequestFactory()
    user = make_login(f"chain{start}-{time.monotonic_ns()}")
    events = []
    for i in range(start, start + count):
        request = factory.get("/", REMOTE_ADDR="2001:db8::1" if i % 2 else "10.2.3.4")
        request.user = user
        events.append(
            audit_record(
                action=AuditAction.EXPORT if i % 3 else AuditAction.REVEAL,
                request=request,
                obj=user,
                outcome=AuditOutcome.SUCCESS if i % 4 else AuditOutcome.DENIED,
                detail={"i": i, "原因": "报送市网信办", "rate": 2.5, "rows": [1, None, {"a": "b"}]},
            )
        )
    return events


def _sealed() -> list[tuple[int, int | None, str | None, str | None]]:
    return list(
        AuditEvent.objects.sealed().order_by("seq").values_list("id", "seq", "prev_hash", "hash")
    )


def _verify(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _verify_fails(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        _verify(*args)
    assert error.value.returncode == 1
    return str(error.value)


@contextmanager
def _tampering() -> Iterator[Any]:
    """A cursor as someone with direct database access: on PostgreSQL the append-only trigger
    is switched off first (the test database's user is a superuser)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


# --- Sealing after the commit -------------------------------------------------------------------


@transactional
def test_rows_are_chained_after_their_transaction_commits():
    with transaction.atomic():
        events = _write(3)
        assert AuditEvent.objects.unsealed().count() == 3  # nothing is chained before the commit
        scheduled = [e for e in connection.run_on_commit if e[1] is chain._seal_after_commit]
        assert len(scheduled) == 1  # one sealing per transaction, however many rows
    links = _sealed()
    assert [(pk, seq) for pk, seq, _, _ in links] == [(e.pk, i + 1) for i, e in enumerate(events)]
    assert links[0][2] == ""  # the first row follows nothing
    assert [prev for _, _, prev, _ in links[1:]] == [digest for _, _, _, digest in links[:-1]]
    assert not AuditEvent.objects.unsealed().exists()


@transactional
def test_a_row_written_outside_a_transaction_is_sealed_at_once():
    event = audit_record(action=AuditAction.LOGIN, actor_name="autocommit")
    assert AuditEvent.objects.values_list("seq", flat=True).get(pk=event.pk) == 1


@transactional
def test_a_rolled_back_row_never_enters_the_chain():
    with pytest.raises(RuntimeError), transaction.atomic():
        _write(2)
        raise RuntimeError("the step failed")
    with transaction.atomic():
        kept = audit_record(action=AuditAction.LOGIN, actor_name="before")
        try:
            with transaction.atomic():  # a savepoint that fails
                audit_record(action=AuditAction.LOGIN, actor_name="in the failed savepoint")
                raise RuntimeError
        except RuntimeError:
            pass
        after = audit_record(action=AuditAction.LOGIN, actor_name="after")
    assert list(AuditEvent.objects.order_by("seq").values_list("pk", "seq")) == [
        (kept.pk, 1),
        (after.pk, 2),
    ]
    out, _ = _verify()
    assert "2 rows, chain intact" in out


@transactional
def test_a_failed_sealing_leaves_rows_for_the_next_commit(monkeypatch):
    def broken(**kwargs: Any) -> chain.Sealed:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(chain, "seal_pending", broken)
    first = audit_record(action=AuditAction.LOGIN, actor_name="first")  # the work is not undone
    assert AuditEvent.objects.get(pk=first.pk).seq is None
    monkeypatch.undo()
    second = audit_record(action=AuditAction.LOGIN, actor_name="second")
    assert list(AuditEvent.objects.order_by("seq").values_list("pk", "seq")) == [
        (first.pk, 1),
        (second.pk, 2),
    ]


@on_postgresql
@transactional
def test_parallel_transactions_give_one_gapless_chain(caplog):
    """Four threads, each committing ten transactions of two rows with a pause between the two
    (so transactions overlap and commit out of their start order). Every sealing succeeds at
    once: without the lock two sealers would give the same seq, one would fail (the unique
    index stops it) and leave its rows to a later commit."""
    threads, rounds = 4, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                with transaction.atomic():
                    audit_record(action=AuditAction.LOGIN, actor_name=f"t{n}-{r}-a")
                    time.sleep(0.002 * ((n + r) % 3))
                    audit_record(action=AuditAction.LOGOUT, actor_name=f"t{n}-{r}-b")
        except BaseException as error:  # asserted on below
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.name == chain.__name__] == []
    total = threads * rounds * 2
    assert AuditEvent.objects.count() == total
    assert not AuditEvent.objects.unsealed().exists()
    assert sorted(s or 0 for s in AuditEvent.objects.values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    out, _ = _verify()
    assert f"{total} rows, chain intact" in out


# --- Sealing: cost and order --------------------------------------------------------------------


@pytest.mark.django_db
def test_sealing_runs_the_same_queries_for_three_rows_or_sixty():
    def queries_to_seal(count: int) -> list[str]:
        _write(count, start=count)
        with CaptureQueriesContext(connection) as captured:
            sealed = chain.seal_pending()
        assert sealed.rows == count
        # An executemany is logged as "N times: UPDATE …": one statement, N parameter sets.
        return [q["sql"].split(" times: ")[-1].split()[0] for q in captured.captured_queries]

    few, many = queries_to_seal(3), queries_to_seal(60)
    assert few == many  # lock, queue, head, one batched UPDATE (and the savepoint around them)
    assert few.count("UPDATE") <= 2  # the batch, and on SQLite the write lock


@pytest.mark.django_db
def test_a_backlog_is_sealed_in_short_batches(monkeypatch):
    monkeypatch.setattr(chain, "SEAL_BATCH", 4)
    _write(10)
    assert chain.seal_pending(limit=6).rows == 6
    assert AuditEvent.objects.unsealed().count() == 4
    assert chain.seal_pending().rows == 4
    assert [seq for _, seq, _, _ in _sealed()] == list(range(1, 11))


# --- verify_audit -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_seals_what_is_pending_then_reports_an_intact_chain():
    _write(7)
    out, err = _verify("--chunk-size", "3")  # chunk boundaries inside the walk
    assert "Sealed 7 pending rows; the oldest had waited" in out
    assert "7 rows, chain intact, oldest" in out
    assert err == ""
    run = AuditEvent.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert run.outcome == AuditOutcome.SUCCESS
    assert run.detail["rows"] == 7
    assert run.detail["sealed"] == 7
    # The run's own row joins the chain after the walk and is checked by the next run (here,
    # inside the test's transaction, the next run also seals it); nothing loops.
    out, _ = _verify()
    assert "Sealed 1 pending rows" in out
    assert "8 rows, chain intact" in out
    run.refresh_from_db()
    assert run.seq == 8
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_VERIFIED).count() == 2


@pytest.mark.django_db
def test_an_empty_log_verifies():
    out, _ = _verify()
    assert "0 rows, chain intact" in out


def _edit(column: str, target: AuditEvent) -> tuple[str, list[Any]]:
    """SQL for one edit of ``target``'s ``column`` and its parameters."""
    if column == "at":
        later = connection.ops.adapt_datetimefield_value(target.at + datetime.timedelta(seconds=1))
        return "at = %s", [later]
    if column == "detail":
        cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
        return f"detail = {cast}", ['{"i": 3, "原因": "别的原因"}']
    return f"{column} = %s", [{"actor_name": "someone else", "outcome": "failure"}[column]]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["actor_name", "detail", "outcome", "at"])
def test_an_edited_row_is_found_and_named(column):
    events = _write(6)
    chain.seal_pending()
    target = events[3]
    assignment, params = _edit(column, target)
    with _tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET {assignment} WHERE id = %s", [*params, target.pk])
    message = _verify_fails()
    assert f"BROKEN at seq 4 (id {target.pk}," in message
    assert "edited" in message
    assert "3 rows before it verified" in message
    run = AuditEvent.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert run.outcome == AuditOutcome.FAILURE
    assert run.detail["broken"]["seq"] == 4
    assert run.detail["broken"]["id"] == target.pk


@pytest.mark.django_db
def test_a_deleted_row_is_found():
    events = _write(5)
    chain.seal_pending()
    with _tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])
    message = _verify_fails()
    assert f"BROKEN at seq 4 (id {events[3].pk}," in message
    assert "seq 3 missing: rows were deleted" in message


@pytest.mark.django_db
def test_a_deleted_row_is_found_when_the_numbers_are_closed_up():
    events = _write(5)
    chain.seal_pending()
    with _tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])
        cursor.execute(f"UPDATE {TABLE} SET seq = seq - 1 WHERE seq > 3")
    message = _verify_fails()
    assert f"BROKEN at seq 3 (id {events[3].pk}," in message
    assert "a row was deleted" in message


@pytest.mark.django_db
def test_reordered_rows_are_found():
    events = _write(5)
    chain.seal_pending()
    with _tampering() as cursor:  # swap the places of the second and third rows
        cursor.execute(f"UPDATE {TABLE} SET seq = -1 WHERE id = %s", [events[1].pk])
        cursor.execute(f"UPDATE {TABLE} SET seq = 2 WHERE id = %s", [events[2].pk])
        cursor.execute(f"UPDATE {TABLE} SET seq = 3 WHERE id = %s", [events[1].pk])
    message = _verify_fails()
    assert f"BROKEN at seq 2 (id {events[2].pk}," in message
    assert "reordered" in message


@pytest.mark.django_db
def test_rows_inserted_without_a_valid_hash_are_found():
    events = _write(3)
    chain.seal_pending()
    head = events[-1]
    head.refresh_from_db()
    forged = AuditEvent(
        actor_name="intruder",
        action=AuditAction.LOGIN,
        seq=4,
        prev_hash=head.hash,
        hash=hashlib.sha256(b"a guess").hexdigest(),
    )
    forged.save()  # an insert with chain values is allowed (a restore needs it)
    message = _verify_fails()
    assert f"BROKEN at seq 4 (id {forged.pk}," in message
    assert "inserted without a valid hash" in message


@pytest.mark.django_db
def test_a_row_with_a_hash_outside_the_chain_is_found():
    _write(3)
    chain.seal_pending()
    stray = AuditEvent(actor_name="intruder", action=AuditAction.LOGIN, hash="0" * 64)
    stray.save()
    message = _verify_fails()
    assert f"BROKEN at id {stray.pk} (" in message
    assert "not in the chain" in message
    assert "unchained" in message


@pytest.mark.django_db
def test_rehashing_without_the_key_does_not_hide_an_edit():
    """Someone with only database access edits a row and recomputes its hash and every later
    one, with a plain SHA-256 and with an HMAC under a guessed key: the chain still breaks at
    the edited row, because the key is not in the database."""
    events = _write(4)
    chain.seal_pending()
    for guess in (None, b"guessed key"):
        with _tampering() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET actor_name = 'someone else' WHERE id = %s", [events[1].pk]
            )
            prev = _sealed()[0][3] or ""
            for pk, _, _, _ in _sealed()[1:]:
                row = chain.ChainRow(*AuditEvent.objects.values_list(*chain.ROW_FIELDS).get(pk=pk))
                content = prev.encode() + chain.canonical(row)
                digest = (
                    hashlib.sha256(content).hexdigest()
                    if guess is None
                    else hmac.new(guess, content, hashlib.sha256).hexdigest()
                )
                cursor.execute(
                    f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE id = %s",
                    [prev, digest, pk],
                )
                prev = digest
        assert f"BROKEN at seq 2 (id {events[1].pk}," in _verify_fails()


@pytest.mark.django_db
def test_a_cut_off_tail_is_found_against_the_head_file(tmp_path: Path):
    events = _write(5)
    head_file = tmp_path / "audit-head"
    out, _ = _verify("--head-file", str(head_file))
    assert "5 rows, chain intact" in out
    assert head_file.read_text().split()[0] == "5"
    with _tampering() as cursor:  # the last two rows and the verify run's own row
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq >= 4")
    assert AuditEvent.objects.filter(pk=events[2].pk).exists()
    message = _verify_fails("--head-file", str(head_file))
    assert "truncated" in message
    assert "seq 5" in message


@pytest.mark.django_db
def test_verify_warns_when_the_log_is_younger_than_the_retention(monkeypatch, settings):
    settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS = 180
    _write(2)
    long_ago = timezone.now() - datetime.timedelta(days=400)
    monkeypatch.setattr(verify_audit, "installed_at", lambda: long_ago)
    _, err = _verify()
    assert "younger than the 180-day retention period" in err
    monkeypatch.setattr(verify_audit, "installed_at", lambda: timezone.now())
    _, err = _verify()
    assert err == ""


# --- Append-only ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_application_cannot_change_or_remove_a_sealed_row():
    event = _write(1)[0]
    chain.seal_pending()
    event.refresh_from_db()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(seq=99)
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEvent.objects.seal([(event.pk, 99, "", "0" * 64)])  # sealing twice
    assert _sealed() == [(event.pk, 1, "", event.hash)]


@on_postgresql
@pytest.mark.django_db
def test_the_trigger_refuses_raw_updates_and_deletes():
    sealed, unsealed = _write(2)
    chain.seal_pending(limit=1)
    attempts = [
        ("UPDATE {t} SET actor_name = 'x' WHERE id = %s", sealed.pk),
        ("UPDATE {t} SET seq = 7, prev_hash = '', hash = 'x' WHERE id = %s", sealed.pk),
        ("DELETE FROM {t} WHERE id = %s", sealed.pk),
        ("DELETE FROM {t} WHERE id = %s", unsealed.pk),
        # sealing may fill the chain columns only, never change the content with them
        (
            "UPDATE {t} SET actor_name = 'x', seq = 2, prev_hash = '', hash = 'x' WHERE id = %s",
            unsealed.pk,
        ),
        ("UPDATE {t} SET actor_name = 'x' WHERE id = %s", unsealed.pk),
    ]
    for sql, pk in attempts:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql.format(t=TABLE), [pk])
    assert chain.seal_pending().rows == 1  # the one update the trigger lets through
    out, _ = _verify()
    assert "2 rows, chain intact" in out


# --- Restore -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_restored_rows_keep_their_chain_and_new_rows_follow_it():
    """A restore inserts the rows with their ids and chain values (here through Django's
    serializers, as loaddata does); the chain verifies and the next row joins it."""
    events = _write(4)
    chain.seal_pending()
    dumped = serializers.serialize("json", AuditEvent.objects.order_by("id"))
    before = _sealed()
    with _tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert _sealed() == before
    # A row given its id through the model is inserted too, never taken for an update.
    AuditEvent(id=events[-1].pk + 1000, action=AuditAction.RESTORE, actor_name="restore").save()
    out, _ = _verify()
    assert "5 rows, chain intact" in out  # the four restored and the restore's own row
    latest = AuditEvent.objects.get(pk=events[-1].pk + 1000)
    assert latest.seq == 5
    assert latest.prev_hash == before[-1][3]


# --- Retention -----------------------------------------------------------------------------------


def test_the_system_check_refuses_a_retention_below_180_days(settings):
    def errors() -> list[str]:
        return [m.id for m in checks.run_checks() if m.id == "campusmedia.E101"]

    settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS = 179
    assert errors() == ["campusmedia.E101"]
    settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS = 180
    assert errors() == []
    settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS = 365
    assert errors() == []
