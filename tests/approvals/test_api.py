"""The request workflow through the API (approvals/api.py): filing, the steps, the access matrix,
masks, the inbox and the opening report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.functional import empty
from rest_framework.authtoken.models import Token

from approvals import services
from approvals.api import ProposedDataSerializer
from approvals.choices import RequestKind, RequestState
from approvals.models import AccountRequest, Attachment, ProposedMember
from approvals.storage import private_storage
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.masking import mask_email, mask_mobile
from campusmedia.models import AuditEvent, MediaAccount
from campusmedia.models.audit import AuditAction, AuditOutcome
from tests.approvals.conftest import open_request
from tests.conftest import World

pytestmark = pytest.mark.django_db
S = RequestState
YEAR = timezone.localdate().year
REQUESTS_URL = "/api/v1/requests/"
ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
STEPS = ("submit", "endorse", "approve", "return", "reject", "withdraw")
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
ADMIN_MOBILE = "13912345678"
ADMIN_EMAIL = "grad.admin@example.edu.cn"


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path) -> Iterator[None]:
    """Uploads land in a temporary directory, not in var/private."""
    settings.CAMPUSMEDIA_PRIVATE_ROOT = tmp_path
    private_storage._wrapped = empty
    yield
    private_storage._wrapped = empty


def api_client(world: World, persona: str) -> Client:
    """A client authenticated by token (no session), or anonymous."""
    client = Client()
    user = world.users.get(persona)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client


def post_json(client: Client, url: str, body: dict[str, Any] | None = None):
    return client.post(url, body or {}, content_type="application/json")


def request_url(pk: int, step: str = "") -> str:
    return f"{REQUESTS_URL}{pk}/{step + '/' if step else ''}"


def open_body(world: World, *, mobile: str = ADMIN_MOBILE, **data: Any) -> dict[str, Any]:
    return {
        "kind": RequestKind.OPEN,
        "owner_unit": world.units["a"].pk,
        "data": {
            "name": "计算机学院研究生会",
            "platform": "wechat",
            "account_type": "订阅号",
            "content_categories": ["news"],
            "content_forms": ["text", "image"],
            "function_description": "发布学院新闻与通知",
            "operator_count": 3,
            **data,
        },
        "team": [
            {"role": TeamRole.SUPERVISOR, "name": "研会分管领导", "office_phone": "010-62751000"},
            {
                "role": TeamRole.ADMINISTRATOR,
                "name": "研会管理员",
                "mobile": mobile,
                "email": ADMIN_EMAIL,
                "wechat_id": "grad_admin",
                "is_student": True,
                "expected_end": f"{YEAR + 2}-07-01",
            },
        ],
        "reason": "研究生会需要独立发布通知",
    }


def submitted(world: World, **data: Any) -> AccountRequest:
    """A tier-2 request of college A, filed by sec_a and waiting for head_a."""
    return services.request_submit(
        account_request=open_request(world, **data), actor=world.users["sec_a"]
    )


# --- The journey ------------------------------------------------------------------------------


def test_tier2_open_journey(world: World) -> None:
    """sec_a files and submits, head_a endorses, propaganda approves, sec_a reports the opening."""
    sec_a, head_a = api_client(world, "sec_a"), api_client(world, "head_a")
    propaganda = api_client(world, "propaganda")

    response = post_json(sec_a, REQUESTS_URL, open_body(world))
    assert response.status_code == 201, response.json()
    body = response.json()
    pk = body["id"]
    assert body["state"] == S.DRAFT
    assert body["kind"] == RequestKind.OPEN
    assert body["owner_unit"]["id"] == world.units["a"].pk
    assert body["data"]["platform"] == "wechat"
    assert body["actions"] == ["submit", "withdraw"]
    assert [m["name"] for m in body["team"]] == ["研会分管领导", "研会管理员"]

    body = post_json(sec_a, request_url(pk, "submit")).json()
    assert body["state"] == S.SUBMITTED
    assert body["submitted_by"] == "sec_a"
    body = post_json(head_a, request_url(pk, "endorse"), {"comment": "同意"}).json()
    assert body["state"] == S.ENDORSED
    response = post_json(propaganda, request_url(pk, "approve"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == S.APPROVED
    assert body["approval_number"] == f"XCB-{YEAR}-0001"
    assert [(s["action"], s["target_state"]) for s in body["steps"]] == [
        ("create", S.DRAFT),
        ("submit", S.SUBMITTED),
        ("endorse", S.ENDORSED),
        ("approve", S.APPROVED),
    ]
    assert body["steps"][2]["comment"] == "同意"
    assert body["actions"] == []

    account = AccountRequest.objects.get(pk=pk).account
    assert account is not None
    assert account.status == AccountStatus.APPROVED
    assert body["account"] == {"id": account.pk, "name": "计算机学院研究生会", "status": "approved"}

    pledge = SimpleUploadedFile("承诺书.pdf", PDF_BYTES, content_type="application/pdf")
    response = sec_a.post(
        f"/api/v1/accounts/{account.pk}/report-opening/",
        {
            "account_id": "gh_cs_grad",
            "opened_on": timezone.localdate().isoformat(),
            "pledge": pledge,
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == AccountStatus.ACTIVE
    account.refresh_from_db()
    assert (account.status, account.account_id) == (AccountStatus.ACTIVE, "gh_cs_grad")
    attachment = Attachment.objects.get(account=account)
    assert (attachment.kind, attachment.original_name) == ("pledge", "承诺书.pdf")


def test_approving_before_the_endorsement_is_a_conflict(world: World) -> None:
    req = submitted(world)
    response = post_json(api_client(world, "propaganda"), request_url(req.pk, "approve"))
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "待初审" in detail and "不能执行" in detail
    req.refresh_from_db()
    assert (req.state, req.approval_number) == (S.SUBMITTED, "")


def test_return_needs_a_comment(world: World) -> None:
    req = submitted(world)
    head_a = api_client(world, "head_a")
    response = post_json(head_a, request_url(req.pk, "return"), {"comment": "  "})
    assert response.status_code == 400
    assert "意见" in response.json()["comment"][0]
    req.refresh_from_db()
    assert req.state == S.SUBMITTED

    response = post_json(head_a, request_url(req.pk, "return"), {"comment": "请补充功能定位"})
    assert response.status_code == 200
    assert response.json()["state"] == S.RETURNED
    assert response.json()["steps"][-1]["comment"] == "请补充功能定位"


def test_reject_needs_a_comment(world: World) -> None:
    req = submitted(world)
    response = post_json(api_client(world, "head_a"), request_url(req.pk, "reject"))
    assert response.status_code == 400
    assert "comment" in response.json()
    req.refresh_from_db()
    assert req.state == S.SUBMITTED


def test_steps_are_post_only(world: World) -> None:
    req = submitted(world)
    client = api_client(world, "head_a")
    for step in STEPS:
        assert client.get(request_url(req.pk, step)).status_code == 405
    req.refresh_from_db()
    assert req.state == S.SUBMITTED


# --- Filing ---------------------------------------------------------------------------------


def test_create_with_a_bad_mobile_is_400_and_saves_nothing(world: World) -> None:
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, open_body(world, mobile="12345"))
    assert response.status_code == 400
    assert "手机" in response.json()["mobile"][0]
    assert not AccountRequest.objects.exists()
    assert not ProposedMember.objects.exists()


def test_create_with_an_unknown_platform_is_400_naming_it(world: World) -> None:
    response = post_json(
        api_client(world, "sec_a"), REQUESTS_URL, open_body(world, platform="myspace")
    )
    assert response.status_code == 400
    assert "platform" in response.json()["data"]
    assert not AccountRequest.objects.exists()


def test_create_without_a_name_is_400_naming_it(world: World) -> None:
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, open_body(world, name=""))
    assert response.status_code == 400
    assert "name" in response.json()
    assert not AccountRequest.objects.exists()


def test_create_for_a_unit_out_of_sight_is_400(world: World) -> None:
    body = {**open_body(world), "owner_unit": world.units["b"].pk}
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 400
    assert "owner_unit" in response.json()
    assert not AccountRequest.objects.exists()


def test_change_of_an_account_out_of_sight_is_400(world: World) -> None:
    body = {
        **open_body(world),
        "kind": RequestKind.CHANGE,
        "account": world.accounts["b"].pk,
    }
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 400
    assert "account" in response.json()
    assert not AccountRequest.objects.exists()


@pytest.mark.parametrize("persona", ["head_a", "auditor"])
def test_readers_cannot_file(world: World, persona: str) -> None:
    response = post_json(api_client(world, persona), REQUESTS_URL, open_body(world))
    assert response.status_code == 403
    assert not AccountRequest.objects.exists()


def test_anonymous_cannot_file(world: World) -> None:
    response = post_json(Client(), REQUESTS_URL, open_body(world))
    assert response.status_code in (401, 403)
    assert not AccountRequest.objects.exists()


def test_close_needs_a_reason(world: World) -> None:
    body = {
        "kind": RequestKind.CLOSE,
        "owner_unit": world.units["a"].pk,
        "account": world.accounts["a"].pk,
    }
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 400
    assert "停办原因" in response.json()["reason"][0]
    assert not AccountRequest.objects.exists()


def test_change_keeps_what_the_body_leaves_out(world: World) -> None:
    """A change names only what changes; the account's other values and its team stay."""
    account = world.accounts["a"]
    body = {
        "kind": RequestKind.CHANGE,
        "owner_unit": world.units["a"].pk,
        "account": account.pk,
        "data": {"follower_count": 5000},
    }
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 201, response.json()
    req = AccountRequest.objects.get(pk=response.json()["id"])
    assert req.data == {**services.account_data(account), "follower_count": 5000}
    team = {(m.role, m.person_id) for m in req.team.all()}
    assert team == {
        (TeamRole.SUPERVISOR, world.supervisors["a"].pk),
        (TeamRole.ADMINISTRATOR, world.admins["a"].pk),
    }


