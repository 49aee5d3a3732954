"""Who sees what: persona × endpoint × in-scope / out-of-scope object (SECURITY.md, Authorization).

An outsider gets 404, a reader without the right 403, an anonymous visitor the login page (pages)
or 401 (API). Lists name exactly the accounts and units of the persona's scope, so a widened
scope fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.conftest import ACCOUNTS, UNITS, World

ALL = tuple(UNITS)
ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "league", "propaganda", "auditor", ANONYMOUS)

# The units (and so the accounts, people and requests) each persona sees.
SCOPE: dict[str, tuple[str, ...]] = {
    "sec_a": ("a", "a_sub", "a_org"),
    "head_a": ("a", "a_sub", "a_org"),
    "sec_b": ("b",),
    # The approver signs for the school-level organisations; the League's own accounts are its
    # secretary's and head's business.
    "league": ("school_org",),
    "propaganda": ALL,
    "auditor": ALL,
    ANONYMOUS: (),
}
# Objects probed per persona: ``in`` inside its own units, ``out`` elsewhere. The propaganda
# department and the auditor read everything, so their ``out`` objects answer 200 as well.
PROBES: dict[str, dict[str, tuple[str, ...]]] = {
    "sec_a": {"in": ("a", "a_sub", "a_org"), "out": ("b", "school_org")},
    "head_a": {"in": ("a", "a_sub", "a_org"), "out": ("b", "school_org")},
    "sec_b": {"in": ("b",), "out": ("a", "a_sub", "a_org")},
    "league": {"in": ("school_org",), "out": ("league", "a", "a_org", "b")},
    "propaganda": {"in": ("propaganda",), "out": ("a", "b", "school_org")},
    "auditor": {"in": ("school",), "out": ("a", "b", "school_org")},
    ANONYMOUS: {"in": ("a",), "out": ("b",)},
}
# Full personal data: those who file it (secretaries of the unit, the propaganda department).
MAY_REVEAL = {"sec_a", "sec_b", "propaganda"}

REASON = "报送市网信办备案材料"


@dataclass
class Caller:
    persona: str
    world: World
    session: Client
    api: Client  # token authentication, no session

    def user_pk(self) -> int | None:
        user = self.world.users.get(self.persona)
        return user.pk if user else None


@pytest.fixture
def caller(request, world: World, client_for: Callable) -> Caller:
    persona = request.param
    user = world.users.get(persona)
    api = Client()
    if user is not None:
        token = Token.objects.create(user=user)
        api.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return Caller(persona=persona, world=world, session=client_for(user), api=api)


def _account_names(caller: Caller, keys: tuple[str, ...]) -> set[str]:
    return caller.world.account_names(*keys)


def _unit_names(caller: Caller, keys: tuple[str, ...]) -> set[str]:
    return {caller.world.units[key].name for key in keys}


def _assert_login_redirect(response) -> None:
    assert response.status_code == 302, response
    assert response.url.startswith(reverse("login") + "?next="), response.url


# --- Single objects ---------------------------------------------------------------------------


def _get_unit_page(caller: Caller, key: str):
    return caller.session.get(reverse("unit_detail", args=[caller.world.units[key].pk]))


def _get_account_page(caller: Caller, key: str):
    return caller.session.get(reverse("account_detail", args=[caller.world.accounts[key].pk]))


def _get_person_page(caller: Caller, key: str):
    return caller.session.get(reverse("person_detail", args=[caller.world.admins[key].pk]))


def _post_reveal(caller: Caller, key: str):
    return caller.session.post(
        reverse("person_reveal", args=[caller.world.admins[key].pk]),
        {"field": "mobile", "reason": REASON},
    )


def _api_account_token(caller: Caller, key: str):
    return caller.api.get(f"/api/v1/accounts/{caller.world.accounts[key].pk}/")


def _api_account_session(caller: Caller, key: str):
    return caller.session.get(f"/api/v1/accounts/{caller.world.accounts[key].pk}/")


def _api_unit_session(caller: Caller, key: str):
    return caller.session.get(f"/api/v1/units/{caller.world.units[key].pk}/")


OBJECT_ENDPOINTS: dict[str, Callable] = {
    "unit_detail": _get_unit_page,
    "account_detail": _get_account_page,
    "person_detail": _get_person_page,
    "person_reveal": _post_reveal,
    "api_account_token": _api_account_token,
    "api_account_session": _api_account_session,
    "api_unit_session": _api_unit_session,
}


def _expected_object_status(persona: str, endpoint: str, key: str) -> int:
    if persona == ANONYMOUS:
        return 401 if endpoint.startswith("api_") else 302
    if key not in SCOPE[persona]:
        return 404
    if endpoint == "person_reveal" and persona not in MAY_REVEAL:
        return 403
    return 200


@pytest.mark.parametrize("scope", ["in", "out"])
@pytest.mark.parametrize("endpoint", list(OBJECT_ENDPOINTS))
@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_object_endpoint(caller: Caller, endpoint: str, scope: str) -> None:
    for key in PROBES[caller.persona][scope]:
        expected = _expected_object_status(caller.persona, endpoint, key)
        response = OBJECT_ENDPOINTS[endpoint](caller, key)
        assert response.status_code == expected, (caller.persona, endpoint, key)
        if expected == 302:
            _assert_login_redirect(response)


@pytest.mark.parametrize("scope", ["in", "out"])
@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_reveal_leaves_an_audit_row_only_when_shown(caller: Caller, scope: str) -> None:
    """A reveal is logged when it happens; a refusal is logged as denied, an outsider's probe
    reveals nothing (no reveal row)."""
    for key in PROBES[caller.persona][scope]:
        admin = caller.world.admins[key]
        before = AuditEvent.objects.filter(action=AuditAction.REVEAL).count()
        denied_before = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).count()
        response = _post_reveal(caller, key)
        reveals = AuditEvent.objects.filter(action=AuditAction.REVEAL)
        if response.status_code == 200:
            assert admin.mobile in response.content.decode()
            row = reveals.latest("id")
            assert reveals.count() == before + 1
            assert (row.actor_id, row.object_id) == (caller.user_pk(), str(admin.pk))
        else:
            assert reveals.count() == before, (caller.persona, key)
            assert admin.mobile not in response.content.decode()
        if response.status_code == 403:
            denied = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED)
            assert denied.count() == denied_before + 1
            assert denied.latest("id").outcome == AuditOutcome.DENIED


# --- Lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_registry_page_lists_exactly_the_scope(caller: Caller) -> None:
    response = caller.session.get(reverse("registry"))
    if caller.persona == ANONYMOUS:
        _assert_login_redirect(response)
        return
    assert response.status_code == 200
    expected = _account_names(caller, SCOPE[caller.persona])
    assert {a.name for a in response.context["page"].object_list} == expected
    html = response.content.decode()
    for key, (name, *_rest) in ACCOUNTS.items():
        assert (name in html) == (key in SCOPE[caller.persona]), (caller.persona, name)


@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_unit_tree_lists_exactly_the_scope(caller: Caller) -> None:
    response = caller.session.get(reverse("unit_tree"))
    if caller.persona == ANONYMOUS:
        _assert_login_redirect(response)
        return
    assert response.status_code == 200
    shown = {unit.name for unit, _depth, _count in response.context["rows"]}
    assert shown == _unit_names(caller, SCOPE[caller.persona])


@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_home_counts_exactly_the_scope(caller: Caller) -> None:
    response = caller.session.get(reverse("home"))
    if caller.persona == ANONYMOUS:
        _assert_login_redirect(response)
        return
    assert response.status_code == 200
    data = response.context["data"]
    expected = _account_names(caller, SCOPE[caller.persona])
    assert data.total == len(expected)
    assert {a.name for a in data.recent} == expected
    html = response.content.decode()
    for key, (name, *_rest) in ACCOUNTS.items():
        if key not in SCOPE[caller.persona]:
            assert name not in html, (caller.persona, name)


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_api_accounts_list_exactly_the_scope(caller: Caller, auth: str) -> None:
    client = caller.api if auth == "token" else caller.session
    response = client.get("/api/v1/accounts/")
    if caller.persona == ANONYMOUS:
        assert response.status_code == 401
        assert "results" not in response.json()
        return
    assert response.status_code == 200
    body = response.json()
    expected = _account_names(caller, SCOPE[caller.persona])
    assert {row["name"] for row in body["results"]} == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("caller", PERSONAS, indirect=True)
def test_api_units_list_exactly_the_scope(caller: Caller, auth: str) -> None:
    client = caller.api if auth == "token" else caller.session
    response = client.get("/api/v1/units/")
    if caller.persona == ANONYMOUS:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["results"]} == _unit_names(
        caller, SCOPE[caller.persona]
    )


# --- Wrong method -----------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["sec_a", "propaganda"], indirect=True)
def test_get_on_reveal_is_405_and_reveals_nothing(caller: Caller) -> None:
    admin = caller.world.admins["a"]
    response = caller.session.get(
        reverse("person_reveal", args=[admin.pk]), {"field": "mobile", "reason": REASON}
    )
    assert response.status_code == 405
    assert admin.mobile not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


@pytest.mark.parametrize("caller", ["sec_a", "propaganda"], indirect=True)
def test_post_on_registry_is_405(caller: Caller) -> None:
    response = caller.session.post(reverse("registry"), {"q": "x"})
    assert response.status_code == 405


@pytest.mark.parametrize("caller", ["sec_a", "propaganda", "auditor"], indirect=True)
def test_api_is_read_only(caller: Caller) -> None:
    account = caller.world.accounts["a"]
    url = f"/api/v1/accounts/{account.pk}/"
    assert caller.api.post("/api/v1/accounts/", {"name": "x"}).status_code == 405
    assert caller.api.delete(url).status_code == 405
    assert (
        caller.api.patch(url, {"name": "改名"}, content_type="application/json").status_code == 405
    )
    account.refresh_from_db()
    assert account.name == ACCOUNTS["a"][0]
