from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from campusmedia.choices import AccountStatus, PersonalField, Tier
from campusmedia.selectors import platforms


class RegistryFilterForm(forms.Form):
    """Renders the registry's search and filters; ``RegistryFilter.from_params`` reads them."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("名称或账号ID"), "type": "search"}),
    )
    platform = forms.ChoiceField(label=_("平台"), required=False)
    tier = forms.TypedChoiceField(
        label=_("级别"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("全部级别")), *Tier.choices],
    )
    unit = forms.TypedChoiceField(label=_("单位"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *AccountStatus.choices]
    )

    def __init__(self, *args, units=(), **kwargs):
        """``units``: (id, name) pairs of the units the user may filter by."""
        super().__init__(*args, **kwargs)
        platform_field = cast(forms.ChoiceField, self.fields["platform"])
        platform_field.choices = [("", _("全部平台")), *((p.code, p.name) for p in platforms())]
        unit_field = cast(forms.ChoiceField, self.fields["unit"])
        unit_field.choices = [("", _("全部单位")), *units]


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
