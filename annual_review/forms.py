"""Forms of the review pages: opening a campaign, the unit's part of the 年检表, and the inputs of
the steps (a comment, the conclusion, the reason for a close order, a zero report's note).

Only the types are checked here; the rules (dates in order, original posts within all posts,
a comment where one is owed) are the services'. Every message names its field
(``粉丝量：请输入整数。``), as the services' own messages do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annual_review.choices import Outcome
from annual_review.models import ReviewForm
from annual_review.services import FORM_FIELDS, SUBMIT_REQUIRED

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def labelled(label: Any, message: Any) -> str:
    """``粉丝量：请输入整数。`` (a message that already names its field is left as it is)."""
    prefix = f"{label}："
    text = str(message)
    return text if text.startswith(prefix) else prefix + text


class LabelledErrorsMixin:
    """Prefix each field's error messages with the field's label, so a message read alone (in
    the summary at the top of the form, or by a screen reader) says which field it is about."""

    fields: dict[str, forms.Field]
    _errors: Any
    error_class: Any

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        if not self._errors:
            return
        for name, errors in list(self._errors.items()):
            field = self.fields.get(name)
            if field is None or field.label is None:
                continue
            self._errors[name] = self.error_class(
                [labelled(field.label, message) for message in errors],
                error_class="errorlist",
            )

    def add_service_error(self, name: str, message: str) -> None:
        """A service's message on the field it names (on top of the form otherwise)."""
        field = self.fields.get(name)
        if field is None:
            self.add_error(None, message)  # type: ignore[attr-defined]
        else:
            self.add_error(name, labelled(field.label, message))  # type: ignore[attr-defined]


class CampaignOpenForm(LabelledErrorsMixin, forms.Form):
    year = forms.IntegerField(
        label=_("年度"),
        min_value=2000,
        max_value=2100,
        error_messages={
            "required": _("请填写。"),
            "invalid": _("请填写 2000 至 2100 之间的年份。"),
            "min_value": _("请填写 2000 至 2100 之间的年份。"),
            "max_value": _("请填写 2000 至 2100 之间的年份。"),
        },
    )
    title = forms.CharField(
        label=_("名称"),
        max_length=100,
        required=False,
        help_text=_("留空则为“某年度校园新媒体年检”。"),
    )
    starts_on = forms.DateField(
        label=_("开始日期"),
        widget=_DATE,
        error_messages={"required": _("请填写。"), "invalid": _("请按“年-月-日”填写。")},
    )
    due_on = forms.DateField(
        label=_("截止日期"),
        widget=_DATE,
        error_messages={"required": _("请填写。"), "invalid": _("请按“年-月-日”填写。")},
    )
    instructions = forms.CharField(
        label=_("填报说明"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    @classmethod
    def initial_values(cls) -> dict[str, Any]:
        today = timezone.localdate()
        return {"year": today.year, "starts_on": today}


class ReviewFormForm(LabelledErrorsMixin, forms.ModelForm):
    """What the unit fills in (``services.FORM_FIELDS``), labelled as the model names it."""

    class Meta:
        model = ReviewForm
        fields = list(FORM_FIELDS)
        widgets = {
            "follower_count": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "post_count": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "original_post_count": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "incident_count": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
            "incidents": forms.Textarea(attrs={"rows": 3}),
            "training": forms.Textarea(attrs={"rows": 3}),
            "self_assessment": forms.Textarea(attrs={"rows": 5}),
            "next_year_plan": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {
            "registry_confirmed": _(
                "已核对本页的账号信息与管理队伍，与实际一致。如有变化，请先提交变更申请。"
            ),
            "follower_count": _("截至填报时的粉丝（关注）数。"),
            "post_count": _("本年度发布的全部内容条数。"),
            "incidents": _("没有则填“无”或留空。"),
        }
        error_messages = {
            name: {
                "invalid": _("请输入整数。"),
                "min_value": _("不能小于 0。"),
                "max_value": _("数值过大。"),
            }
            for name in ("follower_count", "post_count", "original_post_count", "incident_count")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Optional while the unit saves a draft, required for submitting (the service checks).
        for name in SUBMIT_REQUIRED:
            self.fields[name].submit_required = True  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        # The model's rules (and the check between figures) run in the service, under its lock.
        pass


class CommentForm(LabelledErrorsMixin, forms.Form):
    comment = forms.CharField(
        label=_("意见"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ConcludeForm(LabelledErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("结论"),
        choices=Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择合格、限期整改或不合格。"),
            "invalid_choice": _("请选择合格、限期整改或不合格。"),
        },
    )
    rectify_by = forms.DateField(
        label=_("整改期限"),
        required=False,
        widget=_DATE,
        error_messages={"invalid": _("请按“年-月-日”填写。")},
    )
    comment = forms.CharField(
        label=_("意见"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class OrderCloseForm(LabelledErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("理由"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ZeroReportForm(forms.Form):
    unit = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("说明"), required=False, max_length=200)
