"""Public verification: the page ``/public/verify/?q=`` and ``GET /api/v1/public/registry/?q=``
answer anyone whether an account is the school's, with public fields only, within a limit of
look-ups per address and minute."""

from __future__ import annotations

import datetime
import json

import pytest
from django.urls import reverse

from campusmedia import services as registry
from campusmedia.choices import AccountStatus
from campusmedia.models import MediaAccount
from tests.conftest import SOURCE, World, make_account
from tests.publication.conftest import assert_no_personal_data

pytestmark = pytest.mark.django_db

PAGE = reverse("publication:verify")
API = "/api/v1/public/registry/"
NOT_OFFICIAL = "未查到：该账号不是本校登记的官方账号"


def page(client, q: str, **extra) -> tuple[int, str]:
    response = client.get(PAGE, {"q": q}, **extra)
    return response.status_code, response.content.decode()


def api(client, q: str | None, **extra):
    return client.get(API, {} if q is None else {"q": q}, **extra)


def close(world: World, key: str) -> MediaAccount:
    return registry.account_update(
        account=world.accounts[key], actor=None, source=SOURCE, status=AccountStatus.CLOSED
    )


# --- Answers -----------------------------------------------------------------------------------


def test_an_official_account_found_by_name(numbered, client_for):
    status, text = page(client_for(None), "计算机学院官微")

    assert status == 200
    assert "官方账号" in text
    assert "计算机学院官微" in text
    assert "二级平台" in text
    assert "计算机学院" in text
    assert "XCB-2024-0004" in text
    assert "2020年4月1日" in text  # since when
    assert NOT_OFFICIAL not in text


def test_an_official_account_found_by_its_id_in_any_case(numbered, client_for):
    response = api(client_for(None), "GH_CS01")

    assert response.status_code == 200
    data = response.json()
    assert data["official"] is True
    assert data["count"] == 1
    answer = data["results"][0]
    assert answer["name"] == "计算机学院官微"
    assert answer["official"] is True
    assert answer["exact_match"] is True
    assert answer["headline"] == "官方账号"
    assert answer["tier"] == 2
    assert answer["tier_label"] == "二级平台"
    assert answer["unit"] == "计算机学院"
    assert answer["platform"] == "微信公众号"
    assert answer["account_id"] == "gh_cs01"
    assert answer["approval_number"] == "XCB-2024-0004"
    assert answer["opened_on"] == "2020-04-01"
    assert answer["closed_on"] is None
    _, text = page(client_for(None), "gh_cs01")
    assert "计算机学院官微" in text and "官方账号" in text


def test_part_of_a_name_finds_every_account_containing_it(world, client_for):
    data = api(client_for(None), "学院官微").json()

    assert {a["name"] for a in data["results"]} == world.account_names("a", "b")
    # Containing the words is not being the account: no exact official match.
    assert data["official"] is False
    assert all(a["exact_match"] is False for a in data["results"])


def test_a_closed_account_says_closed_and_since_when(world, client_for):
    closed_on = close(world, "b").closed_on
    assert closed_on is not None

    data = api(client_for(None), "机械学院官微").json()
    answer = data["results"][0]
    assert answer["official"] is False
    assert answer["headline"] == "已停办"
    assert answer["closed_on"] == closed_on.isoformat()
    assert data["official"] is False
    _, text = page(client_for(None), "机械学院官微")
    assert "已停办" in text
    assert f"{closed_on.year}年{closed_on.month}月{closed_on.day}日停办" in text
    assert "官方账号</span>" not in text


def test_suspended_ordered_to_close_and_not_opened_say_so(world, client_for):
    registry.account_update(
        account=world.accounts["school_org"],
        actor=None,
        source=SOURCE,
        status=AccountStatus.ORDERED_TO_CLOSE,
    )
    anonymous = client_for(None)

    suspended = api(anonymous, "计科学生会").json()["results"][0]
    ordered = api(anonymous, "校学生会抖音").json()["results"][0]
    not_opened = api(anonymous, "青春校团委").json()["results"][0]

    assert (suspended["headline"], suspended["official"]) == ("已暂停运行", False)
    assert (ordered["headline"], ordered["official"]) == ("已被责令注销", False)
    assert (not_opened["headline"], not_opened["official"]) == ("尚未开通", False)
    assert "不是本校官方账号" in not_opened["explanation"]
    _, text = page(anonymous, "青春校团委")
    assert "尚未开通" in text


def test_an_unknown_account_is_not_official(world, client_for):
    status, text = page(client_for(None), "某某大学官方微信号")
    assert status == 200
    assert NOT_OFFICIAL in text

    data = api(client_for(None), "某某大学官方微信号").json()
    assert data == {
        "query": "某某大学官方微信号",
        "official": False,
        "message": NOT_OFFICIAL,
        "count": 0,
        "more": False,
        "results": [],
    }


def test_exact_matches_and_running_accounts_come_first(world, client_for):
    make_account(unit=world.units["b"], name="机械学院官微（旧）", status=AccountStatus.APPROVED)
    close(world, "b")
    make_account(
        unit=world.units["b"],
        name="机械学院官微",
        platform="weibo",
        status=AccountStatus.ACTIVE,
        account_id="me_weibo",
    )

    results = api(client_for(None), "机械学院官微").json()["results"]
    assert [(r["name"], r["status"]) for r in results] == [
        ("机械学院官微", AccountStatus.ACTIVE),
        ("机械学院官微", AccountStatus.CLOSED),
        ("机械学院官微（旧）", AccountStatus.APPROVED),
    ]


def test_a_query_shorter_than_two_characters_gets_a_message(world, client_for):
    status, text = page(client_for(None), " 计 ")
    assert status == 200
    assert "请输入至少 2 个字符" in text
    assert "计算机学院官微" not in text

    response = api(client_for(None), "计")
    assert response.status_code == 400
    assert "请输入至少 2 个字符" in response.json()["detail"]
    assert api(client_for(None), None).status_code == 400


