"""The annual review through the API (annual_review/api.py): the access matrix, the flows of the
three tiers, rectify and return, self-signing, conflicts, bad input, lists and query counts."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annual_review import services
from annual_review.choices import Outcome, ReviewAction, ReviewState
from annual_review.models import ReviewCampaign, ReviewForm, ReviewStep
from approvals import services as approvals_services
from approvals.models import TeamChangeEvent
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Role, TeamRole
from campusmedia.models import AuditEvent, User
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.annual_review.conftest import YEAR, filled, form_of, submitted
from tests.conftest import World, make_account, make_login

pytestmark = pytest.mark.django_db
S = ReviewState
REVIEWS_URL = "/api/v1/reviews/"
ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
# API endpoint of a form → (method, body). ``edit`` is the PATCH of the form itself.
ENDPOINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "edit": ("patch", {"training": "补充培训记录"}),
    "submit": ("post", {}),
    "sign": ("post", {"comment": "同意"}),
    "conclude": ("post", {"outcome": Outcome.PASS}),
    "return": ("post", {"comment": "请补充自查情况"}),
}
# Forms of the campaign (active accounts): school (tier 1), propaganda (tier 2), school_org
# (tier 3), a (tier 2), b (tier 2). Who sees which.
SCOPE: dict[str, set[str]] = {
    "sec_a": {"a"},
    "head_a": {"a"},
    "sec_b": {"b"},
    "propaganda": {"school", "propaganda", "school_org", "a", "b"},
    "league": {"school_org"},
    "auditor": {"school", "propaganda", "school_org", "a", "b"},
}


def api_client(world: World, persona: str | User) -> Client:
    """A client authenticated by token (no session), or anonymous."""
    client = Client()
    user = persona if isinstance(persona, User) else world.users.get(persona)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def review_url(pk: int, step: str = "") -> str:
    return f"{REVIEWS_URL}{pk}/{step + '/' if step else ''}"


def call(client: Client, pk: int, endpoint: str, body: dict[str, Any] | None = None):
    """PATCH the form (``edit``) or POST one of its steps, with the endpoint's default body."""
    method, default = ENDPOINTS[endpoint]
    body = default if body is None else body
    if method == "patch":
        return client.patch(review_url(pk), body, content_type="application/json")
    return client.post(review_url(pk, endpoint), body, content_type="application/json")


def fresh(form: ReviewForm) -> ReviewForm:
    """The form as stored (a protected FSM field cannot be refreshed in place)."""
    return ReviewForm.objects.get(pk=form.pk)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Whatever happens inside is undone, so each call of a matrix starts from the same form."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def in_the_future(days: int = 30) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def user_with_roles(world: World, username: str, *roles: tuple[str, str]) -> User:
    """A login holding each (unit key, role) at once."""
    user = make_login(username)
    first_unit = world.units[roles[0][0]]
    person = registry.person_create(actor=None, name=f"{username}本人", unit=first_unit, user=user)
    for unit_key, role in roles:
        registry.role_assign(person=person, unit=world.units[unit_key], role=role, actor=None)
    return user


# --- The flows ----------------------------------------------------------------------------------


