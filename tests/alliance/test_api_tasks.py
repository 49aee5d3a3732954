"""Coordinated publishing tasks through the API (alliance/api/tasks.py, ``TaskViewSet``): the access
matrix, posting, answering, bad input and the list's query count.

The ``task`` fixture goes to every member but its source (学校官方微信): 宣传部新闻号,
计算机学院官微 [a], 计算机学院抖音 [a_douyin] and 机械学院官微 [b].
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from alliance import services
from alliance.choices import AssignmentState, TaskAudience
from alliance.models import Assignment, Task
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.alliance.conftest import Alliance, soon

pytestmark = pytest.mark.django_db
A = AssignmentState
TASKS_URL = "/api/v1/alliance/tasks/"
ANONYMOUS = "anonymous"
PERSONAS = ("propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS)
POST_LINK = "https://weibo.com/cs/share-opening"


def api_client(alliance: Alliance, persona: str) -> Client:
    """A client authenticated by token (no session), or anonymous."""
    client = Client()
    user = alliance.users.get(persona)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def post_json(client: Client, url: str, body: dict[str, Any] | None = None):
    return client.post(url, body or {}, content_type="application/json")


def task_url(pk: int, step: str = "") -> str:
    return f"{TASKS_URL}{pk}/{step + '/' if step else ''}"


def chosen_task(alliance: Alliance, *keys: str, title: str = "转发：计算机学院招生宣传") -> Task:
    """A task to chosen member accounts only (college A's, unless told)."""
    accounts = alliance.accounts
    return services.task_post(
        actor=alliance.world.users["propaganda"],
        title=title,
        link="https://mp.weixin.qq.com/s/cs-admissions",
        due_at=soon(),
        accounts=[accounts[key] for key in keys or ("a", "a_douyin")],
    )


def task_body(alliance: Alliance, **fields: Any) -> dict[str, Any]:
    return {
        "title": "转发：校庆倒计时海报",
        "link": "https://mp.weixin.qq.com/s/anniversary",
        "instructions": "请于明晚前转发。",
        "due_at": soon(2).isoformat(),
        "source_account": alliance.accounts["school"].pk,
        **fields,
    }


def answer(alliance: Alliance, persona: str, task: Task, key: str, **body: Any):
    payload = {"account": alliance.accounts[key].pk, "done": True, "post_link": POST_LINK, **body}
    return post_json(api_client(alliance, persona), task_url(task.pk, "answer"), payload)


def assignment_of(task: Task, alliance: Alliance, key: str) -> Assignment:
    return Assignment.objects.get(task=task, account=alliance.accounts[key])


# --- Access matrix (SECURITY.md, Authorization) ---------------------------------------------

# The accounts whose parts each persona sees: on the all-members task, and on the task to
# college A's two accounts. None: the task is out of sight (404).
ALL_MEMBERS = {"propaganda", "a", "a_douyin", "b"}
SEES: dict[str, tuple[set[str] | None, set[str] | None]] = {
    "propaganda": (ALL_MEMBERS, {"a", "a_douyin"}),
    "auditor": (ALL_MEMBERS, {"a", "a_douyin"}),
    "sec_a": ({"a", "a_douyin"}, {"a", "a_douyin"}),
    "admin_a": ({"a"}, {"a"}),
    "head_a": ({"a", "a_douyin"}, {"a", "a_douyin"}),
    "sec_b": ({"b"}, None),
    "league": (None, None),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_detail_show_what_the_persona_sees(
    alliance: Alliance, task: Task, persona: str
) -> None:
    """Each persona lists the tasks addressed to accounts it sees and, in the detail, only
    those accounts' parts; the counts of the list are of those parts too."""
    college_task = chosen_task(alliance)
    client = api_client(alliance, persona)
    response = client.get(TASKS_URL)
    if persona == ANONYMOUS:
        assert response.status_code == 401
        assert client.get(task_url(task.pk)).status_code == 401
        return
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    names = {key: account.name for key, account in alliance.accounts.items()}
    for one, expected in zip((task, college_task), SEES[persona], strict=True):
        detail = client.get(task_url(one.pk))
        if expected is None:
            assert one.pk not in rows
            assert detail.status_code == 404
            assert "assignments" not in detail.json()
            continue
        assert rows[one.pk]["total"] == len(expected)
        assert detail.status_code == 200
        shown = {row["account"]["name"] for row in detail.json()["assignments"]}
        assert shown == {names[key] for key in expected}


# Answering for 计算机学院官微 on the all-members task.
ANSWER_STATUS = {
    "propaganda": 200,  # keeps every unit's accounts
    "auditor": 403,
    "sec_a": 200,
    "admin_a": 200,
    "head_a": 403,  # reads college A, keeps nothing
    "sec_b": 404,  # sees the task (for 机械学院官微) but not this account's part
    "league": 404,  # sees no part of the task
    ANONYMOUS: 401,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_answer_matrix(alliance: Alliance, task: Task, persona: str) -> None:
    response = answer(alliance, persona, task, "a")
    expected = ANSWER_STATUS[persona]
    assert response.status_code == expected, response.content
    assigned = assignment_of(task, alliance, "a")
    if expected == 200:
        assert (assigned.state, assigned.post_link) == (A.DONE, POST_LINK)
        assert assigned.answered_by == alliance.users[persona]
    else:
        assert (assigned.state, assigned.answered_by) == (A.PENDING, None)
        assert "assignments" not in response.json()


@pytest.mark.parametrize("persona", ["auditor", "head_a"])
def test_a_reader_gets_403_before_the_body_is_read(
    alliance: Alliance, task: Task, persona: str
) -> None:
    """Whoever answers for no account is refused as such, never told what is wrong with the
    body (the auditor writes nothing)."""
    response = post_json(api_client(alliance, persona), task_url(task.pk, "answer"), {})
    assert response.status_code == 403
    assert "done" not in response.json()


def test_admin_answers_only_for_the_account_they_run(alliance: Alliance, task: Task) -> None:
    """admin_a runs 计算机学院官微 only: college A's other account is out of sight (404)."""
    assert answer(alliance, "admin_a", task, "a_douyin").status_code == 404
    assert assignment_of(task, alliance, "a_douyin").state == A.PENDING


def test_outsider_answers_for_their_own_account(alliance: Alliance, task: Task) -> None:
    response = answer(alliance, "sec_b", task, "b")
    assert response.status_code == 200
    assert assignment_of(task, alliance, "b").state == A.DONE


def test_a_task_out_of_sight_is_404_even_for_an_account_one_keeps(alliance: Alliance) -> None:
    college_task = chosen_task(alliance)
    assert answer(alliance, "sec_b", college_task, "b").status_code == 404


def test_an_account_without_a_part_is_404(alliance: Alliance, task: Task) -> None:
    """实验中心视频号 is college A's, but not a member: it has no part in the task."""
    assert answer(alliance, "sec_a", task, "a_sub_live").status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [(p, 201 if p == "propaganda" else 401 if p == ANONYMOUS else 403) for p in PERSONAS],
)
def test_create_matrix(alliance: Alliance, persona: str, expected: int) -> None:
    response = post_json(api_client(alliance, persona), TASKS_URL, task_body(alliance))
    assert response.status_code == expected, response.content
    assert Task.objects.exists() == (expected == 201)


def _last_denial(alliance: Alliance, persona: str, path: str) -> None:
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert (row.actor, row.outcome) == (alliance.users[persona], AuditOutcome.DENIED)
    assert (row.detail["method"], row.detail["path"]) == ("POST", path)


@pytest.mark.parametrize(("persona", "key"), [("auditor", "b"), ("head_a", "a")])
def test_a_refused_answer_is_audited(
    alliance: Alliance, task: Task, persona: str, key: str
) -> None:
    assert answer(alliance, persona, task, key).status_code == 403
    _last_denial(alliance, persona, task_url(task.pk, "answer"))


@pytest.mark.parametrize("persona", ["auditor", "sec_a"])
def test_a_refused_post_is_audited(alliance: Alliance, persona: str) -> None:
    response = post_json(api_client(alliance, persona), TASKS_URL, task_body(alliance))
    assert response.status_code == 403
    _last_denial(alliance, persona, TASKS_URL)


def test_writes_are_post_only(alliance: Alliance, task: Task) -> None:
    client = api_client(alliance, "propaganda")
    assert client.get(task_url(task.pk, "answer")).status_code == 405
    assert client.put(task_url(task.pk), {}, content_type="application/json").status_code == 405
    assert client.delete(task_url(task.pk)).status_code == 405
    assert Task.objects.filter(pk=task.pk).exists()


def test_a_non_numeric_id_is_404(alliance: Alliance) -> None:
    assert api_client(alliance, "propaganda").get(f"{TASKS_URL}abc/").status_code == 404


# --- Posting --------------------------------------------------------------------------------


def test_post_to_every_member(alliance: Alliance) -> None:
    response = post_json(api_client(alliance, "propaganda"), TASKS_URL, task_body(alliance))
    assert response.status_code == 201, response.content
    body = response.json()
    task = Task.objects.get(pk=body["id"])
    assert (task.title, task.audience) == ("转发：校庆倒计时海报", TaskAudience.ALL)
    assert task.posted_by == alliance.users["propaganda"]
    assert task.source_account == alliance.accounts["school"]
    names = set(task.assignments.values_list("account__name", flat=True))
    assert names == alliance.world.account_names("propaganda", "a", "b") | {"计算机学院抖音"}
    assert (body["total"], body["done"], body["declined"]) == (4, 0, 0)
    assert body["posted_by"] == "李审核"
    assert body["source_account"]["name"] == "学校官方微信"
    assert len(body["assignments"]) == 4
    assert AuditEvent.objects.filter(action=AuditAction.ALLIANCE_TASK).exists()


def test_post_to_chosen_members(alliance: Alliance) -> None:
    accounts = [alliance.accounts["a"].pk, alliance.accounts["b"].pk]
    response = post_json(
        api_client(alliance, "propaganda"), TASKS_URL, task_body(alliance, accounts=accounts)
    )
    assert response.status_code == 201, response.content
    task = Task.objects.get()
    assert task.audience == TaskAudience.CHOSEN
    assert set(task.assignments.values_list("account_id", flat=True)) == set(accounts)
    assert response.json()["audience_display"] == "指定成员"


@pytest.mark.parametrize(
    ("fields", "key", "text"),
    [
        ({"due_at": "2020-01-01T08:00:00+08:00"}, "due_at", services.ERR_DUE_PAST),
        ({"due_at": "明天"}, "due_at", "完成时限："),
        ({"title": ""}, "title", "任务标题：请填写。"),
        ({"link": "not a link"}, "link", "原文链接："),
        ({"accounts": [999999]}, "accounts", "发送范围：账号 999999 不存在"),
        ({"accounts": []}, "accounts", services.ERR_NO_ACCOUNTS),
        ({"source_account": 999999}, "source_account", "来源账号：账号 999999 不存在"),
    ],
)
def test_bad_task_is_400_naming_the_field(
    alliance: Alliance, fields: dict[str, Any], key: str, text: str
) -> None:
    response = post_json(
        api_client(alliance, "propaganda"), TASKS_URL, task_body(alliance, **fields)
    )
    assert response.status_code == 400
    assert text in response.json()[key][0]
    assert not Task.objects.exists()
    assert not Assignment.objects.exists()


def test_a_task_for_a_non_member_is_400(alliance: Alliance) -> None:
    """实验中心视频号 is a tier-3 account that never joined."""
    body = task_body(alliance, accounts=[alliance.accounts["a_sub_live"].pk])
    response = post_json(api_client(alliance, "propaganda"), TASKS_URL, body)
    assert response.status_code == 400
    assert "实验中心视频号" in response.json()["accounts"][0]
    assert "不是联盟成员" in response.json()["accounts"][0]
    assert not Task.objects.exists()


def test_a_missing_title_is_400_in_chinese(alliance: Alliance) -> None:
    body = task_body(alliance)
    del body["title"]
    response = post_json(api_client(alliance, "propaganda"), TASKS_URL, body)
    assert response.status_code == 400
    assert response.json()["title"] == ["任务标题：请填写。"]
    assert not Task.objects.exists()


# --- Answering ------------------------------------------------------------------------------


def test_answer_done_then_declined(alliance: Alliance, task: Task) -> None:
    """A later answer replaces an earlier one; the response is the task with the new counts."""
    response = answer(alliance, "sec_a", task, "a_douyin")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["done"], body["declined"]) == (2, 1, 0)
    row = next(r for r in body["assignments"] if r["account"]["name"] == "计算机学院抖音")
    assert (row["state"], row["state_display"], row["post_link"]) == (A.DONE, "已完成", POST_LINK)
    assert row["answered_at"] is not None
    assert row["is_late"] is False
    assert row["may_answer"] is True
    assert row["unit"]["name"] == "计算机学院"

    response = answer(alliance, "sec_a", task, "a_douyin", done=False, reason="与本号定位不符")
    assert response.status_code == 200
    assigned = assignment_of(task, alliance, "a_douyin")
    assert (assigned.state, assigned.reason, assigned.post_link) == (
        A.DECLINED,
        "与本号定位不符",
        "",
    )
    assert (response.json()["done"], response.json()["declined"]) == (0, 1)
    answers = AuditEvent.objects.filter(action=AuditAction.ALLIANCE_TASK, detail__step="answer")
    assert answers.count() == 2


def test_a_late_answer_is_marked(alliance: Alliance, task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    body = answer(alliance, "sec_a", task, "a").json()
    row = next(r for r in body["assignments"] if r["account"]["name"] == "计算机学院官微")
    assert row["is_late"] is True
    assert body["is_overdue"] is True


@pytest.mark.parametrize(
    ("body", "key", "text"),
    [
        ({"done": True, "post_link": ""}, "post_link", services.ERR_POST_LINK),
        ({"done": True, "post_link": "   "}, "post_link", services.ERR_POST_LINK),
        ({"done": False, "reason": ""}, "reason", services.ERR_DECLINE_REASON),
        ({"done": False, "reason": "  "}, "reason", services.ERR_DECLINE_REASON),
        ({"done": "maybe"}, "done", "完成情况："),
        ({"account": "计算机学院官微"}, "account", "账号："),
    ],
)
def test_bad_answer_is_400_and_changes_nothing(
    alliance: Alliance, task: Task, body: dict[str, Any], key: str, text: str
) -> None:
    payload = {"account": alliance.accounts["a"].pk, **body}
    response = post_json(api_client(alliance, "sec_a"), task_url(task.pk, "answer"), payload)
    assert response.status_code == 400
    assert text in response.json()[key][0]
    assigned = assignment_of(task, alliance, "a")
    assert (assigned.state, assigned.answered_at) == (A.PENDING, None)


def test_an_answer_without_done_is_400(alliance: Alliance, task: Task) -> None:
    response = post_json(
        api_client(alliance, "sec_a"),
        task_url(task.pk, "answer"),
        {"account": alliance.accounts["a"].pk},
    )
    assert response.status_code == 400
    assert response.json()["done"] == ["完成情况：请填写。"]


# --- Query counts ---------------------------------------------------------------------------

# Token and user, current roles, unit permissions (only with unit roles), administered accounts
# (only without a global read), the page count, the page's rows with their counts.
LIST_QUERIES = {"propaganda": 4, "sec_a": 6, "admin_a": 5}


@pytest.mark.parametrize("persona", sorted(LIST_QUERIES))
def test_list_query_count_does_not_grow_with_rows(
    alliance: Alliance, django_assert_num_queries, persona: str
) -> None:
    client = api_client(alliance, persona)
    for i in range(2):
        chosen_task(alliance, "a", "b", title=f"计数任务{i}")
    client.get(TASKS_URL)  # warm: content types
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(TASKS_URL)
    assert len(response.json()["results"]) == 2
    for i in range(2, 8):
        chosen_task(alliance, "a", "b", title=f"计数任务{i}")
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(TASKS_URL)
    assert len(response.json()["results"]) == 8


def test_detail_query_count_does_not_grow_with_assignments(
    alliance: Alliance, django_assert_num_queries
) -> None:
    client = api_client(alliance, "propaganda")
    small = chosen_task(alliance, "a")
    large = chosen_task(alliance, "propaganda", "a", "a_douyin", "b", "school")
    client.get(task_url(small.pk))
    # Token, roles, the task with its counts, its assignments with accounts and units.
    with django_assert_num_queries(4):
        client.get(task_url(small.pk))
    with django_assert_num_queries(4):
        response = client.get(task_url(large.pk))
    assert len(response.json()["assignments"]) == 5


# --- Schema ---------------------------------------------------------------------------------


def test_schema_lists_the_alliance_endpoints(alliance: Alliance, client_for) -> None:
    response = client_for(alliance.users["sec_a"]).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/alliance/tasks/",
        "/api/v1/alliance/tasks/{id}/answer/",
        "/api/v1/alliance/notices/{id}/read/",
        "/api/v1/alliance/notices/{id}/remind/",
        "/api/v1/alliance/prepublications/{id}/return/",
        "/api/v1/alliance/prepublications/{id}/file/",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/alliance/prepublications/{id}/"]) == {"get", "patch"}
    params = {p["name"] for p in paths["/api/v1/alliance/prepublications/"]["get"]["parameters"]}
    assert {"state", "page", "page_size"} <= params
    detail = paths["/api/v1/alliance/tasks/{id}/"]["get"]["parameters"][0]
    assert detail["schema"]["type"] == "integer"


def test_the_alliance_schema_is_valid_and_warns_of_nothing(capsys) -> None:
    """The alliance adds no warning to the schema's (the project's own are listed by
    ``manage.py spectacular --validate``), and the document is valid OpenAPI."""
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()  # warnings are printed once per process
    capsys.readouterr()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    printed = capsys.readouterr().err
    validate_schema(schema)
    for name in ("alliance", "TaskViewSet", "NoticeViewSet", "PrepublicationViewSet"):
        assert name not in printed
