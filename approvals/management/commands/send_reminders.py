"""Daily reminders by e-mail: ``manage.py send_reminders`` (schedule it once a day)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from approvals.reminders import digests, send_reminders


class Command(BaseCommand):
    help = "E-mail each user what is waiting for them (requests, 3-day rule, openings)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list, send nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            for digest in digests():
                self.stdout.write(
                    f"{digest.user.get_username()}: {len(digest.waiting)} waiting, "
                    f"{len(digest.team_changes)} team changes, "
                    f"{len(digest.not_opened)} not opened, {len(digest.leaving)} leaving"
                )
            return
        users, sent = send_reminders()
        self.stdout.write(f"{users} users with something due, {sent} e-mails sent")
