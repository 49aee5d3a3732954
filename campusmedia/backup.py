"""Encrypted backups: the whole database and the private files in one file (SECURITY.md: "Backup
and restore: a documented command set; a restore is tested").

``manage.py backup`` and ``manage.py restore`` call ``backup_create`` and ``backup_restore``.

What a backup holds. Every row of every model of every installed app (except login state that
dies with the sessions: sessions and CAS tickets), serialized with Django's serializers into JSON,
a chunk of rows per archive member, models in dependency order; then every file under
``CAMPUSMEDIA_PRIVATE_ROOT`` (and ``MEDIA_ROOT``) as a member of its own. Nothing is tied to a
database vendor: a backup of PostgreSQL restores into SQLite and the other way round.

* Primary keys are kept, so every reference survives, including those that are not foreign keys
  (guardian's object permissions, audit rows' object ids). Content types and permissions, which
  ``migrate`` creates with ids of its own, are written and referenced by natural key instead.
* Personal data (``EncryptedCharField``) stays encrypted inside the encrypted backup: the
  serializers would write the plain value, so the field's token is written instead. A restore
  decrypts it with ``CAMPUSMEDIA_FIELD_KEY(S)`` and stores it again; the ID number's HMAC column
  is copied as it is. The backup records a check value of both keys, so a restore with other
  field or HMAC keys is refused before anything is written.
* Times keep their microseconds and audit rows every column (the hash chain, too), so the chain
  still verifies after a restore. Rows are put back with plain INSERTs only (the append-only
  trigger on the audit table allows nothing else), without ``save()`` and without signals.

The file. An 8-byte magic, a version byte, a random salt and a key check, then the archive (an
uncompressed tar stream whose database members are gzipped) in frames of at most 1 MiB, each
encrypted and authenticated with AES-256-GCM under a key derived from ``CAMPUSMEDIA_BACKUP_KEY``
and the salt (HKDF-SHA256). A frame's nonce is its number and a last-frame flag, and the header is
authenticated with every frame, so a changed, reordered, dropped or cut-off frame is refused.
Both directions stream: memory holds one frame and one chunk of rows, whatever the size.

A restore goes into an empty database (after ``migrate``; the rows of data migrations are
replaced) and an empty file root, in one transaction; files are written to a staging directory
and moved into place after the commit. ``force=True`` first empties the database (like
``manage.py flush``) and overwrites files of the same name.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import tarfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.python import Deserializer
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connections,
    models,
    reset_queries,
    transaction,
)
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.encoding import is_protected_type

from campusmedia import crypto
from campusmedia.audit.chain import seal_pending
from campusmedia.auditlog import audit_record
from campusmedia.models.audit import AuditAction

MAGIC = b"CMBACKUP"
VERSION = 1
SALT_BYTES = 16
CHECK_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + SALT_BYTES + CHECK_BYTES
FRAME_BYTES = 1 << 20  # plaintext per frame
TAG_BYTES = 16
KEY_INFO = b"campusmedia/backup/v1"
# A restore checks that its keys are those of the site that was backed up with this value.
KEY_CHECK_TEXT = "campusmedia/backup/key-check"
MIN_KEY_LENGTH = 32

META_MEMBER = "backup.json"
MANIFEST_MEMBER = "manifest.json"
DB_PREFIX = "db/"
FILES_PREFIX = "files/"
# Rows per archive member: the unit of memory on both sides.
ROWS_PER_MEMBER = 1000
STAGING_PREFIX = ".restore-"

# Login state, worthless without the sessions it belongs to (and a credential while they live).
EXCLUDED_MODELS = {
    "sessions.session",
    "django_cas_ng.sessionticket",
    "django_cas_ng.proxygrantingticket",
}
# Created by migrate with ids of its own: written without ids and referenced by natural key.
NATURAL_KEY_MODELS: tuple[type[models.Model], ...] = (ContentType, Permission)
# Rows that data migrations create: an "empty" database has them, the restore replaces them.
SEEDED_BY_MIGRATIONS = {"campusmedia.platform"}

ERR_NO_KEY = (
    "CAMPUSMEDIA_BACKUP_KEY is not set. Backups are encrypted with it; generate one with "
    '`python3 -c "import secrets; print(secrets.token_urlsafe(32))"` and keep it apart from '
    "the backups."
)
ERR_SHORT_KEY = (
    f"CAMPUSMEDIA_BACKUP_KEY is too short: use at least {MIN_KEY_LENGTH} random characters."
)
ERR_NOT_A_BACKUP = "{name} is not a campusmedia backup."
ERR_VERSION = "{name} is a backup of format {version}, which this version cannot read."
ERR_WRONG_KEY = (
    "CAMPUSMEDIA_BACKUP_KEY does not open this backup (it was made with another key, or its header "
    "is damaged). Nothing was restored."
)
ERR_TAMPERED = (
    "The backup is damaged or has been altered (frame {frame} failed authentication). Nothing was "
    "restored."
)
ERR_TRUNCATED = "The backup is incomplete (it ends before its last frame). Nothing was restored."
ERR_TRAILING = "The backup has data after its last frame. Nothing was restored."
ERR_NOT_EMPTY = (
    "The database is not empty ({tables}). A restore goes into an empty database: create one and "
    "run `manage.py migrate`, or pass --force to replace everything in this one."
)
ERR_FILES_NOT_EMPTY = (
    "{root} already holds files. Restore into an empty directory, or pass --force to overwrite "
    "files of the same name."
)
ERR_MIGRATIONS = (
    "The backup was made at another migration state than this database's. Bring this database to "
    "the backup's state first, restore, then run `manage.py migrate`:\n{commands}"
)
ERR_FIELD_KEYS = (
    "CAMPUSMEDIA_FIELD_KEY(S) cannot decrypt the personal data in this backup: set the keys of the "
    "site that was backed up. Nothing was restored."
)
ERR_HMAC_KEY = (
    "CAMPUSMEDIA_HMAC_KEY differs from the one of the site that was backed up: ID number look-ups "
    "and the audit chain would break. Set that key. Nothing was restored."
)
ERR_MEMBER = "The backup holds an unexpected member ({name}). Nothing was restored."
ERR_COUNTS = "The backup's contents do not match its manifest ({detail}). Nothing was restored."
ERR_ROW = "A row of {model} in the backup cannot be loaded ({error}). Nothing was restored."
ERR_DATABASE = "The database refused the backup's rows ({error}). Nothing was restored."


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (never with row contents)."""


