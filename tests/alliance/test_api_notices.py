"""Policy notices through the API (alliance/api/notices.py, ``NoticeViewSet``): the access matrix,
posting, confirming, reminding, what each persona is shown, and the list's query count.

The ``notice`` fixture goes to every secretary and account administrator with a login: sec_a,
sec_b and admin_a. The department and the auditor see it without being recipients; head_a and
league do not see it.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from alliance import services
from alliance.models import Notice, NoticeReceipt
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.alliance.conftest import Alliance

pytestmark = pytest.mark.django_db
NOTICES_URL = "/api/v1/alliance/notices/"
ANONYMOUS = "anonymous"
PERSONAS = ("propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS)
RECIPIENTS = {"sec_a", "sec_b", "admin_a"}
SEES = RECIPIENTS | {"propaganda", "auditor"}
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def api_client(alliance: Alliance, persona: str) -> Client:
    """A client authenticated by token (no session), or anonymous."""
    client = Client()
    user = alliance.users.get(persona)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def post_json(client: Client, url: str, body: dict[str, Any] | None = None):
    return client.post(url, body or {}, content_type="application/json")


def notice_url(pk: int, step: str = "") -> str:
    return f"{NOTICES_URL}{pk}/{step + '/' if step else ''}"


def receipt(notice: Notice, alliance: Alliance, persona: str) -> NoticeReceipt:
    return NoticeReceipt.objects.get(notice=notice, user=alliance.users[persona])


def expected(persona: str, allowed: set[str], *, sees: set[str] = SEES, ok: int = 200) -> int:
    """The answer of the matrix: 401 anonymous, 404 out of sight, 403 without the right."""
    if persona == ANONYMOUS:
        return 401
    if persona not in sees:
        return 404
    return ok if persona in allowed else 403


# --- Access matrix (SECURITY.md, Authorization) ---------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_and_detail(alliance: Alliance, notice: Notice, persona: str) -> None:
    client = api_client(alliance, persona)
    listed = client.get(NOTICES_URL)
    detail = client.get(notice_url(notice.pk))
    status = expected(persona, SEES)
    assert detail.status_code == status
    if persona == ANONYMOUS:
        assert listed.status_code == 401
        return
    assert listed.status_code == 200
    ids = {row["id"] for row in listed.json()["results"]}
    assert (notice.pk in ids) == (persona in SEES)
    if status == 200:
        assert detail.json()["body"] == "各单位：请严格执行三审三校制度。"
        assert detail.json()["is_recipient"] == (persona in RECIPIENTS)
    else:
        assert "body" not in detail.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_read_matrix(alliance: Alliance, notice: Notice, persona: str) -> None:
    """Only recipients confirm; the department and the auditor see the notice but get 403."""
    response = post_json(api_client(alliance, persona), notice_url(notice.pk, "read"))
    assert response.status_code == expected(persona, RECIPIENTS), response.content
    read = set(
        NoticeReceipt.objects.filter(notice=notice, read_at__isnull=False).values_list(
            "user__username", flat=True
        )
    )
    assert read == ({persona} if persona in RECIPIENTS else set())


@pytest.mark.parametrize("persona", PERSONAS)
def test_remind_matrix(alliance: Alliance, notice: Notice, persona: str) -> None:
    response = post_json(api_client(alliance, persona), notice_url(notice.pk, "remind"))
    assert response.status_code == expected(persona, {"propaganda"}), response.content
    notice.refresh_from_db()
    assert (notice.reminded_at is not None) == (persona == "propaganda")
    reminders = set(NoticeReceipt.objects.filter(notice=notice).values_list("reminders", flat=True))
    assert reminders == ({1} if persona == "propaganda" else {0})


@pytest.mark.parametrize("persona", PERSONAS)
def test_create_matrix(alliance: Alliance, persona: str) -> None:
    body = {"title": "关于开展网络安全自查的通知", "body": "请于本月底前完成自查。"}
    response = post_json(api_client(alliance, persona), NOTICES_URL, body)
    status = 401 if persona == ANONYMOUS else 201 if persona == "propaganda" else 403
    assert response.status_code == status, response.content
    assert Notice.objects.exists() == (status == 201)


def test_the_auditors_read_is_refused_and_audited(alliance: Alliance, notice: Notice) -> None:
    response = post_json(api_client(alliance, "auditor"), notice_url(notice.pk, "read"))
    assert response.status_code == 403
    assert response.json()["detail"] == services.ERR_NOT_RECIPIENT
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert (row.actor, row.outcome) == (alliance.users["auditor"], AuditOutcome.DENIED)
    assert row.detail["path"] == notice_url(notice.pk, "read")


def test_a_recipients_remind_is_refused_and_audited(alliance: Alliance, notice: Notice) -> None:
    response = post_json(api_client(alliance, "sec_a"), notice_url(notice.pk, "remind"))
    assert response.status_code == 403
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert row.actor == alliance.users["sec_a"]
    assert row.detail["path"] == notice_url(notice.pk, "remind")


def test_steps_are_post_only(alliance: Alliance, notice: Notice) -> None:
    client = api_client(alliance, "sec_a")
    assert client.get(notice_url(notice.pk, "read")).status_code == 405
    assert client.delete(notice_url(notice.pk)).status_code == 405
    assert receipt(notice, alliance, "sec_a").read_at is None


# --- What each persona is shown -------------------------------------------------------------


def test_figures_and_receipts_for_the_department_and_the_auditor(
    alliance: Alliance, notice: Notice
) -> None:
    services.notice_read(notice=notice, actor=alliance.users["sec_a"])
    for persona in ("propaganda", "auditor"):
        client = api_client(alliance, persona)
        row = client.get(NOTICES_URL).json()["results"][0]
        assert (row["recipient_count"], row["read_count"]) == (3, 1)
        assert (row["is_recipient"], row["read_at"]) == (False, None)
        detail = client.get(notice_url(notice.pk)).json()
        receipts = {r["name"]: r for r in detail["receipts"]}
        assert set(receipts) == {"赵秘书", "孙秘书", "计算机学院管理员"}
        assert receipts["赵秘书"]["unit"] == "计算机学院"
        assert receipts["赵秘书"]["read_at"] is not None
        assert receipts["孙秘书"]["read_at"] is None
        assert detail["receipts"][0]["read_at"] is None  # unread first


def test_a_recipient_sees_their_own_reading_only(alliance: Alliance, notice: Notice) -> None:
    client = api_client(alliance, "sec_b")
    row = client.get(NOTICES_URL).json()["results"][0]
    assert (row["is_recipient"], row["read_at"]) == (True, None)
    assert (row["recipient_count"], row["read_count"], row["reminded_at"]) == (None, None, None)

    response = post_json(client, notice_url(notice.pk, "read"))
    assert response.status_code == 200
    body = response.json()
    assert body["read_at"] is not None
    assert body["receipts"] is None
    assert client.get(NOTICES_URL).json()["results"][0]["read_at"] == body["read_at"]
    # Someone else's reading does not show as theirs.
    other = api_client(alliance, "sec_a").get(notice_url(notice.pk)).json()
    assert other["read_at"] is None


def test_no_contact_data_in_the_receipts(alliance: Alliance, notice: Notice) -> None:
    admin = alliance.world.admins["a"]
    text = api_client(alliance, "propaganda").get(notice_url(notice.pk)).content.decode()
    assert "计算机学院管理员" in text
    assert admin.mobile not in text
    assert admin.email not in text


def test_attachment_names_and_page_links(alliance: Alliance) -> None:
    upload = SimpleUploadedFile("自查表.pdf", PDF_BYTES, content_type="application/pdf")
    notice = services.notice_post(
        actor=alliance.world.users["propaganda"],
        title="关于网络安全自查的通知",
        body="附件为自查表。",
        uploads=[upload],
    )
    body = api_client(alliance, "sec_a").get(notice_url(notice.pk)).json()
    attachment = notice.attachments.get()
    assert body["attachments"] == [
        {
            "id": attachment.pk,
            "name": "自查表.pdf",
            "size": len(PDF_BYTES),
            "url": f"/alliance/notices/attachments/{attachment.pk}/",
        }
    ]
    assert attachment.file.name not in str(body)  # the stored name stays private


# --- Posting, confirming, reminding ---------------------------------------------------------


def test_post(alliance: Alliance) -> None:
    body = {"title": " 关于开展网络安全自查的通知 ", "body": "请于本月底前完成自查。"}
    response = post_json(api_client(alliance, "propaganda"), NOTICES_URL, body)
    assert response.status_code == 201, response.content
    notice = Notice.objects.get(pk=response.json()["id"])
    assert (notice.title, notice.posted_by) == (
        "关于开展网络安全自查的通知",
        alliance.users["propaganda"],
    )
    readers = set(notice.receipts.values_list("user__username", flat=True))
    assert readers == RECIPIENTS
    assert response.json()["recipient_count"] == 3
    assert response.json()["attachments"] == []
    assert AuditEvent.objects.filter(action=AuditAction.NOTICE, detail__step="post").exists()


@pytest.mark.parametrize(
    ("body", "key", "text"),
    [
        ({"body": "正文"}, "title", "标题：请填写。"),
        ({"title": "", "body": "正文"}, "title", "标题：请填写。"),
        ({"title": "通" * 101, "body": "正文"}, "title", "标题：不能超过 100 个字符。"),
        ({"title": "标题"}, "body", "正文：请填写。"),
    ],
)
def test_bad_notice_is_400_and_saves_nothing(
    alliance: Alliance, body: dict[str, Any], key: str, text: str
) -> None:
    response = post_json(api_client(alliance, "propaganda"), NOTICES_URL, body)
    assert response.status_code == 400
    assert response.json()[key] == [text]
    assert not Notice.objects.exists()
    assert not NoticeReceipt.objects.exists()


def test_a_second_confirmation_keeps_the_first_time(alliance: Alliance, notice: Notice) -> None:
    client = api_client(alliance, "admin_a")
    first = post_json(client, notice_url(notice.pk, "read")).json()["read_at"]
    second = post_json(client, notice_url(notice.pk, "read"))
    assert second.status_code == 200
    assert second.json()["read_at"] == first
    assert receipt(notice, alliance, "admin_a").read_at is not None


def test_remind_counts_the_unread_then_waits(alliance: Alliance, notice: Notice, settings) -> None:
    services.notice_read(notice=notice, actor=alliance.users["sec_a"])
    client = api_client(alliance, "propaganda")
    response = post_json(client, notice_url(notice.pk, "remind"))
    assert response.status_code == 200
    assert response.json() == {"reminded": 2}
    assert receipt(notice, alliance, "sec_a").reminders == 0
    assert receipt(notice, alliance, "sec_b").reminders == 1

    again = post_json(client, notice_url(notice.pk, "remind"))
    assert again.status_code == 409
    hours = settings.CAMPUSMEDIA_NOTICE_REMIND_HOURS
    assert again.json()["detail"] == services.ERR_REMINDED % {"hours": hours}
    assert receipt(notice, alliance, "sec_b").reminders == 1

    Notice.objects.filter(pk=notice.pk).update(
        reminded_at=timezone.now() - datetime.timedelta(hours=hours, minutes=1)
    )
    assert post_json(client, notice_url(notice.pk, "remind")).status_code == 200
    assert receipt(notice, alliance, "sec_b").reminders == 2


def test_remind_when_everyone_has_read_is_400(alliance: Alliance, notice: Notice) -> None:
    for persona in RECIPIENTS:
        services.notice_read(notice=notice, actor=alliance.users[persona])
    response = post_json(api_client(alliance, "propaganda"), notice_url(notice.pk, "remind"))
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [services.ERR_NOTHING_UNREAD]
    notice.refresh_from_db()
    assert notice.reminded_at is None


# --- Query counts ---------------------------------------------------------------------------

# Token and user, current roles, the page count, the page's rows with the figures and the
# caller's reading time: a notice's access needs no unit permissions.
LIST_QUERIES = {"propaganda": 4, "auditor": 4, "sec_a": 4, "admin_a": 4}


def post_notices(alliance: Alliance, first: int, last: int) -> None:
    for i in range(first, last):
        notice = services.notice_post(
            actor=alliance.world.users["propaganda"], title=f"计数通知{i}", body="正文"
        )
        if i % 2:
            services.notice_read(notice=notice, actor=alliance.users["sec_a"])


@pytest.mark.parametrize("persona", sorted(LIST_QUERIES))
def test_list_query_count_does_not_grow_with_rows(
    alliance: Alliance, django_assert_num_queries, persona: str
) -> None:
    client = api_client(alliance, persona)
    post_notices(alliance, 0, 2)
    client.get(NOTICES_URL)  # warm: content types
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(NOTICES_URL)
    assert len(response.json()["results"]) == 2
    post_notices(alliance, 2, 9)
    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get(NOTICES_URL)
    assert len(response.json()["results"]) == 9
