"""Pre-publication requests through ``alliance.services``: the state machine (submit, approve,
return with a reason, resubmit, withdraw, file the published link), who may take each step, the
checks on content and times, and the record each step leaves (a step row and an audit row)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alliance import services
from alliance.choices import PrepubAction, PrepubState, PrepubTopic
from alliance.models import Prepublication, PrepubStep
from approvals.models import Notification
from campusmedia import services as registry
from campusmedia.choices import Role
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import Alliance, soon
from tests.conftest import make_login

pytestmark = pytest.mark.django_db

P = PrepubState


def submit(alliance: Alliance, account: str = "a", actor: str = "sec_a", **kwargs):
    fields = {
        "topic": PrepubTopic.MAJOR_EVENT,
        "title": "学院获批重点实验室",
        "content": "喜讯：……",
        "planned_at": soon(2),
    }
    return services.prepub_submit(
        account=alliance.accounts[account],
        actor=alliance.users[actor],
        **{**fields, **kwargs},
    )


def approve(alliance: Alliance, prepub, actor: str = "propaganda", comment: str = ""):
    return services.prepub_decide(
        prepub=prepub, actor=alliance.users[actor], approve=True, comment=comment
    )


def give_back(alliance: Alliance, prepub, comment: str = "请补充学校口径。"):
    return services.prepub_decide(
        prepub=prepub, actor=alliance.users["propaganda"], approve=False, comment=comment
    )


def steps_of(prepub) -> list[tuple[str, str, str]]:
    return list(
        PrepubStep.objects.filter(prepublication=prepub)
        .order_by("at", "id")
        .values_list("action", "source_state", "target_state")
    )


# --- Submitting ---------------------------------------------------------------------------------


def test_a_unit_submits_and_the_department_hears_after_commit(
    alliance, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        prepub = submit(alliance, draft_link="https://mp.weixin.qq.com/s/draft")
        assert not Notification.objects.exists()

    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED
    assert prepub.owner_unit == alliance.world.units["a"]
    assert prepub.submitted_by == alliance.users["sec_a"]
    assert steps_of(prepub) == [(PrepubAction.SUBMIT, "", P.SUBMITTED)]
    step = prepub.steps.get()
    assert step.actor == alliance.users["sec_a"]
    assert step.actor_name == "赵秘书（sec_a）"
    event = AuditEvent.objects.get(action=AuditAction.PREPUBLICATION)
    assert event.detail["step"] == PrepubAction.SUBMIT
    assert (event.detail["from"], event.detail["to"]) == ("", P.SUBMITTED)
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["propaganda"]


def test_an_account_administrator_with_a_login_may_submit(alliance):
    prepub = submit(alliance, actor="admin_a")
    assert prepub.submitted_by == alliance.admin_a


@pytest.mark.parametrize(
    ("persona", "account"),
    [
        ("sec_b", "a"),  # another unit's account
        ("admin_a", "a_douyin"),  # administers 计算机学院官微, not the douyin account
        ("head_a", "a"),  # signs for the unit, does not keep its accounts
        ("auditor", "a"),
        ("league", "a"),
    ],
)
def test_only_who_answers_for_the_account_submits(alliance, persona, account):
    with pytest.raises(PermissionDenied):
        submit(alliance, account=account, actor=persona)
    assert not Prepublication.objects.exists()


def test_an_account_that_is_not_running_cannot_ask(alliance):
    with pytest.raises(ValidationError) as caught:
        submit(alliance, account="a_org")  # 计科学生会, suspended
    assert list(caught.value.message_dict) == ["account"]
    assert not Prepublication.objects.exists()


def test_content_or_link_is_required(alliance):
    with pytest.raises(ValidationError) as caught:
        submit(alliance, content="  ", draft_link="")
    assert caught.value.message_dict == {"content": [services.ERR_PREPUB_CONTENT]}
    assert not Prepublication.objects.exists()

    only_link = submit(alliance, content="", draft_link="https://mp.weixin.qq.com/s/draft")
    assert (only_link.content, only_link.draft_link) == ("", "https://mp.weixin.qq.com/s/draft")


def test_a_planned_time_in_the_past_is_refused(alliance):
    with pytest.raises(ValidationError) as caught:
        submit(alliance, planned_at=timezone.now() - datetime.timedelta(minutes=5))
    assert caught.value.message_dict == {"planned_at": [services.ERR_PREPUB_PLANNED]}
    assert not Prepublication.objects.exists()


# --- Deciding -----------------------------------------------------------------------------------


def test_the_department_approves_and_the_asker_hears_after_commit(
    alliance, django_capture_on_commit_callbacks
):
    prepub = submit(alliance)
    with django_capture_on_commit_callbacks(execute=True):
        done = approve(alliance, prepub, comment="同意，口径与学校一致。")

    done.refresh_from_db()
    assert done.state == P.APPROVED
    assert done.decided_by == alliance.users["propaganda"]
    assert done.decided_at is not None
    assert done.decision_comment == "同意，口径与学校一致。"
    assert steps_of(done)[-1] == (PrepubAction.APPROVE, P.SUBMITTED, P.APPROVED)
    assert done.steps.last().comment == "同意，口径与学校一致。"
    told = Notification.objects.filter(user=alliance.users["sec_a"])
    assert [n.text for n in told] == ["发布前审批已批准，待发布：学院获批重点实验室"]


def test_a_return_needs_a_reason(alliance):
    prepub = submit(alliance)
    with pytest.raises(ValidationError) as caught:
        give_back(alliance, prepub, comment="   ")
    assert caught.value.message_dict == {"comment": [services.ERR_PREPUB_COMMENT]}
    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED
    assert len(steps_of(prepub)) == 1

    returned = give_back(alliance, prepub, comment="请补充学校口径。")
    returned.refresh_from_db()
    assert returned.state == P.RETURNED
    assert returned.decision_comment == "请补充学校口径。"
    assert steps_of(returned)[-1] == (PrepubAction.RETURN, P.SUBMITTED, P.RETURNED)


def test_the_department_does_not_decide_its_own_request(alliance):
    """The department asks for the school's flagship account (tier 1): another reviewer of the
    department decides, never the one who asked."""
    own = submit(alliance, account="school", actor="propaganda")
    with pytest.raises(PermissionDenied):
        approve(alliance, own, actor="propaganda")
    with pytest.raises(PermissionDenied):
        give_back_by(alliance, own, "propaganda")
    own.refresh_from_db()
    assert own.state == P.SUBMITTED

    colleague = make_login("propaganda2")
    person = registry.person_create(
        actor=None, name="王审核", unit=alliance.world.units["propaganda"], user=colleague
    )
    registry.role_assign(
        person=person,
        unit=alliance.world.units["propaganda"],
        role=Role.PROPAGANDA_REVIEWER,
        actor=None,
    )
    done = services.prepub_decide(prepub=own, actor=colleague, approve=True)
    assert done.state == P.APPROVED
    assert done.decided_by == colleague


def give_back_by(alliance: Alliance, prepub, persona: str):
    return services.prepub_decide(
        prepub=prepub, actor=alliance.users[persona], approve=False, comment="退回"
    )


@pytest.mark.parametrize("persona", ["sec_a", "admin_a", "head_a", "auditor"])
def test_only_the_department_decides(alliance, persona):
    prepub = submit(alliance)
    with pytest.raises(PermissionDenied):
        approve(alliance, prepub, actor=persona)
    with pytest.raises(PermissionDenied):
        give_back_by(alliance, prepub, persona)
    prepub.refresh_from_db()
    assert prepub.state == P.SUBMITTED
    assert prepub.decided_by is None


# --- The unit's steps ---------------------------------------------------------------------------


def test_resubmit_after_a_return_clears_the_decision(alliance):
    prepub = give_back(alliance, submit(alliance))
    services.prepub_edit(prepub=prepub, actor=alliance.users["sec_a"], content="补充了口径。")

    again = services.prepub_resubmit(prepub=prepub, actor=alliance.users["sec_a"])

    again.refresh_from_db()
    assert again.state == P.SUBMITTED
    assert again.content == "补充了口径。"
    assert (again.decided_by, again.decided_at) == (None, None)
    assert steps_of(again)[-1] == (PrepubAction.RESUBMIT, P.RETURNED, P.SUBMITTED)


def test_resubmit_checks_the_planned_time_again(alliance):
    prepub = give_back(alliance, submit(alliance))
    Prepublication.objects.filter(pk=prepub.pk).update(
        planned_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with pytest.raises(ValidationError) as caught:
        services.prepub_resubmit(prepub=prepub, actor=alliance.users["sec_a"])
    assert "planned_at" in caught.value.message_dict
    prepub.refresh_from_db()
    assert prepub.state == P.RETURNED


@pytest.mark.parametrize("returned", [False, True])
def test_the_unit_withdraws_before_approval(alliance, returned):
    prepub = submit(alliance)
    if returned:
        prepub = give_back(alliance, prepub)
    source = prepub.state

    done = services.prepub_withdraw(
        prepub=prepub, actor=alliance.users["admin_a"], comment="活动取消"
    )

    done.refresh_from_db()
    assert done.state == P.WITHDRAWN
    assert steps_of(done)[-1] == (PrepubAction.WITHDRAW, source, P.WITHDRAWN)
    assert done.steps.last().comment == "活动取消"


def test_editing_is_for_the_asking_side_before_approval(alliance):
    prepub = submit(alliance)
    edited = services.prepub_edit(
        prepub=prepub, actor=alliance.users["sec_a"], title="新标题", planned_at=soon(3)
    )
    assert edited.title == "新标题"
    assert AuditEvent.objects.filter(
        action=AuditAction.PREPUBLICATION, detail__step="edit"
    ).exists()

    with pytest.raises(PermissionDenied):
        services.prepub_edit(prepub=prepub, actor=alliance.users["sec_b"], title="外人")
    with pytest.raises(ValidationError):
        services.prepub_edit(prepub=prepub, actor=alliance.users["sec_a"], content="")

    approve(alliance, prepub)
    with pytest.raises(PermissionDenied):
        services.prepub_edit(prepub=prepub, actor=alliance.users["sec_a"], title="批准后再改")
    prepub.refresh_from_db()
    assert prepub.title == "新标题"


# --- Filing -------------------------------------------------------------------------------------


def test_the_unit_files_the_published_link(alliance):
    prepub = approve(alliance, submit(alliance))
    published_at = timezone.now() - datetime.timedelta(hours=2)

    done = services.prepub_file(
        prepub=prepub,
        actor=alliance.users["sec_a"],
        published_link=" https://mp.weixin.qq.com/s/published ",
        published_at=published_at,
    )

    done.refresh_from_db()
    assert done.state == P.PUBLISHED
    assert done.published_link == "https://mp.weixin.qq.com/s/published"
    assert done.published_at == published_at
    assert done.filed_by == alliance.users["sec_a"]
    assert done.filed_at is not None
    assert steps_of(done)[-1] == (PrepubAction.FILE, P.APPROVED, P.PUBLISHED)


def test_the_published_time_defaults_to_now(alliance):
    prepub = approve(alliance, submit(alliance))
    before = timezone.now()
    done = services.prepub_file(
        prepub=prepub, actor=alliance.users["sec_a"], published_link="https://x.example.cn/p"
    )
    assert before <= done.published_at <= timezone.now()


def test_filing_needs_the_link_and_a_time_not_in_the_future(alliance):
    prepub = approve(alliance, submit(alliance))
    sec_a = alliance.users["sec_a"]
    with pytest.raises(ValidationError) as caught:
        services.prepub_file(prepub=prepub, actor=sec_a, published_link="  ")
    assert caught.value.message_dict == {"published_link": [services.ERR_PUBLISHED_LINK]}
    with pytest.raises(ValidationError) as caught:
        services.prepub_file(
            prepub=prepub,
            actor=sec_a,
            published_link="https://x.example.cn/p",
            published_at=timezone.now() + datetime.timedelta(hours=1),
        )
    assert caught.value.message_dict == {"published_at": [services.ERR_PUBLISHED_AT]}
    prepub.refresh_from_db()
    assert prepub.state == P.APPROVED
    assert prepub.published_link == ""


@pytest.mark.parametrize("persona", ["head_a", "auditor", "sec_b"])
def test_only_the_asking_side_files(alliance, persona):
    prepub = approve(alliance, submit(alliance))
    with pytest.raises(PermissionDenied):
        services.prepub_file(
            prepub=prepub, actor=alliance.users[persona], published_link="https://x.cn/p"
        )
    prepub.refresh_from_db()
    assert prepub.state == P.APPROVED


# --- The state machine --------------------------------------------------------------------------


def _in_state(alliance: Alliance, state: str):
    prepub = submit(alliance)
    if state == P.RETURNED:
        prepub = give_back(alliance, prepub)
    elif state == P.APPROVED:
        prepub = approve(alliance, prepub)
    elif state == P.PUBLISHED:
        prepub = services.prepub_file(
            prepub=approve(alliance, prepub),
            actor=alliance.users["sec_a"],
            published_link="https://x.example.cn/p",
        )
    elif state == P.WITHDRAWN:
        prepub = services.prepub_withdraw(prepub=prepub, actor=alliance.users["sec_a"])
    return Prepublication.objects.get(pk=prepub.pk)


STEP_CALLS = {
    "approve": lambda a, p: approve(a, p),
    "return": lambda a, p: give_back(a, p),
    "resubmit": lambda a, p: services.prepub_resubmit(prepub=p, actor=a.users["sec_a"]),
    "withdraw": lambda a, p: services.prepub_withdraw(prepub=p, actor=a.users["sec_a"]),
    "file": lambda a, p: services.prepub_file(
        prepub=p, actor=a.users["sec_a"], published_link="https://x.example.cn/p"
    ),
}
SOURCES = {
    "approve": {P.SUBMITTED},
    "return": {P.SUBMITTED},
    "resubmit": {P.RETURNED},
    "withdraw": {P.SUBMITTED, P.RETURNED},
    "file": {P.APPROVED},
}
WRONG = [(step, state) for step in STEP_CALLS for state in P.values if state not in SOURCES[step]]


@pytest.mark.parametrize(("step", "state"), WRONG)
def test_a_step_from_the_wrong_state_is_a_conflict(alliance, step, state):
    prepub = _in_state(alliance, state)
    count = prepub.steps.count()

    with pytest.raises(services.AllianceConflict) as caught:
        STEP_CALLS[step](alliance, prepub)

    assert prepub.get_state_display() in caught.value.messages[0]
    prepub.refresh_from_db()
    assert prepub.state == state
    assert prepub.steps.count() == count


def test_a_stale_copy_is_told_someone_else_acted(alliance):
    """Two people on the same page: the department approves, the unit's withdrawal from the
    page it loaded before is refused with the conflict message."""
    prepub = submit(alliance)
    stale = Prepublication.objects.get(pk=prepub.pk)
    approve(alliance, prepub)

    with pytest.raises(services.AllianceConflict) as caught:
        services.prepub_withdraw(prepub=stale, actor=alliance.users["sec_a"])

    assert caught.value.messages[0].startswith("该申请已被他人处理（当前状态：已批准，待发布）")
    assert Prepublication.objects.get(pk=prepub.pk).state == P.APPROVED


def test_the_record_of_a_whole_run(alliance):
    prepub = submit(alliance)
    prepub = give_back(alliance, prepub)
    prepub = services.prepub_resubmit(prepub=prepub, actor=alliance.users["sec_a"])
    prepub = approve(alliance, prepub)
    prepub = services.prepub_file(
        prepub=prepub, actor=alliance.users["admin_a"], published_link="https://x.example.cn/p"
    )

    assert steps_of(prepub) == [
        (PrepubAction.SUBMIT, "", P.SUBMITTED),
        (PrepubAction.RETURN, P.SUBMITTED, P.RETURNED),
        (PrepubAction.RESUBMIT, P.RETURNED, P.SUBMITTED),
        (PrepubAction.APPROVE, P.SUBMITTED, P.APPROVED),
        (PrepubAction.FILE, P.APPROVED, P.PUBLISHED),
    ]
    actors = list(prepub.steps.order_by("at", "id").values_list("actor__username", flat=True))
    assert actors == ["sec_a", "propaganda", "sec_a", "propaganda", "admin_a"]
    audit = list(
        AuditEvent.objects.filter(action=AuditAction.PREPUBLICATION, object_id=str(prepub.pk))
        .order_by("pk")
        .values_list("detail__step", "detail__from", "detail__to")
    )
    assert audit == steps_of(prepub)
