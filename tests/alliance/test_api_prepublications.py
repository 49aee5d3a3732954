"""Pre-publication requests through the API (alliance/api/prepublications.py): the
access matrix of every step, the journey from asking to filing, bad input, conflicts,
self-approval and the list's query count.

``submitted`` is college A's request for 计算机学院官微, asked by sec_a: seen by college A's
secretary and head, by the account's administrator admin_a, the department and the auditor.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from alliance import services
from alliance.choices import PrepubAction, PrepubState, PrepubTopic
from alliance.models import Prepublication, PrepubStep
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.alliance.conftest import Alliance, soon

pytestmark = pytest.mark.django_db
P = PrepubState
PREPUBS_URL = "/api/v1/alliance/prepublications/"
ANONYMOUS = "anonymous"
PERSONAS = ("propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS)
STEPS = ("edit", "approve", "return", "resubmit", "withdraw", "file")
PUBLISHED_LINK = "https://mp.weixin.qq.com/s/cs-award-published"


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


def patch_json(client: Client, url: str, body: dict[str, Any]):
    return client.patch(url, body, content_type="application/json")


def prepub_url(pk: int, step: str = "") -> str:
    return f"{PREPUBS_URL}{pk}/{step + '/' if step else ''}"


def submitted(
    alliance: Alliance,
    persona: str = "sec_a",
    key: str = "a",
    title: str = "我院获国家级教学成果奖",
) -> Prepublication:
    return services.prepub_submit(
        account=alliance.accounts[key],
        actor=alliance.users[persona],
        topic=PrepubTopic.MAJOR_EVENT,
        title=title,
        content="我院团队获国家级教学成果奖一等奖。",
        planned_at=soon(1),
    )


def approved(alliance: Alliance) -> Prepublication:
    return services.prepub_decide(
        prepub=submitted(alliance), actor=alliance.world.users["propaganda"], approve=True
    )


def create_body(alliance: Alliance, **fields: Any) -> dict[str, Any]:
    return {
        "account": alliance.accounts["a"].pk,
        "topic": PrepubTopic.SENSITIVE,
        "title": "关于校园食堂涨价的说明",
        "content": "说明食堂价格调整的原因。",
        "draft_link": "",
        "planned_at": soon(1).isoformat(),
        **fields,
    }


def take(client: Client, prepub: Prepublication, step: str):
    """Take ``step`` with a body that would be good for it."""
    if step == "edit":
        return patch_json(client, prepub_url(prepub.pk), {"title": "修改后的标题"})
    body: dict[str, Any] = {"comment": "请补充信息来源。"}
    if step == "file":
        body = {"published_link": PUBLISHED_LINK}
    return post_json(client, prepub_url(prepub.pk, step), body)


# --- Access matrix (SECURITY.md, Authorization) ---------------------------------------------

SEES = {"propaganda", "auditor", "sec_a", "admin_a", "head_a"}
# Each step on a submitted request. 404: out of sight; 403: the step is never the persona's;
# 409: theirs, but not in this state; 200: done. The department keeps every unit's accounts,
# so it also acts for the asking side.
ASKER = {"edit": 200, "approve": 403, "return": 403, "resubmit": 409, "withdraw": 200} | {
    "file": 409
}
STEP_STATUS: dict[str, dict[str, int]] = {
    "propaganda": {**ASKER, "approve": 200, "return": 200},
    "auditor": dict.fromkeys(STEPS, 403),
    "sec_a": ASKER,
    "admin_a": ASKER,
    "head_a": dict.fromkeys(STEPS, 403),
    "sec_b": dict.fromkeys(STEPS, 404),
    "league": dict.fromkeys(STEPS, 404),
    ANONYMOUS: dict.fromkeys(STEPS, 401),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_detail(alliance: Alliance, persona: str) -> None:
    prepub = submitted(alliance)
    other = submitted(alliance, "sec_b", "b", title="机械学院实验室安全事故通报")
    client = api_client(alliance, persona)
    listed = client.get(PREPUBS_URL)
    detail = client.get(prepub_url(prepub.pk))
    if persona == ANONYMOUS:
        assert (listed.status_code, detail.status_code) == (401, 401)
        return
    ids = {row["id"] for row in listed.json()["results"]}
    assert (prepub.pk in ids) == (persona in SEES)
    assert (other.pk in ids) == (persona in {"propaganda", "auditor", "sec_b"})
    assert detail.status_code == (200 if persona in SEES else 404)
    if persona in SEES:
        assert detail.json()["content"] == "我院团队获国家级教学成果奖一等奖。"
    else:
        assert "content" not in detail.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_steps(alliance: Alliance, persona: str) -> None:
    """Each step on a fresh submitted request: the answer of the matrix, the request changed
    only on 200, and exactly the steps answered 200 listed in the detail's ``actions``."""
    client = api_client(alliance, persona)
    for i, step in enumerate(STEPS):
        prepub = submitted(alliance, title=f"矩阵测试{i}")
        listed = client.get(prepub_url(prepub.pk)).json().get("actions")
        response = take(client, prepub, step)
        status = STEP_STATUS[persona][step]
        assert response.status_code == status, (persona, step, response.content)
        prepub.refresh_from_db()
        changed = prepub.state != P.SUBMITTED or prepub.title == "修改后的标题"
        assert changed == (status == 200), (persona, step)
        if persona in SEES:
            assert (step in listed) == (status == 200), (persona, step, listed)
        if status == 409:
            assert response.json()["detail"].startswith("当前状态（待审批）下不能执行")


