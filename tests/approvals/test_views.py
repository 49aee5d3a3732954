"""The request pages (approvals/views.py): who reaches which page and step (the matrix of
SECURITY.md, Authorization), and what each page leaves in the database."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.functional import empty
from PIL import Image

from approvals import services
from approvals.attachments import ERR_FILE_TYPE, attachment_add
from approvals.choices import AttachmentKind, RequestKind, RequestState, StepAction
from approvals.models import AccountRequest, Attachment, TeamChangeEvent
from approvals.storage import private_storage
from campusmedia import services as registry
from campusmedia.choices import AccountStatus, Role, TeamRole
from campusmedia.models import AuditEvent, MediaAccount, Platform, TeamMember, User
from campusmedia.models.audit import AuditAction
from tests.approvals.conftest import new_team, open_data, open_request
from tests.conftest import World, make_account, make_login

pytestmark = pytest.mark.django_db
S = RequestState

ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
LOGIN_URL = "/accounts/login/"
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
# scope → (unit key, the unit's secretary who files, name of the proposed account)
SCOPES = {
    "A": ("a", "sec_a", "计算机学院研究生会"),
    "B": ("b", "sec_b", "机械学院研究生会"),
}


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path) -> Iterator[None]:
    """Uploads land in a temporary directory, not in var/private."""
    settings.CAMPUSMEDIA_PRIVATE_ROOT = tmp_path
    private_storage._wrapped = empty
    yield
    private_storage._wrapped = empty


# --- Requests in the state a step needs, built through the services ---------------------------


def signer(world: World, scope: str) -> User:
    """Who signs first for the scope's college: head_a, or a head of college B made here (the
    personas have none, and B's requests must reach the propaganda department too)."""
    if scope == "A":
        return world.users["head_a"]
    user = User.objects.filter(username="head_b").first()
    if user is None:
        user = make_login("head_b")
        person = registry.person_create(actor=None, name="郑书记", unit=world.units["b"], user=user)
        registry.role_assign(person=person, unit=world.units["b"], role=Role.HEAD, actor=None)
    return user


def draft(world: World, scope: str) -> AccountRequest:
    unit_key, filer, name = SCOPES[scope]
    return open_request(world, unit_key, filer, name=name)


def submitted(world: World, scope: str) -> AccountRequest:
    filer = world.users[SCOPES[scope][1]]
    return services.request_submit(account_request=draft(world, scope), actor=filer)


def endorsed(world: World, scope: str) -> AccountRequest:
    return services.request_endorse(
        account_request=submitted(world, scope), actor=signer(world, scope), comment="同意"
    )


def returned(world: World, scope: str) -> AccountRequest:
    return services.request_return(
        account_request=submitted(world, scope), actor=signer(world, scope), comment="请补充"
    )


def state_of(account_request: AccountRequest) -> str:
    account_request.refresh_from_db()
    return account_request.state