# --- Keys and the encrypted stream ------------------------------------------------------------


def backup_key() -> str:
    key = (getattr(settings, "CAMPUSMEDIA_BACKUP_KEY", "") or "").strip()
    if not key:
        raise BackupError(ERR_NO_KEY)
    if len(key) < MIN_KEY_LENGTH:
        raise BackupError(ERR_SHORT_KEY)
    return key


def _derive(key: str, salt: bytes) -> tuple[bytes, bytes]:
    """The AES key and the key-check MAC key of one file."""
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=KEY_INFO).derive(
        key.encode()
    )
    return material[:32], material[32:]


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given, frame by frame, into ``target``."""

    def __init__(self, target: IO[bytes], key: str) -> None:
        super().__init__()
        salt = secrets.token_bytes(SALT_BYTES)
        self._key, check_key = _derive(key, salt)
        prefix = MAGIC + bytes([VERSION]) + salt
        self.header = prefix + hmac.new(check_key, prefix, hashlib.sha256).digest()[:CHECK_BYTES]
        self._aead = AESGCM(self._key)
        self._target = target
        self._buffer = bytearray()
        self._counter = 0
        self.bytes_written = len(self.header)
        target.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) > FRAME_BYTES:
            self._frame(bytes(self._buffer[:FRAME_BYTES]), last=False)
            del self._buffer[:FRAME_BYTES]
        return len(data)

    def _frame(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._counter, last), plain, self.header)
        self._target.write(len(sealed).to_bytes(4, "big") + sealed)
        self.bytes_written += 4 + len(sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._frame(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext of a backup; every frame is authenticated before any
    of its bytes are handed out, and the end must be the last frame."""

    def __init__(self, source: IO[bytes], key: str, name: str = "the file") -> None:
        super().__init__()
        header = source.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
            raise BackupError(ERR_NOT_A_BACKUP.format(name=name))
        if header[len(MAGIC)] != VERSION:
            raise BackupError(ERR_VERSION.format(name=name, version=header[len(MAGIC)]))
        salt = header[len(MAGIC) + 1 : len(MAGIC) + 1 + SALT_BYTES]
        aes_key, check_key = _derive(key, salt)
        prefix = header[:-CHECK_BYTES]
        expected = hmac.new(check_key, prefix, hashlib.sha256).digest()[:CHECK_BYTES]
        if not hmac.compare_digest(expected, header[-CHECK_BYTES:]):
            raise BackupError(ERR_WRONG_KEY)
        self._header = header
        self._aead = AESGCM(aes_key)
        self._source = source
        self._plain = b""
        self._offset = 0
        self._counter = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_frame(self) -> None:
        size_bytes = self._source.read(4)
        if len(size_bytes) < 4:
            raise BackupError(ERR_TRUNCATED)
        size = int.from_bytes(size_bytes, "big")
        if not TAG_BYTES <= size <= FRAME_BYTES + TAG_BYTES:
            raise BackupError(ERR_TAMPERED.format(frame=self._counter))
        sealed = self._source.read(size)
        if len(sealed) < size:
            raise BackupError(ERR_TRUNCATED)
        for last in (False, True):
            try:
                plain = self._aead.decrypt(_nonce(self._counter, last), sealed, self._header)
            except InvalidTag:
                continue
            self._plain, self._offset, self._done = plain, 0, last
            self._counter += 1
            return
        raise BackupError(ERR_TAMPERED.format(frame=self._counter))

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._plain):
            if self._done:
                return 0
            self._next_frame()
        count = min(len(buffer), len(self._plain) - self._offset)
        buffer[:count] = self._plain[self._offset : self._offset + count]
        self._offset += count
        return count

    def finish(self) -> None:
        """Read to the end: the last frame must have come, and nothing after it."""
        while self.read(FRAME_BYTES):
            pass
        if self._source.read(1):
            raise BackupError(ERR_TRAILING)


