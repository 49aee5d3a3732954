"""django-guardian rows are per unit role group and per unit, never per user or per account.

The personas' tree has 21 rows: the secretary (manage) and the head (sign on tier 2, view on its
own tier-3 unit) of each of the 7 units below the school on that unit (14); college A's two
groups on its sub-unit and its student organisation (4); the Youth League's secretary, head and
approver on the school-level organisation (3). Nothing is granted on the school itself.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission, UserObjectPermission

from campusmedia import services
from campusmedia.choices import Role, UnitKind
from campusmedia.models import RoleAssignment, Unit, UnitGroupObjectPermission, UnitRoleGroup
from tests.conftest import World, make_account

WORLD_ROWS = 21


def _codenames(world: World, governing: str, role: str, target: str) -> set[str]:
    group = UnitRoleGroup.objects.get(unit=world.units[governing], role=role).group
    return set(
        UnitGroupObjectPermission.objects.filter(
            group=group, content_object=world.units[target]
        ).values_list("permission__codename", flat=True)
    )


def _targets(world: World, governing: str, role: str) -> set[str]:
    """Codes of the units a group holds any right on."""
    group = UnitRoleGroup.objects.get(unit=world.units[governing], role=role).group
    return set(
        UnitGroupObjectPermission.objects.filter(group=group).values_list(
            "content_object__code", flat=True
        )
    )


def test_world_has_rows_per_unit_and_group_only(world: World) -> None:
    assert UnitGroupObjectPermission.objects.count() == WORLD_ROWS
    assert not UnitGroupObjectPermission.objects.filter(content_object=world.units["school"])
    # Nothing goes through guardian's generic tables, and nothing is granted to a user.
    assert UserObjectPermission.objects.count() == 0
    assert GroupObjectPermission.objects.count() == 0


def test_twenty_more_secretaries_add_no_rows(world: World) -> None:
    rows = UnitGroupObjectPermission.objects.count()
    groups = Group.objects.count()
    for i in range(20):
        person = services.person_create(actor=None, name=f"秘书{i}", unit=world.units["a"])
        services.role_assign(person=person, unit=world.units["a"], role=Role.SECRETARY, actor=None)

    assert UnitGroupObjectPermission.objects.count() == rows
    assert Group.objects.count() == groups
    # All of them act through the one secretary group of college A.
    secretaries = RoleAssignment.objects.filter(unit=world.units["a"], role=Role.SECRETARY)
    assert secretaries.count() == 21
    assert secretaries.values("group").distinct().count() == 1


def test_fifty_more_accounts_add_no_rows(world: World) -> None:
    rows = UnitGroupObjectPermission.objects.count()
    for i in range(50):
        make_account(unit=world.units["a" if i % 2 else "a_org"], name=f"新账号{i}")
    assert UnitGroupObjectPermission.objects.count() == rows


def test_creating_a_sub_unit_adds_rows_only_on_it(world: World) -> None:
    before = set(UnitGroupObjectPermission.objects.values_list("pk", flat=True))
    unit = services.unit_create(
        actor=None, code="cs-ai", name="人工智能系", kind=UnitKind.SUB_UNIT, parent=world.units["a"]
    )
    new = UnitGroupObjectPermission.objects.exclude(pk__in=before)
    assert set(new.values_list("content_object_id", flat=True)) == {unit.pk}
    granted = {
        (row.group.unit_role.unit.code, row.group.unit_role.role, row.permission.codename)
        for row in new.select_related("group__unit_role__unit", "permission")
    }
    assert granted == {
        ("cs-ai", Role.SECRETARY, "manage_unit"),
        ("cs-ai", Role.HEAD, "view_unit"),
        ("cs", Role.SECRETARY, "manage_unit"),
        ("cs", Role.HEAD, "sign_unit"),
    }
    # The old rows are untouched.
    assert UnitGroupObjectPermission.objects.filter(pk__in=before).count() == WORLD_ROWS


def test_creating_a_college_adds_its_own_two_rows(world: World) -> None:
    unit = services.unit_create(
        actor=None, code="law", name="法学院", kind=UnitKind.COLLEGE, parent=world.units["school"]
    )
    assert UnitGroupObjectPermission.objects.count() == WORLD_ROWS + 2
    assert set(
        UnitGroupObjectPermission.objects.filter(content_object=unit).values_list(
            "group__unit_role__role", "permission__codename"
        )
    ) == {(Role.SECRETARY, "manage_unit"), (Role.HEAD, "sign_unit")}


def test_college_head_signs_for_college_and_everything_below(world: World) -> None:
    for target in ("a", "a_sub", "a_org"):
        assert _codenames(world, "a", Role.HEAD, target) == {"sign_unit"}, target
    assert _targets(world, "a", Role.HEAD) == {"cs", "cs-lab", "cs-su"}


def test_college_secretary_manages_college_and_everything_below(world: World) -> None:
    for target in ("a", "a_sub", "a_org"):
        assert _codenames(world, "a", Role.SECRETARY, target) == {"manage_unit"}, target
    assert _targets(world, "a", Role.SECRETARY) == {"cs", "cs-lab", "cs-su"}


@pytest.mark.parametrize("tier3", ["a_sub", "a_org", "school_org"])
def test_tier3_units_own_head_only_reads(world: World, tier3: str) -> None:
    assert _codenames(world, tier3, Role.HEAD, tier3) == {"view_unit"}
    assert _targets(world, tier3, Role.HEAD) == {world.units[tier3].code}


def test_league_approver_signs_for_school_level_student_org(world: World) -> None:
    assert _codenames(world, "league", Role.LEAGUE_APPROVER, "school_org") == {"sign_unit"}
    # Only there: the League's own unit is signed for by its head.
    assert _targets(world, "league", Role.LEAGUE_APPROVER) == {"school-su"}
    assert _codenames(world, "league", Role.HEAD, "league") == {"sign_unit"}
    # A college-level student organisation is the college's business, not the League's.
    assert _codenames(world, "league", Role.LEAGUE_APPROVER, "a_org") == set()


def test_nobody_of_college_b_holds_rows_on_college_a(world: World) -> None:
    for role in (Role.SECRETARY, Role.HEAD):
        assert _targets(world, "b", role) == {"me"}


def test_moving_a_unit_reroutes_its_rows(world: World, client_for) -> None:
    sub = world.units["a_sub"]
    services.unit_update(unit=sub, actor=None, parent=world.units["b"])

    assert _codenames(world, "b", Role.HEAD, "a_sub") == {"sign_unit"}
    assert _codenames(world, "a", Role.HEAD, "a_sub") == set()
    assert _codenames(world, "a", Role.SECRETARY, "a_sub") == set()
    assert UnitGroupObjectPermission.objects.count() == WORLD_ROWS
    url = f"/api/v1/accounts/{world.accounts['a_sub'].pk}/"
    assert client_for(world.users["sec_a"]).get(url).status_code == 404
    assert client_for(world.users["sec_b"]).get(url).status_code == 200


def test_sync_is_idempotent(world: World) -> None:
    assert services.unit_permissions_sync() == 0
    assert UnitGroupObjectPermission.objects.count() == WORLD_ROWS
    assert Unit.objects.count() == len(world.units)