def test_the_page_without_a_query_shows_the_form(world, client_for):
    response = client_for(None).get(PAGE)

    assert response.status_code == 200
    assert 'name="q"' in response.content.decode()
    assert NOT_OFFICIAL not in response.content.decode()


def test_no_personal_data_in_any_answer(numbered, client_for):
    world = numbered
    anonymous = client_for(None)
    for q in ("学院", "官微", "学生会", "gh_school01", "校团委"):
        _, text = page(anonymous, q)
        assert_no_personal_data(world, text)
        response = api(anonymous, q)
        assert_no_personal_data(world, response.content.decode())
        for answer in response.json()["results"]:
            assert set(answer) == {
                "name",
                "platform",
                "account_type",
                "account_id",
                "unit",
                "tier",
                "tier_label",
                "status",
                "status_label",
                "official",
                "verdict",
                "headline",
                "explanation",
                "approval_number",
                "opened_on",
                "closed_on",
                "url",
                "exact_match",
            }


def test_at_most_twenty_answers(world, client_for):
    for i in range(25):
        make_account(
            unit=world.units["a"],
            name=f"扩展账号{i:02d}",
            status=AccountStatus.ACTIVE,
            account_id=f"ext{i:02d}",
        )

    data = api(client_for(None), "扩展账号").json()
    assert data["count"] == 20
    assert data["more"] is True
    _, text = page(client_for(None), "扩展账号")
    assert "只显示前 20 个" in text


def test_signed_in_users_get_the_same_answers(world, client_for):
    response = api(client_for(world.users["sec_b"]), "gh_cs01")

    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "计算机学院官微"


# --- Query counts ------------------------------------------------------------------------------


def test_the_api_reads_with_one_query(world, client_for, django_assert_max_num_queries):
    for i in range(40):
        make_account(
            unit=world.units["a"],
            name=f"扩展账号{i:02d}",
            status=AccountStatus.ACTIVE,
            account_id=f"ext{i:02d}",
        )
    anonymous = client_for(None)
    with django_assert_max_num_queries(1):
        assert api(anonymous, "扩展账号").json()["count"] == 20
    with django_assert_max_num_queries(1):
        assert api(anonymous, "gh_cs01").json()["count"] == 1


def test_the_page_reads_with_two_queries(world, client_for, django_assert_max_num_queries):
    anonymous = client_for(None)
    with django_assert_max_num_queries(2):  # the school's name, the accounts
        status, _ = page(anonymous, "学院")
    assert status == 200


# --- Rate limit --------------------------------------------------------------------------------


@pytest.fixture
def one_window(monkeypatch):
    """Keep every look-up of a test inside one minute: on the real clock a test that started at
    hh:mm:59.9 would count its hits in two windows and never reach the limit."""
    from publication import ratelimit

    now = datetime.datetime(2026, 3, 1, 9, 0, 30).timestamp()
    monkeypatch.setattr(ratelimit, "_now", lambda: now)


def test_the_page_answers_429_after_the_limit(world, client_for, settings, one_window):
    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 3
    anonymous = client_for(None)
    for _ in range(3):
        assert page(anonymous, "计算机学院官微")[0] == 200

    response = anonymous.get(PAGE, {"q": "计算机学院官微"})
    assert response.status_code == 429
    text = response.content.decode()
    assert "查询过于频繁" in text
    assert "计算机学院官微</h3>" not in text
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_api_answers_429_with_detail_after_the_limit(world, client_for, settings, one_window):
    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 2
    anonymous = client_for(None)
    assert api(anonymous, "gh_cs01").status_code == 200
    assert api(anonymous, "gh_cs01").status_code == 200

    response = api(anonymous, "gh_cs01")
    assert response.status_code == 429
    assert "查询过于频繁" in json.loads(response.content)["detail"]
    assert "Retry-After" in response


def test_the_page_and_the_api_share_the_limit(world, client_for, settings, one_window):
    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 2
    anonymous = client_for(None)
    assert page(anonymous, "gh_cs01")[0] == 200
    assert api(anonymous, "gh_cs01").status_code == 200

    assert api(anonymous, "gh_cs01").status_code == 429
    assert page(anonymous, "gh_cs01")[0] == 429


def test_the_limit_is_per_address_and_a_forged_header_does_not_reset_it(
    world, client_for, settings, one_window
):
    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 1
    anonymous = client_for(None)
    assert api(anonymous, "gh_cs01", REMOTE_ADDR="10.0.0.1").status_code == 200
    assert api(anonymous, "gh_cs01", REMOTE_ADDR="10.0.0.1").status_code == 429
    forged = api(anonymous, "gh_cs01", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert forged.status_code == 429
    assert api(anonymous, "gh_cs01", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_the_limit_resets_in_the_next_minute(world, client_for, settings, monkeypatch):
    from publication import ratelimit

    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 1
    now = datetime.datetime(2026, 3, 1, 8, 0, 10).timestamp()
    monkeypatch.setattr(ratelimit, "_now", lambda: now)
    anonymous = client_for(None)
    assert api(anonymous, "gh_cs01").status_code == 200
    assert api(anonymous, "gh_cs01").status_code == 429

    monkeypatch.setattr(ratelimit, "_now", lambda: now + 60)
    assert api(anonymous, "gh_cs01").status_code == 200


def test_opening_the_page_without_a_query_does_not_count(world, client_for, settings):
    settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = 1
    anonymous = client_for(None)
    for _ in range(3):
        assert anonymous.get(PAGE).status_code == 200
    assert page(anonymous, "gh_cs01")[0] == 200