def test_tier2_flow(world: World, campaign: ReviewCampaign) -> None:
    """sec_a fills in and submits, head_a signs, the department concludes "pass"."""
    form = form_of(campaign, world, "a")
    sec_a, head_a = api_client(world, "sec_a"), api_client(world, "head_a")
    propaganda = api_client(world, "propaganda")

    body = sec_a.get(review_url(form.pk)).json()
    assert (body["state"], body["state_display"]) == (S.DRAFT, "待填报")
    assert (body["outcome"], body["outcome_display"]) == ("", "")
    assert body["account"]["name"] == world.accounts["a"].name
    assert body["owner_unit"]["id"] == world.units["a"].pk
    assert (body["tier"], body["year"], body["campaign"]["year"]) == (2, YEAR, YEAR)
    # Submitting is offered by the state and the right; an empty form is refused with 400.
    assert body["actions"] == ["edit", "submit"]

    response = call(sec_a, form.pk, "edit", filled())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["follower_count"] == 12000
    assert body["next_year_plan"] == "加强原创栏目建设。"
    assert body["started_at"]
    assert body["actions"] == ["edit", "submit"]

    response = call(sec_a, form.pk, "submit")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["submitted_by"]) == (S.SUBMITTED, "sec_a")
    assert body["snapshot"]["account"]["name"] == world.accounts["a"].name
    assert body["actions"] == []
    assert head_a.get(review_url(form.pk)).json()["actions"] == ["sign", "return"]

    response = call(head_a, form.pk, "sign", {"comment": "情况属实"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["signed_by"], body["sign_comment"]) == (
        S.SIGNED,
        "head_a",
        "情况属实",
    )
    assert propaganda.get(review_url(form.pk)).json()["actions"] == ["conclude", "return"]

    response = call(propaganda, form.pk, "conclude", {"outcome": "pass", "comment": "良好"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["outcome"], body["outcome_display"]) == (
        S.CONCLUDED,
        Outcome.PASS,
        "合格",
    )
    assert (body["concluded_by"], body["conclusion"]) == ("propaganda", "良好")
    assert body["actions"] == []
    assert [s["action"] for s in body["steps"]] == ["submit", "sign", "conclude"]
    assert body["steps"][1]["comment"] == "情况属实"
    assert body["steps"][2]["outcome_display"] == "合格"
    assert body["steps"][0]["actor_name"].endswith("（sec_a）")
    assert sec_a.get(review_url(form.pk)).json()["actions"] == []  # a pass is final


def test_tier3_school_org_is_signed_by_the_league(
    world: World, campaign: ReviewCampaign, league_sec: User
) -> None:
    form = form_of(campaign, world, "school_org")
    su = api_client(world, league_sec)
    assert call(su, form.pk, "edit", filled()).status_code == 200
    assert call(su, form.pk, "submit").status_code == 200

    # The college's head is no signer for the school-level union: it cannot even see the form.
    assert call(api_client(world, "head_a"), form.pk, "sign").status_code == 404
    assert call(api_client(world, "propaganda"), form.pk, "sign").status_code == 403
    league = api_client(world, "league")
    assert league.get(review_url(form.pk)).json()["tier"] == 3
    response = call(league, form.pk, "sign")
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["signed_by"]) == (S.SIGNED, "league")
    assert call(league, form.pk, "conclude").status_code == 403

    response = call(api_client(world, "propaganda"), form.pk, "conclude")
    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == Outcome.PASS


def test_tier1_school_form_is_concluded_by_the_propaganda_head_only(
    world: World, campaign: ReviewCampaign, propaganda_head: User
) -> None:
    """The department keeps the school's own account; tier 1 has no sign-off, and only the
    propaganda head concludes it."""
    form = form_of(campaign, world, "school")
    propaganda = api_client(world, "propaganda")
    assert call(propaganda, form.pk, "edit", filled()).status_code == 200
    assert call(propaganda, form.pk, "submit").status_code == 200

    head = api_client(world, propaganda_head)
    assert head.get(review_url(form.pk)).json()["actions"] == ["conclude", "return"]
    for persona in ("propaganda", "league", "head_a", "auditor"):
        expected = 403 if persona in ("propaganda", "auditor") else 404
        assert call(api_client(world, persona), form.pk, "sign").status_code == expected
    assert call(head, form.pk, "sign").status_code == 403  # tier 1 has no sign-off
    # A reviewer is not a final role for tier 1.
    response = call(propaganda, form.pk, "conclude")
    assert response.status_code == 403
    assert fresh(form).state == S.SUBMITTED

    response = call(head, form.pk, "conclude")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["outcome"], body["concluded_by"]) == (
        S.CONCLUDED,
        Outcome.PASS,
        "propaganda_head",
    )
    assert [s["action"] for s in body["steps"]] == ["submit", "conclude"]


