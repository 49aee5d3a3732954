"""``manage.py backup`` and ``manage.py restore`` (campusmedia/backup.py).

A populated site (the personas, a request with an uploaded scan, a notice attachment, a sealed
unit material) is backed up, the database and the private files are emptied the way a new server
is empty (``flush``, then what ``migrate`` creates: content types numbered differently, the
platforms of the data migration), and the backup is restored: every row comes back with its id,
personal data decrypts to the same values, the ID number's HMAC still finds the person, the audit
chain still verifies, the files have the same bytes and the access rules give the same answers.
Then the refusals: a wrong key, a changed or cut-off file, a database that is not empty, other
field or HMAC keys, another migration state; and no plain ID number or mobile in the file.
"""

from __future__ import annotations

import gzip
import importlib
import io
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import reverse
from django.utils.functional import empty
from PIL import Image

from alliance import services as alliance_services
from alliance.models import NoticeAttachment
from approvals.attachments import attachment_add
from approvals.choices import AttachmentKind
from approvals.models import AccountRequest, Attachment
from approvals.storage import private_storage
from campusmedia import backup, services
from campusmedia.audit import chain
from campusmedia.choices import UnitKind
from campusmedia.crypto import blind_index
from campusmedia.models import AuditEvent, MediaAccount, Person, Unit, User
from campusmedia.models.audit import AuditAction
from filing import office_services
from filing.choices import MaterialKind
from filing.models import UnitMaterial
from tests.approvals.conftest import open_request
from tests.conftest import ID_NUMBER, MODEL_BACKEND, World, build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KEY = "test-backup-key-0123456789-abcdefghijklmnop"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


@pytest.fixture(autouse=True)
def _backup_settings(settings, tmp_path) -> Iterator[None]:
    settings.CAMPUSMEDIA_BACKUP_KEY = KEY
    settings.CAMPUSMEDIA_BACKUP_DIR = tmp_path / "backups"
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    # The tests renumber content types; the database gets the old numbers back afterwards.
    ContentType.objects.clear_cache()


def png_scan() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 20), (20, 90, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile("身份证扫描.png", buffer.getvalue(), content_type="image/png")


@dataclass
class Site:
    world: World
    request: AccountRequest
    scan: Attachment
    notice_file: NoticeAttachment
    material: UnitMaterial
    people: dict[int, tuple[str, str, str, str | None]] = field(default_factory=dict)


def build_site() -> Site:
    """The personas plus the three kinds of private file the application stores."""
    world = build_world()
    request = open_request(world)
    scan = attachment_add(
        account_request=request,
        kind=AttachmentKind.EVIDENCE,
        upload=png_scan(),
        actor=world.users["sec_a"],
    )
    notice = alliance_services.notice_post(
        actor=world.users["propaganda"],
        title="关于规范转载的通知",
        body="各单位：请注明来源。",
        uploads=[SimpleUploadedFile("细则.pdf", PDF, content_type="application/pdf")],
    )
    material = office_services.material_upload(
        unit=world.units["a"],
        kind=MaterialKind.HEAD_ID_COPY,
        upload=SimpleUploadedFile("身份证复印件.pdf", PDF, content_type="application/pdf"),
        actor=world.users["propaganda"],
    )
    site = Site(world, request, scan, notice.attachments.get(), material)
    site.people = {p.pk: (p.name, p.mobile, p.email, p.id_number) for p in Person.objects.all()}
    return site


def private_files(settings) -> dict[str, bytes]:
    root = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT)
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def rows(model: Any) -> list[dict[str, Any]]:
    return list(model._base_manager.order_by("pk").values())


def snapshot() -> dict[str, Any]:
    """The rows a restore must give back as they were (ids included)."""
    return {
        "users": rows(User),
        "user_groups": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "units": rows(Unit),
        "accounts": rows(MediaAccount),
        "requests": rows(AccountRequest),
        "attachments": rows(Attachment),
        "notice_files": rows(NoticeAttachment),
        "materials": rows(UnitMaterial),
        # Encrypted columns are compared decrypted (a restore encrypts them again).
        "people": [
            {k: v for k, v in row.items() if k not in ("mobile", "email", "id_number")}
            for row in rows(Person)
        ],
        "object_permissions": sorted(
            (perm.group_id, perm.permission.natural_key(), perm.content_object_id)
            for perm in apps.get_model("campusmedia", "UnitGroupObjectPermission")
            .objects.select_related("permission__content_type")
            .all()
        ),
    }


