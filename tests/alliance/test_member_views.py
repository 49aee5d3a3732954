"""Member pages: the list by role, applications of tier-3 accounts and their decision, member
roles and leaving. Personas × endpoints, the database after each step, query counts."""

from __future__ import annotations

import pytest

from alliance import services
from alliance.choices import MemberRole, MembershipState
from alliance.models import Membership
from campusmedia.choices import AccountStatus
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.conftest import make_account

ANONYMOUS = "anonymous"
LOGIN = "login"
PERSONAS = ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS]
MEMBERS = ("school", "propaganda", "a", "b", "a_douyin")
NOT_MEMBERS = ("league", "school_org", "a_org", "a_sub_live")


def _client(client_for, alliance, persona):
    return client_for(None if persona == ANONYMOUS else alliance.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:400]


def _apply(alliance, reason: str = "实验中心发布实验室开放日信息") -> Membership:
    return services.membership_apply(
        account=alliance.a_sub_live, actor=alliance.users["sec_a"], reason=reason
    )


def _member_names(response) -> list[str]:
    return [row.account.name for row in response.context["rows"]]


# --- The list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_signed_in_reads_the_member_list(alliance, client_for, persona):
    response = _client(client_for, alliance, persona).get("/alliance/members/")
    if persona == ANONYMOUS:
        _expect(response, LOGIN)
        return
    assert response.status_code == 200
    names = set(_member_names(response))
    assert names == {alliance.accounts[key].name for key in MEMBERS}
    assert not names & {alliance.accounts[key].name for key in NOT_MEMBERS}
    page = response.content.decode()
    assert "一级、二级平台的运行中账号自动成为联盟成员" in page
    assert "5 个成员账号" in page
    # The secretariat sets roles; everyone else sees the badge.
    assert ("member-role-form" in page) == (persona == "propaganda")


def test_members_are_filtered_by_role_with_counts(alliance, client_for):
    client = client_for(alliance.users["sec_b"])
    response = client.get("/alliance/members/?role=council")
    assert _member_names(response) == ["学校官方微信"]
    assert response.context["counts"] == {"council": 1, "member": 4}
    page = response.content.decode()
    assert '<span class="badge member-council">理事单位</span>' in page
    assert len(_member_names(client.get("/alliance/members/?role=member"))) == 4
    assert len(_member_names(client.get("/alliance/members/?role=nonsense"))) == 5


def test_the_list_links_each_account(alliance, client_for):
    page = client_for(alliance.users["sec_a"]).get("/alliance/members/").content.decode()
    for key in MEMBERS:
        account = alliance.accounts[key]
        assert f'<a href="/registry/{account.pk}/">{account.name}</a>' in page


def test_member_list_is_get_only(alliance, client_for):
    assert client_for(alliance.users["propaganda"]).post("/alliance/members/").status_code == 405


# --- Applications -----------------------------------------------------------------------------


