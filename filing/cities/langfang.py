"""廊坊市新媒体账号登记备案表 (seed 003, the attachment of the 廊坊市互联网信息办公室 notice).

Langfang files every platform: its 账号类型 row has boxes for 微信公众账号 and 手机APP, and
for any other platform 其他 is ticked with the platform's name written after it. The form asks
for the account's owner (账号所有人: name, ID number, WeChat ID, mobile), which for a unit
account is the unit's head, and the administrator's name, mobile and WeChat ID; it asks for no
e-mail address and no unit head's title.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from approvals.pdf import PRINT_LANGUAGE
from filing.cities import CityForm, Column
from filing.cities.binzhou import LONG_TEXT, _, display_date
from filing.data import FilingData

__all__ = ["FORM", "LangfangForm"]

# Platforms with a box of their own on the form; every other platform is 其他.
_BOXED_PLATFORMS = frozenset({"wechat", "app"})


def _kind_labels() -> dict[str, str]:
    """The 账号类型 boxes in the form's order."""
    return {"wechat": gettext("微信公众账号"), "app": gettext("手机APP"), "other": gettext("其他")}


class LangfangForm(CityForm):
    code = "langfang"
    city_name = _("廊坊市")
    title = _("廊坊市新媒体账号登记备案表")
    office_title = _("互联网信息办公室")
    platforms = None
    columns = [
        Column(_("账号"), "account_id"),
        Column(_("账号名（昵称）"), "name"),
        Column(_("账号类型"), "account_kind"),
        Column(_("平台"), "platform_name"),
        Column(_("账号主体"), "unit_name"),
        Column(_("地址"), "unit_address"),
        Column(_("功能简介"), "function_description"),
        Column(_("开通日期"), "opened_on"),
        Column(_("粉丝数量"), "follower_count"),
        Column(_("账号所有人姓名"), "owner_name"),
        Column(_("身份证号"), "owner_id_number"),
        Column(_("微信号"), "owner_wechat_id"),
        Column(_("手机"), "owner_mobile"),
        Column(_("管理员姓名"), "admin_name"),
        Column(_("管理员手机"), "admin_mobile"),
        Column(_("管理员微信号"), "admin_wechat_id"),
    ]

    def fields(self, data: FilingData) -> dict[str, Any]:
        # In the forms' language whatever the caller's: the values are fingerprinted.
        with translation.override(PRINT_LANGUAGE):
            kind = data.platform_code if data.platform_code in _BOXED_PLATFORMS else "other"
            owner = data.head  # a unit account belongs to the unit, answered for by its head
            admin = data.administrator
            return {
                "account_id": data.account_id,
                "name": data.name,
                "account_kind": _kind_labels()[kind],
                "platform_name": data.platform_name,
                "unit_name": data.unit_name,
                "unit_address": data.unit_address,
                "function_description": data.function_description,
                "opened_on": display_date(data.opened_on),
                "follower_count": data.follower_count,
                "owner_name": owner.name,
                "owner_id_number": owner.id_number,
                "owner_wechat_id": owner.wechat_id,
                "owner_mobile": owner.mobile,
                "admin_name": admin.name,
                "admin_mobile": admin.mobile,
                "admin_wechat_id": admin.wechat_id,
            }

    def context(self, fields: dict[str, Any]) -> dict[str, Any]:
        with translation.override(PRINT_LANGUAGE):
            labels = _kind_labels()
            chosen = fields.get("account_kind", "")
            # The paper puts the box after its label, and leaves room after 其他 for the name.
            kinds = [
                {
                    "label": label,
                    "box": "■" if label == chosen else "□",
                    "other": key == "other",
                }
                for key, label in labels.items()
            ]
            return {
                "f": fields,
                "title": str(self.title),
                "kinds": kinds,
                "long_function": len(fields.get("function_description", "")) > LONG_TEXT,
                "other_name": fields.get("platform_name", "") if chosen == labels["other"] else "",
            }


FORM = LangfangForm()
