"""The New Media Alliance in a real browser against a live server, on the demo data.

The secretariat publishes a charter version and posts a coordinated task; ``sec_cs`` marks it
done for one of the college's accounts and declines it for another, in place; the secretariat
sees the completion per unit and per account. A notice is read by ``sec_cs`` and shows as unread
for ``sec_me``. ``sec_cs`` asks to publish about a major event, the department approves, and
``sec_cs`` files the published link. Last, the statistics page shows its charts, and a count on
it leads to a registry list of the same length. Drives Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from alliance.choices import AssignmentState, PrepubState
from alliance.models import CharterVersion, Notice, Prepublication, Task
from alliance.selectors import charter_current, members
from campusmedia.models import User
from tests.conftest import PASSWORD, World
from tests.e2e.conftest import Login

TASK_SHOT = Path("/tmp/alliance-task.png")
NOTICE_SHOT = Path("/tmp/alliance-notice.png")
STATS_SHOT = Path("/tmp/alliance-stats.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def committed_world(transactional_db, _fast_hasher) -> World:
    """The demo university (``manage.py seed_demo``, alliance included), with the test's
    password on the logins the journey uses."""
    call_command("seed_demo", verbosity=0)
    for user in User.objects.filter(username__in=["propaganda", "sec_cs", "sec_me"]):
        user.set_password(PASSWORD)
        user.save()
    return World()


def person_name(username: str) -> str:
    return User.objects.get(username=username).person.name


def test_the_secretariat_and_the_members_work_together(live_server, login: Login) -> None:
    url = live_server.url
    department = login("propaganda")

    # The charter: a second version, in force today.
    department.goto(f"{url}/alliance/charter/new/")
    body = department.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n第十二条　成员每学期至少参加一次联盟培训。")
    department.fill("input[name=summary]", "增加培训条款")
    department.get_by_role("button", name="发布", exact=True).click()
    department.wait_for_url("**/alliance/charter/")
    assert department.get_by_text("第十二条　成员每学期至少参加一次联盟培训。").is_visible()
    current = charter_current()
    assert current is not None and current.number == 2 == CharterVersion.objects.count()

    # A task to every member.
    department.goto(f"{url}/alliance/tasks/new/")
    department.fill("input[name=title]", "转发：北辰大学第十届运动会")
    department.fill("input[name=link]", "https://mp.weixin.qq.com/s/beichen-games")
    department.fill("textarea[name=instructions]", "请于明晚六点前转发。")
    department.get_by_role("button", name="发布任务").click()
    department.wait_for_url(re.compile(r".*/alliance/tasks/\d+/$"))
    task = Task.objects.get(title="转发：北辰大学第十届运动会")
    assert task.assignments.count() == members().count()

    # sec_cs answers for two of the college's accounts, in place.
    secretary = login("sec_cs")
    secretary.goto(f"{url}{task.get_absolute_url()}")
    rows = secretary.locator("tr[id^=assignment-]")
    assert rows.count() >= 2
    first, second = rows.nth(0), rows.nth(1)
    first_id, second_id = first.get_attribute("id"), second.get_attribute("id")
    first.locator("input[name=post_link]").fill("https://mp.weixin.qq.com/s/cs-games")
    first.get_by_role("button", name="已转发").click()
    secretary.locator(f"#{first_id}").get_by_text("已完成").wait_for()
    second.locator("input[name=reason]").fill("本周推送次数已满")
    second.get_by_role("button", name="不转发").click()
    secretary.locator(f"#{second_id}").get_by_text("本周推送次数已满").wait_for()
    # The figures at the top followed without a reload.
    mine = rows.count()
    secretary.locator("#task-figures").get_by_text(f"已完成 1 / {mine}").wait_for()
    assert secretary.locator("#task-figures .task-declined").inner_text() == "不转发 1"
    states = dict(task.assignments.values_list("pk", "state"))
    assert states[int(first_id.split("-")[1])] == AssignmentState.DONE
    assert states[int(second_id.split("-")[1])] == AssignmentState.DECLINED

    # The secretariat sees completion per unit and per account.
    department.goto(f"{url}{task.get_absolute_url()}")
    total = task.assignments.count()
    assert department.get_by_text(f"已完成 1 / {total}").first.is_visible()
    college = department.locator("table.unit-progress tr", has_text="计算机")
    assert college.get_by_text("已完成 1 /").is_visible()
    assert college.get_by_text("不转发 1").is_visible()
    assert department.locator(f"#{second_id}").get_by_text("本周推送次数已满").is_visible()
    department.screenshot(path=str(TASK_SHOT), full_page=True)

    # A notice: read by sec_cs, unread for sec_me.
    department.goto(f"{url}/alliance/notices/new/")
    department.fill("input[name=title]", "关于运动会期间新媒体宣传的通知")
    department.fill("textarea[name=body]", "各单位：运动会期间请做好宣传报道。")
    department.get_by_role("button", name="发布", exact=True).click()
    department.wait_for_url(re.compile(r".*/alliance/notices/\d+/$"))
    notice = Notice.objects.get(title="关于运动会期间新媒体宣传的通知")
    secretary.goto(f"{url}{notice.get_absolute_url()}")
    secretary.get_by_role("button", name="我已阅读").click()
    secretary.get_by_text("确认阅读").first.wait_for()
    department.goto(f"{url}{notice.get_absolute_url()}")
    receipts = department.locator("table", has_text="阅读情况")
    assert receipts.locator("tr", has_text=person_name("sec_cs")).get_by_text("已读").is_visible()
    assert receipts.locator("tr", has_text=person_name("sec_me")).get_by_text("未读").is_visible()
    department.screenshot(path=str(NOTICE_SHOT), full_page=True)
    assert notice.receipts.get(user__username="sec_me").read_at is None

    # Pre-publication approval: asked, approved, the published link filed.
    secretary.goto(f"{url}/alliance/prepublications/new/")
    secretary.locator("select[name=account]").select_option(index=1)
    secretary.locator("input[name=topic][value=major_event]").check()
    secretary.fill("input[name=title]", "计算机学院学生获国际大学生程序设计竞赛金奖")
    secretary.fill("textarea[name=content]", "我院学生在国际大学生程序设计竞赛中获得金奖。")
    planned = timezone.localtime() + timezone.timedelta(days=1)
    secretary.fill("input[name=planned_at]", planned.strftime("%Y-%m-%dT%H:%M"))
    secretary.get_by_role("button", name="提交审批").click()
    secretary.wait_for_url(re.compile(r".*/alliance/prepublications/\d+/$"))
    prepub = Prepublication.objects.get(title="计算机学院学生获国际大学生程序设计竞赛金奖")
    assert prepub.state == PrepubState.SUBMITTED

    department.goto(f"{url}{prepub.get_absolute_url()}")
    department.get_by_role("button", name="批准").click()
    department.get_by_text("已批准，待发布").first.wait_for()
    secretary.goto(f"{url}{prepub.get_absolute_url()}")
    secretary.fill("input[name=published_link]", "https://mp.weixin.qq.com/s/cs-icpc-gold")
    secretary.get_by_role("button", name="登记发布链接").click()
    secretary.get_by_text("已发布备案").first.wait_for()
    prepub.refresh_from_db()
    assert prepub.state == PrepubState.PUBLISHED
    assert prepub.published_link == "https://mp.weixin.qq.com/s/cs-icpc-gold"
    assert list(prepub.steps.values_list("action", flat=True)) == ["submit", "approve", "file"]

    # The statistics: charts on the demo data, and a count that leads to the same registry list.
    department.goto(f"{url}/stats/")
    charts = department.locator("svg[role=img]")
    labels = {charts.nth(i).get_attribute("aria-label") for i in range(charts.count())}
    # The demo holds no annual review yet, so its chart is not drawn.
    assert {"各级平台账号数（按状态）", "各平台账号数（按状态）"} <= labels
    assert "近12个月每月提交和作出决定的申请数" in labels
    department.screenshot(path=str(STATS_SHOT), full_page=True)
    cell = department.locator("table a[href*='tier=2'][href*='status=active']").first
    shown = int(cell.inner_text().replace(",", ""))
    cell.click()
    department.wait_for_url("**/registry/**")
    assert department.locator(".result-count").inner_text().startswith(f"共 {shown} 个账号")