def pdf_upload(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


# --- The access matrix --------------------------------------------------------------------------

LOGIN = "login"  # 302 to the login page, nothing changed
DONE = 302  # 302 to the object's page, and the change happened


def row(*cells: int | str) -> dict[str, int | str]:
    """One line of the table, in the order of PERSONAS."""
    assert len(cells) == len(PERSONAS)
    return dict(zip(PERSONAS, cells, strict=True))


# endpoint → scope → persona → expected. "A": an object of college A (in scope for sec_a and
# head_a); "B": one of college B filed by sec_b (out of scope for them, in scope for sec_b).
# The propaganda reviewer reads and keeps every unit's requests (GLOBAL_WRITE_ROLES), so it may
# also submit and upload (but withdraws only what it filed itself); the auditor reads everything
# and writes nothing; the Youth League approver signs only for school-level student
# organisations, so colleges are outside.
READ = {
    #        sec_a head_a sec_b propaganda league auditor anonymous
    "A": row(200, 200, 404, 200, 404, 200, LOGIN),
    "B": row(404, 404, 200, 200, 404, 200, LOGIN),
}
KEEP = {
    "A": row(DONE, 403, 404, DONE, 404, 403, LOGIN),
    "B": row(404, 404, DONE, DONE, 404, 403, LOGIN),
}
SIGN = {  # nobody among the personas signs for college B (head_b is not a persona)
    "A": row(403, DONE, 404, 403, 404, 403, LOGIN),
    "B": row(404, 404, 403, 403, 404, 403, LOGIN),
}
EXPECTED: dict[str, dict[str, dict[str, int | str]]] = {
    "detail": READ,
    # Drafts: only the unit's keepers (and the filer); the head and the auditor do not see them.
    "draft detail": {
        "A": row(200, 404, 404, 200, 404, 404, LOGIN),
        "B": row(404, 404, 200, 200, 404, 404, LOGIN),
    },
    "edit": {
        "A": row(200, 403, 404, 200, 404, 403, LOGIN),
        "B": row(404, 404, 200, 200, 404, 403, LOGIN),
    },
    "submit": KEEP,
    "endorse": SIGN,
    "approve": {
        "A": row(403, 403, 404, DONE, 404, 403, LOGIN),
        "B": row(404, 404, 403, DONE, 404, 403, LOGIN),
    },
    "return": SIGN,
    "reject": SIGN,
    # A reviewer keeps every unit but withdraws only what it filed itself.
    "withdraw": {
        "A": row(DONE, 403, 404, 403, 404, 403, LOGIN),
        "B": row(404, 404, DONE, 403, 404, 403, LOGIN),
    },
    "form.pdf": READ,
    "pledge.pdf": READ,
    "download": READ,
    "account file download": READ,
    "upload": KEEP,
    "opening": {
        "A": row(200, 403, 404, 200, 404, 403, LOGIN),
        "B": row(404, 404, 200, 200, 404, 403, LOGIN),
    },
    "team-change": KEEP,
}


@dataclass
class Target:
    """One endpoint on one object: how to call it and what a success changes."""

    method: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    done_url: str = ""  # where a successful POST redirects
    probe: Callable[[], Any] = lambda: None  # read again after the call
    after: Any = None  # the probe after a success (unchanged otherwise)


def _step(build: Callable[[World, str], AccountRequest], step: str, to: str, comment: str = ""):
    def target(world: World, scope: str) -> Target:
        req = build(world, scope)
        return Target(
            "post",
            f"/requests/{req.pk}/{step}/",
            {"comment": comment},
            done_url=req.get_absolute_url(),
            probe=lambda: state_of(req),
            after=to,
        )

    return target


def _page(build: Callable[[World, str], AccountRequest], suffix: str = ""):
    def target(world: World, scope: str) -> Target:
        return Target("get", f"/requests/{build(world, scope).pk}/{suffix}")

    return target


def _downloads() -> int:
    return AuditEvent.objects.filter(action=AuditAction.FILE_DOWNLOADED).count()


def _download(world: World, scope: str) -> Target:
    req = submitted(world, scope)
    attachment = attachment_add(
        account_request=req,
        kind=AttachmentKind.SIGNED_FORM,
        upload=pdf_upload(),
        actor=world.users[SCOPES[scope][1]],
    )
    return Target("get", f"/requests/attachments/{attachment.pk}/", probe=_downloads, after=1)


def _account_download(world: World, scope: str) -> Target:
    unit_key, filer, _name = SCOPES[scope]
    attachment = attachment_add(
        account=world.accounts[unit_key],
        kind=AttachmentKind.PLEDGE,
        upload=pdf_upload("pledge.pdf"),
        actor=world.users[filer],
    )
    return Target("get", f"/requests/attachments/{attachment.pk}/", probe=_downloads, after=1)


def _upload(world: World, scope: str) -> Target:
    req = submitted(world, scope)
    return Target(
        "post",
        f"/requests/{req.pk}/attachments/",
        {"kind": AttachmentKind.EVIDENCE, "file": pdf_upload()},
        done_url=req.get_absolute_url(),
        probe=lambda: Attachment.objects.filter(request=req).count(),
        after=1,
    )


def _opening(world: World, scope: str) -> Target:
    unit_key = SCOPES[scope][0]
    account = make_account(
        unit=world.units[unit_key], name=f"{world.units[unit_key].name}视频号", platform="douyin"
    )
    assert account.status == AccountStatus.APPROVED
    return Target("get", f"/requests/accounts/{account.pk}/opening/")


def _team_change(world: World, scope: str) -> Target:
    unit_key = SCOPES[scope][0]
    account = world.accounts[unit_key]
    member = TeamMember.objects.get(account=account, person=world.admins[unit_key])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    return Target(
        "post",
        f"/requests/accounts/{account.pk}/team-change/",
        {"member": member.pk, "happened_on": yesterday.isoformat(), "note": "调离"},
        done_url=account.get_absolute_url(),
        probe=lambda: TeamChangeEvent.objects.filter(account=account).count(),
        after=1,
    )


TARGETS: dict[str, Callable[[World, str], Target]] = {
    "detail": _page(submitted),
    "draft detail": _page(draft),
    "edit": _page(returned, "edit/"),
    "submit": _step(returned, "submit", S.SUBMITTED),
    "endorse": _step(submitted, "endorse", S.ENDORSED),
    "approve": _step(endorsed, "approve", S.APPROVED),
    "return": _step(submitted, "return", S.RETURNED, comment="请补充"),
    "reject": _step(submitted, "reject", S.REJECTED, comment="不符合要求"),
    "withdraw": _step(submitted, "withdraw", S.WITHDRAWN),
    "form.pdf": _page(submitted, "form.pdf"),
    "pledge.pdf": _page(submitted, "pledge.pdf"),
    "download": _download,
    "account file download": _account_download,
    "upload": _upload,
    "opening": _opening,
    "team-change": _team_change,
}
assert TARGETS.keys() == EXPECTED.keys()


@pytest.mark.parametrize("scope", ["A", "B"])
@pytest.mark.parametrize("endpoint", list(EXPECTED))
@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(world: World, client_for, persona: str, endpoint: str, scope: str) -> None:
    """Each cell of EXPECTED: the status, and the database changed exactly when it says DONE."""
    if endpoint.endswith(".pdf"):
        pytest.importorskip("approvals.pdf")
    expected = EXPECTED[endpoint][scope][persona]
    target = TARGETS[endpoint](world, scope)
    before = target.probe()
    client = client_for(world.users.get(persona))

    response = getattr(client, target.method)(target.url, target.data)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith(f"{LOGIN_URL}?next=")
    elif expected == DONE:
        assert response.status_code == 302
        assert response.url == target.done_url
        assert not [m for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    else:
        assert response.status_code == expected
    if expected == DONE or (expected == 200 and target.after is not None):
        assert target.probe() == target.after
    else:
        assert target.probe() == before
    if expected == 200 and endpoint.endswith(".pdf"):
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


def test_matrix_covers_every_persona_and_scope() -> None:
    for endpoint, by_scope in EXPECTED.items():
        assert set(by_scope) == {"A", "B"}, endpoint
        for cells in by_scope.values():
            assert tuple(cells) == PERSONAS, endpoint


# --- Helpers of the behaviour tests -------------------------------------------------------------


def page_values(response: HttpResponse) -> dict[str, Any]:
    """What a browser sends back from a request form page when nothing is touched."""
    context = response.context
    formset = context["team_formset"]
    forms = [context["data_form"], context["reason_form"], formset.management_form, *formset]
    if context["unit_form"] is not None:
        forms.append(context["unit_form"])
    values: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            values[bound.html_name] = "on" if value is True else value
    return values


def messages_of(response: HttpResponse, level: str = "error") -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == level]


def error_summary(response: HttpResponse) -> list[str]:
    """The lines of the form page's error summary (empty when there is none)."""
    html = response.content.decode()
    found = re.search(r'<div class="form-error-summary".*?</div>', html, re.S)
    if found is None:
        return []
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", found[0])]


def open_form(world: World, **overrides: Any) -> dict[str, Any]:
    """The open-request form of college A, filled in as sec_a would, with the submit button."""
    return {
        "owner_unit": world.units["a"].pk,
        "account-name": "计算机学院研究生会",
        "account-platform": Platform.objects.get(code="wechat").pk,
        "account-account_type": "订阅号",
        "account-content_categories": ["news"],
        "account-content_forms": ["text", "image"],
        "account-function_description": "发布学院新闻与通知",
        "account-operator_count": "3",
        "team-TOTAL_FORMS": "2",
        "team-INITIAL_FORMS": "2",
        "team-MIN_NUM_FORMS": "0",
        "team-MAX_NUM_FORMS": "20",
        "team-0-role": TeamRole.SUPERVISOR,
        "team-0-name": "研会分管领导",
        "team-0-office_phone": "010-62751000",
        "team-1-role": TeamRole.ADMINISTRATOR,
        "team-1-name": "研会管理员",
        "team-1-mobile": "13912345678",
        "team-1-email": "grad.admin@example.edu.cn",
        "reason": "研究生会需要独立发布通知",
        "submit": "1",
        **overrides,
    }


# --- Filing through the form --------------------------------------------------------------------


def test_open_request_filed_and_submitted_through_the_form(world: World, client_for) -> None:
    response = client_for(world.users["sec_a"]).post("/requests/new/open/", open_form(world))

    req = AccountRequest.objects.get()
    assert response.status_code == 302
    assert response.url == req.get_absolute_url()
    assert req.kind == RequestKind.OPEN
    assert req.state == S.SUBMITTED
    assert req.owner_unit == world.units["a"]
    assert req.created_by == req.submitted_by == world.users["sec_a"]
    assert req.data["name"] == "计算机学院研究生会"
    assert req.data["platform"] == "wechat"
    assert req.data["content_forms"] == ["text", "image"]
    assert req.reason == "研究生会需要独立发布通知"
    team = [(m.role, m.name, m.mobile) for m in req.team.all()]
    assert team == [
        (TeamRole.SUPERVISOR, "研会分管领导", ""),
        (TeamRole.ADMINISTRATOR, "研会管理员", "13912345678"),
    ]
    assert list(req.steps.values_list("action", flat=True)) == [
        StepAction.CREATE,
        StepAction.SUBMIT,
    ]


def test_open_request_saved_as_draft_without_the_submit_button(world: World, client_for) -> None:
    data = open_form(world)
    del data["submit"]
    data["save"] = ""

    response = client_for(world.users["sec_a"]).post("/requests/new/open/", data)

    req = AccountRequest.objects.get()
    assert response.status_code == 302
    assert req.state == S.DRAFT
    assert req.submitted_by is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"account-name": ""}, "账号名称：请填写账号名称（昵称）。"),
        ({"team-1-mobile": "12345"}, "管理队伍第 2 行 · 应为 11 位中国大陆手机号"),
        ({"team-0-name": ""}, "管理队伍第 1 行 · 姓名：请填写姓名。"),
    ],
    ids=["missing name", "bad mobile", "missing member name"],
)
def test_bad_input_is_refused_with_a_message_naming_the_field(
    world: World, client_for, overrides: dict[str, str], message: str
) -> None:
    response = client_for(world.users["sec_a"]).post(
        "/requests/new/open/", open_form(world, **overrides)
    )

    assert response.status_code == 400
    assert any(line.startswith(message) for line in error_summary(response)), error_summary(
        response
    )
    assert not AccountRequest.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("sec_a", 200), ("sec_b", 200), ("propaganda", 200), ("head_a", 403), ("auditor", 403)],
)
def test_new_open_form_needs_a_unit_to_keep(world: World, client_for, persona: str, status: int):
    response = client_for(world.users[persona]).get("/requests/new/open/")

    assert response.status_code == status
    if status == 200:
        assert response["Cache-Control"].count("no-store") == 1


