"""The offices pages and an account's office (filing/offices.py, filing/office_services.py): who
reaches which page (SECURITY.md, Authorization), what each page leaves in the database and the
audit log, the messages that name their field, and the demo offices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError

from campusmedia import services as registry
from campusmedia.choices import AccountStatus, UnitDuty, UnitKind
from campusmedia.models import AuditEvent, MediaAccount, Office
from campusmedia.models.audit import AuditAction
from filing import office_services
from filing.demo import OFFICES, seed_demo_offices
from tests.conftest import World, make_account

pytestmark = pytest.mark.django_db

CITY = "langfang"  # its form files every platform, so every running account counts
ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
LOGIN = "login"  # 302 to the login page, nothing changed
DONE = 302  # 302 to where the form leads, and the change happened


@pytest.fixture
def city(settings) -> str:
    settings.CAMPUSMEDIA_FILING_CITY = CITY
    return CITY


@pytest.fixture
def offices(city) -> dict[str, Office]:
    municipal = office_services.office_create(
        city=city,
        actor=None,
        name="廊坊市互联网信息办公室",
        address="廊坊市广阳道300号行政北楼518房间",
        duty_phone="0316-2339541",
        email="lfwlk2010@163.com",
        contacts="张伟健、郝会仙",
    )
    district = office_services.office_create(
        city=city,
        actor=None,
        name="三河市互联网信息办公室",
        parent=municipal,
        address="三河市鼎盛东大街5号市委大院6113房间",
        duty_phone="0316-3252645",
        email="wxsh3252645@163.com",
        contacts="贾可玉",
        sort_order=10,
    )
    other = office_services.office_create(city="rizhao", actor=None, name="日照市互联网信息办公室")
    return {"municipal": municipal, "district": district, "other": other}


def client_of(client_for, world: World, persona: str):
    return client_for(None if persona == ANONYMOUS else world.users[persona])


def office_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.OFFICE_CHANGED).order_by("pk"))


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


# --- The access matrix --------------------------------------------------------------------------


def row(*cells: int | str) -> dict[str, int | str]:
    assert len(cells) == len(PERSONAS)
    return dict(zip(PERSONAS, cells, strict=True))


#                      sec_a head_a sec_b propaganda league auditor anonymous
DEPARTMENT_READS = row(403, 403, 403, 200, 403, 200, LOGIN)
DEPARTMENT_PAGE = row(403, 403, 403, 200, 403, 403, LOGIN)
DEPARTMENT_WRITES = row(403, 403, 403, DONE, 403, 403, LOGIN)
# scope → persona: the account of college A or of college B.
ACCOUNT_OFFICE = {
    "A": row(403, 403, 404, DONE, 404, 403, LOGIN),
    "B": row(404, 404, 403, DONE, 404, 403, LOGIN),
}


@dataclass
class Target:
    method: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    done_url: str = ""
    probe: Callable[[], Any] = lambda: None
    after: Any = None


def _list(world: World, offices: dict[str, Office], scope: str) -> Target:
    return Target("get", "/filing/offices/")


def _new_page(world: World, offices: dict[str, Office], scope: str) -> Target:
    return Target("get", "/filing/offices/new/")


def _edit_page(world: World, offices: dict[str, Office], scope: str) -> Target:
    return Target("get", f"/filing/offices/{offices['district'].pk}/")


def _create(world: World, offices: dict[str, Office], scope: str) -> Target:
    return Target(
        "post",
        "/filing/offices/new/",
        {
            "name": "香河县互联网信息办公室",
            "parent": offices["municipal"].pk,
            "address": "香河县委宣传部迎宾路1号416室",
            "duty_phone": "0316-8311324",
            "email": "xhwxb2015@126.com",
            "contacts": "吕舫",
            "sort_order": "20",
        },
        done_url="/filing/offices/",
        probe=lambda: Office.objects.filter(city=CITY).count(),
        after=3,
    )


def _edit(world: World, offices: dict[str, Office], scope: str) -> Target:
    district = offices["district"]
    return Target(
        "post",
        f"/filing/offices/{district.pk}/",
        {
            "name": district.name,
            "parent": offices["municipal"].pk,
            "address": district.address,
            "duty_phone": "0316-3252646",
            "email": district.email,
            "contacts": district.contacts,
            "sort_order": "10",
            "is_active": "on",
        },
        done_url="/filing/offices/",
        probe=lambda: Office.objects.get(pk=district.pk).duty_phone,
        after="0316-3252646",
    )


def _deactivate(world: World, offices: dict[str, Office], scope: str) -> Target:
    district = offices["district"]
    return Target(
        "post",
        f"/filing/offices/{district.pk}/deactivate/",
        done_url="/filing/offices/",
        probe=lambda: Office.objects.get(pk=district.pk).is_active,
        after=False,
    )


def _account_office(world: World, offices: dict[str, Office], scope: str) -> Target:
    account = world.accounts["a" if scope == "A" else "b"]
    return Target(
        "post",
        f"/filing/accounts/{account.pk}/office/",
        {"office": offices["district"].pk},
        done_url=account.get_absolute_url(),
        probe=lambda: MediaAccount.objects.get(pk=account.pk).filing_office_id,
        after=offices["district"].pk,
    )


TARGETS: dict[str, Callable[[World, dict[str, Office], str], Target]] = {
    "list": _list,
    "new page": _new_page,
    "edit page": _edit_page,
    "create": _create,
    "edit": _edit,
    "deactivate": _deactivate,
    "account office": _account_office,
}
# endpoint → scope → persona. The office pages belong to no unit ("-"); an account's office is
# asked on college A's account and on college B's.
EXPECTED: dict[str, dict[str, dict[str, int | str]]] = {
    "list": {"-": DEPARTMENT_READS},
    "new page": {"-": DEPARTMENT_PAGE},
    "edit page": {"-": DEPARTMENT_PAGE},
    "create": {"-": DEPARTMENT_WRITES},
    "edit": {"-": DEPARTMENT_WRITES},
    "deactivate": {"-": DEPARTMENT_WRITES},
    "account office": ACCOUNT_OFFICE,
}
assert TARGETS.keys() == EXPECTED.keys()


@pytest.mark.parametrize(
    ("endpoint", "scope"), [(e, s) for e, by_scope in EXPECTED.items() for s in by_scope]
)
@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(
    world: World, offices, client_for, persona: str, endpoint: str, scope: str
) -> None:
    """Each cell: the status, and the database changed exactly when it says DONE."""
    expected = EXPECTED[endpoint][scope][persona]
    target = TARGETS[endpoint](world, offices, scope)
    before = target.probe()

    response = getattr(client_of(client_for, world, persona), target.method)(
        target.url, target.data
    )

    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")
    elif expected == DONE:
        assert response.status_code == 302, response.content[:400]
        assert response.url == target.done_url
        assert not error_messages(response)
    else:
        assert response.status_code == expected
    assert target.probe() == (target.after if expected == DONE else before)


@pytest.mark.parametrize(
    "url",
    ["/filing/offices/{district}/deactivate/", "/filing/accounts/{account}/office/"],
)
def test_get_on_an_action_is_not_allowed(world: World, offices, client_for, url: str) -> None:
    client = client_for(world.users["propaganda"])

    response = client.get(
        url.format(district=offices["district"].pk, account=world.accounts["a"].pk)
    )

    assert response.status_code == 405
    assert Office.objects.get(pk=offices["district"].pk).is_active


@pytest.mark.parametrize("method", ["put", "delete"])
def test_office_form_takes_only_get_and_post(world: World, offices, client_for, method) -> None:
    response = getattr(client_for(world.users["propaganda"]), method)("/filing/offices/new/")

    assert response.status_code == 405


def test_an_unknown_office_is_404_for_the_department(world: World, offices, client_for) -> None:
    client = client_for(world.users["propaganda"])

    assert client.get("/filing/offices/999999/").status_code == 404
    assert client.post("/filing/offices/999999/deactivate/").status_code == 404


# --- The list ----------------------------------------------------------------------------------


def test_list_shows_the_city_municipal_office_first_with_served_accounts(
    world: World, offices, client_for
) -> None:
    """Running accounts (active, suspended, ordered to close) count; approved-not-opened ones
    do not. College B's account goes to the district office, the rest to the municipal one."""
    MediaAccount.objects.filter(pk=world.accounts["b"].pk).update(filing_office=offices["district"])

    response = client_for(world.users["propaganda"]).get("/filing/offices/")

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.office.name for r in rows] == ["廊坊市互联网信息办公室", "三河市互联网信息办公室"]
    running = MediaAccount.objects.exclude(
        status__in=[AccountStatus.APPROVED, AccountStatus.CLOSED]
    ).count()
    assert running == 6
    assert [r.served for r in rows] == [5, 1]
    html = response.content.decode()
    assert "日照市互联网信息办公室" not in html
    assert "张伟健、郝会仙" in html and "0316-2339541" in html and "lfwlk2010@163.com" in html
    assert html.index("廊坊市互联网信息办公室") < html.index("三河市互联网信息办公室")
    assert "添加网信部门" in html and "停用" in html


