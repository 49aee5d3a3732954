"""Request journeys in a real browser against a live server, one persona per browser context.

Tier 2 (open, endorse, approve, the form PDF, the opening report), tier 3 (the school student
union's account recorded by the department, the pledge PDF), the return-for-changes loop and a late
change of administrator (the 3-day rule). Drives Debian's /usr/bin/chromium through Playwright, as
tests/e2e/test_browser_scope.py does; a missing Chromium fails the test.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from approvals import services
from approvals.choices import RequestKind, RequestState
from approvals.models import AccountRequest
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Role, TeamRole
from campusmedia.models import MediaAccount, Platform, User
from tests.conftest import World, build_world, make_login, next_mobile
from tests.e2e.conftest import Login

PLEDGE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = [
    pytest.mark.browser,
    # live_server needs committed data; serialized_rollback restores the migration-loaded
    # platform catalogue after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def committed_world(transactional_db, _fast_hasher) -> World:
    return build_world()


@pytest.fixture
def league_sec(committed_world: World) -> User:
    """``sec_su``: the secretary of the school-level student union (as tests/approvals has it)."""
    user = make_login("sec_su")
    unit = committed_world.units["school_org"]
    person = registry.person_create(actor=None, name="学生会秘书", unit=unit, user=user)
    registry.role_assign(person=person, unit=unit, role=Role.SECRETARY, actor=None)
    return user


# --- Helpers -----------------------------------------------------------------------------------


def url(live_server, path: str) -> str:
    return f"{live_server.url}{path}"


def request_pk(page: Any) -> int:
    match = re.search(r"/requests/(\d+)/$", page.url)
    assert match, page.url
    return int(match.group(1))


def step(page: Any, label: str, comment: str = "") -> None:
    """Take a step on the request page: write the comment, press the step's button."""
    if comment:
        page.fill("form.step-form #id_comment", comment)
    with page.expect_navigation():
        page.locator("form.step-form").get_by_role("button", name=label, exact=True).click()


def success_message(page: Any) -> str:
    return page.locator(".message-success").inner_text()


def download(page: Any, link: str, tmp_path: Path) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    return target.read_bytes()


def fill_team_row(page: Any, index: int, *, name: str, mobile: str = "", email: str = "") -> None:
    page.fill(f"#id_team-{index}-name", name)
    if mobile:
        page.fill(f"#id_team-{index}-mobile", mobile)
    if email:
        page.fill(f"#id_team-{index}-email", email)


def save_and_submit(page: Any) -> int:
    """Press 保存并提交; the request page follows, or the form's errors fail the test."""
    with page.expect_navigation():
        page.locator("form.request-form button[name=submit]").click()
    errors = page.locator(".form-error-summary")
    assert errors.count() == 0, errors.inner_text()
    return request_pk(page)


def open_submitted(world: World, name: str) -> AccountRequest:
    """A tier-2 open request of college A, filed and submitted by sec_a through the services."""
    req = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["a"],
        actor=world.users["sec_a"],
        data={
            "name": name,
            "platform": Platform.objects.get(code="wechat"),
            "account_type": "订阅号",
            "content_categories": ["news"],
            "function_description": "发布学院新闻与通知",
        },
        team=[
            {"role": TeamRole.SUPERVISOR, "name": "研分管领导"},
            {
                "role": TeamRole.ADMINISTRATOR,
                "name": "研管理员",
                "mobile": next_mobile(),
                "email": "grad.admin@example.edu.cn",
            },
        ],
    )
    return services.request_submit(account_request=req, actor=world.users["sec_a"])


# --- Journeys ----------------------------------------------------------------------------------