def test_new_open_form_sends_anonymous_to_the_login(world: World, client_for) -> None:
    response = client_for(None).post("/requests/new/open/", open_form(world))

    assert response.status_code == 302
    assert response.url.startswith(f"{LOGIN_URL}?next=")
    assert not AccountRequest.objects.exists()


def test_outsider_cannot_file_for_college_a(world: World, client_for) -> None:
    """sec_b keeps college B only: college A is not a choice of the unit field."""
    response = client_for(world.users["sec_b"]).post("/requests/new/open/", open_form(world))

    assert response.status_code == 400
    assert list(response.context["unit_form"].errors) == ["owner_unit"]
    assert not AccountRequest.objects.exists()


def test_unit_outside_ones_keeping_gets_a_message_naming_the_field(
    world: World, client_for
) -> None:
    response = client_for(world.users["sec_b"]).post("/requests/new/open/", open_form(world))

    assert response.status_code == 400
    assert any(line.startswith("主办单位：") for line in error_summary(response)), error_summary(
        response
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [("sec_a", 200), ("head_a", 403), ("auditor", 403), ("sec_b", 404)],
)
def test_change_form_shows_the_registered_values(
    world: World, client_for, persona: str, status: int
) -> None:
    account = world.accounts["a"]

    response = client_for(world.users[persona]).get(f"/requests/new/change/?account={account.pk}")

    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "现登记：计算机学院官微" in html
        assert "现登记：gh_cs01" in html
        assert page_values(response)["account-name"] == "计算机学院官微"
    assert not AccountRequest.objects.exists()


