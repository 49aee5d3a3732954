"""Public list editions: publishing (the department only), the snapshot, the changes between
editions, the public pages and the printed list."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Tier
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from publication import documents, services
from publication.models import Edition, EditionEntry, EditionPdf
from publication.selectors import edition_changes
from tests.conftest import SOURCE, World, make_account
from tests.publication.conftest import assert_no_personal_data

pytestmark = pytest.mark.django_db

ACTIVE = ("school", "propaganda", "school_org", "a", "b")
LIST = reverse("publication:editions")
PUBLISH = reverse("publication:publish")
POPPLER = ("pdffonts", "pdftotext")
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in POPPLER),
    reason="poppler-utils (pdffonts, pdftotext) is not installed",
)
# The public fields an entry keeps: nothing about the team or the contacts.
PUBLIC_FIELDS = {
    "id",
    "edition",
    "position",
    "account",
    "account_name",
    "platform_name",
    "account_type",
    "account_code",
    "unit_name",
    "tier",
    "approval_number",
    "opened_on",
    "url",
}


def publish(world: World, note: str = "") -> Edition:
    return services.edition_publish(actor=world.users["propaganda"], note=note)


def edition_url(number: int) -> str:
    return reverse("publication:edition", args=[number])


def pdf_url(number: int) -> str:
    return reverse("publication:edition_pdf", args=[number])


def poppler(tool: str, data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "edition.pdf"
    path.write_bytes(data)
    target = ["-"] if tool == "pdftotext" else []
    result = subprocess.run([tool, str(path), *target], capture_output=True, check=True, timeout=60)
    return result.stdout.decode()


# --- Publishing ---------------------------------------------------------------------------------


def test_the_department_publishes_edition_1_with_exactly_the_active_accounts(numbered, client_for):
    world = numbered
    response = client_for(world.users["propaganda"]).post(PUBLISH, {"note": "2026年春季"})

    assert response.status_code == 302
    assert response.url == edition_url(1)
    edition = Edition.objects.get()
    assert edition.number == 1
    assert edition.note == "2026年春季"
    assert edition.published_by == world.users["propaganda"]
    entries = list(edition.entries.all())
    assert {e.account_id for e in entries} == {world.accounts[k].pk for k in ACTIVE}
    school = next(e for e in entries if e.account_id == world.accounts["school"].pk)
    assert (school.account_name, school.platform_name, school.account_type) == (
        "学校官方微信",
        "微信公众号",
        "服务号",
    )
    assert (school.account_code, school.unit_name, school.tier) == (
        "gh_school01",
        "某某大学",
        Tier.ONE,
    )
    assert school.approval_number == "XCB-2024-0001"
    assert school.url == "https://example.com/school"
    # Tier 1 first, then tier 2, then tier 3; positions run 1, 2, 3 …
    assert [e.position for e in entries] == list(range(1, len(ACTIVE) + 1))
    assert [e.tier for e in entries] == sorted(e.tier for e in entries)
    event = AuditEvent.objects.get(action=AuditAction.EDITION_PUBLISHED)
    assert event.actor == world.users["propaganda"]
    assert event.object_id == str(edition.pk)
    assert event.detail == {"number": 1, "accounts": len(ACTIVE)}


def test_approved_suspended_and_closed_accounts_are_not_listed(world):
    registry.account_update(
        account=world.accounts["b"], actor=None, source=SOURCE, status=AccountStatus.CLOSED
    )
    edition = publish(world)

    names = set(edition.entries.values_list("account_name", flat=True))
    assert names == world.account_names("school", "propaganda", "school_org", "a")
    assert "青春校团委" not in names  # approved, not opened
    assert "计科学生会" not in names  # suspended


def test_an_entry_keeps_public_fields_only(world):
    assert {f.name for f in EditionEntry._meta.get_fields()} == PUBLIC_FIELDS


def test_an_entry_keeps_what_was_published_when_the_account_changes(world):
    edition = publish(world)
    registry.account_update(account=world.accounts["a"], actor=None, source=SOURCE, name="新名")

    entry = edition.entries.get(account=world.accounts["a"])
    assert entry.account_name == "计算机学院官微"


def test_numbers_are_consecutive(world):
    numbers = [publish(world).number for _ in range(3)]

    assert numbers == [1, 2, 3]
    assert list(Edition.objects.order_by("number").values_list("number", flat=True)) == [1, 2, 3]


def test_a_number_taken_at_the_same_moment_gives_a_conflict_and_keeps_the_first(world, monkeypatch):
    """Two publishers who read the same latest edition: the unique number refuses the second."""
    publish(world)
    monkeypatch.setattr(services, "_next_number", lambda: 1)

    with pytest.raises(ValidationError, match="另一期名录正在同时发布"):
        publish(world)
    assert Edition.objects.count() == 1
    assert EditionEntry.objects.count() == len(ACTIVE)


@pytest.mark.parametrize("login", ["sec_a", "head_a", "league", "auditor"])
def test_others_cannot_publish_through_the_service(world, login):
    with pytest.raises(PermissionDenied):
        services.edition_publish(actor=world.users[login])
    assert not Edition.objects.exists()


@pytest.mark.parametrize("login", ["sec_a", "sec_b", "league", "auditor"])
def test_others_get_403_and_nothing_is_written(world, client_for, login):
    response = client_for(world.users[login]).post(PUBLISH, {"note": "x"})

    assert response.status_code == 403
    assert not Edition.objects.exists()
    assert not EditionEntry.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.EDITION_PUBLISHED).exists()


def test_anonymous_publish_goes_to_the_login_page(world, client_for):
    response = client_for(None).post(PUBLISH)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Edition.objects.exists()


def test_publish_is_post_only(world, client_for):
    response = client_for(world.users["propaganda"]).get(PUBLISH)

    assert response.status_code == 405
    assert not Edition.objects.exists()


def test_a_note_too_long_is_refused_with_a_message(world, client_for):
    response = client_for(world.users["propaganda"]).post(PUBLISH, {"note": "长" * 501})

    assert response.status_code == 400
    assert "说明：请不要超过 500 个字。" in response.content.decode()
    assert not Edition.objects.exists()


def test_the_publish_form_shows_for_the_department_only(world, client_for):
    assert PUBLISH in client_for(world.users["propaganda"]).get(LIST).content.decode()
    for user in (world.users["auditor"], world.users["sec_a"], None):
        response = client_for(user).get(LIST)
        assert response.status_code == 200
        assert PUBLISH not in response.content.decode()
        assert "发布新一期" not in response.content.decode()


def test_publishing_3000_accounts_takes_a_bounded_number_of_queries(
    world, django_assert_max_num_queries
):
    """Bulk inserts: the queries do not grow with the accounts (here 65 of them). The user's
    roles, the latest number, the edition, the accounts, the entries, the audit row, and the
    savepoints around the service and the edition's insert."""
    for i in range(60):
        make_account(
            unit=world.units["a"],
            name=f"扩展账号{i:03d}",
            status=AccountStatus.ACTIVE,
            account_id=f"ext{i:03d}",
        )
    with django_assert_max_num_queries(10):
        edition = publish(world)
    assert edition.entries.count() == len(ACTIVE) + 60


