"""Annual review helpers on top of the shared personas (tests/conftest.py).

Active accounts of the world, and so the forms of a campaign: school (tier 1), propaganda
(tier 2), school_org (tier 3, signed by the Youth League), a (tier 2, signed by head_a), b (tier 2).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from annual_review import services
from annual_review.models import ReviewCampaign, ReviewForm
from tests.approvals.conftest import league_sec, propaganda_head  # noqa: F401 (fixtures)
from tests.conftest import World

YEAR = 2026


def filled(**extra: Any) -> dict[str, Any]:
    """What a unit types into a complete form."""
    return {
        "registry_confirmed": True,
        "follower_count": 12000,
        "post_count": 180,
        "original_post_count": 120,
        "incident_count": 0,
        "incidents": "",
        "training": "参加学校新媒体培训 2 次",
        "self_assessment": "按时更新，审核制度落实。",
        "next_year_plan": "加强原创栏目建设。",
        **extra,
    }


def open_campaign(world: World, *, due_on: datetime.date | None = None) -> ReviewCampaign:
    campaign, _ = services.campaign_open(
        year=YEAR,
        starts_on=datetime.date(YEAR, 11, 1),
        due_on=due_on or datetime.date(YEAR + 1, 1, 15),
        actor=world.users["propaganda"],
    )
    return campaign


def form_of(campaign: ReviewCampaign, world: World, key: str) -> ReviewForm:
    return ReviewForm.objects.get(campaign=campaign, account=world.accounts[key])


def submitted(campaign: ReviewCampaign, world: World, key: str = "a", by: str = "sec_a"):
    form = form_of(campaign, world, key)
    form = services.form_update(form=form, actor=world.users[by], data=filled())
    return services.form_submit(form=form, actor=world.users[by])


@pytest.fixture
def campaign(world: World) -> ReviewCampaign:
    return open_campaign(world)
