"""Access follows a person's current roles on the very next request (SECURITY.md, Authorization:
"moving a person between units changes what they see at once")."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campusmedia import services
from campusmedia.choices import Role
from campusmedia.models import AuditEvent, RoleAssignment, UnitGroupObjectPermission
from campusmedia.models.audit import AuditAction
from tests.conftest import World, make_login


def _account_url(world: World, key: str) -> str:
    return reverse("account_detail", args=[world.accounts[key].pk])


def _api_account_url(world: World, key: str) -> str:
    return f"/api/v1/accounts/{world.accounts[key].pk}/"


def _api_names(client) -> set[str]:
    return {row["name"] for row in client.get("/api/v1/accounts/").json()["results"]}


def test_move_changes_what_the_same_session_sees(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    assert client.get(_api_account_url(world, "a")).status_code == 200
    assert client.get(_api_account_url(world, "b")).status_code == 404

    services.person_move(person=world.people["sec_a"], unit=world.units["b"], actor=None)

    # Same client, same session, no new login.
    assert client.get(_api_account_url(world, "a")).status_code == 404
    assert client.get(_api_account_url(world, "b")).status_code == 200
    assert _api_names(client) == world.account_names("b")
    person = world.people["sec_a"]
    person.refresh_from_db()
    assert person.unit == world.units["b"]
    current = RoleAssignment.objects.active().filter(person=person)
    assert [(a.unit_id, a.role) for a in current] == [(world.units["b"].pk, Role.SECRETARY)]


def test_move_changes_pages_on_the_next_request(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    assert client.get(_account_url(world, "a")).status_code == 200
    assert client.get(_account_url(world, "b")).status_code == 404

    services.person_move(person=world.people["sec_a"], unit=world.units["b"], actor=None)

    assert client.get(_account_url(world, "a")).status_code == 404
    assert client.get(_account_url(world, "b")).status_code == 200
    response = client.get(reverse("registry"))
    assert {a.name for a in response.context["page"].object_list} == world.account_names("b")


def test_role_end_removes_access_at_once(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    assert client.get(_api_account_url(world, "a")).status_code == 200
    assignment = RoleAssignment.objects.active().get(person=world.people["sec_a"])

    services.role_end(assignment=assignment, actor=None)

    assert client.get(_api_account_url(world, "a")).status_code == 404
    assert _api_names(client) == set()
    assignment.refresh_from_db()
    assert assignment.ends_on == timezone.localdate()


def test_role_starting_tomorrow_gives_no_access_today(world: World, client_for) -> None:
    user = make_login("new_sec")
    person = services.person_create(actor=None, name="新秘书", unit=world.units["a"], user=user)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    services.role_assign(
        person=person, unit=world.units["a"], role=Role.SECRETARY, actor=None, starts_on=tomorrow
    )
    client = client_for(user)

    assert client.get(_api_account_url(world, "a")).status_code == 404
    assert _api_names(client) == set()
    assert RoleAssignment.objects.filter(person=person, starts_on=tomorrow).count() == 1


def test_role_with_end_date_in_the_past_gives_no_access(world: World, client_for) -> None:
    user = make_login("old_sec")
    person = services.person_create(actor=None, name="前任秘书", unit=world.units["a"], user=user)
    today = timezone.localdate()
    services.role_assign(
        person=person,
        unit=world.units["a"],
        role=Role.SECRETARY,
        actor=None,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today,
    )
    assert client_for(user).get(_api_account_url(world, "a")).status_code == 404


def test_moves_and_role_changes_write_no_permission_rows(world: World) -> None:
    rows = UnitGroupObjectPermission.objects.count()
    snapshot = set(
        UnitGroupObjectPermission.objects.values_list(
            "group_id", "permission_id", "content_object_id"
        )
    )

    services.person_move(person=world.people["sec_a"], unit=world.units["b"], actor=None)
    services.person_move(person=world.people["head_a"], unit=world.units["b"], actor=None)
    services.role_end(
        assignment=RoleAssignment.objects.active().get(person=world.people["sec_b"]), actor=None
    )

    assert UnitGroupObjectPermission.objects.count() == rows
    assert (
        set(
            UnitGroupObjectPermission.objects.values_list(
                "group_id", "permission_id", "content_object_id"
            )
        )
        == snapshot
    )


def test_move_is_audited(world: World) -> None:
    services.person_move(
        person=world.people["sec_a"], unit=world.units["b"], actor=world.users["propaganda"]
    )
    row = AuditEvent.objects.filter(action=AuditAction.PERSON_MOVED).get()
    assert row.actor == world.users["propaganda"]
    assert row.detail == {"from": "cs", "to": "me", "roles": [Role.SECRETARY]}
    ended = AuditEvent.objects.filter(
        action=AuditAction.ROLE_ENDED, object_id=str(world.people["sec_a"].pk)
    )
    assert ended.count() == 1


@pytest.mark.parametrize("persona", ["sec_a", "head_a"])
def test_moved_person_loses_rights_on_old_units_sub_units(
    world: World, client_for, persona: str
) -> None:
    client = client_for(world.users[persona])
    services.person_move(person=world.people[persona], unit=world.units["b"], actor=None)
    for key in ("a", "a_sub", "a_org"):
        assert client.get(_api_account_url(world, key)).status_code == 404, key
