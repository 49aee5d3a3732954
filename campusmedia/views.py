"""Pages of the registry. Thin: ask the access layer, call a selector or service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from alliance import selectors as alliance_selectors
from annual_review import selectors as review_selectors
from approvals import selectors as approvals_selectors
from campusmedia import selectors, services
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, PersonalField, TeamRole
from campusmedia.forms import LoginForm, RevealForm, registry_filter_bar
from campusmedia.models import MediaAccount, Person, RoleAssignment, Unit
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.permissions import Action, get_access, get_for
from filing import selectors as filing_selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    data = selectors.home(access)
    requests_panel = approvals_selectors.home_panel(access)
    return render(
        request,
        "campusmedia/home.html",
        {
            "data": data,
            "statuses": AccountStatus,
            "requests": requests_panel,
            "reviews": review_selectors.home_panel(access),
            "filing": filing_selectors.due_summary() if access.reads_all else None,
            "alliance": alliance_selectors.home_panel(access),
        },
    )


@require_GET
def unit_tree(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    return render(request, "campusmedia/unit_tree.html", {"rows": selectors.unit_tree(access)})


@require_GET
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    unit = get_for(access, Unit.objects.select_related("parent"), pk)
    accounts = access.accounts(
        MediaAccount.objects.filter(Q(owner_unit=unit) | Q(owner_unit__parent=unit))
        .select_related("platform", "owner_unit")
        .order_by("owner_unit__sort_order", "name")
    )
    roles = (
        RoleAssignment.objects.active()
        .filter(unit=unit)
        .select_related("person")
        .order_by("role", "person__name")
    )
    children = access.units(unit.children.all())
    return render(
        request,
        "campusmedia/unit_detail.html",
        {
            "unit": unit,
            "accounts": accounts,
            "roles": roles,
            "children": children,
            "can_manage": access.can(Action.MANAGE, unit.pk),
        },
    )


@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    units = access.units(Unit.objects.order_by("sort_order", "name")).values_list("pk", "name")
    filters = selectors.RegistryFilter.from_params(request.GET)
    accounts = selectors.registry_accounts(access, filters)
    page = selectors.RegistryPaginator(accounts, settings.CAMPUSMEDIA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "campusmedia/registry.html",
        {
            "filter_bar": registry_filter_bar(filters, units),
            "page": page,
            "query": query.urlencode(),
        },
    )


@never_cache
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account = get_for(access, selectors.account_detail(pk), pk)
    team = list(account.team.all())
    return render(
        request,
        "campusmedia/account_detail.html",
        {
            "account": account,
            "supervisors": [m for m in team if m.role == TeamRole.SUPERVISOR and m.ends_on is None],
            "administrators": [
                m for m in team if m.role == TeamRole.ADMINISTRATOR and m.ends_on is None
            ],
            "former": [m for m in team if m.ends_on is not None],
            "history": account.history.all(),
            "can_manage": access.can(Action.MANAGE, account.owner_unit_id)
            and account.status != AccountStatus.CLOSED,
            "account_requests": approvals_selectors.account_requests(access, account),
            "team_changes": approvals_selectors.account_team_changes(account),
            "today": timezone.localdate(),
        },
    )


@never_cache
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    person = get_for(access, Person.objects.select_related("unit"), pk)
    memberships = (
        person.team_memberships.filter(account__in=access.accounts())
        .select_related("account__platform")
        .order_by("ends_on", "account__name")
    )
    roles = person.role_assignments.select_related("unit").order_by("-starts_on")
    response = render(
        request,
        "campusmedia/person_detail.html",
        {
            "person": person,
            "memberships": memberships,
            "roles": roles,
            "can_reveal": access.can_reveal(person),
            "reveal_form": RevealForm(),
            "fields": PersonalField,
        },
    )
    return response


@never_cache
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one personal field in full after a reason is given; the view is logged."""
    access = get_access(request)
    person = get_for(access, Person.objects.all(), pk, Action.REVEAL)
    form = RevealForm(request.POST)
    value = None
    if form.is_valid():
        value = services.person_reveal(
            person=person,
            field=form.cleaned_data["field"],
            reason=form.cleaned_data["reason"],
            actor=request.user,  # type: ignore[arg-type]
            request=request,
        )
    template = (
        "campusmedia/_reveal.html" if request.htmx else "campusmedia/reveal_page.html"  # type: ignore[attr-defined]
    )
    context = {
        "person": person,
        "form": form,
        "value": value,
        "field_label": PersonalField(form.cleaned_data["field"]).label if value is not None else "",
    }
    return render(request, template, context, status=200 if value is not None else 400)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 otherwise (for the load balancer)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means unhealthy
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    """After a change the session ends on the server and the user logs in again."""

    success_url = reverse_lazy("login")

    def form_valid(self, form):
        user = form.save()
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        audit_record(action=AuditAction.PASSWORD_CHANGE, actor=user, request=self.request)
        logout(self.request)
        messages.success(self.request, _("密码已修改，请用新密码重新登录。"))
        return redirect(self.success_url)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    audit_record(
        action=AuditAction.PERMISSION_DENIED,
        request=request,
        outcome=AuditOutcome.DENIED,
        detail={"path": request.path[:200]},
    )
    return render(request, "403.html", status=403)