@pytest.mark.parametrize("persona", ["auditor", "head_a"])
def test_a_refused_step_is_audited(alliance: Alliance, persona: str) -> None:
    prepub = submitted(alliance)
    response = post_json(api_client(alliance, persona), prepub_url(prepub.pk, "approve"))
    assert response.status_code == 403
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert (row.actor, row.outcome) == (alliance.users[persona], AuditOutcome.DENIED)
    assert row.detail["path"] == prepub_url(prepub.pk, "approve")


def test_the_auditor_gets_403_whatever_the_state(alliance: Alliance) -> None:
    """Never "not in this state": the auditor takes no step at all."""
    prepub = approved(alliance)
    client = api_client(alliance, "auditor")
    for step in STEPS:
        assert take(client, prepub, step).status_code == 403, step
    prepub.refresh_from_db()
    assert prepub.state == P.APPROVED


CREATE_STATUS = {
    "propaganda": 201,
    "sec_a": 201,
    "admin_a": 201,
    "auditor": 403,
    "head_a": 403,
    "league": 403,
    "sec_b": 400,  # asks for its own accounts; college A's is not among them
    ANONYMOUS: 401,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_matrix(alliance: Alliance, persona: str) -> None:
    response = post_json(api_client(alliance, persona), PREPUBS_URL, create_body(alliance))
    assert response.status_code == CREATE_STATUS[persona], response.content
    assert Prepublication.objects.exists() == (CREATE_STATUS[persona] == 201)
    if CREATE_STATUS[persona] == 400:
        assert response.json()["account"][0].startswith("发布账号：")


def test_steps_are_post_only_and_put_is_not_offered(alliance: Alliance) -> None:
    prepub = submitted(alliance)
    client = api_client(alliance, "propaganda")
    assert client.get(prepub_url(prepub.pk, "approve")).status_code == 405
    response = client.put(
        prepub_url(prepub.pk), create_body(alliance), content_type="application/json"
    )
    assert response.status_code == 405
    assert client.delete(prepub_url(prepub.pk)).status_code == 405
    prepub.refresh_from_db()
    assert (prepub.state, prepub.title) == (P.SUBMITTED, "我院获国家级教学成果奖")


# --- Separation of duties -------------------------------------------------------------------


def test_nobody_approves_their_own_request(alliance: Alliance) -> None:
    """The department asks for the school's account; it may not decide its own request."""
    own = submitted(alliance, "propaganda", "school", title="学校重大事件发布")
    client = api_client(alliance, "propaganda")
    assert "approve" not in client.get(prepub_url(own.pk)).json()["actions"]
    for step in ("approve", "return"):
        response = post_json(client, prepub_url(own.pk, step), {"comment": "同意"})
        assert response.status_code == 403, step
    own.refresh_from_db()
    assert (own.state, own.decided_by) == (P.SUBMITTED, None)
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert row.actor == alliance.users["propaganda"]


# --- The journey ----------------------------------------------------------------------------


def test_ask_return_change_resubmit_approve_file(alliance: Alliance) -> None:
    sec_a, propaganda = api_client(alliance, "sec_a"), api_client(alliance, "propaganda")

    response = post_json(sec_a, PREPUBS_URL, create_body(alliance))
    assert response.status_code == 201, response.content
    body = response.json()
    pk = body["id"]
    assert (body["state"], body["state_display"]) == (P.SUBMITTED, "待审批")
    assert body["account"]["name"] == "计算机学院官微"
    assert body["owner_unit"]["name"] == "计算机学院"
    assert (body["topic"], body["submitted_by"]) == (PrepubTopic.SENSITIVE, "赵秘书")
    assert body["actions"] == ["edit", "withdraw"]

    response = post_json(propaganda, prepub_url(pk, "return"), {"comment": " "})
    assert response.status_code == 400
    assert response.json()["comment"] == [services.ERR_PREPUB_COMMENT]
    assert Prepublication.objects.get(pk=pk).state == P.SUBMITTED

    response = post_json(propaganda, prepub_url(pk, "return"), {"comment": "请补充数据来源。"})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["decided_by"]) == (P.RETURNED, "李审核")
    assert response.json()["decision_comment"] == "请补充数据来源。"

    response = patch_json(sec_a, prepub_url(pk), {"content": "补充：数据来自后勤处公告。"})
    assert response.status_code == 200
    assert response.json()["content"] == "补充：数据来自后勤处公告。"
    assert response.json()["title"] == "关于校园食堂涨价的说明"  # left out, kept
    assert set(response.json()["actions"]) == {"edit", "resubmit", "withdraw"}

    assert post_json(sec_a, prepub_url(pk, "resubmit")).json()["state"] == P.SUBMITTED
    assert post_json(propaganda, prepub_url(pk, "approve")).json()["state"] == P.APPROVED

    response = patch_json(sec_a, prepub_url(pk), {"title": "批准后再改"})
    assert response.status_code == 409
    assert "已批准，待发布" in response.json()["detail"]

    response = post_json(sec_a, prepub_url(pk, "file"), {"published_link": ""})
    assert response.status_code == 400
    assert response.json()["published_link"] == [services.ERR_PUBLISHED_LINK]
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = post_json(
        sec_a, prepub_url(pk, "file"), {"published_link": PUBLISHED_LINK, "published_at": future}
    )
    assert response.status_code == 400
    assert response.json()["published_at"] == [services.ERR_PUBLISHED_AT]

    response = post_json(sec_a, prepub_url(pk, "file"), {"published_link": PUBLISHED_LINK})
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["published_link"], body["filed_by"]) == (
        P.PUBLISHED,
        PUBLISHED_LINK,
        "赵秘书",
    )
    assert body["actions"] == []
    assert [(s["action"], s["target_state"]) for s in body["steps"]] == [
        (PrepubAction.SUBMIT, P.SUBMITTED),
        (PrepubAction.RETURN, P.RETURNED),
        (PrepubAction.RESUBMIT, P.SUBMITTED),
        (PrepubAction.APPROVE, P.APPROVED),
        (PrepubAction.FILE, P.PUBLISHED),
    ]
    assert body["steps"][1]["comment"] == "请补充数据来源。"
    assert all("ip" not in step for step in body["steps"])

    prepub = Prepublication.objects.get(pk=pk)
    assert prepub.state == P.PUBLISHED
    assert prepub.content == "补充：数据来自后勤处公告。"
    assert (prepub.decided_by, prepub.filed_by) == (
        alliance.users["propaganda"],
        alliance.users["sec_a"],
    )
    assert prepub.published_at is not None
    assert PrepubStep.objects.filter(prepublication=prepub).count() == 5
    audited = AuditEvent.objects.filter(action=AuditAction.PREPUBLICATION)
    assert set(audited.values_list("detail__step", flat=True)) >= {
        "submit",
        "return",
        "edit",
        "resubmit",
        "approve",
        "file",
    }


