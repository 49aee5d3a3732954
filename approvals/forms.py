"""Forms of the request pages: the account's proposed data, the team editor, step comments,
uploads, the opening report and the team-change record."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.choices import AttachmentKind, RequestKind
from approvals.models import ProposedMember
from approvals.services import ACCOUNT_FIELDS, MEMBER_FIELDS
from campusmedia.choices import ContentCategory, ContentForm
from campusmedia.models import MediaAccount, Platform, Unit


class AccountDataForm(forms.ModelForm):
    """The account fields of the campus form (DOMAIN.md section 3), validated like the registry.

    The model's own validators give the Chinese message per field; uniqueness and the rules
    between fields are checked again by the service against the registry.
    """

    content_categories = forms.MultipleChoiceField(
        label=_("内容类别"),
        choices=ContentCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    content_forms = forms.MultipleChoiceField(
        label=_("内容形式"),
        choices=ContentForm.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    url = forms.URLField(label=_("主页链接"), required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = MediaAccount
        fields = list(ACCOUNT_FIELDS)
        widgets = {
            "planned_opening_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "opened_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "function_description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        platform = self.fields["platform"]
        assert isinstance(platform, forms.ModelChoiceField)
        platform.queryset = Platform.objects.order_by("sort_order", "name")
        platform.empty_label = _("请选择平台")
        platform.error_messages["required"] = _("平台：请选择平台。")
        self.fields["name"].error_messages["required"] = _("账号名称：请填写账号名称（昵称）。")
        if kind == RequestKind.OPEN:
            # Not open yet: the id and opening date come with the opening report.
            for name in (
                "account_id",
                "opened_on",
                "follower_count",
                "verification",
                "verification_note",
            ):
                del self.fields[name]
        else:
            del self.fields["planned_opening_on"]
        if kind == RequestKind.RECORD:
            self.fields["account_id"].required = True
            self.fields["account_id"].error_messages["required"] = _(
                "账号ID：已开通的账号请填写账号ID。"
            )
            self.fields["opened_on"].required = True
            self.fields["opened_on"].error_messages["required"] = _("开通日期：请填写开通日期。")

    def clean_opened_on(self) -> Any:
        value = self.cleaned_data.get("opened_on")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("开通日期：不能晚于今天。"))
        return value

    def _post_clean(self) -> None:
        # Keep the field checks; the registry's rules across fields run in the service.
        pass


class UnitChoiceForm(forms.Form):
    owner_unit = forms.ModelChoiceField(
        label=_("主办单位"),
        queryset=Unit.objects.none(),
        empty_label=_("请选择主办单位"),
        error_messages={
            "required": _("主办单位：请选择主办单位。"),
            "invalid_choice": _("主办单位：所选单位不在你负责的范围内。"),
        },
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("申请说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ProposedMemberForm(forms.ModelForm):
    person_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = ProposedMember
        # An existing person travels in the hidden ``person_id``, checked by the service.
        fields = [name for name in MEMBER_FIELDS if name != "person"]
        widgets = {
            "expected_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = _("姓名：请填写姓名。")


class BaseTeamFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict[str, Any]]:
        """The rows to keep, in order, as the service takes them: every pre-filled row (left as
        it is or edited) and every added row that was filled in, unless ticked for deletion."""
        rows = []
        for index, form in enumerate(self.forms):
            if self.can_delete and form.cleaned_data.get("DELETE"):
                continue
            if index >= self.initial_form_count() and not form.has_changed():
                continue
            data = dict(form.cleaned_data)
            data.pop("DELETE", None)
            person_id = data.pop("person_id", None)
            if person_id:
                data["person"] = person_id
            rows.append(data)
        return rows


TeamFormSet = forms.formset_factory(
    ProposedMemberForm, formset=BaseTeamFormSet, extra=0, can_delete=True, max_num=20
)


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("意见"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类型"), choices=AttachmentKind.choices)
    file = forms.FileField(
        label=_("文件"),
        error_messages={"required": _("附件：请选择要上传的文件。")},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )


class OpeningForm(forms.Form):
    account_id = forms.CharField(label=_("账号ID"), max_length=100, required=False)
    opened_on = forms.DateField(
        label=_("开通日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("开通日期：请按“年-月-日”填写。")},
    )
    pledge = forms.FileField(
        label=_("网络信息安全承诺书（签字盖章）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )


class TeamChangeForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    happened_on = forms.DateField(
        label=_("离任日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("离任日期：请填写离任日期。"),
            "invalid": _("离任日期：请按“年-月-日”填写。"),
        },
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def clean_happened_on(self) -> Any:
        value = self.cleaned_data["happened_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("离任日期：不能晚于今天。"))
        return value
