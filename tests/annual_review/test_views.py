"""The review pages (annual_review/views.py): who reaches which page and step, what each leaves in
the database, the messages of bad input, and the query counts of the list pages.

Active accounts of the world, and so the forms of the ``campaign`` fixture: school (tier 1),
propaganda (tier 2), school_org (tier 3, signed by the Youth League), a (tier 2, signed by head_a)
and b (tier 2; college B's head, ``head_b``, is made here when a form must reach the department).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from annual_review import services
from annual_review.choices import Outcome, ReviewState
from annual_review.models import CloseOrder, ReviewCampaign, ReviewForm, ReviewStep, ZeroReport
from approvals import services as requests
from approvals.models import TeamChangeEvent
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Role, TeamRole
from campusmedia.models import MediaAccount, User
from tests.annual_review.conftest import YEAR, filled, form_of
from tests.conftest import SOURCE, World, make_account, make_login, next_mobile

pytestmark = pytest.mark.django_db
S = ReviewState

ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
LOGIN_URL = "/accounts/login/"
LOGIN = "login"  # 302 to the login page, nothing changed
DONE = 302  # 302 to the form's (or campaign's) page, and the change happened
# scope → (account key, the unit's secretary who fills the form)
SCOPES = {"A": ("a", "sec_a"), "B": ("b", "sec_b")}


def _today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def campaign(world: World) -> ReviewCampaign:
    """The shared fixture's campaign, due a month from today whatever day the tests run."""
    campaign, _added = services.campaign_open(
        year=YEAR,
        starts_on=_today(),
        due_on=_today() + datetime.timedelta(days=30),
        actor=world.users["propaganda"],
        instructions="请如实填报。",
    )
    return campaign


def head_b(world: World) -> User:
    """College B's head (not a persona), who signs its forms so they reach the department."""
    user = User.objects.filter(username="head_b").first()
    if user is None:
        user = make_login("head_b")
        person = registry.person_create(actor=None, name="郑书记", unit=world.units["b"], user=user)
        registry.role_assign(person=person, unit=world.units["b"], role=Role.HEAD, actor=None)
    return user


def signer(world: World, scope: str) -> User:
    return world.users["head_a"] if scope == "A" else head_b(world)


# --- Forms in the state a step needs, built through the services -------------------------------


def draft(world: World, campaign: ReviewCampaign, scope: str) -> ReviewForm:
    return form_of(campaign, world, SCOPES[scope][0])


def filled_in(world: World, campaign: ReviewCampaign, scope: str) -> ReviewForm:
    key, secretary = SCOPES[scope]
    return services.form_update(
        form=form_of(campaign, world, key), actor=world.users[secretary], data=filled()
    )


def submitted(world: World, campaign: ReviewCampaign, scope: str) -> ReviewForm:
    secretary = world.users[SCOPES[scope][1]]
    return services.form_submit(form=filled_in(world, campaign, scope), actor=secretary)


def signed(world: World, campaign: ReviewCampaign, scope: str) -> ReviewForm:
    return services.form_sign(
        form=submitted(world, campaign, scope), actor=signer(world, scope), comment="同意"
    )


def failed(world: World, campaign: ReviewCampaign, scope: str) -> ReviewForm:
    return services.form_conclude(
        form=signed(world, campaign, scope),
        actor=world.users["propaganda"],
        outcome=Outcome.FAIL,
        comment="长期停更。",
    )


def state_of(form: ReviewForm) -> str:
    form.refresh_from_db()
    return form.state


def form_post(**extra: Any) -> dict[str, Any]:
    """``filled()`` as the browser posts it (a ticked box is "on", an unticked one absent)."""
    data = {k: ("" if v is None else v) for k, v in filled(**extra).items()}
    if data.pop("registry_confirmed"):
        data["registry_confirmed"] = "on"
    return data


def call(client: Client, method: str, url: str, data: dict[str, Any] | None = None):
    return client.get(url) if method == "get" else client.post(url, data or {})


