"""What the annual review does (DOMAIN.md section 6). Every write goes through here.

* ``campaign_open`` opens a year's review and makes one form per active account in one
  ``INSERT … SELECT`` (one statement for 3,000 or 150,000 accounts); opening again, or
  ``campaign_add_accounts`` later, adds forms only for accounts that have none.
* The steps of a form (submit, sign, return, conclude) lock the row, ask the fsm and
  ``annual_review.permissions``, write one timeline row and one audit row, and notify after commit.
* ``review_order_close`` orders an account closed after a fail or no answer; the unit then owes a
  close request by a deadline (``CAMPUSMEDIA_CLOSE_ORDER_DAYS``).
* ``zero_report_file``: a unit with no account answers the campaign with a zero report.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from annual_review.choices import Outcome, ReviewAction, ReviewState
from annual_review.models import CloseOrder, ReviewCampaign, ReviewForm, ReviewStep, ZeroReport
from annual_review.permissions import may, may_run_campaigns
from approvals import notifications
from approvals.choices import NotificationVerb, RequestKind, RequestState
from approvals.models import AccountRequest, TeamChangeEvent
from approvals.notifications import Recipient, keepers_of
from approvals.services import account_data, actor_name
from campusmedia import services as registry
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, TeamRole
from campusmedia.models import MediaAccount, RoleAssignment, Unit, UnitGroupObjectPermission, User
from campusmedia.models.audit import AuditAction
from campusmedia.net import client_ip
from campusmedia.permissions import Access, Action

S = ReviewState

ERR_YEAR = "年度：请填写 2000 至 2100 之间的年份。"
ERR_DATES = "截止日期：截止日期不能早于开始日期。"
ERR_NOT_RUNNING = "年检：只有党委宣传部可以开启年检。"
ERR_CONFLICT = "该年检表已被他人处理（当前状态：%(state)s），请刷新页面后再操作。"
ERR_CONFLICT_MOVED = "该年检表已被他人处理，请刷新页面后再操作。"
ERR_NOT_ALLOWED = "当前状态（%(state)s）下不能执行“%(step)s”。"
ERR_REQUIRED = "%(field)s：提交前请填写。"
ERR_ORIGINAL_POSTS = "其中原创数：原创数不能大于全年发布数。"
ERR_CONFIRM = "登记信息无误：请核对账号信息与管理队伍；如有变化，请先提交变更申请，再提交年检表。"
ERR_COMMENT = "意见：退回、限期整改或不合格时请写明原因。"
ERR_OUTCOME = "结论：请选择合格、限期整改或不合格。"
ERR_RECTIFY_BY = "整改期限：限期整改请填写今天以后的日期。"
ERR_ORDER_REASON = "理由：请写明责令注销的理由。"
ERR_ORDER_NOT_ALLOWED = (
    "只有年检不合格，或逾期未报送、逾期未整改的账号才能责令注销，且只能责令一次。"
)
ERR_ZERO_HAS_ACCOUNTS = "零报告：本单位有参加本次年检的账号，请填报年检表。"

# What the unit fills in; the rest of the form is set by the steps.
FORM_FIELDS = (
    "registry_confirmed",
    "follower_count",
    "post_count",
    "original_post_count",
    "incident_count",
    "incidents",
    "training",
    "self_assessment",
    "next_year_plan",
)
# Required before the form is submitted (an empty text field or a missing figure).
SUBMIT_REQUIRED = (
    "follower_count",
    "post_count",
    "original_post_count",
    "incident_count",
    "self_assessment",
    "next_year_plan",
)
STEP_LABELS = {
    "submit": ReviewAction.SUBMIT,
    "sign": ReviewAction.SIGN,
    "return_for_changes": ReviewAction.RETURN,
    "conclude": ReviewAction.CONCLUDE,
}


class ReviewConflict(Exception):
    """The form is no longer in the state the step needs (someone else acted first)."""


# --- Campaigns -----------------------------------------------------------------------------------


_CAMPAIGN = object()


def _insert_forms_sql() -> tuple[str, list[Any]]:
    """``INSERT INTO <forms> (…) SELECT %s, id, owner_unit_id, <defaults> FROM <accounts> WHERE
    status = 'active' AND NOT EXISTS (a form of this campaign)``: every column not named comes
    from the model field's default, so the statement follows the model."""
    form, account = ReviewForm._meta, MediaAccount._meta
    quote = connection.ops.quote_name
    now = timezone.now()
    picked = {"account": account.pk.column, "owner_unit": account.get_field("owner_unit").column}
    columns: list[str] = []
    selects: list[str] = []
    params: list[Any] = []
    for field in form.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        if field.name == "campaign":
            selects.append("%s")
            params.append(_CAMPAIGN)  # the campaign's id, filled in by the caller
        elif field.name in picked:
            selects.append(f"a.{quote(picked[field.name])}")
        else:
            value = now if field.name in ("created_at", "updated_at") else field.get_default()
            selects.append("%s")
            params.append(field.get_db_prep_save(value, connection))
    status = account.get_field("status").column
    exists = (
        f"SELECT 1 FROM {quote(form.db_table)} f WHERE f.{quote(form.get_field('account').column)}"
        f" = a.{quote(account.pk.column)} AND f.{quote(form.get_field('campaign').column)} = %s"
    )
    sql = (
        f"INSERT INTO {quote(form.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM {quote(account.db_table)} a "
        f"WHERE a.{quote(status)} = %s AND NOT EXISTS ({exists})"
    )
    return sql, params