# --- What is backed up ------------------------------------------------------------------------


def backup_models() -> list[type[models.Model]]:
    """Every concrete model with rows of its own, each after the models it refers to (as far as
    cycles allow: foreign keys are checked at commit, so a cycle only needs some order)."""
    candidates = [
        model
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in EXCLUDED_MODELS
    ]
    wanted = set(candidates)

    def depends_on(model: type[models.Model]) -> set[type[models.Model]]:
        related = {
            f.related_model
            for f in (*model._meta.local_fields, *model._meta.local_many_to_many)
            if f.is_relation and f.related_model is not None
        }
        return {m for m in related if m in wanted and m is not model}

    pending = {model: depends_on(model) for model in candidates}
    ordered: list[type[models.Model]] = []
    while pending:
        ready = [m for m in candidates if m in pending and not (pending[m] - set(ordered))]
        if not ready:  # a cycle: take the first model still waiting
            ready = [next(m for m in candidates if m in pending)]
        for model in ready:
            ordered.append(model)
            del pending[model]
    return ordered


@dataclass
class _Natural:
    """Natural keys of content types and permissions, read once per backup."""

    using: str
    keys: dict[type[models.Model], dict[Any, list[str]]] = field(default_factory=dict)

    def of(self, model: type[models.Model], pk: Any) -> list[str]:
        if model not in self.keys:
            queryset = model._base_manager.using(self.using).all()
            if model is Permission:
                queryset = queryset.select_related("content_type")
            self.keys[model] = {obj.pk: list(obj.natural_key()) for obj in queryset}  # type: ignore[attr-defined]
        return self.keys[model][pk]


def _plain_m2m(model: type[models.Model]) -> list[models.ManyToManyField]:
    """The many-to-many fields stored in a table of their own (explicit ones are models)."""
    return [f for f in model._meta.local_many_to_many if _through(f)._meta.auto_created]


def _through(m2m: models.ManyToManyField) -> type[models.Model]:
    through = m2m.remote_field.through
    assert through is not None
    return through


def _forget_headers(tar: tarfile.TarFile) -> None:
    """tarfile keeps the header of every member it has seen: a long archive would fill memory."""
    tar.members.clear()  # type: ignore[attr-defined]