def test_a_secretary_sees_their_tier_three_accounts_and_applies(alliance, client_for):
    client = client_for(alliance.users["sec_a"])
    page = client.get("/alliance/members/").content.decode()
    assert "我负责的三级平台账号" in page and "实验中心视频号" in page and "未加入" in page
    assert 'action="/alliance/members/apply/"' in page
    # The suspended student union account is not theirs to apply for now.
    assert "计科学生会" not in page

    response = client.post(
        "/alliance/members/apply/",
        {"account": alliance.a_sub_live.pk, "reason": "实验中心发布实验室开放日信息"},
        follow=True,
    )
    assert response.redirect_chain == [("/alliance/members/", 302)]
    page = response.content.decode()
    assert "已提交 实验中心视频号 的入盟申请" in page and "待审核" in page
    membership = Membership.objects.get(account=alliance.a_sub_live)
    assert membership.state == MembershipState.APPLIED
    assert membership.applied_by == alliance.users["sec_a"]
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP, detail__step="apply").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "理由"}, "账号：请选择要申请加入的账号。"),
        ({"account": "A", "reason": "理由"}, "账号：该账号不能申请加入"),
        ({"account": "OWN", "reason": "  "}, "申请理由：请写明加入联盟的理由。"),
        ({"account": "OTHER", "reason": "理由"}, "账号：该账号不能申请加入"),
    ],
)
def test_bad_applications_name_the_field_and_write_nothing(alliance, client_for, data, message):
    accounts = {
        "OWN": alliance.a_sub_live.pk,
        "A": alliance.accounts["a"].pk,  # tier 2: a member by rule
        "OTHER": alliance.accounts["school_org"].pk,  # tier 3 of the Youth League's
    }
    data = {k: accounts.get(v, v) for k, v in data.items()}
    response = client_for(alliance.users["sec_a"]).post("/alliance/members/apply/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Membership.objects.exists()


def test_an_account_applies_once(alliance, client_for):
    _apply(alliance)
    response = client_for(alliance.users["sec_a"]).post(
        "/alliance/members/apply/", {"account": alliance.a_sub_live.pk, "reason": "再次申请"}
    )
    # Nothing left to apply for: the form is gone, the post is refused.
    assert response.status_code == 400
    assert Membership.objects.get().reason == "实验中心发布实验室开放日信息"


@pytest.mark.parametrize("persona", ["auditor", "sec_b", "head_a", "admin_a", "propaganda"])
def test_who_answers_for_no_tier_three_account_cannot_apply(alliance, client_for, persona):
    response = client_for(alliance.users[persona]).post(
        "/alliance/members/apply/", {"account": alliance.a_sub_live.pk, "reason": "理由"}
    )
    assert response.status_code == 403
    assert not Membership.objects.exists()


def test_apply_is_post_only_and_needs_a_login(alliance, client_for):
    assert client_for(alliance.users["sec_a"]).get("/alliance/members/apply/").status_code == 405
    _expect(client_for(None).post("/alliance/members/apply/", {}), LOGIN)


# --- Decisions --------------------------------------------------------------------------------


def test_the_secretariat_sees_applications_and_approves_with_a_role(alliance, client_for):
    membership = _apply(alliance)
    client = client_for(alliance.users["propaganda"])
    page = client.get("/alliance/members/").content.decode()
    assert 'id="applications"' in page and "实验室开放日" in page
    assert f'action="/alliance/members/{membership.pk}/decide/"' in page

    response = client.post(
        f"/alliance/members/{membership.pk}/decide/",
        {"decision": "approve", "role": MemberRole.COUNCIL},
        follow=True,
    )
    assert response.redirect_chain == [("/alliance/members/#applications", 302)]
    assert "已同意 实验中心视频号 加入联盟（理事单位）。" in response.content.decode()
    membership.refresh_from_db()
    assert (membership.state, membership.role) == (MembershipState.APPROVED, MemberRole.COUNCIL)
    assert "实验中心视频号" in _member_names(client.get("/alliance/members/"))


def test_a_rejection_needs_its_reason_and_is_shown_to_the_applicant(alliance, client_for):
    membership = _apply(alliance)
    client = client_for(alliance.users["propaganda"])
    url = f"/alliance/members/{membership.pk}/decide/"
    response = client.post(url, {"decision": "reject", "note": " "}, follow=True)
    assert "审核意见：不予通过时请写明原因。" in response.content.decode()
    membership.refresh_from_db()
    assert membership.state == MembershipState.APPLIED

    client.post(url, {"decision": "reject", "note": "请先完成三级平台备案"})
    membership.refresh_from_db()
    assert membership.state == MembershipState.REJECTED
    page = client_for(alliance.users["sec_a"]).get("/alliance/members/").content.decode()
    assert "未通过" in page and "请先完成三级平台备案" in page
    # A rejected account may apply again.
    assert 'action="/alliance/members/apply/"' in page


def test_a_second_decision_is_a_page_message(alliance, client_for):
    membership = _apply(alliance)
    client = client_for(alliance.users["propaganda"])
    url = f"/alliance/members/{membership.pk}/decide/"
    client.post(url, {"decision": "approve", "role": MemberRole.MEMBER})
    response = client.post(url, {"decision": "reject", "note": "重复"}, follow=True)
    assert "该申请已处理（当前状态：已加入）" in response.content.decode()
    membership.refresh_from_db()
    assert membership.state == MembershipState.APPROVED


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "head_a", "sec_b", ANONYMOUS])
def test_only_the_secretariat_decides(alliance, client_for, persona):
    membership = _apply(alliance)
    response = _client(client_for, alliance, persona).post(
        f"/alliance/members/{membership.pk}/decide/", {"decision": "approve", "role": "member"}
    )
    _expect(response, LOGIN if persona == ANONYMOUS else 403)
    membership.refresh_from_db()
    assert membership.state == MembershipState.APPLIED


def test_deciding_an_unknown_application_is_404(alliance, client_for):
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/members/999/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404


def test_decide_is_post_only(alliance, client_for):
    membership = _apply(alliance)
    client = client_for(alliance.users["propaganda"])
    assert client.get(f"/alliance/members/{membership.pk}/decide/").status_code == 405


# --- Roles ------------------------------------------------------------------------------------


def test_the_secretariat_sets_a_member_role(alliance, client_for):
    account = alliance.accounts["a"]
    client = client_for(alliance.users["propaganda"])
    response = client.post(
        f"/alliance/members/accounts/{account.pk}/role/", {"role": MemberRole.COUNCIL}, follow=True
    )
    assert "计算机学院官微 的成员类别已设为理事单位。" in response.content.decode()
    assert Membership.objects.get(account=account).role == MemberRole.COUNCIL
    council = _member_names(client.get("/alliance/members/?role=council"))
    assert set(council) == {"学校官方微信", "计算机学院官微"}


