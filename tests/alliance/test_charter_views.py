"""Charter pages: the version in force with its history, one version, and a new version (the
secretariat). Personas × endpoints and what a publication leaves in the database."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from alliance import services
from alliance.models import CharterVersion
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction

ANONYMOUS = "anonymous"
LOGIN = "login"
PERSONAS = ["propaganda", "auditor", "sec_a", "admin_a", "head_a", "sec_b", "league", ANONYMOUS]
BODY = "第一条 联盟由校内各级新媒体平台组成。\n\n第二条 联盟秘书处设在党委宣传部。"


def _client(client_for, alliance, persona):
    return client_for(None if persona == ANONYMOUS else alliance.users[persona])


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:400]


def _publish(
    alliance, *, days: int = 0, title: str = "新媒体联盟章程", body: str = BODY, summary=""
):
    return services.charter_publish(
        actor=alliance.users["propaganda"],
        title=title,
        body=body,
        summary=summary,
        effective_on=timezone.localdate() + datetime.timedelta(days=days),
    )


@pytest.fixture
def charter(alliance) -> CharterVersion:
    return _publish(alliance, days=-30, summary="首次发布")


def _new_data(**overrides) -> dict:
    data = {
        "title": "新媒体联盟章程",
        "body": BODY + "\n\n第三条 成员应按时完成互联互动任务。",
        "effective_on": timezone.localdate().isoformat(),
        "summary": "增加第三条",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_signed_in_reads_the_charter(alliance, charter, client_for, persona):
    client = _client(client_for, alliance, persona)
    for url in ("/alliance/charter/", f"/alliance/charter/{charter.number}/"):
        response = client.get(url)
        if persona == ANONYMOUS:
            _expect(response, LOGIN)
            continue
        assert response.status_code == 200
        page = response.content.decode()
        # The body in paragraphs.
        assert "<p>第一条 联盟由校内各级新媒体平台组成。</p>" in page
        assert "<p>第二条 联盟秘书处设在党委宣传部。</p>" in page
    if persona != ANONYMOUS:
        page = client.get("/alliance/charter/").content.decode()
        assert ('href="/alliance/charter/new/"' in page) == (persona == "propaganda")


def test_the_charter_page_shows_the_history_and_what_is_to_come(alliance, charter, client_for):
    _publish(
        alliance, days=-1, title="新媒体联盟章程（修订）", body="修订后的正文。", summary="修订"
    )
    upcoming = _publish(alliance, days=10, body="将来的正文。", summary="第三次修订")
    response = client_for(alliance.users["sec_a"]).get("/alliance/charter/")
    page = response.content.decode()
    assert response.context["current"].number == 2
    assert "<p>修订后的正文。</p>" in page and "将来的正文。" not in page
    date = upcoming.effective_on.strftime("%Y-%m-%d")
    assert f"将于 {date} 生效" in page
    for n in (1, 2, 3):
        assert f'href="/alliance/charter/{n}/"' in page
    assert "首次发布" in page and "第三次修订" in page
    assert "李审核" in page  # who published


def test_a_version_to_come_is_marked(alliance, charter, client_for):
    upcoming = _publish(alliance, days=5, body="将来的正文。")
    page = client_for(alliance.users["head_a"]).get(f"/alliance/charter/{upcoming.number}/")
    text = page.content.decode()
    assert f"将于 {upcoming.effective_on:%Y-%m-%d} 生效" in text and "<p>将来的正文。</p>" in text


def test_no_charter_yet(alliance, client_for):
    response = client_for(alliance.users["sec_a"]).get("/alliance/charter/")
    assert response.status_code == 200
    assert "章程尚未生效" in response.content.decode()


def test_an_unknown_version_is_404(alliance, charter, client_for):
    assert client_for(alliance.users["sec_a"]).get("/alliance/charter/9/").status_code == 404


def test_reading_is_get_only(alliance, charter, client_for):
    client = client_for(alliance.users["propaganda"])
    assert client.post("/alliance/charter/").status_code == 405
    assert client.post(f"/alliance/charter/{charter.number}/").status_code == 405


# --- A new version ----------------------------------------------------------------------------


def test_the_form_is_prefilled_with_the_current_text(alliance, charter, client_for):
    response = client_for(alliance.users["propaganda"]).get("/alliance/charter/new/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["title"] == charter.title and form.initial["body"] == charter.body
    assert form.initial["effective_on"] == timezone.localdate()
    page = response.content.decode()
    assert "发布章程第 2 版" in page and "第一条 联盟由校内各级新媒体平台组成。" in page
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in page


def test_the_secretariat_publishes_a_version(alliance, charter, client_for):
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/charter/new/", _new_data(), follow=True
    )
    assert response.redirect_chain == [("/alliance/charter/", 302)]
    page = response.content.decode()
    assert "已发布章程第 2 版，即日生效。" in page
    assert "<p>第三条 成员应按时完成互联互动任务。</p>" in page
    version = CharterVersion.objects.get(number=2)
    assert version.summary == "增加第三条" and version.published_by == alliance.users["propaganda"]
    assert AuditEvent.objects.filter(action=AuditAction.CHARTER).count() == 2


def test_a_version_may_take_effect_later(alliance, charter, client_for):
    later = timezone.localdate() + datetime.timedelta(days=7)
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/charter/new/", _new_data(effective_on=later.isoformat()), follow=True
    )
    assert f"已发布章程第 2 版，将于 {later:%Y-%m-%d} 生效。" in response.content.decode()
    assert response.context["current"].number == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "标题：请填写章程标题。"),
        ({"body": "  "}, "正文：请填写章程正文。"),
        ({"effective_on": ""}, "生效日期：请填写。"),
        ({"effective_on": "下周一"}, "生效日期：请按“年-月-日”填写。"),
    ],
)
def test_bad_input_names_the_field_and_publishes_nothing(
    alliance, charter, client_for, overrides, message
):
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/charter/new/", _new_data(**overrides)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert CharterVersion.objects.count() == 1


def test_a_version_cannot_take_effect_before_the_latest(alliance, charter, client_for):
    before = charter.effective_on - datetime.timedelta(days=1)
    response = client_for(alliance.users["propaganda"]).post(
        "/alliance/charter/new/", _new_data(effective_on=before.isoformat())
    )
    assert response.status_code == 400
    expected = f"生效日期：不能早于第1版的生效日期（{charter.effective_on.isoformat()}）。"
    assert expected in response.content.decode()
    assert CharterVersion.objects.count() == 1


def test_the_first_version(alliance, client_for):
    client = client_for(alliance.users["propaganda"])
    assert client.get("/alliance/charter/new/").context["form"].initial["title"] == "新媒体联盟章程"
    client.post("/alliance/charter/new/", _new_data())
    assert CharterVersion.objects.get().number == 1


@pytest.mark.parametrize("persona", ["auditor", "sec_a", "head_a", "admin_a", "league", ANONYMOUS])
def test_only_the_secretariat_publishes(alliance, charter, client_for, persona):
    client = _client(client_for, alliance, persona)
    expected = LOGIN if persona == ANONYMOUS else 403
    _expect(client.get("/alliance/charter/new/"), expected)
    _expect(client.post("/alliance/charter/new/", _new_data()), expected)
    assert CharterVersion.objects.count() == 1


def test_charter_new_takes_get_and_post_only(alliance, client_for):
    client = client_for(alliance.users["propaganda"])
    assert client.put("/alliance/charter/new/").status_code == 405
    assert client.delete("/alliance/charter/new/").status_code == 405
