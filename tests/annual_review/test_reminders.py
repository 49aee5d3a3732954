"""The daily reminder and the annual review: forms due, forms to sign or conclude, close orders."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from annual_review import services
from annual_review.choices import Outcome
from annual_review.models import ReviewCampaign, ReviewForm
from approvals import services as requests
from approvals.choices import RequestKind
from approvals.reminders import Digest, digests, send_reminders
from campusmedia.models import MediaAccount
from tests.annual_review.conftest import filled, form_of, open_campaign, submitted
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def campaign(world: World) -> ReviewCampaign:
    """The shared fixture's campaign, due 60 days from today whatever day the tests run."""
    return open_campaign(world, due_on=_today() + datetime.timedelta(days=60))


def _by_user(today: datetime.date | None = None) -> dict[str, Digest]:
    return {d.user.get_username(): d for d in digests(today)}


def _names(forms: list[ReviewForm]) -> set[str]:
    return {f.account.name for f in forms}


def _emails(world: World, *usernames: str) -> None:
    for username in usernames:
        user = world.users[username]
        user.email = f"{username}@example.edu.cn"
        user.save(update_fields=["email"])


def _nothing_else_due() -> None:
    """Approved accounts would remind their keepers anyway: make every account running."""
    MediaAccount.objects.filter(status="approved").update(status="active", account_id="x_id")


def _due_in(campaign: ReviewCampaign, days: int) -> None:
    due = timezone.localdate() + datetime.timedelta(days=days)
    ReviewCampaign.objects.filter(pk=campaign.pk).update(starts_on=due, due_on=due)
    if days < 0:
        ReviewCampaign.objects.filter(pk=campaign.pk).update(
            starts_on=due - datetime.timedelta(days=30)
        )


def test_forms_with_the_unit_are_reminded_only_near_the_due_date(world, campaign, settings):
    settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS = 7
    due = campaign.due_on
    early = _by_user(due - datetime.timedelta(days=8))
    assert all(not d.reviews_to_fill for d in early.values())

    near = _by_user(due - datetime.timedelta(days=7))
    world_names = world.account_names
    assert _names(near["sec_a"].reviews_to_fill) == world_names("a")
    assert _names(near["head_a"].reviews_to_fill) == world_names("a")  # the head answers for it
    assert _names(near["sec_b"].reviews_to_fill) == world_names("b")
    assert _names(near["league"].reviews_to_fill) == world_names("school_org")
    # The department keeps the school's own (tier-1) accounts.
    assert _names(near["propaganda"].reviews_to_fill) == world_names("school")
    assert "auditor" not in near

    late = _by_user(due + datetime.timedelta(days=30))
    assert _names(late["sec_a"].reviews_to_fill) == world_names("a")
    # Once submitted, the form is no longer the unit's to fill.
    submitted(campaign, world, "a")
    late = _by_user(due + datetime.timedelta(days=30))
    assert late["sec_a"].reviews_to_fill == []
    assert late["sec_a"].reviews_waiting == []  # the submitter does not sign
    assert _names(late["head_a"].reviews_waiting) == world_names("a")


def test_the_remind_period_is_a_setting(world, campaign, settings):
    due = campaign.due_on
    settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS = 30
    assert _by_user(due - datetime.timedelta(days=30))["sec_a"].reviews_to_fill
    settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS = 3
    assert not _by_user(due - datetime.timedelta(days=30))["sec_a"].reviews_to_fill


def test_returned_and_rectify_forms_are_reminded(world, campaign, settings):
    settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS = 7
    today = timezone.localdate()
    _due_in(campaign, 3)
    form = submitted(campaign, world, "a")
    assert _by_user()["sec_a"].reviews_to_fill == []
    services.form_return(form=form, actor=world.users["head_a"], comment="请补充")
    assert _names(_by_user()["sec_a"].reviews_to_fill) == world.account_names("a")
    # A rectify conclusion: reminded by the rectify date, not the campaign's due date.
    form = services.form_submit(form=form, actor=world.users["sec_a"])
    form = services.form_sign(form=form, actor=world.users["head_a"])
    services.form_conclude(
        form=form,
        actor=world.users["propaganda"],
        outcome=Outcome.RECTIFY,
        comment="原创不足",
        rectify_by=today + datetime.timedelta(days=20),
    )
    assert _by_user()["sec_a"].reviews_to_fill == []
    near = _by_user(today + datetime.timedelta(days=14))
    assert _names(near["sec_a"].reviews_to_fill) == world.account_names("a")
    _emails(world, "sec_a")
    mail.outbox.clear()
    send_reminders(today + datetime.timedelta(days=21))
    body = {m.to[0]: m for m in mail.outbox}["sec_a@example.edu.cn"].body
    rectify_by = (today + datetime.timedelta(days=20)).isoformat()
    assert f"计算机学院官微（计算机学院，限期整改），整改期限 {rectify_by}（已逾期）" in body


