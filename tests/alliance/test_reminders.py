"""The daily reminder's alliance part: tasks near their deadline, notices not yet read,
pre-publication requests waiting; administrators with a login and no unit role get it too."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from alliance import services
from approvals.reminders import digests, send_reminders
from tests.alliance.conftest import Alliance, soon

pytestmark = pytest.mark.django_db


def digest_of(username: str):
    return next((d for d in digests() if d.user.get_username() == username), None)


def post_task(alliance: Alliance, due: datetime.datetime):
    return services.task_post(
        actor=alliance.world.users["propaganda"],
        title="转发：校庆",
        link="https://example.edu.cn/a",
        due_at=due,
    )


def test_a_task_due_tomorrow_is_in_the_answerers_digests(alliance: Alliance, settings):
    settings.CAMPUSMEDIA_TASK_REMIND_DAYS = 1
    post_task(alliance, timezone.now() + datetime.timedelta(hours=20))

    sec_a = digest_of("sec_a")
    assert sec_a is not None
    assert {a.account.name for a in sec_a.tasks} == {"计算机学院官微", "计算机学院抖音"}
    admin_a = digest_of("admin_a")  # no unit role: an administrator with a login
    assert admin_a is not None
    assert [a.account.name for a in admin_a.tasks] == ["计算机学院官微"]
    assert digest_of("auditor") is None


def test_a_task_far_off_or_answered_is_not_reminded(alliance: Alliance, settings):
    settings.CAMPUSMEDIA_TASK_REMIND_DAYS = 1
    post_task(alliance, soon(5))
    near = post_task(alliance, timezone.now() + datetime.timedelta(hours=3))
    for assignment in near.assignments.filter(account__owner_unit__code="cs"):
        services.assignment_answer(
            assignment=assignment,
            actor=alliance.world.users["sec_a"],
            done=True,
            post_link="https://x.cn/p",
        )
    sec_a = digest_of("sec_a")
    assert sec_a is None or not sec_a.tasks
    assert [a.account.name for a in digest_of("sec_b").tasks] == ["机械学院官微"]


def test_unread_notices_are_reminded_until_read(alliance: Alliance, notice, mailoutbox):
    sec_a = alliance.world.users["sec_a"]
    sec_a.email = "sec_a@example.edu.cn"
    sec_a.save(update_fields=["email"])
    assert [r.notice for r in digest_of("sec_a").notices] == [notice]

    _users, sent = send_reminders()
    assert sent >= 1
    mail = next(m for m in mailoutbox if m.to == ["sec_a@example.edu.cn"])
    assert "尚未确认阅读的政策通知" in mail.body
    assert notice.title in mail.body

    services.notice_read(notice=notice, actor=sec_a)
    assert digest_of("sec_a").notices == []


def test_a_prepublication_request_waits_for_the_department(alliance: Alliance):
    world = alliance.world
    services.prepub_submit(
        account=world.accounts["a"],
        actor=world.users["sec_a"],
        topic="emergency",
        title="实验室安全事件说明",
        content="说明全文",
        planned_at=soon(1),
    )
    assert [p.title for p in digest_of("propaganda").prepublications] == ["实验室安全事件说明"]
    assert digest_of("sec_a").prepublications == []  # the unit's turn comes after approval