def test_rectify_then_resubmit(world: World, campaign: ReviewCampaign) -> None:
    form = form_of(campaign, world, "a")
    sec_a, head_a = api_client(world, "sec_a"), api_client(world, "head_a")
    propaganda = api_client(world, "propaganda")
    submitted(campaign, world, "a")
    assert call(head_a, form.pk, "sign").status_code == 200

    rectify_by = in_the_future()
    response = call(
        propaganda,
        form.pk,
        "conclude",
        {"outcome": "rectify", "comment": "原创比例偏低", "rectify_by": rectify_by},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["outcome"], body["rectify_by"]) == (
        S.CONCLUDED,
        Outcome.RECTIFY,
        rectify_by,
    )
    assert body["outcome_display"] == "限期整改"
    assert sec_a.get(review_url(form.pk)).json()["actions"] == ["edit", "submit"]

    response = call(sec_a, form.pk, "edit", {"original_post_count": 150})
    assert response.status_code == 200, response.json()
    response = call(sec_a, form.pk, "submit")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["outcome"], body["signed_by"]) == (S.SUBMITTED, "", None)
    assert call(sec_a, form.pk, "edit").status_code == 409  # with the head again

    assert call(head_a, form.pk, "sign").status_code == 200
    response = call(propaganda, form.pk, "conclude")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["outcome"], body["rectify_by"]) == (Outcome.PASS, None)
    assert [s["action"] for s in body["steps"]] == [
        "submit",
        "sign",
        "conclude",
        "submit",
        "sign",
        "conclude",
    ]
    assert [s["outcome"] for s in body["steps"] if s["action"] == "conclude"] == [
        "rectify",
        "pass",
    ]


@pytest.mark.parametrize("state", [S.SUBMITTED, S.SIGNED])
def test_return_needs_a_comment(world: World, campaign: ReviewCampaign, state: str) -> None:
    """Whoever the form waits for returns it, with a reason; the unit edits and resubmits."""
    form = submitted(campaign, world, "a")
    if state == S.SIGNED:
        services.form_sign(form=form, actor=world.users["head_a"])
    reviewer = api_client(world, "head_a" if state == S.SUBMITTED else "propaganda")

    for body in ({}, {"comment": "   "}):
        response = call(reviewer, form.pk, "return", body)
        assert response.status_code == 400
        assert response.json() == {"comment": [services.ERR_COMMENT]}
        assert response.json()["comment"][0].startswith("意见：")
    assert fresh(form).state == state
    assert not ReviewStep.objects.filter(action=ReviewAction.RETURN).exists()

    response = call(reviewer, form.pk, "return", {"comment": "  请补充培训情况  "})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == S.RETURNED
    assert body["steps"][-1]["comment"] == "请补充培训情况"

    sec_a = api_client(world, "sec_a")
    assert sec_a.get(review_url(form.pk)).json()["actions"] == ["edit", "submit"]
    assert call(sec_a, form.pk, "edit", {"training": "参加培训 3 次"}).status_code == 200
    assert call(sec_a, form.pk, "submit").status_code == 200
    assert fresh(form).state == S.SUBMITTED


# --- Who may not -------------------------------------------------------------------------------


def test_nobody_signs_their_own_form(world: World, campaign: ReviewCampaign) -> None:
    """A secretary who is also the unit's head submits, and so cannot sign."""
    both = user_with_roles(world, "sec_head_a", ("a", Role.SECRETARY), ("a", Role.HEAD))
    client = api_client(world, both)
    form = form_of(campaign, world, "a")
    assert client.get(review_url(form.pk)).json()["actions"] == ["edit", "submit"]
    assert call(client, form.pk, "edit", filled()).status_code == 200
    assert call(client, form.pk, "submit").status_code == 200
    body = client.get(review_url(form.pk)).json()
    assert body["actions"] == []
    for step in ("sign", "return"):
        assert call(client, form.pk, step).status_code == 403
    assert fresh(form).state == S.SUBMITTED
    assert call(api_client(world, "head_a"), form.pk, "sign").status_code == 200