def test_auditor_reads_the_list_without_edit_controls(world: World, offices, client_for) -> None:
    response = client_for(world.users["auditor"]).get("/filing/offices/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "三河市互联网信息办公室" in html
    assert "添加网信部门" not in html
    assert f"/filing/offices/{offices['district'].pk}/deactivate/" not in html


def test_accounts_of_a_switched_off_office_count_on_the_municipal_office(
    world: World, offices, client_for
) -> None:
    MediaAccount.objects.filter(pk=world.accounts["b"].pk).update(filing_office=offices["district"])
    office_services.office_deactivate(office=offices["district"], actor=world.users["propaganda"])

    response = client_for(world.users["propaganda"]).get("/filing/offices/")

    assert [(r.office.name, r.served) for r in response.context["rows"]] == [
        ("廊坊市互联网信息办公室", 6)
    ]
    assert [r.office.name for r in response.context["inactive"]] == ["三河市互联网信息办公室"]


# --- Create, edit, deactivate ------------------------------------------------------------------


def test_create_saves_the_office_and_audits_the_fields(world: World, offices, client_for) -> None:
    response = client_for(world.users["propaganda"]).post(
        "/filing/offices/new/",
        {
            "name": "大厂县互联网信息办公室",
            "parent": offices["municipal"].pk,
            "address": "大厂回族自治县大安东街6号县委宣传部3楼",
            "duty_phone": "0316-8822623",
            "email": "dcjdxc@163.com",
            "contacts": "王云龙",
            "sort_order": "30",
        },
    )

    assert response.status_code == 302
    office = Office.objects.get(name="大厂县互联网信息办公室")
    assert (office.city, office.parent, office.is_active) == (CITY, offices["municipal"], True)
    assert (office.email, office.contacts, office.sort_order) == ("dcjdxc@163.com", "王云龙", 30)
    event = office_events()[-1]
    assert event.actor == world.users["propaganda"]
    assert event.object_id == str(office.pk)
    assert event.detail["event"] == "created"
    assert "email" in event.detail["fields"] and "name" in event.detail["fields"]


def test_bad_email_names_the_field_and_saves_nothing(world: World, offices, client_for) -> None:
    response = client_for(world.users["propaganda"]).post(
        "/filing/offices/new/",
        {
            "name": "永清县互联网信息办公室",
            "parent": offices["municipal"].pk,
            "email": "yq@",
            "sort_order": "0",
        },
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["email"]
    assert errors[0].startswith("电子邮箱：")
    assert "电子邮箱：" in response.content.decode()
    assert not Office.objects.filter(name="永清县互联网信息办公室").exists()
    assert len(office_events()) == 3  # the fixture's three


def test_a_second_office_of_the_same_name_is_refused(world: World, offices, client_for) -> None:
    response = client_for(world.users["propaganda"]).post(
        "/filing/offices/new/",
        {"name": "三河市互联网信息办公室", "parent": offices["municipal"].pk, "sort_order": "0"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [office_services.ERR_NAME_TAKEN]
    assert Office.objects.filter(name="三河市互联网信息办公室").count() == 1


def test_a_second_municipal_office_is_refused(world: World, offices, client_for) -> None:
    response = client_for(world.users["propaganda"]).post(
        "/filing/offices/new/", {"name": "廊坊市网信办（新）", "sort_order": "0"}
    )

    assert response.status_code == 400
    assert "每个城市只能有一个市级网信部门。" in response.content.decode()
    assert Office.objects.filter(city=CITY, parent__isnull=True).count() == 1


def test_edit_audits_only_the_changed_fields(world: World, offices, client_for) -> None:
    district = offices["district"]
    response = client_for(world.users["propaganda"]).post(
        f"/filing/offices/{district.pk}/",
        {
            "name": district.name,
            "parent": offices["municipal"].pk,
            "address": "三河市新址1号",
            "duty_phone": district.duty_phone,
            "email": "new@example.cn",
            "contacts": district.contacts,
            "sort_order": "10",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    district.refresh_from_db()
    assert (district.address, district.email) == ("三河市新址1号", "new@example.cn")
    event = office_events()[-1]
    assert event.detail == {"event": "updated", "fields": ["address", "email"]}
    assert event.actor == world.users["propaganda"]


def test_edit_page_shows_the_office(world: World, offices, client_for) -> None:
    response = client_for(world.users["propaganda"]).get(
        f"/filing/offices/{offices['district'].pk}/"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="三河市互联网信息办公室"' in html
    assert "电子邮箱" in html and "上级网信部门" in html


def test_the_municipal_office_is_never_switched_off(world: World, offices, client_for) -> None:
    municipal = offices["municipal"]

    response = client_for(world.users["propaganda"]).post(
        f"/filing/offices/{municipal.pk}/deactivate/"
    )

    assert response.status_code == 302
    assert error_messages(response) == [office_services.ERR_MUNICIPAL_INACTIVE]
    assert Office.objects.get(pk=municipal.pk).is_active


def test_the_edit_form_cannot_switch_the_municipal_office_off(
    world: World, offices, client_for
) -> None:
    municipal = offices["municipal"]

    response = client_for(world.users["propaganda"]).post(
        f"/filing/offices/{municipal.pk}/",
        {"name": municipal.name, "sort_order": "0", "email": municipal.email},
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [office_services.ERR_MUNICIPAL_INACTIVE]
    assert Office.objects.get(pk=municipal.pk).is_active


def test_a_district_with_no_municipal_office_is_refused(world: World, offices) -> None:
    with pytest.raises(ValidationError) as caught:
        office_services.office_update(
            office=offices["municipal"], actor=None, parent=offices["other"]
        )
    assert caught.value.message_dict == {"parent": [office_services.ERR_PARENT]}


def test_deactivate_audits(world: World, offices, client_for) -> None:
    client_for(world.users["propaganda"]).post(
        f"/filing/offices/{offices['district'].pk}/deactivate/"
    )

    event = office_events()[-1]
    assert event.detail == {"event": "updated", "fields": ["is_active"]}
    assert event.object_id == str(offices["district"].pk)


def test_services_refuse_a_user_outside_the_department(world: World, offices) -> None:
    for persona in ("sec_a", "auditor"):
        with pytest.raises(PermissionDenied):
            office_services.office_create(city=CITY, actor=world.users[persona], name="某办公室")
        with pytest.raises(PermissionDenied):
            office_services.account_office_set(
                account=world.accounts["a"], office=None, actor=world.users[persona]
            )
    assert not Office.objects.filter(name="某办公室").exists()


# --- An account's office -----------------------------------------------------------------------


def test_account_office_is_set_and_audited(world: World, offices, client_for) -> None:
    account = world.accounts["a"]
    updated_at = MediaAccount.objects.get(pk=account.pk).updated_at
    history = account.history.count()

    response = client_for(world.users["propaganda"]).post(
        f"/filing/accounts/{account.pk}/office/", {"office": offices["district"].pk}
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.filing_office == offices["district"]
    # Administrative, not filed data: no history entry, the "updated" time stays.
    assert account.history.count() == history
    assert account.updated_at == updated_at
    event = office_events()[-1]
    assert event.object_type == "mediaaccount" and event.object_id == str(account.pk)
    assert event.detail["from"] == "" and event.detail["to"] == "三河市互联网信息办公室"


def test_account_office_back_to_the_default(world: World, offices, client_for) -> None:
    account = world.accounts["a"]
    MediaAccount.objects.filter(pk=account.pk).update(filing_office=offices["district"])

    client_for(world.users["propaganda"]).post(
        f"/filing/accounts/{account.pk}/office/", {"office": ""}
    )

    account.refresh_from_db()
    assert account.filing_office is None
    assert office_events()[-1].detail["from"] == "三河市互联网信息办公室"


@pytest.mark.parametrize("which", ["other city", "switched off"])
def test_account_office_must_be_an_active_office_of_the_city(
    world: World, offices, client_for, which: str
) -> None:
    if which == "switched off":
        office_services.office_deactivate(office=offices["district"], actor=None)
        office = offices["district"]
    else:
        office = offices["other"]
    account = world.accounts["a"]
    events = len(office_events())

    response = client_for(world.users["propaganda"]).post(
        f"/filing/accounts/{account.pk}/office/", {"office": office.pk}
    )

    assert response.status_code == 302
    assert error_messages(response) and error_messages(response)[0].startswith("备案地址：")
    assert MediaAccount.objects.get(pk=account.pk).filing_office is None
    assert len(office_events()) == events


def test_account_office_service_checks_the_city(world: World, offices) -> None:
    with pytest.raises(ValidationError) as caught:
        office_services.account_office_set(
            account=world.accounts["a"], office=offices["other"], actor=world.users["propaganda"]
        )
    assert caught.value.message_dict == {"filing_office": [office_services.ERR_OFFICE_CHOICE]}


def test_account_page_shows_the_serving_office(world: World, offices, client_for) -> None:
    account = world.accounts["a"]
    url = account.get_absolute_url()

    department = client_for(world.users["propaganda"]).get(url).content.decode()
    secretary = client_for(world.users["sec_a"]).get(url).content.decode()

    for html in (department, secretary):
        assert "备案地址" in html and "廊坊市互联网信息办公室" in html
    assert f'action="/filing/accounts/{account.pk}/office/"' in department
    assert "三河市互联网信息办公室" in department  # one of the choices
    assert "/office/" not in secretary


def test_account_page_names_a_switched_off_office(world: World, offices, client_for) -> None:
    account = world.accounts["a"]
    MediaAccount.objects.filter(pk=account.pk).update(filing_office=offices["district"])
    office_services.office_deactivate(office=offices["district"], actor=None)

    html = client_for(world.users["sec_a"]).get(account.get_absolute_url()).content.decode()

    assert "原定的“三河市互联网信息办公室”已停用" in html


# --- The demo offices --------------------------------------------------------------------------


def test_seed_demo_offices_twice_creates_nothing_twice(world: World, settings) -> None:
    """Also: two running accounts of a demo unit on another campus go to a district office."""
    settings.CAMPUSMEDIA_FILING_CITY = "binzhou"
    unit = registry.unit_create(
        actor=None,
        code="hqjt",
        name="后勤集团",
        kind=UnitKind.DIRECT,
        duty=UnitDuty.NONE,
        parent=world.units["school"],
    )
    accounts = [
        make_account(unit=unit, name=name, status=AccountStatus.ACTIVE, account_id=f"gh_hq{n}")
        for n, name in enumerate(("后勤服务", "后勤餐饮", "后勤公寓"))
    ]

    first = seed_demo_offices()
    ids = set(Office.objects.values_list("pk", flat=True))
    events = AuditEvent.objects.count()
    second = seed_demo_offices()

    assert first == sum(len(entries) for entries in OFFICES.values()) == 11 + 7 + 12
    assert second == 0
    assert set(Office.objects.values_list("pk", flat=True)) == ids
    assert AuditEvent.objects.count() == events
    for city, entries in OFFICES.items():
        municipal = Office.objects.get(city=city, parent__isnull=True)
        assert municipal.name == entries[0][0]
        assert Office.objects.filter(city=city, parent=municipal).count() == len(entries) - 1
    assert Office.objects.get(name="三河市互联网信息办公室").contacts == "贾可玉"
    assert Office.objects.get(name="滨城区网络文化办公室").email == "bcwwb6610@126.com"
    district = [MediaAccount.objects.get(pk=a.pk).filing_office for a in accounts]
    assert [o.name if o else None for o in district] == ["滨城区网络文化办公室"] * 2 + [None]
