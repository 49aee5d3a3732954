"""Review pages (年检). Thin: ask ``annual_review.permissions``, bind a form, call a service,
redirect or render.

An outsider gets 404 for a form (``get_for`` on the form's owning unit), a reader without the
right 403; a step the user may take but that the form's state no longer allows (someone acted
first) comes back as a message on the form's page. Every write goes through
``annual_review.services``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_fsm import can_proceed

from annual_review import selectors, services
from annual_review.charts import stacked_bars
from annual_review.choices import Outcome, Progress, ReviewState
from annual_review.forms import (
    CampaignOpenForm,
    CommentForm,
    ConcludeForm,
    LabelledErrorsMixin,
    OrderCloseForm,
    ReviewFormForm,
    ZeroReportForm,
)
from annual_review.models import (
    CloseOrder,
    ReviewCampaign,
    ReviewForm,
    ReviewFormQuerySet,
)
from annual_review.permissions import (
    may,
    may_run_campaigns,
    visible_forms,
    waiting_for,
    with_unit,
)
from approvals.routing import first_signer_label
from campusmedia.choices import AccountStatus, Tier, choice_labels
from campusmedia.models import Unit, User
from campusmedia.permissions import Access, Action, get_access, get_for

S = ReviewState

# step in the URL → (fsm transition or None, the step asked of permissions.may)
STEPS: dict[str, tuple[str | None, str]] = {
    "submit": ("submit", "submit"),
    "sign": ("sign", "sign"),
    "return": ("return_for_changes", "review"),
    "conclude": ("conclude", "conclude"),
    "order-close": (None, "order_close"),
}


def _manages(form: ReviewForm, access: Access) -> bool:
    return bool(access.user.is_authenticated) and access.can(Action.MANAGE, form.owner_unit_id)


# The rights behind each step whatever the state (as in annual_review/api.py): someone who could
# take the step in no state gets 403 before the state is looked at, so the auditor's attempt is
# refused as such; a holder of the right meets the state check in the service.
STEP_RIGHTS = {
    "submit": _manages,
    "sign": lambda form, access: may("sign", form, access),
    "conclude": lambda form, access: may("conclude", form, access),
    "return": lambda form, access: may("sign", form, access) or may("conclude", form, access),
    "order-close": lambda form, access: may_run_campaigns(access),
}

# An account closed, or ordered closed, owes no change request (a close request, if anything).
_NO_CHANGE = frozenset({AccountStatus.CLOSED, AccountStatus.ORDERED_TO_CLOSE})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Bars in the chart of units on the progress page (the table below it lists every unit).
CHART_UNITS = 10


def _user(request: HttpRequest) -> User:
    """The signed-in user (every page here is behind the login requirement)."""
    return cast(User, request.user)


def _campaign(year: int) -> ReviewCampaign:
    return get_object_or_404(ReviewCampaign, year=year)


def _form_queryset() -> QuerySet[ReviewForm]:
    return ReviewForm.objects.select_related(
        "campaign",
        "account__platform",
        "account__owner_unit",
        "owner_unit__parent",
        "submitted_by__person",
        "signed_by__person",
        "concluded_by__person",
    )


def _get_form(access: Access, pk: int) -> ReviewForm:
    """A form the user may see (404 for the forms of other units)."""
    return get_for(access, _form_queryset(), pk)


def _is_overdue(form: ReviewForm, today: datetime.date) -> bool:
    """As ``ReviewFormQuerySet.overdue``, for a form already read."""
    if form.state in (S.DRAFT, S.RETURNED):
        return form.campaign.due_on < today
    return (
        form.state == S.CONCLUDED
        and form.outcome == Outcome.RECTIFY
        and form.rectify_by is not None
        and form.rectify_by < today
    )


def _signer(form: ReviewForm) -> str:
    return str(first_signer_label(form.owner_unit.tier, form.owner_unit.kind))


def _files_for(unit: Unit, access: Access) -> bool:
    """Does this user file the unit's papers (forms, change and close requests)? The unit's
    keepers do; the department keeps every unit's accounts (and may act for any), but files only
    the school's own, as its inbox has it (``permissions.waiting_for``)."""
    if access.keeps(unit.pk):
        return True
    return access.unit_ids(Action.MANAGE) is None and unit.tier == Tier.ONE