def test_an_administrator_asks_and_withdraws(alliance: Alliance) -> None:
    client = api_client(alliance, "admin_a")
    response = post_json(client, PREPUBS_URL, create_body(alliance))
    assert response.status_code == 201
    pk = response.json()["id"]
    assert response.json()["submitted_by"] == "计算机学院管理员"
    response = post_json(client, prepub_url(pk, "withdraw"), {"comment": "活动取消"})
    assert response.status_code == 200
    prepub = Prepublication.objects.get(pk=pk)
    assert prepub.state == P.WITHDRAWN
    assert prepub.steps.get(action=PrepubAction.WITHDRAW).comment == "活动取消"


# --- Wrong state: 409 with the reason -------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "persona", "state_display", "step_label"),
    [
        ("approve", "propaganda", "已批准，待发布", "批准"),
        ("return", "propaganda", "已批准，待发布", "退回修改"),
        ("withdraw", "sec_a", "已批准，待发布", "撤回"),
        ("resubmit", "sec_a", "已批准，待发布", "修改后重新提交"),
    ],
)
def test_a_step_the_state_does_not_allow_is_409(
    alliance: Alliance, step: str, persona: str, state_display: str, step_label: str
) -> None:
    prepub = approved(alliance)
    response = post_json(api_client(alliance, persona), prepub_url(prepub.pk, step), {})
    assert response.status_code == 409
    assert response.json()["detail"] == services.ERR_PREPUB_NOT_ALLOWED % {
        "state": state_display,
        "step": step_label,
    }
    prepub.refresh_from_db()
    assert prepub.state == P.APPROVED
    assert prepub.steps.count() == 2


