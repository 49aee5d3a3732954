"""Authentication (SECURITY.md): password rules, forced changes, lockout, session lifetime,
logout, and the audit trail of all of it."""

from __future__ import annotations

import datetime
import itertools
import json
import re
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campusmedia.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT
from campusmedia.models import AuditEvent, PasswordHistory, User
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.conftest import PASSWORD, World, make_login

LOGIN_URL = reverse("login")
CHANGE_URL = reverse("password_change")
LOGOUT_URL = reverse("logout")

MSG_SHORT = "8 个字符"
MSG_CLASSES = "密码：须包含大写字母、小写字母、数字、符号中的至少 3 类。"
MSG_USERNAME = "密码：不能包含用户名。"
MSG_REUSED = "密码：不能与最近 5 次使用过的密码相同。"


CJK = re.compile(r"[\u4e00-\u9fff]")


def _login(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _change(client: Client, new: str, old: str = PASSWORD):
    return client.post(
        CHANGE_URL, {"old_password": old, "new_password1": new, "new_password2": new}
    )


def _all_audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)


# --- Password rules, through the change page -----------------------------------------------


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Ab1#xyz", MSG_SHORT),
        ("abcdefgh12", MSG_CLASSES),
        ("ABCDEFGH!!", MSG_CLASSES),
        ("longlonglonglong", MSG_CLASSES),
        ("My-sec_a-2026", MSG_USERNAME),
        ("My-SEC_A-2026", MSG_USERNAME),
        (PASSWORD, MSG_REUSED),
    ],
)
def test_bad_passwords_are_refused_in_chinese(
    world: World, client_for, new: str, message: str
) -> None:
    user = world.users["sec_a"]
    client = client_for(user)
    history = PasswordHistory.objects.filter(user=user).count()

    response = _change(client, new)

    assert response.status_code == 200
    errors = response.context["form"].errors["new_password2"]
    assert any(message in error for error in errors), errors
    for error in errors:  # every message in Chinese, none left in Django's English
        assert CJK.search(error), error
        assert error in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert PasswordHistory.objects.filter(user=user).count() == history
    assert _logged_in(client)


@pytest.mark.parametrize("new", ["Qingyun88Hu", "abcdefg12#", "ABCDEFG12#", "Abcdefgh#!"])
def test_three_of_four_classes_are_enough(world: World, client_for, new: str) -> None:
    user = world.users["sec_a"]
    response = _change(client_for(user), new)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_mismatched_new_passwords_are_refused(world: World, client_for) -> None:
    response = client_for(world.users["sec_a"]).post(
        CHANGE_URL,
        {
            "old_password": PASSWORD,
            "new_password1": "Bright#River1",
            "new_password2": "Bright#River2",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == ["输入的两个密码不一致。"]


def test_wrong_old_password_is_refused(world: World, client_for) -> None:
    response = _change(client_for(world.users["sec_a"]), "Bright#River1", old="Wrong#Old1")
    assert response.status_code == 200
    assert "你的旧密码不正确。请重新输入。" in response.context["form"].errors["old_password"]


def test_change_ends_the_session_and_grows_the_history(world: World, client_for) -> None:
    user = world.users["sec_a"]
    client = client_for(user)
    session_key = client.session.session_key
    history = PasswordHistory.objects.filter(user=user).count()

    response = _change(client, "Bright#River1")

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert not Session.objects.filter(session_key=session_key).exists()
    after = client.get(reverse("home"))
    assert after.status_code == 302
    assert after.url.startswith(LOGIN_URL)
    assert PasswordHistory.objects.filter(user=user).count() == history + 1
    user.refresh_from_db()
    assert user.check_password("Bright#River1")
    assert user.password_changed_at > timezone.now() - datetime.timedelta(minutes=1)
    row = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGE)
    assert row.actor == user
    assert "Bright#River1" not in _all_audit_text()
    # The new password logs in.
    assert _login(Client(), "sec_a", "Bright#River1").status_code == 302


def test_the_last_five_are_refused_and_the_sixth_is_accepted(world: World, client_for) -> None:
    user = world.users["sec_a"]
    passwords = [PASSWORD] + [f"Bright#River{i}" for i in range(1, 6)]
    for old, new in itertools.pairwise(passwords):
        user.refresh_from_db()
        assert _change(client_for(user), new, old=old).status_code == 302, new
    assert PasswordHistory.objects.filter(user=user).count() == 5

    current = passwords[-1]
    for reused in passwords[1:]:
        user.refresh_from_db()
        response = _change(client_for(user), reused, old=current)
        assert response.status_code == 200, reused
        assert MSG_REUSED in response.context["form"].errors["new_password2"]

    # The initial password is now the sixth-newest: allowed again.
    user.refresh_from_db()
    assert _change(client_for(user), PASSWORD, old=current).status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- Forced changes ------------------------------------------------------------------------


def _pages(world: World) -> list[str]:
    return [
        reverse("home"),
        reverse("registry"),
        reverse("unit_tree"),
        reverse("unit_detail", args=[world.units["a"].pk]),
        reverse("account_detail", args=[world.accounts["a"].pk]),
        reverse("person_detail", args=[world.admins["a"].pk]),
    ]


def test_first_login_leads_every_page_to_the_change_form(world: World) -> None:
    user = make_login("fresh", must_change_password=True)
    client = Client()
    response = _login(client, "fresh")
    assert response.status_code == 302
    assert _logged_in(client)

    for url in _pages(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == CHANGE_URL, url
    reveal = client.post(
        reverse("person_reveal", args=[world.admins["a"].pk]),
        {"field": "mobile", "reason": "报送备案材料"},
    )
    assert (reveal.status_code, reveal.url) == (302, CHANGE_URL)
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()
    assert client.get(CHANGE_URL).status_code == 200

    assert _change(client, "Bright#River1").status_code == 302
    user.refresh_from_db()
    assert user.must_change_password is False
    client = Client()
    assert _login(client, "fresh", "Bright#River1").status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_user_who_must_change_password_can_still_log_out(world: World, client_for) -> None:
    user = make_login("fresh", must_change_password=True)
    client = client_for(user)
    key = client.session.session_key
    response = client.post(LOGOUT_URL)
    assert (response.status_code, response.url) == (302, LOGIN_URL)
    assert not Session.objects.filter(session_key=key).exists()


def test_expired_password_forces_the_change(world: World, client_for) -> None:
    user = world.users["sec_a"]
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=91)
    )
    client = client_for(user)
    for url in _pages(world):
        response = client.get(url)
        assert (response.status_code, response.url) == (302, CHANGE_URL), url
    assert client.get(CHANGE_URL).status_code == 200


