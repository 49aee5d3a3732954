"""The auditor's filter (a GET form: reading it changes nothing)."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campusmedia.audit.selectors import object_type_choices
from campusmedia.models.audit import AuditAction, AuditOutcome

# A whole address or the start of one (``10.2.``, ``2001:db8:``): digits, hex, dots and colons.
IP_PREFIX = re.compile(r"^[0-9A-Fa-f.:]{1,45}$")


class AuditFilterForm(forms.Form):
    start = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    action = forms.ChoiceField(label=_("事件"), required=False)
    outcome = forms.ChoiceField(label=_("结果"), required=False)
    actor = forms.CharField(
        label=_("操作人"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("用户名包含")}),
    )
    object_type = forms.ChoiceField(label=_("对象类型"), required=False)
    object_id = forms.CharField(
        label=_("对象ID"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    ip = forms.CharField(
        label=_("来源IP"),
        required=False,
        max_length=45,
        widget=forms.TextInput(attrs={"placeholder": _("完整地址或前缀")}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[str, Any]]] = {
            "action": [("", _("全部事件")), *AuditAction.choices],
            "outcome": [("", _("全部结果")), *AuditOutcome.choices],
            "object_type": [("", _("全部类型")), *object_type_choices()],
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options
        self.label_suffix = ""

    def clean_ip(self) -> str:
        value: str = self.cleaned_data["ip"].strip()
        if value and not IP_PREFIX.match(value):
            raise ValidationError(_("来源IP：请填写 IP 地址或其开头部分，如 10.2."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("截止日期：不能早于起始日期。"))
        return data