def test_a_team_member_named_by_person_is_taken_from_the_record(world: World) -> None:
    body = open_body(world)
    body["team"][1] = {"role": TeamRole.ADMINISTRATOR, "person": world.admins["a"].pk}
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 201, response.json()
    member = ProposedMember.objects.get(role=TeamRole.ADMINISTRATOR)
    admin = world.admins["a"]
    assert member.person == admin
    assert (member.name, member.mobile, member.email) == (admin.name, admin.mobile, admin.email)
    shown = response.json()["team"][1]
    assert (shown["person"], shown["mobile"]) == (admin.pk, admin.mobile_masked)


def test_a_person_out_of_sight_cannot_be_named(world: World) -> None:
    body = open_body(world)
    body["team"][1] = {"role": TeamRole.ADMINISTRATOR, "person": world.admins["b"].pk}
    response = post_json(api_client(world, "sec_a"), REQUESTS_URL, body)
    assert response.status_code == 400
    assert "person" in response.json()["team"]["1"]  # errors by the row's index
    assert not AccountRequest.objects.exists()


def test_proposed_data_covers_the_account_fields() -> None:
    assert set(ProposedDataSerializer().fields) == set(services.ACCOUNT_FIELDS)


# --- Masks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["sec_a", "head_a", "propaganda", "auditor"])
def test_team_contacts_are_masked_in_the_detail(world: World, persona: str) -> None:
    pk = post_json(api_client(world, "sec_a"), REQUESTS_URL, open_body(world)).json()["id"]
    services.request_submit(
        account_request=AccountRequest.objects.get(pk=pk), actor=world.users["sec_a"]
    )
    response = api_client(world, persona).get(request_url(pk))
    assert response.status_code == 200
    admin = next(m for m in response.json()["team"] if m["role"] == TeamRole.ADMINISTRATOR)
    assert admin["mobile"] == mask_mobile(ADMIN_MOBILE) == "139****5678"
    assert admin["email"] == mask_email(ADMIN_EMAIL)
    text = response.content.decode()
    assert ADMIN_MOBILE not in text
    assert ADMIN_EMAIL not in text


