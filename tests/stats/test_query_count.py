"""The page reads a fixed number of queries, however many accounts, requests, team changes and
review forms there are (STYLE.md rule 2). Counted on the second request, with the session and
the platform cache warm, as in production."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from annual_review import services as reviews
from approvals import services as approvals
from campusmedia import services
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import Platform
from tests.approvals.conftest import open_request
from tests.conftest import SOURCE, World
from tests.stats.conftest import PAGE

pytestmark = pytest.mark.django_db

# session, user, the user's current roles (the department reads everything: no permission rows);
# accounts by kind and status (tiers and their followers), by platform and status, the units
# under the school, accounts by unit chain and status, the ten most followed; requests first
# submitted, decided, and the decision times; team changes per unit; review outcomes per year.
QUERIES = 13

PLATFORMS = ("wechat", "weibo", "douyin", "bilibili", "qq")
UNITS = ("a", "a_sub", "a_org", "b", "school_org", "league")


def _grow(world: World, extra: int) -> None:
    """``extra`` active accounts spread over units and platforms, each with followers and a team
    change; as many requests submitted; a review campaign over all of them."""
    for i in range(extra):
        account = services.account_create(
            actor=None,
            source=SOURCE,
            name=f"增长账号{i:03d}",
            platform=Platform.objects.get(code=PLATFORMS[i % len(PLATFORMS)]),
            owner_unit=world.units[UNITS[i % len(UNITS)]],
            status=AccountStatus.ACTIVE,
            account_id=f"grow_{i:03d}",
            follower_count=100 * i or None,
        )
        person = services.person_create(actor=None, name=f"管理员{i:03d}", unit=account.owner_unit)
        member = services.team_member_add(
            account=account,
            person=person,
            role=TeamRole.ADMINISTRATOR,
            actor=None,
            source=SOURCE,
        )
        approvals.team_change_record(
            member=member,
            actor=None,
            happened_on=timezone.localdate() - datetime.timedelta(days=i % 7),
        )
        req = open_request(world, name=f"增长申请{i:03d}")
        approvals.request_submit(account_request=req, actor=world.users["sec_a"])
    reviews.campaign_open(
        year=timezone.localdate().year,
        starts_on=timezone.localdate(),
        due_on=timezone.localdate() + datetime.timedelta(days=30),
        actor=world.users["propaganda"],
    )


@pytest.mark.parametrize("persona", ["propaganda", "auditor"])
def test_query_count_does_not_grow(world, client_for, django_assert_num_queries, persona):
    client = client_for(world.users[persona])
    assert client.get(PAGE).status_code == 200  # warm-up
    with django_assert_num_queries(QUERIES):
        small = client.get(PAGE)
    assert small.context["data"].by_tier.total.total == 8

    _grow(world, 20)
    assert client.get(PAGE).status_code == 200
    with django_assert_num_queries(QUERIES):
        large = client.get(PAGE)
    data = large.context["data"]
    assert data.by_tier.total.total == 28
    assert data.requests.total.submitted == 20
    assert data.late.total.events == 20
    assert sum(row.total for row in data.outcomes) == 25
    assert len(data.top_followed) == 10