def test_password_of_89_days_is_still_good(world: World, client_for) -> None:
    user = world.users["sec_a"]
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=89)
    )
    assert client_for(user).get(reverse("home")).status_code == 200


# --- Lockout ------------------------------------------------------------------------------


def _fail(client: Client, username: str, i: int):
    return _login(
        client,
        username,
        f"Wrong#Pass{i}",
        REMOTE_ADDR=f"198.51.100.{i + 1}",
        HTTP_X_FORWARDED_FOR=f"10.0.{i}.1",
        HTTP_USER_AGENT=f"agent-{i}",
    )


def _lock(username: str) -> Client:
    client = Client()
    for i in range(4):
        response = _fail(client, username, i)
        assert response.status_code == 200, i  # the form again, with the error
        assert not _logged_in(client)
    assert _fail(client, username, 4).status_code == 429  # the fifth failure locks
    return client


def _age_attempts(username: str, minutes: int) -> None:
    AccessAttempt.objects.filter(username=username).update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def test_five_failures_lock_the_username_whatever_the_address(world: World) -> None:
    _lock("sec_a")

    # The right password, from yet another address and forged header: still locked.
    client = Client()
    response = _login(client, "sec_a", REMOTE_ADDR="192.0.2.99", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 429
    assert not _logged_in(client)
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()
    lockouts = AuditEvent.objects.filter(action=AuditAction.LOCKOUT)
    assert lockouts.exists()
    assert lockouts.first().actor_name == "sec_a"


def test_lockout_also_closes_the_token_endpoint(world: World) -> None:
    _lock("sec_a")
    response = Client().post("/api/v1/auth/token/", {"username": "sec_a", "password": PASSWORD})
    assert response.status_code in (400, 403, 429)
    assert "token" not in response.json()


def test_lockout_is_per_username(world: World) -> None:
    _lock("sec_a")
    client = Client()
    # Same addresses, another user: not affected.
    response = _login(client, "head_a", REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 302
    assert _logged_in(client)


def test_lock_holds_for_30_minutes_and_then_lifts(world: World) -> None:
    _lock("sec_a")

    _age_attempts("sec_a", 29)
    client = Client()
    assert _login(client, "sec_a", REMOTE_ADDR="192.0.2.1").status_code == 429
    assert not _logged_in(client)

    _age_attempts("sec_a", 31)
    client = Client()
    response = _login(client, "sec_a", REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert _logged_in(client)


def test_a_success_resets_the_count(world: World) -> None:
    client = Client()
    for i in range(4):
        _fail(client, "sec_a", i)
    assert _login(Client(), "sec_a").status_code == 302
    for i in range(4):
        assert _fail(client, "sec_a", i).status_code == 200
    assert _login(Client(), "sec_a").status_code == 302


# --- Session lifetime ---------------------------------------------------------------------


def _stamp(client: Client, **stamps: float) -> str:
    session = client.session
    for key, value in stamps.items():
        session[key] = value
    session.save()
    return session.session_key


@pytest.mark.parametrize(
    ("stamps", "reason"),
    [
        ({SESSION_SEEN_AT: -31 * 60}, "idle"),
        ({SESSION_LOGIN_AT: -(12 * 3600 + 60), SESSION_SEEN_AT: -60}, "absolute"),
    ],
)
def test_expired_session_ends_on_the_server(
    world: World, client_for, stamps: dict, reason: str
) -> None:
    user = world.users["sec_a"]
    client = client_for(user)
    key = _stamp(client, **{name: time.time() + offset for name, offset in stamps.items()})

    response = client.get(reverse("registry"), REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 302
    assert response.url == f"{LOGIN_URL}?next={reverse('registry')}"
    assert not Session.objects.filter(session_key=key).exists()
    row = AuditEvent.objects.get(action=AuditAction.SESSION_EXPIRED)
    assert (row.actor, row.ip, row.detail) == (user, "203.0.113.5", {"reason": reason})
    # The old cookie opens nothing any more.
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get(reverse("home")).status_code == 302


def test_expired_session_on_the_api_is_401(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    _stamp(client, **{SESSION_SEEN_AT: time.time() - 31 * 60})
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert "results" not in response.json()


def test_session_within_limits_stays(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    now = time.time()
    _stamp(client, **{SESSION_SEEN_AT: now - 29 * 60, SESSION_LOGIN_AT: now - 11 * 3600})
    assert client.get(reverse("home")).status_code == 200
    # The visit renews the idle stamp.
    assert client.session[SESSION_SEEN_AT] > now - 60
    assert not AuditEvent.objects.filter(action=AuditAction.SESSION_EXPIRED).exists()


# --- Logout -------------------------------------------------------------------------------


def test_logout_is_post_only(world: World, client_for) -> None:
    client = client_for(world.users["sec_a"])
    assert client.get(LOGOUT_URL).status_code == 405
    assert _logged_in(client)
    assert client.get(reverse("home")).status_code == 200


def test_logout_ends_the_server_session(world: World, client_for) -> None:
    user = world.users["sec_a"]
    client = client_for(user)
    key = client.session.session_key

    response = client.post(LOGOUT_URL, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert not Session.objects.filter(session_key=key).exists()
    row = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert (row.actor, row.ip) == (user, "203.0.113.9")
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get(reverse("home")).status_code == 302


def test_trusted_proxy_gives_the_audit_address_but_not_a_way_around_the_lock(
    world: World, settings
) -> None:
    """Behind one trusted proxy the client is the last X-Forwarded-For entry; entries further
    left are the client's own invention. The lock stays on the username either way."""
    settings.CAMPUSMEDIA_TRUSTED_PROXY_COUNT = 1
    client = Client()
    for i in range(5):
        _login(
            client,
            "sec_a",
            f"Wrong#Pass{i}",
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.{i + 1}",
        )
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("id")
    assert [row.ip for row in failed] == [f"198.51.100.{i + 1}" for i in range(5)]
    response = _login(
        Client(), "sec_a", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77"
    )
    assert response.status_code == 429


# --- The audit trail of logins --------------------------------------------------------------


def test_login_events_are_audited_with_ip_and_never_the_password(world: World) -> None:
    client = Client()
    _login(
        client,
        "sec_a",
        "Secret#Guess1",
        REMOTE_ADDR="203.0.113.20",
        HTTP_X_FORWARDED_FOR="192.0.2.250",  # forged: no proxy is trusted by default
    )
    assert _login(client, "sec_a", REMOTE_ADDR="203.0.113.21").status_code == 302
    session_key = client.session.session_key
    client.post(LOGOUT_URL, REMOTE_ADDR="203.0.113.22")
    _lock("head_a")

    user = world.users["sec_a"]
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, actor_name="sec_a").get()
    assert (failed.ip, failed.outcome, failed.actor) == ("203.0.113.20", AuditOutcome.FAILURE, None)
    login = AuditEvent.objects.filter(action=AuditAction.LOGIN, actor=user).get()
    assert login.ip == "203.0.113.21"
    logout = AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=user).get()
    assert logout.ip == "203.0.113.22"
    lockout = AuditEvent.objects.filter(action=AuditAction.LOCKOUT, actor_name="head_a").first()
    assert lockout.ip == "198.51.100.5"
    assert lockout.outcome == AuditOutcome.DENIED

    text = _all_audit_text()
    for secret in ("Secret#Guess1", PASSWORD, *(f"Wrong#Pass{i}" for i in range(5))):
        assert secret not in text
    assert session_key not in text
    # Nor does django-axes keep the passwords it saw.
    axes_text = json.dumps(list(AccessAttempt.objects.values()), default=str)
    assert "Wrong#Pass" not in axes_text