def _add_forms(campaign: ReviewCampaign) -> int:
    sql, params = _insert_forms_sql()
    params = [campaign.pk if p is _CAMPAIGN else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, AccountStatus.ACTIVE, campaign.pk])
        return max(cursor.rowcount, 0)


@transaction.atomic
def campaign_open(
    *,
    year: int,
    starts_on: datetime.date,
    due_on: datetime.date,
    actor: User,
    title: str = "",
    instructions: str = "",
    request: HttpRequest | None = None,
) -> tuple[ReviewCampaign, int]:
    """Open the review of ``year`` (or, if it is open, add the forms it lacks).

    Returns the campaign and the number of forms made."""
    if not may_run_campaigns(Access(actor)):
        raise PermissionDenied(_(ERR_NOT_RUNNING))
    errors: dict[str, list[str]] = {}
    if not 2000 <= int(year) <= 2100:
        errors["year"] = [_(ERR_YEAR)]
    if due_on < starts_on:
        errors["due_on"] = [_(ERR_DATES)]
    if errors:
        raise ValidationError(errors)
    campaign, created = ReviewCampaign.objects.get_or_create(
        year=year,
        defaults={
            "title": title.strip() or _("%(year)s年度校园新媒体年检") % {"year": year},
            "instructions": instructions.strip(),
            "starts_on": starts_on,
            "due_on": due_on,
            "opened_by": actor,
        },
    )
    added = _add_forms(campaign)
    audit_record(
        action=AuditAction.REVIEW_CAMPAIGN,
        actor=actor,
        request=request,
        obj=campaign,
        detail={"year": campaign.year, "opened": created, "forms_added": added},
    )
    return campaign, added


@transaction.atomic
def campaign_add_accounts(
    *, campaign: ReviewCampaign, actor: User, request: HttpRequest | None = None
) -> int:
    """Forms for accounts that became active after the campaign opened."""
    _, added = campaign_open(
        year=campaign.year,
        starts_on=campaign.starts_on,
        due_on=campaign.due_on,
        actor=actor,
        request=request,
    )
    return added


# --- The unit's part -----------------------------------------------------------------------------


def _open_change_request(account_id: int) -> AccountRequest | None:
    return (
        AccountRequest.objects.filter(account_id=account_id, kind=RequestKind.CHANGE)
        .exclude(state__in=[RequestState.DRAFT, RequestState.WITHDRAWN, RequestState.REJECTED])
        .exclude(state=RequestState.APPROVED, decided_at__lt=timezone.now() - _RECENT)
        .order_by("-created_at")
        .first()
    )


# A change request decided within this period still counts as "filed from the form".
_RECENT = datetime.timedelta(days=120)