def messages_of(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- The access matrix --------------------------------------------------------------------------


def row(*cells: int | str) -> dict[str, int | str]:
    """One line of the table, in the order of PERSONAS."""
    assert len(cells) == len(PERSONAS)
    return dict(zip(PERSONAS, cells, strict=True))


# endpoint → scope → persona → expected. "A": the form of college A's account (in scope for
# sec_a and head_a); "B": college B's (in scope for sec_b only). The propaganda reviewer reads
# and keeps every unit's accounts (so it may fill in and submit too) and concludes tiers 2 and 3;
# the auditor reads everything and writes nothing; the Youth League signs only for school-level
# student organisations, so colleges are outside.
READ = {
    #        sec_a head_a sec_b propaganda league auditor anonymous
    "A": row(200, 200, 404, 200, 404, 200, LOGIN),
    "B": row(404, 404, 200, 200, 404, 200, LOGIN),
}
KEEP = {
    "A": row(DONE, 403, 404, DONE, 404, 403, LOGIN),
    "B": row(404, 404, DONE, DONE, 404, 403, LOGIN),
}
SIGN = {  # nobody among the personas signs for college B (head_b is not a persona)
    "A": row(403, DONE, 404, 403, 404, 403, LOGIN),
    "B": row(404, 404, 403, 403, 404, 403, LOGIN),
}
DECIDE = {
    "A": row(403, 403, 404, DONE, 404, 403, LOGIN),
    "B": row(404, 404, 403, DONE, 404, 403, LOGIN),
}
EXPECTED: dict[str, dict[str, dict[str, int | str]]] = {
    "detail": READ,
    "edit": {
        "A": row(200, 403, 404, 200, 404, 403, LOGIN),
        "B": row(404, 404, 200, 200, 404, 403, LOGIN),
    },
    "save": KEEP,
    "submit": KEEP,
    "sign": SIGN,
    "return (unit)": SIGN,
    "conclude": DECIDE,
    "return (department)": DECIDE,
    "order-close": DECIDE,
    "form.pdf": READ,
}


@dataclass
class Target:
    """One endpoint on one form: how to call it and what a success changes."""

    method: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    done_url: str = ""
    probe: Callable[[], Any] = lambda: None
    after: Any = None


Build = Callable[[World, ReviewCampaign, str], ReviewForm]


def _step(build: Build, step: str, to: str, **data: Any) -> Callable[..., Target]:
    def target(world: World, campaign: ReviewCampaign, scope: str) -> Target:
        form = build(world, campaign, scope)
        return Target(
            "post",
            f"/reviews/forms/{form.pk}/{step}/",
            data,
            done_url=form.get_absolute_url(),
            probe=lambda: state_of(form),
            after=to,
        )

    return target


def _get(path: str) -> Callable[..., Target]:
    def target(world: World, campaign: ReviewCampaign, scope: str) -> Target:
        return Target("get", path.format(pk=draft(world, campaign, scope).pk))

    return target


def _save(world: World, campaign: ReviewCampaign, scope: str) -> Target:
    form = draft(world, campaign, scope)

    def probe() -> Any:
        form.refresh_from_db()
        return form.follower_count

    return Target(
        "post",
        f"/reviews/forms/{form.pk}/edit/",
        form_post(),
        done_url=form.get_absolute_url(),
        probe=probe,
        after=12000,
    )


def _order_close(world: World, campaign: ReviewCampaign, scope: str) -> Target:
    form = failed(world, campaign, scope)
    return Target(
        "post",
        f"/reviews/forms/{form.pk}/order-close/",
        {"reason": "年检不合格。"},
        done_url=form.get_absolute_url(),
        probe=lambda: CloseOrder.objects.filter(review=form).count(),
        after=1,
    )


TARGETS: dict[str, Callable[..., Target]] = {
    "detail": _get("/reviews/forms/{pk}/"),
    "edit": _get("/reviews/forms/{pk}/edit/"),
    "save": _save,
    "submit": _step(filled_in, "submit", S.SUBMITTED),
    "sign": _step(submitted, "sign", S.SIGNED, comment="同意。"),
    "return (unit)": _step(submitted, "return", S.RETURNED, comment="请补充。"),
    "conclude": _step(signed, "conclude", S.CONCLUDED, outcome=Outcome.PASS),
    "return (department)": _step(signed, "return", S.RETURNED, comment="请补充。"),
    "order-close": _order_close,
    "form.pdf": _get("/reviews/forms/{pk}/form.pdf"),
}

CASES = [
    (endpoint, scope, persona)
    for endpoint in EXPECTED
    for scope in ("A", "B")
    for persona in PERSONAS
]


@pytest.mark.parametrize(("endpoint", "scope", "persona"), CASES)
def test_access_matrix_of_a_form(
    world: World,
    campaign: ReviewCampaign,
    client_for,
    endpoint: str,
    scope: str,
    persona: str,
) -> None:
    """Each persona on each endpoint of a form inside and outside their scope: the answer, and
    the change only on success."""
    expected = EXPECTED[endpoint][scope][persona]
    target = TARGETS[endpoint](world, campaign, scope)
    before = target.probe()
    steps_before = ReviewStep.objects.count()
    client = client_for(None if persona == ANONYMOUS else world.users[persona])

    response = call(client, target.method, target.url, target.data)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN_URL)
    elif expected == DONE:
        assert response.status_code == 302, messages_of(response)
        assert response["Location"] == target.done_url
        assert target.probe() == target.after
        return
    else:
        assert response.status_code == expected
    assert target.probe() == before
    assert ReviewStep.objects.count() == steps_before


