"""日照市微信公众账号备案登记表 (seed 001, 附件1 of the 日照市互联网信息办公室 notice).

Rizhao files WeChat official accounts only, on Binzhou's form with three things more (the
administrator's WeChat ID, the number of operators, a date line under the title) and one less
(no 形式 row). 个人用户填写栏 stays empty: the school files only unit accounts.
"""

from __future__ import annotations

from typing import Any

from filing.cities import Column
from filing.cities.binzhou import EMAIL_HEADER, BinzhouForm, _
from filing.data import FilingData

__all__ = ["FORM", "RizhaoForm"]


class RizhaoForm(BinzhouForm):
    code = "rizhao"
    city_name = _("日照市")
    title = _("日照市微信公众账号备案登记表")
    office_title = _("互联网信息办公室")
    columns = [
        Column(_("微信账号"), "account_id"),
        Column(_("微信名称（昵称）"), "name"),
        Column(_("类型"), "account_type"),
        Column(_("内容"), "content_categories"),
        Column(_("功能定位"), "function_description"),
        Column(_("开通日期"), "opened_on"),
        Column(_("认证情况"), "verified"),
        Column(_("管理员姓名"), "admin_name"),
        Column(_("手机"), "admin_mobile"),
        Column(_("管理员微信号"), "admin_wechat_id"),
        Column(_("关注量"), "follower_count"),
        Column(EMAIL_HEADER, "admin_email"),
        Column(_("单位名称"), "unit_name"),
        Column(_("单位类型"), "unit_kind"),
        Column(_("负责人"), "head_name"),
        Column(_("职务"), "head_title"),
        Column(_("运营人数"), "operator_count"),
        Column(_("联系方式"), "unit_contact"),
        Column(_("地址"), "unit_address"),
    ]

    def fields(self, data: FilingData) -> dict[str, Any]:
        values = super().fields(data)
        del values["content_forms"]  # the form has no 形式 row
        values["admin_wechat_id"] = data.administrator.wechat_id
        values["operator_count"] = data.operator_count
        return values


FORM = RizhaoForm()
