"""The department's form for publishing an edition (the public pages take only ``?q=``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from publication.services import NOTE_MAX_CHARS


class EditionPublishForm(forms.Form):
    note = forms.CharField(
        label=_("说明"),
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("可选，随本期名录公开，例如“2026年春季学期名录”。请勿填写个人信息。"),
        error_messages={"max_length": _("说明：请不要超过 %(limit_value)d 个字。")},
    )
