from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("普查登记表"),
        help_text=_("xlsx 工作簿或 UTF-8 编码的 CSV 文件，按模板填写。"),
        error_messages={
            "required": _("普查登记表：请选择要上传的文件。"),
            "empty": _("普查登记表：文件是空的。"),
        },
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet,text/csv"
            }
        ),
    )