# --- Access matrix (SECURITY.md, Authorization) ---------------------------------------------

# A submitted tier-2 request of college A, filed by sec_a, waiting for head_a.
SEES = {"sec_a", "head_a", "propaganda", "auditor"}
# Each step on that request. 404: cannot see it; 403: holds no right that could ever allow
# the step; 409: would have the right, but not in this state; 200: done.
STEP_STATUS: dict[str, dict[str, int]] = {
    "sec_a": {"submit": 409, "endorse": 403, "approve": 403, "return": 403, "reject": 403}
    | {"withdraw": 200},
    "head_a": {"submit": 403, "endorse": 200, "approve": 403, "return": 200, "reject": 200}
    | {"withdraw": 403},
    "sec_b": dict.fromkeys(STEPS, 404),
    # The department decides after the head: approving now is too early, and returning or
    # rejecting belongs to whoever the request waits for. It keeps every unit's accounts, but
    # withdraws only what it filed itself.
    "propaganda": {"submit": 409, "endorse": 403, "approve": 409, "return": 403, "reject": 403}
    | {"withdraw": 403},
    "league": dict.fromkeys(STEPS, 404),
    "auditor": dict.fromkeys(STEPS, 403),
    ANONYMOUS: dict.fromkeys(STEPS, 401),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_contains_the_request_only_for_those_who_see_it(world: World, persona: str) -> None:
    req = submitted(world)
    response = api_client(world, persona).get(REQUESTS_URL)
    if persona == ANONYMOUS:
        assert response.status_code == 401
        assert "results" not in response.json()
        return
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert (req.pk in ids) == (persona in SEES)


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail(world: World, persona: str) -> None:
    req = submitted(world)
    response = api_client(world, persona).get(request_url(req.pk))
    expected = 200 if persona in SEES else 401 if persona == ANONYMOUS else 404
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["id"] == req.pk
    else:
        assert "data" not in response.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_steps(world: World, persona: str) -> None:
    """Each step on a fresh request: the answer of the matrix, the state moved only on 200, and
    exactly the steps answered 200 are listed in the detail's ``actions``."""
    client = api_client(world, persona)
    for i, step in enumerate(STEPS):
        req = submitted(world, name=f"矩阵测试号{i}")
        listed = client.get(request_url(req.pk)).json().get("actions")
        response = post_json(client, request_url(req.pk, step), {"comment": "测试意见"})
        expected = STEP_STATUS[persona][step]
        assert response.status_code == expected, (persona, step, response.content)
        req.refresh_from_db()
        assert (req.state != S.SUBMITTED) == (expected == 200), (persona, step)
        if persona in SEES:
            assert (step in listed) == (expected == 200), (persona, step, listed)
        if expected == 409:
            assert response.json()["detail"]


def test_a_refused_step_is_audited(world: World) -> None:
    req = submitted(world)
    response = post_json(api_client(world, "auditor"), request_url(req.pk, "approve"))
    assert response.status_code == 403
    row = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED).latest("id")
    assert (row.actor, row.outcome) == (world.users["auditor"], AuditOutcome.DENIED)
    assert row.detail["path"] == request_url(req.pk, "approve")


