"""The auditor's page /audit/ and its CSV download (SECURITY.md, Audit; STYLE.md rule 8).

The auditor and superusers read the log; everyone else signed in gets 403, anonymous visitors
the login page. Reading changes nothing; the download is audited with its filter and row count.
"""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campusmedia.audit import chain
from campusmedia.audit import views as audit_views
from campusmedia.auditlog import audit_record
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.conftest import World, make_login

INDEX = reverse("audit:index")
EXPORT = reverse("audit:export")
TABLE = AuditEvent._meta.db_table


@pytest.fixture
def root(world: World):
    return make_login("root", is_superuser=True, is_staff=True)


def _as(client_for, world: World, who: str) -> Client:
    return client_for(world.users[who])


def _event(**fields: Any) -> AuditEvent:
    """A row with the given content; ``at`` may be set (an insert, as a restore would)."""
    event = AuditEvent(**{"action": AuditAction.LOGIN, "actor_name": "someone", **fields})
    event.save()
    return event


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel opens UTF-8 only with the byte order mark
    return list(csv.reader(io.StringIO(body[1:])))


# --- Who may read ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [INDEX, EXPORT])
def test_the_auditor_and_superusers_read_the_log(world, root, client_for, url):
    for user in (world.users["auditor"], root):
        response = client_for(user).get(url)
        assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["propaganda", "sec_a", "head_a", "sec_b", "league"])
@pytest.mark.parametrize("url", [INDEX, EXPORT])
def test_everyone_else_signed_in_gets_403(world, client_for, who, url):
    response = _as(client_for, world, who).get(url)
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    denied = AuditEvent.objects.get(action=AuditAction.PERMISSION_DENIED)
    assert denied.actor == world.users[who]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [INDEX, EXPORT])