def empty_site(settings) -> None:
    """The database and the file root as on a new server after ``migrate``: no rows but the
    content types and permissions (here numbered differently from the backed-up site's) and the
    platforms of the data migration."""
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    ContentType.objects.clear_cache()
    ContentType.objects.create(app_label="another_site", model="shifts_the_ids")
    emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
    importlib.import_module("campusmedia.migrations.0002_platforms").add_platforms(apps, None)
    shutil.rmtree(settings.CAMPUSMEDIA_PRIVATE_ROOT, ignore_errors=True)
    private_storage._wrapped = empty


def make_backup(tmp_path: Path, name: str = "site.backup") -> Path:
    path = tmp_path / name
    call_command("backup", output=str(path), stdout=io.StringIO())
    return path


def restore(path: Path, **options: Any) -> str:
    out = io.StringIO()
    call_command("restore", str(path), stdout=out, **options)
    return out.getvalue()


def nothing_restored(settings) -> bool:
    root = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT)
    leftovers = list(root.rglob("*")) if root.exists() else []
    return not backup.nonempty_tables() and not User.objects.exists() and not leftovers


def inner_rows(path: Path) -> bytes:
    """The backup decrypted and its database members decompressed: what a thief with the backup
    key would read."""
    out = bytearray()
    with (
        path.open("rb") as handle,
        tarfile.open(fileobj=backup.open_backup(handle), mode="r|") as tar,
    ):
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else b""
            out += gzip.decompress(data) if member.name.endswith(".gz") else data
    return bytes(out)


# --- The round trip -------------------------------------------------------------------------


def test_a_fresh_database_counts_as_empty():
    """What migrate creates (content types, permissions, the platforms) is not in the way; a
    data migration that adds rows elsewhere would make this fail."""
    assert backup.nonempty_tables() == []


def test_restore_gives_back_every_row_file_and_secret(settings, tmp_path):
    site = build_site()
    before = snapshot()
    files = private_files(settings)
    assert len(files) == 3  # the scan, the notice's attachment, the sealed material
    audit_before = rows(AuditEvent)
    chain.seal_pending()
    head = chain.verify()
    assert head.intact and head.rows == len(audit_before)
    old_unit_type = ContentType.objects.get_for_model(Unit).pk

    path = make_backup(tmp_path)

    backup_row = AuditEvent.objects.filter(action=AuditAction.BACKUP).get()
    assert backup_row.detail["files"] == len(files)
    assert backup_row.detail["rows"] > len(audit_before)

    empty_site(settings)
    assert ContentType.objects.get_for_model(Unit).pk != old_unit_type
    assert nothing_restored(settings)

    out = restore(path)

    assert f"{len(files)} files" in out
    assert snapshot() == before
    assert private_files(settings) == files
    # Personal data: the same plain values, stored encrypted, and the HMAC look-up still finds
    # the ID number's owner and keeps it unique.
    people = {p.pk: (p.name, p.mobile, p.email, p.id_number) for p in Person.objects.all()}
    assert people == site.people
    head_a = site.world.people["head_a"]
    assert Person.objects.get(id_number_hmac=blind_index(ID_NUMBER)).pk == head_a.pk
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number FROM {Person._meta.db_table} WHERE id = %s", [head_a.pk])
        stored = cursor.fetchone()[0]
    assert stored and ID_NUMBER not in stored
    with pytest.raises(ValidationError):
        services.person_create(
            actor=None, name="冒名者", unit=site.world.units["b"], id_number=ID_NUMBER
        )
    # The audit log: the same rows, ids and chain, then the restore's own row.
    restored_audit = rows(AuditEvent)
    assert restored_audit[: len(audit_before)] == audit_before
    (restore_row,) = AuditEvent.objects.filter(action=AuditAction.RESTORE)
    assert restore_row.pk > audit_before[-1]["id"]
    assert restore_row.detail["files"] == len(files)
    assert restore_row.detail["rows"] == backup_row.detail["rows"]
    verification = chain.verify()
    assert verification.intact and verification.rows == len(audit_before) + 1
    # Sequences continue after the restored ids.
    unit = services.unit_create(
        actor=None,
        code="new",
        name="新单位",
        kind=UnitKind.COLLEGE,
        parent=Unit.objects.get(code="school"),
    )
    assert unit.pk > max(row["id"] for row in before["units"])
    # Access and files together, through the pages: the scan for its unit, 404 for an outsider.
    url = reverse("approvals:attachment_download", args=[site.scan.pk])
    sec_a, sec_b = Client(), Client()
    sec_a.force_login(User.objects.get(username="sec_a"), backend=MODEL_BACKEND)
    sec_b.force_login(User.objects.get(username="sec_b"), backend=MODEL_BACKEND)
    response = sec_a.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files[site.scan.file.name]
    assert sec_b.get(url).status_code == 404
    # The sealed material decrypts to the uploaded bytes.
    material = UnitMaterial.objects.get(pk=site.material.pk)
    assert (
        office_services.material_read(
            material=material, actor=User.objects.get(username="propaganda")
        )
        == PDF
    )


