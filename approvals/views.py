"""Request pages. Thin: ask the access layer, bind a form, call a service, redirect or render."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import can_proceed

from approvals import permissions, services
from approvals.attachments import attachment_add
from approvals.choices import RequestKind, RequestState
from approvals.forms import (
    AccountDataForm,
    BaseTeamFormSet,
    CommentForm,
    OpeningForm,
    ReasonForm,
    TeamChangeForm,
    TeamFormSet,
    UnitChoiceForm,
    UploadForm,
)
from approvals.models import AccountRequest, Attachment, Notification
from approvals.routing import first_signer_label
from approvals.selectors import field_changes
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import MediaAccount, TeamMember, Unit, User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access, Action, get_access, get_for

S = RequestState


def _user(request: HttpRequest) -> User:
    """The signed-in user (every page here is behind the login requirement)."""
    return cast(User, request.user)


# step in the URL → (service, fsm transition, the step asked of permissions.may)
STEPS: dict[str, tuple[Any, str, str]] = {
    "submit": (services.request_submit, "submit", "submit"),
    "endorse": (services.request_endorse, "endorse", "endorse"),
    "approve": (services.request_approve, "approve", "decide"),
    "return": (services.request_return, "return_for_changes", "review"),
    "reject": (services.request_reject, "reject", "review"),
    "withdraw": (services.request_withdraw, "withdraw", "withdraw"),
}


def _request_queryset() -> QuerySet[AccountRequest]:
    return AccountRequest.objects.select_related(
        "owner_unit__parent", "account__platform", "created_by", "submitted_by"
    )


def _get_request(access: Access, pk: int) -> AccountRequest:
    """A request the user may see (404 otherwise: other units' requests and others' drafts)."""
    found = permissions.visible_requests(access, _request_queryset()).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def available_steps(account_request: AccountRequest, access: Access) -> list[str]:
    """The URL steps this user may take now, in the order the page shows them."""
    steps = []
    for name, (_service, transition, permission) in STEPS.items():
        if can_proceed(getattr(account_request, transition)) and permissions.may(
            permission, account_request, access
        ):
            steps.append(name)
    return steps


# --- Lists ------------------------------------------------------------------------------------


def _list_context(queryset: QuerySet[AccountRequest]) -> QuerySet[AccountRequest]:
    return queryset.select_related("owner_unit", "account", "submitted_by", "created_by").order_by(
        "-updated_at", "-id"
    )


def _page(request: HttpRequest, queryset: QuerySet[AccountRequest]) -> Page:
    return Paginator(queryset, settings.CAMPUSMEDIA_PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    page = _page(request, _list_context(permissions.waiting_for(access)))
    return render(
        request,
        "approvals/request_list.html",
        {"rows": page.object_list, "page": page, "title": _("待我处理"), "inbox": True},
    )


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    queryset = permissions.visible_requests(access)
    state = request.GET.get("state", "")
    if state in S.values:
        queryset = queryset.filter(state=state)
    kind = request.GET.get("kind", "")
    if kind in RequestKind.values:
        queryset = queryset.filter(kind=kind)
    page = _page(request, _list_context(queryset))
    counts = dict(
        permissions.visible_requests(access).values_list("state").annotate(n=Count("id")).order_by()
    )
    return render(
        request,
        "approvals/request_list.html",
        {
            "rows": page.object_list,
            "page": page,
            "query": _query_without_page(request),
            "title": _("审批申请"),
            "inbox": False,
            "state": state,
            "kind": kind,
            "states": S.choices,
            "kinds": RequestKind.choices,
            "counts": counts,
        },
    )


@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's messages in the site (the same ones go out by e-mail), newest first."""
    rows = Notification.objects.filter(user=_user(request)).select_related("request")
    page = Paginator(rows, settings.CAMPUSMEDIA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "approvals/notifications.html", {"page": page})


