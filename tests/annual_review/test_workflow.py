"""The annual review through its services: opening, filling, the three tiers, consequences.

Active accounts of the world, and so the forms of the ``campaign`` fixture: school (tier 1),
propaganda (tier 2), school_org (tier 3, signed by the Youth League), a (tier 2, signed by head_a)
and b (tier 2, college B has no head).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annual_review import selectors, services
from annual_review.choices import Outcome, Progress, ReviewAction, ReviewState
from annual_review.models import CloseOrder, ReviewCampaign, ReviewForm, ReviewStep, ZeroReport
from annual_review.permissions import waiting_for
from approvals import services as requests
from approvals.choices import NotificationVerb, RequestKind
from approvals.models import Notification, TeamChangeEvent
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Role, TeamRole, Tier
from campusmedia.models import AuditEvent, MediaAccount, User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from tests.annual_review.conftest import YEAR, filled, form_of, open_campaign, submitted
from tests.approvals.conftest import new_team
from tests.conftest import World, build_world, make_account, make_login

pytestmark = pytest.mark.django_db

S = ReviewState
WORLD_FORMS = ("school", "propaganda", "school_org", "a", "b")


def _today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def campaign(world: World) -> ReviewCampaign:
    """The shared fixture's campaign, due a month from today whatever day the tests run."""
    return open_campaign(world, due_on=_today() + datetime.timedelta(days=30))


def _reviewer(world: World, username: str = "propaganda2") -> User:
    """A second plain propaganda reviewer."""
    user = make_login(username)
    person = registry.person_create(
        actor=None, name=f"审核{username}", unit=world.units["propaganda"], user=user
    )
    registry.role_assign(
        person=person, unit=world.units["propaganda"], role=Role.PROPAGANDA_REVIEWER, actor=None
    )
    return user


def _more_accounts(world: World, count: int, tag: str) -> list[MediaAccount]:
    return [
        make_account(
            unit=world.units["a" if i % 2 else "b"],
            name=f"年检{tag}号{i:02d}",
            platform="weibo",
            status=AccountStatus.ACTIVE,
            account_id=f"nj_{tag}_{i:02d}",
        )
        for i in range(count)
    ]


def _signed(campaign: ReviewCampaign, world: World, key: str = "a") -> ReviewForm:
    form = submitted(campaign, world, key)
    return services.form_sign(form=form, actor=world.users["head_a"], comment="同意")


def _failed(campaign: ReviewCampaign, world: World, key: str = "a") -> ReviewForm:
    return services.form_conclude(
        form=_signed(campaign, world, key),
        actor=world.users["propaganda"],
        outcome=Outcome.FAIL,
        comment="全年未更新，存在违规转载。",
    )


def _overdue(campaign: ReviewCampaign) -> None:
    """Move the campaign's due date to yesterday (the dates of the fixture are fixed)."""
    ReviewCampaign.objects.filter(pk=campaign.pk).update(
        starts_on=_today() - datetime.timedelta(days=30),
        due_on=_today() - datetime.timedelta(days=1),
    )
    campaign.refresh_from_db()


def _emails(world: World, *usernames: str) -> None:
    for username in usernames:
        user = world.users[username]
        user.email = f"{username}@example.edu.cn"
        user.save(update_fields=["email"])


# --- Opening -------------------------------------------------------------------------------------


def test_opening_makes_one_form_per_active_account(world):
    campaign, added = services.campaign_open(
        year=YEAR,
        starts_on=datetime.date(YEAR, 11, 1),
        due_on=datetime.date(YEAR + 1, 1, 15),
        actor=world.users["propaganda"],
    )
    assert added == len(WORLD_FORMS)
    assert campaign.title == f"{YEAR}年度校园新媒体年检"
    forms = ReviewForm.objects.filter(campaign=campaign)
    assert {f.account_id for f in forms} == {world.accounts[k].pk for k in WORLD_FORMS}
    for form in forms:
        assert form.owner_unit_id == form.account.owner_unit_id
        assert form.state == S.DRAFT and form.outcome == "" and form.started_at is None
        assert form.progress == Progress.NOT_STARTED
        assert form.snapshot == {} and not form.registry_confirmed
    audit = AuditEvent.objects.get(action=AuditAction.REVIEW_CAMPAIGN)
    assert audit.detail == {"year": YEAR, "opened": True, "forms_added": len(WORLD_FORMS)}


def test_opening_takes_the_same_queries_for_more_accounts(world):
    with CaptureQueriesContext(connection) as few:
        open_campaign(world)
    _more_accounts(world, 12, "q")
    with CaptureQueriesContext(connection) as more:
        _, added = services.campaign_open(
            year=YEAR + 1,
            starts_on=datetime.date(YEAR + 1, 11, 1),
            due_on=datetime.date(YEAR + 2, 1, 15),
            actor=world.users["propaganda"],
        )
    assert added == len(WORLD_FORMS) + 12
    assert len(more) == len(few), [q["sql"] for q in more.captured_queries]
    inserts = [q for q in more.captured_queries if "annual_review_reviewform" in q["sql"]]
    assert len(inserts) == 1  # one INSERT … SELECT, whatever the number of accounts


def test_opening_again_creates_nothing(world, campaign):
    before = ReviewForm.objects.count()
    again, added = services.campaign_open(
        year=YEAR,
        starts_on=datetime.date(YEAR, 12, 1),
        due_on=datetime.date(YEAR + 1, 3, 1),
        actor=world.users["propaganda"],
        title="另一个名称",
    )
    assert again == campaign and added == 0
    assert ReviewForm.objects.count() == before
    assert ReviewCampaign.objects.count() == 1
    again.refresh_from_db()
    assert again.due_on == campaign.due_on  # the first opening's dates stay


