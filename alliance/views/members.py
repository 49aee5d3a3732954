"""Member pages: the member accounts by role, the applications of tier-3 accounts and their
decision, member roles, leaving. Tiers 1 and 2 are members by rule (``selectors.members``).

The secretariat decides applications and roles (others get 403); an account's keepers apply for
it and take it out of the alliance (404 for an account they cannot see, 403 for one they only
read).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from alliance import permissions as perms
from alliance import selectors, services
from alliance.choices import MemberRole
from alliance.forms.errors import apply_service_errors
from alliance.forms.members import ApplyForm, DecideForm, RoleForm
from alliance.models import Membership
from campusmedia.choices import AccountStatus, Tier, kinds_of_tier
from campusmedia.models import MediaAccount, User
from campusmedia.permissions import Access, get_access
from filing.forms import first_error


@dataclass(frozen=True)
class MemberRow:
    account: MediaAccount
    membership: Membership | None
    can_leave: bool


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _membership(account: MediaAccount) -> Membership | None:
    # Loaded with select_related: a missing row raises RelatedObjectDoesNotExist (an
    # AttributeError) without a query.
    return getattr(account, "alliance_membership", None)


def _reader(request: HttpRequest) -> Access:
    access = get_access(request)
    if not perms.may_read_alliance(access):
        raise PermissionDenied
    return access


def _secretariat(request: HttpRequest) -> Access:
    access = _reader(request)
    if not perms.is_secretariat(access):
        raise PermissionDenied
    return access


def _own_tier_three(access: Access) -> list[MediaAccount]:
    """The running tier-3 accounts the user answers for, with their alliance record. Not for the
    secretariat: it answers for every account and decides instead."""
    if perms.is_secretariat(access):
        return []
    accounts = MediaAccount.objects.filter(
        status=AccountStatus.ACTIVE, owner_unit__kind__in=kinds_of_tier(Tier.THREE)
    )
    return list(
        perms.answerable_accounts(access, accounts)
        .select_related("owner_unit", "platform", "alliance_membership")
        .order_by("owner_unit__sort_order", "owner_unit__name", "name", "id")
    )


def _page(
    request: HttpRequest,
    access: Access,
    apply_form: ApplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    secretariat = perms.is_secretariat(access)
    members = list(selectors.members())
    counts = Counter(m.member_role for m in members)  # type: ignore[attr-defined]
    role = request.GET.get("role", "")
    if role not in MemberRole.values:
        role = ""
    rows = [
        MemberRow(m, _membership(m), perms.may_leave(access, m, _membership(m)))
        for m in members
        if not role or m.member_role == role  # type: ignore[attr-defined]
    ]
    own = _own_tier_three(access)
    applicable = [a for a in own if perms.may_apply(access, a, _membership(a))]
    if apply_form is None and applicable:
        apply_form = ApplyForm(accounts=_applicable_queryset(applicable))
    return render(
        request,
        "alliance/members.html",
        {
            "rows": rows,
            "total": len(members),
            "counts": counts,
            "roles": MemberRole,
            "role": role,
            "secretariat": secretariat,
            "applications": list(selectors.applications()) if secretariat else [],
            "own": [MemberRow(a, _membership(a), False) for a in own],
            "apply_form": apply_form,
            "applicable": applicable,
        },
        status=status,
    )


def _applicable_queryset(accounts: list[MediaAccount]):
    return MediaAccount.objects.filter(pk__in=[a.pk for a in accounts]).select_related(
        "platform", "owner_unit"
    )


@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    return _page(request, _reader(request))


@require_POST
def member_apply(request: HttpRequest) -> HttpResponse:
    """A tier-3 account asks to join. Only someone who answers for a tier-3 account may ask."""
    access = _reader(request)
    own = _own_tier_three(access)
    if not own:
        raise PermissionDenied
    applicable = [a for a in own if perms.may_apply(access, a, _membership(a))]
    form = ApplyForm(request.POST, accounts=_applicable_queryset(applicable))
    if form.is_valid():
        account = form.cleaned_data["account"]
        try:
            services.membership_apply(
                account=account,
                actor=_user(request),
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已提交 %(account)s 的入盟申请，请等待联盟秘书处审核。")
                % {"account": account.name},
            )
            return redirect("alliance:members")
    return _page(request, access, apply_form=form, status=400)


@require_POST
def member_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretariat approves an application (with the member's role) or rejects it (with the
    reason). ``pk`` is the Membership's."""
    _secretariat(request)
    membership = get_object_or_404(Membership.objects.select_related("account__owner_unit"), pk=pk)
    back = reverse("alliance:members") + "#applications"
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form.errors))
        return redirect(back)
    try:
        decided = services.membership_decide(
            membership=membership,
            actor=_user(request),
            approve=form.approve,
            role=form.cleaned_data["role"] or MemberRole.MEMBER,
            note=form.cleaned_data["note"],
            request=request,
        )
    except ValidationError as error:
        messages.error(request, first_error(error))
        return redirect(back)
    name = membership.account.name
    if form.approve:
        text = _("已同意 %(account)s 加入联盟（%(role)s）。") % {
            "account": name,
            "role": decided.get_role_display(),
        }
    else:
        text = _("已不予通过 %(account)s 的入盟申请。") % {"account": name}
    messages.success(request, text)
    return redirect(back)


@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretariat sets a member account's role. ``pk`` is the account's."""
    _secretariat(request)
    account = get_object_or_404(MediaAccount.objects.select_related("owner_unit"), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form.errors))
        return redirect("alliance:members")
    try:
        membership = services.member_role_set(
            account=account, actor=_user(request), role=form.cleaned_data["role"], request=request
        )
    except ValidationError as error:
        messages.error(request, first_error(error))
    else:
        messages.success(
            request,
            _("%(account)s 的成员类别已设为%(role)s。")
            % {"account": account.name, "role": membership.get_role_display()},
        )
    return redirect("alliance:members")


@require_POST
def member_leave(request: HttpRequest, pk: int) -> HttpResponse:
    """A tier-3 member leaves, on its keepers' word. ``pk`` is the account's."""
    access = _reader(request)
    account = get_object_or_404(MediaAccount.objects.select_related("owner_unit"), pk=pk)
    if not perms.may_see_account(access, account.pk, account.owner_unit_id):
        raise Http404
    if not perms.may_answer_for(access, account):
        raise PermissionDenied
    membership = Membership.objects.filter(account=account).first()
    if not perms.may_leave(access, account, membership):
        messages.error(
            request,
            _("账号：%(account)s 不是经申请加入的三级平台成员，不能退出联盟。")
            % {"account": account.name},
        )
        return redirect("alliance:members")
    services.membership_leave(account=account, actor=_user(request), request=request)
    messages.success(request, _("%(account)s 已退出联盟。") % {"account": account.name})
    return redirect("alliance:members")