def test_drafts_are_seen_by_their_keepers_only(world: World) -> None:
    draft = open_request(world)
    assert api_client(world, "sec_a").get(request_url(draft.pk)).status_code == 200
    assert api_client(world, "propaganda").get(request_url(draft.pk)).status_code == 200
    head_a = api_client(world, "head_a")
    assert head_a.get(request_url(draft.pk)).status_code == 404
    assert post_json(head_a, request_url(draft.pk, "withdraw")).status_code == 404
    assert draft.pk not in {r["id"] for r in head_a.get(REQUESTS_URL).json()["results"]}


@pytest.mark.parametrize("persona", PERSONAS)
def test_pdf(world: World, persona: str, monkeypatch) -> None:
    """Same access as the detail; contact data in full only for the unit's keepers and the
    department (the render itself is approvals/pdf.py's business)."""
    pdf = pytest.importorskip("approvals.pdf")
    calls: list[bool] = []

    def render(account_request: AccountRequest, *, masked: bool = False) -> bytes:
        calls.append(masked)
        return PDF_BYTES

    monkeypatch.setattr(pdf, "render_approval_form", render)
    req = submitted(world)
    response = api_client(world, persona).get(request_url(req.pk, "pdf"))
    expected = 200 if persona in SEES else 401 if persona == ANONYMOUS else 404
    assert response.status_code == expected
    if expected != 200:
        assert calls == []
        return
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="request-{req.pk}.pdf"'
    assert response["Cache-Control"] == "no-store"
    assert response.content == PDF_BYTES
    assert calls == [persona in ("head_a", "auditor")]


