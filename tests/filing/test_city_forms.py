"""The cities' registration forms (filing/cities/): what each form asks for and nothing more,
and how it prints, checked in the PDF itself with poppler like tests/approvals/test_pdf.py."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from approvals.pdf import html_to_pdf, print_html
from campusmedia import services
from campusmedia.models import MediaAccount
from filing.choices import ItemKind
from filing.cities import CityForm, available_cities, city_form
from filing.data import FilingData, filing_accounts, filing_data
from tests.conftest import ID_NUMBER, SOURCE, World, next_mobile

pytestmark = pytest.mark.django_db

CITIES = ["binzhou", "langfang", "rizhao"]
PRINTED_ON = "2026年3月5日"
DESCRIPTION = "发布计算机学院新闻动态、通知公告与学术活动预告，服务本院师生与校友。"

POPPLER = ("pdfinfo", "pdffonts", "pdftotext")
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in POPPLER),
    reason="poppler-utils (pdfinfo, pdffonts, pdftotext) is not installed",
)


@pytest.fixture
def filled(world: World) -> World:
    """College A's WeChat account with everything a city form can ask for filled in."""
    services.account_update(
        account=world.accounts["a"],
        actor=None,
        source=SOURCE,
        # Stored out of the vocabulary's order: the forms print (and fingerprint) its order.
        content_categories=["technical", "news"],
        content_forms=["video", "text"],
        function_description=DESCRIPTION,
        opened_on=datetime.date(2019, 9, 1),
        verification="yes",
        follower_count=12873,
        operator_count=4,
    )
    services.unit_update(
        unit=world.units["a"],
        actor=None,
        address="某某市大学路88号计算机楼302室",
        phone="0459-6503201",
    )
    world.people["head_a"] = services.person_update(
        person=world.people["head_a"],
        actor=None,
        mobile=next_mobile(),
        wechat_id="qian_sj",
        office_phone="0459-6503234",
    )
    world.admins["a"] = services.person_update(
        person=world.admins["a"], actor=None, wechat_id="cs_admin"
    )
    return world


def data_of(world: World, key: str) -> FilingData:
    accounts = list(filing_accounts(MediaAccount.objects.filter(pk=world.accounts[key].pk)))
    return next(filing_data(accounts))


def render(form: CityForm, fields: dict[str, Any], kind: str = ItemKind.CHANGE) -> bytes:
    context = {
        **form.context(fields),
        "kind": kind,
        "kind_label": ItemKind(kind).label,
        "printed_on": PRINTED_ON,
    }
    return html_to_pdf(print_html(form.template, context), ["base", form.template])