# --- Steps through the pages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["submit/", "endorse/", "approve/", "return/", "reject/", "withdraw/", "attachments/"]
)
def test_get_on_a_step_is_not_allowed(world: World, client_for, path: str) -> None:
    req = submitted(world, "A")

    response = client_for(world.users["head_a"]).get(f"/requests/{req.pk}/{path}")

    assert response.status_code == 405
    assert state_of(req) == S.SUBMITTED
    assert req.steps.count() == 2


@pytest.mark.parametrize("suffix", ["", "form.pdf", "pledge.pdf"])
def test_post_on_a_read_only_page_is_not_allowed(world: World, client_for, suffix: str) -> None:
    req = submitted(world, "A")

    response = client_for(world.users["sec_a"]).post(f"/requests/{req.pk}/{suffix}")

    assert response.status_code == 405
    assert state_of(req) == S.SUBMITTED


def test_get_on_team_change_is_not_allowed(world: World, client_for) -> None:
    account = world.accounts["a"]

    response = client_for(world.users["sec_a"]).get(f"/requests/accounts/{account.pk}/team-change/")

    assert response.status_code == 405
    assert not TeamChangeEvent.objects.exists()


@pytest.mark.parametrize(
    ("persona", "build", "step", "message"),
    [
        ("sec_a", submitted, "submit", "当前状态（待初审）下不能执行“提交”。"),
        ("head_a", endorsed, "endorse", "当前状态（待宣传部决定）下不能执行“初审同意”。"),
        ("propaganda", submitted, "approve", "当前状态（待初审）下不能执行“审批通过”。"),
    ],
    ids=["submit twice", "endorse twice", "approve before endorse"],
)
def test_step_not_allowed_in_the_state_redirects_with_a_message(
    world: World,
    client_for,
    persona: str,
    build: Callable[[World, str], AccountRequest],
    step: str,
    message: str,
) -> None:
    req = build(world, "A")
    state, steps = req.state, req.steps.count()

    response = client_for(world.users[persona]).post(f"/requests/{req.pk}/{step}/")

    assert response.status_code == 302
    assert response.url == req.get_absolute_url()
    assert messages_of(response) == [message]
    assert state_of(req) == state
    assert req.steps.count() == steps
    assert req.approval_number == ""