def _value(obj: models.Model, f: models.Field) -> Any:
    value = f.value_from_object(obj)
    return value if is_protected_type(value) else f.value_to_string(obj)


def _serialize(obj: models.Model, natural: _Natural) -> dict[str, Any]:
    """A row in the format of Django's ``python`` serializer (which the restore reads back)."""
    meta = obj._meta
    fields: dict[str, Any] = {}
    for f in meta.local_fields:
        if not getattr(f, "serialize", True):
            continue
        if isinstance(f, crypto.EncryptedCharField):
            # The serializers would write the decrypted value; keep the personal data encrypted.
            plain = f.value_from_object(obj)
            fields[f.name] = f.get_prep_value(plain) if plain else ""
        elif f.remote_field is None:
            fields[f.name] = _value(obj, f)
        else:
            related_pk = getattr(obj, f.attname)
            if related_pk is not None and f.related_model in NATURAL_KEY_MODELS:
                fields[f.name] = natural.of(f.related_model, related_pk)
            else:
                fields[f.name] = _value(obj, f)
    for m2m in _plain_m2m(type(obj)):
        target = m2m.related_model
        pks = [related.pk for related in getattr(obj, m2m.name).all()]
        if target in NATURAL_KEY_MODELS:
            fields[m2m.name] = [natural.of(target, pk) for pk in pks]
        else:
            fields[m2m.name] = pks
    data: dict[str, Any] = {"model": meta.label_lower, "fields": fields}
    if not isinstance(obj, NATURAL_KEY_MODELS):
        data["pk"] = _value(obj, meta.pk)
    return data


class _Encoder(json.JSONEncoder):
    """JSON for the serialized rows: unlike DjangoJSONEncoder, times keep their microseconds
    (the audit chain hashes them)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.date | datetime.time):
            return o.isoformat()
        if isinstance(o, decimal.Decimal | uuid.UUID):
            return str(o)
        return super().default(o)


def _rows(model: type[models.Model], using: str) -> Iterator[list[models.Model]]:
    queryset = model._base_manager.using(using).order_by("pk")
    m2m = _plain_m2m(model)
    if m2m:
        queryset = queryset.prefetch_related(
            *(models.Prefetch(f.name, f.related_model._base_manager.only("pk")) for f in m2m)  # type: ignore[union-attr]
        )
    chunk: list[models.Model] = []
    for obj in queryset.iterator(chunk_size=ROWS_PER_MEMBER):
        chunk.append(obj)
        if len(chunk) == ROWS_PER_MEMBER:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _file_roots() -> dict[str, Path]:
    return {
        "private": Path(settings.CAMPUSMEDIA_PRIVATE_ROOT),
        "media": Path(settings.MEDIA_ROOT),
    }


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` (not following links), staging directories left out."""
    if not root.is_dir():
        return
    for directory, subdirs, files in os.walk(root):
        if Path(directory) == root:
            subdirs[:] = [d for d in subdirs if not d.startswith(STAGING_PREFIX)]
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _applied_migrations(using: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connections[using]).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))
    _forget_headers(tar)


# --- Backing up -------------------------------------------------------------------------------


@dataclass
class Summary:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    size: int = 0
    created: str = ""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def models(self) -> int:
        """Models with rows."""
        return sum(1 for count in self.rows.values() if count)


