"""Who may take which step of a review form, in one place (views, API, services and fsm ask here).

* edit, submit: whoever keeps the owning unit's accounts (``MANAGE``), while the form is with the
  unit: the unit's secretary, and the department, which keeps every unit's accounts as it does
  for requests; its inbox (``waiting_for``) holds only the school's own flagship forms.
* sign (the unit's sign-off): a holder of ``sign_unit`` on the owning unit through a unit role:
  the unit head for tier 2, the Youth League, the college or the parent unit for tier 3
  (approvals.routing, the same line as requests); tier 1 has no sign-off.
* conclude: the final roles of the tier's route (the propaganda head for tier 1, any propaganda
  reviewer for tiers 2 and 3); return: whoever the form waits for.
* order_close, open a campaign: the propaganda department.

Nobody signs or concludes a form they submitted, and whoever signed does not also conclude. The
auditor reads every form and takes no step.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from annual_review.choices import Outcome, ReviewState
from annual_review.models import CloseOrder, ReviewForm
from approvals.routing import ROUTES
from campusmedia.choices import TIER_OF_KIND, AccountStatus, Tier
from campusmedia.permissions import Access, Action

S = ReviewState


def _is_submitter(form: ReviewForm, access: Access) -> bool:
    return access.user.pk is not None and access.user.pk == form.submitted_by_id


def with_unit(form: ReviewForm) -> bool:
    """The form is in the unit's hands: to fill in, after a return, or to rectify."""
    return form.state in (S.DRAFT, S.RETURNED) or (
        form.state == S.CONCLUDED and form.outcome == Outcome.RECTIFY
    )


def _may_sign(form: ReviewForm, access: Access) -> bool:
    return (
        form.route.first_signoff
        and access.signs_for(form.owner_unit_id)
        and not _is_submitter(form, access)
    )


def _may_conclude(form: ReviewForm, access: Access) -> bool:
    return (
        bool(access.roles & form.route.final_roles)
        and not _is_submitter(form, access)
        and access.user.pk != form.signed_by_id
    )


def may_run_campaigns(access: Access) -> bool:
    return bool(access.user.is_authenticated and access.writes_all)


def may_order_close(form: ReviewForm, access: Access) -> bool:
    """Fail, or no answer by the due date (or the rectify date), lets the department order the
    account closed, once."""
    if not may_run_campaigns(access):
        return False
    if form.account.status in (AccountStatus.CLOSED, AccountStatus.ORDERED_TO_CLOSE):
        return False
    if CloseOrder.objects.filter(review=form).exists():
        return False
    if form.state == S.CONCLUDED and form.outcome == Outcome.FAIL:
        return True
    return ReviewForm.objects.filter(pk=form.pk).overdue().exists()


def may(step: str, form: ReviewForm, access: Access) -> bool:
    """May ``access.user`` take ``step`` on ``form`` now? The fsm declares the source states."""
    if step in ("edit", "submit"):
        return (
            access.user.is_authenticated
            and access.can(Action.MANAGE, form.owner_unit_id)
            and with_unit(form)
        )
    if step == "sign":
        return _may_sign(form, access)
    if step == "conclude":
        return _may_conclude(form, access)
    if step == "review":  # return, by whoever the form waits for
        if form.state == S.SUBMITTED and form.route.first_signoff:
            return _may_sign(form, access)
        return _may_conclude(form, access)
    if step == "order_close":
        return may_order_close(form, access)
    if step == "view":
        return access.can(Action.VIEW, form.owner_unit_id)
    raise ValueError(f"unknown step {step!r}")


def visible_forms(access: Access, queryset: QuerySet[ReviewForm] | None = None):
    queryset = ReviewForm.objects.all() if queryset is None else queryset
    ids = access.unit_ids()
    return queryset if ids is None else queryset.filter(owner_unit_id__in=ids)


def waiting_for(access: Access, queryset: QuerySet[ReviewForm] | None = None):
    """Forms whose next step is this user's (before the self-signing checks, which only ever
    remove forms the user submitted or signed)."""
    queryset = ReviewForm.objects.all() if queryset is None else queryset
    user_id = access.user.pk
    mine = Q(pk__in=[])
    manage = access.unit_ids(Action.MANAGE)
    unit_turn = Q(state__in=[S.DRAFT, S.RETURNED]) | Q(state=S.CONCLUDED, outcome=Outcome.RECTIFY)
    if manage is None:
        # The department keeps the school's own accounts; other units fill their own forms.
        mine |= unit_turn & Q(owner_unit__kind__in=_kinds(Tier.ONE))
    elif manage:
        mine |= unit_turn & Q(owner_unit_id__in=manage)
    sign_ids = [uid for uid, names in access.unit_codenames.items() if "sign_unit" in names]
    if sign_ids:
        signing = [k for k, t in TIER_OF_KIND.items() if ROUTES[t].first_signoff]
        mine |= Q(state=S.SUBMITTED, owner_unit_id__in=sign_ids, owner_unit__kind__in=signing)
    for tier, route in ROUTES.items():
        if access.roles & route.final_roles:
            state = S.SIGNED if route.first_signoff else S.SUBMITTED
            mine |= Q(state=state, owner_unit__kind__in=_kinds(tier))
    return (
        queryset.filter(mine)
        .exclude(Q(submitted_by_id=user_id) & Q(state__in=[S.SUBMITTED, S.SIGNED]))
        .exclude(Q(signed_by_id=user_id) & Q(state=S.SIGNED))
    )


def _kinds(tier: int) -> list[str]:
    return [kind for kind, t in TIER_OF_KIND.items() if t == tier]