# --- Changes between editions ---------------------------------------------------------------


def test_changes_since_the_previous_edition(world, client_for):
    publish(world)
    registry.account_update(
        account=world.accounts["a"], actor=None, source=SOURCE, name="计算机学院新官微"
    )
    registry.account_update(
        account=world.accounts["b"], actor=None, source=SOURCE, status=AccountStatus.CLOSED
    )
    registry.account_update(
        account=world.accounts["school_org"],
        actor=None,
        source=SOURCE,
        status=AccountStatus.SUSPENDED,
    )
    new = make_account(
        unit=world.units["a_sub"],
        name="实验中心视频号",
        platform="wechat_channels",
        status=AccountStatus.ACTIVE,
        account_id="sph_lab",
    )
    second = publish(world)
    closed_on = world.accounts["b"].__class__.objects.get(pk=world.accounts["b"].pk).closed_on

    changes = edition_changes(second)
    assert changes.previous is not None and changes.previous.number == 1
    assert [e.account_id for e in changes.added] == [new.pk]
    assert [(r.old_name, r.entry.account_name) for r in changes.renamed] == [
        ("计算机学院官微", "计算机学院新官微")
    ]
    removed = {r.entry.account_name: r for r in changes.removed}
    assert set(removed) == {"机械学院官微", "校学生会抖音"}
    assert removed["机械学院官微"].closed
    assert removed["机械学院官微"].closed_on == closed_on
    assert "已停办" in removed["机械学院官微"].reason
    assert removed["校学生会抖音"].reason == "已暂停运行"

    page = client_for(None).get(edition_url(2)).content.decode()
    assert "与第1期" in page
    assert "实验中心视频号" in page
    assert "计算机学院官微" in page and "计算机学院新官微" in page
    assert f"已停办（{closed_on.year}年{closed_on.month}月{closed_on.day}日停办）" in page
    assert "已暂停运行" in page


def test_the_first_edition_has_no_changes(world, client_for):
    edition = publish(world)

    changes = edition_changes(edition)
    assert changes.previous is None
    assert not changes.any
    assert "这是第一期公开名录" in client_for(None).get(edition_url(1)).content.decode()


def test_an_unchanged_registry_gives_no_changes(world):
    publish(world)

    assert not edition_changes(publish(world)).any


