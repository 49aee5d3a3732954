"""alliance.services for the charter, the members and the coordinated tasks: who may, what is
written, what is refused (with the field named), and who hears about it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alliance import selectors, services
from alliance.choices import AssignmentState, MemberRole, MembershipState, TaskAudience
from alliance.models import Assignment, CharterVersion, Membership, Task
from approvals.models import Notification
from campusmedia import services as registry
from campusmedia.choices import AccountStatus
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import Alliance, soon
from tests.conftest import SOURCE

pytestmark = pytest.mark.django_db

MEMBERS_BY_RULE = {
    "学校官方微信",
    "宣传部新闻号",
    "计算机学院官微",
    "计算机学院抖音",
    "机械学院官微",
}


def member_names() -> set[str]:
    return set(selectors.members().values_list("name", flat=True))


# --- Charter ----------------------------------------------------------------------------------


def test_versions_are_numbered_in_order_and_the_current_one_is_in_force(alliance: Alliance):
    propaganda = alliance.world.users["propaganda"]
    today = timezone.localdate()
    first = services.charter_publish(
        actor=propaganda, title="章程", body="第一条 总则", effective_on=today
    )
    second = services.charter_publish(
        actor=propaganda,
        title="章程",
        body="第一条 总则（修订）",
        effective_on=today + datetime.timedelta(days=10),
        summary="修订第一条",
    )

    assert (first.number, second.number) == (1, 2)
    assert selectors.charter_current() == first  # the second is not in force yet
    assert selectors.charter_current(today + datetime.timedelta(days=10)) == second
    assert AuditEvent.objects.filter(action=AuditAction.CHARTER).count() == 2


def test_a_version_may_not_take_effect_before_the_latest(alliance: Alliance):
    propaganda = alliance.world.users["propaganda"]
    today = timezone.localdate()
    services.charter_publish(actor=propaganda, title="章程", body="正文", effective_on=today)

    with pytest.raises(ValidationError) as caught:
        services.charter_publish(
            actor=propaganda,
            title="章程",
            body="正文二",
            effective_on=today - datetime.timedelta(days=1),
        )
    assert "生效日期" in caught.value.message_dict["effective_on"][0]
    assert CharterVersion.objects.count() == 1


@pytest.mark.parametrize("persona", ["sec_a", "head_a", "auditor", "league", "admin_a"])
def test_only_the_secretariat_publishes_the_charter(alliance: Alliance, persona: str):
    with pytest.raises(PermissionDenied):
        services.charter_publish(
            actor=alliance.users[persona],
            title="章程",
            body="正文",
            effective_on=timezone.localdate(),
        )
    assert not CharterVersion.objects.exists()


def test_an_empty_body_is_refused_by_field(alliance: Alliance):
    with pytest.raises(ValidationError) as caught:
        services.charter_publish(
            actor=alliance.world.users["propaganda"],
            title="章程",
            body="   ",
            effective_on=timezone.localdate(),
        )
    assert "body" in caught.value.message_dict


# --- Members ----------------------------------------------------------------------------------


def test_active_accounts_of_tiers_one_and_two_are_members_and_a_closed_one_leaves(
    alliance: Alliance,
):
    assert member_names() == MEMBERS_BY_RULE

    registry.account_update(
        account=alliance.world.accounts["b"],
        actor=None,
        source=SOURCE,
        status=AccountStatus.CLOSED,
    )
    assert member_names() == MEMBERS_BY_RULE - {"机械学院官微"}


def test_the_flagship_sits_on_the_council_by_default(alliance: Alliance):
    roles = dict(selectors.members().values_list("name", "member_role"))
    assert roles["学校官方微信"] == MemberRole.COUNCIL
    assert roles["计算机学院官微"] == MemberRole.MEMBER


def test_a_tier_three_account_joins_on_approval(
    alliance: Alliance, django_capture_on_commit_callbacks
):
    world = alliance.world
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_apply(
            account=alliance.a_sub_live, actor=world.users["sec_a"], reason="宣传实验中心成果"
        )
    assert membership.state == MembershipState.APPLIED
    assert "实验中心视频号" not in member_names()
    assert Notification.objects.filter(
        user=world.users["propaganda"], text__contains="实验中心视频号"
    ).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.membership_decide(
            membership=membership,
            actor=world.users["propaganda"],
            approve=True,
            role=MemberRole.MEMBER,
        )
    membership.refresh_from_db()
    assert membership.state == MembershipState.APPROVED
    assert membership.joined_on == timezone.localdate()
    assert "实验中心视频号" in member_names()
    assert Notification.objects.filter(user=world.users["sec_a"], text__contains="已加入").exists()

    services.membership_leave(account=alliance.a_sub_live, actor=world.users["sec_a"])
    assert "实验中心视频号" not in member_names()
    assert Membership.objects.get(account=alliance.a_sub_live).left_on == timezone.localdate()


def test_a_rejection_needs_a_reason_and_keeps_the_account_out(alliance: Alliance):
    world = alliance.world
    membership = services.membership_apply(
        account=alliance.a_sub_live, actor=world.users["sec_a"], reason="理由"
    )
    with pytest.raises(ValidationError) as caught:
        services.membership_decide(
            membership=membership, actor=world.users["propaganda"], approve=False
        )
    assert "decision_note" in caught.value.message_dict

    services.membership_decide(
        membership=membership, actor=world.users["propaganda"], approve=False, note="内容不符"
    )
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.REJECTED
    assert "实验中心视频号" not in member_names()
    # It may apply again.
    services.membership_apply(
        account=alliance.a_sub_live, actor=world.users["sec_a"], reason="再议"
    )
    assert Membership.objects.get(pk=membership.pk).state == MembershipState.APPLIED


def test_applications_are_refused_for_members_by_rule_outsiders_and_twice(alliance: Alliance):
    world = alliance.world
    with pytest.raises(ValidationError) as caught:
        services.membership_apply(
            account=world.accounts["a"], actor=world.users["sec_a"], reason="理由"
        )
    assert "自动成为联盟成员" in caught.value.message_dict["account"][0]

    with pytest.raises(PermissionDenied):
        services.membership_apply(
            account=alliance.a_sub_live, actor=world.users["sec_b"], reason="理由"
        )
    with pytest.raises(ValidationError) as caught:
        services.membership_apply(
            account=alliance.a_sub_live, actor=world.users["sec_a"], reason=" "
        )
    assert "reason" in caught.value.message_dict

    services.membership_apply(account=alliance.a_sub_live, actor=world.users["sec_a"], reason="1")
    with pytest.raises(services.AllianceConflict):
        services.membership_apply(
            account=alliance.a_sub_live, actor=world.users["sec_a"], reason="2"
        )


def test_a_suspended_tier_three_account_may_not_apply(alliance: Alliance):
    with pytest.raises(ValidationError) as caught:
        services.membership_apply(
            account=alliance.world.accounts["a_org"],
            actor=alliance.world.users["sec_a"],
            reason="理由",
        )
    assert "运行中" in caught.value.message_dict["account"][0]


def test_the_secretariat_sets_a_role_and_members_by_rule_cannot_leave(alliance: Alliance):
    world = alliance.world
    services.member_role_set(
        account=world.accounts["a"], actor=world.users["propaganda"], role=MemberRole.COUNCIL
    )
    roles = dict(selectors.members().values_list("name", "member_role"))
    assert roles["计算机学院官微"] == MemberRole.COUNCIL
    with pytest.raises(PermissionDenied):
        services.membership_leave(account=world.accounts["a"], actor=world.users["sec_a"])
    with pytest.raises(PermissionDenied):
        services.member_role_set(
            account=world.accounts["a"], actor=world.users["sec_a"], role=MemberRole.MEMBER
        )
    with pytest.raises(ValidationError):
        services.member_role_set(
            account=alliance.a_sub_live, actor=world.users["propaganda"], role=MemberRole.COUNCIL
        )


# --- Tasks ------------------------------------------------------------------------------------


def test_a_task_to_all_goes_to_every_member_but_the_source(task: Task):
    names = set(task.assignments.values_list("account__name", flat=True))
    assert names == MEMBERS_BY_RULE - {"学校官方微信"}
    assert task.audience == TaskAudience.ALL
    assert set(task.assignments.values_list("state", flat=True)) == {AssignmentState.PENDING}


def test_the_answerers_hear_about_a_task_once_each(
    alliance: Alliance, django_capture_on_commit_callbacks, mailoutbox
):
    world = alliance.world
    world.users["sec_a"].email = "sec_a@example.edu.cn"
    world.users["sec_a"].save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_post(
            actor=world.users["propaganda"],
            title="转发：校庆",
            link="https://example.edu.cn/a",
            due_at=soon(),
        )
    # sec_a answers for two accounts and gets one message; admin_a for one; sec_b for one.
    told = list(
        Notification.objects.filter(url=task.get_absolute_url()).values_list(
            "user__username", flat=True
        )
    )
    assert sorted(told) == ["admin_a", "sec_a", "sec_b"]
    assert [m.to for m in mailoutbox] == [["sec_a@example.edu.cn"]]


def test_a_task_to_chosen_members_refuses_outsiders_and_nothing_is_saved(alliance: Alliance):
    world = alliance.world
    with pytest.raises(ValidationError) as caught:
        services.task_post(
            actor=world.users["propaganda"],
            title="转发",
            link="https://example.edu.cn/a",
            due_at=soon(),
            accounts=[world.accounts["a"], alliance.a_sub_live],
        )
    assert "实验中心视频号" in caught.value.message_dict["accounts"][0]
    assert not Task.objects.exists()

    task = services.task_post(
        actor=world.users["propaganda"],
        title="转发",
        link="https://example.edu.cn/a",
        due_at=soon(),
        accounts=[world.accounts["a"]],
    )
    assert list(task.assignments.values_list("account__name", flat=True)) == ["计算机学院官微"]
    assert task.audience == TaskAudience.CHOSEN


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"due_at": timezone.now() - datetime.timedelta(minutes=1)}, "due_at"),
        ({"link": "not a link"}, "link"),
        ({"title": ""}, "title"),
        ({"accounts": []}, "accounts"),
    ],
)
def test_bad_tasks_are_refused_by_field(alliance: Alliance, fields: dict, field: str):
    values = {"title": "转发", "link": "https://example.edu.cn/a", "due_at": soon(), **fields}
    with pytest.raises(ValidationError) as caught:
        services.task_post(actor=alliance.world.users["propaganda"], **values)
    assert field in caught.value.message_dict
    assert not Task.objects.exists()
    assert not Assignment.objects.exists()


def test_only_the_secretariat_posts_tasks(alliance: Alliance):
    for persona in ("sec_a", "auditor", "admin_a"):
        with pytest.raises(PermissionDenied):
            services.task_post(
                actor=alliance.users[persona],
                title="转发",
                link="https://example.edu.cn/a",
                due_at=soon(),
            )


def test_done_needs_a_link_declined_needs_a_reason_and_an_answer_may_change(
    alliance: Alliance, task: Task
):
    world = alliance.world
    mine = task.assignments.get(account=world.accounts["a"])
    with pytest.raises(ValidationError) as caught:
        services.assignment_answer(assignment=mine, actor=world.users["sec_a"], done=True)
    assert "post_link" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.assignment_answer(assignment=mine, actor=world.users["sec_a"], done=False)
    assert "reason" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.assignment_answer(
            assignment=mine, actor=world.users["sec_a"], done=True, post_link="javascript:x"
        )
    assert "post_link" in caught.value.message_dict
    mine.refresh_from_db()
    assert mine.state == AssignmentState.PENDING

    services.assignment_answer(
        assignment=mine, actor=world.users["sec_a"], done=False, reason="今日推送已满"
    )
    mine.refresh_from_db()
    assert (mine.state, mine.reason) == (AssignmentState.DECLINED, "今日推送已满")

    services.assignment_answer(
        assignment=mine, actor=alliance.admin_a, done=True, post_link="https://x.cn/post"
    )
    mine.refresh_from_db()
    assert (mine.state, mine.post_link, mine.reason) == (
        AssignmentState.DONE,
        "https://x.cn/post",
        "",
    )
    assert mine.answered_by == alliance.admin_a
    assert (
        AuditEvent.objects.filter(action=AuditAction.ALLIANCE_TASK, detail__step="answer").count()
        == 2
    )


@pytest.mark.parametrize(
    ("persona", "account", "allowed"),
    [
        ("sec_a", "a", True),
        ("sec_a", "a_douyin", True),
        ("admin_a", "a", True),
        ("admin_a", "a_douyin", False),  # administers only 计算机学院官微
        ("head_a", "a", False),  # signs for the unit, does not keep its accounts
        ("sec_b", "a", False),
        ("auditor", "a", False),
        ("propaganda", "a", True),  # the department keeps every unit's accounts
        ("sec_b", "b", True),
    ],
)
def test_who_answers_for_an_account(
    alliance: Alliance, task: Task, persona: str, account: str, allowed: bool
):
    assignment = task.assignments.get(account=alliance.accounts[account])
    call = lambda: services.assignment_answer(  # noqa: E731
        assignment=assignment, actor=alliance.users[persona], done=False, reason="理由"
    )
    if allowed:
        call()
        assert Assignment.objects.get(pk=assignment.pk).state == AssignmentState.DECLINED
    else:
        with pytest.raises(PermissionDenied):
            call()
        assert Assignment.objects.get(pk=assignment.pk).state == AssignmentState.PENDING


def test_progress_per_unit_counts_each_answer(alliance: Alliance, task: Task):
    world = alliance.world
    for account, done in (("a", True), ("a_douyin", False)):
        services.assignment_answer(
            assignment=task.assignments.get(account=alliance.accounts[account]),
            actor=world.users["sec_a"],
            done=done,
            post_link="https://x.cn/p" if done else "",
            reason="" if done else "不适合",
        )
    from campusmedia.permissions import Access

    rows = {
        row.unit_name: (row.done, row.total)
        for row in selectors.unit_progress(
            selectors.task_assignments(Access(world.users["propaganda"]), task)
        )
    }
    assert rows["计算机学院"] == (1, 2)
    assert rows["机械学院"] == (0, 1)
    listed = selectors.task_list(Access(world.users["sec_a"])).get(pk=task.pk)
    assert (listed.total, listed.done, listed.declined) == (2, 1, 1)  # only sec_a's accounts
    everything = selectors.task_list(Access(world.users["propaganda"])).get(pk=task.pk)
    assert (everything.total, everything.done, everything.declined) == (4, 1, 1)


def test_pending_assignments_are_what_the_user_answers(alliance: Alliance, task: Task):
    from campusmedia.permissions import Access

    def pending(persona: str) -> set[str]:
        access = Access(alliance.users[persona])
        return {a.account.name for a in selectors.pending_assignments(access)}

    assert pending("sec_a") == {"计算机学院官微", "计算机学院抖音"}
    assert pending("admin_a") == {"计算机学院官微"}
    assert pending("sec_b") == {"机械学院官微"}
    assert pending("auditor") == set()
    assert pending("head_a") == set()
    # The department answers for the school's own accounts only (here: none but the source).
    assert pending("propaganda") == set()