def _fills_in(form: ReviewForm, access: Access) -> bool:
    """Is filling in the form this user's job now?"""
    return may("edit", form, access) and _files_for(form.owner_unit, access)


def next_step(form: ReviewForm, access: Access) -> tuple[str, bool]:
    """What the form waits for, and whether that is this user's to do (no query: the form's
    unit is read with it and the user's rights once per request)."""
    if with_unit(form):
        mine = _fills_in(form, access)
        if form.state == S.RETURNED:
            return (_("请修改后重新提交") if mine else _("已退回，待单位修改")), mine
        if form.state == S.CONCLUDED:
            due = form.rectify_by.isoformat() if form.rectify_by else ""
            text = _("请整改后重新提交（%(date)s 前）") if mine else _("待单位整改（%(date)s 前）")
            return text % {"date": due}, mine
        if mine:
            return (_("请继续填写并提交") if form.started_at else _("请填写并提交")), mine
        return (_("单位填报中") if form.started_at else _("待单位填报")), mine
    if form.state == S.SUBMITTED and form.route.first_signoff:
        mine = may("sign", form, access)
        return (_("请签署") if mine else _("待%(signer)s签署") % {"signer": _signer(form)}), mine
    if form.state in (S.SUBMITTED, S.SIGNED):
        mine = may("conclude", form, access)
        return (_("请作出结论") if mine else _("待宣传部作出结论")), mine
    return _("已完成"), False


@dataclass
class FormRow:
    """A form in a list, with what it waits for."""

    form: ReviewForm
    todo: str
    mine: bool
    overdue: bool


def _rows(forms: Any, access: Access, campaign: ReviewCampaign | None = None) -> list[FormRow]:
    """``campaign``: the forms' campaign, already read (so no row reads it again)."""
    today = timezone.localdate()
    rows = []
    for form in forms:
        if campaign is not None:
            form.campaign = campaign
        todo, mine = next_step(form, access)
        if getattr(form, "close_due", None) is not None:
            # Ordered closed: the unit owes a close request, whatever the form's state.
            mine = _files_for(form.owner_unit, access)
            date = form.close_due.isoformat()
            todo = (
                _("请提交停办申请（%(date)s 前）")
                if mine
                else _("待单位提交停办申请（%(date)s 前）")
            ) % {"date": date}
        rows.append(FormRow(form, todo, mine, _is_overdue(form, today)))
    return rows


