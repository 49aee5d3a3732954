from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from annual_review.forms import LabelledErrorsMixin
from filing.choices import Receipt


def first_error(error: ValidationError | Any) -> str:
    """The first message of a ValidationError or a form's ErrorDict, for a page message."""
    if isinstance(error, ValidationError):
        return str(error.messages[0]) if error.messages else ""
    for messages in error.values():
        return str(messages[0])
    return ""


class BatchCreateForm(LabelledErrorsMixin, forms.Form):
    note = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("如：12月集中报送")}),
    )


class ReceiptForm(LabelledErrorsMixin, forms.Form):
    receipt = forms.ChoiceField(
        label=_("回执"),
        choices=[(Receipt.FILED, Receipt.FILED.label), (Receipt.RETURNED, Receipt.RETURNED.label)],
    )
    note = forms.CharField(label=_("退回原因"), required=False, max_length=500)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("receipt") == Receipt.RETURNED and not data.get("note", "").strip():
            self.add_error("note", _("登记退回时必须填写。"))
        return data