def test_anonymous_visitors_are_sent_to_the_login_page(world, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", [INDEX, EXPORT])
def test_only_get(world, client_for, url):
    client = _as(client_for, world, "auditor")
    count = AuditEvent.objects.count()
    response = client.post(url)
    assert response.status_code == 405
    assert AuditEvent.objects.count() == count


@pytest.mark.django_db
def test_the_page_is_not_cached(world, client_for):
    response = _as(client_for, world, "auditor").get(INDEX)
    assert "no-store" in response["Cache-Control"]


# --- The list ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_fifty_rows_a_page_newest_first(world, client_for):
    start = timezone.now() - datetime.timedelta(days=1)
    made = [
        _event(at=start + datetime.timedelta(minutes=i), actor_name=f"row{i:03d}")
        for i in range(120)
    ]
    client = _as(client_for, world, "auditor")
    total = AuditEvent.objects.count()
    first = client.get(INDEX, {"actor": "row"}).context
    assert first["page"].paginator.count == 120
    assert [r.event.actor_name for r in first["rows"]] == [
        f"row{i:03d}" for i in range(119, 69, -1)
    ]
    last = client.get(INDEX, {"actor": "row", "page": "3"}).context
    assert [r.event.pk for r in last["rows"]] == [e.pk for e in reversed(made[:20])]
    assert client.get(INDEX).context["page"].paginator.count == total


@pytest.mark.django_db
def test_each_filter_narrows_the_list(world, client_for):
    user = world.users["sec_a"]
    day = timezone.localdate() - datetime.timedelta(days=10)
    noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    rows = {
        "reveal": _event(action=AuditAction.REVEAL, actor_name="zhangsan", ip="10.2.3.4"),
        "denied": _event(outcome=AuditOutcome.DENIED, actor_name="lisi", ip="10.9.0.1"),
        "object": _event(object_type="user", object_id=str(user.pk), object_repr="sec_a"),
        "v6": _event(ip="2001:db8::1"),
        "old": _event(at=noon, actor_name="old"),
        "older": _event(at=noon - datetime.timedelta(days=2), actor_name="older"),
    }
    client = _as(client_for, world, "auditor")

    def found(**params: str) -> set[int]:
        return {r.event.pk for r in client.get(INDEX, params).context["rows"]}

    assert found(action="reveal") == {rows["reveal"].pk}
    assert found(outcome="denied") >= {rows["denied"].pk}
    assert rows["reveal"].pk not in found(outcome="denied")
    assert found(actor="ZHANG") == {rows["reveal"].pk}  # contains, any case
    assert found(object_type="user", object_id=str(user.pk)) == {rows["object"].pk}
    assert found(ip="10.2.3.4") == {rows["reveal"].pk}
    assert found(ip="10.") == {rows["reveal"].pk, rows["denied"].pk}  # the start of an address
    assert found(ip="2001:db8::1") == {rows["v6"].pk}
    assert found(start=day.isoformat(), end=day.isoformat()) == {rows["old"].pk}
    assert found(end=day.isoformat()) == {rows["old"].pk, rows["older"].pk}
    assert found(action="reveal", actor="lisi") == set()


@pytest.mark.django_db
def test_a_bad_filter_value_is_named_and_left_out(world, client_for):
    _event(actor_name="kept")
    response = _as(client_for, world, "auditor").get(
        INDEX, {"ip": "1.2.3.4'; --", "start": "2026-03-01", "end": "2026-02-01", "actor": "kept"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "来源IP：请填写 IP 地址或其开头部分" in content
    assert "截止日期：不能早于起始日期。" in content
    assert [r.event.actor_name for r in response.context["rows"]] == ["kept"]


@pytest.mark.django_db
def test_rows_show_who_what_when_where_and_a_readable_detail(world, client_for):
    request = RequestFactory().get("/", REMOTE_ADDR="10.2.3.4")
    request.user = world.users["propaganda"]
    audit_record(
        action=AuditAction.REVEAL,
        request=request,
        obj=world.people["head_a"],
        detail={"field": "id_number", "reason": "报送市网信办", "fields": ["mobile", "email"]},
    )
    response = _as(client_for, world, "auditor").get(INDEX, {"action": "reveal"})
    content = response.content.decode()
    for text in (
        "propaganda",
        "查看完整个人信息",
        "10.2.3.4",
        "钱书记",
        "<dt>原因</dt><dd>报送市网信办</dd>",
        "<dt>字段</dt><dd>mobile、email</dd>",
        "待封存",  # written in the test's transaction, not sealed yet
    ):
        assert text in content
    assert "{&quot;" not in content  # no raw JSON


# One page, all of it: session, user, the user's roles; the chain's state (newest rows, the
# unsealed queue, the last verification, the oldest time); count and one page of rows.
LIST_QUERIES = 9


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [5, 80])
def test_the_list_runs_a_fixed_number_of_queries(world, client_for, extra):
    for i in range(extra):
        audit_record(action=AuditAction.EXPORT, actor_name=f"u{i}", detail={"rows": i})
    chain.seal_pending()
    client = _as(client_for, world, "auditor")
    client.get(INDEX)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(INDEX, {"page": 2})
    assert response.status_code == 200
    assert len(captured.captured_queries) == LIST_QUERIES


# --- The chain's state at the top ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_an_intact_chain_and_the_last_verification(world, client_for):
    chain.seal_pending()
    client = _as(client_for, world, "auditor")
    content = client.get(INDEX).content.decode()
    assert "链完整" in content
    assert "尚未做过全量校验" in content
    call_command("verify_audit", stdout=io.StringIO())
    chain.seal_pending()  # the run's own row, which a real commit would seal
    total = AuditEvent.objects.count()
    content = client.get(INDEX).content.decode()
    assert "链完整" in content
    assert f"共 {total} 条" in content
    assert f"{total - 1} 条完整" in content
    assert "链已损坏" not in content


@pytest.mark.django_db
def test_the_page_shows_a_broken_chain(world, client_for):
    chain.seal_pending()
    newest = AuditEvent.objects.sealed().order_by("-seq")[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(f"UPDATE {TABLE} SET actor_name = 'x' WHERE id = %s", [newest.pk])
    content = _as(client_for, world, "auditor").get(INDEX).content.decode()
    assert "链已损坏" in content
    assert f"第 {newest.seq} 条" in content
    assert f"ID {newest.pk}" in content


# --- The CSV download --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_download_holds_the_filtered_rows_escaped_and_is_audited(world, client_for):
    _event(action=AuditAction.LOGIN_FAILED, actor_name='=HYPERLINK("http://evil","x")')
    _event(action=AuditAction.LOGIN_FAILED, actor_name="+cmd|' /C calc'!A0", ip="10.2.3.4")
    _event(action=AuditAction.LOGIN, actor_name="not in the filter")
    response = _as(client_for, world, "auditor").get(EXPORT, {"action": "login_failed"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    header, *rows = _csv(response)
    assert header[:5] == ["时间", "链序号", "操作人", "事件", "结果"]
    assert [row[2] for row in rows] == ["'+cmd|' /C calc'!A0", '\'=HYPERLINK("http://evil","x")']
    assert {row[3] for row in rows} == {"登录失败"}
    assert rows[0][5] == "10.2.3.4"
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == world.users["auditor"]
    assert event.detail == {"what": "audit", "filter": {"action": "login_failed"}, "rows": 2}


@pytest.mark.django_db
def test_the_download_leaves_out_its_own_audit_row(world, client_for):
    client = _as(client_for, world, "auditor")
    count = AuditEvent.objects.count()
    response = client.get(EXPORT)
    _header, *rows = _csv(response)
    assert len(rows) == count
    assert AuditEvent.objects.get(action=AuditAction.EXPORT).detail["rows"] == count


@pytest.mark.django_db
def test_a_download_too_large_is_refused_with_a_hint(world, client_for, monkeypatch):
    monkeypatch.setattr(audit_views, "EXPORT_MAX_ROWS", 2)
    for name in ("alpha", "beta", "gamma"):
        _event(actor_name=name)
    response = _as(client_for, world, "auditor").get(EXPORT, {"actor": "a"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{INDEX}?actor=a"
    assert "请缩小日期范围后再导出" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