def test_an_account_activated_later_is_added(world, campaign):
    account = world.accounts["a_sub"]
    assert list(services.accounts_without_form(campaign)) == []
    registry.account_update(
        account=account,
        actor=None,
        source="测试",
        status=AccountStatus.ACTIVE,
        account_id="wb_cslab",
    )
    assert list(services.accounts_without_form(campaign)) == [account]
    added = services.campaign_add_accounts(campaign=campaign, actor=world.users["propaganda"])
    assert added == 1
    form = form_of(campaign, world, "a_sub")
    assert form.owner_unit == world.units["a_sub"] and form.state == S.DRAFT
    assert services.campaign_add_accounts(campaign=campaign, actor=world.users["propaganda"]) == 0
    assert ReviewForm.objects.filter(campaign=campaign).count() == len(WORLD_FORMS) + 1


@pytest.mark.parametrize("username", ["sec_a", "head_a", "league", "auditor"])
def test_only_the_department_opens_a_campaign(world, username):
    with pytest.raises(PermissionDenied):
        open_campaign_as(world, world.users[username])
    assert not ReviewCampaign.objects.exists() and not ReviewForm.objects.exists()
    with pytest.raises(PermissionDenied):
        services.campaign_add_accounts(campaign=open_campaign(world), actor=world.users[username])


def open_campaign_as(world: World, actor: User) -> Any:
    return services.campaign_open(
        year=YEAR,
        starts_on=datetime.date(YEAR, 11, 1),
        due_on=datetime.date(YEAR + 1, 1, 15),
        actor=actor,
    )


def test_dates_are_checked_with_chinese_messages_naming_the_field(world):
    with pytest.raises(ValidationError) as error:
        services.campaign_open(
            year=YEAR,
            starts_on=datetime.date(YEAR, 12, 1),
            due_on=datetime.date(YEAR, 11, 30),
            actor=world.users["propaganda"],
        )
    assert set(error.value.message_dict) == {"due_on"}
    assert error.value.message_dict["due_on"][0].startswith("截止日期：")
    assert "不能早于开始日期" in error.value.message_dict["due_on"][0]
    with pytest.raises(ValidationError) as error:
        services.campaign_open(
            year=1999,
            starts_on=datetime.date(1999, 11, 1),
            due_on=datetime.date(1999, 12, 1),
            actor=world.users["propaganda"],
        )
    assert set(error.value.message_dict) == {"year"}
    assert error.value.message_dict["year"][0].startswith("年度：")
    assert not ReviewCampaign.objects.exists() and not ReviewForm.objects.exists()
    # The same day for both is allowed.
    day = datetime.date(YEAR, 12, 1)
    campaign, _ = services.campaign_open(
        year=YEAR, starts_on=day, due_on=day, actor=world.users["propaganda"]
    )
    assert campaign.due_on == day


# --- Filling in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["sec_b", "head_a", "auditor", "league"])
def test_only_keepers_of_the_unit_edit_the_form(world, campaign, username):
    form = form_of(campaign, world, "a")
    with pytest.raises(PermissionDenied):
        services.form_update(form=form, actor=world.users[username], data=filled())
    form.refresh_from_db()
    assert form.started_at is None and form.post_count is None


def test_update_saves_and_marks_the_form_started(world, campaign):
    form = form_of(campaign, world, "a")
    form = services.form_update(
        form=form,
        actor=world.users["sec_a"],
        data={"post_count": 100, "training": "  参加培训一次  ", "snapshot": {"x": 1}},
    )
    form.refresh_from_db()
    assert form.post_count == 100 and form.training == "参加培训一次"
    assert form.snapshot == {}  # not a field the unit fills
    assert form.started_at is not None and form.progress == Progress.IN_PROGRESS
    started = form.started_at
    form = services.form_update(form=form, actor=world.users["sec_a"], data={"follower_count": 5})
    assert form.started_at == started and form.post_count == 100


def test_more_original_posts_than_posts_are_refused_and_nothing_is_saved(world, campaign):
    form = form_of(campaign, world, "b")
    with pytest.raises(ValidationError) as error:
        services.form_update(
            form=form,
            actor=world.users["sec_b"],
            data=filled(post_count=10, original_post_count=11),
        )
    assert set(error.value.message_dict) == {"original_post_count"}
    assert error.value.message_dict["original_post_count"][0].startswith("其中原创数：")
    form.refresh_from_db()
    assert form.started_at is None
    assert form.post_count is None and form.original_post_count is None
    assert form.self_assessment == ""


def test_submit_refuses_an_incomplete_form_naming_every_missing_field(world, campaign):
    form = form_of(campaign, world, "a")
    with pytest.raises(ValidationError) as error:
        services.form_submit(form=form, actor=world.users["sec_a"])
    messages = error.value.message_dict
    assert set(messages) == {*services.SUBMIT_REQUIRED, "registry_confirmed"}
    for name in services.SUBMIT_REQUIRED:
        label = str(ReviewForm._meta.get_field(name).verbose_name)
        assert messages[name] == [f"{label}：提交前请填写。"]
    assert messages["registry_confirmed"][0].startswith("登记信息无误：")
    # A partly filled form names only what is still missing.
    services.form_update(
        form=form,
        actor=world.users["sec_a"],
        data=filled(self_assessment="   ", incident_count=None),
    )
    with pytest.raises(ValidationError) as error:
        services.form_submit(form=form, actor=world.users["sec_a"])
    assert set(error.value.message_dict) == {"self_assessment", "incident_count"}
    form.refresh_from_db()
    assert form.state == S.DRAFT and form.submitted_at is None
    assert not ReviewStep.objects.exists()


