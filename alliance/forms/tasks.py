"""Forms of the coordinated publishing pages: posting a task and answering for one account.

The types and the obvious gaps (no link, no reason, no account chosen, a deadline already past)
are caught here so that nothing is written; the service checks the same again. Every message
names its field, in the services' words where they have one.
"""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alliance import selectors, services
from alliance.choices import TaskAudience
from annual_review.forms import LabelledErrorsMixin
from campusmedia.choices import AccountStatus, Tier, kinds_of_tier
from campusmedia.models import MediaAccount

DONE, DECLINED = "done", "declined"
_URL_INVALID = _("请输入有效的网址（以 http:// 或 https:// 开头）。")


def source_accounts() -> QuerySet[MediaAccount]:
    """Where a shared piece comes from: the school's running tier-1 accounts."""
    return (
        MediaAccount.objects.filter(
            status=AccountStatus.ACTIVE, owner_unit__kind__in=kinds_of_tier(Tier.ONE)
        )
        .select_related("platform")
        .order_by("name", "id")
    )


class SourceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: MediaAccount) -> str:
        return f"{obj.name}（{obj.platform.name}）"


class TaskForm(LabelledErrorsMixin, forms.Form):
    title = forms.CharField(
        label=_("任务标题"),
        max_length=100,
        error_messages={"required": _("请填写。")},
        widget=forms.TextInput(attrs={"placeholder": _("如：转发开学典礼直播")}),
    )
    source_account = SourceChoice(
        label=_("来源账号"),
        queryset=MediaAccount.objects.none(),
        required=False,
        empty_label=_("（不指定）"),
        help_text=_("发布原文的学校官方账号；发给全体成员时，该账号不会收到任务。"),
        error_messages={"invalid_choice": _("请选择运行中的一级平台账号。")},
    )
    link = forms.URLField(
        label=_("原文链接"),
        max_length=500,
        assume_scheme="https",
        error_messages={"required": _("请填写要转发的原文链接。"), "invalid": _URL_INVALID},
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    instructions = forms.CharField(
        label=_("转发要求"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    due_at = forms.DateTimeField(
        label=_("完成时限"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": _("请填写。"), "invalid": _("请按“年-月-日 时:分”填写。")},
    )
    audience = forms.ChoiceField(
        label=_("发送范围"),
        choices=TaskAudience.choices,
        initial=TaskAudience.ALL,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择全体成员或指定成员。")},
    )
    # Rendered by the template as a checkbox list grouped by unit (``members``).
    accounts = forms.ModelMultipleChoiceField(
        label=_("发送范围"),
        queryset=MediaAccount.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("所选账号 %(value)s 不是联盟成员。")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source_account"].queryset = source_accounts()  # type: ignore[attr-defined]
        self.fields["accounts"].queryset = selectors.members()  # type: ignore[attr-defined]

    @cached_property
    def members(self) -> list[MediaAccount]:
        """The member accounts to choose from, in unit order (for the grouped checkboxes)."""
        return list(selectors.members())

    @staticmethod
    def initial_values() -> dict[str, Any]:
        """Due by six the next evening: the usual rhythm of a shared post."""
        tomorrow = timezone.localtime() + datetime.timedelta(days=1)
        return {
            "due_at": tomorrow.replace(hour=18, minute=0, second=0, microsecond=0),
            "audience": TaskAudience.ALL,
        }

    def chosen_ids(self) -> set[str]:
        """The accounts ticked (as submitted), to keep them ticked when the form comes back."""
        if not self.is_bound:
            return set()
        data: QueryDict = self.data  # type: ignore[assignment]
        return set(data.getlist(self.add_prefix("accounts")))

    def clean_due_at(self) -> datetime.datetime:
        due_at: datetime.datetime = self.cleaned_data["due_at"]
        if due_at <= timezone.now():
            raise forms.ValidationError(gettext(services.ERR_DUE_PAST))
        return due_at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("audience") == TaskAudience.CHOSEN
        if chosen and not data.get("accounts") and "accounts" not in self.errors:
            self.add_error("accounts", gettext(services.ERR_NO_ACCOUNTS))
        return data

    def chosen_accounts(self) -> list[MediaAccount] | None:
        """None for every member, else the accounts ticked."""
        if self.cleaned_data["audience"] == TaskAudience.ALL:
            return None
        return list(self.cleaned_data["accounts"])


class AnswerForm(LabelledErrorsMixin, forms.Form):
    """One account's answer: shared (with the link of its post) or not (with the reason)."""

    answer = forms.ChoiceField(
        label=_("完成情况"), choices=[(DONE, _("已转发")), (DECLINED, _("不转发"))]
    )
    post_link = forms.URLField(
        label=_("转发链接"),
        max_length=500,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": _URL_INVALID},
    )
    reason = forms.CharField(label=_("未转发原因"), max_length=2000, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("answer") == DONE
            and not data.get("post_link")
            and "post_link" not in (self.errors)
        ):
            self.add_error("post_link", gettext(services.ERR_POST_LINK))
        if data.get("answer") == DECLINED and not (data.get("reason") or "").strip():
            self.add_error("reason", gettext(services.ERR_DECLINE_REASON))
        return data

    @property
    def done(self) -> bool:
        return self.cleaned_data["answer"] == DONE
