"""The census import from the command line: the same services as the pages.

    manage.py import_census 普查登记.xlsx --actor propaganda [--dry-run]

Checks the file (every row, whatever its size, in this process) and prints each error as
"第 12 行「手机」：…"; with errors, or with a file that cannot be read, nothing is written and
the command exits with status 1. Without ``--dry-run`` a clean file is then imported (all rows
or none). The actor must be a user of the propaganda department; the job and its audit row
carry their name, as an upload from the page would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campusmedia.models import User
from census import services
from census.choices import JobStatus
from census.models import ImportJob


class Command(BaseCommand):
    help = "Check a census file (xlsx or UTF-8 CSV) and import it, all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the filled census template (.xlsx) or a UTF-8 CSV")
        parser.add_argument("--actor", required=True, help="username of a department user")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and print errors, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"没有这个文件：{path}")
        try:
            actor = User.objects.get(username=options["actor"], is_active=True)
        except User.DoesNotExist as error:
            raise CommandError(f"没有这个用户：{options['actor']}") from error
        try:
            with path.open("rb") as handle:
                job = services.job_create(
                    actor=actor, upload=handle, file_name=path.name, run_now=True
                )
        except PermissionDenied as error:
            raise CommandError(str(error) or "只有党委宣传部可以导入普查数据。") from error
        self._report(job)
        if job.status != JobStatus.CHECKED:
            raise CommandError(f"{job} 未通过检查，没有写入任何数据。")
        if options["dry_run"]:
            self.stdout.write(
                f"{job}：{job.total_rows} 行全部正确（试运行，没有写入数据；可在 "
                f"/census/{job.pk}/ 确认导入）。"
            )
            return
        job = services.job_confirm(job=job, actor=actor)
        if job.status != JobStatus.IMPORTED:
            self._report(job)
            raise CommandError(f"{job} 导入没有完成，没有写入任何数据。")
        self.stdout.write(
            self.style.SUCCESS(
                f"{job}：已导入 {job.created_count} 个账号，新建人员 {job.persons_created} 人，"
                f"沿用已登记人员 {job.persons_reused} 人，管理队伍成员 {job.team_count} 人。"
            )
        )

    def _report(self, job: ImportJob) -> None:
        if job.message:
            self.stderr.write(job.message)
        for error in job.errors:
            column = f"「{error['column']}」" if error["column"] else ""
            self.stderr.write(f"第 {error['row']} 行{column}：{error['message']}")
        if job.more_errors:
            self.stderr.write(f"另有 {job.more_errors} 处错误未列出。")