def test_nobody_concludes_what_they_submitted_or_signed(
    world: World, campaign: ReviewCampaign, propaganda_head: User
) -> None:
    # The propaganda head submits the school's form: another final role is needed, and tier 1
    # has none but the head.
    school = form_of(campaign, world, "school")
    head = api_client(world, propaganda_head)
    assert call(head, school.pk, "edit", filled()).status_code == 200
    assert call(head, school.pk, "submit").status_code == 200
    assert head.get(review_url(school.pk)).json()["actions"] == []
    assert call(head, school.pk, "conclude").status_code == 403
    assert fresh(school).state == S.SUBMITTED

    # College A's head who is also a propaganda reviewer signs, and so does not conclude.
    signer = user_with_roles(
        world, "head_and_reviewer", ("a", Role.HEAD), ("propaganda", Role.PROPAGANDA_REVIEWER)
    )
    form = submitted(campaign, world, "a")
    client = api_client(world, signer)
    assert call(client, form.pk, "sign").status_code == 200
    assert client.get(review_url(form.pk)).json()["actions"] == []
    assert call(client, form.pk, "conclude").status_code == 403
    assert call(client, form.pk, "return").status_code == 403
    assert call(api_client(world, "propaganda"), form.pk, "conclude").status_code == 200


@pytest.mark.parametrize("step", ["submit", "sign", "conclude", "return"])
def test_a_repeated_step_is_409(world: World, campaign: ReviewCampaign, step: str) -> None:
    form = form_of(campaign, world, "a")
    actor = {"submit": "sec_a", "sign": "head_a", "conclude": "propaganda", "return": "head_a"}
    if step == "submit":
        services.form_update(form=form, actor=world.users["sec_a"], data=filled())
    else:
        form = submitted(campaign, world, "a")
    if step == "conclude":
        services.form_sign(form=form, actor=world.users["head_a"])
    client = api_client(world, actor[step])
    assert call(client, form.pk, step).status_code == 200
    state = fresh(form).state
    steps = ReviewStep.objects.count()

    response = call(client, form.pk, step)
    assert response.status_code == 409
    assert response.json()["detail"].startswith(f"当前状态（{fresh(form).get_state_display()}）")
    assert fresh(form).state == state
    assert ReviewStep.objects.count() == steps


def test_the_auditor_changes_nothing(world: World, campaign: ReviewCampaign) -> None:
    auditor = api_client(world, "auditor")
    drafts = [form_of(campaign, world, key) for key in ("school", "school_org", "b")]
    form = submitted(campaign, world, "a")
    for endpoint in ENDPOINTS:
        for target in (*drafts, form):
            assert auditor.get(review_url(target.pk)).json()["actions"] == []
            assert call(auditor, target.pk, endpoint).status_code == 403, endpoint
    for draft in drafts:
        assert (fresh(draft).state, fresh(draft).training) == (S.DRAFT, "")
    assert fresh(form).state == S.SUBMITTED
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert (row.actor, row.outcome) == (world.users["auditor"], AuditOutcome.DENIED)
    assert row.detail["path"] == review_url(form.pk, "return")


# --- The access matrix (SECURITY.md, Authorization) ----------------------------------------

# College A's form in each state, every persona × endpoint. 404: cannot see it; 403: holds no
# right that could ever allow the endpoint; 409: would have the right, not in this state;
# 200: done. The department keeps every unit's accounts (as for requests), so it may fill in a
# unit's form; it concludes only after the head signed, and returns only what waits for it.
OUT_OF_SCOPE = {"sec_b": 404, "league": 404, "auditor": 403, ANONYMOUS: 401}
MATRIX: dict[str, dict[str, dict[str, int]]] = {
    S.DRAFT: {  # filled in, not submitted
        "sec_a": {"edit": 200, "submit": 200, "sign": 403, "conclude": 403, "return": 403},
        "head_a": {"edit": 403, "submit": 403, "sign": 409, "conclude": 403, "return": 409},
        "propaganda": {"edit": 200, "submit": 200, "sign": 403, "conclude": 409, "return": 409},
    },
    S.SUBMITTED: {  # waiting for head_a
        "sec_a": {"edit": 409, "submit": 409, "sign": 403, "conclude": 403, "return": 403},
        "head_a": {"edit": 403, "submit": 403, "sign": 200, "conclude": 403, "return": 200},
        "propaganda": {"edit": 409, "submit": 409, "sign": 403, "conclude": 409, "return": 403},
    },
    S.SIGNED: {  # waiting for the department
        "sec_a": {"edit": 409, "submit": 409, "sign": 403, "conclude": 403, "return": 403},
        "head_a": {"edit": 403, "submit": 403, "sign": 409, "conclude": 403, "return": 403},
        "propaganda": {"edit": 409, "submit": 409, "sign": 403, "conclude": 200, "return": 200},
    },
}


