"""Notice pages: who sees which notice (personas × endpoints × a notice sent to them or not),
posting with attachments, the read confirmation in place (htmx) and without, reminders from the
page, the download, and query counts that do not grow with the rows.

Recipients in the fixtures: ``sec_a``, ``sec_b``, ``admin_a``. ``early`` was posted while
``sec_a`` and ``admin_a`` were away (inactive logins), so it was not sent to them.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from alliance import services
from alliance.models import Notice, NoticeAttachment, NoticeReceipt
from campusmedia import services as registry
from campusmedia.choices import Role
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import Alliance
from tests.alliance.test_notice_services import PDF, PNG, fake_pdf, stored_files
from tests.conftest import make_login

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
LOGIN = "login"
PERSONAS = ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS]


def _client(client_for, alliance: Alliance, persona: str):
    return client_for(None if persona == ANONYMOUS else alliance.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:300]


def _post(alliance: Alliance, title: str, uploads=()) -> Notice:
    return services.notice_post(
        actor=alliance.users["propaganda"],
        title=title,
        body="正文第一段。\n\n第二段。",
        uploads=uploads,
    )


@pytest.fixture
def sent(alliance: Alliance) -> Notice:
    """A notice to everyone, with an attachment."""
    return _post(
        alliance,
        "关于加强新媒体内容审核的通知",
        [SimpleUploadedFile("审核细则.pdf", PDF, content_type="application/pdf")],
    )


@pytest.fixture
def early(alliance: Alliance) -> Notice:
    """A notice posted while sec_a and admin_a were away: sec_b is its only recipient."""
    away = [alliance.users["sec_a"], alliance.admin_a]
    for user in away:
        user.is_active = False
        user.save(update_fields=["is_active"])
    notice = _post(
        alliance,
        "关于寒假值班的通知",
        [SimpleUploadedFile("值班表.png", PNG, content_type="image/png")],
    )
    for user in away:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return notice


# Who sees a notice: its recipients, the department and the auditor.
SEES = {
    "sent": {"propaganda", "auditor", "sec_a", "admin_a", "sec_b"},
    "early": {"propaganda", "auditor", "sec_b"},
}


def _expected_read(persona: str, which: str):
    if persona == ANONYMOUS:
        return LOGIN
    return 200 if persona in SEES[which] else 404


# --- The list -----------------------------------------------------------------------------------


def test_a_reader_sees_their_notices_with_unread_and_read_badges(alliance, sent, early, client_for):
    client = client_for(alliance.users["sec_a"])
    response = client.get("/alliance/notices/")
    assert response.status_code == 200
    assert [n.pk for n in response.context["rows"]] == [sent.pk]
    body = response.content.decode()
    assert sent.title in body and early.title not in body
    assert "未读" in body and "已读 0 / 3" not in body

    services.notice_read(notice=sent, actor=alliance.users["sec_a"])
    body = client.get("/alliance/notices/").content.decode()
    assert 'class="badge notice-read"' in body
    assert 'class="badge notice-unread"' not in body


@pytest.mark.parametrize("persona", ["propaganda", "auditor"])
def test_the_department_and_auditor_see_every_notice_with_its_read_rate(
    alliance, sent, early, client_for, persona
):
    services.notice_read(notice=sent, actor=alliance.users["sec_b"])
    response = client_for(alliance.users[persona]).get("/alliance/notices/")
    body = response.content.decode()
    assert [n.pk for n in response.context["rows"]] == [early.pk, sent.pk]
    assert "已读 1 / 3" in body
    assert "已读 0 / 1" in body
    assert ("发布通知" in body) is (persona == "propaganda")


def test_someone_no_notice_went_to_sees_an_empty_list(alliance, sent, client_for):
    response = client_for(alliance.users["head_a"]).get("/alliance/notices/")
    assert response.status_code == 200
    assert list(response.context["rows"]) == []
    assert sent.title not in response.content.decode()


def test_the_list_wants_a_login_and_a_get(alliance, client_for):
    _expect(client_for(None).get("/alliance/notices/"), LOGIN)
    assert client_for(alliance.users["propaganda"]).post("/alliance/notices/").status_code == 405


# --- Posting ------------------------------------------------------------------------------------


def test_the_department_posts_with_several_attachments(
    alliance, client_for, settings, django_capture_on_commit_callbacks
):
    client = client_for(alliance.users["propaganda"])
    assert client.get("/alliance/notices/new/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/alliance/notices/new/",
            {
                "title": "关于规范转载的通知",
                "body": "各单位：\n转载须注明来源。",
                "attachments": [
                    SimpleUploadedFile("细则.pdf", PDF, content_type="application/pdf"),
                    SimpleUploadedFile("示例.png", PNG, content_type="image/png"),
                ],
            },
        )
    notice = Notice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == notice.get_absolute_url()
    assert notice.title == "关于规范转载的通知"
    assert notice.posted_by == alliance.users["propaganda"]
    assert list(notice.attachments.values_list("original_name", "content_type")) == [
        ("细则.pdf", "application/pdf"),
        ("示例.png", "image/png"),
    ]
    assert notice.receipts.count() == 3
    assert len(stored_files(settings)) == 2
    page = client.get(response["Location"]).content.decode()
    assert "已发布，已通知 3 位接收人。" in page


def test_the_form_has_a_multiple_file_input(alliance, client_for):
    body = client_for(alliance.users["propaganda"]).get("/alliance/notices/new/").content.decode()
    assert 'type="file" name="attachments"' in body
    assert "multiple" in body
    assert 'enctype="multipart/form-data"' in body


def test_a_bad_attachment_shows_on_the_field_and_saves_nothing(alliance, client_for, settings):
    client = client_for(alliance.users["propaganda"])
    response = client.post(
        "/alliance/notices/new/",
        {
            "title": "关于规范转载的通知",
            "body": "正文",
            "attachments": [
                SimpleUploadedFile("细则.pdf", PDF, content_type="application/pdf"),
                fake_pdf(),
            ],
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    [message] = form.errors["attachments"]
    assert message.startswith("附件：只接受 PDF、JPEG 或 PNG 文件")
    assert "假文件.pdf" in message
    body = response.content.decode()
    assert "附件：只接受 PDF、JPEG 或 PNG 文件" in body
    assert "关于规范转载的通知" in body  # what was typed is kept
    assert not Notice.objects.exists()
    assert not NoticeAttachment.objects.exists()
    assert stored_files(settings) == []


def test_a_missing_title_is_named(alliance, client_for):
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/notices/new/", {"title": "", "body": "正文"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["title"][0].startswith("标题：")
    assert not Notice.objects.exists()


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "admin_a", "head_a", "league"])
def test_nobody_but_the_department_posts(alliance, client_for, persona):
    client = _client(client_for, alliance, persona)
    assert client.get("/alliance/notices/new/").status_code == 403
    response = client.post("/alliance/notices/new/", {"title": "标题", "body": "正文"})
    assert response.status_code == 403
    assert not Notice.objects.exists()


def test_posting_wants_a_login_and_get_or_post(alliance, client_for):
    _expect(client_for(None).get("/alliance/notices/new/"), LOGIN)
    _expect(client_for(None).post("/alliance/notices/new/", {"title": "t", "body": "b"}), LOGIN)
    assert not Notice.objects.exists()
    client = client_for(alliance.users["propaganda"])
    assert client.put("/alliance/notices/new/").status_code == 405


# --- The notice page: the access matrix ---------------------------------------------------------


@pytest.mark.parametrize("which", ["sent", "early"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_sees_a_notice(alliance, sent, early, client_for, persona, which):
    notice = {"sent": sent, "early": early}[which]
    response = _client(client_for, alliance, persona).get(notice.get_absolute_url())
    _expect(response, _expected_read(persona, which))
    if response.status_code == 200:
        assert notice.title in response.content.decode()


@pytest.mark.parametrize("which", ["sent", "early"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_downloads_an_attachment(alliance, sent, early, client_for, persona, which):
    notice = {"sent": sent, "early": early}[which]
    attachment = notice.attachments.get()
    response = _client(client_for, alliance, persona).get(
        f"/alliance/notices/attachments/{attachment.pk}/"
    )
    expected = _expected_read(persona, which)
    _expect(response, expected)
    downloads = AuditEvent.objects.filter(action=AuditAction.FILE_DOWNLOADED)
    if expected == 200:
        with attachment.file.open("rb") as handle:
            assert b"".join(response.streaming_content) == handle.read()
        assert downloads.count() == 1
    else:
        assert not downloads.exists()


def test_the_download_is_an_attachment_with_its_name_and_an_audit_row(alliance, sent, client_for):
    attachment = sent.attachments.get()
    response = client_for(alliance.users["sec_a"]).get(
        f"/alliance/notices/attachments/{attachment.pk}/", REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%E5%AE%A1%E6%A0%B8%E7%BB%86%E5%88%99.pdf"
        in (response["Content-Disposition"])
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditAction.FILE_DOWNLOADED)
    assert event.actor == alliance.users["sec_a"]
    assert (event.object_type, event.object_id) == ("notice", str(sent.pk))
    assert event.detail["notice_attachment"] == attachment.pk
    assert event.ip == "10.1.2.3"


def test_a_missing_attachment_is_404_and_post_is_405(alliance, sent, client_for):
    client = client_for(alliance.users["propaganda"])
    assert client.get("/alliance/notices/attachments/999999/").status_code == 404
    attachment = sent.attachments.get()
    assert client.post(f"/alliance/notices/attachments/{attachment.pk}/").status_code == 405
    assert not AuditEvent.objects.filter(action=AuditAction.FILE_DOWNLOADED).exists()


def test_the_page_wants_a_get(alliance, sent, client_for):
    response = client_for(alliance.users["sec_a"]).post(sent.get_absolute_url())
    assert response.status_code == 405
    assert not NoticeReceipt.objects.filter(read_at__isnull=False).exists()


def test_the_page_shows_the_body_and_the_attachment_link(alliance, sent, client_for):
    body = client_for(alliance.users["sec_a"]).get(sent.get_absolute_url()).content.decode()
    assert "<p>正文第一段。</p>" in body  # linebreaks
    attachment = sent.attachments.get()
    assert f'href="/alliance/notices/attachments/{attachment.pk}/"' in body
    assert "审核细则.pdf" in body


def test_a_recipient_sees_the_button_and_not_the_receipts(alliance, sent, client_for):
    response = client_for(alliance.users["sec_a"]).get(sent.get_absolute_url())
    body = response.content.decode()
    assert "我已阅读" in body
    assert f'action="/alliance/notices/{sent.pk}/read/"' in body
    assert f'hx-post="/alliance/notices/{sent.pk}/read/"' in body
    assert 'hx-target="#notice-read"' in body
    assert "阅读回执" not in body
    assert "提醒未读人员" not in body
    assert response.context["receipts"] == []


@pytest.mark.parametrize("persona", ["propaganda", "auditor"])
def test_the_department_and_auditor_see_the_receipts(alliance, sent, client_for, persona):
    services.notice_read(notice=sent, actor=alliance.users["sec_b"])
    services.notice_remind(notice=sent, actor=alliance.users["propaganda"])
    response = client_for(alliance.users[persona]).get(sent.get_absolute_url())
    body = response.content.decode()
    assert "阅读回执" in body
    assert response.context["counts"] == {"total": 3, "read": 1, "unread": 2}
    receipts = response.context["receipts"]
    assert [r.user.get_username() for r in receipts][-1] == "sec_b"  # unread first
    assert "孙秘书" in body and "机械学院" in body  # name and unit of a reader
    assert "已读 1 / 3" in body
    assert "我已阅读" not in body  # neither is a recipient
    assert ("提醒未读人员" in body) is (persona == "propaganda")


# --- Confirming ---------------------------------------------------------------------------------


def test_confirming_with_htmx_swaps_the_button_for_the_confirmation(alliance, sent, client_for):
    response = client_for(alliance.users["sec_a"]).post(
        f"/alliance/notices/{sent.pk}/read/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    receipt = NoticeReceipt.objects.get(notice=sent, user=alliance.users["sec_a"])
    assert receipt.read_at is not None
    assert body.startswith('<div id="notice-read"')
    assert "<html" not in body
    assert "确认阅读" in body and "我已阅读" not in body
    assert response.templates[0].name == "alliance/_notice_read_htmx.html"
    # The 未读 badge under the title becomes 已读 in the same answer.
    assert '<span id="my-receipt-badge" hx-swap-oob="true"><span class="badge notice-read">' in body


def test_confirming_without_htmx_redirects_back(alliance, sent, client_for):
    client = client_for(alliance.admin_a)
    response = client.post(f"/alliance/notices/{sent.pk}/read/")
    assert response.status_code == 302
    assert response["Location"] == sent.get_absolute_url()
    receipt = NoticeReceipt.objects.get(notice=sent, user=alliance.admin_a)
    assert receipt.read_at is not None
    page = client.get(sent.get_absolute_url()).content.decode()
    assert "已确认阅读。" in page
    assert "我已阅读" not in page
    assert "确认阅读" in page


def test_confirming_twice_keeps_the_first_time(alliance, sent, client_for):
    client = client_for(alliance.users["sec_b"])
    client.post(f"/alliance/notices/{sent.pk}/read/")
    first = NoticeReceipt.objects.get(notice=sent, user=alliance.users["sec_b"]).read_at
    client.post(f"/alliance/notices/{sent.pk}/read/", HTTP_HX_REQUEST="true")
    assert NoticeReceipt.objects.get(notice=sent, user=alliance.users["sec_b"]).read_at == first


@pytest.mark.parametrize("which", ["sent", "early"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_who_confirms(alliance, sent, early, client_for, persona, which):
    """Recipients confirm; the department and the auditor see the notice but have nothing to
    confirm (403); everyone else 404."""
    notice = {"sent": sent, "early": early}[which]
    response = _client(client_for, alliance, persona).post(f"/alliance/notices/{notice.pk}/read/")
    seen = _expected_read(persona, which)
    reads_all = persona in ("propaganda", "auditor")
    expected = (403 if reads_all else 302) if seen == 200 else seen
    _expect(response, expected)
    read = set(
        NoticeReceipt.objects.filter(notice=notice, read_at__isnull=False).values_list(
            "user__username", flat=True
        )
    )
    assert read == ({persona} if expected == 302 else set())


def test_confirming_is_post_only(alliance, sent, client_for):
    response = client_for(alliance.users["sec_a"]).get(f"/alliance/notices/{sent.pk}/read/")
    assert response.status_code == 405
    assert not NoticeReceipt.objects.filter(read_at__isnull=False).exists()


# --- Reminding ----------------------------------------------------------------------------------


def test_the_department_reminds_from_the_page(alliance, sent, client_for):
    services.notice_read(notice=sent, actor=alliance.users["sec_a"])
    client = client_for(alliance.users["propaganda"])

    response = client.post(f"/alliance/notices/{sent.pk}/remind/")

    assert response.status_code == 302
    assert response["Location"] == sent.get_absolute_url()
    reminders = dict(sent.receipts.values_list("user__username", "reminders"))
    assert reminders == {"sec_a": 0, "sec_b": 1, "admin_a": 1}
    page = client.get(sent.get_absolute_url()).content.decode()
    assert "已提醒 2 位未读人员。" in page
    assert "上次提醒" in page


def test_a_second_reminder_within_the_interval_becomes_a_message(alliance, sent, client_for):
    client = client_for(alliance.users["propaganda"])
    client.post(f"/alliance/notices/{sent.pk}/remind/")
    response = client.post(f"/alliance/notices/{sent.pk}/remind/", follow=True)
    assert response.status_code == 200
    assert "小时内已提醒过，请稍后再试。" in response.content.decode()
    assert set(sent.receipts.values_list("reminders", flat=True)) == {1}


def test_a_reminder_when_all_have_read_becomes_a_message(alliance, sent, client_for):
    for name in ("sec_a", "sec_b", "admin_a"):
        services.notice_read(notice=sent, actor=alliance.users[name])
    response = client_for(alliance.users["propaganda"]).post(
        f"/alliance/notices/{sent.pk}/remind/", follow=True
    )
    assert "提醒：所有接收人都已阅读。" in response.content.decode()
    sent.refresh_from_db()
    assert sent.reminded_at is None


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_reminds(alliance, sent, client_for, persona):
    response = _client(client_for, alliance, persona).post(f"/alliance/notices/{sent.pk}/remind/")
    seen = _expected_read(persona, "sent")
    expected = (302 if persona == "propaganda" else 403) if seen == 200 else seen
    _expect(response, expected)
    sent.refresh_from_db()
    assert (sent.reminded_at is not None) is (expected == 302)


def test_reminding_is_post_only(alliance, sent, client_for):
    response = client_for(alliance.users["propaganda"]).get(f"/alliance/notices/{sent.pk}/remind/")
    assert response.status_code == 405


# --- Query counts -------------------------------------------------------------------------------


def _more_recipients(alliance: Alliance, n: int) -> None:
    """``n`` more secretaries of college B, each with a login."""
    for i in range(n):
        user = make_login(f"sec_extra_{i:02d}")
        person = registry.person_create(
            actor=None, name=f"秘书{i:02d}", unit=alliance.world.units["b"], user=user
        )
        registry.role_assign(
            person=person, unit=alliance.world.units["b"], role=Role.SECRETARY, actor=None
        )


# All of them: session, user, the user's current roles, then the page's reads (a notice's
# visibility needs no unit permission rows, so a secretary reads as many as the department):
#   notice_list    count for the paginator, one page of notices with their read counts
#   notice_detail  the notice, the receipts with names and units, the attachments, the user's
#                  own receipt
LIST_QUERIES = {"propaganda": 5, "auditor": 5, "sec_a": 5}
DETAIL_QUERIES = 7


@pytest.mark.parametrize("extra", [2, 15])
@pytest.mark.parametrize("persona", sorted(LIST_QUERIES))
def test_the_list_reads_a_fixed_number_of_queries(
    alliance, client_for, django_assert_num_queries, persona, extra
):
    for i in range(extra):
        notice = _post(alliance, f"通知{i:02d}")
        if i % 2:
            services.notice_read(notice=notice, actor=alliance.users["sec_a"])
    client = client_for(alliance.users[persona])
    client.get("/alliance/notices/")  # warm-up

    with django_assert_num_queries(LIST_QUERIES[persona]):
        response = client.get("/alliance/notices/")

    assert len(response.context["rows"]) == extra
    assert response.content.decode().count("<tr") == extra + 1


@pytest.mark.parametrize("extra", [2, 20])
def test_the_receipts_page_reads_a_fixed_number_of_queries(
    alliance, client_for, django_assert_num_queries, extra
):
    _more_recipients(alliance, extra)
    notice = _post(
        alliance,
        "通知",
        [SimpleUploadedFile(f"附件{i}.pdf", PDF, content_type="application/pdf") for i in range(3)],
    )
    services.notice_read(notice=notice, actor=alliance.users["sec_a"])
    client = client_for(alliance.users["propaganda"])
    client.get(notice.get_absolute_url())  # warm-up

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(notice.get_absolute_url())

    assert response.context["counts"]["total"] == 3 + extra
    assert response.content.decode().count("秘书") >= extra
