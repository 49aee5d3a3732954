"""Single sign-on through the campus CAS (统一身份认证; SECURITY.md, Authentication).

Every login here goes through a real CAS round trip: our login URL sends the browser to the fake
CAS server of tests/campusmedia/cas_server.py (on 127.0.0.1), that server redirects back with a
ticket, and our backend validates the ticket over HTTP against it. The personas are those of
tests/conftest.py; ``sec_a``'s person carries the staff number ``STAFF_NO``.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_cas_ng.models import SessionTicket

from campusmedia import services
from campusmedia.cas import CAS_BACKEND
from campusmedia.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT
from campusmedia.models import AuditEvent, Person, User
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.campusmedia.cas_server import FakeCAS
from tests.conftest import ACCOUNTS, PASSWORD, World, build_world

CAS_LOGIN = reverse("cas_login")
CAS_LOGOUT = reverse("cas_logout")
LOGIN_URL = reverse("login")
STAFF_NO = "20180001"
BUTTON = "统一身份认证登录"
MSG_UNKNOWN_99 = "统一身份认证账号（工号 99999999）未在本系统登记，请联系党委宣传部。"
MSG_INVALID = "统一身份认证未通过：登录凭据无效或已使用，请重新登录。"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def cas_server() -> Iterator[FakeCAS]:
    server = FakeCAS().start()
    yield server
    server.stop()


@pytest.fixture
def cas(settings, cas_server: FakeCAS) -> FakeCAS:
    """CAS switched on, pointing at the fake server, in the default configuration."""
    settings.CAS_SERVER_URL = cas_server.url
    settings.CAS_VERSION = "3"
    settings.CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE = ""
    return cas_server


@pytest.fixture
def staffed(world: World) -> World:
    """``sec_a``'s person has the staff number the CAS server will vouch for."""
    services.person_update(person=world.people["sec_a"], actor=None, staff_no=STAFF_NO)
    return world


def _start(client: Client, cas: FakeCAS, **params: str) -> str:
    """Our CAS login URL: a redirect to the CAS server's login page; returns its URL."""
    response = client.get(CAS_LOGIN, params)
    assert response.status_code == 302
    assert response.url.startswith(f"{cas.url}login?service=")
    return response.url


def _service(cas_login_url: str) -> str:
    return parse_qs(urlsplit(cas_login_url).query)["service"][0]


def _ticket_url(cas_login_url: str) -> str:
    """What the CAS server sends the browser back to: our service URL with the ticket."""
    response = requests.get(cas_login_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    return response.headers["Location"]


def _arrive(client: Client, ticket_url: str):
    """The browser arriving back from the CAS server, ticket in hand."""
    split = urlsplit(ticket_url)
    assert (split.scheme, split.netloc) == ("http", "testserver")
    return client.get(split.path, {k: v[0] for k, v in parse_qs(split.query).items()})


def _cas_login(client: Client, cas: FakeCAS, user: str, **params: str):
    cas.login_as(user)
    return _arrive(client, _ticket_url(_start(client, cas, **params)))


def _user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def _audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)


def _refused(client: Client, response, message: str) -> None:
    """Back on the login page, not logged in, the reason shown."""
    assert response.status_code == 302
    assert urlsplit(response.url).path == LOGIN_URL
    assert _user_id(client) is None
    page = client.get(response.url)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert BUTTON in page.content.decode()  # a second try is one click away


# --- The round trip -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "validate_path"), [("3", "p3/serviceValidate"), ("2", "serviceValidate")]
)
def test_round_trip_logs_in_the_person_with_that_staff_number(
    staffed: World, cas: FakeCAS, settings, version: str, validate_path: str
) -> None:
    settings.CAS_VERSION = version
    cas.login_as(STAFF_NO)
    client = Client()

    cas_login_url = _start(client, cas)
    service = _service(cas_login_url)
    assert service == f"http://testserver{CAS_LOGIN}?{urlencode({'next': '/'})}"
    ticket_url = _ticket_url(cas_login_url)
    ticket = parse_qs(urlsplit(ticket_url).query)["ticket"][0]
    assert ticket.startswith("ST-")
    assert _user_id(client) is None

    response = _arrive(client, ticket_url)

    assert (response.status_code, response.url) == (302, "/")
    user = staffed.users["sec_a"]
    assert _user_id(client) == str(user.pk)
    assert client.session[BACKEND_SESSION_KEY] == CAS_BACKEND
    # The backend asked the CAS server, over HTTP, at the version's address.
    [call] = cas.calls_to(validate_path)
    assert call.params == {"ticket": ticket, "service": service}
    # The home page is the person's: their unit and role.
    home = client.get("/")
    assert home.status_code == 200
    text = home.content.decode()
    assert "计算机学院" in text and "机械学院" not in text
    assert [role.unit_name for role in home.context["data"].my_roles] == ["计算机学院"]
    row = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (row.actor, row.detail, row.outcome) == (user, {"via": "cas"}, AuditOutcome.SUCCESS)
    assert ticket not in _audit_text()
    assert User.objects.count() == len(staffed.users)