def _form_in(campaign: ReviewCampaign, world: World, state: str) -> ReviewForm:
    form = form_of(campaign, world, "a")
    if state == S.DRAFT:
        return services.form_update(form=form, actor=world.users["sec_a"], data=filled())
    form = submitted(campaign, world, "a")
    if state == S.SIGNED:
        form = services.form_sign(form=form, actor=world.users["head_a"])
    return form


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("state", list(MATRIX))
def test_access_matrix(world: World, campaign: ReviewCampaign, persona: str, state: str) -> None:
    """Each endpoint on the same form (undone after each call): the answer of the matrix, the
    form changed only on 200, and exactly the endpoints answered 200 are the detail's
    ``actions``."""
    form = _form_in(campaign, world, state)
    client = api_client(world, persona)
    detail = client.get(review_url(form.pk))
    expected_row = MATRIX[state].get(persona) or dict.fromkeys(ENDPOINTS, OUT_OF_SCOPE[persona])
    if "a" in SCOPE.get(persona, ()):
        assert detail.status_code == 200
        listed = detail.json()["actions"]
        assert listed == [e for e in ENDPOINTS if expected_row[e] == 200], (persona, listed)
    for endpoint in ENDPOINTS:
        with rolled_back():
            before = fresh(form)
            response = call(client, form.pk, endpoint)
            expected = expected_row[endpoint]
            assert response.status_code == expected, (persona, endpoint, response.content)
            after = fresh(form)
            changed = (after.state, after.training, after.updated_at) != (
                before.state,
                before.training,
                before.updated_at,
            )
            assert changed == (expected == 200), (persona, endpoint)
            if expected == 409:
                assert response.json()["detail"]
            if expected in (403, 404, 401):
                assert "state" not in response.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_visibility(world: World, campaign: ReviewCampaign, persona: str) -> None:
    """The list holds the forms of the caller's units, the detail answers 404 for the others."""
    client = api_client(world, persona)
    forms = {key: form_of(campaign, world, key) for key in SCOPE["propaganda"]}
    response = client.get(REVIEWS_URL)
    if persona == ANONYMOUS:
        assert response.status_code == 401
        assert "results" not in response.json()
        assert client.get(review_url(forms["a"].pk)).status_code == 401
        return
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {forms[key].pk for key in SCOPE[persona]}
    for key, form in forms.items():
        detail = client.get(review_url(form.pk))
        assert detail.status_code == (200 if key in SCOPE[persona] else 404), (persona, key)
        if detail.status_code == 404:
            assert "account" not in detail.json()
            # A step on a form out of sight is 404 too, before any right is asked.
            assert call(client, form.pk, "conclude").status_code == 404
    assert client.get(review_url(999999)).status_code == 404


def test_a_league_approver_sees_and_signs_the_school_org_only(
    world: World, campaign: ReviewCampaign, league_sec: User
) -> None:
    org = form_of(campaign, world, "school_org")
    org = services.form_update(form=org, actor=league_sec, data=filled())
    services.form_submit(form=org, actor=league_sec)
    league = api_client(world, "league")
    assert league.get(review_url(org.pk)).json()["actions"] == ["sign", "return"]
    a_form = submitted(campaign, world, "a")
    assert call(league, a_form.pk, "sign").status_code == 404
    assert call(api_client(world, "sec_a"), org.pk, "sign").status_code == 404


# --- Bad input ---------------------------------------------------------------------------------


def test_bad_figures_are_refused_by_field_in_chinese(
    world: World, campaign: ReviewCampaign
) -> None:
    form = form_of(campaign, world, "a")
    sec_a = api_client(world, "sec_a")
    response = call(
        sec_a,
        form.pk,
        "edit",
        {"follower_count": "很多", "post_count": -1, "registry_confirmed": "也许", "training": "x"},
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"follower_count", "post_count", "registry_confirmed"}
    assert errors["follower_count"][0].startswith("粉丝量：")
    assert errors["post_count"][0].startswith("全年发布数：")
    assert errors["registry_confirmed"][0].startswith("登记信息无误：")
    for messages in errors.values():  # after the field's name, a reason in Chinese
        assert re.search(r"[\u4e00-\u9fff]", messages[0].split("：", 1)[1]), messages
    stored = fresh(form)
    assert (stored.follower_count, stored.training, stored.started_at) == (None, "", None)

    # Values of the right type that do not add up: the service's own message, once labelled.
    response = call(sec_a, form.pk, "edit", {"post_count": 10, "original_post_count": 11})
    assert response.status_code == 400
    assert response.json() == {"original_post_count": [services.ERR_ORIGINAL_POSTS]}
    stored = fresh(form)
    assert (stored.post_count, stored.original_post_count, stored.started_at) == (None, None, None)


