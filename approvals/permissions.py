"""Who may take which step of a request, in one place (asked by views, API, services and fsm).

* submit, edit, upload: whoever keeps the owning unit's accounts (``MANAGE``, the department
  included); withdraw: the unit's own keepers or the person who filed it, never a reviewer who
  merely keeps every unit; the auditor never.
* endorse (first sign-off): a holder of ``sign_unit`` on the owning unit through a unit role
  (routing.py), tiers 2 and 3 only.
* decide (approve or record): the final roles of the tier's route: the propaganda head for tier 1,
  any propaganda reviewer for tiers 2 and 3.
* return and reject: whoever may act at the step the request waits for.

Nobody signs their own request, and whoever signed first does not also decide.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from approvals.choices import EDITABLE_STATES, RequestState
from approvals.models import AccountRequest
from approvals.routing import ROUTES
from campusmedia.choices import TIER_OF_KIND, Tier
from campusmedia.permissions import Access, Action

S = RequestState


def _is_filer(request: AccountRequest, access: Access) -> bool:
    user_id = access.user.pk
    return user_id is not None and user_id in (request.created_by_id, request.submitted_by_id)


def _may_endorse(request: AccountRequest, access: Access) -> bool:
    return (
        request.route.first_signoff
        and access.signs_for(request.owner_unit_id)
        and not _is_filer(request, access)
    )


def _may_decide(request: AccountRequest, access: Access) -> bool:
    return (
        bool(access.roles & request.route.final_roles)
        and not _is_filer(request, access)
        and access.user.pk != request.endorsed_by_id
    )


def _may_manage(request: AccountRequest, access: Access) -> bool:
    return access.user.is_authenticated and access.can(Action.MANAGE, request.owner_unit_id)


def may(step: str, request: AccountRequest, access: Access) -> bool:
    """May ``access.user`` take ``step`` on ``request`` in its current state's terms?

    The fsm declares from which states a step starts; this answers who, for that moment.
    """
    if step in ("submit", "edit"):
        return _may_manage(request, access) and request.state in EDITABLE_STATES
    if step == "upload":  # the signed scans arrive after approval too, not on a dead request
        return _may_manage(request, access) and request.state not in (S.REJECTED, S.WITHDRAWN)
    if step == "withdraw":  # the unit's own keepers or the filer; a reviewer never withdraws
        return access.keeps(request.owner_unit_id) or (
            _is_filer(request, access) and access.can(Action.VIEW, request.owner_unit_id)
        )
    if step == "endorse":
        return _may_endorse(request, access)
    if step == "decide":
        return _may_decide(request, access)
    if step == "review":  # return or reject, by whoever the request waits for
        if request.state == S.SUBMITTED and request.route.first_signoff:
            return _may_endorse(request, access)
        return _may_decide(request, access)
    if step == "view":
        return access.can(Action.VIEW, request.owner_unit_id)
    raise ValueError(f"unknown step {step!r}")


def visible_requests(access: Access, queryset: QuerySet[AccountRequest] | None = None):
    """Requests of the units the user may see; drafts only to the unit's keepers and filers."""
    queryset = AccountRequest.objects.all() if queryset is None else queryset
    ids = access.unit_ids()
    if ids is not None:
        queryset = queryset.filter(owner_unit_id__in=ids)
    manage = access.unit_ids(Action.MANAGE)
    if manage is None:
        return queryset
    return queryset.filter(
        ~Q(state=S.DRAFT) | Q(owner_unit_id__in=manage) | Q(created_by_id=access.user.pk)
    )


def waiting_for(access: Access, queryset: QuerySet[AccountRequest] | None = None):
    """The inbox: requests whose next step is this user's (before the self-signing checks,
    which the page applies per row; they only ever remove the user's own requests)."""
    queryset = AccountRequest.objects.all() if queryset is None else queryset
    user_id = access.user.pk
    mine = Q(pk__in=[])
    # First sign-off: submitted requests of tier 2/3 units the user signs for.
    sign_ids = [uid for uid, names in access.unit_codenames.items() if "sign_unit" in names]
    if sign_ids:
        signing_kinds = [k for k, t in TIER_OF_KIND.items() if t != Tier.ONE]
        mine |= Q(state=S.SUBMITTED, owner_unit_id__in=sign_ids, owner_unit__kind__in=signing_kinds)
    # Final decision.
    for tier, route in ROUTES.items():
        if access.roles & route.final_roles:
            kinds = [k for k, t in TIER_OF_KIND.items() if t == tier]
            state = S.ENDORSED if route.first_signoff else S.SUBMITTED
            mine |= Q(state=state, owner_unit__kind__in=kinds)
    # Returned to the unit's keepers.
    manage = access.unit_ids(Action.MANAGE)
    if manage is not None and manage:
        mine |= Q(state=S.RETURNED, owner_unit_id__in=manage)
    return (
        queryset.filter(mine)
        .exclude(Q(submitted_by_id=user_id) & ~Q(state=S.RETURNED))
        .exclude(Q(endorsed_by_id=user_id) & Q(state=S.ENDORSED))
    )