def _change_request(world: World, *, submit: bool):
    account = world.accounts["a"]
    team = [r for r in requests.team_of(account) if r["role"] == TeamRole.SUPERVISOR]
    req = requests.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data=requests.data_to_fields(requests.account_data(account)),
        team=[*team, new_team()[1]],
    )
    if submit:
        req = requests.request_submit(account_request=req, actor=world.users["sec_a"])
    return req


def test_registry_not_confirmed_needs_a_change_request_under_way(world, campaign):
    form = form_of(campaign, world, "a")
    form = services.form_update(
        form=form, actor=world.users["sec_a"], data=filled(registry_confirmed=False)
    )
    with pytest.raises(ValidationError) as error:
        services.form_submit(form=form, actor=world.users["sec_a"])
    assert set(error.value.message_dict) == {"registry_confirmed"}
    draft = _change_request(world, submit=False)  # a draft does not count
    with pytest.raises(ValidationError):
        services.form_submit(form=form, actor=world.users["sec_a"])
    requests.request_submit(account_request=draft, actor=world.users["sec_a"])
    form = services.form_submit(form=form, actor=world.users["sec_a"])
    assert form.state == S.SUBMITTED and not form.registry_confirmed


# --- The three tiers -----------------------------------------------------------------------------


def test_tier_two_secretary_submits_head_signs_department_concludes(world, campaign):
    form = submitted(campaign, world, "a")
    assert form.state == S.SUBMITTED and form.progress == Progress.SUBMITTED
    assert form.submitted_by == world.users["sec_a"] and form.submitted_at is not None
    assert form.snapshot["account"]["name"] == world.accounts["a"].name
    assert {m["name"] for m in form.snapshot["team"]} == {
        world.people["head_a"].name,
        world.admins["a"].name,
    }
    assert all(set(m) == {"role", "name", "title"} for m in form.snapshot["team"])
    # The unit may no longer edit; only head_a signs.
    with pytest.raises(PermissionDenied):
        services.form_update(form=form, actor=world.users["sec_a"], data={"post_count": 1})
    assert list(waiting_for(Access(world.users["head_a"]))) == [form]
    for username in ("sec_b", "propaganda", "league", "auditor"):
        with pytest.raises(PermissionDenied):
            services.form_sign(form=form, actor=world.users[username])
    # The department cannot conclude before the unit has signed.
    with pytest.raises(services.ReviewConflict) as conflict:
        services.form_conclude(form=form, actor=world.users["propaganda"], outcome=Outcome.PASS)
    assert "待单位签署" in str(conflict.value)

    form = services.form_sign(form=form, actor=world.users["head_a"], comment=" 情况属实 ")
    assert form.state == S.SIGNED and form.signed_by == world.users["head_a"]
    assert form.sign_comment == "情况属实"
    assert list(waiting_for(Access(world.users["head_a"]))) == []
    assert form in waiting_for(Access(world.users["propaganda"]))
    with pytest.raises(PermissionDenied):
        services.form_conclude(form=form, actor=world.users["auditor"], outcome=Outcome.PASS)

    form = services.form_conclude(form=form, actor=world.users["propaganda"], outcome=Outcome.PASS)
    form.refresh_from_db()
    assert form.state == S.CONCLUDED and form.outcome == Outcome.PASS
    assert form.concluded_by == world.users["propaganda"] and form.rectify_by is None
    assert form.progress == Progress.PASS
    assert not ReviewForm.objects.filter(pk=form.pk).unanswered().exists()
    with pytest.raises(PermissionDenied):  # a passed form is closed for the unit
        services.form_update(form=form, actor=world.users["sec_a"], data={"post_count": 1})
    with pytest.raises(services.ReviewConflict):
        services.form_submit(form=form, actor=world.users["sec_a"])


def test_tier_three_school_organisation_is_signed_by_the_league(world, campaign, league_sec):
    form = form_of(campaign, world, "school_org")
    form = services.form_update(form=form, actor=league_sec, data=filled())
    form = services.form_submit(form=form, actor=league_sec)
    for user in (world.users["head_a"], world.users["propaganda"], league_sec):
        with pytest.raises(PermissionDenied):
            services.form_sign(form=form, actor=user)
    assert form in waiting_for(Access(world.users["league"]))
    form = services.form_sign(form=form, actor=world.users["league"])
    assert form.state == S.SIGNED
    with pytest.raises(PermissionDenied):  # the signer does not conclude
        services.form_conclude(form=form, actor=world.users["league"], outcome=Outcome.PASS)
    form = services.form_conclude(form=form, actor=world.users["propaganda"], outcome=Outcome.PASS)
    assert form.state == S.CONCLUDED and form.outcome == Outcome.PASS


def test_tier_one_has_no_sign_step_and_only_the_head_concludes(world, campaign, propaganda_head):
    plain = _reviewer(world)
    form = submitted(campaign, world, "school", by="propaganda")
    assert form.state == S.SUBMITTED
    with pytest.raises(services.ReviewConflict) as conflict:
        services.form_sign(form=form, actor=propaganda_head)
    assert "单位签署" in str(conflict.value)
    assert form not in waiting_for(Access(plain))
    assert form in waiting_for(Access(propaganda_head))
    for user in (plain, world.users["propaganda"]):  # a plain reviewer; the submitter
        with pytest.raises(PermissionDenied):
            services.form_conclude(form=form, actor=user, outcome=Outcome.PASS)
    form = services.form_conclude(form=form, actor=propaganda_head, outcome=Outcome.PASS)
    assert form.state == S.CONCLUDED and form.signed_by is None
    assert [s.action for s in form.steps.all()] == [ReviewAction.SUBMIT, ReviewAction.CONCLUDE]