def test_fields_outside_the_form_are_not_written(world: World, campaign: ReviewCampaign) -> None:
    form = form_of(campaign, world, "a")
    response = call(
        api_client(world, "sec_a"),
        form.pk,
        "edit",
        {"state": S.CONCLUDED, "outcome": "pass", "conclusion": "自评合格", "training": "培训"},
    )
    assert response.status_code == 200
    stored = fresh(form)
    assert (stored.state, stored.outcome, stored.conclusion) == (S.DRAFT, "", "")
    assert stored.training == "培训"


def test_an_incomplete_form_is_not_submitted(world: World, campaign: ReviewCampaign) -> None:
    form = form_of(campaign, world, "a")
    sec_a = api_client(world, "sec_a")
    assert call(sec_a, form.pk, "edit", {"follower_count": 100}).status_code == 200
    response = call(sec_a, form.pk, "submit")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {
        "post_count",
        "original_post_count",
        "incident_count",
        "self_assessment",
        "next_year_plan",
        "registry_confirmed",
    }
    assert errors["post_count"] == ["全年发布数：提交前请填写。"]
    assert errors["registry_confirmed"] == [services.ERR_CONFIRM]
    stored = fresh(form)
    assert (stored.state, stored.submitted_by, stored.snapshot) == (S.DRAFT, None, {})
    assert not ReviewStep.objects.exists()


def test_bad_conclusions_are_refused_by_field(world: World, campaign: ReviewCampaign) -> None:
    form = submitted(campaign, world, "a")
    services.form_sign(form=form, actor=world.users["head_a"])
    propaganda = api_client(world, "propaganda")
    today = timezone.localdate().isoformat()
    rectify = {"outcome": "rectify", "comment": "整改"}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({}, "outcome", services.ERR_OUTCOME),
        ({"outcome": "excellent"}, "outcome", services.ERR_OUTCOME),
        ({"outcome": "fail"}, "comment", services.ERR_COMMENT),
        (rectify, "rectify_by", services.ERR_RECTIFY_BY),
        ({**rectify, "rectify_by": today}, "rectify_by", services.ERR_RECTIFY_BY),
        ({**rectify, "rectify_by": "明年"}, "rectify_by", "整改期限："),  # not a date
    ]
    for body, field, message in cases:
        response = call(propaganda, form.pk, "conclude", body)
        assert response.status_code == 400, body
        errors = response.json()
        assert list(errors) == [field], body
        assert errors[field][0].startswith(message), (body, errors)
    stored = fresh(form)
    assert (stored.state, stored.outcome, stored.concluded_by) == (S.SIGNED, "", None)
    assert not ReviewStep.objects.filter(action=ReviewAction.CONCLUDE).exists()


def test_an_edit_racing_a_submission_is_409(
    world: World, campaign: ReviewCampaign, monkeypatch
) -> None:
    """The form left the unit's hands between the read and the locked write: 409, not 403."""
    form = services.form_update(
        form=form_of(campaign, world, "a"), actor=world.users["sec_a"], data=filled()
    )
    original = services.form_update

    def racing(**kwargs: Any) -> ReviewForm:
        services.form_submit(form=kwargs["form"], actor=world.users["propaganda"])
        return original(**kwargs)

    monkeypatch.setattr(services, "form_update", racing)
    response = call(api_client(world, "sec_a"), form.pk, "edit", {"training": "迟到的修改"})
    assert response.status_code == 409
    assert response.json()["detail"] == "当前状态（待单位签署）下不能执行“修改”。"
    assert fresh(form).training == filled()["training"]