# Endpoints of the campaign, not of one form.
CAMPAIGN_EXPECTED: dict[str, dict[str, int | str]] = {
    "index": row(200, 200, 200, 200, 200, 200, LOGIN),
    "campaign": row(200, 200, 200, 200, 200, 200, LOGIN),
    "report.pdf": row(403, 403, 403, 200, 403, 200, LOGIN),
    "results.xlsx": row(200, 200, 200, 200, 200, 200, LOGIN),
    "open": row(403, 403, 403, DONE, 403, 403, LOGIN),
    "add-accounts": row(403, 403, 403, DONE, 403, 403, LOGIN),
    # The zero report of college A's lab (no active account): its keepers file it.
    "zero-report": row(DONE, 403, 404, DONE, 404, 403, LOGIN),
}


def _campaign_target(world: World, campaign: ReviewCampaign, endpoint: str) -> Target:
    base = f"/reviews/{YEAR}/"
    if endpoint == "index":
        return Target("get", "/reviews/")
    if endpoint == "campaign":
        return Target("get", base)
    if endpoint in ("report.pdf", "results.xlsx"):
        return Target("get", base + endpoint)
    if endpoint == "open":
        return Target(
            "post",
            "/reviews/open/",
            {"year": YEAR + 1, "starts_on": "2027-11-01", "due_on": "2028-01-15", "title": ""},
            done_url=f"/reviews/{YEAR + 1}/",
            probe=lambda: ReviewCampaign.objects.filter(year=YEAR + 1).count(),
            after=1,
        )
    if endpoint == "add-accounts":
        make_account(
            unit=world.units["a"], name="新开通账号", status=AccountStatus.ACTIVE, account_id="x1"
        )
        return Target(
            "post",
            base + "add-accounts/",
            done_url=base,
            probe=lambda: campaign.forms.count(),
            after=6,
        )
    unit = world.units["a_sub"]
    return Target(
        "post",
        base + "zero-report/",
        {"unit": unit.pk, "note": "本单位无账号"},
        done_url=base,
        probe=lambda: ZeroReport.objects.filter(campaign=campaign, unit=unit).count(),
        after=1,
    )


@pytest.mark.parametrize(
    ("endpoint", "persona"), [(e, p) for e in CAMPAIGN_EXPECTED for p in PERSONAS]
)
def test_access_matrix_of_a_campaign(
    world: World, campaign: ReviewCampaign, client_for, endpoint: str, persona: str
) -> None:
    expected = CAMPAIGN_EXPECTED[endpoint][persona]
    target = _campaign_target(world, campaign, endpoint)
    before = target.probe()
    client = client_for(None if persona == ANONYMOUS else world.users[persona])

    response = call(client, target.method, target.url, target.data)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN_URL)
    elif expected == DONE:
        assert response.status_code == 302, messages_of(response)
        assert response["Location"] == target.done_url
        assert target.probe() == target.after
        return
    else:
        assert response.status_code == expected
    assert target.probe() == before


def test_an_unknown_campaign_or_step_is_not_found(world, campaign, client_for) -> None:
    client = client_for(world.users["propaganda"])
    form = form_of(campaign, world, "a")
    assert client.get(f"/reviews/{YEAR + 5}/").status_code == 404
    assert client.get(f"/reviews/{YEAR + 5}/report.pdf").status_code == 404
    assert client.post(f"/reviews/forms/{form.pk}/approve/").status_code == 404
    assert client.get("/reviews/forms/999999/").status_code == 404


def test_steps_are_post_only(world, campaign, client_for) -> None:
    client = client_for(world.users["propaganda"])
    form = form_of(campaign, world, "a")
    for step in ("submit", "sign", "return", "conclude", "order-close"):
        assert client.get(f"/reviews/forms/{form.pk}/{step}/").status_code == 405
    assert client.get("/reviews/open/").status_code == 405
    assert client.get(f"/reviews/{YEAR}/add-accounts/").status_code == 405
    assert client.get(f"/reviews/{YEAR}/zero-report/").status_code == 405
    assert client.post(f"/reviews/forms/{form.pk}/form.pdf").status_code == 405


def test_the_auditor_reads_everything_and_changes_nothing(world, campaign, client_for) -> None:
    """Every page answers the auditor; every write is refused with 403 and leaves the database
    as it was."""
    forms = {
        "draft": form_of(campaign, world, "propaganda"),
        "filled": filled_in(world, campaign, "B"),
        "submitted": submitted(world, campaign, "A"),
        "signed": services.form_sign(
            form=filled_school_org(world, campaign), actor=world.users["league"]
        ),
    }

    def snapshot() -> Any:
        return (
            sorted(ReviewForm.objects.values_list("pk", "state", "outcome", "follower_count")),
            ReviewStep.objects.count(),
            CloseOrder.objects.count(),
            ZeroReport.objects.count(),
            ReviewCampaign.objects.count(),
            sorted(MediaAccount.objects.values_list("pk", "status")),
        )

    before = snapshot()
    client = client_for(world.users["auditor"])
    for form in forms.values():
        assert client.get(form.get_absolute_url()).status_code == 200
        assert client.get(f"/reviews/forms/{form.pk}/form.pdf").status_code == 200
        assert client.get(f"/reviews/forms/{form.pk}/edit/").status_code == 403
        assert client.post(f"/reviews/forms/{form.pk}/edit/", form_post()).status_code == 403
        for step, data in (
            ("submit", {}),
            ("sign", {"comment": "同意"}),
            ("return", {"comment": "请补充"}),
            ("conclude", {"outcome": Outcome.PASS}),
            ("order-close", {"reason": "逾期"}),
        ):
            assert client.post(f"/reviews/forms/{form.pk}/{step}/", data).status_code == 403
    assert client.get(f"/reviews/{YEAR}/").status_code == 200
    assert client.get(f"/reviews/{YEAR}/report.pdf").status_code == 200
    assert client.get(f"/reviews/{YEAR}/results.xlsx").status_code == 200
    assert client.post("/reviews/open/", {"year": 2030}).status_code == 403
    assert client.post(f"/reviews/{YEAR}/add-accounts/").status_code == 403
    zero = {"unit": world.units["a_sub"].pk}
    assert client.post(f"/reviews/{YEAR}/zero-report/", zero).status_code == 403
    assert snapshot() == before