@transaction.atomic
def form_update(
    *,
    form: ReviewForm,
    actor: User,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> ReviewForm:
    """Save what the unit filled in (any subset of ``FORM_FIELDS``)."""
    locked = ReviewForm.objects.select_for_update(of=("self",)).get(pk=form.pk)
    if not may("edit", locked, Access(actor)):
        raise PermissionDenied
    for name in FORM_FIELDS:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            setattr(locked, name, value)
    if locked.started_at is None:
        locked.started_at = timezone.now()
    locked.full_clean(exclude=["campaign", "account", "owner_unit", "snapshot"])
    _check_figures(locked)
    locked.save(update_fields=[*FORM_FIELDS, "started_at", "updated_at"])
    return locked


def _check_figures(form: ReviewForm) -> None:
    if (
        form.post_count is not None
        and form.original_post_count is not None
        and form.original_post_count > form.post_count
    ):
        raise ValidationError({"original_post_count": [_(ERR_ORIGINAL_POSTS)]})


def _check_complete(form: ReviewForm) -> None:
    errors: dict[str, list[str]] = {}
    for name in SUBMIT_REQUIRED:
        value = getattr(form, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            label = str(ReviewForm._meta.get_field(name).verbose_name)
            errors[name] = [_(ERR_REQUIRED) % {"field": label}]
    if not form.registry_confirmed and _open_change_request(form.account_id) is None:
        errors["registry_confirmed"] = [_(ERR_CONFIRM)]
    if errors:
        raise ValidationError(errors)
    _check_figures(form)


def snapshot_of(account: MediaAccount) -> dict[str, Any]:
    """The registry as the unit confirmed it: account fields and the team's names and titles
    (no contact data: the form is read by more people than the registry's keepers)."""
    members = account.team.current().select_related("person").order_by("id")
    team = [
        {"role": m.role, "name": m.person.name, "title": m.person.title}
        for m in sorted(members, key=lambda m: m.role != TeamRole.SUPERVISOR)
    ]
    return {
        "account": account_data(account),
        "team": team,
        "status": account.status,
        "approval_number": account.approval_number,
    }


# --- The steps -----------------------------------------------------------------------------------


def _run_step(
    form: ReviewForm,
    *,
    name: str,
    actor: User,
    comment: str = "",
    request: HttpRequest | None = None,
    effects: Callable[[ReviewForm], None] | None = None,
    fields: tuple[str, ...] = (),
) -> ReviewForm:
    locked = (
        ReviewForm.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "account", "campaign")
        .get(pk=form.pk)
    )
    step = getattr(locked, name)
    if not can_proceed(step):
        if locked.state != form.state:
            raise ReviewConflict(_(ERR_CONFLICT) % {"state": locked.get_state_display()})
        raise ReviewConflict(
            _(ERR_NOT_ALLOWED)
            % {"state": locked.get_state_display(), "step": STEP_LABELS[name].label}
        )
    if not has_transition_perm(step, actor):
        raise PermissionDenied
    source = locked.state
    step()
    if effects is not None:
        effects(locked)
    try:
        locked.save(update_fields=["state", *fields, "updated_at"])
    except ConcurrentTransition as error:
        raise ReviewConflict(_(ERR_CONFLICT_MOVED)) from error
    _timeline(locked, actor, STEP_LABELS[name], source, comment, request)
    transaction.on_commit(lambda: _after_step(locked))
    return locked


def _timeline(
    form: ReviewForm,
    actor: User,
    action: str,
    source: str,
    comment: str,
    request: HttpRequest | None,
) -> ReviewStep:
    step = ReviewStep.objects.create(
        form=form,
        actor=actor,
        actor_name=actor_name(actor),
        action=action,
        source_state=source,
        target_state=form.state,
        outcome=form.outcome if action == ReviewAction.CONCLUDE else "",
        comment=comment,
        ip=client_ip(request) if request is not None else None,
    )
    audit_record(
        action=AuditAction.REVIEW_STEP,
        actor=actor,
        request=request,
        obj=form,
        detail={
            "step": action,
            "from": source,
            "to": form.state,
            "outcome": step.outcome,
            "comment": comment[:200],
        },
    )
    return step


def _required_comment(comment: str) -> str:
    if not comment.strip():
        raise ValidationError({"comment": [_(ERR_COMMENT)]})
    return comment.strip()


@transaction.atomic
def form_submit(*, form: ReviewForm, actor: User, request: HttpRequest | None = None) -> ReviewForm:
    def effects(locked: ReviewForm) -> None:
        _check_complete(locked)
        locked.snapshot = snapshot_of(locked.account)
        locked.submitted_by = actor
        locked.submitted_at = timezone.now()
        # A resubmission (after a return or "rectify") is signed and concluded afresh; the
        # timeline keeps the earlier opinions. The rectify date stays: it was the deadline.
        locked.signed_by = None
        locked.signed_at = None
        locked.sign_comment = ""
        locked.outcome = ""
        locked.conclusion = ""
        locked.concluded_by = None
        locked.concluded_at = None

    return _run_step(
        form,
        name="submit",
        actor=actor,
        request=request,
        effects=effects,
        fields=(
            "snapshot",
            "submitted_by",
            "submitted_at",
            "signed_by",
            "signed_at",
            "sign_comment",
            "outcome",
            "conclusion",
            "concluded_by",
            "concluded_at",
        ),
    )


@transaction.atomic
def form_sign(
    *, form: ReviewForm, actor: User, comment: str = "", request: HttpRequest | None = None
) -> ReviewForm:
    def effects(locked: ReviewForm) -> None:
        locked.signed_by = actor
        locked.signed_at = timezone.now()
        locked.sign_comment = comment.strip()

    return _run_step(
        form,
        name="sign",
        actor=actor,
        comment=comment.strip(),
        request=request,
        effects=effects,
        fields=("signed_by", "signed_at", "sign_comment"),
    )


@transaction.atomic
def form_return(
    *, form: ReviewForm, actor: User, comment: str, request: HttpRequest | None = None
) -> ReviewForm:
    def effects(locked: ReviewForm) -> None:  # after the right is checked
        _required_comment(comment)

    return _run_step(
        form,
        name="return_for_changes",
        actor=actor,
        comment=comment.strip(),
        request=request,
        effects=effects,
    )


@transaction.atomic
def form_conclude(
    *,
    form: ReviewForm,
    actor: User,
    outcome: str,
    comment: str = "",
    rectify_by: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> ReviewForm:

    def effects(locked: ReviewForm) -> None:  # after the right is checked
        if outcome not in Outcome.values:
            raise ValidationError({"outcome": [_(ERR_OUTCOME)]})
        if outcome != Outcome.PASS:
            _required_comment(comment)
        if outcome == Outcome.RECTIFY and (
            rectify_by is None or rectify_by <= timezone.localdate()
        ):
            raise ValidationError({"rectify_by": [_(ERR_RECTIFY_BY)]})
        locked.outcome = outcome
        locked.conclusion = comment.strip()
        locked.concluded_by = actor
        locked.concluded_at = timezone.now()
        locked.rectify_by = rectify_by if outcome == Outcome.RECTIFY else None

    return _run_step(
        form,
        name="conclude",
        actor=actor,
        comment=comment.strip(),
        request=request,
        effects=effects,
        fields=("outcome", "conclusion", "concluded_by", "concluded_at", "rectify_by"),
    )


# --- Consequences --------------------------------------------------------------------------------


@transaction.atomic
def review_order_close(
    *,
    form: ReviewForm,
    actor: User,
    reason: str,
    request: HttpRequest | None = None,
) -> CloseOrder:
    """Order the account of a failed or unanswered form closed (责令注销)."""
    locked = (
        ReviewForm.objects.select_for_update(of=("self",))
        .select_related("account", "campaign", "owner_unit")
        .get(pk=form.pk)
    )
    if not reason.strip():
        raise ValidationError({"reason": [_(ERR_ORDER_REASON)]})
    if not may("order_close", locked, Access(actor)):
        if not may_run_campaigns(Access(actor)):
            raise PermissionDenied
        raise ValidationError({"reason": [_(ERR_ORDER_NOT_ALLOWED)]})
    today = timezone.localdate()
    order = CloseOrder.objects.create(
        account=locked.account,
        review=locked,
        reason=reason.strip(),
        ordered_by=actor,
        due_on=today + datetime.timedelta(days=settings.CAMPUSMEDIA_CLOSE_ORDER_DAYS),
    )
    registry.account_update(
        account=locked.account,
        actor=actor,
        source=_("%(year)s年度年检") % {"year": locked.campaign.year},
        request=request,
        note=reason.strip(),
        status=AccountStatus.ORDERED_TO_CLOSE,
    )
    _timeline(locked, actor, ReviewAction.ORDER_CLOSE, locked.state, reason.strip(), request)
    audit_record(
        action=AuditAction.CLOSE_ORDERED,
        actor=actor,
        request=request,
        obj=locked.account,
        detail={"review": locked.pk, "due_on": order.due_on.isoformat()},
    )
    account = locked.account
    text = _("%(account)s 已被责令注销，请在 %(due)s 前提交停办申请") % {
        "account": account.name,
        "due": order.due_on.isoformat(),
    }
    url = account.get_absolute_url()
    transaction.on_commit(
        lambda: notifications.notify(
            keepers_of(account.owner_unit_id), NotificationVerb.CLOSE_ORDERED, text, url
        )
    )
    return order


@transaction.atomic
def zero_report_file(
    *,
    campaign: ReviewCampaign,
    unit: Unit,
    actor: User,
    note: str = "",
    request: HttpRequest | None = None,
) -> ZeroReport:
    """A unit without accounts in the campaign says so (零报告); filing twice changes nothing."""
    if not Access(actor).can(Action.MANAGE, unit.pk):
        raise PermissionDenied
    if ReviewForm.objects.filter(campaign=campaign, owner_unit=unit).exists():
        raise ValidationError({"unit": [_(ERR_ZERO_HAS_ACCOUNTS)]})
    report, created = ZeroReport.objects.get_or_create(
        campaign=campaign, unit=unit, defaults={"filed_by": actor, "note": note.strip()[:200]}
    )
    if created:
        audit_record(
            action=AuditAction.ZERO_REPORT,
            actor=actor,
            request=request,
            obj=unit,
            detail={"year": campaign.year},
        )
    return report


# --- Who hears about it --------------------------------------------------------------------------


def _holders(**filters: Any) -> list[Recipient]:
    users = User.objects.filter(
        is_active=True,
        person__role_assignments__in=RoleAssignment.objects.active().filter(**filters),
    )
    return notifications.recipients(users)


def recipients_for(form: ReviewForm) -> list[Recipient]:
    """Whom the form now waits for (or, once concluded, the unit's keepers)."""
    route = form.route
    if form.state == S.SUBMITTED and route.first_signoff:
        groups = UnitGroupObjectPermission.objects.filter(
            content_object_id=form.owner_unit_id, permission__codename="sign_unit"
        ).values("group_id")
        found = _holders(group_id__in=groups)
    elif form.state in (S.SUBMITTED, S.SIGNED):
        found = _holders(role__in=route.final_roles)
    else:
        found = keepers_of(form.owner_unit_id)
    excluded = {form.submitted_by_id, form.signed_by_id} if form.state != S.RETURNED else set()
    if form.state == S.CONCLUDED:
        excluded = set()
    return [r for r in found if r.pk not in excluded]


def _after_step(form: ReviewForm) -> None:
    state = form.state
    if state == S.CONCLUDED:
        text = _("%(year)s年度年检结论：%(account)s %(outcome)s") % {
            "year": form.campaign.year,
            "account": form.account.name,
            "outcome": form.get_outcome_display(),
        }
    elif state == S.RETURNED:
        text = _("%(year)s年度年检表被退回修改：%(account)s") % {
            "year": form.campaign.year,
            "account": form.account.name,
        }
    else:
        text = _("%(year)s年度年检表待您处理：%(account)s（%(state)s）") % {
            "year": form.campaign.year,
            "account": form.account.name,
            "state": form.get_state_display(),
        }
    notifications.notify(
        recipients_for(form), NotificationVerb.REVIEW, text, form.get_absolute_url()
    )


# --- Reading helpers shared by pages, API and documents ------------------------------------------


def year_team_changes(form: ReviewForm) -> list[TeamChangeEvent]:
    """The year's team changes of the account, each with ``is_late`` computed by the system."""
    year = form.campaign.year
    return list(
        TeamChangeEvent.objects.filter(account_id=form.account_id, happened_on__year=year)
        .select_related("person", "filed_by_request")
        .order_by("happened_on", "id")
    )


def accounts_without_form(campaign: ReviewCampaign):
    """Active accounts the campaign has no form for (activated after it opened)."""
    return MediaAccount.objects.filter(status=AccountStatus.ACTIVE).filter(
        ~Exists(ReviewForm.objects.filter(campaign=campaign, account_id=OuterRef("pk")))
    )
