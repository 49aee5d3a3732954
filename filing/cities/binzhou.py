"""滨州市微信公众账号登记表 (seed 000, 附件2 of 滨网办发[2017]1号).

Binzhou files WeChat official accounts only. The form asks for the account, its first
administrator (name, mobile, e-mail) and, in 单位用户填写栏, the unit and its head (name and
title) with the unit's own phone and address; the head's ID number goes with the materials, not
on the form. 个人用户填写栏 stays empty: the school files only unit accounts.

Rizhao's form (``filing.cities.rizhao``) is this one with a few rows more, so the helpers the two
share live here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db import models
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from approvals.pdf import PRINT_LANGUAGE, TickLines, _ticks
from campusmedia.choices import ContentCategory, ContentForm, choice_labels
from filing.cities import CityForm, Column
from filing.data import FilingData

__all__ = [
    "EMAIL_HEADER",
    "FORM",
    "BinzhouForm",
    "display_date",
    "email_parts",
    "labels_of",
    "tick_rows",
]

# The 内容 row of the paper form: two lines of five boxes.
_CATEGORIES_PER_LINE = 5
# Above this many characters a 功能定位 is printed smaller (小五), so that up to about twice as
# much still keeps the form on one page.
LONG_TEXT = 360


def _(message: str) -> str:
    """``gettext_lazy`` typed as the ``str`` that ``CityForm`` declares; a lazy string prints as
    one wherever the form's title and headers are used."""
    return cast(str, gettext_lazy(message))


def display_date(day: datetime.date | None) -> str:
    """A date as the forms print it, e.g. 2026年3月1日."""
    return date_format(day, "Y年n月j日") if day else ""


def labels_of(choices: type[models.Choices], chosen: Iterable[str]) -> list[str]:
    """The labels of ``chosen`` in the vocabulary's order, so that the order values were stored
    in does not change the fingerprint. Values the vocabulary lacks have no box to tick."""
    wanted = set(chosen)
    return [label for value, label in choice_labels(choices).items() if value in wanted]


def tick_rows(
    labels: Sequence[str], chosen: Iterable[str], *, per_line: int | None = None
) -> TickLines:
    """A checkbox row of the paper form: ``per_line`` boxes a line where the paper parts them
    so, else as many as fit."""
    picked = list(chosen)
    size = per_line or len(labels) or 1
    parts = [
        _ticks([(x, x) for x in labels[i : i + size]], picked) for i in range(0, len(labels), size)
    ]
    return TickLines(
        lines=[line for part in parts for line in part.lines],
        nowrap=all(part.nowrap for part in parts),
    )


def email_parts(address: str) -> tuple[str, str]:
    """An e-mail address as (local part, domain), for a template to break it before the @
    rather than anywhere."""
    local, at, domain = address.rpartition("@")
    return (local, domain) if at else (address, "")


def _yes_no(value: bool | None) -> str:
    """认证情况 as the form's boxes name it; empty when the registry does not know."""
    if value is None:
        return ""
    return gettext("是") if value else gettext("否")


# The paper's own word; Django's catalogue would print 电子邮件 for a bare "Email".
EMAIL_HEADER = cast(str, pgettext_lazy("登记表", "Email"))


class BinzhouForm(CityForm):
    code = "binzhou"
    city_name = _("滨州市")
    title = _("滨州市微信公众账号登记表")
    office_title = _("网络文化办公室")
    platforms = frozenset({"wechat"})
    columns = [
        Column(_("微信账号"), "account_id"),
        Column(_("微信名称（昵称）"), "name"),
        Column(_("类型"), "account_type"),
        Column(_("内容"), "content_categories"),
        Column(_("形式"), "content_forms"),
        Column(_("功能定位"), "function_description"),
        Column(_("开通日期"), "opened_on"),
        Column(_("认证情况"), "verified"),
        Column(_("管理员姓名"), "admin_name"),
        Column(_("手机"), "admin_mobile"),
        Column(EMAIL_HEADER, "admin_email"),
        Column(_("关注量"), "follower_count"),
        Column(_("单位名称"), "unit_name"),
        Column(_("单位类型"), "unit_kind"),
        Column(_("负责人"), "head_name"),
        Column(_("职务"), "head_title"),
        Column(_("联系方式"), "unit_contact"),
        Column(_("地址"), "unit_address"),
    ]
    # The paper's 类型 row: the WeChat platform's account types, printed as the platform
    # catalogue stores them.
    account_types = ("服务号", "订阅号")

    def fields(self, data: FilingData) -> dict[str, Any]:
        # Labels and dates in the forms' language whatever the caller's: the values are
        # fingerprinted, and a request in English must not make every account look changed.
        with translation.override(PRINT_LANGUAGE):
            admin = data.administrator
            return {
                "account_id": data.account_id,
                "name": data.name,
                "platform_name": data.platform_name,
                "account_type": data.account_type,
                "content_categories": labels_of(ContentCategory, data.content_categories),
                "content_forms": labels_of(ContentForm, data.content_forms),
                "function_description": data.function_description,
                "opened_on": display_date(data.opened_on),
                "verified": _yes_no(data.verified),
                "admin_name": admin.name,
                "admin_mobile": admin.mobile,
                "admin_email": admin.email,
                "follower_count": data.follower_count,
                "unit_name": data.unit_name,
                "unit_kind": data.unit_kind,
                "head_name": data.head.name,
                "head_title": data.head.title,
                # The unit's contact: its own phone, else its head's office phone (never a
                # private mobile: the form asks how to reach the unit).
                "unit_contact": data.unit_phone or data.head.office_phone,
                "unit_address": data.unit_address,
            }

    def context(self, fields: dict[str, Any]) -> dict[str, Any]:
        with translation.override(PRINT_LANGUAGE):
            context: dict[str, Any] = {
                "f": fields,
                "title": str(self.title),
                "types": tick_rows(self.account_types, [fields.get("account_type", "")]),
                "categories": tick_rows(
                    list(choice_labels(ContentCategory).values()),
                    fields.get("content_categories", []),
                    per_line=_CATEGORIES_PER_LINE,
                ),
                "long_function": len(fields.get("function_description", "")) > LONG_TEXT,
                "email": email_parts(fields.get("admin_email", "")),
                "verified": tick_rows([gettext("是"), gettext("否")], [fields.get("verified", "")]),
            }
            if "content_forms" in fields:
                context["forms"] = tick_rows(
                    list(choice_labels(ContentForm).values()), fields["content_forms"]
                )
        return context


FORM = BinzhouForm()
