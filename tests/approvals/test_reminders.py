"""The daily reminder command: who gets what."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from approvals import services
from campusmedia.choices import TeamRole
from tests.approvals.conftest import open_request

pytestmark = pytest.mark.django_db


def _emails(world) -> None:
    for username in ("sec_a", "head_a", "sec_b", "propaganda", "auditor"):
        user = world.users[username]
        user.email = f"{username}@example.edu.cn"
        user.save(update_fields=["email"])


def test_signer_and_keepers_are_reminded_outsider_and_auditor_are_not(world):
    _emails(world)
    services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    member = world.accounts["a"].team.current().get(role=TeamRole.ADMINISTRATOR)
    services.team_change_record(
        member=member,
        actor=world.users["sec_a"],
        happened_on=timezone.localdate() - datetime.timedelta(days=4),
    )
    mail.outbox.clear()
    call_command("send_reminders", stdout=io.StringIO())
    by_user = {m.to[0]: m for m in mail.outbox}
    assert "head_a@example.edu.cn" in by_user
    head_mail = by_user["head_a@example.edu.cn"].body
    assert "等待你处理的申请" in head_mail
    assert "计算机学院研究生会" in head_mail
    assert "已逾期" in head_mail
    assert "sec_a@example.edu.cn" in by_user  # the team change and the not-opened account
    assert "sec_b@example.edu.cn" not in by_user
    assert "auditor@example.edu.cn" not in by_user
    assert by_user["head_a@example.edu.cn"].alternatives[0][1] == "text/html"


def test_nothing_due_sends_nothing(world):
    _emails(world)
    from campusmedia.models import MediaAccount

    MediaAccount.objects.filter(status="approved").update(status="active")
    mail.outbox.clear()
    call_command("send_reminders", stdout=io.StringIO())
    assert mail.outbox == []
