"""Pre-publication approval (发布前审批, 004 section 三.2): a unit asks, the department approves
or returns, the unit files the published link. Thin: ask ``alliance.permissions``, bind a form,
call ``alliance.services``, redirect or render.

A request is seen by whoever sees the asking unit, by the account's administrators, the
department and the auditor; anyone else gets 404. A step that is never the user's is 403; a step
that is the user's but not in the request's present state is explained in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alliance import permissions as perms
from alliance import selectors, services
from alliance.choices import PrepubState
from alliance.forms.errors import apply_service_errors
from alliance.forms.prepublication import DecideForm, FileForm, PrepubForm, WithdrawForm
from alliance.models import Prepublication
from campusmedia.choices import AccountStatus
from campusmedia.models import MediaAccount, User
from campusmedia.permissions import Access, get_access
from filing.forms import first_error

EDITABLE = ("topic", "title", "content", "draft_link", "planned_at")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _get_prepub(access: Access, pk: int) -> Prepublication:
    """A request the user may see (404 otherwise)."""
    queryset = Prepublication.objects.select_related(
        "account__platform",
        "owner_unit",
        "submitted_by__person",
        "decided_by__person",
        "filed_by__person",
    )
    found = perms.visible_prepublications(access, queryset).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _askable_accounts(access: Access) -> QuerySet[MediaAccount]:
    return (
        perms.answerable_accounts(access)
        .filter(status=AccountStatus.ACTIVE)
        .select_related("platform", "owner_unit")
        .order_by("owner_unit__sort_order", "owner_unit__name", "name", "id")
    )


# --- Lists ------------------------------------------------------------------------------------


@require_GET
def prepub_list(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    state = request.GET.get("state", "")
    if state not in PrepubState.values:
        state = ""
    page = Paginator(
        selectors.prepub_list(access, state=state).defer("content", "decision_comment"),
        settings.CAMPUSMEDIA_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    counts = dict(
        perms.visible_prepublications(access)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return render(
        request,
        "alliance/prepub_list.html",
        {
            "page": page,
            "rows": page.object_list,
            "waiting": list(selectors.prepub_waiting(access).order_by("planned_at", "id")),
            "states": [
                (value, label, counts.get(value, 0)) for value, label in PrepubState.choices
            ],
            "state": state,
            "total": sum(counts.values()),
            "can_ask": perms.may_ask_prepublication(access),
        },
    )


# --- Asking and changing ----------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def prepub_new(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    accounts = _askable_accounts(access)
    if not accounts.exists():
        raise PermissionDenied
    form = PrepubForm(request.POST or None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            prepub = services.prepub_submit(
                account=data["account"],
                actor=_user(request),
                topic=data["topic"],
                title=data["title"],
                content=data["content"],
                draft_link=data["draft_link"],
                planned_at=data["planned_at"],
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("已提交，等待党委宣传部审批。"))
            return redirect(prepub)
    return render(request, "alliance/prepub_form.html", {"form": form, "prepub": None})


@never_cache
@require_http_methods(["GET", "POST"])
def prepub_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    prepub = _get_prepub(access, pk)
    if not perms.may_prepub("edit", prepub, access):
        raise PermissionDenied
    initial = {name: getattr(prepub, name) for name in EDITABLE}
    form = PrepubForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            prepub = services.prepub_edit(
                prepub=prepub,
                actor=_user(request),
                request=request,
                **{name: form.cleaned_data[name] for name in EDITABLE},
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已保存修改。")
                if prepub.state == PrepubState.SUBMITTED
                else _("已保存修改；确认无误后请重新提交。"),
            )
            return redirect(prepub)
    return render(request, "alliance/prepub_form.html", {"form": form, "prepub": prepub})


# --- The request page and its steps -----------------------------------------------------------


def _detail(
    request: HttpRequest,
    prepub: Prepublication,
    access: Access,
    forms_: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    forms_ = forms_ or {}
    may = {
        step: perms.may_prepub(step, prepub, access)
        for step in ("decide", "edit", "resubmit", "withdraw", "file")
    }
    return render(
        request,
        "alliance/prepub_detail.html",
        {
            "prepub": prepub,
            "steps": list(prepub.steps.all()),
            "show_ip": perms.reads_all(access),
            "may": may,
            "acts": any(may.values()),
            "unit_acts": any(may[step] for step in ("edit", "resubmit", "withdraw", "file")),
            "decide_form": forms_.get("decide") or DecideForm(),
            "withdraw_form": forms_.get("withdraw") or WithdrawForm(),
            "file_form": forms_.get("file") or FileForm(),
        },
    )


@never_cache
@require_GET
def prepub_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    return _detail(request, _get_prepub(access, pk), access)


@dataclass(frozen=True)
class Step:
    permission: str  # as alliance.permissions names it
    label: Any  # lazy text
    form: type[forms.Form] | None  # None: the step takes no input
    run: Callable[..., Prepublication]
    done: Any


def _decide(approve: bool) -> Callable[..., Prepublication]:
    def run(data: dict[str, Any], **kwargs: Any) -> Prepublication:
        return services.prepub_decide(approve=approve, comment=data["comment"], **kwargs)

    return run


def _resubmit(data: dict[str, Any], **kwargs: Any) -> Prepublication:
    return services.prepub_resubmit(**kwargs)


def _withdraw(data: dict[str, Any], **kwargs: Any) -> Prepublication:
    return services.prepub_withdraw(comment=data["comment"], **kwargs)


def _file(data: dict[str, Any], **kwargs: Any) -> Prepublication:
    return services.prepub_file(
        published_link=data["published_link"], published_at=data["published_at"], **kwargs
    )


# The step in the URL → who takes it, its form, its service.
STEPS: dict[str, Step] = {
    "approve": Step("decide", _lazy("批准"), DecideForm, _decide(True), _lazy("已批准。")),
    "return": Step("decide", _lazy("退回修改"), DecideForm, _decide(False), _lazy("已退回修改。")),
    "resubmit": Step(
        "resubmit",
        _lazy("重新提交"),
        None,
        _resubmit,
        _lazy("已重新提交，等待党委宣传部审批。"),
    ),
    "withdraw": Step("withdraw", _lazy("撤回"), WithdrawForm, _withdraw, _lazy("已撤回。")),
    "file": Step(
        "file", _lazy("登记发布链接"), FileForm, _file, _lazy("已登记发布链接，完成备案。")
    ),
}
# Which form of the page shows a step's errors.
FORM_KEYS = {DecideForm: "decide", WithdrawForm: "withdraw", FileForm: "file"}


@require_POST
def prepub_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    spec = STEPS.get(step)
    if spec is None:
        raise Http404
    access = get_access(request)
    prepub = _get_prepub(access, pk)
    if not perms.takes_prepub_step(spec.permission, prepub, access):
        raise PermissionDenied
    seen = request.POST.get("state", "")
    if seen and seen != prepub.state:  # the page was out of date: someone else acted first
        message = _(services.ERR_PREPUB_CONFLICT) % {"state": prepub.get_state_display()}
        messages.error(request, message)
        return redirect(prepub)
    if not perms.may_prepub(spec.permission, prepub, access):
        message = _(services.ERR_PREPUB_NOT_ALLOWED) % {
            "state": prepub.get_state_display(),
            "step": spec.label,
        }
        messages.error(request, message)
        return redirect(prepub)
    form: Any = spec.form(request.POST) if spec.form is not None else None
    if form is not None and not form.is_valid():
        return _detail(request, prepub, access, {FORM_KEYS[type(form)]: form})
    data = form.cleaned_data if form is not None else {}
    try:
        done = spec.run(data, prepub=prepub, actor=_user(request), request=request)
    except services.AllianceConflict as error:
        messages.error(request, first_error(error))
        return redirect(prepub)
    except ValidationError as error:
        if form is None:  # resubmit: what has to change is on the edit page
            for message in error.messages:
                messages.error(request, message)
            return redirect(prepub)
        apply_service_errors(form, error)
        return _detail(request, prepub, access, {FORM_KEYS[type(form)]: form})
    messages.success(request, str(spec.done))
    return redirect(done)