def test_returned_for_changes_edited_and_submitted_again(world: World, client_for) -> None:
    head_a, sec_a = client_for(world.users["head_a"]), client_for(world.users["sec_a"])
    req = submitted(world, "A")

    response = head_a.post(f"/requests/{req.pk}/return/", {"comment": "请补充功能定位"})
    assert response.status_code == 302
    assert state_of(req) == S.RETURNED
    assert req.steps.last().comment == "请补充功能定位"

    page = sec_a.get(f"/requests/{req.pk}/edit/")
    assert page.status_code == 200
    values = page_values(page)
    values["account-function_description"] = "学院官方信息发布"
    values["team-1-wechat_id"] = "grad_admin_2"  # the supervisor's row stays as it was
    values["submit"] = "1"
    response = sec_a.post(f"/requests/{req.pk}/edit/", values)

    assert response.status_code == 302, error_summary(response)
    assert response.url == req.get_absolute_url()
    assert state_of(req) == S.SUBMITTED
    assert req.data["function_description"] == "学院官方信息发布"
    team = [(m.role, m.name, m.wechat_id) for m in req.team.all()]
    assert team == [
        (TeamRole.SUPERVISOR, "新分管领导", ""),
        (TeamRole.ADMINISTRATOR, "新管理员", "grad_admin_2"),
    ]
    actions = list(req.steps.values_list("action", flat=True))
    assert actions == [StepAction.CREATE, StepAction.SUBMIT, StepAction.RETURN, StepAction.SUBMIT]