def test_a_withdrawn_request_takes_no_step(alliance: Alliance) -> None:
    prepub = services.prepub_withdraw(prepub=submitted(alliance), actor=alliance.users["sec_a"])
    client = api_client(alliance, "sec_a")
    for step in ("edit", "withdraw", "resubmit", "file"):
        assert take(client, prepub, step).status_code == 409, step
    assert (
        post_json(api_client(alliance, "propaganda"), prepub_url(prepub.pk, "approve")).status_code
        == 409
    )
    prepub.refresh_from_db()
    assert prepub.state == P.WITHDRAWN


# --- Bad input: 400 naming the field, nothing saved -----------------------------------------


@pytest.mark.parametrize(
    ("fields", "key", "text"),
    [
        ({"planned_at": "2020-01-01T08:00:00+08:00"}, "planned_at", services.ERR_PREPUB_PLANNED),
        ({"content": "", "draft_link": ""}, "content", services.ERR_PREPUB_CONTENT),
        ({"content": "  ", "draft_link": " "}, "content", services.ERR_PREPUB_CONTENT),
        ({"account": 999999}, "account", "发布账号：账号 999999 不存在"),
        ({"account": "计算机学院官微"}, "account", "发布账号：应为账号编号。"),
        ({"topic": "gossip"}, "topic", "内容类别：“gossip” 不是可选的类别。"),
        ({"title": ""}, "title", "标题：请填写。"),
        ({"planned_at": "下周一"}, "planned_at", "计划发布时间：时间格式不正确"),
        ({"draft_link": "not a link"}, "draft_link", ""),
    ],
)
def test_bad_request_is_400_and_saves_nothing(
    alliance: Alliance, fields: dict[str, Any], key: str, text: str
) -> None:
    response = post_json(
        api_client(alliance, "sec_a"), PREPUBS_URL, create_body(alliance, **fields)
    )
    assert response.status_code == 400
    assert response.json()[key][0].startswith(text)
    assert not Prepublication.objects.exists()
    assert not PrepubStep.objects.exists()


def test_a_link_without_content_is_enough(alliance: Alliance) -> None:
    body = create_body(alliance, content="", draft_link="https://mp.weixin.qq.com/s/draft-1")
    response = post_json(api_client(alliance, "sec_a"), PREPUBS_URL, body)
    assert response.status_code == 201
    assert Prepublication.objects.get().draft_link == "https://mp.weixin.qq.com/s/draft-1"


