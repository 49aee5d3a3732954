"""The write services of campusmedia.services: history, team rules, unit rules, role rules, and
the append-only audit log."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campusmedia import services
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, Role, TeamRole, UnitKind
from campusmedia.models import (
    AccountHistory,
    AuditEvent,
    MediaAccount,
    RoleAssignment,
    TeamMember,
    Unit,
    UnitGroupObjectPermission,
)
from campusmedia.models.audit import AuditAction
from tests.conftest import ACCOUNTS, World

# --- account_update and its history ---------------------------------------------------------


def test_account_update_keeps_old_and_new_values_and_the_source(world: World) -> None:
    account = world.accounts["a"]
    actor = world.users["sec_a"]
    history_before = account.history.count()

    services.account_update(
        account=account,
        actor=actor,
        source="审批号 2026-001",
        name="计算机学院新官微",
        follower_count=1200,
    )

    account.refresh_from_db()
    assert account.name == "计算机学院新官微"
    assert account.history.count() == history_before + 1
    row = account.history.first()
    assert row.action == AccountHistory.Action.CHANGED
    assert row.source == "审批号 2026-001"
    assert (row.actor, row.actor_name) == (actor, "sec_a")
    assert row.changes == {
        "name": {"label": "账号名称（昵称）", "old": ACCOUNTS["a"][0], "new": "计算机学院新官微"},
        "follower_count": {"label": "粉丝量", "old": "", "new": "1200"},
    }
    audit = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_CHANGED).first()
    assert audit.detail == {"fields": ["follower_count", "name"], "source": "审批号 2026-001"}


def test_account_update_status_change_is_a_status_row_with_labels(world: World) -> None:
    account = world.accounts["a"]
    services.account_update(
        account=account, actor=None, source="注销申请", status=AccountStatus.CLOSED
    )
    account.refresh_from_db()
    assert account.closed_on == timezone.localdate()
    row = account.history.first()
    assert row.action == AccountHistory.Action.STATUS
    assert row.changes["status"] == {"label": "状态", "old": "运行中", "new": "已停办"}


def test_account_update_without_change_writes_nothing(world: World) -> None:
    account = world.accounts["a"]
    history = AccountHistory.objects.count()
    audit = AuditEvent.objects.count()
    updated_at = MediaAccount.objects.get(pk=account.pk).updated_at

    services.account_update(
        account=account, actor=None, source="无变化", name=account.name, status=account.status
    )

    assert AccountHistory.objects.count() == history
    assert AuditEvent.objects.count() == audit
    assert MediaAccount.objects.get(pk=account.pk).updated_at == updated_at


def test_account_update_invalid_saves_nothing(world: World) -> None:
    account = world.accounts["a"]  # active: an account id is required
    history = AccountHistory.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.account_update(account=account, actor=None, source="x", account_id="", name="新")
    assert "account_id" in exc.value.message_dict
    account.refresh_from_db()
    assert (account.name, account.account_id) == (ACCOUNTS["a"][0], ACCOUNTS["a"][4])
    assert AccountHistory.objects.count() == history


# --- Teams -----------------------------------------------------------------------------------


def test_new_supervisor_ends_the_old_one(world: World) -> None:
    account = world.accounts["b"]
    old = world.supervisors["b"]
    new = services.person_create(actor=None, name="新分管领导", unit=world.units["b"])

    member = services.team_member_add(
        account=account, person=new, role=TeamRole.SUPERVISOR, actor=None, source="变更申请"
    )

    current = TeamMember.objects.current().filter(account=account, role=TeamRole.SUPERVISOR)
    assert list(current) == [member]
    ended = TeamMember.objects.get(account=account, person=old, role=TeamRole.SUPERVISOR)
    assert ended.ends_on == timezone.localdate()
    row = account.history.first()
    assert row.action == AccountHistory.Action.TEAM
    assert row.changes["supervisor_ended"]["old"] == old.name
    assert row.changes["supervisor"]["new"] == "新分管领导"
    # The administrators are not touched.
    admins = TeamMember.objects.current().filter(account=account, role=TeamRole.ADMINISTRATOR)
    assert [m.person for m in admins] == [world.admins["b"]]


def test_second_administrator_does_not_end_the_first(world: World) -> None:
    account = world.accounts["b"]
    extra = services.person_create(actor=None, name="第二管理员", unit=world.units["b"])
    services.team_member_add(
        account=account, person=extra, role=TeamRole.ADMINISTRATOR, actor=None, source="x"
    )
    admins = TeamMember.objects.current().filter(account=account, role=TeamRole.ADMINISTRATOR)
    assert {m.person for m in admins} == {world.admins["b"], extra}


# --- Units -----------------------------------------------------------------------------------


@pytest.mark.parametrize("parent", ["propaganda", "a", "school"])
def test_school_student_org_only_under_the_youth_league(world: World, parent: str) -> None:
    units = Unit.objects.count()
    rows = UnitGroupObjectPermission.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=None,
            code="bad-org",
            name="某社团",
            kind=UnitKind.SCHOOL_STUDENT_ORG,
            parent=world.units[parent],
        )
    assert list(exc.value.message_dict) == ["parent"]
    assert Unit.objects.count() == units
    assert UnitGroupObjectPermission.objects.count() == rows


def test_college_student_org_not_under_a_functional_unit(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.unit_create(
            actor=None,
            code="bad-org",
            name="某社团",
            kind=UnitKind.COLLEGE_STUDENT_ORG,
            parent=world.units["league"],
        )
    assert exc.value.message_dict == {"parent": ["“院级学生组织”不能隶属于“机关部门”。"]}


def test_school_student_org_under_the_youth_league_is_accepted(world: World) -> None:
    unit = services.unit_create(
        actor=None,
        code="club",
        name="摄影协会",
        kind=UnitKind.SCHOOL_STUDENT_ORG,
        parent=world.units["league"],
    )
    assert unit.tier == 3
    assert AuditEvent.objects.filter(
        action=AuditAction.UNIT_CHANGED, object_id=str(unit.pk)
    ).exists()


# --- Roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PROPAGANDA_REVIEWER, Role.PROPAGANDA_HEAD])
@pytest.mark.parametrize("unit", ["a", "league", "school"])
def test_propaganda_roles_only_in_the_propaganda_department(
    world: World, role: str, unit: str
) -> None:
    person = world.admins[unit]
    groups = Group.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.role_assign(person=person, unit=world.units[unit], role=role, actor=None)
    assert exc.value.message_dict == {"role": [services.ERR_ROLE_NEEDS_PROPAGANDA]}
    assert not RoleAssignment.objects.filter(person=person).exists()
    assert Group.objects.count() == groups


def test_league_approver_only_in_the_youth_league(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.role_assign(
            person=world.admins["a"], unit=world.units["a"], role=Role.LEAGUE_APPROVER, actor=None
        )
    assert exc.value.message_dict == {"role": [services.ERR_ROLE_NEEDS_LEAGUE]}


def test_propaganda_role_in_the_propaganda_department_is_accepted(world: World) -> None:
    person = world.admins["propaganda"]
    assignment = services.role_assign(
        person=person, unit=world.units["propaganda"], role=Role.PROPAGANDA_HEAD, actor=None
    )
    assert assignment.is_active()
    row = AuditEvent.objects.filter(action=AuditAction.ROLE_ASSIGNED).first()
    assert row.object_id == str(person.pk)
    assert row.detail["role"] == Role.PROPAGANDA_HEAD


def test_the_same_role_twice_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.role_assign(
            person=world.people["sec_a"], unit=world.units["a"], role=Role.SECRETARY, actor=None
        )
    assert "role" in exc.value.message_dict
    assert RoleAssignment.objects.filter(person=world.people["sec_a"]).count() == 1


# --- People ----------------------------------------------------------------------------------


def test_person_update_audits_field_names_never_values(world: World) -> None:
    person = world.admins["a"]
    services.person_update(
        person=person, actor=None, mobile="13912345678", id_number="440524188001010014"
    )
    row = AuditEvent.objects.filter(action=AuditAction.PERSON_CHANGED).first()
    assert sorted(row.detail["fields"]) == ["id_number", "mobile"]
    everything = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    assert "13912345678" not in everything
    assert "440524188001010014" not in everything


# --- The audit log is append-only ------------------------------------------------------------


def test_audit_rows_cannot_be_changed_or_deleted(world: World) -> None:
    event = audit_record(action=AuditAction.LOGIN, actor=world.users["sec_a"])
    count = AuditEvent.objects.count()

    event.actor_name = "someone else"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="someone else")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    # bulk_update runs in its own atomic block: a savepoint keeps the test's transaction usable.
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["actor_name"])

    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.get(pk=event.pk).actor_name == "sec_a"