def test_put_is_not_offered(world: World, campaign: ReviewCampaign) -> None:
    form = form_of(campaign, world, "a")
    response = api_client(world, "sec_a").put(
        review_url(form.pk), filled(), content_type="application/json"
    )
    assert response.status_code == 405
    assert fresh(form).started_at is None


# --- The detail --------------------------------------------------------------------------------


def test_detail_shows_the_years_team_changes_with_is_late(
    world: World, campaign: ReviewCampaign
) -> None:
    """The 3-day rule is reckoned by the system: filed late, still open past the due date, or
    filed in time; changes of other years are not the year's."""
    account = world.accounts["a"]
    admin, supervisor = world.admins["a"], world.supervisors["a"]
    member = account.team.get(person=admin, role=TeamRole.ADMINISTRATOR)
    open_late = approvals_services.team_change_record(
        member=member, actor=world.users["sec_a"], happened_on=datetime.date(YEAR, 3, 2)
    )
    in_time = TeamChangeEvent.objects.create(
        account=account,
        person=supervisor,
        role=TeamRole.SUPERVISOR,
        happened_on=datetime.date(YEAR, 5, 10),
        due_on=datetime.date(YEAR, 5, 13),
        source="recorded",
        filed_at=timezone.make_aware(datetime.datetime(YEAR, 5, 12, 10)),
    )
    filed_late = TeamChangeEvent.objects.create(
        account=account,
        person=supervisor,
        role=TeamRole.SUPERVISOR,
        happened_on=datetime.date(YEAR, 6, 1),
        due_on=datetime.date(YEAR, 6, 4),
        source="recorded",
        filed_at=timezone.make_aware(datetime.datetime(YEAR, 6, 20, 10)),
    )
    TeamChangeEvent.objects.create(  # last year's: not this review's
        account=account,
        person=supervisor,
        role=TeamRole.SUPERVISOR,
        happened_on=datetime.date(YEAR - 1, 12, 1),
        due_on=datetime.date(YEAR - 1, 12, 4),
        source="recorded",
    )
    form = form_of(campaign, world, "a")
    response = api_client(world, "head_a").get(review_url(form.pk))
    body = response.json()
    rows = {row["id"]: row for row in body["team_changes"]}
    assert list(rows) == [open_late.pk, in_time.pk, filed_late.pk]  # by date
    assert {pk: row["is_late"] for pk, row in rows.items()} == {
        open_late.pk: open_late.due_on < timezone.localdate(),
        in_time.pk: False,
        filed_late.pk: True,
    }
    assert rows[open_late.pk]["person_name"] == admin.name
    assert rows[open_late.pk]["role_display"] == TeamRole.ADMINISTRATOR.label
    assert rows[in_time.pk]["source_display"] == "秘书登记"
    # Names only: no contact data of the team in the form.
    text = response.content.decode()
    assert admin.mobile not in text
    assert admin.email not in text


def test_detail_query_count_does_not_grow_with_steps(
    world: World, campaign: ReviewCampaign
) -> None:
    client = api_client(world, "propaganda")
    form = submitted(campaign, world, "a")
    client.get(review_url(form.pk))  # warm: token, content types
    with CaptureQueriesContext(connection) as before:
        client.get(review_url(form.pk))
    form = services.form_return(form=form, actor=world.users["head_a"], comment="改")
    form = services.form_submit(form=form, actor=world.users["sec_a"])
    with CaptureQueriesContext(connection) as after:
        response = client.get(review_url(form.pk))
    assert len(response.json()["steps"]) == 3
    assert len(after) == len(before)
    # token, roles, unit permissions (may the caller sign?), the form with its joins, its
    # steps, the year's team changes
    assert len(after) == 6


# --- The list ----------------------------------------------------------------------------------


