"""The printable papers of a request (approvals/pdf.py), checked in the PDF itself with poppler:
page count, embedded fonts and the extracted text, not only the HTML behind them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from approvals import pdf, services
from approvals.choices import RequestKind
from approvals.models import AccountRequest
from campusmedia.choices import TeamRole
from campusmedia.masking import mask_email, mask_mobile
from tests.approvals.conftest import open_data
from tests.conftest import World, next_mobile

pytestmark = pytest.mark.django_db

POPPLER = ("pdfinfo", "pdffonts", "pdftotext")
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in POPPLER),
    reason="poppler-utils (pdfinfo, pdffonts, pdftotext) is not installed",
)


def typical_team() -> list[dict[str, object]]:
    """One supervising leader and two administrators, as on the paper form."""
    return [
        {
            "role": TeamRole.SUPERVISOR,
            "name": "钱书记",
            "title": "党委副书记",
            "office_phone": "0459-6503234",
            "mobile": next_mobile(),
            "email": "qian.shuji@example.edu.cn",
        },
        {
            "role": TeamRole.ADMINISTRATOR,
            "name": "赵晓明",
            "title": "宣传干事",
            "mobile": next_mobile(),
            "email": "zhao.xm@example.edu.cn",
            "wechat_id": "zhaoxm",
        },
        {
            "role": TeamRole.ADMINISTRATOR,
            "name": "孙丽",
            "title": "辅导员",
            "mobile": next_mobile(),
            "email": "sunli@example.edu.cn",
        },
    ]


def typical_request(world: World, name: str = "计算机学院研究生会") -> AccountRequest:
    return services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["a"],
        actor=world.users["sec_a"],
        data=open_data(name, function_description="发布学院新闻、通知公告与研究生培养相关信息。"),
        team=typical_team(),
    )


def approved(world: World, account_request: AccountRequest) -> AccountRequest:
    req = services.request_submit(account_request=account_request, actor=world.users["sec_a"])
    req = services.request_endorse(account_request=req, actor=world.users["head_a"], comment="同意")
    return services.request_approve(account_request=req, actor=world.users["propaganda"])


def poppler(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    target = ["-"] if tool == "pdftotext" else []
    result = subprocess.run(
        [tool, *args, str(path), *target], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode()


def page_count(data: bytes, tmp_path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", poppler("pdfinfo", data, tmp_path), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def embedded_cjk_fonts(data: bytes, tmp_path: Path) -> list[str]:
    """Names of the CJK fonts that ``pdffonts`` reports as embedded (``emb`` = yes)."""
    fonts = []
    for line in poppler("pdffonts", data, tmp_path).splitlines()[2:]:
        # name, type (has spaces), encoding, then the emb/sub/uni flags and the object id.
        match = re.match(r"^(\S+)\s.*?\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        if match and re.search(r"CJK|Noto", match.group(1)) and match.group(2) == "yes":
            fonts.append(match.group(1))
    return fonts


def text_of(data: bytes, tmp_path: Path) -> str:
    return poppler("pdftotext", data, tmp_path)


def compact(text: str) -> str:
    """The text without the line breaks and spaces that table cells put into it."""
    return "".join(text.split())


@needs_poppler
def test_approval_form_is_one_a4_page_with_embedded_cjk_fonts(world, tmp_path):
    data = pdf.render_approval_form(typical_request(world))

    assert data.startswith(b"%PDF")
    assert page_count(data, tmp_path) == 1
    assert re.search(r"^Page size:.*\(A4\)$", poppler("pdfinfo", data, tmp_path), re.MULTILINE)
    assert embedded_cjk_fonts(data, tmp_path), poppler("pdffonts", data, tmp_path)


@needs_poppler
def test_approval_form_prints_the_request(world, tmp_path):
    req = approved(world, typical_request(world))
    text = text_of(pdf.render_approval_form(req), tmp_path)

    assert "校园新媒体审批（备案）表" in text
    assert "计算机学院研究生会" in text
    assert "计算机学院" in text
    assert "■申请开通" in text
    assert "□已开通备案" in text
    assert "□停办" in text
    assert "■微信公众号" in text
    assert "■新闻发布" in text
    assert "审批号" in text
    assert req.approval_number
    assert req.approval_number in text
    assert "主办单位" in text
    assert "党委宣传部" in text
    assert "签字" in text
    assert "盖章" in text


@needs_poppler
def test_approval_form_without_a_decision_has_an_empty_number(world, tmp_path):
    text = text_of(pdf.render_approval_form(typical_request(world)), tmp_path)

    assert "审批号" in text
    assert f"{settings.CAMPUSMEDIA_APPROVAL_PREFIX}-" not in text


@needs_poppler
def test_approval_form_prints_contacts_in_full(world, tmp_path):
    req = typical_request(world)
    text = compact(text_of(pdf.render_approval_form(req), tmp_path))

    for member in req.team.all():
        assert member.name in text
        assert member.mobile in text
        assert member.email in text


@needs_poppler
def test_masked_form_hides_mobile_and_email(world, tmp_path):
    req = typical_request(world)
    text = compact(text_of(pdf.render_approval_form(req, masked=True), tmp_path))

    for member in req.team.all():
        assert member.name in text
        assert member.mobile not in text
        assert mask_mobile(member.mobile) in text
        assert member.email not in text
        assert mask_email(member.email) in text


@needs_poppler
def test_tier3_first_opinion_box_is_the_first_signers(world, league_sec, tmp_path):
    req = services.request_create(
        kind=RequestKind.OPEN,
        owner_unit=world.units["school_org"],
        actor=league_sec,
        data=open_data("校学生会视频号"),
        team=typical_team(),
    )
    text = compact(text_of(pdf.render_approval_form(req), tmp_path))

    assert "校团委意见" in text
    assert "主办单位意见" not in text
    assert "审核备案意见" in text
    # The pledge of a tier-3 account has the parent unit's seal line too, and still one page.
    pledge = pdf.render_pledge(req)
    assert "上级单位（盖章）" in compact(text_of(pledge, tmp_path))
    assert page_count(pledge, tmp_path) == 1


@needs_poppler
def test_change_form_ticks_change_and_lists_old_and_new_values(world, tmp_path):
    account = world.accounts["a"]
    req = services.request_create(
        kind=RequestKind.CHANGE,
        owner_unit=world.units["a"],
        account=account,
        actor=world.users["sec_a"],
        data={**services.account_data(account), "name": "计算机学院新官微"},
        team=services.team_of(account),
        reason="账号更名",
    )
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    data = pdf.render_approval_form(req)
    text = compact(text_of(data, tmp_path))

    assert page_count(data, tmp_path) == 1
    assert "■变更" in text
    assert "□申请开通" in text
    assert "计算机学院官微→计算机学院新官微" in text
    assert "变更原因" in text
    assert "账号更名" in text
    assert world.admins["a"].name in text


@needs_poppler
def test_close_form_prints_the_current_team_and_the_reason(world, tmp_path):
    req = services.request_create(
        kind=RequestKind.CLOSE,
        owner_unit=world.units["a"],
        account=world.accounts["a"],
        actor=world.users["sec_a"],
        reason="栏目调整，停止运营",
    )
    data = pdf.render_approval_form(req)
    text = compact(text_of(data, tmp_path))

    assert page_count(data, tmp_path) == 1
    assert "■停办" in text
    assert "停办理由" in text
    assert "栏目调整，停止运营" in text
    assert "计算机学院官微" in text
    assert world.supervisors["a"].name in text
    assert world.admins["a"].mobile in text


@needs_poppler
def test_markup_in_a_value_is_printed_as_text(world, tmp_path):
    req = typical_request(world, name="<b>x</b>")

    assert "<b>x</b>" in text_of(pdf.render_approval_form(req), tmp_path)
    assert "<b>x</b>" in text_of(pdf.render_pledge(req), tmp_path)


@needs_poppler
def test_pledge_is_one_page_with_the_account_and_team(world, tmp_path):
    req = typical_request(world)
    data = pdf.render_pledge(req)
    flat = compact(text_of(data, tmp_path))

    assert data.startswith(b"%PDF")
    assert page_count(data, tmp_path) == 1
    assert embedded_cjk_fonts(data, tmp_path)
    assert "网络信息安全承诺书" in flat
    assert "谁主管谁负责、谁运营谁负责" in flat
    assert "计算机学院研究生会" in flat
    assert "微信公众号（订阅号）" in flat
    assert "主办单位（盖章）：计算机学院" in flat
    assert f"在{settings.CAMPUSMEDIA_TEAM_CHANGE_DAYS}日内" in flat
    for member in req.team.all():
        assert member.name in flat
        assert member.mobile not in flat  # the pledge names the team, nothing more


def test_render_above_the_page_limit_is_refused(world, settings):
    settings.CAMPUSMEDIA_PDF_MAX_PAGES = 1
    req = typical_request(world)
    req.data["function_description"] = "发布学院新闻与通知。" * 600
    req.save()

    with pytest.raises(pdf.PdfTooLarge, match="超过了 1 页的上限"):
        pdf.render_approval_form(req)


def test_huge_content_is_refused_before_layout(world, settings):
    settings.CAMPUSMEDIA_PDF_MAX_PAGES = 1
    req = typical_request(world)
    req.data["function_description"] = "长" * 40_000
    req.save()

    with pytest.raises(pdf.PdfTooLarge, match="打印内容过长"):
        pdf.render_approval_form(req)


# --- The URL fetcher -----------------------------------------------------------------------------


def static_url(path: str) -> str:
    return f"{pdf.PRINT_BASE_URL}{settings.STATIC_URL.lstrip('/')}{path}"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/static/admin/css/base.css",
        "file:///etc/passwd",
        static_url("../../../../etc/passwd"),
        static_url("%2e%2e/%2e%2e/etc/passwd"),
        static_url("no/such/file.css"),
        f"{pdf.PRINT_BASE_URL}media/anything.png",
        "ftp://example.com/x",
    ],
)
def test_fetcher_refuses_anything_but_static_files_and_data(url):
    with pytest.raises(ValueError, match="静态文件"):
        pdf.StaticOnlyURLFetcher().fetch(url)


def test_fetcher_serves_a_static_file():
    response = pdf.StaticOnlyURLFetcher().fetch(static_url("admin/css/base.css"))

    assert response.content_type == "text/css"
    assert b"{" in response.read()


def test_fetcher_serves_data_urls():
    response = pdf.StaticOnlyURLFetcher().fetch("data:text/plain;base64,5a6h5om5")

    assert response.read().decode() == "审批"


@needs_poppler
def test_the_page_prints_contacts_in_full_only_for_those_who_file(world, client_for, tmp_path):
    from approvals import services

    req = services.request_submit(
        account_request=typical_request(world), actor=world.users["sec_a"]
    )
    mobile = next(m.mobile for m in req.team.all() if m.mobile)
    full = client_for(world.users["sec_a"]).get(f"/requests/{req.pk}/form.pdf")
    masked = client_for(world.users["auditor"]).get(f"/requests/{req.pk}/form.pdf")
    assert full.status_code == masked.status_code == 200
    assert mobile in text_of(full.content, tmp_path).replace(" ", "")
    assert mobile not in text_of(masked.content, tmp_path).replace(" ", "")
    assert mobile[:3] + "****" + mobile[-4:] in text_of(masked.content, tmp_path).replace(" ", "")
