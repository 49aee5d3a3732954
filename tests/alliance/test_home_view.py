"""The alliance home: each persona's to-do, the charter in force, the member summary, and the
secretariat's tasks, applications and buttons."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from alliance import services

ANONYMOUS = "anonymous"
SECRETARIAT_LINKS = (
    'href="/alliance/tasks/new/"',
    'href="/alliance/charter/new/"',
    'href="/alliance/notices/new/"',
    'href="/alliance/prepublications/"',
)
SUB_PAGES = (
    "/alliance/charter/",
    "/alliance/members/",
    "/alliance/tasks/",
    "/alliance/notices/",
    "/alliance/prepublications/",
)


def _page(client_for, user) -> str:
    response = client_for(user).get("/alliance/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    "persona", ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league"]
)
def test_everyone_signed_in_reaches_the_sub_pages(alliance, client_for, persona):
    page = _page(client_for, alliance.users[persona])
    for url in SUB_PAGES:
        assert f'href="{url}"' in page
    assert '<a href="/alliance/members/">5</a><span>个成员账号</span>' in page
    for link in SECRETARIAT_LINKS[:3]:
        assert (link in page) == (persona == "propaganda")


def test_anonymous_is_sent_to_login(client_for, alliance):
    response = client_for(None).get("/alliance/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_home_is_get_only(alliance, client_for):
    assert client_for(alliance.users["sec_a"]).post("/alliance/").status_code == 405


def test_a_secretary_sees_what_they_have_to_do(alliance, task, notice, client_for):
    page = _page(client_for, alliance.users["sec_a"])
    assert "待我处理" in page and "没有待处理的事项" not in page
    for assignment in task.assignments.filter(account__owner_unit=alliance.world.units["a"]):
        assert f'href="/alliance/tasks/{task.pk}/#assignment-{assignment.pk}"' in page
    assert task.assignments.filter(account__owner_unit=alliance.world.units["a"]).count() == 2
    assert notice.title in page and f'href="/alliance/notices/{notice.pk}/"' in page

    # Answered and read: nothing left.
    for assignment in task.assignments.filter(account__owner_unit=alliance.world.units["a"]):
        services.assignment_answer(
            assignment=assignment, actor=alliance.users["sec_a"], done=False, reason="不适合"
        )
    services.notice_read(notice=notice, actor=alliance.users["sec_a"])
    page = _page(client_for, alliance.users["sec_a"])
    assert "没有待处理的事项" in page and notice.title not in page


def test_an_outsider_sees_only_their_own_work(alliance, task, client_for):
    page = _page(client_for, alliance.users["league"])
    assert task.title not in page and "没有待处理的事项" in page


def test_an_overdue_task_is_marked(alliance, task, client_for):
    task.due_at = timezone.now() - datetime.timedelta(hours=1)
    task.save(update_fields=["due_at"])
    assert "已逾期" in _page(client_for, alliance.users["sec_b"])


def test_the_current_charter_is_shown(alliance, client_for):
    assert "章程尚未发布" in _page(client_for, alliance.users["sec_a"])
    services.charter_publish(
        actor=alliance.users["propaganda"],
        title="新媒体联盟章程",
        body="正文",
        effective_on=timezone.localdate(),
    )
    page = _page(client_for, alliance.users["sec_a"])
    assert "新媒体联盟章程" in page and "第 1 版" in page
    assert f"{timezone.localdate():%Y-%m-%d} 起生效" in page


def test_the_secretariat_sees_tasks_applications_and_its_buttons(alliance, task, client_for):
    services.assignment_answer(
        assignment=task.assignments.get(account=alliance.accounts["b"]),
        actor=alliance.users["sec_b"],
        done=True,
        post_link="https://weibo.com/me/1",
    )
    services.membership_apply(
        account=alliance.a_sub_live, actor=alliance.users["sec_a"], reason="开放日"
    )
    page = _page(client_for, alliance.users["propaganda"])
    for link in SECRETARIAT_LINKS:
        assert link in page
    assert "近期互动任务" in page and task.title in page
    assert "已完成 1 / 4" in page and 'aria-valuenow="25"' in page
    assert "1 个入盟申请待审核" in page


def test_the_auditor_has_nothing_to_do_and_no_buttons(alliance, task, client_for):
    page = _page(client_for, alliance.users["auditor"])
    assert "没有待处理的事项" in page and "近期互动任务" not in page
    for link in SECRETARIAT_LINKS[:3]:
        assert link not in page