def _file_response(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _apply_errors(error: ValidationError, form: LabelledErrorsMixin, page: list[str]) -> None:
    """A service's errors onto the fields they name, or on top of the page."""
    if not hasattr(error, "error_dict"):
        page.extend(error.messages)
        return
    for name, found in error.message_dict.items():
        for message in found:
            if name in form.fields:
                form.add_service_error(name, message)
            else:
                page.append(message)


# --- Campaigns ---------------------------------------------------------------------------------


@dataclass
class CampaignRow:
    campaign: ReviewCampaign
    total: int
    answered: int
    concluded: int
    waiting: int

    @property
    def percent(self) -> int:
        return round(100 * self.concluded / self.total) if self.total else 0


def _index_page(
    request: HttpRequest, access: Access, open_form: CampaignOpenForm | None, status: int = 200
) -> HttpResponse:
    campaigns = list(ReviewCampaign.objects.order_by("-year"))
    counts = {
        row["campaign_id"]: row
        for row in visible_forms(access)
        .order_by()
        .values("campaign_id")
        .annotate(
            total=Count("id"),
            answered=Count("id", filter=Q(state__in=[S.SUBMITTED, S.SIGNED, S.CONCLUDED])),
            concluded=Count("id", filter=Q(state=S.CONCLUDED)),
        )
    }
    waiting = dict(
        waiting_for(access).order_by().values_list("campaign_id").annotate(n=Count("id"))
    )
    rows = [
        CampaignRow(
            campaign=c,
            total=counts.get(c.pk, {}).get("total", 0),
            answered=counts.get(c.pk, {}).get("answered", 0),
            concluded=counts.get(c.pk, {}).get("concluded", 0),
            waiting=waiting.get(c.pk, 0),
        )
        for c in campaigns
    ]
    return render(
        request,
        "annual_review/index.html",
        {
            "rows": rows,
            "open_form": open_form,
            "open_errors": open_form is not None and bool(open_form.errors),
            "today": timezone.localdate(),
        },
        status=status,
    )


@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    open_form = (
        CampaignOpenForm(initial=CampaignOpenForm.initial_values())
        if may_run_campaigns(access)
        else None
    )
    return _index_page(request, access, open_form)


@require_POST
def campaign_open(request: HttpRequest) -> HttpResponse:
    """Open a year's review, or add the forms it lacks if it is open (the department only)."""
    access = get_access(request)
    if not may_run_campaigns(access):
        raise PermissionDenied
    form = CampaignOpenForm(request.POST)
    page_errors: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        existed = ReviewCampaign.objects.filter(year=data["year"]).exists()
        try:
            campaign, added = services.campaign_open(
                year=data["year"],
                starts_on=data["starts_on"],
                due_on=data["due_on"],
                title=data["title"],
                instructions=data["instructions"],
                actor=_user(request),
                request=request,
            )
        except ValidationError as error:
            _apply_errors(error, form, page_errors)
        else:
            if existed:
                text = _("%(year)s 年度年检已经开启（名称与日期不变），新增 %(n)s 份年检表。")
            else:
                text = _("已开启 %(year)s 年度年检，生成 %(n)s 份年检表。")
            messages.success(request, text % {"year": campaign.year, "n": added})
            return redirect(campaign)
    for message in page_errors:
        form.add_error(None, message)
    return _index_page(request, access, form, status=400)


@dataclass(frozen=True)
class FormFilter:
    """The filters of the campaign page: a unit (with its sub-units), a state or progress
    category (``draft``, ``pass``, ``not_started``…), only overdue forms, or only mine."""

    unit: int | None = None
    state: str = ""
    mine: bool = False

    @classmethod
    def from_params(cls, params: Any) -> FormFilter:
        try:
            unit = int(params.get("unit") or 0) or None
        except ValueError:
            unit = None
        state = params.get("state", "")
        if state not in (*Progress.values, *S.values, "overdue"):
            state = ""
        return cls(unit=unit, state=state, mine=params.get("mine") == "1")

    def apply(self, forms: QuerySet[ReviewForm], access: Access) -> QuerySet[ReviewForm]:
        if self.unit:
            forms = forms.filter(
                Q(owner_unit_id=self.unit)
                | Q(owner_unit__parent_id=self.unit)
                | Q(owner_unit__parent__parent_id=self.unit)
            )
        if self.state == "overdue":
            forms = cast(ReviewFormQuerySet, forms).overdue()
        elif self.state == Progress.NOT_STARTED:
            forms = forms.filter(state=S.DRAFT, started_at__isnull=True)
        elif self.state == Progress.IN_PROGRESS:
            forms = forms.filter(Q(state=S.RETURNED) | Q(state=S.DRAFT, started_at__isnull=False))
        elif self.state in Outcome.values:
            forms = forms.filter(state=S.CONCLUDED, outcome=self.state)
        elif self.state:
            forms = forms.filter(state=self.state)
        if self.mine:
            forms = waiting_for(access, forms)
        return forms

    @property
    def active(self) -> bool:
        return bool(self.unit or self.state or self.mine)


@never_cache
@require_GET
def campaign_detail(request: HttpRequest, year: int) -> HttpResponse:
    """The campaign: for units their forms and what to do (and a zero report for a unit without
    forms); for the department and the auditor the progress per tier and per unit, the overdue
    forms and the open close orders. The queries do not grow with the forms."""
    access = get_access(request)
    campaign = _campaign(year)
    visible = selectors.form_list(access, campaign)
    filters = FormFilter.from_params(request.GET)
    # The due date of an open close order on the form, read with the row.
    close_due = CloseOrder.objects.open().filter(review=OuterRef("pk")).values("due_on")[:1]
    rows = filters.apply(visible, access).annotate(close_due=Subquery(close_due))
    page = Paginator(rows, settings.CAMPUSMEDIA_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    overview = access.reads_all
    context: dict[str, Any] = {
        "campaign": campaign,
        "page": page,
        "rows": _rows(page.object_list, access, campaign),
        "filters": filters,
        "query": query.urlencode(),
        "overview": overview,
        "today": timezone.localdate(),
        "can_run": may_run_campaigns(access),
        "categories": [(c, choice_labels(Progress)[c]) for c in Progress.values],
    }
    if overview:
        progress = selectors.campaign_progress(campaign, access)
        categories = progress.categories
        top = sorted(progress.units, key=lambda r: (-r.total, r.label))[:CHART_UNITS]
        context.update(
            progress=progress,
            counts=progress.total.counts,
            tier_chart=stacked_bars(progress.tiers, categories, title=_("各级平台年检进度")),
            unit_chart=stacked_bars(
                top,
                categories,
                title=_("年检表最多的单位"),
                label_width=170,
                largest=max((r.total for r in progress.units), default=0) or None,
            )
            if top
            else "",
            unit_options=[(row.key, row.label) for row in progress.units],
            overdue_rows=_rows(progress.overdue, access),
            overdue_more=progress.overdue_count - len(progress.overdue),
            missing_accounts=(
                services.accounts_without_form(campaign).count() if may_run_campaigns(access) else 0
            ),
        )
    else:
        context.update(
            counts=selectors.progress_counts(visible),
            unit_options=list(
                Unit.objects.filter(pk__in=visible.values("owner_unit_id"))
                .order_by("sort_order", "name")
                .values_list("pk", "name")
            ),
            zero_units=selectors.zero_report_units(access, campaign),
            zero_form=ZeroReportForm(),
        )
    context["waiting_count"] = waiting_for(access, visible).count()
    return render(request, "annual_review/campaign.html", context)


@require_POST
def campaign_add_accounts(request: HttpRequest, year: int) -> HttpResponse:
    """Forms for the accounts that became active after the campaign opened (the department)."""
    access = get_access(request)
    if not may_run_campaigns(access):
        raise PermissionDenied
    campaign = _campaign(year)
    added = services.campaign_add_accounts(campaign=campaign, actor=_user(request), request=request)
    if added:
        messages.success(request, _("已为新开通的账号新增 %(n)s 份年检表。") % {"n": added})
    else:
        messages.info(request, _("没有需要补充年检表的账号。"))
    return redirect(campaign)


@require_POST
def zero_report(request: HttpRequest, year: int) -> HttpResponse:
    """A unit the user keeps, without accounts in the campaign, files a zero report."""
    access = get_access(request)
    campaign = _campaign(year)
    form = ZeroReportForm(request.POST)
    if not form.is_valid():
        raise Http404
    unit = get_for(access, Unit.objects.all(), form.cleaned_data["unit"], Action.MANAGE)
    try:
        services.zero_report_file(
            campaign=campaign,
            unit=unit,
            actor=_user(request),
            note=form.cleaned_data["note"],
            request=request,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("已报送零报告：%(unit)s 本年度没有参加年检的账号。") % {"unit": unit.name},
        )
    return redirect(campaign)


@require_GET
def campaign_report_pdf(request: HttpRequest, year: int) -> HttpResponse:
    """The campaign report for the party committee: the department and the auditor only."""
    from annual_review import documents

    access = get_access(request)
    campaign = _campaign(year)
    if not access.reads_all:
        raise PermissionDenied
    from approvals.pdf import PdfTooLarge

    name = f"{campaign.year}{_('年度校园新媒体年检报告')}.pdf"
    try:
        content = documents.render_campaign_report(campaign, access)
    except PdfTooLarge as error:  # hundreds of units: the tables run past the page limit
        messages.error(request, str(error))
        return redirect(campaign.get_absolute_url())
    return _file_response(content, name, "application/pdf")


@require_GET
def campaign_results_xlsx(request: HttpRequest, year: int) -> HttpResponse:
    """The results of the forms the user may see, as a workbook."""
    from annual_review import documents

    access = get_access(request)
    campaign = _campaign(year)
    name = f"{campaign.year}{_('年度年检结果')}.xlsx"
    content = documents.results_xlsx(campaign, access, _user(request), request)
    return _file_response(content, name, XLSX)


# --- One form -----------------------------------------------------------------------------------


def _actions(form: ReviewForm, access: Access) -> list[str]:
    """The URL steps this user may take now, in the order the page shows them."""
    found = []
    for name, (transition, step) in STEPS.items():
        if transition is None:
            if may(step, form, access):
                found.append(name)
        elif can_proceed(getattr(form, transition)) and may(step, form, access):
            found.append(name)
    return found


def _person_name(user: User | None) -> str:
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return (person.name if person is not None else "") or user.get_username()


def _detail_page(
    request: HttpRequest,
    access: Access,
    form: ReviewForm,
    *,
    errors: list[str] | None = None,
    comment_form: CommentForm | None = None,
    conclude_form: ConcludeForm | None = None,
    order_form: OrderCloseForm | None = None,
    failed_step: str = "",
    status: int = 200,
) -> HttpResponse:
    registry = selectors.registry_view(form)
    values, team, from_snapshot = registry.values, registry.team, registry.from_snapshot
    account = form.account
    orders = list(CloseOrder.objects.filter(review=form).with_filing())
    # ``filed_at``: the close request that answered the order (``CloseOrderQuerySet.with_filing``).
    open_order = next((o for o in orders if getattr(o, "filed_at", None) is None), None)
    # Links to the request pages for those who file the unit's requests (the request pages
    # would let the department in for any unit; the page does not offer it).
    keeps_account = access.can(Action.MANAGE, account.owner_unit_id) and _files_for(
        account.owner_unit, access
    )
    posts, originals = form.post_count, form.original_post_count
    todo, mine = next_step(form, access)
    if open_order is not None:
        # After a close order the unit owes a close request, whatever the form's state.
        mine = keeps_account
        due = open_order.due_on.isoformat()
        todo = (
            _("请提交停办申请（%(date)s 前）") if mine else _("待单位提交停办申请（%(date)s 前）")
        ) % {"date": due}
    return render(
        request,
        "annual_review/form_detail.html",
        {
            "form": form,
            "campaign": form.campaign,
            "account": account,
            "values": values,
            "team": team,
            "from_snapshot": from_snapshot,
            "changes": selectors.change_lines(form),
            "steps": list(form.steps.all()),
            "orders": orders,
            "open_order": open_order,
            "actions": _actions(form, access),
            "can_edit": may("edit", form, access),
            "can_change": keeps_account and account.status not in _NO_CHANGE,
            "can_file_close": keeps_account and open_order is not None,
            "todo": todo,
            "mine": mine,
            "overdue": _is_overdue(form, timezone.localdate()),
            "today": timezone.localdate(),
            "signer": _signer(form),
            "submitted_name": _person_name(form.submitted_by),
            "signed_name": _person_name(form.signed_by),
            "concluded_name": _person_name(form.concluded_by),
            "original_share": (
                f"{100 * originals / posts:.0f}%" if posts and originals is not None else ""
            ),
            "errors": errors or [],
            "failed_step": failed_step,
            "comment_form": comment_form or CommentForm(),
            "conclude_form": conclude_form or ConcludeForm(),
            "order_form": order_form or OrderCloseForm(),
        },
        status=status,
    )


@never_cache
@require_GET
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    return _detail_page(request, access, _get_form(access, pk))


def _submitted_text(form: ReviewForm) -> str:
    if form.route.first_signoff:
        return _("已提交，等待%(signer)s签署。") % {"signer": _signer(form)}
    return _("已提交，等待党委宣传部作出结论。")


@never_cache
@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The unit fills in its part; "保存并提交" saves, then submits. Nothing is saved when a
    field is wrong."""
    access = get_access(request)
    form = _get_form(access, pk)
    if not _manages(form, access):
        raise PermissionDenied
    if not may("edit", form, access):
        messages.error(
            request,
            _(services.ERR_NOT_ALLOWED) % {"state": form.get_state_display(), "step": _("修改")},
        )
        return redirect(form)
    bound = ReviewFormForm(request.POST or None, instance=form)
    page_errors: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if bound.is_valid():
            try:
                saved = services.form_update(
                    form=form, actor=_user(request), data=bound.cleaned_data, request=request
                )
            except ValidationError as error:
                _apply_errors(error, bound, page_errors)
            except services.ReviewConflict as error:
                page_errors.append(str(error))
            else:
                if "submit" not in request.POST:
                    messages.success(request, _("已保存。确认无误后请提交。"))
                    return redirect(saved)
                try:
                    services.form_submit(form=saved, actor=_user(request), request=request)
                except ValidationError as error:
                    messages.warning(request, _("已保存，但还不能提交，请按提示补充。"))
                    _apply_errors(error, bound, page_errors)
                except services.ReviewConflict as error:
                    messages.error(request, str(error))
                    return redirect(saved)
                else:
                    messages.success(request, _submitted_text(saved))
                    return redirect(saved)
    registry = selectors.registry_view(form)
    values, team = registry.values, registry.team
    return render(
        request,
        "annual_review/form_edit.html",
        {
            "form": form,
            "campaign": form.campaign,
            "account": form.account,
            "values": values,
            "team": team,
            "bound": bound,
            "page_errors": page_errors,
            "can_change": access.can(Action.MANAGE, form.account.owner_unit_id)
            and _files_for(form.account.owner_unit, access)
            and form.account.status not in _NO_CHANGE,
        },
        status=status,
    )


def _cleaned(bound: Any) -> dict[str, Any]:
    """A bound form's data, or its errors (which name their fields) raised as a service would."""
    if not bound.is_valid():
        raise ValidationError({name: list(found) for name, found in bound.errors.items()})
    return bound.cleaned_data


def _take_step(
    step: str,
    form: ReviewForm,
    request: HttpRequest,
    comment_form: CommentForm,
    conclude_form: ConcludeForm,
    order_form: OrderCloseForm,
) -> tuple[ReviewForm, str]:
    """Call the step's service with the posted input; the done form and the success message."""
    actor = _user(request)
    if step == "submit":
        done = services.form_submit(form=form, actor=actor, request=request)
        return done, _submitted_text(done)
    if step == "order-close":
        reason = _cleaned(order_form)["reason"]
        order = services.review_order_close(form=form, actor=actor, reason=reason, request=request)
        date = order.due_on.isoformat()
        return form, _("已责令注销该账号：单位须在 %(date)s 前提交停办申请。") % {"date": date}
    if step == "conclude":
        data = _cleaned(conclude_form)
        try:
            done = services.form_conclude(form=form, actor=actor, request=request, **data)
        except ValidationError as error:
            _apply_errors(error, conclude_form, [])  # marks the fields; the summary follows
            raise
        text = _("已作出结论：%(outcome)s。") % {"outcome": done.get_outcome_display()}
        if done.outcome == Outcome.RECTIFY and done.rectify_by:
            text += _("整改期限 %(date)s。") % {"date": done.rectify_by.isoformat()}
        return done, text
    comment = _cleaned(comment_form)["comment"]
    if step == "sign":
        done = services.form_sign(form=form, actor=actor, comment=comment, request=request)
        return done, _("已签署，转党委宣传部作出结论。")
    done = services.form_return(form=form, actor=actor, comment=comment, request=request)
    return done, _("已退回单位修改。")


@require_POST
def form_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """Submit, sign, return, conclude or order the account closed. Errors in the input come back
    on the form's page (400); a form that moved on comes back as a message."""
    if step not in STEPS:
        raise Http404
    access = get_access(request)
    form = _get_form(access, pk)
    if not STEP_RIGHTS[step](form, access):
        raise PermissionDenied
    comment_form = CommentForm(request.POST)
    conclude_form = ConcludeForm(request.POST)
    order_form = OrderCloseForm(request.POST)
    try:
        done, text = _take_step(step, form, request, comment_form, conclude_form, order_form)
    except services.ReviewConflict as error:
        messages.error(request, str(error))
        return redirect(form)
    except ValidationError as error:
        # The services' messages, and those of the forms here, name their field already.
        return _detail_page(
            request,
            access,
            _get_form(access, pk),
            errors=error.messages,
            comment_form=comment_form,
            conclude_form=conclude_form if step == "conclude" else None,
            order_form=order_form,
            failed_step=step,
            status=400,
        )
    messages.success(request, text)
    return redirect(done)


@require_GET
def form_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from annual_review import documents

    form = _get_form(get_access(request), pk)
    name = f"{_('年检表')}-{form.campaign.year}-{form.account.name}.pdf"
    return _file_response(documents.render_review_form(form), name, "application/pdf")