def filled_school_org(world: World, campaign: ReviewCampaign) -> ReviewForm:
    """The school student union's form, submitted by the department (which keeps every unit)."""
    form = services.form_update(
        form=form_of(campaign, world, "school_org"), actor=world.users["propaganda"], data=filled()
    )
    return services.form_submit(form=form, actor=world.users["propaganda"])


def test_the_league_signs_the_school_student_union(world, campaign, client_for) -> None:
    """Tier 3: the Youth League sees and signs the school-level student organisation's form,
    and sees no college's."""
    form = filled_school_org(world, campaign)
    client = client_for(world.users["league"])
    page = client.get(form.get_absolute_url())
    assert page.status_code == 200
    assert "签署同意" in page.content.decode()
    response = client.post(f"/reviews/forms/{form.pk}/sign/", {"comment": "校团委同意。"})
    assert response.status_code == 302
    assert state_of(form) == S.SIGNED
    assert "已签署，转党委宣传部作出结论。" in messages_of(response)
    assert client.get(form_of(campaign, world, "a").get_absolute_url()).status_code == 404


# --- Pages ---------------------------------------------------------------------------------------


def test_index_lists_campaigns_with_progress_and_opens_one_for_the_department(
    world, campaign, client_for
) -> None:
    services.form_conclude(
        form=signed(world, campaign, "A"), actor=world.users["propaganda"], outcome=Outcome.PASS
    )
    dept = client_for(world.users["propaganda"])
    page = dept.get("/reviews/")
    body = page.content.decode()
    assert campaign.title in body
    (row_,) = page.context["rows"]
    assert (row_.total, row_.answered, row_.concluded, row_.percent) == (5, 1, 1, 20)
    assert 'action="/reviews/open/"' in body

    sec = client_for(world.users["sec_a"])
    page = sec.get("/reviews/")
    (row_,) = page.context["rows"]
    assert (row_.total, row_.concluded, row_.percent) == (1, 1, 100)
    assert 'action="/reviews/open/"' not in page.content.decode()


def test_opening_again_adds_only_the_missing_forms(world, campaign, client_for) -> None:
    make_account(
        unit=world.units["b"], name="机械学院新号", status=AccountStatus.ACTIVE, account_id="me2"
    )
    client = client_for(world.users["propaganda"])
    data = {"year": YEAR, "starts_on": "2026-11-01", "due_on": "2027-01-15", "title": "改名"}
    response = client.post("/reviews/open/", data)
    assert response.status_code == 302
    assert messages_of(response) == [
        f"{YEAR} 年度年检已经开启（名称与日期不变），新增 1 份年检表。"
    ]
    campaign.refresh_from_db()
    assert campaign.title != "改名"
    assert campaign.forms.count() == 6

    client.get(f"/reviews/{YEAR}/")  # shows (and so clears) the message
    response = client.post("/reviews/open/", {**data, "year": YEAR + 1})
    assert messages_of(response) == [f"已开启 {YEAR + 1} 年度年检，生成 6 份年检表。"]


