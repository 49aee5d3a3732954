"""Policy notices through ``alliance.services``: who receives one (fixed when it is posted), the
read receipt, reminders (only the unread, not twice within the interval), the attachments
(checked by content, all or nothing), and the messages, sent only after the commit."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alliance import services
from alliance.models import Notice, NoticeAttachment, NoticeReceipt
from approvals.models import Notification
from campusmedia import services as registry
from campusmedia.choices import Role
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.alliance.conftest import Alliance
from tests.conftest import make_login

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
RECIPIENTS = {"sec_a", "sec_b", "admin_a"}


def pdf(name: str = "细则.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def fake_pdf(name: str = "假文件.pdf") -> SimpleUploadedFile:
    """Text with a .pdf name and a PDF content type: refused by its content."""
    return SimpleUploadedFile(name, b"just some text, not a PDF at all", "application/pdf")


def stored_files(settings) -> list[Path]:
    root = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post(alliance: Alliance, **kwargs) -> Notice:
    fields = {"title": "关于规范转载的通知", "body": "各单位：请注明来源。"}
    return services.notice_post(actor=alliance.users["propaganda"], **{**fields, **kwargs})


@pytest.fixture
def mailed(alliance: Alliance) -> Alliance:
    """Every persona with an e-mail address."""
    for name, user in alliance.users.items():
        user.email = f"{name}@example.edu.cn"
        user.save(update_fields=["email"])
    return alliance


def receipt_of(notice: Notice, user) -> NoticeReceipt:
    return NoticeReceipt.objects.get(notice=notice, user=user)


# --- Posting ------------------------------------------------------------------------------------


def test_recipients_are_the_secretaries_and_administrators_with_a_login(alliance):
    notice = post(alliance)
    names = set(notice.receipts.values_list("user__username", flat=True))
    assert names == RECIPIENTS
    assert not notice.receipts.filter(read_at__isnull=False).exists()


def test_recipients_are_fixed_when_the_notice_is_posted(alliance):
    """A secretary who takes office later gets later notices, not the earlier ones."""
    earlier = post(alliance)
    newcomer = make_login("sec_b2")
    person = registry.person_create(
        actor=None, name="新秘书", unit=alliance.world.units["b"], user=newcomer
    )
    registry.role_assign(
        person=person, unit=alliance.world.units["b"], role=Role.SECRETARY, actor=None
    )

    later = post(alliance, title="第二份通知")

    assert set(earlier.receipts.values_list("user__username", flat=True)) == RECIPIENTS
    assert set(later.receipts.values_list("user__username", flat=True)) == {
        *RECIPIENTS,
        "sec_b2",
    }


@pytest.mark.parametrize("persona", ["sec_a", "auditor", "head_a", "admin_a"])
def test_only_the_secretariat_posts(alliance, persona):
    with pytest.raises(PermissionDenied):
        services.notice_post(actor=alliance.users[persona], title="标题", body="正文")
    assert not Notice.objects.exists()


def test_posting_writes_an_audit_row_and_tells_everyone_after_commit(
    mailed, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = post(mailed, uploads=[pdf()])
        assert mailoutbox == []  # nothing leaves before the commit
        assert not Notification.objects.exists()
    assert len(callbacks) == 1

    event = AuditEvent.objects.get(action=AuditAction.NOTICE)
    assert event.actor == mailed.users["propaganda"]
    assert event.object_id == str(notice.pk)
    assert event.detail == {"step": "post", "recipients": 3, "attachments": 1}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        f"{name}@example.edu.cn" for name in RECIPIENTS
    )
    assert all(notice.title in m.subject for m in mailoutbox)
    assert set(Notification.objects.values_list("user__username", flat=True)) == RECIPIENTS
    assert set(Notification.objects.values_list("url", flat=True)) == {notice.get_absolute_url()}


# --- Attachments --------------------------------------------------------------------------------


def test_attachments_are_stored_privately_with_their_names(alliance, settings):
    image = SimpleUploadedFile("截图.png", PNG, content_type="image/png")
    notice = post(alliance, uploads=[pdf("实施细则.pdf"), image])

    pdf_row, png_row = notice.attachments.all()
    assert (pdf_row.original_name, pdf_row.content_type, pdf_row.size) == (
        "实施细则.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (png_row.original_name, png_row.content_type) == ("截图.png", "image/png")
    with pdf_row.file.open("rb") as handle:
        assert handle.read() == PDF
    # Stored under a random name in the private root, not under the uploaded name.
    assert len(stored_files(settings)) == 2
    assert "实施细则" not in pdf_row.file.name
    assert Path(settings.CAMPUSMEDIA_PRIVATE_ROOT) in Path(pdf_row.file.path).parents


@pytest.mark.parametrize("good_first", [True, False])
def test_a_bad_attachment_saves_nothing(
    alliance, settings, django_capture_on_commit_callbacks, mailoutbox, good_first
):
    """A .pdf that is really text: no notice, no receipt, no file, no message; the error is on
    the attachments field and names the file."""
    uploads = [pdf(), fake_pdf()] if good_first else [fake_pdf(), pdf()]
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError) as caught,
    ):
        post(alliance, uploads=uploads)

    assert list(caught.value.message_dict) == ["attachments"]
    [message] = caught.value.message_dict["attachments"]
    assert message.startswith("附件：只接受 PDF、JPEG 或 PNG 文件")
    assert "假文件.pdf" in message
    assert not Notice.objects.exists()
    assert not NoticeAttachment.objects.exists()
    assert not NoticeReceipt.objects.exists()
    assert stored_files(settings) == []
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(action=AuditAction.NOTICE).exists()


def test_an_attachment_over_the_size_cap_is_refused(alliance, settings):
    settings.CAMPUSMEDIA_UPLOAD_MAX_BYTES = 20
    with pytest.raises(ValidationError) as caught:
        post(alliance, uploads=[pdf()])
    assert "不能超过" in caught.value.message_dict["attachments"][0]
    assert not Notice.objects.exists()


# --- Reading ------------------------------------------------------------------------------------


def test_a_recipient_confirms_once_and_the_first_time_stays(alliance):
    notice = post(alliance)
    sec_a = alliance.users["sec_a"]

    first = services.notice_read(notice=notice, actor=sec_a)
    assert first.read_at is not None
    again = services.notice_read(notice=notice, actor=sec_a)

    assert again.read_at == first.read_at
    assert receipt_of(notice, sec_a).read_at == first.read_at
    # Nobody else's receipt moved.
    assert notice.receipts.filter(read_at__isnull=False).count() == 1


@pytest.mark.parametrize("persona", ["propaganda", "auditor", "head_a", "league"])
def test_someone_the_notice_was_not_sent_to_cannot_confirm(alliance, persona):
    notice = post(alliance)
    with pytest.raises(PermissionDenied):
        services.notice_read(notice=notice, actor=alliance.users[persona])
    assert notice.receipts.count() == 3
    assert not notice.receipts.filter(read_at__isnull=False).exists()


# --- Reminders ----------------------------------------------------------------------------------


def test_a_reminder_goes_to_the_unread_only_after_commit(
    mailed, django_capture_on_commit_callbacks, mailoutbox
):
    notice = post(mailed)
    services.notice_read(notice=notice, actor=mailed.users["sec_a"])

    with django_capture_on_commit_callbacks(execute=True):
        count = services.notice_remind(notice=notice, actor=mailed.users["propaganda"])
        assert mailoutbox == []

    assert count == 2
    assert sorted(m.to[0] for m in mailoutbox) == [
        "admin_a@example.edu.cn",
        "sec_b@example.edu.cn",
    ]
    assert all("请阅读政策通知" in m.subject for m in mailoutbox)
    assert set(
        Notification.objects.filter(text__startswith="请阅读").values_list(
            "user__username", flat=True
        )
    ) == {"sec_b", "admin_a"}
    reminders = dict(notice.receipts.values_list("user__username", "reminders"))
    assert reminders == {"sec_a": 0, "sec_b": 1, "admin_a": 1}
    assert receipt_of(notice, mailed.users["sec_b"]).reminded_at is not None
    assert receipt_of(notice, mailed.users["sec_a"]).reminded_at is None
    notice.refresh_from_db()
    assert notice.reminded_at is not None
    event = AuditEvent.objects.filter(action=AuditAction.NOTICE).latest("pk")
    assert event.detail == {"step": "remind", "unread": 2}


def test_a_second_reminder_within_the_interval_is_refused(alliance, settings):
    settings.CAMPUSMEDIA_NOTICE_REMIND_HOURS = 12
    notice = post(alliance)
    propaganda = alliance.users["propaganda"]
    services.notice_remind(notice=notice, actor=propaganda)

    with pytest.raises(services.AllianceConflict) as caught:
        services.notice_remind(notice=notice, actor=propaganda)
    assert "12 小时内已提醒过" in caught.value.messages[0]
    assert set(notice.receipts.values_list("reminders", flat=True)) == {1}

    # Once the interval has passed, the unread are reminded again.
    Notice.objects.filter(pk=notice.pk).update(
        reminded_at=timezone.now() - datetime.timedelta(hours=12, minutes=1)
    )
    assert services.notice_remind(notice=notice, actor=propaganda) == 3
    assert set(notice.receipts.values_list("reminders", flat=True)) == {2}


def test_the_interval_is_a_setting(alliance, settings):
    settings.CAMPUSMEDIA_NOTICE_REMIND_HOURS = 1
    notice = post(alliance)
    propaganda = alliance.users["propaganda"]
    services.notice_remind(notice=notice, actor=propaganda)
    Notice.objects.filter(pk=notice.pk).update(
        reminded_at=timezone.now() - datetime.timedelta(minutes=61)
    )
    assert services.notice_remind(notice=notice, actor=propaganda) == 3


def test_no_reminder_when_everyone_has_read(alliance):
    notice = post(alliance)
    for name in RECIPIENTS:
        services.notice_read(notice=notice, actor=alliance.users[name])

    with pytest.raises(ValidationError) as caught:
        services.notice_remind(notice=notice, actor=alliance.users["propaganda"])

    assert not isinstance(caught.value, services.AllianceConflict)
    assert caught.value.messages == [services.ERR_NOTHING_UNREAD]
    notice.refresh_from_db()
    assert notice.reminded_at is None


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "admin_a"])
def test_only_the_secretariat_reminds(alliance, persona):
    notice = post(alliance)
    with pytest.raises(PermissionDenied):
        services.notice_remind(notice=notice, actor=alliance.users[persona])
    assert set(notice.receipts.values_list("reminders", flat=True)) == {0}