def test_returned_request_edited_without_touching_the_team(world: World, client_for) -> None:
    """Pre-filled team rows are kept when left as they were (they used to be dropped)."""
    sec_a = client_for(world.users["sec_a"])
    req = returned(world, "A")
    values = page_values(sec_a.get(f"/requests/{req.pk}/edit/"))
    values["account-function_description"] = "学院官方信息发布"
    values["submit"] = "1"

    response = sec_a.post(f"/requests/{req.pk}/edit/", values)

    assert response.status_code == 302, error_summary(response)
    assert state_of(req) == S.SUBMITTED
    assert req.data["function_description"] == "学院官方信息发布"
    assert req.team.count() == 2


def test_change_request_of_account_fields_only(world: World, client_for) -> None:
    sec_a = client_for(world.users["sec_a"])
    account = world.accounts["a"]
    values = page_values(sec_a.get(f"/requests/new/change/?account={account.pk}"))
    values["account-function_description"] = "学院官方信息发布"
    values["submit"] = "1"

    response = sec_a.post(f"/requests/new/change/?account={account.pk}", values)

    assert response.status_code == 302, error_summary(response)
    req = AccountRequest.objects.get()
    assert req.kind == RequestKind.CHANGE
    assert req.account == account
    assert req.state == S.SUBMITTED
    assert req.data["function_description"] == "学院官方信息发布"
    assert req.before["function_description"] == account.function_description
    team = {(m.role, m.person_id) for m in req.team.all()}
    assert team == {
        (TeamRole.SUPERVISOR, world.supervisors["a"].pk),
        (TeamRole.ADMINISTRATOR, world.admins["a"].pk),
    }


def test_edit_keeps_team_rows_left_as_they_were(world: World, client_for) -> None:
    """An untouched third row is neither dropped nor refused: the team stays whole."""
    sec_a = client_for(world.users["sec_a"])
    team = [*new_team(), {"role": TeamRole.ADMINISTRATOR, "name": "第二管理员"}]
    req = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["a"],
        actor=world.users["sec_a"],
        data=open_data(),
        team=team,
    )
    values = page_values(sec_a.get(f"/requests/{req.pk}/edit/"))
    values["team-0-title"] = "副书记"
    values["team-1-wechat_id"] = "grad_admin_2"

    response = sec_a.post(f"/requests/{req.pk}/edit/", values)

    assert response.status_code == 302, error_summary(response)
    assert [m.name for m in req.team.all()] == ["新分管领导", "新管理员", "第二管理员"]


