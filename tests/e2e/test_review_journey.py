"""The annual review in a real browser against a live server, one persona per browser context.

The department opens the 2026 review; the secretary of the computer science college fills and
submits the forms of its three accounts; the college head signs them; the department passes one,
asks for rectifying another (the college changes it, signs it again, and it passes) and fails the
third, orders that account closed, and the college files the close request through the request
pages. Drives Debian's /usr/bin/chromium through Playwright as tests/e2e/test_requests_journey.py
does; a missing Chromium fails the test.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from annual_review.choices import Outcome, ReviewState
from annual_review.models import CloseOrder, ReviewCampaign, ReviewForm
from approvals.choices import RequestKind, RequestState
from approvals.models import AccountRequest
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import MediaAccount
from tests.conftest import SOURCE, World, build_world, make_account, next_mobile
from tests.e2e.conftest import Login

YEAR = 2026
PROGRESS_SHOT = Path("/tmp/review-progress.png")
FORM_SHOT = Path("/tmp/review-form.png")

pytestmark = [
    pytest.mark.browser,
    # live_server needs committed data; serialized_rollback restores the migration-loaded
    # platform catalogue after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def committed_world(transactional_db, _fast_hasher) -> World:
    """The personas, and two more active accounts of the computer science college (three in
    all), each with a supervising leader and an administrator."""
    world = build_world()
    college = world.units["a"]
    for name, platform, ident in (
        ("计算机学院研究生", "weibo", "cs_grad"),
        ("计算机学院就业", "douyin", "cs_jobs"),
    ):
        account = make_account(
            unit=college,
            name=name,
            platform=platform,
            status=AccountStatus.ACTIVE,
            account_id=ident,
        )
        admin = registry.person_create(
            actor=None,
            name=f"{name}管理员",
            unit=college,
            mobile=next_mobile(),
            email=f"{ident}@example.edu.cn",
        )
        for person, role in (
            (world.people["head_a"], TeamRole.SUPERVISOR),
            (admin, TeamRole.ADMINISTRATOR),
        ):
            registry.team_member_add(
                account=account, person=person, role=role, actor=None, source=SOURCE
            )
        world.accounts[ident] = account
    return world


# --- Helpers -----------------------------------------------------------------------------------


def url(live_server, path: str) -> str:
    return f"{live_server.url}{path}"


def success_message(page: Any) -> str:
    return page.locator(".message-success").inner_text()


def badge(page: Any) -> str:
    return page.locator(".page-head .review-badge").inner_text()


def fill_form(page: Any, *, followers: int, posts: int, originals: int) -> None:
    page.fill("#id_follower_count", str(followers))
    page.fill("#id_post_count", str(posts))
    page.fill("#id_original_post_count", str(originals))
    page.fill("#id_incident_count", "0")
    page.fill("#id_training", "参加学校新媒体培训 2 次")
    page.fill("#id_self_assessment", "按时更新，三审三校制度落实。")
    page.fill("#id_next_year_plan", "加强原创栏目建设。")
    page.check("#id_registry_confirmed")


def save_and_submit(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="保存并提交", exact=True).click()
    errors = page.locator(".form-error-summary")
    assert errors.count() == 0, errors.inner_text()


def press(page: Any, form_selector: str, label: str) -> None:
    with page.expect_navigation():
        page.locator(form_selector).get_by_role("button", name=label, exact=True).click()


def conclude(page: Any, outcome: str, *, comment: str = "", rectify_by: str = "") -> None:
    form = "form.conclude-form"
    page.locator(f"{form} input[name=outcome][value={outcome}]").check()
    if rectify_by:
        page.fill(f"{form} input[name=rectify_by]", rectify_by)
    if comment:
        page.fill(f"{form} textarea[name=comment]", comment)
    press(page, form, "作出结论")


def form_of(account: MediaAccount) -> ReviewForm:
    return ReviewForm.objects.get(campaign__year=YEAR, account=account)


# --- The journey -------------------------------------------------------------------------------


def test_review_from_opening_to_the_close_request(
    live_server, committed_world: World, login: Login
) -> None:
    world = committed_world
    today = timezone.localdate()
    due = today + datetime.timedelta(days=30)
    cs_accounts = [world.accounts["a"], world.accounts["cs_grad"], world.accounts["cs_jobs"]]
    passing, rectified, failing = cs_accounts
    active = MediaAccount.objects.filter(status=AccountStatus.ACTIVE).count()

    # The department opens the 2026 review.
    dept = login("propaganda")
    dept.goto(url(live_server, "/reviews/"))
    dept.get_by_role("link", name="年检", exact=True).wait_for()
    dept.fill("#id_year", str(YEAR))
    dept.fill("#id_title", "2026年度校园新媒体年检")
    dept.fill("#id_starts_on", today.isoformat())
    dept.fill("#id_due_on", due.isoformat())
    dept.fill("#id_instructions", "请各单位如实填报，单位负责人签署后报党委宣传部。")
    press(dept, "section.review-open form", "开启年检")
    assert f"生成 {active} 份年检表" in success_message(dept)
    assert dept.url.endswith(f"/reviews/{YEAR}/")
    campaign = ReviewCampaign.objects.get(year=YEAR)
    assert campaign.forms.count() == active

    # The CS secretary sees the college's three forms, tries to submit one empty, then fills
    # and submits all three.
    sec = login("sec_a")
    sec.goto(url(live_server, f"/reviews/{YEAR}/"))
    listed = sec.locator("table.review-table").inner_text()
    for account in cs_accounts:
        assert account.name in listed
    assert world.accounts["b"].name not in listed
    first = form_of(passing)
    sec.goto(url(live_server, f"/reviews/forms/{first.pk}/"))
    press(sec, "section.action-panel .unit-actions", "提交年检表")
    summary = sec.locator(".form-error-summary").inner_text()
    assert "粉丝量：提交前请填写。" in summary
    assert "下一年度工作计划：提交前请填写。" in summary
    for index, account in enumerate(cs_accounts):
        form = form_of(account)
        sec.goto(url(live_server, f"/reviews/forms/{form.pk}/edit/"))
        fill_form(sec, followers=12000 + index, posts=180, originals=120)
        save_and_submit(sec)
        assert "已提交，等待单位负责人签署" in success_message(sec)
        assert badge(sec) == "待单位签署"

    # The CS head signs them.
    head = login("head_a")
    for account in cs_accounts:
        head.goto(url(live_server, f"/reviews/forms/{form_of(account).pk}/"))
        press(head, "form.step-form", "签署同意")
        assert "已签署" in success_message(head)
        assert badge(head) == "待宣传部结论"

    # The department concludes: pass, rectify, fail.
    dept.goto(url(live_server, f"/reviews/forms/{form_of(passing).pk}/"))
    conclude(dept, Outcome.PASS)
    assert badge(dept) == "合格"

    rectify_by = (today + datetime.timedelta(days=14)).isoformat()
    dept.goto(url(live_server, f"/reviews/forms/{form_of(rectified).pk}/"))
    conclude(dept, Outcome.RECTIFY)  # no date and no comment: refused, by field
    errors = dept.locator(".form-error-summary").inner_text()
    assert "意见：" in errors
    assert form_of(rectified).state == ReviewState.SIGNED
    conclude(
        dept, Outcome.RECTIFY, comment="原创比例偏低，请补充原创栏目计划。", rectify_by=rectify_by
    )
    assert badge(dept) == "限期整改"

    dept.goto(url(live_server, f"/reviews/forms/{form_of(failing).pk}/"))
    conclude(dept, Outcome.FAIL, comment="长期停更，且未落实内容审核。")
    assert badge(dept) == "不合格"
    dept.fill("#id_reason", "年检不合格，责令注销。")
    press(dept, "form.order-form", "责令注销")
    assert "已责令注销该账号" in success_message(dept)
    assert "责令注销" in dept.locator(".page-head .badge.status-ordered-to-close").inner_text()

    # The unit rectifies the second form; the head signs again and the department passes it.
    sec.goto(url(live_server, f"/reviews/forms/{form_of(rectified).pk}/"))
    assert "原创比例偏低" in sec.locator("ol.timeline").inner_text()
    sec.get_by_role("link", name="修改年检表", exact=True).click()
    sec.wait_for_url(f"**/reviews/forms/{form_of(rectified).pk}/edit/")
    sec.fill("#id_next_year_plan", "开设“计算机学院研究生原创”栏目，每周两篇原创。")
    save_and_submit(sec)
    assert badge(sec) == "待单位签署"

    head.goto(url(live_server, f"/reviews/forms/{form_of(rectified).pk}/"))
    press(head, "form.step-form", "签署同意")
    dept.goto(url(live_server, f"/reviews/forms/{form_of(rectified).pk}/"))
    conclude(dept, Outcome.PASS, comment="整改到位。")
    assert badge(dept) == "合格"
    assert "整改到位。" in dept.locator("ol.timeline").inner_text()

    # The failed account is ordered closed: the registry and the form say so.
    failing.refresh_from_db()
    assert failing.status == AccountStatus.ORDERED_TO_CLOSE
    sec.goto(url(live_server, failing.get_absolute_url()))
    assert sec.locator(".page-badges").get_by_text("责令注销", exact=True).is_visible()

    # The progress page, as the department sees it.
    dept.goto(url(live_server, f"/reviews/{YEAR}/"))
    figures = dept.locator("ul.key-figures").inner_text()
    assert "责令注销未办结" in figures
    orders = dept.locator("section[aria-labelledby=orders-head]").inner_text()
    assert failing.name in orders
    assert dept.locator("figure.chart-figure svg.chart").count() == 2
    dept.screenshot(path=str(PROGRESS_SHOT), full_page=True)

    # The unit files the close request from the form's page, through the request pages.
    failed_form = form_of(failing)
    sec.goto(url(live_server, f"/reviews/forms/{failed_form.pk}/"))
    sec.screenshot(path=str(FORM_SHOT), full_page=True)
    sec.get_by_role("link", name="提交停办申请", exact=True).click()
    sec.wait_for_url(f"**/requests/new/close/?account={failing.pk}")
    sec.fill("#id_reason", "年检不合格，按要求停办该账号。")
    with sec.expect_navigation():
        sec.locator("form.request-form button[name=submit]").click()
    assert sec.locator(".form-error-summary").count() == 0
    assert "已提交" in success_message(sec)

    close = AccountRequest.objects.get(account=failing, kind=RequestKind.CLOSE)
    assert close.state == RequestState.SUBMITTED
    assert not CloseOrder.objects.open().filter(account=failing).exists()
    sec.goto(url(live_server, f"/reviews/forms/{failed_form.pk}/"))
    assert "提交停办申请" in sec.locator("section[aria-labelledby=orders-head]").inner_text()

    dept.goto(url(live_server, f"/reviews/{YEAR}/"))
    assert (
        "没有未办结的责令注销" in dept.locator("section[aria-labelledby=orders-head]").inner_text()
    )

    outcomes = {
        f.account_id: (f.state, f.outcome)
        for f in ReviewForm.objects.filter(account__in=cs_accounts)
    }
    assert outcomes == {
        passing.pk: (ReviewState.CONCLUDED, Outcome.PASS),
        rectified.pk: (ReviewState.CONCLUDED, Outcome.PASS),
        failing.pk: (ReviewState.CONCLUDED, Outcome.FAIL),
    }