def test_rows_stream_in_chunks(settings, tmp_path, monkeypatch):
    """Several members per model when a model has more rows than a member holds, and frames of
    the encrypted stream much smaller than a member: both are put back together."""
    monkeypatch.setattr(backup, "ROWS_PER_MEMBER", 7)
    monkeypatch.setattr(backup, "FRAME_BYTES", 4096)
    build_site()
    before = snapshot()
    files = private_files(settings)
    path = make_backup(tmp_path)
    with (
        path.open("rb") as handle,
        tarfile.open(fileobj=backup.open_backup(handle), mode="r|") as tar,
    ):
        members = [m.name for m in tar if m.name.startswith(backup.DB_PREFIX)]
    assert sum("campusmedia.auditevent" in name for name in members) > 1
    assert path.stat().st_size > 10 * 4096

    empty_site(settings)
    restore(path)

    assert snapshot() == before
    assert private_files(settings) == files


def test_no_plain_id_number_mobile_or_email_in_the_backup(settings, tmp_path):
    site = build_site()
    path = make_backup(tmp_path)
    secrets = [ID_NUMBER.encode()]
    for _name, mobile, email, _id in site.people.values():
        secrets += [s.encode() for s in (mobile, email) if s]
    assert len(secrets) > 8

    raw = path.read_bytes()
    inner = inner_rows(path)

    assert "钱书记".encode() in inner  # what the search below could have found
    for secret in secrets:
        assert secret not in raw
        assert secret not in inner  # encrypted a second time, with the field keys


# --- Refusals: nothing is written -----------------------------------------------------------


def test_a_wrong_key_is_refused_and_nothing_is_written(settings, tmp_path):
    build_site()
    path = make_backup(tmp_path)
    empty_site(settings)
    settings.CAMPUSMEDIA_BACKUP_KEY = "another-key-of-forty-characters-0123456789"

    with pytest.raises(CommandError, match="CAMPUSMEDIA_BACKUP_KEY does not open this backup"):
        restore(path)

    assert nothing_restored(settings)