def test_tier2_open_endorse_approve_print_and_report_opening(
    live_server, committed_world: World, login: Login, tmp_path: Path
) -> None:
    year = timezone.localdate().year
    # sec_a fills the form for college A, with a third member added by the button.
    sec = login("sec_a")
    sec.goto(url(live_server, "/requests/new/open/"))
    sec.select_option("#id_owner_unit", label="计算机学院")
    sec.fill("#id_account-name", "计算机学院研究生会")
    sec.select_option("#id_account-platform", label="微信公众号")
    sec.fill("#id_account-account_type", "订阅号")
    sec.check("input[name=account-content_categories][value=news]")
    sec.fill("#id_account-function_description", "发布研究生培养与活动通知")
    fill_team_row(sec, 0, name="研分管领导")
    fill_team_row(sec, 1, name="研管理员", mobile=next_mobile(), email="grad.admin@example.edu.cn")
    sec.locator("[data-add-member]").click()
    assert sec.locator("#id_team-2-role").input_value() == TeamRole.ADMINISTRATOR
    fill_team_row(sec, 2, name="研副管理员", mobile=next_mobile(), email="grad.two@example.edu.cn")
    pk = save_and_submit(sec)
    assert "已提交" in success_message(sec)
    assert sec.locator(".badge.request-submitted").inner_text() == "待初审"
    team_text = sec.locator("table.team-table").inner_text()
    for name in ("研分管领导", "研管理员", "研副管理员"):
        assert name in team_text

    # head_a signs with a comment.
    head = login("head_a")
    head.goto(url(live_server, f"/requests/{pk}/"))
    step(head, "同意，转宣传部", comment="同意开通，请宣传部审批。")
    assert "已签署同意" in success_message(head)
    assert head.locator(".badge.request-endorsed").is_visible()
    assert "同意开通，请宣传部审批。" in head.locator("ol.timeline").inner_text()

    # The department approves: the year's first number.
    number = f"XCB-{year}-0001"
    reviewer = login("propaganda")
    reviewer.goto(url(live_server, f"/requests/{pk}/"))
    step(reviewer, "批准")
    assert number in success_message(reviewer)
    assert reviewer.locator(".badge.request-approved").inner_text() == "已批准"
    assert f"审批号 {number}" in reviewer.locator(".page-badges").inner_text()
    pdf = download(reviewer, "下载审批（备案）表 PDF", tmp_path)
    assert pdf[:4] == b"%PDF"

    # sec_a reports the opening with the signed pledge.
    account = MediaAccount.objects.get(approval_number=number)
    assert account.status == AccountStatus.APPROVED
    sec.goto(url(live_server, f"/registry/{account.pk}/"))
    sec.locator("section.account-actions").get_by_role("link", name="报送开通").click()
    sec.wait_for_url(f"**/requests/accounts/{account.pk}/opening/")
    pledge = tmp_path / "pledge.pdf"
    pledge.write_bytes(PLEDGE_PDF)
    sec.fill("#id_account_id", "gh_csgrad01")
    sec.fill("#id_opened_on", timezone.localdate().isoformat())
    sec.set_input_files("#id_pledge", str(pledge))
    sec.locator("form.stacked-form button[type=submit]").click()
    sec.wait_for_url(f"**/registry/{account.pk}/")
    assert "运行中" in success_message(sec)
    badges = sec.locator(".page-badges").inner_text()
    assert "运行中" in badges
    assert number in badges
    assert "gh_csgrad01" in sec.locator("section.paper").inner_text()
    sec.screenshot(path=str(tmp_path / "tier2.png"), full_page=True)

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.attachments.get().content_type == "application/pdf"
    assert {m.person.name for m in account.team.current().select_related("person")} == {
        "研分管领导",
        "研管理员",
        "研副管理员",
    }


def test_tier3_school_union_recorded_by_the_department(
    live_server, committed_world: World, league_sec: User, login: Login, tmp_path: Path
) -> None:
    su = login("sec_su")
    su.goto(url(live_server, "/requests/new/open/"))
    su.select_option("#id_owner_unit", label="校学生会")
    su.fill("#id_account-name", "校学生会视频号")
    su.select_option("#id_account-platform", label="微信视频号")
    su.check("input[name=account-content_categories][value=news]")
    fill_team_row(su, 0, name="社团分管领导")
    fill_team_row(su, 1, name="社团管理员", mobile=next_mobile(), email="su.admin@example.edu.cn")
    pk = save_and_submit(su)
    assert su.locator(".badge.request-submitted").inner_text() == "待初审"
    assert "校团委" in su.locator("ol.progress-steps").inner_text()

    league = login("league")
    league.goto(url(live_server, f"/requests/{pk}/"))
    step(league, "同意，转宣传部", comment="校团委同意。")
    assert league.locator(".badge.request-endorsed").is_visible()

    reviewer = login("propaganda")
    reviewer.goto(url(live_server, f"/requests/{pk}/"))
    assert reviewer.get_by_role("button", name="批准", exact=True).count() == 0
    step(reviewer, "审核通过，予以备案")
    assert reviewer.locator(".badge.request-approved").inner_text() == "已备案"
    assert "审核备案" in reviewer.locator("ol.timeline").inner_text()
    pdf = download(reviewer, "下载网络信息安全承诺书 PDF", tmp_path)
    assert pdf[:4] == b"%PDF"
    reviewer.screenshot(path=str(tmp_path / "tier3.png"), full_page=True)

    req = AccountRequest.objects.get(pk=pk)
    assert req.state == RequestState.APPROVED
    assert req.account is not None
    assert req.account.owner_unit == committed_world.units["school_org"]