def test_nobody_signs_or_concludes_their_own_form(world, campaign, propaganda_head):
    """The department's own account (tier 2): the reviewer keeps every unit's accounts and files
    the form; the department's head signs for it as the unit head and is also a final reviewer,
    so the form needs a third person to conclude."""
    registry.role_assign(
        person=propaganda_head.person,
        unit=world.units["propaganda"],
        role=Role.HEAD,
        actor=None,
    )
    third = _reviewer(world)
    form = submitted(campaign, world, "propaganda", by="propaganda")
    assert form not in waiting_for(Access(world.users["propaganda"]))
    with pytest.raises(PermissionDenied):
        services.form_sign(form=form, actor=world.users["propaganda"])
    form = services.form_sign(form=form, actor=propaganda_head)
    assert form not in waiting_for(Access(propaganda_head))
    assert form in waiting_for(Access(third))
    for user in (world.users["propaganda"], propaganda_head):  # the submitter; the signer
        with pytest.raises(PermissionDenied):
            services.form_conclude(form=form, actor=user, outcome=Outcome.PASS)
    form = services.form_conclude(form=form, actor=third, outcome=Outcome.PASS)
    assert form.concluded_by == third


def test_a_keeper_who_also_signs_does_not_sign_their_own_form(world, campaign):
    registry.role_assign(
        person=world.people["sec_a"], unit=world.units["a"], role=Role.HEAD, actor=None
    )
    form = submitted(campaign, world, "a", by="sec_a")
    assert form not in waiting_for(Access(world.users["sec_a"]))
    with pytest.raises(PermissionDenied):
        services.form_sign(form=form, actor=world.users["sec_a"])
    with pytest.raises(PermissionDenied):
        services.form_return(form=form, actor=world.users["sec_a"], comment="自己退回")
    form = services.form_sign(form=form, actor=world.users["head_a"])
    assert form.state == S.SIGNED


# --- Return and rectify --------------------------------------------------------------------------


def test_return_needs_a_comment_and_the_unit_resubmits(world, campaign):
    form = submitted(campaign, world, "a")
    with pytest.raises(ValidationError) as error:
        services.form_return(form=form, actor=world.users["head_a"], comment="  ")
    assert set(error.value.message_dict) == {"comment"}
    assert error.value.message_dict["comment"][0].startswith("意见：")
    form.refresh_from_db()
    assert form.state == S.SUBMITTED
    with pytest.raises(PermissionDenied):  # the department returns only what waits for it
        services.form_return(form=form, actor=world.users["propaganda"], comment="请补充")
    form = services.form_return(form=form, actor=world.users["head_a"], comment="请补充培训情况")
    assert form.state == S.RETURNED and form.progress == Progress.IN_PROGRESS
    assert ReviewForm.objects.filter(pk=form.pk).unanswered().exists()
    form = services.form_update(
        form=form, actor=world.users["sec_a"], data={"training": "补充：参加培训 3 次"}
    )
    form = services.form_submit(form=form, actor=world.users["sec_a"])
    form = services.form_sign(form=form, actor=world.users["head_a"])
    # The department too may return a signed form, with a reason.
    form = services.form_return(form=form, actor=world.users["propaganda"], comment="数据有误")
    assert form.state == S.RETURNED
    steps = list(form.steps.values_list("action", "comment"))
    assert steps == [
        (ReviewAction.SUBMIT, ""),
        (ReviewAction.RETURN, "请补充培训情况"),
        (ReviewAction.SUBMIT, ""),
        (ReviewAction.SIGN, ""),
        (ReviewAction.RETURN, "数据有误"),
    ]


def test_rectify_needs_a_future_date_and_a_comment_then_passes(world, campaign):
    form = _signed(campaign, world)
    reviewer = world.users["propaganda"]
    today = _today()
    for rectify_by in (None, today):
        with pytest.raises(ValidationError) as error:
            services.form_conclude(
                form=form,
                actor=reviewer,
                outcome=Outcome.RECTIFY,
                comment="原创不足",
                rectify_by=rectify_by,
            )
        assert set(error.value.message_dict) == {"rectify_by"}
        assert error.value.message_dict["rectify_by"][0].startswith("整改期限：")
    with pytest.raises(ValidationError) as error:
        services.form_conclude(
            form=form,
            actor=reviewer,
            outcome=Outcome.RECTIFY,
            rectify_by=today + datetime.timedelta(days=30),
        )
    assert set(error.value.message_dict) == {"comment"}
    with pytest.raises(ValidationError) as error:
        services.form_conclude(form=form, actor=reviewer, outcome="maybe")
    assert set(error.value.message_dict) == {"outcome"}
    form.refresh_from_db()
    assert form.state == S.SIGNED

    due = today + datetime.timedelta(days=30)
    form = services.form_conclude(
        form=form, actor=reviewer, outcome=Outcome.RECTIFY, comment="原创不足", rectify_by=due
    )
    assert form.state == S.CONCLUDED and form.outcome == Outcome.RECTIFY
    assert form.rectify_by == due and form.progress == Progress.RECTIFY
    assert ReviewForm.objects.filter(pk=form.pk).unanswered().exists()
    assert not ReviewForm.objects.filter(pk=form.pk).overdue().exists()
    assert form in waiting_for(Access(world.users["sec_a"]))
    # The unit rectifies and resubmits; the form goes the whole way again.
    form = services.form_update(
        form=form, actor=world.users["sec_a"], data={"original_post_count": 150}
    )
    form = services.form_submit(form=form, actor=world.users["sec_a"])
    assert form.state == S.SUBMITTED and form.outcome == "" and form.signed_by is None
    form = services.form_sign(form=form, actor=world.users["head_a"])
    form = services.form_conclude(form=form, actor=reviewer, outcome=Outcome.PASS)
    form.refresh_from_db()
    assert form.outcome == Outcome.PASS and form.rectify_by is None
    assert not ReviewForm.objects.filter(pk=form.pk).unanswered().exists()


