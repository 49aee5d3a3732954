"""The request workflow through its services: routing by tier, effects, numbering, timeline."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals import services
from approvals.choices import RequestKind, RequestState, StepAction
from approvals.models import Notification, TeamChangeEvent
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import AccountHistory, AuditEvent, MediaAccount, Platform
from tests.approvals.conftest import new_team, open_request

pytestmark = pytest.mark.django_db
S = RequestState
YEAR = timezone.localdate().year


def test_tier2_open_journey(world):
    """sec_a files, head_a signs, propaganda approves, sec_a reports the opening."""
    req = open_request(world)
    assert req.state == S.DRAFT
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert req.state == S.SUBMITTED
    req = services.request_endorse(account_request=req, actor=world.users["head_a"], comment="同意")
    assert req.state == S.ENDORSED
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    assert req.state == S.APPROVED
    assert req.approval_number == f"XCB-{YEAR}-0001"
    account = req.account
    assert account is not None
    assert account.status == AccountStatus.APPROVED
    assert account.approval_number == req.approval_number
    assert account.owner_unit == world.units["a"]
    team = {(m.role, m.person.name) for m in account.team.current().select_related("person")}
    assert team == {(TeamRole.SUPERVISOR, "新分管领导"), (TeamRole.ADMINISTRATOR, "新管理员")}
    assert account.history.filter(source=req.approval_number).exists()
    steps = list(req.steps.values_list("action", "source_state", "target_state"))
    assert steps == [
        (StepAction.CREATE, S.DRAFT, S.DRAFT),
        (StepAction.SUBMIT, S.DRAFT, S.SUBMITTED),
        (StepAction.ENDORSE, S.SUBMITTED, S.ENDORSED),
        (StepAction.APPROVE, S.ENDORSED, S.APPROVED),
    ]
    assert AuditEvent.objects.filter(action="request_step", object_id=str(req.pk)).count() == 4


def test_tier3_school_org_is_signed_by_league_and_recorded(world, league_sec):
    req = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["school_org"],
        actor=league_sec,
        data={"name": "校学生会视频号", "platform": Platform.objects.get(code="douyin")},
        team=new_team("社团"),
    )
    req = services.request_submit(account_request=req, actor=league_sec)
    with pytest.raises(PermissionDenied):
        services.request_endorse(account_request=req, actor=world.users["head_a"])
    with pytest.raises(PermissionDenied):  # the department decides, it does not sign first
        services.request_endorse(account_request=req, actor=world.users["propaganda"])
    req = services.request_endorse(account_request=req, actor=world.users["league"])
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    assert req.state == S.APPROVED
    assert req.steps.last().action == StepAction.RECORD


def test_final_step_never_before_the_first(world):
    req = services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    with pytest.raises(services.RequestConflict):
        services.request_approve(account_request=req, actor=world.users["propaganda"])
    req.refresh_from_db()
    assert req.state == S.SUBMITTED
    assert req.approval_number == ""


def test_tier1_one_step_by_the_propaganda_head(world, propaganda_head):
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["school"],
        account=world.accounts["school"],
        actor=world.users["propaganda"],
        data={
            **services.account_data(world.accounts["school"]),
            "platform": world.accounts["school"].platform,
            "follower_count": 120000,
        },
        team=services.team_of(world.accounts["school"]),
    )
    req = services.request_submit(account_request=req, actor=world.users["propaganda"])
    with pytest.raises(services.RequestConflict):
        services.request_endorse(account_request=req, actor=world.users["head_a"])
    with pytest.raises(PermissionDenied):  # reviewers decide tiers 2 and 3 only
        services.request_approve(account_request=req, actor=world.users["propaganda"])
    req = services.request_approve(account_request=req, actor=propaganda_head)
    assert req.state == S.APPROVED
    world.accounts["school"].refresh_from_db()
    assert world.accounts["school"].follower_count == 120000


def test_nobody_signs_their_own_request(world):
    """head_a files a request for college A; head_a may not sign it."""
    req = open_request(world)
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert req.submitted_by == world.users["sec_a"]
    own = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["propaganda"],
        actor=world.users["propaganda"],
        data={"name": "宣传部视频号", "platform": world.accounts["a"].platform},
        team=new_team(),
    )
    own = services.request_submit(account_request=own, actor=world.users["propaganda"])
    # Nobody else at the department signs first here, and propaganda may not approve its own.
    with pytest.raises(PermissionDenied):
        services.request_endorse(account_request=own, actor=world.users["propaganda"])


def test_return_for_changes_needs_a_comment_and_goes_back_to_the_filer(
    world, django_capture_on_commit_callbacks
):
    req = services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    with pytest.raises(ValidationError) as error:
        services.request_return(account_request=req, actor=world.users["head_a"], comment=" ")
    assert "意见" in str(error.value)
    with django_capture_on_commit_callbacks(execute=True):
        req = services.request_return(
            account_request=req, actor=world.users["head_a"], comment="请补充功能定位"
        )
    assert req.state == S.RETURNED
    assert Notification.objects.filter(user=world.users["sec_a"], verb="returned").exists()
    req = services.request_update(
        account_request=req,
        actor=world.users["sec_a"],
        data={**services.data_to_fields(req.data), "function_description": "学院官方信息发布"},
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert req.state == S.SUBMITTED
    assert req.data["function_description"] == "学院官方信息发布"


def test_reject_and_withdraw(world):
    req = services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    with pytest.raises(PermissionDenied):
        services.request_withdraw(account_request=req, actor=world.users["sec_b"])
    req = services.request_reject(
        account_request=req, actor=world.users["head_a"], comment="不符合要求"
    )
    assert req.state == S.REJECTED
    with pytest.raises(services.RequestConflict):
        services.request_withdraw(account_request=req, actor=world.users["sec_a"])
    other = services.request_submit(
        account_request=open_request(world, name="另一个号"), actor=world.users["sec_a"]
    )
    other = services.request_withdraw(account_request=other, actor=world.users["sec_a"])
    assert other.state == S.WITHDRAWN
    assert not MediaAccount.objects.filter(name="另一个号").exists()


def test_auditor_and_outsider_cannot_file_or_act(world):
    with pytest.raises(PermissionDenied):
        open_request(world, by="auditor")
    with pytest.raises(PermissionDenied):
        open_request(world, by="sec_b")
    req = services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    for who in ("auditor", "sec_b", "league"):
        with pytest.raises(PermissionDenied):
            services.request_endorse(account_request=req, actor=world.users[who])


def test_numbers_follow_each_other_and_a_failed_step_uses_none(world, monkeypatch):
    numbers = []
    for i in range(3):
        req = services.request_submit(
            account_request=open_request(world, name=f"号{i}"), actor=world.users["sec_a"]
        )
        req = services.request_endorse(account_request=req, actor=world.users["head_a"])
        if i == 1:

            def boom(*args, **kwargs):
                raise RuntimeError("registry down")

            monkeypatch.setattr(services, "_apply", boom)
            with pytest.raises(RuntimeError):
                services.request_approve(account_request=req, actor=world.users["propaganda"])
            monkeypatch.undo()
            req.refresh_from_db()
            assert req.state == S.ENDORSED and req.approval_number == ""
            assert req.steps.count() == 3  # nothing of the failed step was kept
        req = services.request_approve(account_request=req, actor=world.users["propaganda"])
        numbers.append(req.approval_number)
    assert numbers == [f"XCB-{YEAR}-0001", f"XCB-{YEAR}-0002", f"XCB-{YEAR}-0003"]


def test_change_replaces_values_and_team_history_keeps_both(world):
    account = world.accounts["a"]
    team = services.team_of(account)
    team = [row for row in team if row["role"] == TeamRole.SUPERVISOR] + [new_team()[1]]
    data = {**services.data_to_fields(services.account_data(account)), "name": "计算机学院发布"}
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=data,
        team=team,
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert req.before["name"] == "计算机学院官微"
    req = services.request_endorse(account_request=req, actor=world.users["head_a"])
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    account.refresh_from_db()
    assert account.name == "计算机学院发布"
    change = account.history.get(action=AccountHistory.Action.CHANGED, source=req.approval_number)
    assert change.changes["name"]["old"] == "计算机学院官微"
    assert change.changes["name"]["new"] == "计算机学院发布"
    admins = [m.person.name for m in account.team.current().filter(role=TeamRole.ADMINISTRATOR)]
    assert admins == ["新管理员"]


def test_close_closes_and_ends_the_team(world):
    account = world.accounts["b"]
    with pytest.raises(ValidationError):
        services.request_create(
            kind=RequestKind.CLOSE,
            owner_unit=world.units["b"],
            account=account,
            actor=world.users["sec_b"],
        )
    req = services.request_create(
        kind=RequestKind.CLOSE,
        owner_unit=world.units["b"],
        account=account,
        actor=world.users["sec_b"],
        reason="学院合并，不再运营",
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_b"])
    # 机械学院 has no head in the world: give it one.
    from campusmedia import services as registry
    from campusmedia.choices import Role
    from tests.conftest import make_login

    head = make_login("head_b")
    person = registry.person_create(actor=None, name="机械书记", unit=world.units["b"], user=head)
    registry.role_assign(person=person, unit=world.units["b"], role=Role.HEAD, actor=None)
    req = services.request_endorse(account_request=req, actor=head)
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSED
    assert account.closed_on == timezone.localdate()
    assert not account.team.current().exists()


def test_one_open_request_per_account(world):
    account = world.accounts["a"]
    services.request_create(
        kind=RequestKind.CLOSE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        reason="停止运营",
    )
    with pytest.raises(ValidationError) as error:
        services.request_create(
            kind=RequestKind.CLOSE,
            owner_unit=world.units["a"],
            account=account,
            actor=world.users["sec_a"],
            reason="停止运营",
        )
    assert "未办结" in str(error.value)


def test_report_opening_makes_the_account_active(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    req = services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    req = services.request_endorse(account_request=req, actor=world.users["head_a"])
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    account = req.account
    pdf = SimpleUploadedFile("承诺书.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with pytest.raises(ValidationError) as error:
        services.account_report_opening(
            account=account, actor=world.users["sec_a"], account_id="", opened_on=None, pledge=None
        )
    assert set(error.value.message_dict) == {"account_id", "opened_on", "pledge"}
    with pytest.raises(PermissionDenied):
        services.account_report_opening(
            account=account,
            actor=world.users["sec_b"],
            account_id="gh_x",
            opened_on=timezone.localdate(),
            pledge=pdf,
        )
    account = services.account_report_opening(
        account=account,
        actor=world.users["sec_a"],
        account_id="gh_newcs",
        opened_on=timezone.localdate(),
        pledge=pdf,
    )
    assert account.status == AccountStatus.ACTIVE
    assert account.account_id == "gh_newcs"
    assert account.attachments.get().content_type == "application/pdf"


def test_late_team_change_marks_the_request_late(world):
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    happened = timezone.localdate() - datetime.timedelta(days=5)
    event = services.team_change_record(
        member=member, actor=world.users["sec_a"], happened_on=happened
    )
    assert event.due_on == happened + datetime.timedelta(days=3)
    assert event.is_late
    team = [r for r in services.team_of(account) if r["role"] == TeamRole.SUPERVISOR] + [
        new_team()[1]
    ]
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=services.data_to_fields(services.account_data(account)),
        team=team,
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert req.is_late
    event.refresh_from_db()
    assert event.filed_by_request == req


def test_team_change_in_time_is_not_late(world):
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    services.team_change_record(
        member=member, actor=world.users["sec_a"], happened_on=timezone.localdate()
    )
    team = [r for r in services.team_of(account) if r["role"] == TeamRole.SUPERVISOR] + [
        new_team()[1]
    ]
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=services.data_to_fields(services.account_data(account)),
        team=team,
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert not req.is_late
    assert TeamChangeEvent.objects.open().count() == 0


def test_submit_tells_the_signer_by_mail(world, django_capture_on_commit_callbacks):
    world.users["head_a"].email = "head.a@example.edu.cn"
    world.users["head_a"].save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    assert [m.to for m in mail.outbox] == [["head.a@example.edu.cn"]]
    assert "待你审签" in mail.outbox[0].subject
    assert Notification.objects.filter(user=world.users["head_a"], verb="to_sign").count() == 1


def test_leaving_the_unit_starts_the_three_day_rule(world):
    """head_a supervises college A's account; ending head_a's role there records the change."""
    from campusmedia import services as registry
    from campusmedia.models import RoleAssignment

    assignment = RoleAssignment.objects.active().get(person=world.people["head_a"])
    registry.role_end(assignment=assignment, actor=None)
    event = TeamChangeEvent.objects.get()
    assert event.account == world.accounts["a"]
    assert event.person == world.people["head_a"]
    assert event.role == TeamRole.SUPERVISOR
    assert event.due_on == timezone.localdate() + datetime.timedelta(days=3)
    assert event.source == "role_ended"


def test_moving_a_team_member_between_units_starts_the_rule(world):
    from campusmedia import services as registry

    registry.person_move(person=world.people["head_a"], unit=world.units["b"], actor=None)
    assert TeamChangeEvent.objects.filter(account=world.accounts["a"]).count() == 1


def test_ending_a_role_of_someone_on_no_team_records_nothing(world):
    from campusmedia import services as registry
    from campusmedia.models import RoleAssignment

    assignment = RoleAssignment.objects.active().get(person=world.people["sec_b"])
    registry.role_end(assignment=assignment, actor=None)
    assert not TeamChangeEvent.objects.exists()


def test_a_person_from_another_unit_cannot_be_named_by_id(world):
    outsider = world.admins["b"]
    team = [
        *new_team()[:1],
        {"role": TeamRole.ADMINISTRATOR, "name": outsider.name, "person": outsider.pk},
    ]
    with pytest.raises(ValidationError) as error:
        services.request_create(
            kind=RequestKind.OPEN,
            owner_unit=world.units["a"],
            actor=world.users["sec_a"],
            data={"name": "某号", "platform": Platform.objects.get(code="wechat")},
            team=team,
        )
    assert "管理队伍" in str(error.value)


def test_renaming_a_prefilled_member_names_a_new_person_and_contacts_are_updated(world):
    account = world.accounts["a"]
    team = services.team_of(account)
    for row in team:
        if row["role"] == TeamRole.ADMINISTRATOR:
            row.update(name="接任管理员", mobile="13912345678")
        else:
            row.update(office_phone="010-62759999")
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=services.data_to_fields(services.account_data(account)),
        team=team,
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    req = services.request_endorse(account_request=req, actor=world.users["head_a"])
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    admins = list(
        account.team.current().filter(role=TeamRole.ADMINISTRATOR).select_related("person")
    )
    assert [m.person.name for m in admins] == ["接任管理员"]
    assert admins[0].person != world.admins["a"]
    assert admins[0].person.mobile == "13912345678"
    world.people["head_a"].refresh_from_db()
    assert world.people["head_a"].office_phone == "010-62759999"


def test_withdrawing_a_change_reopens_its_team_changes(world):
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    services.team_change_record(member=member, actor=None, happened_on=timezone.localdate())
    team = [r for r in services.team_of(account) if r["role"] == TeamRole.SUPERVISOR]
    team.append(new_team()[1])
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=services.data_to_fields(services.account_data(account)),
        team=team,
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    assert TeamChangeEvent.objects.open().count() == 0
    services.request_withdraw(account_request=req, actor=world.users["sec_a"])
    assert TeamChangeEvent.objects.open().count() == 1


def test_notifications_page_lists_and_marks_read(
    world, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(account_request=open_request(world), actor=world.users["sec_a"])
    client = client_for(world.users["head_a"])
    assert "1 条未读消息" in client.get("/").content.decode()
    page = client.get("/requests/notifications/").content.decode()
    assert "待你审签" in page
    assert client.get("/requests/notifications/read/").status_code == 405
    client.post("/requests/notifications/read/")
    assert not Notification.objects.filter(
        user=world.users["head_a"], read_at__isnull=True
    ).exists()
    outsider = client_for(world.users["sec_b"]).get("/requests/notifications/").content.decode()
    assert "待你审签" not in outsider
