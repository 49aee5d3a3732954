"""Pre-publication pages: the list with its filter and "waiting for me", asking and changing a
request, the request page and its steps; personas × endpoints × requests of their unit or not;
what each step leaves in the database; query counts that do not grow with the rows.

Requests in the fixtures: ``a`` and ``a_douyin`` asked by college A's secretary (``admin_a``
administers 计算机学院官微 only), ``b`` asked by college B's secretary.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from alliance import services
from alliance.choices import PrepubAction, PrepubState, PrepubTopic
from alliance.models import Prepublication, PrepubStep
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import Alliance, soon

pytestmark = pytest.mark.django_db

P = PrepubState
ANONYMOUS = "anonymous"
LOGIN = "login"
PERSONAS = ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS]
ASKER = {"a": "sec_a", "a_douyin": "sec_a", "b": "sec_b"}


def _client(client_for, alliance: Alliance, persona: str):
    return client_for(None if persona == ANONYMOUS else alliance.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:300]


def submit(alliance: Alliance, account: str = "a", **kwargs) -> Prepublication:
    fields = {
        "topic": PrepubTopic.EMERGENCY,
        "title": f"关于{alliance.accounts[account].name}停电的说明",
        "content": "因线路检修，实验楼周六停电。",
        "planned_at": soon(2),
    }
    return services.prepub_submit(
        account=alliance.accounts[account],
        actor=alliance.users[ASKER[account]],
        **{**fields, **kwargs},
    )


def in_state(alliance: Alliance, state: str, account: str = "a") -> Prepublication:
    prepub = submit(alliance, account)
    propaganda = alliance.users["propaganda"]
    if state == P.RETURNED:
        services.prepub_decide(prepub=prepub, actor=propaganda, approve=False, comment="请补充")
    elif state in (P.APPROVED, P.PUBLISHED):
        services.prepub_decide(prepub=prepub, actor=propaganda, approve=True, comment="同意")
        if state == P.PUBLISHED:
            services.prepub_file(
                prepub=prepub,
                actor=alliance.users[ASKER[account]],
                published_link="https://mp.weixin.qq.com/s/published",
            )
    elif state == P.WITHDRAWN:
        services.prepub_withdraw(prepub=prepub, actor=alliance.users[ASKER[account]])
    return Prepublication.objects.get(pk=prepub.pk)


# Who sees a request of each unit: the department, the auditor, the unit's secretary and head,
# the account's administrators.
SEES = {
    "a": {"propaganda", "auditor", "sec_a", "head_a", "admin_a"},
    "a_douyin": {"propaganda", "auditor", "sec_a", "head_a"},
    "b": {"propaganda", "auditor", "sec_b"},
}
# Who acts for the asking side (the department keeps every unit's accounts).
FILERS = {
    "a": {"propaganda", "sec_a", "admin_a"},
    "a_douyin": {"propaganda", "sec_a"},
    "b": {"propaganda", "sec_b"},
}


def _seen(persona: str, which: str):
    if persona == ANONYMOUS:
        return LOGIN
    return 200 if persona in SEES[which] else 404


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_what_the_user_may_see(alliance, client_for):
    mine = submit(alliance, "a")
    other = submit(alliance, "b")
    response = client_for(alliance.users["sec_a"]).get("/alliance/prepublications/")
    assert response.status_code == 200
    assert [p.pk for p in response.context["rows"]] == [mine.pk]
    body = response.content.decode()
    assert mine.title in body and other.title not in body
    assert "突发事件" in body and "计算机学院官微" in body and "待审批" in body


def test_the_department_filters_by_state(alliance, client_for):
    waiting = submit(alliance, "a")
    approved = in_state(alliance, P.APPROVED, "b")
    client = client_for(alliance.users["propaganda"])

    everything = client.get("/alliance/prepublications/")
    assert {p.pk for p in everything.context["rows"]} == {waiting.pk, approved.pk}
    only = client.get("/alliance/prepublications/?state=approved")
    assert [p.pk for p in only.context["rows"]] == [approved.pk]
    assert only.context["state"] == "approved"
    counts = {value: n for value, _label, n in only.context["states"]}
    assert counts[P.SUBMITTED] == 1 and counts[P.APPROVED] == 1
    # An unknown state is no filter.
    junk = client.get("/alliance/prepublications/?state=bogus")
    assert len(junk.context["rows"]) == 2


def test_waiting_for_me(alliance, client_for):
    to_decide = submit(alliance, "a")
    to_file = in_state(alliance, P.APPROVED, "a_douyin")
    elsewhere = in_state(alliance, P.RETURNED, "b")

    department = client_for(alliance.users["propaganda"]).get("/alliance/prepublications/")
    assert [p.pk for p in department.context["waiting"]] == [to_decide.pk]
    secretary = client_for(alliance.users["sec_a"]).get("/alliance/prepublications/")
    assert [p.pk for p in secretary.context["waiting"]] == [to_file.pk]
    assert "发布后请登记发布链接" in secretary.content.decode()
    outsider = client_for(alliance.users["sec_b"]).get("/alliance/prepublications/")
    assert [p.pk for p in outsider.context["waiting"]] == [elsewhere.pk]
    auditor = client_for(alliance.users["auditor"]).get("/alliance/prepublications/")
    assert auditor.context["waiting"] == []


def test_the_list_wants_a_login_and_a_get(alliance, client_for):
    _expect(client_for(None).get("/alliance/prepublications/"), LOGIN)
    response = client_for(alliance.users["sec_a"]).post("/alliance/prepublications/")
    assert response.status_code == 405


# --- Asking -------------------------------------------------------------------------------------


def _form(alliance: Alliance, account: str = "a", **overrides) -> dict:
    planned = timezone.localtime(soon(2)).strftime("%Y-%m-%dT%H:%M")
    return {
        "account": alliance.accounts[account].pk,
        "topic": PrepubTopic.MAJOR_EVENT,
        "title": "学院获批重点实验室",
        "content": "喜讯：……",
        "draft_link": "",
        "planned_at": planned,
        **overrides,
    }


def test_the_form_offers_only_the_running_accounts_the_user_answers_for(alliance, client_for):
    response = client_for(alliance.users["sec_a"]).get("/alliance/prepublications/new/")
    assert response.status_code == 200
    offered = {a.name for a in response.context["form"].fields["account"].queryset}
    # College A's active accounts and its tier-3 one; not the suspended 计科学生会, not B's.
    assert offered == {"计算机学院官微", "计算机学院抖音", "实验中心视频号"}
    body = response.content.decode()
    assert 'type="datetime-local"' in body
    assert 'name="draft_link"' in body and 'type="url"' in body

    admin = client_for(alliance.admin_a).get("/alliance/prepublications/new/")
    assert {a.name for a in admin.context["form"].fields["account"].queryset} == {"计算机学院官微"}


def test_a_unit_asks(alliance, client_for):
    client = client_for(alliance.users["sec_a"])
    response = client.post("/alliance/prepublications/new/", _form(alliance))
    prepub = Prepublication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == prepub.get_absolute_url()
    assert prepub.state == P.SUBMITTED
    assert prepub.account == alliance.accounts["a"]
    assert prepub.submitted_by == alliance.users["sec_a"]
    assert prepub.steps.get().action == PrepubAction.SUBMIT
    assert prepub.steps.get().ip == "127.0.0.1"
    assert "已提交，等待党委宣传部审批。" in client.get(response["Location"]).content.decode()


def test_content_or_link_shows_on_the_content_field(alliance, client_for):
    response = client_for(alliance.users["sec_a"]).post(
        "/alliance/prepublications/new/", _form(alliance, content="", draft_link="")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["content"] == [services.ERR_PREPUB_CONTENT]
    assert services.ERR_PREPUB_CONTENT in response.content.decode()
    assert not Prepublication.objects.exists()


def test_a_link_alone_is_enough(alliance, client_for):
    client_for(alliance.users["sec_a"]).post(
        "/alliance/prepublications/new/",
        _form(alliance, content="", draft_link="https://mp.weixin.qq.com/s/draft"),
    )
    assert Prepublication.objects.get().draft_link == "https://mp.weixin.qq.com/s/draft"


def test_a_planned_time_in_the_past_shows_on_its_field(alliance, client_for):
    past = timezone.localtime(timezone.now() - datetime.timedelta(hours=1))
    response = client_for(alliance.users["sec_a"]).post(
        "/alliance/prepublications/new/",
        _form(alliance, planned_at=past.strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["planned_at"] == [services.ERR_PREPUB_PLANNED]
    assert not Prepublication.objects.exists()


def test_the_planned_time_is_read_in_local_time(alliance, client_for):
    client_for(alliance.users["sec_a"]).post(
        "/alliance/prepublications/new/", _form(alliance, planned_at="2099-05-01T08:30")
    )
    planned = timezone.localtime(Prepublication.objects.get().planned_at)
    assert (planned.year, planned.hour, planned.minute) == (2099, 8, 30)


def test_an_account_of_another_unit_is_not_a_choice(alliance, client_for):
    response = client_for(alliance.users["sec_a"]).post(
        "/alliance/prepublications/new/", _form(alliance, account="b")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["account"][0].startswith("发布账号：")
    assert not Prepublication.objects.exists()


@pytest.mark.parametrize("persona", ["auditor", "head_a", "league"])
def test_who_answers_for_no_account_may_not_ask(alliance, client_for, persona):
    client = _client(client_for, alliance, persona)
    assert client.get("/alliance/prepublications/new/").status_code == 403
    assert client.post("/alliance/prepublications/new/", _form(alliance)).status_code == 403
    assert not Prepublication.objects.exists()


def test_asking_wants_a_login_and_get_or_post(alliance, client_for):
    _expect(client_for(None).post("/alliance/prepublications/new/", _form(alliance)), LOGIN)
    assert not Prepublication.objects.exists()
    assert (
        client_for(alliance.users["sec_a"]).put("/alliance/prepublications/new/").status_code == 405
    )


# --- Changing -----------------------------------------------------------------------------------


def test_the_unit_changes_a_returned_request(alliance, client_for):
    prepub = in_state(alliance, P.RETURNED)
    client = client_for(alliance.users["sec_a"])
    page = client.get(f"/alliance/prepublications/{prepub.pk}/edit/")
    assert page.status_code == 200
    assert "account" not in page.context["form"].fields
    assert "请补充" in page.content.decode()  # the reason for the return
    local = timezone.localtime(prepub.planned_at).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{local}"' in page.content.decode()  # shown in local time

    data = _form(alliance, title="补充口径后的说明", content="已与后勤处核实。")
    data.pop("account")
    response = client.post(f"/alliance/prepublications/{prepub.pk}/edit/", data)

    assert response.status_code == 302
    prepub.refresh_from_db()
    assert (prepub.title, prepub.content, prepub.state) == (
        "补充口径后的说明",
        "已与后勤处核实。",
        P.RETURNED,
    )
    assert AuditEvent.objects.filter(
        action=AuditAction.PREPUBLICATION, detail__step="edit"
    ).exists()


@pytest.mark.parametrize("which", ["a", "b"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_changes_a_request(alliance, client_for, persona, which):
    prepub = submit(alliance, which)
    data = _form(alliance, which, title="改过的标题")
    data.pop("account")
    response = _client(client_for, alliance, persona).post(
        f"/alliance/prepublications/{prepub.pk}/edit/", data
    )
    seen = _seen(persona, which)
    expected = (302 if persona in FILERS[which] else 403) if seen == 200 else seen
    _expect(response, expected)
    prepub.refresh_from_db()
    assert (prepub.title == "改过的标题") is (expected == 302)


def test_changing_wants_get_or_post(alliance, client_for):
    prepub = submit(alliance)
    client = client_for(alliance.users["sec_a"])
    assert client.put(f"/alliance/prepublications/{prepub.pk}/edit/").status_code == 405
    _expect(client_for(None).get(f"/alliance/prepublications/{prepub.pk}/edit/"), LOGIN)


def test_an_approved_request_is_not_changed(alliance, client_for):
    prepub = in_state(alliance, P.APPROVED)
    client = client_for(alliance.users["sec_a"])
    assert client.get(f"/alliance/prepublications/{prepub.pk}/edit/").status_code == 403
    assert "修改</a>" not in client.get(prepub.get_absolute_url()).content.decode()


# --- The request page ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["a", "a_douyin", "b"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sees_a_request(alliance, client_for, persona, which):
    prepub = submit(alliance, which)
    response = _client(client_for, alliance, persona).get(prepub.get_absolute_url())
    _expect(response, _seen(persona, which))
    if response.status_code == 200:
        assert prepub.title in response.content.decode()


def test_the_department_sees_the_decision_buttons(alliance, client_for):
    prepub = submit(alliance)
    response = client_for(alliance.users["propaganda"]).get(prepub.get_absolute_url())
    body = response.content.decode()
    assert f'formaction="/alliance/prepublications/{prepub.pk}/approve/"' in body
    assert f'formaction="/alliance/prepublications/{prepub.pk}/return/"' in body
    assert response.context["may"]["decide"] is True


@pytest.mark.parametrize("persona", ["auditor", "head_a"])
def test_a_reader_sees_no_action(alliance, client_for, persona):
    prepub = submit(alliance)
    response = client_for(alliance.users[persona]).get(prepub.get_absolute_url())
    assert response.context["acts"] is False
    body = response.content.decode()
    assert "/approve/" not in body and "/withdraw/" not in body and "/edit/" not in body


def test_the_unit_sees_its_steps_in_each_state(alliance, client_for):
    client = client_for(alliance.users["sec_a"])
    submitted = submit(alliance)
    may = client.get(submitted.get_absolute_url()).context["may"]
    assert may == {
        "decide": False,
        "edit": True,
        "resubmit": False,
        "withdraw": True,
        "file": False,
    }
    returned = in_state(alliance, P.RETURNED)
    body = client.get(returned.get_absolute_url()).content.decode()
    assert f'action="/alliance/prepublications/{returned.pk}/resubmit/"' in body
    approved = in_state(alliance, P.APPROVED)
    body = client.get(approved.get_absolute_url()).content.decode()
    assert f'action="/alliance/prepublications/{approved.pk}/file/"' in body
    assert 'name="published_link"' in body


def test_the_approved_text_shows_who_approved_and_when(alliance, client_for):
    prepub = in_state(alliance, P.APPROVED)
    body = client_for(alliance.users["sec_a"]).get(prepub.get_absolute_url()).content.decode()
    assert "批准发布的内容" in body
    assert "李审核" in body  # the reviewer's name
    assert timezone.localtime(prepub.decided_at).strftime("%Y-%m-%d %H:%M") in body
    assert "<p>因线路检修，实验楼周六停电。</p>" in body


def test_the_published_link_opens_safely(alliance, client_for):
    prepub = in_state(alliance, P.PUBLISHED)
    body = client_for(alliance.users["head_a"]).get(prepub.get_absolute_url()).content.decode()
    assert (
        '<a href="https://mp.weixin.qq.com/s/published" target="_blank" rel="noopener noreferrer">'
    ) in body


def test_the_record_shows_the_ip_only_to_those_who_read_everything(alliance, client_for):
    prepub = submit(alliance)
    PrepubStep.objects.filter(prepublication=prepub).update(ip="10.9.8.7")
    for persona, shown in (("propaganda", True), ("auditor", True), ("sec_a", False)):
        body = client_for(alliance.users[persona]).get(prepub.get_absolute_url()).content.decode()
        assert ("10.9.8.7" in body) is shown, persona
        assert "赵秘书（sec_a）" in body


def test_the_page_wants_a_get(alliance, client_for):
    prepub = submit(alliance)
    response = client_for(alliance.users["sec_a"]).post(prepub.get_absolute_url())
    assert response.status_code == 405


# --- Steps: the access matrix -------------------------------------------------------------------

# step in the URL → (the state it starts from, what is posted, the state it leads to, decides?)
STEPS = {
    "approve": (P.SUBMITTED, {"comment": "同意"}, P.APPROVED, True),
    "return": (P.SUBMITTED, {"comment": "请补充"}, P.RETURNED, True),
    "resubmit": (P.RETURNED, {}, P.SUBMITTED, False),
    "withdraw": (P.SUBMITTED, {"comment": "活动取消"}, P.WITHDRAWN, False),
    "file": (P.APPROVED, {"published_link": "https://x.example.cn/p"}, P.PUBLISHED, False),
}


def _step_expected(persona: str, which: str, decides: bool):
    seen = _seen(persona, which)
    if seen != 200:
        return seen
    allowed = persona == "propaganda" if decides else persona in FILERS[which]
    return 302 if allowed else 403


@pytest.mark.parametrize("which", ["a", "b"])
@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_takes_each_step(alliance, client_for, persona, step, which):
    source, data, target, decides = STEPS[step]
    prepub = in_state(alliance, source, which)
    count = prepub.steps.count()

    response = _client(client_for, alliance, persona).post(
        f"/alliance/prepublications/{prepub.pk}/{step}/", {**data, "state": source}
    )

    expected = _step_expected(persona, which, decides)
    _expect(response, expected)
    prepub.refresh_from_db()
    if expected == 302:
        assert response["Location"] == prepub.get_absolute_url()
        assert prepub.state == target
        assert prepub.steps.count() == count + 1
        assert prepub.steps.last().actor == alliance.users[persona]
    else:
        assert prepub.state == source
        assert prepub.steps.count() == count


@pytest.mark.parametrize("step", sorted(STEPS))
def test_the_auditor_is_refused_every_step_in_every_state(alliance, client_for, step):
    client = client_for(alliance.users["auditor"])
    for state in P.values:
        prepub = in_state(alliance, state)
        response = client.post(f"/alliance/prepublications/{prepub.pk}/{step}/", {"comment": "x"})
        assert response.status_code == 403, state
        assert Prepublication.objects.get(pk=prepub.pk).state == state


def test_the_department_does_not_approve_its_own(alliance, client_for):
    prepub = services.prepub_submit(
        account=alliance.accounts["school"],
        actor=alliance.users["propaganda"],
        topic=PrepubTopic.MAJOR_EVENT,
        title="校庆公告",
        content="……",
        planned_at=soon(),
    )
    client = client_for(alliance.users["propaganda"])
    assert client.get(prepub.get_absolute_url()).context["may"]["decide"] is False
    response = client.post(f"/alliance/prepublications/{prepub.pk}/approve/")
    assert response.status_code == 403
    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED


# --- Steps: details -----------------------------------------------------------------------------


def test_an_unknown_step_is_404(alliance, client_for):
    prepub = submit(alliance)
    response = client_for(alliance.users["propaganda"]).post(
        f"/alliance/prepublications/{prepub.pk}/publish_now/"
    )
    assert response.status_code == 404


def test_steps_are_post_only(alliance, client_for):
    prepub = submit(alliance)
    response = client_for(alliance.users["propaganda"]).get(
        f"/alliance/prepublications/{prepub.pk}/approve/"
    )
    assert response.status_code == 405
    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED


def test_a_return_without_a_reason_shows_on_the_comment(alliance, client_for):
    prepub = submit(alliance)
    response = client_for(alliance.users["propaganda"]).post(
        f"/alliance/prepublications/{prepub.pk}/return/", {"comment": " ", "state": P.SUBMITTED}
    )
    assert response.status_code == 200
    assert response.context["decide_form"].errors["comment"] == [services.ERR_PREPUB_COMMENT]
    assert services.ERR_PREPUB_COMMENT in response.content.decode()
    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED


def test_the_approval_is_recorded(alliance, client_for):
    prepub = submit(alliance)
    client = client_for(alliance.users["propaganda"])
    response = client.post(
        f"/alliance/prepublications/{prepub.pk}/approve/",
        {"comment": "同意，注意口径。", "state": P.SUBMITTED},
        REMOTE_ADDR="10.0.0.8",
    )
    assert response.status_code == 302
    prepub.refresh_from_db()
    assert prepub.decided_by == alliance.users["propaganda"]
    assert prepub.decision_comment == "同意，注意口径。"
    step = prepub.steps.last()
    assert (step.action, step.source_state, step.target_state, step.ip) == (
        PrepubAction.APPROVE,
        P.SUBMITTED,
        P.APPROVED,
        "10.0.0.8",
    )
    event = AuditEvent.objects.filter(action=AuditAction.PREPUBLICATION).latest("pk")
    assert event.detail["step"] == PrepubAction.APPROVE
    assert event.ip == "10.0.0.8"
    assert "已批准。" in client.get(prepub.get_absolute_url()).content.decode()


def test_a_page_out_of_date_is_told_someone_else_acted(alliance, client_for):
    """The unit withdraws from a page that still showed 待审批; the department approved
    meanwhile."""
    prepub = in_state(alliance, P.APPROVED)
    response = client_for(alliance.users["sec_a"]).post(
        f"/alliance/prepublications/{prepub.pk}/withdraw/", {"state": P.SUBMITTED}, follow=True
    )
    assert response.status_code == 200
    assert "该申请已被他人处理（当前状态：已批准，待发布）" in response.content.decode()
    prepub.refresh_from_db()
    assert prepub.state == P.APPROVED


def test_a_step_the_state_does_not_allow_is_explained(alliance, client_for):
    prepub = in_state(alliance, P.PUBLISHED)
    response = client_for(alliance.users["sec_a"]).post(
        f"/alliance/prepublications/{prepub.pk}/withdraw/", follow=True
    )
    assert "当前状态（已发布备案）下不能执行“撤回”" in response.content.decode()
    prepub.refresh_from_db()
    assert prepub.state == P.PUBLISHED


def test_a_conflict_inside_the_service_becomes_a_message(alliance, client_for, monkeypatch):
    """The state moved between the page's check and the service's lock."""
    prepub = submit(alliance)

    def moved(**kwargs):
        raise services.AllianceConflict(services.ERR_PREPUB_CONFLICT % {"state": "已撤回"})

    monkeypatch.setattr(services, "prepub_decide", moved)
    response = client_for(alliance.users["propaganda"]).post(
        f"/alliance/prepublications/{prepub.pk}/approve/", {"state": P.SUBMITTED}
    )
    assert response.status_code == 302
    assert response["Location"] == prepub.get_absolute_url()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["该申请已被他人处理（当前状态：已撤回），请刷新页面后再操作。"]


def test_filing_checks_the_link_and_the_time(alliance, client_for):
    prepub = in_state(alliance, P.APPROVED)
    client = client_for(alliance.users["sec_a"])
    url = f"/alliance/prepublications/{prepub.pk}/file/"

    missing = client.post(url, {"published_link": "", "state": P.APPROVED})
    assert missing.status_code == 200
    assert missing.context["file_form"].errors["published_link"][0].startswith("发布链接：")

    future = timezone.localtime(timezone.now() + datetime.timedelta(hours=3))
    later = client.post(
        url,
        {
            "published_link": "https://x.example.cn/p",
            "published_at": future.strftime("%Y-%m-%dT%H:%M"),
            "state": P.APPROVED,
        },
    )
    assert later.status_code == 200
    assert later.context["file_form"].errors["published_at"] == [services.ERR_PUBLISHED_AT]
    assert "https://x.example.cn/p" in later.content.decode()  # what was typed is kept
    prepub.refresh_from_db()
    assert (prepub.state, prepub.published_link) == (P.APPROVED, "")

    earlier = timezone.localtime(timezone.now() - datetime.timedelta(hours=3))
    done = client.post(
        url,
        {
            "published_link": "https://x.example.cn/p",
            "published_at": earlier.strftime("%Y-%m-%dT%H:%M"),
            "state": P.APPROVED,
        },
    )
    assert done.status_code == 302
    prepub.refresh_from_db()
    assert prepub.state == P.PUBLISHED
    assert timezone.localtime(prepub.published_at).strftime("%Y-%m-%dT%H:%M") == (
        earlier.strftime("%Y-%m-%dT%H:%M")
    )
    assert prepub.filed_by == alliance.users["sec_a"]


def test_a_resubmission_the_service_refuses_becomes_a_message(alliance, client_for):
    prepub = in_state(alliance, P.RETURNED)
    Prepublication.objects.filter(pk=prepub.pk).update(
        planned_at=timezone.now() - datetime.timedelta(hours=1)
    )
    response = client_for(alliance.users["sec_a"]).post(
        f"/alliance/prepublications/{prepub.pk}/resubmit/", {"state": P.RETURNED}, follow=True
    )
    assert services.ERR_PREPUB_PLANNED in response.content.decode()
    prepub.refresh_from_db()
    assert prepub.state == P.RETURNED


# --- Query counts -------------------------------------------------------------------------------

# All of them: session, user, the user's current roles, then the page's reads: the count for
# the paginator, the counts by state, the permission rows of the user's groups and the accounts
# the user administers (what waits for the user: the department's look-up too, as it also asks
# for its own units' accounts), one page of requests with accounts, platforms and units, whether
# the user may ask, and what waits for the user.
LIST_QUERIES = {"propaganda": 10, "sec_a": 10}


@pytest.mark.parametrize("extra", [2, 12])
@pytest.mark.parametrize("persona", sorted(LIST_QUERIES))
def test_the_list_reads_a_fixed_number_of_queries(
    alliance, client_for, django_assert_num_queries, persona, extra
):
    for i in range(extra):
        prepub = submit(alliance, "a" if i % 2 else "a_douyin", title=f"申请{i:02d}")
        if i % 3 == 0:
            services.prepub_decide(prepub=prepub, actor=alliance.users["propaganda"], approve=True)
    client = client_for(alliance.users[persona])
    client.get("/alliance/prepublications/")  # warm-up

    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get("/alliance/prepublications/")

    assert len(response.context["rows"]) == extra
    assert len(response.context["waiting"]) > 0