def test_opening_with_bad_dates_names_the_fields_and_opens_nothing(world, client_for) -> None:
    client = client_for(world.users["propaganda"])
    response = client.post(
        "/reviews/open/", {"year": "1999", "starts_on": "2026-12-01", "due_on": "2026-11-01"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "年度：请填写 2000 至 2100 之间的年份。" in body

    response = client.post(
        "/reviews/open/", {"year": "2026", "starts_on": "2026-12-01", "due_on": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "截止日期：截止日期不能早于开始日期。" in response.content.decode()

    response = client.post("/reviews/open/", {"year": "2026", "starts_on": "明天", "due_on": ""})
    body = response.content.decode()
    assert "开始日期：请按“年-月-日”填写。" in body
    assert "截止日期：请填写。" in body
    assert not ReviewCampaign.objects.exists()


def test_unit_page_shows_the_units_forms_what_to_do_and_the_zero_report(
    world, campaign, client_for
) -> None:
    submitted(world, campaign, "A")
    sec = client_for(world.users["sec_a"])
    page = sec.get(f"/reviews/{YEAR}/")
    assert page.status_code == 200
    assert not page.context["overview"]
    rows = page.context["rows"]
    assert [r.form.account.name for r in rows] == ["计算机学院官微"]
    assert rows[0].todo == "待单位负责人签署"
    assert not rows[0].mine
    # College A's lab and student union have no active account: they owe a zero report.
    assert {u.name for u in page.context["zero_units"]} == {
        "计算机学院实验中心",
        "计算机学院学生会",
    }
    assert "报送零报告" in page.content.decode()

    response = sec.post(
        f"/reviews/{YEAR}/zero-report/", {"unit": world.units["a_sub"].pk, "note": "无账号"}
    )
    assert messages_of(response) == ["已报送零报告：计算机学院实验中心 本年度没有参加年检的账号。"]
    page = sec.get(f"/reviews/{YEAR}/")
    filed = {u.name: u.zero_filed_at for u in page.context["zero_units"]}
    assert filed["计算机学院实验中心"] is not None
    assert filed["计算机学院学生会"] is None

    # A unit with a form does not file a zero report.
    response = sec.post(f"/reviews/{YEAR}/zero-report/", {"unit": world.units["a"].pk})
    assert messages_of(response) == [services.ERR_ZERO_HAS_ACCOUNTS]
    assert not ZeroReport.objects.filter(unit=world.units["a"]).exists()

    head = client_for(world.users["head_a"])
    rows = head.get(f"/reviews/{YEAR}/").context["rows"]
    assert (rows[0].todo, rows[0].mine) == ("请签署", True)


def test_progress_page_for_the_department(world, campaign, client_for) -> None:
    services.form_conclude(
        form=signed(world, campaign, "A"),
        actor=world.users["propaganda"],
        outcome=Outcome.FAIL,
        comment="停更",
    )
    services.review_order_close(
        form=form_of(campaign, world, "a"), actor=world.users["propaganda"], reason="不合格"
    )
    make_account(
        unit=world.units["b"], name="机械学院新号", status=AccountStatus.ACTIVE, account_id="me2"
    )
    client = client_for(world.users["propaganda"])
    page = client.get(f"/reviews/{YEAR}/")
    assert page.context["overview"]
    progress = page.context["progress"]
    assert progress.total.total == 5
    assert [o.account.name for o in progress.open_orders] == ["计算机学院官微"]
    assert page.context["missing_accounts"] == 1
    body = page.content.decode()
    assert body.count('class="chart"') == 2
    assert "为新开通的账号补充年检表" in body
    assert "下载年检报告 PDF" in body
    for _code, label in progress.categories:
        assert label in body

    due = CloseOrder.objects.get().due_on.isoformat()
    todo = {r.form.account.name: (r.todo, r.mine) for r in page.context["rows"]}
    assert todo["计算机学院官微"] == (f"待单位提交停办申请（{due} 前）", False)
    rows = client_for(world.users["sec_a"]).get(f"/reviews/{YEAR}/").context["rows"]
    assert [(r.todo, r.mine) for r in rows] == [(f"请提交停办申请（{due} 前）", True)]

    auditor = client_for(world.users["auditor"]).get(f"/reviews/{YEAR}/")
    assert auditor.context["overview"]
    assert "为新开通的账号补充年检表" not in auditor.content.decode()


def test_campaign_filters_by_unit_state_and_mine(world, campaign, client_for) -> None:
    submitted(world, campaign, "A")
    filled_in(world, campaign, "B")
    client = client_for(world.users["propaganda"])

    def names(query: str) -> set[str]:
        page = client.get(f"/reviews/{YEAR}/?{query}")
        return {r.form.account.name for r in page.context["rows"]}

    assert names(f"unit={world.units['a'].pk}") == {"计算机学院官微"}
    assert names("state=submitted") == {"计算机学院官微"}
    assert names("state=in_progress") == {"机械学院官微"}
    assert names("state=not_started") == {"学校官方微信", "宣传部新闻号", "校学生会抖音"}
    assert names("state=bogus") == names("")
    assert len(names("")) == 5
    # The department fills in only the school's own form; the tier-2 forms wait for their heads.
    assert names("mine=1") == {"学校官方微信"}


def test_form_page_shows_registry_team_changes_figures_and_timeline(
    world, campaign, client_for
) -> None:
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    happened = datetime.date(YEAR, 3, 2)
    event = requests.team_change_record(
        member=member, actor=world.users["sec_a"], happened_on=happened
    )
    assert event.is_late  # never filed, long past its due date
    form = submitted(world, campaign, "A")
    client = client_for(world.users["head_a"])
    page = client.get(form.get_absolute_url())
    body = page.content.decode()
    assert page.context["from_snapshot"]
    assert page.context["team"][0].name == "钱书记"
    (change,) = page.context["changes"]
    assert (change.happened_on, change.verdict) == (happened, "逾期未报备")
    assert "是否按时报备" in body
    assert "逾期未报备" in body
    assert "12000" in body
    assert "67%" in body  # original share
    assert "签署同意" in body
    assert [s.action for s in page.context["steps"]] == ["submit"]
    assert page.context["actions"] == ["sign", "return"]

    # After the registry changes, the submitted form still shows what the unit confirmed.
    registry.account_update(account=account, actor=None, source=SOURCE, name="计算机学院新官微")
    page = client.get(form.get_absolute_url())
    assert page.context["values"]["name"] == "计算机学院官微"


def test_change_filed_in_time_is_judged_by_the_system(world, campaign, client_for) -> None:
    account = world.accounts["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    event = requests.team_change_record(
        member=member, actor=world.users["sec_a"], happened_on=_today()
    )
    TeamChangeEvent.objects.filter(pk=event.pk).update(filed_at=timezone.now())
    page = client_for(world.users["sec_a"]).get(form_of(campaign, world, "a").get_absolute_url())
    (change,) = page.context["changes"]
    assert (change.is_late, change.verdict) == (False, "按时报备")


def test_form_page_links_a_change_request_for_the_account(world, campaign, client_for) -> None:
    form = form_of(campaign, world, "a")
    link = f"/requests/new/change/?account={form.account_id}"
    assert link in client_for(world.users["sec_a"]).get(form.get_absolute_url()).content.decode()
    for reader in ("head_a", "auditor", "propaganda"):  # the department files only tier 1's
        page = client_for(world.users[reader]).get(form.get_absolute_url())
        assert link not in page.content.decode()
    edit = client_for(world.users["sec_a"]).get(f"/reviews/forms/{form.pk}/edit/")
    assert f'href="{link}"' in edit.content.decode()
    # The link opens the change request form of this account.
    assert client_for(world.users["sec_a"]).get(link).status_code == 200


# --- Bad input -----------------------------------------------------------------------------------


def test_edit_with_bad_figures_names_the_fields_and_saves_nothing(
    world, campaign, client_for
) -> None:
    form = form_of(campaign, world, "a")
    client = client_for(world.users["sec_a"])
    response = client.post(
        f"/reviews/forms/{form.pk}/edit/",
        form_post(follower_count="很多", post_count="-1", training="改过的"),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "粉丝量：请输入整数。" in body
    assert "全年发布数：不能小于 0。" in body
    form.refresh_from_db()
    assert (form.follower_count, form.training, form.started_at) == (None, "", None)


def test_edit_with_more_original_posts_than_posts_saves_nothing(
    world, campaign, client_for
) -> None:
    form = form_of(campaign, world, "a")
    response = client_for(world.users["sec_a"]).post(
        f"/reviews/forms/{form.pk}/edit/", form_post(post_count=10, original_post_count=11)
    )
    assert response.status_code == 400
    assert services.ERR_ORIGINAL_POSTS in response.content.decode()
    form.refresh_from_db()
    assert (form.post_count, form.started_at) == (None, None)


def test_save_and_submit_an_incomplete_form_keeps_the_draft(world, campaign, client_for) -> None:
    form = form_of(campaign, world, "a")
    data = form_post(next_year_plan="", registry_confirmed=False)
    data["submit"] = "1"
    response = client_for(world.users["sec_a"]).post(f"/reviews/forms/{form.pk}/edit/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "下一年度工作计划：提交前请填写。" in body
    assert services.ERR_CONFIRM.split("：")[1] in body
    form.refresh_from_db()
    assert form.state == S.DRAFT
    assert form.follower_count == 12000  # the draft was saved; only the submit was refused


def test_save_and_submit_a_complete_form(world, campaign, client_for) -> None:
    form = form_of(campaign, world, "a")
    data = {**form_post(), "submit": "1"}
    response = client_for(world.users["sec_a"]).post(f"/reviews/forms/{form.pk}/edit/", data)
    assert response.status_code == 302
    assert messages_of(response) == ["已提交，等待单位负责人签署。"]
    assert state_of(form) == S.SUBMITTED


def test_submitting_an_empty_form_lists_every_missing_field(world, campaign, client_for) -> None:
    form = form_of(campaign, world, "a")
    response = client_for(world.users["sec_a"]).post(f"/reviews/forms/{form.pk}/submit/")
    assert response.status_code == 400
    body = response.content.decode()
    for label in ("粉丝量", "全年发布数", "其中原创数", "安全事件与违规（次）", "自查自评"):
        assert f"{label}：提交前请填写。" in body
    assert state_of(form) == S.DRAFT


def test_return_needs_a_comment(world, campaign, client_for) -> None:
    form = submitted(world, campaign, "A")
    response = client_for(world.users["head_a"]).post(f"/reviews/forms/{form.pk}/return/")
    assert response.status_code == 400
    assert services.ERR_COMMENT in response.content.decode()
    assert state_of(form) == S.SUBMITTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "结论：请选择合格、限期整改或不合格。"),
        ({"outcome": "excellent"}, "结论：请选择合格、限期整改或不合格。"),
        ({"outcome": Outcome.RECTIFY, "comment": "请整改"}, services.ERR_RECTIFY_BY),
        (
            {"outcome": Outcome.RECTIFY, "comment": "请整改", "rectify_by": "下月"},
            "整改期限：请按“年-月-日”填写。",
        ),
        ({"outcome": Outcome.FAIL}, services.ERR_COMMENT),
    ],
)
def test_conclude_with_bad_input_names_the_field(
    world, campaign, client_for, data, message
) -> None:
    form = signed(world, campaign, "A")
    response = client_for(world.users["propaganda"]).post(
        f"/reviews/forms/{form.pk}/conclude/", data
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert state_of(form) == S.SIGNED
    assert not ReviewStep.objects.filter(form=form, action="conclude").exists()


def test_rectify_with_a_date_then_the_unit_resubmits(world, campaign, client_for) -> None:
    form = signed(world, campaign, "A")
    date = (_today() + datetime.timedelta(days=10)).isoformat()
    response = client_for(world.users["propaganda"]).post(
        f"/reviews/forms/{form.pk}/conclude/",
        {"outcome": Outcome.RECTIFY, "comment": "原创不足", "rectify_by": date},
    )
    assert messages_of(response) == [f"已作出结论：限期整改。整改期限 {date}。"]
    form.refresh_from_db()
    assert (form.state, form.outcome, form.rectify_by.isoformat()) == (
        S.CONCLUDED,
        Outcome.RECTIFY,
        date,
    )
    sec = client_for(world.users["sec_a"])
    assert sec.get(f"/reviews/forms/{form.pk}/edit/").status_code == 200
    assert sec.post(f"/reviews/forms/{form.pk}/submit/").status_code == 302
    assert state_of(form) == S.SUBMITTED


def test_order_close_needs_a_reason_and_a_failed_or_overdue_form(
    world, campaign, client_for
) -> None:
    client = client_for(world.users["propaganda"])
    form = failed(world, campaign, "A")
    response = client.post(f"/reviews/forms/{form.pk}/order-close/", {"reason": " "})
    assert response.status_code == 400
    assert services.ERR_ORDER_REASON in response.content.decode()
    assert not CloseOrder.objects.exists()

    passed = services.form_conclude(
        form=signed(world, campaign, "B"), actor=world.users["propaganda"], outcome=Outcome.PASS
    )
    response = client.post(f"/reviews/forms/{passed.pk}/order-close/", {"reason": "试试"})
    assert response.status_code == 400
    assert services.ERR_ORDER_NOT_ALLOWED in response.content.decode()
    assert not CloseOrder.objects.exists()

    response = client.post(f"/reviews/forms/{form.pk}/order-close/", {"reason": "不合格"})
    assert response.status_code == 302
    form.account.refresh_from_db()
    assert form.account.status == AccountStatus.ORDERED_TO_CLOSE
    page = client_for(world.users["sec_a"]).get(form.get_absolute_url())
    body = page.content.decode()
    assert "提交停办申请" in body
    assert f"/requests/new/close/?account={form.account_id}" in body


def test_a_step_someone_else_took_first_is_a_conflict_message(world, campaign, client_for) -> None:
    form = submitted(world, campaign, "A")
    client = client_for(world.users["head_a"])
    assert client.post(f"/reviews/forms/{form.pk}/sign/").status_code == 302
    client.get(form.get_absolute_url())  # shows (and so clears) the success message
    response = client.post(f"/reviews/forms/{form.pk}/sign/")
    assert response.status_code == 302
    assert response["Location"] == form.get_absolute_url()
    (message,) = messages_of(response)
    assert "当前状态" in message
    assert ReviewStep.objects.filter(form=form, action="sign").count() == 1


def test_editing_a_form_no_longer_with_the_unit_says_why(world, campaign, client_for) -> None:
    form = submitted(world, campaign, "A")
    response = client_for(world.users["sec_a"]).get(f"/reviews/forms/{form.pk}/edit/")
    assert response.status_code == 302
    assert "不能执行“修改”" in messages_of(response)[0]


# --- Downloads -----------------------------------------------------------------------------------


def test_downloads_are_named_and_not_cached(world, campaign, client_for) -> None:
    form = submitted(world, campaign, "A")
    client = client_for(world.users["propaganda"])
    pdf = client.get(f"/reviews/forms/{form.pk}/form.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content[:4] == b"%PDF"
    assert "attachment" in pdf["Content-Disposition"]
    assert pdf["Cache-Control"] == "no-store"
    report = client.get(f"/reviews/{YEAR}/report.pdf")
    assert report.content[:4] == b"%PDF"
    xlsx = client.get(f"/reviews/{YEAR}/results.xlsx")
    assert xlsx.content[:2] == b"PK"
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_results_hold_only_the_forms_the_user_may_see(world, campaign, client_for) -> None:
    import io

    from openpyxl import load_workbook

    response = client_for(world.users["sec_b"]).get(f"/reviews/{YEAR}/results.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    accounts = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert accounts == ["机械学院官微"]


# --- Home ----------------------------------------------------------------------------------------


def test_home_shows_the_review_panel(world, campaign, client_for) -> None:
    form = submitted(world, campaign, "A")
    page = client_for(world.users["head_a"]).get("/")
    panel = page.context["reviews"]
    assert panel.campaign == campaign
    assert [f.pk for f in panel.waiting_forms] == [form.pk]
    body = page.content.decode()
    assert 'aria-labelledby="review-head"' in body
    assert form.get_absolute_url() in body


def test_home_has_no_review_panel_without_a_campaign(world, client_for) -> None:
    page = client_for(world.users["sec_a"]).get("/")
    assert page.context["reviews"].campaign is None
    assert 'aria-labelledby="review-head"' not in page.content.decode()


# --- Query counts --------------------------------------------------------------------------------


def _grow(world: World, extra: int) -> None:
    """``extra`` more active accounts in college A, its lab and its student union."""
    keys = ("a", "a_sub", "a_org")
    for i in range(extra):
        unit = world.units[keys[i % 3]]
        account = make_account(
            unit=unit, name=f"扩展账号{i:03d}", status=AccountStatus.ACTIVE, account_id=f"ext{i}"
        )
        admin = registry.person_create(
            actor=None, name=f"管理员{i:03d}", unit=unit, mobile=next_mobile()
        )
        registry.team_member_add(
            account=account, person=admin, role=TeamRole.ADMINISTRATOR, actor=None, source=SOURCE
        )


def _spread(world: World, campaign: ReviewCampaign) -> None:
    """Forms in every state: some filled in, submitted, signed, concluded, one ordered closed."""
    forms = list(ReviewForm.objects.filter(campaign=campaign, owner_unit__in=[world.units["a"]]))
    sec, head, dept = world.users["sec_a"], world.users["head_a"], world.users["propaganda"]
    for i, form in enumerate(forms):
        form = services.form_update(form=form, actor=sec, data=filled())
        if i % 4 == 0:
            continue
        form = services.form_submit(form=form, actor=sec)
        if i % 4 == 1:
            continue
        form = services.form_sign(form=form, actor=head)
        if i % 4 == 2:
            continue
        services.form_conclude(form=form, actor=dept, outcome=Outcome.FAIL, comment="不合格")
        if i == 3:
            services.review_order_close(form=form, actor=dept, reason="不合格")


# (persona, page) → queries, all of them: session, user, the user's roles (and for a unit's
# people the permission rows of their groups), then the page's own reads.
#   index        campaigns, forms per campaign, forms waiting for the user
#   campaign     the campaign, count and page of forms, forms waiting for the user; for the
#                department the progress (grouped counts, units, overdue, open orders, zero
#                reports, units without forms, those without a zero report) and the accounts
#                without a form; for a unit counts by progress, the units for the filter and
#                the units it keeps without forms
#   home         the registry's and the requests' panels (tests/campusmedia/test_query_counts.py)
#                and the review panel: the campaign, forms waiting, open close orders
QUERIES: dict[tuple[str, str], int] = {
    ("propaganda", "index"): 7,
    ("propaganda", "campaign"): 16,
    ("propaganda", "home"): 19,
    ("sec_a", "index"): 7,
    ("sec_a", "campaign"): 11,
    ("sec_a", "home"): 18,
}
PAGES = {"index": "/reviews/", "campaign": f"/reviews/{YEAR}/", "home": "/"}


@pytest.mark.parametrize("extra", [9, 30])
@pytest.mark.parametrize("persona", ["propaganda", "sec_a"])
@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_does_not_grow_with_forms(
    world: World, client_for, django_assert_num_queries, page: str, persona: str, extra: int
) -> None:
    _grow(world, extra)
    campaign, _added = services.campaign_open(
        year=YEAR,
        starts_on=_today(),
        due_on=_today() + datetime.timedelta(days=30),
        actor=world.users["propaganda"],
    )
    _spread(world, campaign)
    client = client_for(world.users[persona])
    url = PAGES[page]
    assert client.get(url).status_code == 200  # warm-up

    with django_assert_num_queries(QUERIES[(persona, page)]):
        response = client.get(url)

    assert response.status_code == 200
    if page == "campaign":
        visible = 5 + extra if persona == "propaganda" else 1 + extra
        assert len(response.context["rows"]) == min(visible, 50)


def test_a_report_past_the_page_limit_says_so_instead_of_failing(
    world, campaign, client_for, settings
) -> None:
    settings.CAMPUSMEDIA_PDF_MAX_PAGES = 1  # the demo-sized report has two pages or more
    response = client_for(world.users["propaganda"]).get(
        f"/reviews/{campaign.year}/report.pdf", follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/reviews/{campaign.year}/"
    assert "上限" in response.content.decode()