def test_pdf_renders(world: World) -> None:
    pytest.importorskip("approvals.pdf")
    req = submitted(world)
    response = api_client(world, "sec_a").get(
        request_url(req.pk, "pdf"), HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


# --- Lists ----------------------------------------------------------------------------------


def test_list_shape_and_filters(world: World, league_sec) -> None:
    draft = open_request(world, name="草稿号")
    waiting = submitted(world, name="待签号")
    sub_unit = services.request_submit(
        account_request=open_request(world, unit_key="a_sub", name="实验中心视频号"),
        actor=world.users["sec_a"],
    )
    client = api_client(world, "sec_a")

    body = client.get(REQUESTS_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    row = next(r for r in body["results"] if r["id"] == waiting.pk)
    assert row["display_name"] == "待签号"
    assert (row["state"], row["state_display"]) == (S.SUBMITTED, "待初审")
    assert (row["tier"], row["submitted_by"]) == (2, "sec_a")

    def ids(**params: Any) -> set[int]:
        response = client.get(REQUESTS_URL, params)
        assert response.status_code == 200
        return {r["id"] for r in response.json()["results"]}

    assert ids(state="draft") == {draft.pk}
    assert ids(state="bogus") == {draft.pk, waiting.pk, sub_unit.pk}  # unknown: ignored
    assert ids(kind="open") == {draft.pk, waiting.pk, sub_unit.pk}
    assert ids(kind="close") == set()
    assert ids(unit=world.units["a_sub"].pk) == {sub_unit.pk}
    assert ids(unit=world.units["a"].pk) == {draft.pk, waiting.pk, sub_unit.pk}
    assert ids(unit=world.units["b"].pk) == set()  # a filter never widens the scope

    head_a = api_client(world, "head_a")
    inbox = {r["id"] for r in head_a.get(REQUESTS_URL, {"inbox": 1}).json()["results"]}
    assert inbox == {waiting.pk, sub_unit.pk}
    assert ids(inbox=1) == set()  # sec_a waits for nobody's request


def test_list_query_count_does_not_grow_with_rows(world: World) -> None:
    client = api_client(world, "sec_a")

    def count_queries() -> tuple[int, int]:
        client.get(REQUESTS_URL)  # warm: token, content types
        with CaptureQueriesContext(connection) as queries:
            response = client.get(REQUESTS_URL)
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    for i in range(3):
        submitted(world, name=f"计数号{i}")
    few, rows = count_queries()
    assert rows == 3
    for i in range(3, 10):
        submitted(world, name=f"计数号{i}")
    many, rows = count_queries()
    assert rows == 10
    assert many == few


def test_detail_query_count_does_not_grow_with_steps(world: World) -> None:
    client = api_client(world, "propaganda")
    req = submitted(world)
    client.get(request_url(req.pk))
    with CaptureQueriesContext(connection) as before:
        client.get(request_url(req.pk))
    req = services.request_return(account_request=req, actor=world.users["head_a"], comment="改")
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    with CaptureQueriesContext(connection) as after:
        response = client.get(request_url(req.pk))
    assert len(response.json()["steps"]) == 4
    assert len(after) == len(before)


# --- Reporting the opening ------------------------------------------------------------------


def _report(client: Client, account: MediaAccount, **fields: Any):
    data = {
        "account_id": "lab_weibo_01",
        "opened_on": timezone.localdate().isoformat(),
        "pledge": SimpleUploadedFile("pledge.pdf", PDF_BYTES, content_type="application/pdf"),
        **fields,
    }
    return client.post(f"/api/v1/accounts/{account.pk}/report-opening/", data)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("sec_a", 200),
        ("head_a", 403),
        ("auditor", 403),
        ("sec_b", 404),
        ("league", 404),
        (ANONYMOUS, 401),
    ],
)
def test_report_opening_access(world: World, persona: str, expected: int) -> None:
    account = world.accounts["a_sub"]  # approved, not yet opened
    response = _report(api_client(world, persona), account)
    assert response.status_code == expected
    account.refresh_from_db()
    assert (account.status == AccountStatus.ACTIVE) == (expected == 200)
    assert Attachment.objects.filter(account=account).exists() == (expected == 200)


def test_report_opening_refuses_a_file_that_is_not_a_pdf_or_image(world: World) -> None:
    account = world.accounts["a_sub"]
    fake = SimpleUploadedFile("pledge.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = _report(api_client(world, "sec_a"), account, pledge=fake)
    assert response.status_code == 400
    assert "PDF" in response.json()["pledge"][0]
    account.refresh_from_db()
    assert account.status == AccountStatus.APPROVED
    assert not Attachment.objects.exists()


def test_report_opening_needs_id_date_and_pledge(world: World) -> None:
    account = world.accounts["a_sub"]
    response = api_client(world, "sec_a").post(
        f"/api/v1/accounts/{account.pk}/report-opening/", {"account_id": ""}
    )
    assert response.status_code == 400
    assert {"account_id", "opened_on", "pledge"} <= set(response.json())
    account.refresh_from_db()
    assert account.status == AccountStatus.APPROVED


def test_report_opening_of_an_active_account_is_400(world: World) -> None:
    response = _report(api_client(world, "sec_a"), world.accounts["a"])
    assert response.status_code == 400
    assert "account" in response.json()


# --- Schema ---------------------------------------------------------------------------------


def test_schema_lists_the_request_endpoints(world: World, client_for) -> None:
    response = client_for(world.users["sec_a"]).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/requests/" in paths
    assert "/api/v1/requests/{id}/return/" in paths
    assert "/api/v1/requests/{id}/pdf/" in paths
    assert "/api/v1/accounts/{id}/report-opening/" in paths
    params = {p["name"] for p in paths["/api/v1/requests/"]["get"]["parameters"]}
    assert {"state", "kind", "unit", "inbox", "page"} <= params