# --- Close orders --------------------------------------------------------------------------------


def test_fail_then_order_close(world, campaign, settings):
    settings.CAMPUSMEDIA_CLOSE_ORDER_DAYS = 10
    form = _failed(campaign, world)
    assert form.progress == Progress.FAIL
    with pytest.raises(PermissionDenied):
        services.review_order_close(form=form, actor=world.users["sec_a"], reason="不合格")
    with pytest.raises(PermissionDenied):
        services.review_order_close(form=form, actor=world.users["auditor"], reason="不合格")
    with pytest.raises(ValidationError) as error:
        services.review_order_close(form=form, actor=world.users["propaganda"], reason=" ")
    assert set(error.value.message_dict) == {"reason"}
    assert not CloseOrder.objects.exists()

    order = services.review_order_close(
        form=form, actor=world.users["propaganda"], reason="年检不合格，责令注销"
    )
    assert order.due_on == _today() + datetime.timedelta(days=10)
    assert order.review == form and order.account == world.accounts["a"]
    account = MediaAccount.objects.get(pk=world.accounts["a"].pk)
    assert account.status == AccountStatus.ORDERED_TO_CLOSE
    assert list(CloseOrder.objects.open()) == [order]
    step = form.steps.last()
    assert step is not None and step.action == ReviewAction.ORDER_CLOSE
    assert step.comment == "年检不合格，责令注销"
    assert AuditEvent.objects.filter(
        action=AuditAction.CLOSE_ORDERED, object_id=str(account.pk)
    ).exists()
    # Only once.
    with pytest.raises(ValidationError) as error:
        services.review_order_close(form=form, actor=world.users["propaganda"], reason="再次")
    assert "只能责令一次" in str(error.value)
    assert CloseOrder.objects.count() == 1


def test_order_close_only_after_fail_or_no_answer(world, campaign):
    reviewer = world.users["propaganda"]
    passed = services.form_conclude(form=_signed(campaign, world), actor=reviewer, outcome="pass")
    draft = form_of(campaign, world, "b")
    for form in (passed, draft, submitted(campaign, world, "school_org", by="propaganda")):
        with pytest.raises(ValidationError):
            services.review_order_close(form=form, actor=reviewer, reason="逾期")
    assert not CloseOrder.objects.exists()
    # Past the due date, a form never submitted, or submitted and never signed by the unit, may
    # be ordered closed; a passed one still not.
    _overdue(campaign)
    assert set(ReviewForm.objects.overdue()) == {
        draft,
        form_of(campaign, world, "school"),
        form_of(campaign, world, "propaganda"),
        form_of(campaign, world, "school_org"),
    }
    order = services.review_order_close(form=draft, actor=reviewer, reason="逾期未报送年检表")
    assert order.account == world.accounts["b"]
    with pytest.raises(ValidationError):
        services.review_order_close(form=passed, actor=reviewer, reason="逾期")


def test_a_rectify_date_passed_allows_an_order(world, campaign):
    reviewer = world.users["propaganda"]
    form = services.form_conclude(
        form=_signed(campaign, world),
        actor=reviewer,
        outcome=Outcome.RECTIFY,
        comment="请整改",
        rectify_by=_today() + datetime.timedelta(days=5),
    )
    with pytest.raises(ValidationError):
        services.review_order_close(form=form, actor=reviewer, reason="逾期未整改")
    ReviewForm.objects.filter(pk=form.pk).update(rectify_by=_today() - datetime.timedelta(days=1))
    assert list(ReviewForm.objects.overdue()) == [form]
    services.review_order_close(form=form, actor=reviewer, reason="逾期未整改")
    assert CloseOrder.objects.filter(review=form).count() == 1


def _close_request(world: World, key: str = "a", by: str = "sec_a"):
    req = requests.request_create(
        kind=RequestKind.CLOSE,
        owner_unit=world.units[key],
        account=world.accounts[key],
        actor=world.users[by],
        reason="按年检结论停办",
    )
    return req


def test_close_order_is_open_until_the_unit_files_a_close_request(world, campaign):
    order = services.review_order_close(
        form=_failed(campaign, world), actor=world.users["propaganda"], reason="年检不合格"
    )
    req = _close_request(world)
    # A draft is not a filing.
    assert list(CloseOrder.objects.open()) == [order]
    assert CloseOrder.objects.with_filing().get().filed_at is None
    req = requests.request_submit(account_request=req, actor=world.users["sec_a"])
    assert not CloseOrder.objects.open().exists()
    assert not CloseOrder.objects.overdue().exists()
    filed = CloseOrder.objects.with_filing().get()
    assert filed.filed_at == req.submitted_at
    assert timezone.localdate(filed.filed_at) <= filed.due_on  # in time
    # Withdrawn, the request no longer counts: the order is open again.
    requests.request_withdraw(account_request=req, actor=world.users["sec_a"])
    assert list(CloseOrder.objects.open()) == [order]


