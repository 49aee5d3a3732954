"""Coordinated publishing pages: the task list, posting a task, a task's completion and the
answers for each account, in place with htmx. Personas × endpoints, what each step leaves in the
database, the messages that name the field, and query counts that do not grow with the rows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from alliance import services
from alliance.choices import AssignmentState, TaskAudience
from alliance.models import Assignment, Task
from campusmedia.choices import AccountStatus
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import soon
from tests.conftest import make_account

ANONYMOUS = "anonymous"
LOGIN = "login"
PERSONAS = ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS]
LINK = "https://mp.weixin.qq.com/s/shared-by-cs"


def _client(client_for, alliance, persona):
    return client_for(None if persona == ANONYMOUS else alliance.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:400]


def _assignment(task: Task, account) -> Assignment:
    return task.assignments.get(account=account)


def _answer_url(assignment: Assignment) -> str:
    return f"/alliance/assignments/{assignment.pk}/answer/"


def _form_data(alliance, **overrides) -> dict:
    due = timezone.localtime() + datetime.timedelta(days=2)
    data = {
        "title": "转发：校庆倒计时海报",
        "source_account": str(alliance.world.accounts["school"].pk),
        "link": "https://mp.weixin.qq.com/s/anniversary",
        "instructions": "请在今晚八点前转发。",
        "due_at": due.strftime("%Y-%m-%dT%H:%M"),
        "audience": TaskAudience.ALL,
    }
    data.update(overrides)
    return data


# --- The list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_reads_the_task_list(alliance, task, client_for, persona):
    """Everyone signed in reads the list; each sees the tasks of the accounts they can see, with
    the completion counted over those accounts."""
    response = _client(client_for, alliance, persona).get("/alliance/tasks/")
    if persona == ANONYMOUS:
        _expect(response, LOGIN)
        return
    assert response.status_code == 200
    page = response.content.decode()
    shown = {
        "propaganda": "已完成 0 / 4",  # every member but the source account
        "auditor": "已完成 0 / 4",
        "sec_a": "已完成 0 / 2",  # 计算机学院官微 and 计算机学院抖音
        "admin_a": "已完成 0 / 1",
        "head_a": "已完成 0 / 2",
        "sec_b": "已完成 0 / 1",
    }
    if persona == "league":  # no member account in its units: the task is not theirs
        assert task.title not in page
        assert "还没有互动任务" in page
    else:
        assert task.title in page
        assert shown[persona] in page
    assert ("发布互动任务" in page) == (persona == "propaganda")


def test_the_list_shows_progress_declines_and_overdue(alliance, task, client_for):
    users = alliance.users
    services.assignment_answer(
        assignment=_assignment(task, alliance.accounts["a"]),
        actor=users["sec_a"],
        done=True,
        post_link=LINK,
    )
    services.assignment_answer(
        assignment=_assignment(task, alliance.accounts["b"]),
        actor=users["sec_b"],
        done=False,
        reason="本周账号停更维护",
    )
    page = client_for(users["propaganda"]).get("/alliance/tasks/").content.decode()
    assert "已完成 1 / 4" in page and "不转发 1" in page
    assert 'role="progressbar"' in page and 'aria-valuenow="25"' in page
    assert "已逾期" not in page

    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    page = client_for(users["propaganda"]).get("/alliance/tasks/").content.decode()
    assert "已逾期" in page


def test_list_is_get_only(alliance, client_for):
    assert client_for(alliance.users["propaganda"]).post("/alliance/tasks/").status_code == 405


# --- Posting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "admin_a", "head_a", "league", ANONYMOUS])
def test_only_the_secretariat_posts_tasks(alliance, client_for, persona):
    client = _client(client_for, alliance, persona)
    expected = LOGIN if persona == ANONYMOUS else 403
    _expect(client.get("/alliance/tasks/new/"), expected)
    _expect(client.post("/alliance/tasks/new/", _form_data(alliance)), expected)
    assert not Task.objects.exists()


def test_the_form_offers_tier_one_sources_and_members_by_unit(alliance, client_for):
    page = client_for(alliance.users["propaganda"]).get("/alliance/tasks/new/").content.decode()
    assert 'type="datetime-local"' in page
    # Source: running tier-1 accounts only.
    assert "学校官方微信（" in page and "宣传部新闻号（" not in page
    # Members to choose from, under their unit; non-members are not offered.
    for key in ("school", "propaganda", "a", "b", "a_douyin"):
        account = alliance.accounts[key]
        assert f'name="accounts" value="{account.pk}"' in page
    assert f'value="{alliance.accounts["a_sub_live"].pk}"' not in page
    assert "<legend>计算机学院</legend>" in page and "<legend>机械学院</legend>" in page


def test_the_secretariat_posts_a_task_to_every_member(alliance, client_for):
    client = client_for(alliance.users["propaganda"])
    response = client.post("/alliance/tasks/new/", _form_data(alliance), follow=True)
    task = Task.objects.get()
    assert response.redirect_chain == [(f"/alliance/tasks/{task.pk}/", 302)]
    assert "已发布任务“转发：校庆倒计时海报”，发送给 4 个成员账号。" in response.content.decode()
    assert task.audience == TaskAudience.ALL and task.posted_by == alliance.users["propaganda"]
    assert task.source_account == alliance.accounts["school"]
    names = set(task.assignments.values_list("account__name", flat=True))
    assert names == alliance.world.account_names("propaganda", "a", "b") | {"计算机学院抖音"}


def test_the_secretariat_posts_a_task_to_chosen_members(alliance, client_for):
    accounts = alliance.accounts
    data = _form_data(alliance, audience=TaskAudience.CHOSEN)
    data["accounts"] = [str(accounts["a"].pk), str(accounts["b"].pk)]
    response = client_for(alliance.users["propaganda"]).post("/alliance/tasks/new/", data)
    task = Task.objects.get()
    assert response.status_code == 302
    assert task.audience == TaskAudience.CHOSEN
    assert set(task.assignments.values_list("account_id", flat=True)) == {
        accounts["a"].pk,
        accounts["b"].pk,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "任务标题：请填写。"),
        ({"link": ""}, "原文链接：请填写要转发的原文链接。"),
        ({"link": "不是网址"}, "原文链接：请输入有效的网址（以 http:// 或 https:// 开头）。"),
        ({"due_at": ""}, "完成时限：请填写。"),
        ({"due_at": "明天"}, "完成时限：请按“年-月-日 时:分”填写。"),
        ({"due_at": "2020-01-01T08:00"}, "完成时限：不能早于现在。"),
        ({"audience": TaskAudience.CHOSEN}, "发送范围：请至少选择一个成员账号。"),
    ],
)
def test_bad_input_names_the_field_and_posts_nothing(alliance, client_for, overrides, message):
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/tasks/new/", _form_data(alliance, **overrides)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Task.objects.exists() and not Assignment.objects.exists()


def test_a_non_member_cannot_be_chosen(alliance, client_for):
    data = _form_data(alliance, audience=TaskAudience.CHOSEN)
    data["accounts"] = [str(alliance.accounts["a"].pk), str(alliance.accounts["a_sub_live"].pk)]
    response = client_for(alliance.users["propaganda"]).post("/alliance/tasks/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "发送范围：所选账号" in page and "不是联盟成员" in page
    # The ticked member stays ticked for the next try.
    assert f'value="{alliance.accounts["a"].pk}" checked' in page
    assert not Task.objects.exists()


def test_task_new_takes_get_and_post_only(alliance, client_for):
    client = client_for(alliance.users["propaganda"])
    assert client.put("/alliance/tasks/new/").status_code == 405
    assert client.delete("/alliance/tasks/new/").status_code == 405


# --- The task page ----------------------------------------------------------------------------


def test_the_secretariat_sees_completion_by_unit_and_account(alliance, task, client_for):
    users = alliance.users
    services.assignment_answer(
        assignment=_assignment(task, alliance.accounts["a"]),
        actor=users["sec_a"],
        done=True,
        post_link=LINK,
    )
    services.assignment_answer(
        assignment=_assignment(task, alliance.accounts["b"]),
        actor=users["sec_b"],
        done=False,
        reason="本周账号停更维护",
    )
    response = client_for(users["propaganda"]).get(f"/alliance/tasks/{task.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "按单位" in page
    units = [(u.unit_name, u.done, u.total) for u in response.context["units"]]
    assert sorted(units) == [("党委宣传部", 0, 1), ("机械学院", 0, 1), ("计算机学院", 1, 2)]
    for key in ("propaganda", "a", "b"):
        assert alliance.accounts[key].name in page
    # The post opens in a new tab without handing over the page; the reason is shown.
    assert f'<a href="{LINK}" target="_blank" rel="noopener noreferrer">' in page
    assert "原因：本周账号停更维护" in page
    assert "赵秘书" in page  # who answered
    assert task.instructions in page


def test_the_auditor_reads_everything_and_answers_nothing(alliance, task, client_for):
    response = client_for(alliance.users["auditor"]).get(f"/alliance/tasks/{task.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "按单位" in page and len(response.context["rows"]) == 4
    assert "/answer/" not in page


def test_a_secretary_sees_and_answers_only_their_accounts(alliance, task, client_for):
    response = client_for(alliance.users["sec_a"]).get(f"/alliance/tasks/{task.pk}/")
    page = response.content.decode()
    rows = response.context["rows"]
    assert {row.assignment.account.name for row in rows} == {"计算机学院官微", "计算机学院抖音"}
    assert all(row.can_answer for row in rows)
    assert alliance.accounts["b"].name not in page and "按单位" not in page
    for row in rows:
        assert f'hx-post="{_answer_url(row.assignment)}"' in page
    assert "已转发" in page and "不转发" in page


def test_answered_rows_fold_their_forms_behind_a_change_link(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    services.assignment_answer(
        assignment=assignment, actor=alliance.users["sec_a"], done=False, reason="内容不相关"
    )
    page = client_for(alliance.users["sec_a"]).get(f"/alliance/tasks/{task.pk}/").content.decode()
    row = page[page.index(f'id="assignment-{assignment.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<details class="assignment-edit">' in row and "<summary>修改</summary>" in row
    assert 'value="内容不相关"' in row  # the reason given, ready to change


def test_the_secretariat_answers_on_behalf_behind_a_disclosure(alliance, task, client_for):
    client = client_for(alliance.users["propaganda"])
    page = client.get(f"/alliance/tasks/{task.pk}/").content.decode()
    assert page.count("<summary>填写反馈</summary>") == 4
    assignment = _assignment(task, alliance.accounts["propaganda"])
    response = client.post(
        _answer_url(assignment), {"answer": "done", "post_link": LINK}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "<summary>修改</summary>" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.answered_by == alliance.users["propaganda"]


def test_a_head_reads_their_rows_without_forms(alliance, task, client_for):
    response = client_for(alliance.users["head_a"]).get(f"/alliance/tasks/{task.pk}/")
    assert len(response.context["rows"]) == 2
    assert not any(row.can_answer for row in response.context["rows"])
    assert "/answer/" not in response.content.decode()


def test_an_administrator_sees_only_the_account_they_run(alliance, task, client_for):
    response = client_for(alliance.users["admin_a"]).get(f"/alliance/tasks/{task.pk}/")
    rows = response.context["rows"]
    assert [row.assignment.account.name for row in rows] == ["计算机学院官微"]
    assert rows[0].can_answer


def test_the_task_page_is_get_only(alliance, task, client_for):
    response = client_for(alliance.users["propaganda"]).post(f"/alliance/tasks/{task.pk}/")
    assert response.status_code == 405


def test_an_unknown_task_is_404(alliance, client_for):
    assert client_for(alliance.users["propaganda"]).get("/alliance/tasks/999/").status_code == 404


# --- Answers ----------------------------------------------------------------------------------


def test_a_secretary_marks_an_account_done(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    response = client_for(alliance.users["sec_a"]).post(
        _answer_url(assignment), {"answer": "done", "post_link": LINK}, follow=True
    )
    assert response.redirect_chain == [
        (f"/alliance/tasks/{task.pk}/#assignment-{assignment.pk}", 302)
    ]
    assert "已记录 计算机学院官微 的反馈：已完成。" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.DONE and assignment.post_link == LINK
    assert assignment.answered_by == alliance.users["sec_a"]
    assert AuditEvent.objects.filter(
        action=AuditAction.ALLIANCE_TASK, detail__step="answer"
    ).exists()


def test_htmx_gets_the_updated_row_and_the_figures_out_of_band(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a_douyin"])
    response = client_for(alliance.users["sec_a"]).post(
        _answer_url(assignment),
        {"answer": "declined", "reason": "抖音号不适合转发图文"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode().strip()
    row, figures = body.split("</tr>")
    assert row.startswith(f'<tr id="assignment-{assignment.pk}"')
    assert "<html" not in body and "site-header" not in body
    # sec_a's two accounts: none done, this one declined, the other pending.
    assert '<div id="task-figures" hx-swap-oob="true">' in figures
    assert "已完成 0 / 2" in figures and "不转发 1" in figures
    assert "原因：抖音号不适合转发图文" in body
    assert "修改" in body  # an answered row can be changed again
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.DECLINED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"answer": "done", "post_link": ""}, "转发链接：完成时请填写转发后的链接。"),
        ({"answer": "done", "post_link": "转发了"}, "转发链接：请输入有效的网址"),
        ({"answer": "declined", "reason": "  "}, "未转发原因：不转发时请写明原因。"),
        ({"answer": "maybe"}, "完成情况："),
    ],
)
def test_bad_answers_name_the_field_and_change_nothing(alliance, task, client_for, data, message):
    assignment = _assignment(task, alliance.accounts["a"])
    client = client_for(alliance.users["sec_a"])
    response = client.post(_answer_url(assignment), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and body.strip().startswith("<tr")
    response = client.post(_answer_url(assignment), data, follow=True)
    assert message in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.PENDING and assignment.answered_at is None


def test_the_typed_link_comes_back_with_the_error(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    response = client_for(alliance.users["sec_a"]).post(
        _answer_url(assignment),
        {"answer": "done", "post_link": "weixin 转发"},
        HTTP_HX_REQUEST="true",
    )
    assert 'value="weixin 转发"' in response.content.decode()


def test_an_answer_can_be_changed(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    client = client_for(alliance.users["sec_a"])
    client.post(_answer_url(assignment), {"answer": "declined", "reason": "内容不相关"})
    client.post(_answer_url(assignment), {"answer": "done", "post_link": LINK})
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.DONE
    assert (assignment.post_link, assignment.reason) == (LINK, "")


def test_a_late_answer_is_marked(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - datetime.timedelta(hours=2))
    response = client_for(alliance.users["sec_a"]).post(
        _answer_url(assignment), {"answer": "done", "post_link": LINK}, HTTP_HX_REQUEST="true"
    )
    assert "逾期完成" in response.content.decode()


def test_answers_are_post_only(alliance, task, client_for):
    assignment = _assignment(task, alliance.accounts["a"])
    assert client_for(alliance.users["sec_a"]).get(_answer_url(assignment)).status_code == 405


# --- Who reaches what -------------------------------------------------------------------------

# (persona, the account of the assignment) → what task_detail and assignment_answer give.
# In scope for college A is 计算机学院官微 [a]; 机械学院官微 [b] is college B's.
MATRIX = {
    ("propaganda", "a"): (200, 302),
    ("propaganda", "b"): (200, 302),
    ("auditor", "a"): (200, 403),
    ("auditor", "b"): (200, 403),
    ("sec_a", "a"): (200, 302),
    ("sec_a", "b"): (200, 404),  # sees the task through college A's rows, not B's row
    ("admin_a", "a"): (200, 302),
    ("admin_a", "b"): (200, 404),
    ("head_a", "a"): (200, 403),
    ("head_a", "b"): (200, 404),
    ("sec_b", "a"): (200, 404),
    ("sec_b", "b"): (200, 302),
    ("league", "a"): (404, 404),
    ("league", "b"): (404, 404),
    (ANONYMOUS, "a"): (LOGIN, LOGIN),
    (ANONYMOUS, "b"): (LOGIN, LOGIN),
}


@pytest.mark.parametrize(("persona", "key"), sorted(MATRIX))
def test_access_matrix(alliance, task, client_for, persona, key):
    detail, answer = MATRIX[(persona, key)]
    assignment = _assignment(task, alliance.accounts[key])
    client = _client(client_for, alliance, persona)
    _expect(client.get(f"/alliance/tasks/{task.pk}/"), detail)
    _expect(client.post(_answer_url(assignment), {"answer": "done", "post_link": LINK}), answer)
    assignment.refresh_from_db()
    expected_state = AssignmentState.DONE if answer == 302 else AssignmentState.PENDING
    assert assignment.state == expected_state


def test_a_task_addressed_only_to_college_b_is_404_for_college_a(alliance, client_for):
    task = services.task_post(
        actor=alliance.users["propaganda"],
        title="机械学院专项转发",
        link=LINK,
        due_at=soon(),
        accounts=[alliance.accounts["b"]],
    )
    for persona in ("sec_a", "admin_a", "head_a"):
        response = client_for(alliance.users[persona]).get(f"/alliance/tasks/{task.pk}/")
        assert response.status_code == 404
    assert client_for(alliance.users["sec_b"]).get(f"/alliance/tasks/{task.pk}/").status_code == 200


# --- Query counts -----------------------------------------------------------------------------


def _grow(alliance, extra: int) -> None:
    """``extra`` more member accounts (tier 2, running) in college B, and a second task to every
    member."""
    for n in range(extra):
        make_account(
            unit=alliance.world.units["b"],
            name=f"机械学院矩阵号{n:02d}",
            platform="weibo",
            status=AccountStatus.ACTIVE,
            account_id=f"me_{n:02d}",
        )
    services.task_post(
        actor=alliance.users["propaganda"], title="第二个任务", link=LINK, due_at=soon(2)
    )


TASK_LIST_QUERIES = 5
TASK_DETAIL_QUERIES = 5


@pytest.mark.parametrize("extra", [0, 12])
def test_task_list_queries_do_not_grow(
    alliance, task, client_for, django_assert_num_queries, extra
):
    _grow(alliance, extra)
    client = client_for(alliance.users["propaganda"])
    client.get("/alliance/tasks/")  # warm-up
    with django_assert_num_queries(TASK_LIST_QUERIES):
        response = client.get("/alliance/tasks/")
    assert len(response.context["tasks"]) == 2
    assert f"已完成 0 / {5 + extra}" in response.content.decode()  # the new task


@pytest.mark.parametrize("extra", [0, 12])
def test_task_detail_queries_do_not_grow(
    alliance, task, client_for, django_assert_num_queries, extra
):
    _grow(alliance, extra)
    latest = Task.objects.order_by("-id").first()
    client = client_for(alliance.users["propaganda"])
    client.get(f"/alliance/tasks/{latest.pk}/")  # warm-up
    with django_assert_num_queries(TASK_DETAIL_QUERIES):
        response = client.get(f"/alliance/tasks/{latest.pk}/")
    assert len(response.context["rows"]) == 5 + extra  # the second task has no source account
