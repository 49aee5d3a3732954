"""Followers of active accounts per tier and platform, accounts without a figure, and the ten
most followed active accounts."""

from __future__ import annotations

import pytest

from campusmedia import services
from campusmedia.choices import AccountStatus, Tier
from campusmedia.models import MediaAccount, Platform
from campusmedia.permissions import Access
from stats import selectors
from tests.conftest import SOURCE, World
from tests.stats.conftest import PAGE

pytestmark = pytest.mark.django_db


def _followers(world: World, key: str, count: int) -> None:
    services.account_update(
        account=world.accounts[key], actor=None, source=SOURCE, follower_count=count
    )


def _active(world: World, unit: str, name: str, followers: int | None, platform="weibo"):
    return services.account_create(
        actor=None,
        source=SOURCE,
        name=name,
        platform=Platform.objects.get(code=platform),
        owner_unit=world.units[unit],
        status=AccountStatus.ACTIVE,
        account_id=f"id_{name}",
        follower_count=followers,
    )


@pytest.fixture
def counted(world: World) -> World:
    _followers(world, "school", 50000)  # tier 1, wechat
    _followers(world, "a", 1200)  # tier 2, wechat
    _followers(world, "propaganda", 800)  # tier 2, weibo; b has no figure
    _followers(world, "school_org", 300)  # tier 3, douyin
    _followers(world, "league", 999999)  # approved, not active: not counted
    _followers(world, "a_org", 777777)  # suspended: not counted
    return world


def test_sums_per_tier_over_active_accounts(counted):
    by_tier = selectors.accounts_by_tier(Access(counted.users["propaganda"]))
    figures = {
        row.tier: (row.active, row.with_figure, row.without_figure, row.followers, row.average)
        for row in by_tier.rows
    }
    assert figures == {
        Tier.ONE: (1, 1, 0, 50000, 50000),
        Tier.TWO: (3, 2, 1, 2000, 1000),
        Tier.THREE: (1, 1, 0, 300, 300),
    }
    total = by_tier.total
    assert (total.active, total.without_figure, total.followers) == (5, 1, 52300)
    # The same figures from the accounts themselves.
    active = MediaAccount.objects.filter(status=AccountStatus.ACTIVE)
    assert total.followers == sum(a.follower_count or 0 for a in active)
    assert total.without_figure == active.filter(follower_count__isnull=True).count()


def test_sums_per_platform(counted):
    rows = {
        row.key: row
        for row in selectors.accounts_by_platform(Access(counted.users["auditor"])).rows
    }
    assert (rows["wechat"].active, rows["wechat"].followers, rows["wechat"].without_figure) == (
        3,
        51200,
        1,
    )
    assert (rows["weibo"].followers, rows["douyin"].followers) == (800, 300)
    assert rows["bilibili"].followers == 0 and rows["bilibili"].average is None


def test_ten_most_followed_active_accounts(counted):
    for i in range(12):
        _active(counted, "b", f"机械学院矩阵号{i:02d}", 2000 + i * 100)
    _active(counted, "b", "没有粉丝数的号", None)
    top = selectors.top_followed(Access(counted.users["propaganda"]))
    assert len(top) == 10
    followers = [a.follower_count for a in top]
    assert top[0].name == "学校官方微信"
    assert "青春校团委" not in {a.name for a in top}  # approved, not active
    assert "计科学生会" not in {a.name for a in top}  # suspended
    # The school's 50,000, then the nine largest of the twelve; 1,200 and below fall out.
    assert followers == [50000, *range(3100, 2200, -100)]


def test_page_shows_the_figures(counted, client_for):
    response = client_for(counted.users["propaganda"]).get(PAGE)
    page = response.content.decode()
    assert "52,300" in page  # all active accounts, grouped digits
    assert "50,000" in page
    assert response.context["data"].top_followed[0].name == "学校官方微信"
