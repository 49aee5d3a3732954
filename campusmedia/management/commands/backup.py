"""``manage.py backup [--output PATH]``: the database and the private files in one encrypted file.

See ``campusmedia/backup.py`` for what the file holds and README "Deployment" for the schedule,
the key and a restore drill. ``--output -`` writes to standard output (to pipe it elsewhere).
Prints counts only, never contents; the run is recorded in the audit log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campusmedia.backup import BackupError, backup_create, default_backup_path

ACTOR_NAME = "manage.py backup"


class Command(BaseCommand):
    help = "Write an encrypted backup of the database and the private files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            help="file to write, a directory to write it into, or - for standard output "
            "(default: a new file in CAMPUSMEDIA_BACKUP_DIR)",
        )

    def handle(self, *args: Any, output: str | None = None, **options: Any) -> None:
        to_stdout = output == "-"
        if to_stdout:
            target: Path | Any = sys.stdout.buffer
        else:
            target = Path(output) if output else default_backup_path()
            if target.is_dir():
                target = target / default_backup_path().name
        try:
            summary = backup_create(target=target, actor_name=ACTOR_NAME)
        except BackupError as error:
            raise CommandError(str(error)) from None
        # With the backup on standard output, the report goes to standard error.
        report = self.stderr if to_stdout else self.stdout
        report.write(
            f"Backup written to {'standard output' if to_stdout else target}: "
            f"{summary.total_rows} rows of {summary.models} models, {summary.files} files "
            f"({summary.file_bytes / 1e6:.1f} MB), {summary.size / 1e6:.1f} MB encrypted."
        )