def test_list_shape_and_filters(world: World, campaign: ReviewCampaign) -> None:
    last_year, _ = services.campaign_open(
        year=YEAR - 1,
        starts_on=datetime.date(YEAR - 1, 11, 1),
        due_on=datetime.date(YEAR, 1, 15),
        actor=world.users["propaganda"],
    )
    a_form = submitted(campaign, world, "a")
    sub = make_account(
        unit=world.units["a_sub"],
        name="实验中心视频号",
        status=AccountStatus.ACTIVE,
        account_id="lab_video01",
    )
    services.campaign_add_accounts(campaign=campaign, actor=world.users["propaganda"])
    sub_form = ReviewForm.objects.get(campaign=campaign, account=sub)
    old_a = form_of(last_year, world, "a")
    client = api_client(world, "sec_a")

    body = client.get(REVIEWS_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["results"][0]["id"] in {a_form.pk, sub_form.pk}  # this year first
    row = next(r for r in body["results"] if r["id"] == a_form.pk)
    assert (row["state"], row["state_display"]) == (S.SUBMITTED, "待单位签署")
    assert (row["year"], row["tier"], row["account"]["platform"]) == (YEAR, 2, "wechat")
    assert row["owner_unit"]["name"] == "计算机学院"
    assert "actions" not in row and "steps" not in row

    def ids(**params: Any) -> set[int]:
        response = client.get(REVIEWS_URL, params)
        assert response.status_code == 200
        return {r["id"] for r in response.json()["results"]}

    everything = {a_form.pk, sub_form.pk, old_a.pk}
    assert ids(year=YEAR) == {a_form.pk, sub_form.pk}
    assert ids(year=YEAR - 1) == {old_a.pk}
    assert ids(year="bogus") == everything  # unknown: ignored
    assert ids(state=S.SUBMITTED) == {a_form.pk}
    assert ids(state=S.DRAFT, year=YEAR) == {sub_form.pk}
    assert ids(state="bogus") == everything
    assert ids(unit=world.units["a_sub"].pk) == {sub_form.pk}
    assert ids(unit=world.units["a"].pk) == everything  # with the college's sub-units
    assert ids(unit=world.units["b"].pk) == set()  # a filter never widens the scope

    page = client.get(REVIEWS_URL, {"page_size": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert page["next"]


def _list_queries(client: Client) -> tuple[int, int]:
    client.get(REVIEWS_URL)  # warm: token, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get(REVIEWS_URL)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def _more_accounts(world: World, campaign: ReviewCampaign, unit_key: str, n: int) -> None:
    for i in range(n):
        make_account(
            unit=world.units[unit_key],
            name=f"计数号{unit_key}{i}",
            status=AccountStatus.ACTIVE,
            account_id=f"gh_{unit_key}_{i}",
        )
    services.campaign_add_accounts(campaign=campaign, actor=world.users["propaganda"])


# Queries of a list page, whatever its length: token, roles, (the unit permissions of a unit
# role), the count, the page with its joins.
LIST_QUERIES = {"sec_a": 5, "propaganda": 4}


@pytest.mark.parametrize("persona", list(LIST_QUERIES))
def test_list_query_count_is_constant(world: World, campaign: ReviewCampaign, persona: str) -> None:
    client = api_client(world, persona)
    # One more account for college A: sec_a sees two forms, the department six.
    _more_accounts(world, campaign, "a", 1)
    few_expected = {"sec_a": 2, "propaganda": 6}[persona]
    few, rows = _list_queries(client)
    assert rows == few_expected
    _more_accounts(world, campaign, "a_sub", 8)
    submitted(campaign, world, "a")
    services.form_sign(form=form_of(campaign, world, "a"), actor=world.users["head_a"])
    many, rows = _list_queries(client)
    assert rows == few_expected + 8
    assert many == few == LIST_QUERIES[persona]


# --- Schema ------------------------------------------------------------------------------------


def test_schema_lists_the_review_endpoints(world: World, client_for) -> None:
    response = client_for(world.users["sec_a"]).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/v1/reviews/"]) == {"get"}
    assert set(paths["/api/v1/reviews/{id}/"]) == {"get", "patch"}
    for step in ("submit", "sign", "conclude", "return"):
        assert set(paths[f"/api/v1/reviews/{{id}}/{step}/"]) == {"post"}
    params = {p["name"] for p in paths["/api/v1/reviews/"]["get"]["parameters"]}
    assert {"year", "unit", "state", "page", "page_size"} <= params
    patch = paths["/api/v1/reviews/{id}/"]["patch"]
    assert set(patch["responses"]) >= {"200", "400", "403", "404", "409"}
