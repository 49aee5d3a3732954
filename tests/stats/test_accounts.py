"""Accounts by tier, platform and unit, each by status: every count equals the registry's count
for the same filter, and every link on the page opens a registry list of that many accounts."""

from __future__ import annotations

import pytest

from campusmedia import services
from campusmedia.choices import AccountStatus, Tier, UnitKind
from campusmedia.models import Platform
from campusmedia.permissions import Access
from campusmedia.selectors import RegistryFilter, registry_accounts
from stats import selectors
from tests.conftest import World, make_account
from tests.stats.conftest import PAGE, registry_links

pytestmark = pytest.mark.django_db
A = AccountStatus


def _more(world: World) -> None:
    """Every status somewhere, a unit with no account and a closed unit with none."""
    make_account(unit=world.units["b"], name="机械学院旧号", status=A.CLOSED)
    make_account(unit=world.units["a_org"], name="计科学生会B站", platform="bilibili")
    make_account(
        unit=world.units["a_sub"],
        name="实验中心快手",
        platform="kuaishou",
        status=A.ORDERED_TO_CLOSE,
    )
    make_account(unit=world.units["school_org"], name="校学生会微博", platform="weibo")
    services.unit_create(
        actor=None, code="lib", name="图书馆", kind=UnitKind.DIRECT, parent=world.units["school"]
    )
    services.unit_create(
        actor=None,
        code="old",
        name="已撤销学院",
        kind=UnitKind.COLLEGE,
        parent=world.units["school"],
        is_active=False,
    )


def _registry_count(access: Access, **filters) -> int:
    return registry_accounts(access, RegistryFilter(**filters)).count()


def test_tiers_by_status_on_the_world(world):
    by_tier = selectors.accounts_by_tier(Access(world.users["propaganda"]))
    counts = {row.tier: row.counts for row in by_tier.rows}
    assert counts == {
        Tier.ONE: {A.ACTIVE: 1},
        Tier.TWO: {A.ACTIVE: 3, A.APPROVED: 1},
        Tier.THREE: {A.ACTIVE: 1, A.APPROVED: 1, A.SUSPENDED: 1},
    }
    assert by_tier.total.total == 8
    assert by_tier.total.counts == {A.ACTIVE: 5, A.APPROVED: 2, A.SUSPENDED: 1}


@pytest.mark.parametrize("persona", ["propaganda", "auditor"])
def test_every_tier_cell_equals_the_registry(world, persona):
    _more(world)
    access = Access(world.users[persona])
    by_tier = selectors.accounts_by_tier(access)
    for row in by_tier.rows:
        for cell in row.cells:
            expected = _registry_count(access, tier=row.tier, status=cell.status)
            assert cell.count == expected, (row.label, cell.status)
        assert row.total == _registry_count(access, tier=row.tier)
    for cell in by_tier.total.cells:
        assert cell.count == _registry_count(access, status=cell.status)
    assert by_tier.total.total == _registry_count(access) == 12


def test_every_platform_cell_equals_the_registry(world):
    _more(world)
    access = Access(world.users["propaganda"])
    by_platform = selectors.accounts_by_platform(access)
    # Every platform of the catalogue is listed, those without accounts with zeros.
    assert [row.key for row in by_platform.rows] == list(
        Platform.objects.order_by("sort_order", "name").values_list("code", flat=True)
    )
    for row in by_platform.rows:
        for cell in row.cells:
            expected = _registry_count(access, platform=row.key, status=cell.status)
            assert cell.count == expected, (row.label, cell.status)
        assert row.total == _registry_count(access, platform=row.key)
    rows = {row.key: row for row in by_platform.rows}
    assert rows["wechat"].counts == {A.ACTIVE: 3, A.CLOSED: 1}
    assert rows["kuaishou"].counts == {A.ORDERED_TO_CLOSE: 1}
    assert by_platform.total.total == 12


def test_units_sum_their_sub_units_and_student_organisations(world):
    _more(world)
    access = Access(world.users["propaganda"])
    by_unit = selectors.accounts_by_unit(access)
    rows = {row.label: row for row in by_unit.rows}
    # The school's own accounts first; then the units under the school (in the tree's order):
    # the closed unit without accounts is left out, the library without accounts is listed.
    assert by_unit.rows[0].label == "学校（一级平台）"
    assert {row.label for row in by_unit.rows[1:]} == {
        "党委宣传部",
        "校团委",
        "计算机学院",
        "机械学院",
        "图书馆",
    }
    assert len(by_unit.rows) == 6
    assert rows["学校（一级平台）"].query == {"tier": "1"}
    assert rows["计算机学院"].counts == {
        A.ACTIVE: 1,
        A.APPROVED: 2,  # a_sub's and the new one of a_org
        A.SUSPENDED: 1,
        A.ORDERED_TO_CLOSE: 1,
    }
    assert rows["校团委"].counts == {A.APPROVED: 2, A.ACTIVE: 1}  # with the school's union
    assert rows["机械学院"].counts == {A.ACTIVE: 1, A.CLOSED: 1}
    assert rows["图书馆"].total == 0
    for row in by_unit.rows:
        assert row.query is not None
        filters = {"tier": 1} if row.key == "school" else {"unit": int(row.key)}
        for cell in row.cells:
            assert cell.count == _registry_count(access, status=cell.status, **filters), (
                row.label,
                cell.status,
            )
        assert row.total == _registry_count(access, **filters)
    assert by_unit.total.total == _registry_count(access) == 12


def test_page_links_open_registry_lists_of_the_same_size(world, client_for):
    _more(world)
    client = client_for(world.users["propaganda"])
    response = client.get(PAGE)
    links = registry_links(response)
    # Tier, platform and unit tables (cells and totals) and the followers' active accounts.
    assert len(links) > 40
    assert ("/registry/?tier=2&status=active", 3) in links
    assert ("/registry/?platform=wechat&status=closed", 1) in links
    assert (f"/registry/?unit={world.units['a'].pk}", 5) in links
    assert ("/registry/?tier=1", 1) in links
    assert ("/registry/", 12) in links
    for url, shown in links:
        registry = client.get(url)
        assert registry.status_code == 200
        assert registry.context["page"].paginator.count == shown, url


def test_zero_is_not_a_link(world, client_for):
    response = client_for(world.users["propaganda"]).get(PAGE)
    assert all(shown > 0 for _url, shown in registry_links(response))
    # Tier 1 has no suspended account: the cell is there, without a link.
    assert "/registry/?tier=1&amp;status=suspended" not in response.content.decode()


def test_page_shows_the_tables(world, client_for):
    response = client_for(world.users["auditor"]).get(PAGE)
    page = response.content.decode()
    for heading in ("各级平台账号", "各平台账号", "各单位账号", "粉丝量", "审批申请", "年检结论"):
        assert heading in page
    assert "<svg" in page and 'role="img"' in page
    assert response.context["data"].by_tier.total.total == 8