def test_returned_request_is_changed_and_submitted_again(
    live_server, committed_world: World, login: Login, tmp_path: Path
) -> None:
    req = open_submitted(committed_world, "计算机学院就业号")

    head = login("head_a")
    head.goto(url(live_server, f"/requests/{req.pk}/"))
    step(head, "退回修改", comment="请写明功能定位中的服务对象。")
    assert "已退回修改" in success_message(head)
    assert head.locator(".badge.request-returned").is_visible()
    assert (
        "请写明功能定位中的服务对象。" in head.locator("ol.timeline .timeline-comment").inner_text()
    )

    sec = login("sec_a")
    sec.goto(url(live_server, f"/requests/{req.pk}/"))
    assert "请写明功能定位中的服务对象。" in sec.locator("ol.timeline").inner_text()
    sec.get_by_role("link", name="修改", exact=True).click()
    sec.wait_for_url(f"**/requests/{req.pk}/edit/")
    sec.fill("#id_account-function_description", "面向本院毕业生发布就业信息")
    assert save_and_submit(sec) == req.pk
    assert "已提交" in success_message(sec)
    assert sec.locator(".badge.request-submitted").inner_text() == "待初审"
    assert "面向本院毕业生发布就业信息" in sec.locator("section.paper").inner_text()
    sec.screenshot(path=str(tmp_path / "returned.png"), full_page=True)

    req.refresh_from_db()
    assert req.state == RequestState.SUBMITTED
    assert req.data["function_description"] == "面向本院毕业生发布就业信息"


def test_late_change_of_administrator_is_marked_late(
    live_server, committed_world: World, login: Login, tmp_path: Path
) -> None:
    account = committed_world.accounts["a"]
    admin = committed_world.admins["a"]
    member = account.team.current().get(role=TeamRole.ADMINISTRATOR)
    happened = timezone.localdate() - datetime.timedelta(days=5)
    event = services.team_change_record(
        member=member, actor=committed_world.users["sec_a"], happened_on=happened
    )
    assert event.is_late

    # The unit head sees the overdue change on the home page.
    head = login("head_a")
    head.goto(url(live_server, "/"))
    panel = head.locator("section[aria-labelledby=team-changes-head]")
    assert "管理队伍变更待报备（3 日内）" in panel.inner_text()
    item = panel.locator("li.due-item", has_text=account.name)
    assert admin.name in item.inner_text()
    assert "已逾期" in item.locator(".badge-late").inner_text()

    # sec_a files the change: a new name on the administrator's row.
    sec = login("sec_a")
    sec.goto(url(live_server, f"/requests/new/change/?account={account.pk}"))
    roles = sec.locator("select[name$='-role']")
    rows = [roles.nth(i).input_value() for i in range(roles.count())]
    index = rows.index(TeamRole.ADMINISTRATOR)
    assert sec.locator(f"#id_team-{index}-name").input_value() == admin.name
    sec.fill(f"#id_team-{index}-name", "接任管理员")
    sec.fill(f"#id_team-{index}-mobile", next_mobile())
    sec.fill(f"#id_team-{index}-email", "successor@example.edu.cn")
    pk = save_and_submit(sec)
    assert sec.locator(".badge.request-submitted").inner_text() == "待初审"
    assert sec.locator(".page-badges .badge-late").inner_text() == "逾期报备"
    assert "接任管理员" in sec.locator("table.team-table").inner_text()
    sec.screenshot(path=str(tmp_path / "late-change.png"), full_page=True)

    req = AccountRequest.objects.get(pk=pk)
    assert req.kind == RequestKind.CHANGE
    assert req.is_late
    event.refresh_from_db()
    assert event.filed_by_request_id == pk