def test_a_close_request_after_the_due_date_is_late(world, campaign):
    order = services.review_order_close(
        form=_failed(campaign, world), actor=world.users["propaganda"], reason="年检不合格"
    )
    CloseOrder.objects.filter(pk=order.pk).update(due_on=_today() - datetime.timedelta(days=2))
    assert list(CloseOrder.objects.overdue()) == [order]
    req = requests.request_submit(account_request=_close_request(world), actor=world.users["sec_a"])
    filed = CloseOrder.objects.with_filing().get()
    assert filed.filed_at == req.submitted_at
    assert timezone.localdate(filed.filed_at) > filed.due_on  # late
    assert not CloseOrder.objects.overdue().exists()


def test_a_close_request_before_the_order_does_not_count(world, campaign):
    _overdue(campaign)
    req = requests.request_submit(
        account_request=_close_request(world, "b", "sec_b"), actor=world.users["sec_b"]
    )
    requests.request_withdraw(account_request=req, actor=world.users["sec_b"])
    order = services.review_order_close(
        form=form_of(campaign, world, "b"), actor=world.users["propaganda"], reason="逾期"
    )
    assert list(CloseOrder.objects.open()) == [order]
    assert CloseOrder.objects.with_filing().get().filed_at is None


def test_a_close_request_under_way_when_the_order_comes_answers_it(world, campaign):
    req = requests.request_submit(account_request=_close_request(world), actor=world.users["sec_a"])
    _overdue(campaign)
    order = services.review_order_close(
        form=form_of(campaign, world, "a"), actor=world.users["propaganda"], reason="逾期未报送"
    )
    with pytest.raises(ValidationError):  # one open request per account: no second filing
        _close_request(world)
    req = requests.request_endorse(account_request=req, actor=world.users["head_a"])
    requests.request_approve(account_request=req, actor=world.users["propaganda"])
    assert MediaAccount.objects.get(pk=order.account_id).status == AccountStatus.CLOSED
    assert not CloseOrder.objects.open().exists()


# --- Timeline, audit and who hears about it ------------------------------------------------------


def test_one_timeline_row_and_one_audit_row_per_step(world, campaign):
    form = services.form_conclude(
        form=_signed(campaign, world), actor=world.users["propaganda"], outcome=Outcome.PASS
    )
    steps = list(ReviewStep.objects.filter(form=form))
    assert [(s.action, s.source_state, s.target_state) for s in steps] == [
        (ReviewAction.SUBMIT, S.DRAFT, S.SUBMITTED),
        (ReviewAction.SIGN, S.SUBMITTED, S.SIGNED),
        (ReviewAction.CONCLUDE, S.SIGNED, S.CONCLUDED),
    ]
    assert [s.actor for s in steps] == [
        world.users["sec_a"],
        world.users["head_a"],
        world.users["propaganda"],
    ]
    assert steps[0].actor_name == f"{world.people['sec_a'].name}（sec_a）"
    assert steps[1].comment == "同意" and steps[2].outcome == Outcome.PASS
    audits = list(
        AuditEvent.objects.filter(action=AuditAction.REVIEW_STEP, object_id=str(form.pk)).order_by(
            "id"
        )
    )
    assert [a.detail["step"] for a in audits] == ["submit", "sign", "conclude"]
    assert [a.actor for a in audits] == [s.actor for s in steps]
    assert audits[2].detail["outcome"] == Outcome.PASS
    # A refused step writes neither.
    with pytest.raises(services.ReviewConflict):
        services.form_sign(form=form, actor=world.users["head_a"])
    assert ReviewStep.objects.filter(form=form).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.REVIEW_STEP).count() == 3


def test_notifications_follow_the_form(
    world, campaign, propaganda_head, django_capture_on_commit_callbacks
):
    _emails(world, "sec_a", "head_a", "propaganda", "sec_b")
    propaganda_head.email = "propaganda_head@example.edu.cn"
    propaganda_head.save(update_fields=["email"])
    mail.outbox.clear()
    form = form_of(campaign, world, "a")
    services.form_update(form=form, actor=world.users["sec_a"], data=filled())

    with django_capture_on_commit_callbacks(execute=True):
        form = services.form_submit(form=form, actor=world.users["sec_a"])
    notes = Notification.objects.filter(verb=NotificationVerb.REVIEW)
    assert {n.user for n in notes} == {world.users["head_a"]}
    note = notes.get()
    assert note.url == form.get_absolute_url() and "计算机学院官微" in note.text
    assert [m.to for m in mail.outbox] == [["head_a@example.edu.cn"]]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        form = services.form_sign(form=form, actor=world.users["head_a"])
    signed = Notification.objects.filter(verb=NotificationVerb.REVIEW).exclude(pk=note.pk)
    assert {n.user for n in signed} == {world.users["propaganda"], propaganda_head}
    assert sorted(m.to[0] for m in mail.outbox) == [
        "propaganda@example.edu.cn",
        "propaganda_head@example.edu.cn",
    ]

    mail.outbox.clear()
    done = set(Notification.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        services.form_conclude(form=form, actor=world.users["propaganda"], outcome=Outcome.PASS)
    concluded = Notification.objects.exclude(pk__in=done)
    assert {n.user for n in concluded} == {world.users["sec_a"], world.users["head_a"]}
    assert all("合格" in n.text for n in concluded)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "head_a@example.edu.cn",
        "sec_a@example.edu.cn",
    ]
    assert "sec_b@example.edu.cn" not in {m.to[0] for m in mail.outbox}


