"""Team changes under the 3-day rule per owning unit: recorded, filed on time, filed late, open,
and of the open ones overdue, the same as TeamChangeEvent's ``is_late``, ``open()`` and
``overdue()`` say."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from approvals import services
from approvals.choices import RequestKind
from approvals.models import TeamChangeEvent
from campusmedia.choices import TeamRole
from campusmedia.permissions import Access
from stats import selectors
from tests.approvals.conftest import new_team
from tests.conftest import World
from tests.stats.conftest import PAGE

pytestmark = pytest.mark.django_db


def _record(world: World, key: str, role: str, days_ago: int) -> TeamChangeEvent:
    member = world.accounts[key].team.current().get(role=role)
    return services.team_change_record(
        member=member,
        actor=None,
        happened_on=timezone.localdate() - datetime.timedelta(days=days_ago),
    )


def _file_change(world: World, key: str, by: str) -> None:
    """A change request for the account's new administrator: submitting it files the account's
    open team changes (late if after their due date)."""
    account = world.accounts[key]
    team = [r for r in services.team_of(account) if r["role"] == TeamRole.SUPERVISOR]
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=account.owner_unit,
        account=account,
        actor=world.users[by],
        data=services.data_to_fields(services.account_data(account)),
        team=[*team, new_team()[1]],
    )
    services.request_submit(account_request=req, actor=world.users[by])


@pytest.fixture
def changes(world: World) -> World:
    _record(world, "a", TeamRole.ADMINISTRATOR, days_ago=10)
    _file_change(world, "a", "sec_a")  # filed a week after its due date
    _record(world, "a_sub", TeamRole.ADMINISTRATOR, days_ago=0)  # open, due in 3 days
    _record(world, "b", TeamRole.ADMINISTRATOR, days_ago=5)  # open and overdue
    _record(world, "b", TeamRole.SUPERVISOR, days_ago=1)  # open
    _record(world, "school", TeamRole.ADMINISTRATOR, days_ago=0)
    _file_change(world, "school", "propaganda")  # filed on the day
    return world


def test_per_unit(changes):
    data = selectors.late_filings(Access(changes.users["propaganda"]))
    rows = [(r.label, r.events, r.on_time, r.late, r.open, r.overdue) for r in data.rows]
    # Overdue first, then late, then open.
    assert rows == [
        ("机械学院", 2, 0, 0, 2, 1),
        ("计算机学院", 1, 0, 1, 0, 0),
        ("计算机学院实验中心", 1, 0, 0, 1, 0),
        ("某某大学", 1, 1, 0, 0, 0),
    ]
    total = data.total
    assert (total.events, total.on_time, total.late, total.open, total.overdue) == (5, 1, 1, 3, 1)


def test_same_as_the_model_says(changes):
    data = selectors.late_filings(Access(changes.users["auditor"]))
    events = TeamChangeEvent.objects.select_related("account")
    for row in data.rows:
        mine = events.filter(account__owner_unit_id=row.unit_id)
        assert row.events == mine.count()
        assert row.open == mine.open().count()
        assert row.overdue == mine.overdue().count()
        assert row.late == sum(1 for e in mine if e.filed_at is not None and e.is_late)
    assert data.total.overdue == TeamChangeEvent.objects.overdue().count()


def test_page_shows_the_units(changes, client_for):
    response = client_for(changes.users["propaganda"]).get(PAGE)
    page = response.content.decode()
    assert f'href="/units/{changes.units["b"].pk}/"' in page
    assert response.context["data"].late.total.late == 1


def test_no_changes_no_rows(world, client_for):
    response = client_for(world.users["propaganda"]).get(PAGE)
    assert response.context["data"].late.rows == []
    assert "还没有登记管理队伍变更。" in response.content.decode()
