from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import AccountStatus, PersonalField, Tier
from campusmedia.selectors import RegistryFilter, platforms


@dataclass(frozen=True)
class FilterField:
    """One control of the registry's filter bar: a search box, or a select when it has options.

    The registry is the busiest page of the site; a Django form here (deep-copied fields,
    normalised choices, widgets rendered through templates) cost as much as the result table, so
    the bar is described by plain data and drawn by the ``filter_field`` tag.
    """

    name: str
    label: str | Promise
    value: str
    options: Sequence[tuple[Any, Any]] = ()
    placeholder: str | Promise = ""


def registry_filter_bar(
    filters: RegistryFilter, units: Iterable[tuple[int, str]]
) -> list[FilterField]:
    """The search box and the four selects, showing the filters in force (``filters``);
    ``units``: (id, name) of the units the user may filter by."""
    return [
        FilterField("q", _("搜索"), filters.q, placeholder=_("名称或账号ID")),
        FilterField(
            "platform",
            _("平台"),
            filters.platform,
            [("", _("全部平台")), *((p.code, p.name) for p in platforms())],
        ),
        FilterField(
            "tier", _("级别"), str(filters.tier or ""), [("", _("全部级别")), *Tier.choices]
        ),
        FilterField("unit", _("单位"), str(filters.unit or ""), [("", _("全部单位")), *units]),
        FilterField(
            "status",
            _("状态"),
            filters.status,
            [("", _("全部状态")), *AccountStatus.choices],
        ),
    ]


class RevealForm(forms.Form):
    field = forms.ChoiceField(label=_("信息项"), choices=PersonalField.choices)
    reason = forms.CharField(
        label=_("查看原因"),
        min_length=4,
        max_length=200,
        error_messages={
            "required": _("查看原因：请写明原因。"),
            "min_length": _("查看原因：请写明查看完整信息的原因（至少 4 个字）。"),
        },
        widget=forms.TextInput(attrs={"placeholder": _("如：报送市网信办备案材料")}),
    )


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续 5 次错误将锁定该账号 30 分钟。"),
        "inactive": _("该账号已停用。"),
    }