def test_a_suspended_account_cannot_ask(alliance: Alliance) -> None:
    """计科学生会 is college A's, but suspended."""
    body = create_body(alliance, account=alliance.accounts["a_org"].pk)
    response = post_json(api_client(alliance, "sec_a"), PREPUBS_URL, body)
    assert response.status_code == 400
    assert response.json()["account"][0].startswith("账号：只有运行中的账号才能")
    assert not Prepublication.objects.exists()


@pytest.mark.parametrize(
    ("fields", "key", "text"),
    [
        ({"planned_at": "2020-01-01T08:00:00+08:00"}, "planned_at", services.ERR_PREPUB_PLANNED),
        ({"content": ""}, "content", services.ERR_PREPUB_CONTENT),
        ({"title": ""}, "title", "标题：请填写。"),
    ],
)
def test_bad_edit_is_400_and_changes_nothing(
    alliance: Alliance, fields: dict[str, Any], key: str, text: str
) -> None:
    prepub = submitted(alliance)
    before = (prepub.title, prepub.content, prepub.planned_at)
    response = patch_json(api_client(alliance, "sec_a"), prepub_url(prepub.pk), fields)
    assert response.status_code == 400
    assert response.json()[key] == [text]
    prepub.refresh_from_db()
    assert (prepub.title, prepub.content, prepub.planned_at) == before


# --- Lists ----------------------------------------------------------------------------------


def test_list_filters_by_state(alliance: Alliance) -> None:
    waiting = submitted(alliance, title="待审批的")
    done = approved(alliance)
    client = api_client(alliance, "sec_a")

    def ids(**params: Any) -> set[int]:
        response = client.get(PREPUBS_URL, params)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids(state=P.APPROVED) == {done.pk}
    assert ids(state=P.SUBMITTED) == {waiting.pk}
    assert ids(state=P.PUBLISHED) == set()
    assert ids(state="bogus") == {waiting.pk, done.pk}  # unknown: ignored
    assert ids() == {waiting.pk, done.pk}
    assert (
        api_client(alliance, "sec_b").get(PREPUBS_URL, {"state": P.APPROVED}).json()["results"]
        == []
    )  # a filter never widens the scope


# Token and user, current roles, unit permissions (only with unit roles), administered accounts
# (only without a global read), the page count, the page's rows.
LIST_QUERIES = {"propaganda": 4, "sec_a": 6, "admin_a": 5}


@pytest.mark.parametrize("persona", sorted(LIST_QUERIES))
def test_list_query_count_does_not_grow_with_rows(
    alliance: Alliance, django_assert_num_queries, persona: str
) -> None:
    client = api_client(alliance, persona)
    for i in range(2):
        submitted(alliance, title=f"计数申请{i}")
    client.get(PREPUBS_URL)  # warm: content types
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(PREPUBS_URL)
    assert len(response.json()["results"]) == 2
    for i in range(2, 9):
        submitted(alliance, "sec_a" if i % 2 else "admin_a", title=f"计数申请{i}")
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(PREPUBS_URL)
    assert len(response.json()["results"]) == 9


def test_detail_query_count_does_not_grow_with_steps(
    alliance: Alliance, django_assert_num_queries
) -> None:
    client = api_client(alliance, "sec_a")
    fresh = submitted(alliance, title="新申请")
    worked = submitted(alliance, title="多步申请")
    worked = services.prepub_decide(
        prepub=worked, actor=alliance.users["propaganda"], approve=False, comment="改"
    )
    worked = services.prepub_resubmit(prepub=worked, actor=alliance.users["sec_a"])
    client.get(prepub_url(fresh.pk))
    # Token, roles, unit permissions, administered accounts, the request, its steps.
    with django_assert_num_queries(6):
        client.get(prepub_url(fresh.pk))
    with django_assert_num_queries(6):
        response = client.get(prepub_url(worked.pk))
    assert len(response.json()["steps"]) == 3