def test_forms_waiting_for_signature_and_conclusion(world, campaign, league_sec):
    form = submitted(campaign, world, "a")
    org = services.form_update(
        form=form_of(campaign, world, "school_org"), actor=league_sec, data=filled()
    )
    services.form_submit(form=org, actor=league_sec)
    found = _by_user()
    assert _names(found["head_a"].reviews_waiting) == world.account_names("a")
    assert _names(found["league"].reviews_waiting) == world.account_names("school_org")
    assert "propaganda" not in found or found["propaganda"].reviews_waiting == []
    assert "sec_b" not in found or found["sec_b"].reviews_waiting == []
    services.form_sign(form=form, actor=world.users["head_a"])
    found = _by_user()
    assert "head_a" not in found  # nothing else due for them
    assert _names(found["propaganda"].reviews_waiting) == world.account_names("a")


def test_open_close_orders_are_reminded_until_a_close_request_is_filed(world, campaign):
    _nothing_else_due()
    form = services.form_conclude(
        form=services.form_sign(form=submitted(campaign, world, "a"), actor=world.users["head_a"]),
        actor=world.users["propaganda"],
        outcome=Outcome.FAIL,
        comment="不合格",
    )
    order = services.review_order_close(
        form=form, actor=world.users["propaganda"], reason="年检不合格"
    )
    found = _by_user()
    for username in ("sec_a", "head_a", "propaganda"):
        assert found[username].close_orders == [order], username
    assert "sec_b" not in found and "auditor" not in found
    req = requests.request_create(
        kind=RequestKind.CLOSE,
        owner_unit=world.units["a"],
        account=world.accounts["a"],
        actor=world.users["sec_a"],
        reason="按年检结论停办",
    )
    assert _by_user()["sec_a"].close_orders == [order]  # a draft is not a filing
    requests.request_submit(account_request=req, actor=world.users["sec_a"])
    found = _by_user()
    assert all(d.close_orders == [] for d in found.values())


def test_the_mail_lists_the_review_items(world, campaign, settings):
    settings.CAMPUSMEDIA_REVIEW_REMIND_DAYS = 7
    _nothing_else_due()
    _emails(world, "sec_a", "head_a", "sec_b", "propaganda", "auditor", "league")
    _due_in(campaign, -2)
    form = submitted(campaign, world, "b", by="sec_b")
    services.review_order_close(
        form=form_of(campaign, world, "a"), actor=world.users["propaganda"], reason="逾期未报送"
    )
    mail.outbox.clear()
    call_command("send_reminders", stdout=io.StringIO())
    by_user = {m.to[0]: m for m in mail.outbox}
    assert "auditor@example.edu.cn" not in by_user

    sec_a = by_user["sec_a@example.edu.cn"]
    # The overdue form of college A's account was answered by an order to close it: the unit
    # owes a close request now, not the form.
    assert "被责令注销、待提交停办申请的账号" in sec_a.body
    assert "计算机学院官微（计算机学院），截止" in sec_a.body
    assert "年检表待报送" not in sec_a.body
    html = sec_a.alternatives[0][0]
    assert sec_a.alternatives[0][1] == "text/html"
    assert "被责令注销" in html

    league = by_user["league@example.edu.cn"]
    assert "年检表待报送" in league.body
    assert "校学生会抖音（校学生会，待填报），截止" in league.body and "已逾期" in league.body
    assert form_of(campaign, world, "school_org").get_absolute_url() in league.body
    html = league.alternatives[0][0]
    assert "年检表待报送" in html and "已逾期" in html

    # College B has submitted and has nothing else due (it has no head to sign it).
    assert "sec_b@example.edu.cn" not in by_user

    propaganda = by_user["propaganda@example.edu.cn"].body
    assert "学校官方微信" in propaganda  # the school's own form, overdue
    assert "被责令注销、待提交停办申请的账号" in propaganda
    assert form.get_absolute_url() not in propaganda  # with the unit's signer, not with them


def test_no_review_items_no_review_sections(world, campaign):
    """Far from the due date with nothing to sign: the mail stays as it was."""
    _emails(world, "sec_a")
    mail.outbox.clear()
    call_command("send_reminders", stdout=io.StringIO())
    body = {m.to[0]: m for m in mail.outbox}["sec_a@example.edu.cn"].body
    assert "已批准尚未报送开通的账号" in body  # the existing reminder
    assert "年检" not in body and "责令注销" not in body
