"""Forms of the member page: a tier-3 account's application, the secretariat's decision on it,
and a member's role. The rules are ``alliance.services``'; every message names its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alliance import services
from alliance.choices import MemberRole
from annual_review.forms import LabelledErrorsMixin
from campusmedia.models import MediaAccount

APPROVE, REJECT = "approve", "reject"


class AccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: MediaAccount) -> str:
        return f"{obj.name}（{obj.platform.name} · {obj.owner_unit.name}）"


class ApplyForm(LabelledErrorsMixin, forms.Form):
    """``accounts``: the tier-3 accounts the user may apply for (``permissions.may_apply``)."""

    account = AccountChoice(
        label=_("账号"),
        queryset=MediaAccount.objects.none(),
        empty_label=_("请选择账号"),
        error_messages={
            "required": _("请选择要申请加入的账号。"),
            "invalid_choice": _("该账号不能申请加入（已是成员、已提交申请，或不由你负责）。"),
        },
    )
    reason = forms.CharField(
        label=_("申请理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请写明加入联盟的理由。")},
    )

    def __init__(self, *args: Any, accounts: QuerySet[MediaAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]


class DecideForm(LabelledErrorsMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("审核结果"),
        choices=[(APPROVE, _("同意加入")), (REJECT, _("不予通过"))],
        error_messages={"required": _("请选择同意或不予通过。")},
    )
    role = forms.ChoiceField(
        label=_("成员类别"), choices=MemberRole.choices, initial=MemberRole.MEMBER, required=False
    )
    note = forms.CharField(label=_("审核意见"), max_length=2000, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == REJECT and not (data.get("note") or "").strip():
            self.add_error("note", gettext(services.ERR_DECISION_NOTE))
        return data

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == APPROVE


class RoleForm(LabelledErrorsMixin, forms.Form):
    role = forms.ChoiceField(
        label=_("成员类别"),
        choices=MemberRole.choices,
        error_messages={"invalid_choice": _("请选择理事单位或会员单位。")},
    )