def test_a_role_for_a_non_member_is_refused(alliance, client_for):
    client = client_for(alliance.users["propaganda"])
    url = f"/alliance/members/accounts/{alliance.a_sub_live.pk}/role/"
    response = client.post(url, {"role": MemberRole.COUNCIL}, follow=True)
    assert "账号：实验中心视频号 不是联盟成员。" in response.content.decode()
    response = client.post(
        f"/alliance/members/accounts/{alliance.accounts['a'].pk}/role/",
        {"role": "chair"},
        follow=True,
    )
    assert "成员类别：请选择理事单位或会员单位。" in response.content.decode()
    assert not Membership.objects.exists()


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "head_a", ANONYMOUS])
def test_only_the_secretariat_sets_roles(alliance, client_for, persona):
    account = alliance.accounts["a"]
    client = _client(client_for, alliance, persona)
    url = f"/alliance/members/accounts/{account.pk}/role/"
    _expect(client.post(url, {"role": MemberRole.COUNCIL}), LOGIN if persona == ANONYMOUS else 403)
    assert not Membership.objects.exists()


def test_role_is_post_only(alliance, client_for):
    url = f"/alliance/members/accounts/{alliance.accounts['a'].pk}/role/"
    assert client_for(alliance.users["propaganda"]).get(url).status_code == 405


# --- Leaving ----------------------------------------------------------------------------------


def _approved(alliance) -> Membership:
    return services.membership_decide(
        membership=_apply(alliance), actor=alliance.users["propaganda"], approve=True
    )


def test_a_secretary_takes_a_tier_three_member_out(alliance, client_for):
    _approved(alliance)
    client = client_for(alliance.users["sec_a"])
    url = f"/alliance/members/accounts/{alliance.a_sub_live.pk}/leave/"
    page = client.get("/alliance/members/").content.decode()
    assert f'action="{url}"' in page
    # Tiers 1 and 2 are members by rule: no button for them.
    assert f"/alliance/members/accounts/{alliance.accounts['a'].pk}/leave/" not in page

    response = client.post(url, follow=True)
    assert "实验中心视频号 已退出联盟。" in response.content.decode()
    assert Membership.objects.get().state == MembershipState.LEFT
    assert "实验中心视频号" not in _member_names(response)


def test_a_member_by_rule_cannot_leave(alliance, client_for):
    account = alliance.accounts["a"]
    response = client_for(alliance.users["sec_a"]).post(
        f"/alliance/members/accounts/{account.pk}/leave/", follow=True
    )
    assert "不是经申请加入的三级平台成员，不能退出联盟" in response.content.decode()
    assert account.name in _member_names(response)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("sec_b", 404), ("league", 404), ("auditor", 403), ("head_a", 403), (ANONYMOUS, LOGIN)],
)
def test_who_may_not_take_an_account_out(alliance, client_for, persona, expected):
    _approved(alliance)
    response = _client(client_for, alliance, persona).post(
        f"/alliance/members/accounts/{alliance.a_sub_live.pk}/leave/"
    )
    _expect(response, expected)
    assert Membership.objects.get().state == MembershipState.APPROVED


def test_leave_is_post_only(alliance, client_for):
    url = f"/alliance/members/accounts/{alliance.a_sub_live.pk}/leave/"
    assert client_for(alliance.users["sec_a"]).get(url).status_code == 405


# --- Query counts -----------------------------------------------------------------------------

MEMBER_LIST_QUERIES = {"propaganda": 5, "sec_a": 8}


@pytest.mark.parametrize("extra", [0, 15])
@pytest.mark.parametrize("persona", sorted(MEMBER_LIST_QUERIES))
def test_member_list_queries_do_not_grow(
    alliance, client_for, django_assert_num_queries, persona, extra
):
    if persona == "propaganda":
        _apply(alliance)  # an application to decide (sec_a keeps 实验中心视频号 to apply for)
    for n in range(extra):
        make_account(
            unit=alliance.world.units["b" if n % 2 else "a"],
            name=f"矩阵号{n:02d}",
            platform="weibo",
            status=AccountStatus.ACTIVE,
            account_id=f"mx_{n:02d}",
        )
        make_account(
            unit=alliance.world.units["a_sub"],
            name=f"实验室{n:02d}",
            platform="douyin",
            status=AccountStatus.ACTIVE,
            account_id=f"lab_{n:02d}",
        )
    client = client_for(alliance.users[persona])
    client.get("/alliance/members/")  # warm-up
    with django_assert_num_queries(MEMBER_LIST_QUERIES[persona]):
        response = client.get("/alliance/members/")
    assert response.context["total"] == 5 + extra
    if persona == "sec_a":
        assert len(response.context["own"]) == len(response.context["applicable"]) == 1 + extra
    else:
        assert len(response.context["applications"]) == 1
