"""The form for a new version of the charter. The rules (numbering, no effective date before the
latest version's) are ``alliance.services.charter_publish``'s; every message names its field."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import CharterVersion
from annual_review.forms import LabelledErrorsMixin


class CharterVersionForm(LabelledErrorsMixin, forms.Form):
    title = forms.CharField(
        label=_("标题"), max_length=100, error_messages={"required": _("请填写章程标题。")}
    )
    body = forms.CharField(
        label=_("正文"),
        max_length=50000,
        widget=forms.Textarea(attrs={"rows": 18}),
        error_messages={"required": _("请填写章程正文。")},
        help_text=_("空一行分段。"),
    )
    effective_on = forms.DateField(
        label=_("生效日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写。"), "invalid": _("请按“年-月-日”填写。")},
    )
    summary = forms.CharField(
        label=_("修订说明"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：增加互联互动的完成时限要求")}),
    )

    @staticmethod
    def initial_from(latest: CharterVersion | None) -> dict[str, Any]:
        """The latest version's text to edit, taking effect today (or on the latest version's
        date, if that is still to come: a version may not take effect before it)."""
        today = timezone.localdate()
        if latest is None:
            return {"title": _("新媒体联盟章程"), "effective_on": today}
        effective: datetime.date = max(today, latest.effective_on)
        return {"title": latest.title, "body": latest.body, "effective_on": effective}