def poppler(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    target = ["-"] if tool == "pdftotext" else []
    result = subprocess.run(
        [tool, *args, str(path), *target], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode()


def fonts(data: bytes, tmp_path: Path) -> list[tuple[str, bool]]:
    """Every font ``pdffonts`` lists, with whether it is embedded."""
    found = []
    for line in poppler("pdffonts", data, tmp_path).splitlines()[2:]:
        # name, type (has spaces), encoding, then the emb/sub/uni flags and the object id.
        match = re.match(r"^(\S+)\s.*?\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        assert match is not None, line
        found.append((match.group(1), match.group(2) == "yes"))
    return found


def compact(text: str) -> str:
    """The text without the line breaks and spaces that table cells put into it."""
    return "".join(text.split())


def lines(data: bytes, tmp_path: Path) -> list[str]:
    """The page's text line by line as laid out, each without its spaces: a checkbox row or a
    row of the form is one line."""
    return [compact(line) for line in poppler("pdftotext", data, tmp_path, "-layout").splitlines()]


def all_values(fields: dict[str, Any]) -> str:
    return json.dumps(fields, ensure_ascii=False)


# --- The registry of cities ---------------------------------------------------------------------


def test_available_cities_are_the_three_forms():
    assert available_cities() == CITIES


@pytest.mark.parametrize("code", CITIES)
def test_each_city_module_defines_its_form(code):
    form = city_form(code)

    assert form.code == code
    assert form.template == f"cities/{code}"
    assert str(form.title).startswith(str(form.city_name))


def test_an_unknown_city_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="nowhere"):
        city_form("nowhere")


def test_binzhou_and_rizhao_file_wechat_accounts_and_langfang_every_platform(world):
    weibo, wechat = data_of(world, "propaganda"), data_of(world, "a")

    assert weibo.platform_code == "weibo"
    assert not city_form("binzhou").files(weibo)
    assert not city_form("rizhao").files(weibo)
    assert city_form("langfang").files(weibo)
    assert all(city_form(code).files(wechat) for code in CITIES)


# --- What each form asks for ----------------------------------------------------------------------


def test_binzhou_fields_are_what_its_form_asks(filled):
    admin = filled.admins["a"]

    assert city_form("binzhou").fields(data_of(filled, "a")) == {
        "account_id": "gh_cs01",
        "name": "计算机学院官微",
        "platform_name": "微信公众号",
        "account_type": "订阅号",
        "content_categories": ["新闻发布", "专业技术"],
        "content_forms": ["文字", "视频"],
        "function_description": DESCRIPTION,
        "opened_on": "2019年9月1日",
        "verified": "是",
        "admin_name": "计算机学院管理员",
        "admin_mobile": admin.mobile,
        "admin_email": "admin.cs@example.edu.cn",
        "follower_count": 12873,
        "unit_name": "计算机学院",
        "unit_kind": "学院",
        "head_name": "钱书记",
        "head_title": "党委书记",
        "unit_contact": "0459-6503201",
        "unit_address": "某某市大学路88号计算机楼302室",
    }


def test_rizhao_fields_add_the_wechat_id_and_operators_and_drop_the_forms(filled):
    admin = filled.admins["a"]

    assert city_form("rizhao").fields(data_of(filled, "a")) == {
        "account_id": "gh_cs01",
        "name": "计算机学院官微",
        "platform_name": "微信公众号",
        "account_type": "订阅号",
        "content_categories": ["新闻发布", "专业技术"],
        "function_description": DESCRIPTION,
        "opened_on": "2019年9月1日",
        "verified": "是",
        "admin_name": "计算机学院管理员",
        "admin_mobile": admin.mobile,
        "admin_wechat_id": "cs_admin",
        "admin_email": "admin.cs@example.edu.cn",
        "follower_count": 12873,
        "unit_name": "计算机学院",
        "unit_kind": "学院",
        "head_name": "钱书记",
        "head_title": "党委书记",
        "operator_count": 4,
        "unit_contact": "0459-6503201",
        "unit_address": "某某市大学路88号计算机楼302室",
    }


def test_langfang_fields_name_the_unit_head_as_the_owner(filled):
    head, admin = filled.people["head_a"], filled.admins["a"]

    assert city_form("langfang").fields(data_of(filled, "a")) == {
        "account_id": "gh_cs01",
        "name": "计算机学院官微",
        "account_kind": "微信公众账号",
        "platform_name": "微信公众号",
        "unit_name": "计算机学院",
        "unit_address": "某某市大学路88号计算机楼302室",
        "function_description": DESCRIPTION,
        "opened_on": "2019年9月1日",
        "follower_count": 12873,
        "owner_name": "钱书记",
        "owner_id_number": ID_NUMBER,
        "owner_wechat_id": "qian_sj",
        "owner_mobile": head.mobile,
        "admin_name": "计算机学院管理员",
        "admin_mobile": admin.mobile,
        "admin_wechat_id": "cs_admin",
    }


def test_personal_data_goes_only_to_the_form_that_asks_for_it(filled):
    """SECURITY.md: personal data leaves only in what the city form requires."""
    data = data_of(filled, "a")
    values = {code: all_values(city_form(code).fields(data)) for code in CITIES}
    head_mobile = filled.people["head_a"].mobile
    assert head_mobile

    # The unit head's ID number and mobile: Langfang's 账号所有人 only.
    assert ID_NUMBER in values["langfang"]
    assert head_mobile in values["langfang"]
    for code in ("binzhou", "rizhao"):
        assert ID_NUMBER not in values[code]
        assert head_mobile not in values[code]
    # The administrator's e-mail: Binzhou and Rizhao only; the WeChat ID: Rizhao and Langfang.
    assert "admin.cs@example.edu.cn" not in values["langfang"]
    assert "cs_admin" not in values["binzhou"]
    # The supervising leader appears on none of them.
    assert filled.supervisors["b"].name not in "".join(values.values())


def test_langfang_ticks_other_for_a_platform_without_a_box(world):
    fields = city_form("langfang").fields(data_of(world, "propaganda"))

    assert (fields["account_kind"], fields["platform_name"]) == ("其他", "微博")
    assert city_form("langfang").context(fields)["other_name"] == "微博"


@pytest.mark.parametrize("code", CITIES)
def test_fields_are_json_and_the_summary_columns_name_them(world, code):
    form = city_form(code)
    fields = form.fields(data_of(world, "a"))

    assert json.loads(json.dumps(fields)) == fields
    assert {"unit_name", "name", "account_id"} <= set(fields)
    assert {column.key for column in form.columns} <= set(fields)


@pytest.mark.parametrize("code", CITIES)
def test_fields_do_not_change_with_the_language_of_the_request(filled, code):
    """They are fingerprinted: a batch started in English must not refile every account."""
    form, data = city_form(code), data_of(filled, "a")
    with translation.override("zh-hans"):
        chinese = form.fields(data)
    with translation.override("en"):
        english = form.fields(data)

    assert english == chinese


# --- How each form prints -------------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("code", CITIES)
def test_each_form_is_one_a4_page_in_noto_cjk(filled, tmp_path, code):
    form = city_form(code)
    data = render(form, form.fields(data_of(filled, "a")))

    info = poppler("pdfinfo", data, tmp_path)
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    assert re.search(r"^Page size:.*\(A4\)$", info, re.MULTILINE)
    embedded = fonts(data, tmp_path)
    assert embedded
    assert all(re.search(r"Noto.*CJK", name) and emb for name, emb in embedded), embedded
    text = compact(poppler("pdftotext", data, tmp_path))
    assert str(form.title) in text
    assert "计算机学院官微" in text
    assert "备案事项：变更备案" in text


@needs_poppler
def test_binzhou_prints_its_boxes_and_leaves_the_individual_rows_empty(filled, tmp_path):
    form = city_form("binzhou")
    printed = lines(render(form, form.fields(data_of(filled, "a"))), tmp_path)

    assert "类型□服务号■订阅号" in printed
    assert "□便民服务□会员服务□征婚交友■新闻发布□广告业务" in printed
    assert "□政策法规□社会资讯■专业技术□微社区□其他" in printed
    assert "■文字□图片□语音■视频" in "".join(printed)
    assert "开通日期2019年9月1日认证情况■是□否" in printed
    assert "单位用户填写栏" in printed
    # Nothing is written beside the individuals' labels.
    assert "开办人姓名工作单位" in printed
    assert "联系方式身份证号" in printed
    assert ID_NUMBER not in "".join(printed)


@needs_poppler
def test_rizhao_prints_the_date_under_its_title(filled, tmp_path):
    form = city_form("rizhao")
    text = compact(poppler("pdftotext", render(form, form.fields(data_of(filled, "a"))), tmp_path))

    assert f"{form.title}{PRINTED_ON}" in text
    assert "cs_admin" in text
    assert "运营人数4" in text


@needs_poppler
def test_langfang_prints_the_owner_and_the_confirmation(world, tmp_path):
    form = city_form("langfang")
    data = render(form, form.fields(data_of(world, "propaganda")), kind=ItemKind.NEW)
    text = compact(poppler("pdftotext", data, tmp_path))

    assert "账号类型微信公众账号□手机APP□其他微博■" in lines(data, tmp_path)
    assert "宣传部新闻号" in text
    assert "签名盖章确认" in text
    assert "以上信息均真实有效" in text
    assert "备案事项：新增备案" in text


# --- The covering letter ------------------------------------------------------------------------


def letter_context(count: int) -> dict[str, Any]:
    kinds = [ItemKind.NEW, ItemKind.CHANGE, ItemKind.CLOSE]
    return {
        "office_name": "滨州市网络文化办公室",
        "school_name": "某某大学",
        "sender_name": "党委宣传部",
        "sender_phone": "0543-3190121",
        "sender_address": "办公北楼210室",
        "form_title": "滨州市微信公众账号登记表",
        "batch_label": "2026年第3批",
        "items": [
            {
                "index": number,
                "name": f"测试账号{number:03d}",
                "platform": "微信公众号",
                "account_id": f"gh_test{number:03d}",
                "unit": "计算机学院",
                "kind_label": kinds[number % 3].label,
            }
            for number in range(1, count + 1)
        ],
        "counts": [(kind.label, count // 3) for kind in kinds],
        "materials": ["计算机学院-组织机构代码证或统一社会信用代码证.pdf"],
        "dated": PRINTED_ON,
    }


@needs_poppler
def test_the_covering_letter_has_a_table_row_per_account(tmp_path):
    context = letter_context(45)
    html = print_html("filing_letter", context)
    data = html_to_pdf(html, ["base", "filing_letter"])
    text = compact(poppler("pdftotext", data, tmp_path))

    assert html.count("<tr>") == 1 + 45
    assert "关于报送某某大学新媒体账号备案材料的函" in text
    assert "滨州市网络文化办公室：" in text
    assert "《滨州市微信公众账号登记表》" in text
    assert all(f"测试账号{number:03d}" in text for number in range(1, 46))
    assert "新增备案15个、变更备案15个、注销备案15个" in text
    assert "计算机学院-组织机构代码证或统一社会信用代码证.pdf" in text
    assert "0543-3190121" in text
    assert f"某某大学党委宣传部{PRINTED_ON}" in text
    assert re.search(r"^Page size:.*\(A4\)$", poppler("pdfinfo", data, tmp_path), re.MULTILINE)