def test_a_step_rolled_back_tells_nobody(world, campaign, django_capture_on_commit_callbacks):
    _emails(world, "head_a")
    mail.outbox.clear()
    form = form_of(campaign, world, "a")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.form_submit(form=form, actor=world.users["sec_a"])
    assert not Notification.objects.exists() and mail.outbox == []


def test_close_order_tells_the_unit(world, campaign, django_capture_on_commit_callbacks):
    _emails(world, "sec_a", "head_a")
    form = _failed(campaign, world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order = services.review_order_close(
            form=form, actor=world.users["propaganda"], reason="年检不合格"
        )
    notes = Notification.objects.filter(verb=NotificationVerb.CLOSE_ORDERED)
    assert {n.user for n in notes} == {world.users["sec_a"], world.users["head_a"]}
    assert all(order.due_on.isoformat() in n.text for n in notes)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "head_a@example.edu.cn",
        "sec_a@example.edu.cn",
    ]


# --- Reading helpers -----------------------------------------------------------------------------


def test_year_team_changes_lists_the_years_changes_with_lateness(world, campaign):
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)

    def record(happened_on: datetime.date, filed_on: datetime.date | None = None):
        event = requests.team_change_record(
            member=member, actor=world.users["sec_a"], happened_on=happened_on
        )
        if filed_on is not None:
            filed_at = timezone.make_aware(datetime.datetime.combine(filed_on, datetime.time(10)))
            TeamChangeEvent.objects.filter(pk=event.pk).update(filed_at=filed_at)
        return event

    in_time = record(datetime.date(YEAR, 3, 1), filed_on=datetime.date(YEAR, 3, 3))
    late = record(datetime.date(YEAR, 6, 1), filed_on=datetime.date(YEAR, 6, 10))
    unfiled = record(datetime.date(YEAR, 9, 1))
    record(datetime.date(YEAR - 1, 12, 30))  # last year's
    other = world.accounts["b"].team.current().get(role=TeamRole.ADMINISTRATOR)
    requests.team_change_record(
        member=other, actor=None, happened_on=datetime.date(YEAR, 4, 1)
    )  # another account's

    changes = services.year_team_changes(form_of(campaign, world, "a"))
    assert [c.pk for c in changes] == [in_time.pk, late.pk, unfiled.pk]
    assert [c.is_late for c in changes] == [False, True, _today() > unfiled.due_on]
    assert changes[0].person == member.person


def test_zero_report_for_a_unit_without_forms(world, campaign):
    unit = world.units["a_sub"]  # its only account is approved, not yet running
    with pytest.raises(PermissionDenied):
        services.zero_report_file(campaign=campaign, unit=unit, actor=world.users["sec_b"])
    report = services.zero_report_file(
        campaign=campaign, unit=unit, actor=world.users["sec_a"], note=" 本单位暂无运行中的账号 "
    )
    assert report.note == "本单位暂无运行中的账号" and report.filed_by == world.users["sec_a"]
    again = services.zero_report_file(
        campaign=campaign, unit=unit, actor=world.users["sec_a"], note="再报一次"
    )
    assert again == report and ZeroReport.objects.count() == 1
    again.refresh_from_db()
    assert again.note == "本单位暂无运行中的账号"
    assert AuditEvent.objects.filter(action=AuditAction.ZERO_REPORT).count() == 1
    with pytest.raises(ValidationError) as error:
        services.zero_report_file(
            campaign=campaign, unit=world.units["a"], actor=world.users["sec_a"]
        )
    assert set(error.value.message_dict) == {"unit"}
    assert error.value.message_dict["unit"][0].startswith("零报告：")
    assert ZeroReport.objects.count() == 1


# --- Progress ------------------------------------------------------------------------------------


def _spread(campaign: ReviewCampaign, world: World, propaganda_head: User, league_sec: User):
    """a signed, b started, school_org passed, school submitted, propaganda not started."""
    _signed(campaign, world, "a")
    services.form_update(
        form=form_of(campaign, world, "b"), actor=world.users["sec_b"], data={"post_count": 3}
    )
    org = services.form_update(
        form=form_of(campaign, world, "school_org"), actor=league_sec, data=filled()
    )
    org = services.form_submit(form=org, actor=league_sec)
    org = services.form_sign(form=org, actor=world.users["league"])
    services.form_conclude(form=org, actor=world.users["propaganda"], outcome=Outcome.PASS)
    submitted(campaign, world, "school", by="propaganda")


def test_progress_per_tier_and_per_unit(world, campaign, propaganda_head, league_sec):
    _spread(campaign, world, propaganda_head, league_sec)
    services.zero_report_file(
        campaign=campaign, unit=world.units["a_sub"], actor=world.users["sec_a"]
    )
    progress = selectors.campaign_progress(campaign, Access(world.users["propaganda"]))
    P = Progress
    assert progress.total.total == 5 and progress.total.concluded == 1
    assert progress.total.answered == 3
    tiers = {row.tier: row for row in progress.tiers}
    assert +tiers[Tier.ONE].counts == {P.SUBMITTED: 1}
    assert +tiers[Tier.TWO].counts == {P.SIGNED: 1, P.IN_PROGRESS: 1, P.NOT_STARTED: 1}
    assert +tiers[Tier.THREE].counts == {P.PASS: 1}
    assert tiers[Tier.THREE].percent_concluded == 100
    units = {row.label: row for row in progress.units}
    assert set(units) == {"某某大学", "党委宣传部", "校学生会", "计算机学院", "机械学院"}
    assert +units["计算机学院"].counts == {P.SIGNED: 1}
    assert +units["机械学院"].counts == {P.IN_PROGRESS: 1}
    assert units["党委宣传部"].cells() == [1, 0, 0, 0, 0, 0, 0]
    assert progress.overdue == [] and progress.overdue_count == 0
    assert progress.zero_reports == 1
    # league (approved account only), a_sub and a_org (suspended) have no form; a_sub said so.
    assert progress.units_without_forms == 3 and progress.units_silent == 2
    # A secretary sees their own units only.
    mine = selectors.campaign_progress(campaign, Access(world.users["sec_a"]))
    assert [row.label for row in mine.units] == ["计算机学院"]
    assert mine.total.total == 1 and mine.zero_reports == 1


