"""The read API: tokens, pagination, filters, schema, health check."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.conftest import ACCOUNTS, PASSWORD, World, make_account, make_login

TOKEN_URL = "/api/v1/auth/token/"
ACCOUNTS_URL = "/api/v1/accounts/"


def _token_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def _get_token(username: str, password: str = PASSWORD):
    return Client().post(TOKEN_URL, {"username": username, "password": password})


# --- Tokens ------------------------------------------------------------------------------------


def test_good_credentials_give_a_token_that_works(world: World) -> None:
    response = _get_token("sec_a")
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=world.users["sec_a"]).key == key
    names = _names(_token_client(key).get(ACCOUNTS_URL))
    assert names == world.account_names("a", "a_sub", "a_org")


@pytest.mark.parametrize(
    ("username", "password"),
    [("sec_a", "Wrong#Pass1"), ("nobody", PASSWORD), ("sec_a", ""), ("", "")],
)
def test_bad_credentials_give_400_and_no_token(world: World, username: str, password: str) -> None:
    response = _get_token(username, password)
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


def test_failed_token_request_is_audited_without_the_password(world: World) -> None:
    _get_token("sec_a", "Wrong#Pass1")
    row = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert row.actor_name == "sec_a"
    assert row.ip == "127.0.0.1"
    assert "Wrong#Pass1" not in str(row.detail)


def test_token_grant_is_audited_as_a_login(world: World) -> None:
    """SECURITY.md, Audit: successful logins are logged; a token is a login to the API."""
    assert _get_token("sec_a").status_code == 200
    row = AuditEvent.objects.filter(action=AuditAction.LOGIN).first()
    assert row is not None, "no audit row for the token grant"
    assert (row.actor, row.ip) == (world.users["sec_a"], "127.0.0.1")


def test_a_new_token_replaces_the_old_one(world: World) -> None:
    first = _get_token("sec_a").json()["token"]
    second = _get_token("sec_a").json()["token"]
    assert first != second
    assert _token_client(first).get(ACCOUNTS_URL).status_code == 401
    assert _token_client(second).get(ACCOUNTS_URL).status_code == 200


def test_expired_token_is_refused_and_deleted(world: World) -> None:
    token = Token.objects.create(user=world.users["sec_a"])
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - datetime.timedelta(hours=13))
    response = _token_client(token.key).get(ACCOUNTS_URL)
    assert response.status_code == 401
    assert "results" not in response.json()
    assert not Token.objects.filter(pk=token.pk).exists()


def test_token_just_inside_its_lifetime_works(world: World) -> None:
    token = Token.objects.create(user=world.users["sec_a"])
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - datetime.timedelta(hours=11, minutes=59)
    )
    assert _token_client(token.key).get(ACCOUNTS_URL).status_code == 200


def test_unknown_token_is_401(world: World) -> None:
    assert _token_client("0" * 40).get(ACCOUNTS_URL).status_code == 401


def test_inactive_users_token_is_refused(world: World) -> None:
    user = world.users["sec_a"]
    token = Token.objects.create(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _token_client(token.key).get(ACCOUNTS_URL).status_code == 401


def test_user_who_must_change_password_gets_no_token(world: World) -> None:
    """SECURITY.md: a first login forces a change, so the first password opens nothing, not even
    the API."""
    make_login("fresh", must_change_password=True)
    response = _get_token("fresh")
    assert response.status_code in (400, 403)
    assert "token" not in response.json()


def test_user_who_must_change_password_cannot_read_the_api_with_a_session(
    world: World, client_for
) -> None:
    user = world.users["sec_a"]
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    response = client_for(user).get(ACCOUNTS_URL)
    assert response.status_code in (401, 403)
    assert "results" not in response.json()


def test_expired_password_stops_an_existing_token(world: World) -> None:
    user = world.users["sec_a"]
    token = Token.objects.create(user=user)
    user.password_changed_at = timezone.now() - datetime.timedelta(days=91)
    user.save(update_fields=["password_changed_at"])
    response = _token_client(token.key).get(ACCOUNTS_URL)
    assert response.status_code in (401, 403)


def test_password_change_revokes_api_tokens(world: World, client_for) -> None:
    """SECURITY.md: a password change ends the session on the server; an API token is one."""
    user = world.users["sec_a"]
    key = _get_token("sec_a").json()["token"]
    new = "Bright#River1"
    response = client_for(user).post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert _token_client(key).get(ACCOUNTS_URL).status_code == 401
    fresh = _get_token("sec_a", new).json()["token"]
    assert _token_client(fresh).get(ACCOUNTS_URL).status_code == 200


# --- Lists: pagination and filters ----------------------------------------------------------


@pytest.fixture
def propaganda(world: World, client_for) -> Client:
    return client_for(world.users["propaganda"])


def test_pagination_shape(world: World, propaganda: Client) -> None:
    for i in range(55):
        make_account(unit=world.units["b"], name=f"机械学院账号{i:02d}")
    total = len(ACCOUNTS) + 55

    first = propaganda.get(ACCOUNTS_URL).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == total
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert "page=2" in first["next"]

    second = propaganda.get(ACCOUNTS_URL, {"page": 2}).json()
    assert len(second["results"]) == total - 50
    assert second["next"] is None
    names = [r["name"] for r in first["results"]] + [r["name"] for r in second["results"]]
    assert len(set(names)) == total

    small = propaganda.get(ACCOUNTS_URL, {"page_size": 5}).json()
    assert len(small["results"]) == 5
    capped = propaganda.get(ACCOUNTS_URL, {"page_size": 10_000}).json()
    assert len(capped["results"]) == total  # below the cap of 200

    assert propaganda.get(ACCOUNTS_URL, {"page": 99}).status_code == 404


def test_list_row_shape(world: World, propaganda: Client) -> None:
    row = next(
        r for r in propaganda.get(ACCOUNTS_URL).json()["results"] if r["name"] == ACCOUNTS["a"][0]
    )
    assert row["platform"] == "wechat"
    assert row["tier"] == 2
    assert row["owner_unit"] == {"id": world.units["a"].pk, "code": "cs", "name": "计算机学院"}
    assert row["status"] == "active"
    assert row["status_display"] == "运行中"


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"search": "学生会"}, ("school_org", "a_org")),
        ({"search": "gh_cs"}, ("a",)),
        ({"search": "没有这个账号"}, ()),
        ({"platform": "wechat"}, ("school", "a", "b")),
        ({"platform": "douyin"}, ("school_org", "a_org")),
        ({"tier": 1}, ("school",)),
        ({"tier": 2}, ("propaganda", "league", "a", "b")),
        ({"tier": 3}, ("school_org", "a_sub", "a_org")),
        ({"status": "approved"}, ("league", "a_sub")),
        ({"status": "suspended"}, ("a_org",)),
        ({"status": "active", "platform": "wechat"}, ("school", "a", "b")),
        ({"tier": 9}, tuple(ACCOUNTS)),  # unknown values are ignored
        ({"status": "bogus"}, tuple(ACCOUNTS)),
    ],
)
def test_filters(world: World, propaganda: Client, params: dict, keys: tuple[str, ...]) -> None:
    assert _names(propaganda.get(ACCOUNTS_URL, params)) == world.account_names(*keys)


@pytest.mark.parametrize(
    ("unit", "keys"),
    [("a", ("a", "a_sub", "a_org")), ("league", ("league", "school_org")), ("b", ("b",))],
)
def test_unit_filter_includes_sub_units(
    world: World, propaganda: Client, unit: str, keys: tuple[str, ...]
) -> None:
    response = propaganda.get(ACCOUNTS_URL, {"unit": world.units[unit].pk})
    assert _names(response) == world.account_names(*keys)


def test_filters_never_widen_the_scope(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    assert _names(client.get(ACCOUNTS_URL, {"unit": world.units["b"].pk})) == set()
    assert _names(client.get(ACCOUNTS_URL, {"platform": "wechat"})) == world.account_names("a")
    assert _names(client.get(ACCOUNTS_URL, {"search": "机械"})) == set()


def test_account_detail_masks_contact_data(world: World, client_for) -> None:
    response = client_for(world.users["propaganda"]).get(f"{ACCOUNTS_URL}{world.accounts['a'].pk}/")
    assert response.status_code == 200
    body = response.json()
    admin = world.admins["a"]
    team = {m["role"]: m["person"] for m in body["team"]}
    assert team["administrator"]["mobile"] == admin.mobile_masked
    assert team["administrator"]["email"] == admin.email_masked
    assert team["supervisor"]["name"] == world.people["head_a"].name
    text = response.content.decode()
    assert admin.mobile not in text
    assert admin.email not in text
    assert "11010519491231002X" not in text


# --- Schema and health check ----------------------------------------------------------------


def test_schema_lists_the_endpoints(world: World, client_for) -> None:
    response = client_for(world.users["sec_a"]).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/accounts/" in doc["paths"]
    assert "/api/v1/accounts/{id}/" in doc["paths"]
    params = {p["name"] for p in doc["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert {"search", "platform", "tier", "unit", "status", "page"} <= params


def test_healthz_answers_without_login(db) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_healthz_is_get_only(db) -> None:
    assert Client().post("/healthz").status_code == 405
