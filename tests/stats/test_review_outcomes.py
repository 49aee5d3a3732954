"""Annual review outcomes per campaign year: pass, rectify, fail and not (yet) concluded, with
the forms taken through ``annual_review.services`` as the units and the department would."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from annual_review import services
from annual_review.choices import Outcome
from annual_review.models import ReviewForm
from campusmedia.models import User
from campusmedia.permissions import Access
from stats import selectors
from stats.selectors import NOT_CONCLUDED
from tests.annual_review.conftest import YEAR, filled, form_of, open_campaign, submitted
from tests.approvals.conftest import league_sec, propaganda_head  # noqa: F401 (fixtures)
from tests.conftest import World
from tests.stats.conftest import PAGE

pytestmark = pytest.mark.django_db


def _conclude(world: World, form: ReviewForm, outcome: str, by: User | None = None) -> ReviewForm:
    extra = {}
    if outcome == Outcome.RECTIFY:
        extra["rectify_by"] = timezone.localdate() + datetime.timedelta(days=30)
    return services.form_conclude(
        form=form,
        actor=by or world.users["propaganda"],
        outcome=outcome,
        comment="" if outcome == Outcome.PASS else "请整改",
        **extra,
    )


@pytest.fixture
def reviewed(world: World, league_sec, propaganda_head) -> World:  # noqa: F811 (fixtures)
    """Two campaigns: this year's with one form of each outcome, last year's not concluded."""
    campaign = open_campaign(world)
    a = services.form_sign(
        form=submitted(campaign, world, "a"), actor=world.users["head_a"], comment="同意"
    )
    _conclude(world, a, Outcome.FAIL)
    # Tier 1: no first sign-off; the department's head concludes.
    school = submitted(campaign, world, "school", by="propaganda")
    _conclude(world, school, Outcome.PASS, by=propaganda_head)
    org = services.form_update(
        form=form_of(campaign, world, "school_org"), actor=league_sec, data=filled()
    )
    org = services.form_submit(form=org, actor=league_sec)
    org = services.form_sign(form=org, actor=world.users["league"], comment="同意")
    _conclude(world, org, Outcome.RECTIFY)
    services.campaign_open(
        year=YEAR - 1,
        starts_on=datetime.date(YEAR - 1, 11, 1),
        due_on=datetime.date(YEAR, 1, 15),
        actor=world.users["propaganda"],
    )
    return world


def test_outcomes_per_year(reviewed):
    rows = selectors.review_outcomes(Access(reviewed.users["propaganda"]))
    assert [(r.year, r.counts, r.total, r.concluded) for r in rows] == [
        (
            YEAR,
            {Outcome.PASS: 1, Outcome.RECTIFY: 1, Outcome.FAIL: 1, NOT_CONCLUDED: 2},
            5,
            3,
        ),
        (YEAR - 1, {NOT_CONCLUDED: 5}, 5, 0),
    ]


def test_rectified_form_submitted_again_is_not_concluded(reviewed, league_sec):  # noqa: F811
    form = ReviewForm.objects.get(campaign__year=YEAR, outcome=Outcome.RECTIFY)
    services.form_submit(form=form, actor=league_sec)
    (this_year, _last) = selectors.review_outcomes(Access(reviewed.users["auditor"]))
    assert this_year.counts == {Outcome.PASS: 1, Outcome.FAIL: 1, NOT_CONCLUDED: 3}


def test_page_shows_table_and_chart(reviewed, client_for):
    response = client_for(reviewed.users["propaganda"]).get(PAGE)
    page = response.content.decode()
    assert f'href="/reviews/{YEAR}/"' in page
    assert f"{YEAR}年度 · 不合格 1</title>" in page  # the chart's bar part
    assert [r.year for r in response.context["data"].outcomes] == [YEAR, YEAR - 1]


def test_no_campaign(world, client_for):
    response = client_for(world.users["propaganda"]).get(PAGE)
    assert response.context["data"].outcomes == []
    assert "还没有年检。" in response.content.decode()