def _flip(data: bytearray, at: int) -> None:
    data[at] ^= 0x01


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("flip a byte in the middle", "damaged or has been altered"),
        ("flip the last byte", "damaged or has been altered"),
        ("flip a byte of the salt", "does not open this backup"),
        ("cut off the end", "incomplete"),
        ("drop the last frame", "incomplete"),
        ("swap two frames", "damaged or has been altered"),
        ("append bytes", "data after its last frame"),
    ],
)
def test_a_changed_backup_is_refused_and_nothing_is_written(
    settings, tmp_path, monkeypatch, change, message
):
    monkeypatch.setattr(backup, "FRAME_BYTES", 4096)
    build_site()
    path = make_backup(tmp_path)
    data = bytearray(path.read_bytes())
    frame = 4 + 4096 + backup.TAG_BYTES
    start = backup.HEADER_BYTES
    if change == "flip a byte in the middle":
        _flip(data, len(data) // 2)
    elif change == "flip the last byte":
        _flip(data, len(data) - 1)
    elif change == "flip a byte of the salt":
        _flip(data, len(backup.MAGIC) + 3)
    elif change == "cut off the end":
        del data[-100:]
    elif change == "drop the last frame":
        whole = (len(data) - start - 1) // frame  # the frames before the last
        del data[start + whole * frame :]
    elif change == "swap two frames":
        first, second = data[start : start + frame], data[start + frame : start + 2 * frame]
        data[start : start + 2 * frame] = second + first
    else:
        data += b"\x00" * 64
    path.write_bytes(bytes(data))
    empty_site(settings)

    with pytest.raises(CommandError, match=message):
        restore(path)

    assert nothing_restored(settings)


def test_a_database_that_is_not_empty_is_refused_unless_forced(settings, tmp_path):
    build_site()
    before = snapshot()
    files = private_files(settings)
    path = make_backup(tmp_path)
    services.unit_create(
        actor=None,
        code="later",
        name="备份后新建的单位",
        kind=UnitKind.COLLEGE,
        parent=Unit.objects.get(code="school"),
    )
    audit_rows = AuditEvent.objects.count()

    with pytest.raises(CommandError, match="The database is not empty"):
        restore(path)
    assert Unit.objects.filter(code="later").exists()
    assert AuditEvent.objects.count() == audit_rows

    restore(path, force=True)

    assert snapshot() == before
    assert private_files(settings) == files
    assert not Unit.objects.filter(code="later").exists()
    restored = AuditEvent.objects.get(action=AuditAction.RESTORE)
    assert restored.detail["forced"] is True
    assert chain.verify().intact


def test_files_left_in_the_root_are_refused_unless_forced(settings, tmp_path):
    build_site()
    path = make_backup(tmp_path)
    empty_site(settings)
    stray = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT) / "stray.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(PDF)

    with pytest.raises(CommandError, match="already holds files"):
        restore(path)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("FIELD_ENCRYPTION_KEYS", ["another field key"], "CAMPUSMEDIA_FIELD_KEY"),
        ("FIELD_HMAC_KEY", "another hmac key", "CAMPUSMEDIA_HMAC_KEY differs"),
    ],
)
def test_other_personal_data_keys_are_refused(settings, tmp_path, setting, value, message):
    build_site()
    path = make_backup(tmp_path)
    empty_site(settings)
    setattr(settings, setting, value)

    with pytest.raises(CommandError, match=message):
        restore(path)

    assert nothing_restored(settings)


def test_another_migration_state_is_refused_with_the_commands_to_run(settings, tmp_path):
    build_site()
    path = make_backup(tmp_path)
    empty_site(settings)
    recorder = MigrationRecorder(connection)
    latest = max(name for app, name in recorder.applied_migrations() if app == "campusmedia")
    recorder.record_unapplied("campusmedia", latest)
    try:
        with pytest.raises(CommandError, match=f"manage.py migrate campusmedia {latest}"):
            restore(path)
    finally:
        recorder.record_applied("campusmedia", latest)
    assert nothing_restored(settings)


def test_without_a_key_nothing_is_written(settings, tmp_path):
    build_site()
    settings.CAMPUSMEDIA_BACKUP_KEY = ""

    with pytest.raises(CommandError, match="CAMPUSMEDIA_BACKUP_KEY is not set"):
        make_backup(tmp_path)

    assert not list(tmp_path.glob("*.backup*"))
    assert not AuditEvent.objects.filter(action=AuditAction.BACKUP).exists()


def test_backup_goes_to_the_backup_directory_by_default(settings):
    build_site()
    call_command("backup", stdout=io.StringIO())
    (path,) = Path(settings.CAMPUSMEDIA_BACKUP_DIR).iterdir()
    assert path.name.startswith("campusmedia-") and path.suffix == ".backup"
    assert path.stat().st_mode & 0o777 == 0o600
