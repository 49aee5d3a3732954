"""Forms of the offices pages, the account's office and the materials panel. Every message names
its field (``电子邮箱：应为有效的电子邮箱地址……``); the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from annual_review.forms import LabelledErrorsMixin
from campusmedia.models import Office
from filing.choices import MaterialKind

_REQUIRED = _("请填写。")
ACCEPT = ".pdf,.jpg,.jpeg,.png"


class OfficeForm(LabelledErrorsMixin, forms.ModelForm):
    """An office of the city the school files in (the city itself is not a field)."""

    class Meta:
        model = Office
        fields = [
            "name",
            "parent",
            "address",
            "duty_phone",
            "email",
            "contacts",
            "sort_order",
            "is_active",
        ]
        error_messages = {
            "name": {"required": _REQUIRED},
            "sort_order": {"invalid": _("请输入不小于 0 的整数。")},
        }
        help_texts = {
            "contacts": _("多人用顿号分隔，如：张伟、王芳。"),
            "duty_phone": _("照通知填写，可带区号，如 0543-3162200。"),
            "sort_order": _("数字小的排在前面。"),
        }

    def __init__(self, *args: Any, city: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = Office.objects.of_city(city).filter(parent__isnull=True)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        parent = self.fields["parent"]
        parent.queryset = parents  # type: ignore[attr-defined]
        parent.empty_label = _("无（本部门是市级网信部门）")  # type: ignore[attr-defined]
        parent.help_text = _("区县网信部门选择本市的市级网信部门。")
        self.fields["email"].widget.attrs.update({"inputmode": "email", "autocomplete": "off"})
        if not self.instance.pk:
            del self.fields["is_active"]  # a new office is active; switching off is an action


class AccountOfficeForm(LabelledErrorsMixin, forms.Form):
    office = forms.ModelChoiceField(
        label=_("备案地址"),
        queryset=Office.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("请选择本市有效的网信部门。")},
    )

    def __init__(self, *args: Any, offices: list[Office], default_label: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["office"]
        field.queryset = Office.objects.filter(pk__in=[o.pk for o in offices])  # type: ignore[attr-defined]
        field.empty_label = default_label  # type: ignore[attr-defined]


class MaterialUploadForm(LabelledErrorsMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("材料类型"),
        choices=MaterialKind.choices,
        error_messages={"invalid_choice": _("无效的选项。"), "required": _("请选择。")},
    )
    file = forms.FileField(
        label=_("文件"),
        error_messages={
            "required": _("请选择要上传的文件。"),
            "empty": _("文件是空的。"),
            "invalid": _("没有收到文件，请重新选择。"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