@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=_user(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages.success(request, _("已全部标为已读。"))
    return redirect("approvals:notifications")


# --- New and edit -------------------------------------------------------------------------------


def _apply_errors(error: ValidationError, forms_by_field: dict[str, Any], fallback: Any) -> None:
    """Put a service's errors on the form that owns the field (or on top of the page)."""
    for field, messages_ in error.message_dict.items():
        target = forms_by_field.get(field)
        for message in messages_:
            if target is not None and field in target.fields:
                target.add_error(field, message)
            else:
                fallback.append(message)


def _team_initial(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row = dict(row)
        person = row.pop("person", None)
        if person is not None:
            row["person_id"] = person.pk if hasattr(person, "pk") else person
        out.append(row)
    return out


def _proposed_rows(account_request: AccountRequest) -> list[dict[str, Any]]:
    return [
        {
            "role": m.role,
            "person_id": m.person_id,
            "name": m.name,
            "title": m.title,
            "office_phone": m.office_phone,
            "mobile": m.mobile,
            "email": m.email,
            "wechat_id": m.wechat_id,
            "is_student": m.is_student,
            "expected_end": m.expected_end,
        }
        for m in account_request.team.all()
    ]


def _form_page(
    request: HttpRequest,
    *,
    kind: str,
    access: Access,
    account: MediaAccount | None,
    existing: AccountRequest | None,
) -> HttpResponse:
    manage_units = access.units(Unit.objects.filter(is_active=True)).order_by("sort_order", "name")
    if access.unit_ids(Action.MANAGE) is not None:
        manage_units = manage_units.filter(pk__in=access.unit_ids(Action.MANAGE) or [])
    post = request.POST if request.method == "POST" else None
    # Starting values: the draft's, else the account's (change), else empty.
    if existing is not None:
        initial_data = services.data_to_fields(existing.data)
        initial_team = _proposed_rows(existing)
        initial_reason = existing.reason
    elif account is not None:
        initial_data = services.data_to_fields(services.account_data(account))
        initial_team = _team_initial(services.team_of(account))
        initial_reason = ""
    else:
        initial_data, initial_reason = {}, ""
        initial_team = [{"role": TeamRole.SUPERVISOR}, {"role": TeamRole.ADMINISTRATOR}]
    if "platform" in initial_data and hasattr(initial_data["platform"], "pk"):
        initial_data["platform"] = initial_data["platform"].pk
    data_form = AccountDataForm(post, kind=kind, initial=initial_data, prefix="account")
    team_formset = cast(BaseTeamFormSet, TeamFormSet(post, initial=initial_team, prefix="team"))
    reason_form = ReasonForm(post, initial={"reason": initial_reason})
    needs_unit = account is None and existing is None
    unit_form = UnitChoiceForm(post, units=manage_units) if needs_unit else None
    page_errors: list[str] = []
    if post is not None:
        bound: list[Any] = [
            data_form,
            team_formset,
            reason_form,
            *([unit_form] if unit_form else []),
        ]
        forms_ok = (
            all(f.is_valid() for f in bound)
            if kind != RequestKind.CLOSE
            else reason_form.is_valid()
        )
        if forms_ok:
            team = team_formset.rows() if kind != RequestKind.CLOSE else []
            data = data_form.cleaned_data if kind != RequestKind.CLOSE else {}
            reason = reason_form.cleaned_data["reason"]
            try:
                if existing is not None:
                    saved = services.request_update(
                        account_request=existing,
                        actor=_user(request),
                        data=data,
                        team=team if kind != RequestKind.CLOSE else None,
                        reason=reason,
                        request=request,
                    )
                else:
                    if account is not None:
                        unit = account.owner_unit
                    else:
                        assert unit_form is not None
                        unit = unit_form.cleaned_data["owner_unit"]
                    saved = services.request_create(
                        kind=kind,
                        owner_unit=unit,
                        account=account,
                        actor=_user(request),
                        data=data,
                        team=team,
                        reason=reason,
                        request=request,
                    )
            except ValidationError as error:
                _apply_errors(
                    error,
                    {
                        **dict.fromkeys(data_form.fields, data_form),
                        "reason": reason_form,
                        "owner_unit": unit_form,
                    },
                    page_errors,
                )
            except services.RequestConflict as error:
                page_errors.append(str(error))
            else:
                if "submit" in request.POST:
                    return _do_step(request, saved, "submit", comment="")
                messages.success(request, _("已保存草稿。确认无误后请提交。"))
                return redirect(saved)
    status = 400 if post is not None else 200
    return render(
        request,
        "approvals/request_form.html",
        {
            "kind": kind,
            "kind_label": RequestKind(kind).label,
            "account": account,
            "existing": existing,
            "data_form": data_form,
            "team_formset": team_formset,
            "reason_form": reason_form,
            "unit_form": unit_form,
            "page_errors": page_errors,
            "before": services.account_data(account) if account is not None else {},
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in RequestKind.values:
        raise Http404
    access = get_access(request)
    account = None
    if kind in (RequestKind.CHANGE, RequestKind.CLOSE):
        account = get_for(
            access,
            MediaAccount.objects.select_related("owner_unit", "platform"),
            request.GET.get("account") or request.POST.get("account"),
            Action.MANAGE,
        )
        if account.status == AccountStatus.CLOSED:
            raise Http404
    elif not (access.writes_all or access.unit_ids(Action.MANAGE)):
        raise PermissionDenied
    return _form_page(request, kind=kind, access=access, account=account, existing=None)


@never_cache
@require_http_methods(["GET", "POST"])
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account_request = _get_request(access, pk)
    if not permissions.may("edit", account_request, access):
        raise PermissionDenied
    return _form_page(
        request,
        kind=account_request.kind,
        access=access,
        account=account_request.account,
        existing=account_request,
    )


# --- The request page and its steps ------------------------------------------------------------


@never_cache
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account_request = _get_request(access, pk)
    team = list(account_request.team.all())
    steps = list(account_request.steps.select_related("actor"))
    attachments = list(account_request.attachments.all())
    return render(
        request,
        "approvals/request_detail.html",
        {
            "req": account_request,
            "team": team,
            "steps": steps,
            "attachments": attachments,
            "actions": available_steps(account_request, access),
            "can_edit": permissions.may("edit", account_request, access),
            "can_upload": permissions.may("upload", account_request, access)
            and account_request.state not in (S.REJECTED, S.WITHDRAWN),
            "upload_form": UploadForm(),
            "comment_form": CommentForm(),
            "first_signer": first_signer_label(
                account_request.tier, account_request.owner_unit.kind
            ),
            "changes": field_changes(account_request),
            "awaiting_opening": account_request.account is not None
            and account_request.account.status == AccountStatus.APPROVED
            and account_request.kind == RequestKind.OPEN,
            "can_report_opening": account_request.account is not None
            and access.can(Action.MANAGE, account_request.owner_unit_id),
        },
    )


def _do_step(
    request: HttpRequest, account_request: AccountRequest, step: str, comment: str
) -> HttpResponse:
    service = STEPS[step][0]
    kwargs: dict[str, Any] = {
        "account_request": account_request,
        "actor": _user(request),
        "request": request,
    }
    if step != "submit":
        kwargs["comment"] = comment
    try:
        done = service(**kwargs)
    except services.RequestConflict as error:
        messages.error(request, str(error))
        return redirect(account_request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(account_request)
    label = {
        "submit": _("已提交，等待审签。"),
        "endorse": _("已签署同意，转党委宣传部。"),
        "approve": _("已通过，审批号 %(number)s。") % {"number": done.approval_number},
        "return": _("已退回修改。"),
        "reject": _("已作出不予通过的决定。"),
        "withdraw": _("已撤回申请。"),
    }[step]
    messages.success(request, label)
    return redirect(done)


@require_POST
def request_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404
    access = get_access(request)
    account_request = _get_request(access, pk)
    _service, transition, permission = STEPS[step]
    if not permissions.may(permission, account_request, access) and can_proceed(
        getattr(account_request, transition)
    ):
        raise PermissionDenied
    form = CommentForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    return _do_step(request, account_request, step, comment)


# --- PDFs and files ------------------------------------------------------------------------------


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def request_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from approvals.pdf import render_approval_form

    access = get_access(request)
    account_request = _get_request(access, pk)
    number = account_request.approval_number or account_request.pk
    name = f"{_('校园新媒体审批（备案）表')}-{number}.pdf"
    # Contacts in full only for those who file the form (the unit's keepers, the department);
    # heads and the auditor get the masked copy, as with any other personal data.
    masked = not access.can(Action.MANAGE, account_request.owner_unit_id)
    return _pdf_response(render_approval_form(account_request, masked=masked), name)


@require_GET
def request_pledge_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from approvals.pdf import render_pledge

    account_request = _get_request(get_access(request), pk)
    name = f"{_('网络信息安全承诺书')}-{account_request.display_name}.pdf"
    return _pdf_response(render_pledge(account_request), name)


@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account_request = _get_request(access, pk)
    if not permissions.may("upload", account_request, access):
        raise PermissionDenied
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        return redirect(account_request)
    try:
        attachment_add(
            account_request=account_request,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            actor=_user(request),
            request=request,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已上传附件。"))
    return redirect(account_request)


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    access = get_access(request)
    attachment = Attachment.objects.select_related("request", "account").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    if attachment.request_id is not None:
        _get_request(access, attachment.request_id)
    elif not access.can(Action.VIEW, attachment.owner_unit_id):
        raise Http404
    audit_record(
        action=AuditAction.FILE_DOWNLOADED,
        request=request,
        obj=attachment.request or attachment.account,
        detail={"attachment": attachment.pk, "kind": attachment.kind},
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- On the account: the opening report and the 3-day rule ------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def report_opening(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account = get_for(
        access, MediaAccount.objects.select_related("owner_unit", "platform"), pk, Action.MANAGE
    )
    if account.status != AccountStatus.APPROVED:
        messages.error(request, _("只有“已批准未开通”的账号才能报送开通。"))
        return redirect(account)
    form = OpeningForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_report_opening(
                account=account,
                actor=_user(request),
                account_id=form.cleaned_data["account_id"] or "",
                opened_on=form.cleaned_data["opened_on"],
                pledge=form.cleaned_data["pledge"],
                request=request,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("已报送开通，账号状态改为“运行中”。"))
            return redirect(account)
    opening_request = (
        AccountRequest.objects.filter(account=account)
        .filter(kind=RequestKind.OPEN, state=S.APPROVED)
        .first()
    )
    return render(
        request,
        "approvals/report_opening.html",
        {"account": account, "form": form, "opening_request": opening_request},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def team_change(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretary records "X stops being on this team on D" (the 3-day rule starts)."""
    access = get_access(request)
    account = get_for(access, MediaAccount.objects.all(), pk, Action.MANAGE)
    form = TeamChangeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        return redirect(account)
    member = (
        TeamMember.objects.filter(account=account, pk=form.cleaned_data["member"])
        .select_related("person")
        .first()
    )
    if member is None:
        raise Http404
    event = services.team_change_record(
        member=member,
        actor=_user(request),
        happened_on=form.cleaned_data["happened_on"],
        note=form.cleaned_data["note"],
        request=request,
    )
    messages.success(
        request,
        _("已登记：%(name)s 的变更须在 %(due)s 前提交变更申请。")
        % {"name": member.person.name, "due": event.due_on.isoformat()},
    )
    return redirect(account)