def test_edit_removes_a_team_row_ticked_for_deletion(world: World, client_for) -> None:
    sec_a = client_for(world.users["sec_a"])
    team = [*new_team(), {"role": TeamRole.ADMINISTRATOR, "name": "第二管理员"}]
    req = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["a"],
        actor=world.users["sec_a"],
        data=open_data(),
        team=team,
    )
    values = page_values(sec_a.get(f"/requests/{req.pk}/edit/"))
    values["team-2-DELETE"] = "on"

    response = sec_a.post(f"/requests/{req.pk}/edit/", values)

    assert response.status_code == 302, error_summary(response)
    assert state_of(req) == S.DRAFT
    assert [m.name for m in req.team.all()] == ["新分管领导", "新管理员"]


def test_return_without_a_comment_changes_nothing(world: World, client_for) -> None:
    req = submitted(world, "A")

    response = client_for(world.users["head_a"]).post(
        f"/requests/{req.pk}/return/", {"comment": "  "}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain == [(req.get_absolute_url(), 302)]
    assert services.ERR_COMMENT_REQUIRED in response.content.decode()
    assert any("意见" in m for m in messages_of(response))
    assert state_of(req) == S.SUBMITTED
    assert req.steps.count() == 2


def test_second_approve_finds_the_state_moved_on(world: World, client_for) -> None:
    req = endorsed(world, "A")
    propaganda = client_for(world.users["propaganda"])
    url = f"/requests/{req.pk}/approve/"

    first = propaganda.post(url, {"comment": ""})
    second = propaganda.post(url, {"comment": ""})

    assert first.status_code == second.status_code == 302
    assert messages_of(first) == []
    assert [m for m in messages_of(second) if "已通过" in m]
    assert state_of(req) == S.APPROVED
    numbered = AccountRequest.objects.exclude(approval_number="")
    assert list(numbered.values_list("approval_number", flat=True)) == [req.approval_number]
    assert MediaAccount.objects.filter(approval_number=req.approval_number).count() == 1
    assert req.steps.filter(action=StepAction.APPROVE).count() == 1


# --- Files ------------------------------------------------------------------------------------


def test_fake_pdf_is_refused(world: World, client_for, tmp_path) -> None:
    req = submitted(world, "A")
    fake = SimpleUploadedFile("x.pdf", b"not a pdf", content_type="application/pdf")

    response = client_for(world.users["sec_a"]).post(
        f"/requests/{req.pk}/attachments/", {"kind": AttachmentKind.EVIDENCE, "file": fake}
    )

    assert response.status_code == 302
    assert messages_of(response) == [ERR_FILE_TYPE]
    assert "PDF" in messages_of(response)[0]
    assert not Attachment.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_upload_to_a_withdrawn_request_is_refused(world: World, client_for) -> None:
    req = services.request_withdraw(
        account_request=submitted(world, "A"), actor=world.users["sec_a"]
    )
    client = client_for(world.users["sec_a"])
    assert client.get(req.get_absolute_url()).context["can_upload"] is False

    response = client.post(
        f"/requests/{req.pk}/attachments/", {"kind": AttachmentKind.EVIDENCE, "file": pdf_upload()}
    )

    assert response.status_code in (302, 403)
    assert not Attachment.objects.exists()


def png_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG", exif=exif)
    return out.getvalue()


def test_png_is_stored_re_encoded_without_exif(world: World, client_for) -> None:
    req = submitted(world, "A")
    data = png_with_exif()
    assert Image.open(io.BytesIO(data)).getexif()  # the upload does carry EXIF
    upload = SimpleUploadedFile("photo.png", data, content_type="image/png")

    response = client_for(world.users["sec_a"]).post(
        f"/requests/{req.pk}/attachments/", {"kind": AttachmentKind.EVIDENCE, "file": upload}
    )

    assert response.status_code == 302
    assert messages_of(response) == []
    attachment = Attachment.objects.get(request=req)
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "photo.png"
    assert "photo" not in attachment.file.name
    with attachment.file.open("rb") as stored:
        content = stored.read()
    assert b"SecretCamera" not in content
    image = Image.open(io.BytesIO(content))
    assert image.size == (8, 8)
    assert not image.getexif()
    assert "exif" not in image.info


def test_download_is_an_attachment_and_audited(world: World, client_for) -> None:
    req = submitted(world, "A")
    attachment = attachment_add(
        account_request=req,
        kind=AttachmentKind.SIGNED_FORM,
        upload=pdf_upload("审批表.pdf"),
        actor=world.users["sec_a"],
    )

    response = client_for(world.users["head_a"]).get(f"/requests/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES
    event = AuditEvent.objects.get(action=AuditAction.FILE_DOWNLOADED)
    assert event.actor == world.users["head_a"]
    assert event.object_id == str(req.pk)
    assert event.detail["attachment"] == attachment.pk


# --- The 3-day rule and the inbox --------------------------------------------------------------


def test_team_change_is_due_three_days_later_and_shown_to_the_head(
    world: World, client_for
) -> None:
    account = world.accounts["a"]
    member = TeamMember.objects.get(account=account, person=world.admins["a"])
    happened = timezone.localdate() - datetime.timedelta(days=1)

    response = client_for(world.users["sec_a"]).post(
        f"/requests/accounts/{account.pk}/team-change/",
        {"member": member.pk, "happened_on": happened.isoformat(), "note": "调离"},
    )

    assert response.status_code == 302
    assert response.url == account.get_absolute_url()
    event = TeamChangeEvent.objects.get()
    assert event.account == account
    assert event.person == world.admins["a"]
    assert event.role == TeamRole.ADMINISTRATOR
    assert event.happened_on == happened
    assert event.due_on == happened + datetime.timedelta(days=3)
    assert event.recorded_by == world.users["sec_a"]
    assert event.filed_at is None
    due = f"{event.due_on:%Y-%m-%d} 前报备"
    home = client_for(world.users["head_a"]).get("/").content.decode()
    assert "计算机学院管理员" in home
    assert due in home
    assert due not in client_for(world.users["sec_b"]).get("/").content.decode()


@pytest.mark.parametrize(
    ("persona", "url_key", "member_key"), [("sec_a", "a", "b"), ("sec_b", "b", "a")]
)
def test_team_change_of_another_accounts_member_is_not_found(
    world: World, client_for, persona: str, url_key: str, member_key: str
) -> None:
    """The member is looked up on the account of the URL: another unit's member is a 404."""
    member = TeamMember.objects.get(
        account=world.accounts[member_key], person=world.admins[member_key]
    )

    response = client_for(world.users[persona]).post(
        f"/requests/accounts/{world.accounts[url_key].pk}/team-change/",
        {"member": member.pk, "happened_on": timezone.localdate().isoformat()},
    )

    assert response.status_code == 404
    assert not TeamChangeEvent.objects.exists()


def test_inbox_of_head_a_lists_college_a_only(world: World, client_for) -> None:
    submitted(world, "A")
    submitted(world, "B")

    response = client_for(world.users["head_a"]).get("/requests/inbox/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "计算机学院研究生会" in html
    assert "机械学院研究生会" not in html
    assert [r.display_name for r in response.context["rows"]] == ["计算机学院研究生会"]


def inbox_queries(world: World, client: Client, waiting: int) -> int:
    for n in range(waiting - AccountRequest.objects.count()):
        services.request_submit(
            account_request=open_request(world, name=f"学院号{n:02d}"),
            actor=world.users["sec_a"],
        )
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/requests/inbox/")
    assert response.status_code == 200
    assert len(response.context["rows"]) == waiting
    return len(queries)


def test_inbox_query_count_does_not_grow_with_rows(world: World, client_for) -> None:
    client = client_for(world.users["head_a"])
    client.get("/requests/inbox/")  # warm the session and caches

    assert inbox_queries(world, client, 3) == inbox_queries(world, client, 12)