def test_login_keeps_next_on_the_site(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    response = _cas_login(client, cas, STAFF_NO, next="/registry/?status=active")
    assert (response.status_code, response.url) == (302, "/registry/?status=active")
    assert _user_id(client) == str(staffed.users["sec_a"].pk)


def test_access_is_the_persons_current_roles(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    _cas_login(client, cas, STAFF_NO)
    page = client.get(reverse("registry")).content.decode()
    for key, (name, *_rest) in ACCOUNTS.items():
        assert (name in page) == (key in ("a", "a_sub", "a_org")), name
    outsider = client.get(reverse("account_detail", args=[staffed.accounts["b"].pk]))
    assert outsider.status_code == 404

    # The role ends: the same CAS session sees it at the next request.
    role = staffed.people["sec_a"].role_assignments.get()
    role.ends_on = timezone.localdate()
    role.save(update_fields=["ends_on"])
    page = client.get(reverse("registry")).content.decode()
    assert not any(name in page for name, *_rest in ACCOUNTS.values())


def test_staff_number_from_an_attribute(staffed: World, cas: FakeCAS, settings) -> None:
    settings.CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE = "employeeNumber"
    client = Client()
    cas.login_as("zhangsan", employeeNumber=STAFF_NO, displayName="赵秘书")
    response = _arrive(client, _ticket_url(_start(client, cas)))
    assert response.status_code == 302
    assert _user_id(client) == str(staffed.users["sec_a"].pk)

    # The CAS username is not the staff number when an attribute is named.
    other = Client()
    response = _cas_login(other, cas, STAFF_NO)
    _refused(other, response, "统一身份认证没有提供工号")
    row = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (row.actor_name, row.detail) == (STAFF_NO, {"via": "cas", "reason": "no_staff_no"})


# --- Refusals -----------------------------------------------------------------------------


def test_unknown_staff_number_is_refused_and_audited(staffed: World, cas: FakeCAS) -> None:
    users = User.objects.count()
    client = Client()
    response = _cas_login(client, cas, "99999999", next="/registry/")

    _refused(client, response, MSG_UNKNOWN_99)
    assert response.url == f"{LOGIN_URL}?{urlencode({'next': '/registry/'})}"
    assert User.objects.count() == users  # never created
    assert cas.calls_to("p3/serviceValidate")  # refused after a real validation
    [row] = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert (row.actor_name, row.actor, row.outcome, row.ip) == (
        "99999999",
        None,
        AuditOutcome.FAILURE,
        "127.0.0.1",
    )
    assert row.detail == {"via": "cas", "reason": "unknown"}
    assert "ST-" not in _audit_text()
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_person_without_a_login_is_refused(staffed: World, cas: FakeCAS) -> None:
    person = staffed.admins["a"]  # a registered person, no login of their own
    services.person_update(person=person, actor=None, staff_no="20190002")
    client = Client()
    response = _cas_login(client, cas, "20190002")
    _refused(client, response, "统一身份认证账号（工号 20190002）未在本系统登记")


def test_inactive_login_is_refused(staffed: World, cas: FakeCAS) -> None:
    User.objects.filter(pk=staffed.users["sec_a"].pk).update(is_active=False)
    client = Client()
    response = _cas_login(client, cas, STAFF_NO)
    _refused(client, response, f"统一身份认证账号（工号 {STAFF_NO}）在本系统的登录账号已停用")
    row = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (row.actor_name, row.detail["reason"]) == (STAFF_NO, "inactive")


def test_replayed_ticket_is_refused(staffed: World, cas: FakeCAS) -> None:
    cas.login_as(STAFF_NO)
    ticket_url = _ticket_url(_start(Client(), cas))
    first = Client()
    assert _arrive(first, ticket_url).status_code == 302
    assert _user_id(first) == str(staffed.users["sec_a"].pk)

    thief = Client()
    response = _arrive(thief, ticket_url)

    _refused(thief, response, MSG_INVALID)
    assert len(cas.calls_to("p3/serviceValidate")) == 2  # asked again, and told no
    row = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (row.actor_name, row.detail) == ("", {"via": "cas", "reason": "invalid_ticket"})
    ticket = parse_qs(urlsplit(ticket_url).query)["ticket"][0]
    assert ticket not in _audit_text()


def test_forged_ticket_is_refused(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    response = client.get(CAS_LOGIN, {"next": "/", "ticket": "ST-forged-by-hand"})
    _refused(client, response, MSG_INVALID)
    [call] = cas.calls_to("p3/serviceValidate")
    assert call.params["ticket"] == "ST-forged-by-hand"
    assert "ST-forged-by-hand" not in _audit_text()


def test_ticket_for_another_service_is_refused(staffed: World, cas: FakeCAS) -> None:
    """A ticket is bound to the service URL it was issued for (here: another ``next``)."""
    cas.login_as(STAFF_NO)
    ticket_url = _ticket_url(_start(Client(), cas, next="/registry/"))
    ticket = parse_qs(urlsplit(ticket_url).query)["ticket"][0]
    client = Client()
    response = client.get(CAS_LOGIN, {"next": "/units/", "ticket": ticket})
    _refused(client, response, MSG_INVALID)


def test_unreachable_cas_server_is_a_clear_refusal(staffed: World, cas: FakeCAS, settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CAS_SERVER_URL = f"http://127.0.0.1:{port}/cas/"
    client = Client()
    response = client.get(CAS_LOGIN, {"next": "/", "ticket": "ST-1"})
    _refused(client, response, "暂时无法连接统一身份认证服务")
    row = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert row.detail == {"via": "cas", "reason": "unreachable"}


# --- Switched off -------------------------------------------------------------------------


def test_cas_off_means_no_urls_no_button_no_backend(
    staffed: World, settings, cas_server: FakeCAS
) -> None:
    settings.CAS_SERVER_URL = None
    client = Client()
    assert client.get(CAS_LOGIN).status_code == 404
    assert client.get(CAS_LOGIN, {"ticket": "ST-1"}).status_code == 404
    assert client.post(CAS_LOGOUT).status_code == 404
    page = client.get(LOGIN_URL).content.decode()
    assert BUTTON not in page
    assert CAS_LOGIN not in page
    # The backend stays listed but answers nothing, without asking any server.
    request = RequestFactory().get(CAS_LOGIN)
    assert authenticate(request, ticket="ST-1", service="http://testserver/") is None
    assert cas_server.calls == []
    # The local form is untouched.
    assert client.post(LOGIN_URL, {"username": "sec_a", "password": PASSWORD}).status_code == 302


def test_cas_on_puts_the_button_beside_the_local_form(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    page = client.get(LOGIN_URL, {"next": "/registry/"}).content.decode()
    assert BUTTON in page
    assert f'href="{CAS_LOGIN}?next=/registry/"' in page
    assert 'name="password"' in page
    # And the local form still logs in, through the ModelBackend as before.
    response = client.post(LOGIN_URL, {"username": "sec_a", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    assert AuditEvent.objects.get(action=AuditAction.LOGIN).detail == {}


def test_settings_come_from_the_environment() -> None:
    """Off without CAMPUSMEDIA_CAS_SERVER_URL; with it, version 3 and the username by default."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CAS_SERVER_URL, s.CAS_VERSION, s.CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE, "
        "s.CAS_CREATE_USER, 'campusmedia.cas.CASBackend' in s.AUTHENTICATION_BACKENDS]))"
    )

    def run(**env: str) -> list:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CAMPUSMEDIA_CAS_")}
        environ.update(DJANGO_SETTINGS_MODULE="campusmedia.settings", **env)
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=BASE_DIR,
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run() == [None, "3", "", False, True]
    assert run(CAMPUSMEDIA_CAS_SERVER_URL="https://cas.example.edu.cn/cas") == [
        "https://cas.example.edu.cn/cas/",
        "3",
        "",
        False,
        True,
    ]
    assert run(
        CAMPUSMEDIA_CAS_SERVER_URL="https://cas.example.edu.cn/cas/",
        CAMPUSMEDIA_CAS_VERSION="2",
        CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE="employeeNumber",
    ) == ["https://cas.example.edu.cn/cas/", "2", "employeeNumber", False, True]


# --- No open redirect ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://evil.example/",
        "https:///evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
    ],
)
def test_off_site_next_is_dropped(staffed: World, cas: FakeCAS, evil: str) -> None:
    client = Client()
    cas_login_url = _start(client, cas, next=evil)
    assert "evil" not in _service(cas_login_url)
    assert "javascript" not in _service(cas_login_url)

    # Even when the ticket comes back with the bad next attached by hand.
    cas.login_as(STAFF_NO)
    ticket_url = _ticket_url(cas_login_url)
    ticket = parse_qs(urlsplit(ticket_url).query)["ticket"][0]
    response = client.get(CAS_LOGIN, {"next": evil, "ticket": ticket})
    assert (response.status_code, response.url) == (302, "/")
    assert _user_id(client) == str(staffed.users["sec_a"].pk)

    # Already logged in: still home, not away.
    response = client.get(CAS_LOGIN, {"next": evil})
    assert (response.status_code, response.url) == (302, "/")


# --- Logout -------------------------------------------------------------------------------


def test_logout_ends_the_session_and_goes_to_the_cas_logout(staffed: World, cas: FakeCAS) -> None:
    client = Client(enforce_csrf_checks=True)
    _cas_login(client, cas, STAFF_NO)
    key = client.session.session_key
    assert SessionTicket.objects.filter(session_key=key).exists()

    assert client.get(CAS_LOGOUT).status_code == 405
    assert client.post(CAS_LOGOUT).status_code == 403  # no CSRF token
    assert _user_id(client) is not None

    token = client.get("/").context["csrf_token"]
    response = client.post(CAS_LOGOUT, {"csrfmiddlewaretoken": token}, REMOTE_ADDR="203.0.113.9")

    back = f"http://testserver{LOGIN_URL}"
    assert response.status_code == 302
    assert response.url == f"{cas.url}logout?{urlencode({'service': back})}"
    assert not Session.objects.filter(session_key=key).exists()
    assert not SessionTicket.objects.filter(session_key=key).exists()
    row = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert (row.actor, row.ip) == (staffed.users["sec_a"], "203.0.113.9")
    # The CAS server ends its session and sends the browser back to our login page.
    followed = requests.get(response.url, allow_redirects=False, timeout=5)
    assert followed.headers["Location"] == back
    assert cas.calls_to("logout")
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get("/").status_code == 302


def test_header_logout_of_a_cas_session_also_leaves_cas(staffed: World, cas: FakeCAS) -> None:
    client = Client(enforce_csrf_checks=True)
    _cas_login(client, cas, STAFF_NO)
    key = client.session.session_key

    assert client.post(reverse("logout")).status_code == 403  # CSRF still checked first
    assert _user_id(client) is not None
    token = client.get("/").context["csrf_token"]
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response.url.startswith(f"{cas.url}logout?service=")
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT).count() == 1


def test_header_logout_of_a_local_session_stays_local(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    client.post(LOGIN_URL, {"username": "sec_a", "password": PASSWORD})
    response = client.post(reverse("logout"))
    assert (response.status_code, response.url) == (302, LOGIN_URL)
    assert cas.calls_to("logout") == []


# --- Same rules as a local session ----------------------------------------------------------


def test_cas_login_is_not_sent_to_the_password_change(staffed: World, cas: FakeCAS) -> None:
    user = staffed.users["sec_a"]
    User.objects.filter(pk=user.pk).update(
        must_change_password=True, password_changed_at=timezone.now() - datetime.timedelta(days=200)
    )
    client = Client()
    response = _cas_login(client, cas, STAFF_NO, next="/registry/")
    assert (response.status_code, response.url) == (302, "/registry/")
    assert client.get("/registry/").status_code == 200
    assert client.get("/").status_code == 200

    # The same user through the local form is still made to change the password.
    local = Client()
    local.post(LOGIN_URL, {"username": "sec_a", "password": PASSWORD})
    response = local.get("/registry/")
    assert (response.status_code, response.url) == (302, reverse("password_change"))


@pytest.mark.parametrize(
    ("stamps", "reason"),
    [
        ({SESSION_SEEN_AT: -31 * 60}, "idle"),
        ({SESSION_LOGIN_AT: -(12 * 3600 + 60), SESSION_SEEN_AT: -60}, "absolute"),
    ],
)
def test_cas_session_expires_like_any_other(
    staffed: World, cas: FakeCAS, stamps: dict[str, int], reason: str
) -> None:
    client = Client()
    _cas_login(client, cas, STAFF_NO)
    assert client.get("/").status_code == 200
    session = client.session
    for name, offset in stamps.items():
        session[name] = time.time() + offset
    session.save()
    key = session.session_key

    response = client.get(reverse("registry"))

    assert (response.status_code, response.url) == (302, f"{LOGIN_URL}?next=/registry/")
    assert not Session.objects.filter(session_key=key).exists()
    row = AuditEvent.objects.get(action=AuditAction.SESSION_EXPIRED)
    assert (row.actor, row.detail) == (staffed.users["sec_a"], {"reason": reason})


def test_cas_session_within_the_limits_stays(staffed: World, cas: FakeCAS) -> None:
    client = Client()
    _cas_login(client, cas, STAFF_NO)
    session = client.session
    assert session[SESSION_LOGIN_AT] > time.time() - 60  # stamped at the CAS login
    session[SESSION_SEEN_AT] = time.time() - 29 * 60
    session.save()
    assert client.get("/").status_code == 200


def test_axes_neither_blocks_nor_counts_cas_logins(staffed: World, cas: FakeCAS) -> None:
    # The local username is locked by five wrong passwords...
    for i in range(5):
        Client().post(LOGIN_URL, {"username": "sec_a", "password": f"Wrong#Pass{i}"})
    locked = Client().post(LOGIN_URL, {"username": "sec_a", "password": PASSWORD})
    assert locked.status_code == 429
    # ...which guards the local password, not the campus account.
    client = Client()
    response = _cas_login(client, cas, STAFF_NO)
    assert response.status_code == 302
    assert _user_id(client) == str(staffed.users["sec_a"].pk)

    # Failed CAS logins lock nobody out of CAS and leave no ticket in axes' tables.
    for i in range(6):
        _refused(c := Client(), c.get(CAS_LOGIN, {"ticket": f"ST-bad-{i}"}), MSG_INVALID)
    client = Client()
    _cas_login(client, cas, STAFF_NO)
    assert _user_id(client) == str(staffed.users["sec_a"].pk)
    axes_text = json.dumps(list(AccessAttempt.objects.values()), default=str)
    assert "ST-" not in axes_text
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    cas_failures = [row.detail.get("reason") for row in failures if row.detail.get("via") == "cas"]
    assert cas_failures == ["invalid_ticket"] * 6


# --- In a real browser --------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_browser_clicks_the_sso_button_through_cas_to_the_home_page(
    live_server, transactional_db, _fast_hasher, settings, cas_server: FakeCAS, monkeypatch
) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (make test)"
    world = build_world()
    services.person_update(person=world.people["sec_a"], actor=None, staff_no=STAFF_NO)
    settings.CAS_SERVER_URL = cas_server.url
    settings.CAS_VERSION = "3"
    settings.CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE = ""
    cas_server.login_as(STAFF_NO)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/registry/")
            assert "/accounts/login/" in page.url
            page.get_by_role("link", name=BUTTON).click()
            page.wait_for_url(f"{live_server.url}/registry/")
            assert cas_server.calls_to("login") and cas_server.calls_to("p3/serviceValidate")
            page.goto(f"{live_server.url}/")
            roles = page.locator("#my-roles + .role-list").inner_text()
            assert "计算机学院" in roles
            assert "sec_a" in page.locator(".site-user").inner_text()
            page.screenshot(path="/tmp/e2e-cas.png", full_page=True)
        finally:
            browser.close()
    assert Person.objects.get(staff_no=STAFF_NO).user == world.users["sec_a"]
