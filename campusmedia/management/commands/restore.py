"""``manage.py restore PATH [--force]``: put back a backup made by ``manage.py backup``.

Restores into an empty database (create it and run ``manage.py migrate`` first) and empty file
roots; ``--force`` empties this database first and overwrites files of the same name. Stop the
web nodes and the tasks worker meanwhile. Needs the keys of the site that was backed up:
``CAMPUSMEDIA_BACKUP_KEY`` for the file, ``CAMPUSMEDIA_FIELD_KEY(S)`` and ``CAMPUSMEDIA_HMAC_KEY``
for its personal data. Everything is restored, or nothing is written. Prints counts only; the run
is recorded in the audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campusmedia.backup import BackupError, backup_restore

ACTOR_NAME = "manage.py restore"


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the backup file")
        parser.add_argument(
            "--force",
            action="store_true",
            help="empty this database first (every row, the audit log included) and overwrite "
            "files of the same name",
        )

    def handle(self, *args: Any, path: str, force: bool = False, **options: Any) -> None:
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"{source}: no such file")
        try:
            summary = backup_restore(source=source, actor_name=ACTOR_NAME, force=force)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Restored {source.name} (made {summary.created}): {summary.total_rows} rows of "
            f"{summary.models} models, {summary.files} files "
            f"({summary.file_bytes / 1e6:.1f} MB)."
        )
