"""Forms of the pre-publication pages: the request, the department's decision, the filing of
the published link. Only the types are checked here; the rules (content or link, times before
or after now, a comment for a return) are ``alliance.services``' and land on the same fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from alliance.choices import PrepubTopic
from annual_review.forms import LabelledErrorsMixin
from campusmedia.models import MediaAccount

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
_REQUIRED = {"required": _("请填写。")}
_URL_ERRORS = {"required": _("请填写。"), "invalid": _("请输入以 http:// 或 https:// 开头的网址。")}
_TIME_ERRORS = {"required": _("请填写。"), "invalid": _("请按“年-月-日 时:分”填写。")}


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.platform.name} · {obj.owner_unit.name}）"


class PrepubForm(LabelledErrorsMixin, forms.Form):
    """A new request (with ``accounts``: the active accounts the user answers for) or the
    change of one (without: the account of a request does not change)."""

    account = AccountChoiceField(
        label=_("发布账号"),
        queryset=MediaAccount.objects.none(),
        empty_label=_("请选择"),
        error_messages={**_REQUIRED, "invalid_choice": _("请选择你负责的运行中账号。")},
    )
    topic = forms.ChoiceField(
        label=_("内容类别"),
        choices=PrepubTopic.choices,
        widget=forms.RadioSelect,
        error_messages=_REQUIRED,
    )
    title = forms.CharField(label=_("标题"), max_length=100, error_messages=_REQUIRED)
    content = forms.CharField(
        label=_("拟发布内容"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("填写拟发布的文字，或在下面给出预览链接（至少一项）。"),
    )
    draft_link = forms.URLField(
        label=_("预览链接"),
        required=False,
        max_length=500,
        assume_scheme="https",
        error_messages=_URL_ERRORS,
        help_text=_("如公众号预览链接、网盘中的稿件链接。"),
    )
    planned_at = forms.DateTimeField(
        label=_("计划发布时间"),
        widget=_DATETIME,
        input_formats=_DATETIME_FORMATS,
        error_messages=_TIME_ERRORS,
    )

    def __init__(
        self, *args: Any, accounts: QuerySet[MediaAccount] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if accounts is None:
            del self.fields["account"]
        else:
            field = self.fields["account"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = accounts


class DecideForm(LabelledErrorsMixin, forms.Form):
    comment = forms.CharField(
        label=_("审批意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(LabelledErrorsMixin, forms.Form):
    comment = forms.CharField(label=_("撤回说明"), required=False, max_length=2000)


class FileForm(LabelledErrorsMixin, forms.Form):
    published_link = forms.URLField(
        label=_("发布链接"), max_length=500, assume_scheme="https", error_messages=_URL_ERRORS
    )
    published_at = forms.DateTimeField(
        label=_("发布时间"),
        required=False,
        widget=_DATETIME,
        input_formats=_DATETIME_FORMATS,
        error_messages=_TIME_ERRORS,
        help_text=_("留空则记为现在。"),
    )