def test_changes_take_a_constant_number_of_queries(world, django_assert_num_queries):
    publish(world)
    for i in range(30):
        make_account(
            unit=world.units["b"],
            name=f"新增账号{i:02d}",
            status=AccountStatus.ACTIVE,
            account_id=f"new{i:02d}",
        )
    for key in ("a", "school"):
        registry.account_update(account=world.accounts[key], actor=None, source=SOURCE, name=key)
    registry.account_update(
        account=world.accounts["b"], actor=None, source=SOURCE, status=AccountStatus.CLOSED
    )
    second = publish(world)

    with django_assert_num_queries(3):  # previous edition, this one's entries, the previous'
        changes = edition_changes(second)
    assert (len(changes.added), len(changes.renamed), len(changes.removed)) == (30, 2, 1)


# --- The public pages -------------------------------------------------------------------------


def test_the_pages_answer_anonymous_visitors_without_personal_data(numbered, client_for):
    world = numbered
    publish(world)
    anonymous = client_for(None)

    for url in (LIST, edition_url(1)):
        response = anonymous.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert_no_personal_data(world, text)
        assert "退出" not in text  # no signed-in chrome
    page = anonymous.get(edition_url(1)).content.decode()
    for key in ACTIVE:
        assert world.accounts[key].name in page
    assert "XCB-2024-0004" in page
    assert "青春校团委" not in page
    assert "某某大学校园新媒体公开名录（第1期）" in page


def test_an_unknown_edition_is_404(world, client_for):
    assert client_for(None).get(edition_url(7)).status_code == 404
    assert client_for(None).get(pdf_url(7)).status_code == 404


def test_the_list_shows_each_edition_with_its_count(world, client_for):
    publish(world, note="首期")
    registry.account_update(
        account=world.accounts["b"], actor=None, source=SOURCE, status=AccountStatus.CLOSED
    )
    publish(world)

    response = client_for(None).get(LIST)
    rows = re.findall(
        r'<td data-label="收录账号" class="num">(\d+)</td>', response.content.decode()
    )
    assert rows == ["4", "5"]
    assert "首期" in response.content.decode()


def test_the_edition_page_takes_a_constant_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    """Anonymous: the edition, the school's name, its entries, the previous edition and its
    entries; the same with 5 or 65 accounts."""
    publish(world)
    for i in range(60):
        make_account(
            unit=world.units["a"],
            name=f"扩展账号{i:03d}",
            status=AccountStatus.ACTIVE,
            account_id=f"ext{i:03d}",
        )
    publish(world)
    anonymous = client_for(None)
    with django_assert_max_num_queries(5):
        response = anonymous.get(edition_url(2))
    assert response.status_code == 200
    assert response.content.decode().count("扩展账号") >= 60


def test_the_editions_list_takes_a_constant_number_of_queries(
    world, client_for, django_assert_max_num_queries
):
    for _ in range(4):
        publish(world)
    with django_assert_max_num_queries(2):  # the school's name, the editions with their counts
        assert client_for(None).get(LIST).status_code == 200


# --- The printed list -------------------------------------------------------------------------


@needs_poppler
def test_the_pdf_is_public_prints_the_list_in_one_font_family_and_no_personal_data(
    numbered, client_for, tmp_path
):
    world = numbered
    publish(world)

    response = client_for(None).get(pdf_url(1))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    data = response.content
    assert data.startswith(b"%PDF")
    text = "".join(poppler("pdftotext", data, tmp_path).split())
    assert "某某大学校园新媒体公开名录（第1期）" in text
    assert "计算机学院官微" in text
    assert "XCB-2024-0004" in text
    assert "青春校团委" not in text
    assert_no_personal_data(world, text)
    fonts = poppler("pdffonts", data, tmp_path).splitlines()[2:]
    faces = {re.sub(r"^[A-Z]{6}\+", "", line.split()[0]) for line in fonts}
    assert len(faces) == 1, fonts  # one face: no fallback font, no second weight
    assert "CJK" in faces.pop()


def test_the_pdf_is_rendered_once_and_kept(world, client_for, monkeypatch):
    publish(world)
    anonymous = client_for(None)
    assert anonymous.get(pdf_url(1)).status_code == 200
    assert EditionPdf.objects.count() == 1

    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(documents, "render_edition_pdf", fail)
    again = anonymous.get(pdf_url(1))
    assert again.status_code == 200
    assert again.content == bytes(EditionPdf.objects.get().content)


def test_a_long_edition_gets_a_page_limit_to_match():
    assert documents.page_limit(3000) >= 3000 // 15
    assert documents.page_limit(5) >= 20


@needs_poppler
def test_the_table_header_repeats_on_every_page(world, tmp_path):
    for i in range(80):
        make_account(
            unit=world.units["a"],
            name=f"扩展账号{i:03d}",
            status=AccountStatus.ACTIVE,
            account_id=f"ext{i:03d}",
        )
    edition = publish(world)

    text = poppler("pdftotext", documents.render_edition_pdf(edition), tmp_path)
    pages = [page for page in text.split("\f") if page.strip()]
    assert len(pages) >= 2
    for page in pages:
        assert "账号名称" in page and "主办单位" in page