def test_progress_lists_the_overdue_forms_and_open_orders(world, campaign):
    submitted(campaign, world, "a")
    _overdue(campaign)
    reviewer = world.users["propaganda"]
    progress = selectors.campaign_progress(campaign, Access(reviewer))
    overdue = {form.account.name for form in progress.overdue}
    # "a" was submitted but never signed by its head: the unit has not answered either.
    assert overdue == world.account_names("school", "propaganda", "school_org", "b", "a")
    assert progress.overdue_count == 5
    limited = selectors.campaign_progress(campaign, Access(reviewer), overdue_limit=2)
    assert len(limited.overdue) == 2 and limited.overdue_count == 5
    order = services.review_order_close(
        form=form_of(campaign, world, "b"), actor=reviewer, reason="逾期未报送"
    )
    progress = selectors.campaign_progress(campaign, Access(reviewer))
    assert progress.open_orders == [order]
    assert selectors.campaign_progress(campaign, Access(world.users["sec_a"])).open_orders == []
    assert selectors.campaign_progress(campaign, Access(world.users["sec_b"])).open_orders == [
        order
    ]


def test_progress_takes_the_same_queries_with_more_forms(
    world, campaign, propaganda_head, league_sec, django_assert_num_queries
):
    _spread(campaign, world, propaganda_head, league_sec)
    _overdue(campaign)
    services.review_order_close(
        form=form_of(campaign, world, "propaganda"),
        actor=world.users["propaganda"],
        reason="逾期",
    )
    reviewer, secretary = world.users["propaganda"], world.users["sec_a"]
    few = {}
    for user in (reviewer, secretary):
        with CaptureQueriesContext(connection) as baseline:
            selectors.campaign_progress(campaign, Access(user))
        few[user] = len(baseline)

    _more_accounts(world, 15, "p")
    services.campaign_add_accounts(campaign=campaign, actor=reviewer)
    extra = ReviewForm.objects.filter(campaign=campaign, account__name__startswith="年检p号")
    for form in list(extra)[:5]:
        services.form_update(form=form, actor=reviewer, data=filled())
    for form in list(extra)[5:8]:
        services.review_order_close(form=form, actor=reviewer, reason="逾期")
    with django_assert_num_queries(few[reviewer]):
        progress = selectors.campaign_progress(campaign, Access(reviewer))
    assert progress.total.total == len(WORLD_FORMS) + 15
    assert len(progress.open_orders) == 4
    with django_assert_num_queries(few[secretary]):
        progress = selectors.campaign_progress(campaign, Access(secretary))
    assert progress.total.total == 1 + 7  # and the new accounts of college A: 1, 3, …, 13


def test_form_list_reads_what_a_row_shows_in_one_query(world, campaign, django_assert_num_queries):
    """A row shows the account, its platform, the unit and the deadline (the campaign's due
    date): reading them for every form of the list takes the list's one query."""
    _more_accounts(world, 6, "l")
    services.campaign_add_accounts(campaign=campaign, actor=world.users["propaganda"])
    access = Access(world.users["propaganda"])
    assert access.reads_all  # the user's rights, read once per request
    with django_assert_num_queries(1):
        rows = [
            (f.account.name, f.account.platform.name, f.owner_unit.name, f.campaign.due_on)
            for f in selectors.form_list(access, campaign)
        ]
    assert len(rows) == len(WORLD_FORMS) + 6


# --- Two steps at the same moment (PostgreSQL: SQLite ignores row locks) -------------------------


def _in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # collected and asserted on by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)"
)
def test_two_reviewers_conclude_at_once_exactly_one_succeeds(monkeypatch):
    world = build_world()
    campaign = open_campaign(world)
    other = _reviewer(world)
    form = _signed(campaign, world)
    original = services._timeline

    def slow_timeline(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # hold the row lock while the other reviewer arrives
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_timeline", slow_timeline)

    def conclude(actor: User, outcome: str) -> Callable[[], ReviewForm]:
        return lambda: services.form_conclude(
            form=ReviewForm.objects.get(pk=form.pk),
            actor=actor,
            outcome=outcome,
            comment="结论",
        )

    results = _in_threads(
        [conclude(world.users["propaganda"], Outcome.PASS), conclude(other, Outcome.FAIL)]
    )
    successes = [r for r in results if isinstance(r, ReviewForm)]
    conflicts = [r for r in results if isinstance(r, services.ReviewConflict)]
    assert len(successes) == 1 and len(conflicts) == 1, results
    assert "已被他人处理" in str(conflicts[0])
    form.refresh_from_db()
    assert form.state == S.CONCLUDED and form.outcome == successes[0].outcome
    assert ReviewStep.objects.filter(form=form, action=ReviewAction.CONCLUDE).count() == 1