def _write_archive(writer: EncryptingWriter, using: str) -> Summary:
    summary = Summary(created=timezone.now().isoformat())
    connection = connections[using]
    tar = tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
    meta = {
        "format": "campusmedia-backup",
        "version": VERSION,
        "created": summary.created,
        "vendor": connection.vendor,
        "migrations": _applied_migrations(using),
        "key_checks": {
            "field": crypto.encrypt(KEY_CHECK_TEXT),
            "hmac": crypto.blind_index(KEY_CHECK_TEXT),
        },
    }
    _add_bytes(tar, META_MEMBER, json.dumps(meta, ensure_ascii=False).encode())
    natural = _Natural(using)
    # One snapshot of the whole database (PostgreSQL: repeatable read; SQLite: one read
    # transaction), so rows written meanwhile cannot leave references dangling.
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        member = 0
        for model in backup_models():
            label = model._meta.label_lower
            summary.rows[label] = 0
            for chunk in _rows(model, using):
                rows = [_serialize(obj, natural) for obj in chunk]
                member += 1
                payload = json.dumps(rows, cls=_Encoder, ensure_ascii=False).encode()
                name = f"{DB_PREFIX}{member:06d}-{label}.json.gz"
                _add_bytes(tar, name, gzip.compress(payload, compresslevel=6, mtime=0))
                summary.rows[label] += len(rows)
    # Files after the rows: a file the rows refer to was on disk before the snapshot.
    for root_name, root in _file_roots().items():
        for path in _walk(root):
            stat = path.stat()
            info = tarfile.TarInfo(f"{FILES_PREFIX}{root_name}/{path.relative_to(root).as_posix()}")
            info.size = stat.st_size
            info.mtime = int(stat.st_mtime)
            info.mode = stat.st_mode & 0o777
            with path.open("rb") as handle:
                tar.addfile(info, handle)
            _forget_headers(tar)
            summary.files += 1
            summary.file_bytes += stat.st_size
    manifest = {"rows": summary.rows, "files": summary.files, "file_bytes": summary.file_bytes}
    _add_bytes(tar, MANIFEST_MEMBER, json.dumps(manifest).encode())
    tar.close()
    writer.close()
    summary.size = writer.bytes_written
    return summary


def backup_create(
    *, target: Path | IO[bytes], actor_name: str, using: str = DEFAULT_DB_ALIAS
) -> Summary:
    """Write a backup to ``target``: a path (written under a temporary name, then renamed, so a
    failed backup leaves no file) or an open binary stream. Records an audit row."""
    key = backup_key()
    seal_pending(using=using)  # the rows still waiting join the chain before the snapshot
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                summary = _write_archive(EncryptingWriter(handle, key), using)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        output = str(target)
    else:
        summary = _write_archive(EncryptingWriter(target, key), using)
        target.flush()
        output = "-"
    audit_record(
        action=AuditAction.BACKUP,
        actor_name=actor_name,
        detail={
            "rows": summary.total_rows,
            "models": summary.models,
            "files": summary.files,
            "file_bytes": summary.file_bytes,
            "size": summary.size,
            "output": output,
        },
    )
    return summary


def default_backup_path() -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.CAMPUSMEDIA_BACKUP_DIR) / f"campusmedia-{stamp}.backup"


# --- Restoring --------------------------------------------------------------------------------


def open_backup(source: IO[bytes], name: str = "the file") -> DecryptingReader:
    """The plaintext (a tar stream) of a backup, checked frame by frame as it is read."""
    return DecryptingReader(source, backup_key(), name)


def nonempty_tables(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Models with rows, apart from what ``migrate`` itself creates."""
    skip = {m._meta.label_lower for m in NATURAL_KEY_MODELS} | SEEDED_BY_MIGRATIONS
    return [
        model._meta.label_lower
        for model in backup_models()
        if model._meta.label_lower not in skip and model._base_manager.using(using).exists()
    ]


def _check_meta(meta: dict[str, Any], using: str) -> None:
    if meta.get("format") != "campusmedia-backup" or meta.get("version") != VERSION:
        raise BackupError(ERR_VERSION.format(name="the backup", version=meta.get("version")))
    theirs: dict[str, list[str]] = meta["migrations"]
    ours = _applied_migrations(using)
    commands = []
    for app in sorted(set(theirs) | set(ours)):
        if set(theirs.get(app, [])) != set(ours.get(app, [])):
            target = max(theirs[app]) if theirs.get(app) else "zero"
            commands.append(f"  manage.py migrate {app} {target}")
    if commands:
        raise BackupError(ERR_MIGRATIONS.format(commands="\n".join(commands)))
    try:
        crypto.decrypt(meta["key_checks"]["field"])
    except ValueError:
        raise BackupError(ERR_FIELD_KEYS) from None
    if not hmac.compare_digest(crypto.blind_index(KEY_CHECK_TEXT), meta["key_checks"]["hmac"]):
        raise BackupError(ERR_HMAC_KEY)


def _check_empty(force: bool, using: str) -> None:
    if force:
        return
    tables = nonempty_tables(using)
    if tables:
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        raise BackupError(ERR_NOT_EMPTY.format(tables=shown))
    for root in _file_roots().values():
        if next(_walk(root), None) is not None:
            raise BackupError(ERR_FILES_NOT_EMPTY.format(root=root))


def _empty_database(using: str) -> None:
    """What ``flush`` does, inside the restore's transaction, keeping content types and
    permissions (the restore maps them by natural key)."""
    connection = connections[using]
    keep = {m._meta.db_table for m in NATURAL_KEY_MODELS}
    tables = [
        t for t in connection.introspection.django_table_names(only_existing=True) if t not in keep
    ]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=False)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _decrypt_fields(obj: models.Model) -> None:
    for f in obj._meta.local_fields:
        if isinstance(f, crypto.EncryptedCharField):
            token = getattr(obj, f.attname)
            try:
                setattr(obj, f.attname, crypto.decrypt(token) if token else "")
            except ValueError:
                raise BackupError(ERR_FIELD_KEYS) from None


def _insert(
    model: type[models.Model], objs: list[models.Model], using: str, *, with_pk: bool = True
) -> None:
    """Plain INSERTs with every column as given (``raw``: no ``auto_now``, no ``save()``, no
    signals), in batches the database accepts."""
    if not objs:
        return
    fields = [
        f
        for f in model._meta.local_concrete_fields
        if not f.generated and (with_pk or not f.primary_key)
    ]
    size = max(1, min(500, connections[using].ops.bulk_batch_size(fields, objs)))
    manager = model._base_manager.using(using)
    for start in range(0, len(objs), size):
        manager._insert(objs[start : start + size], fields=fields, using=using, raw=True)  # type: ignore[attr-defined]


def _load_rows(rows: list[dict[str, Any]], using: str) -> tuple[str, int]:
    """Insert one member's rows (all of one model); returns the model's label and the count."""
    label = rows[0]["model"] if rows else ""
    try:
        loaded = list(Deserializer(rows, using=using))
    except DeserializationError as error:
        # The message of a DeserializationError quotes the field's value: keep it out.
        cause = error.__cause__ or error.__context__
        raise BackupError(
            ERR_ROW.format(model=label, error=type(cause or error).__name__)
        ) from None
    model = type(loaded[0].object) if loaded else None
    if model is None:
        return label, 0
    if issubclass(model, NATURAL_KEY_MODELS):
        # Already created by migrate (found by natural key) or, if the backup has more, added.
        for item in loaded:
            if item.object.pk is None:
                item.object.save_base(raw=True, using=using)
        ContentType.objects.clear_cache()
        return label, len(loaded)
    objs = [item.object for item in loaded]
    for obj in objs:
        _decrypt_fields(obj)
    _insert(model, objs, using)
    for m2m in _plain_m2m(model):
        through = _through(m2m)
        source = m2m.m2m_field_name()
        target = m2m.m2m_reverse_field_name()
        links = [
            through(**{f"{source}_id": item.object.pk, f"{target}_id": pk})
            for item in loaded
            for pk in item.m2m_data.get(m2m.name, [])
        ]
        _insert(through, links, using, with_pk=False)
    return label, len(objs)


def _staging_path(staging: dict[str, Path], name: str) -> Path:
    parts = PurePosixPath(name).parts
    roots = _file_roots()
    if (
        len(parts) < 3
        or parts[1] not in roots
        or any(p in ("", ".", "..") for p in parts[2:])
        or PurePosixPath(name).is_absolute()
    ):
        raise BackupError(ERR_MEMBER.format(name=name))
    if parts[1] not in staging:
        staging[parts[1]] = roots[parts[1]] / f"{STAGING_PREFIX}{secrets.token_hex(6)}"
    return staging[parts[1]].joinpath(*parts[2:])


def _move_staged(staging: dict[str, Path]) -> None:
    roots = _file_roots()
    for root_name, stage in staging.items():
        for path in _walk_all(stage):
            destination = roots[root_name] / path.relative_to(stage)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)
        shutil.rmtree(stage, ignore_errors=True)


def _walk_all(root: Path) -> Iterable[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def backup_restore(
    *, source: Path, actor_name: str, force: bool = False, using: str = DEFAULT_DB_ALIAS
) -> Summary:
    """Restore the backup at ``source`` (see the module's docstring). Either everything is
    restored, or nothing is written and ``BackupError`` says why."""
    key = backup_key()
    connection = connections[using]
    summary = Summary()
    staging: dict[str, Path] = {}
    replaced = 0
    try:
        with source.open("rb") as handle:
            reader = DecryptingReader(handle, key, source.name)
            tar = tarfile.open(fileobj=reader, mode="r|")  # noqa: SIM115
            first = tar.next()
            if first is None or first.name != META_MEMBER:
                raise BackupError(ERR_MEMBER.format(name=first.name if first else "none"))
            meta = json.loads(_read_member(tar, first))
            _check_meta(meta, using)
            summary.created = meta["created"]
            _check_empty(force, using)
            manifest: dict[str, Any] | None = None
            with transaction.atomic(using=using):
                if force:
                    replaced = sum(
                        m._base_manager.using(using).count()
                        for m in backup_models()
                        if not issubclass(m, NATURAL_KEY_MODELS)
                    )
                    _empty_database(using)
                for label in SEEDED_BY_MIGRATIONS:
                    apps.get_model(label)._base_manager.using(using).all()._raw_delete(using)
                while (member := tar.next()) is not None:
                    _forget_headers(tar)
                    if manifest is not None:
                        raise BackupError(ERR_MEMBER.format(name=member.name))
                    if member.name == MANIFEST_MEMBER:
                        manifest = json.loads(_read_member(tar, member))
                    elif member.name.startswith(DB_PREFIX) and member.isfile():
                        rows = json.loads(gzip.decompress(_read_member(tar, member)))
                        label, count = _load_rows(rows, using)
                        reset_queries()  # with DEBUG on, Django would keep every INSERT's SQL
                        summary.rows[label] = summary.rows.get(label, 0) + count
                    elif member.name.startswith(FILES_PREFIX) and member.isfile():
                        _stage_file(tar, member, _staging_path(staging, member.name))
                        summary.files += 1
                        summary.file_bytes += member.size
                    else:
                        raise BackupError(ERR_MEMBER.format(name=member.name))
                reader.finish()
                _check_manifest(manifest, summary)
                restored = [m for m in backup_models() if not issubclass(m, NATURAL_KEY_MODELS)]
                restored += [_through(f) for m in restored for f in _plain_m2m(m)]
                with connection.cursor() as cursor:
                    for sql in connection.ops.sequence_reset_sql(no_style(), restored):
                        cursor.execute(sql)
                # Foreign keys are checked now rather than at the commit, so a commit that fails
                # cannot leave the files moved in.
                connection.check_constraints()
                audit_record(
                    action=AuditAction.RESTORE,
                    actor_name=actor_name,
                    detail={
                        "rows": summary.total_rows,
                        "models": summary.models,
                        "files": summary.files,
                        "file_bytes": summary.file_bytes,
                        "backup_created": summary.created,
                        "source": source.name,
                        "forced": force,
                        "replaced_rows": replaced,
                    },
                )
    except DatabaseError as error:
        _discard(staging)
        raise BackupError(ERR_DATABASE.format(error=str(error).splitlines()[0])) from None
    except BaseException:
        _discard(staging)
        raise
    _move_staged(staging)
    for alias in settings.CACHES:
        caches[alias].clear()
    return summary


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(ERR_MEMBER.format(name=member.name))
    return handle.read()


def _stage_file(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(ERR_MEMBER.format(name=member.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        shutil.copyfileobj(handle, out, FRAME_BYTES)
    path.chmod(member.mode & 0o777 or 0o600)
    os.utime(path, (member.mtime, member.mtime))


def _check_manifest(manifest: dict[str, Any] | None, summary: Summary) -> None:
    if manifest is None:
        raise BackupError(ERR_COUNTS.format(detail="no manifest"))
    # A model without rows has no member, so it is missing from what was read.
    expected = {label: n for label, n in manifest["rows"].items() if n}
    if expected != {label: n for label, n in summary.rows.items() if n}:
        raise BackupError(ERR_COUNTS.format(detail="rows"))
    if manifest["files"] != summary.files or manifest["file_bytes"] != summary.file_bytes:
        raise BackupError(ERR_COUNTS.format(detail="files"))


def _discard(staging: dict[str, Path]) -> None:
    for stage in staging.values():
        shutil.rmtree(stage, ignore_errors=True)
