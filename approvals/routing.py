"""Who signs which request: the tier table of DOMAIN.md section 2, in one place.

The tier follows from the owning unit. The first sign-off belongs to whoever holds ``sign_unit``
on that unit (the unit head for tier 2; the college, the parent unit or the Youth League for tier
3; see ``campusmedia.services._codename``); tier 1 has none. The final step belongs to the
propaganda department: its head alone for tier 1, any of its reviewers for tiers 2 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from approvals.choices import Decision
from campusmedia.choices import Role, Tier, UnitKind


@dataclass(frozen=True)
class Route:
    first_signoff: bool
    first_signer: str | Promise  # who signs first, as the forms name them
    final_roles: frozenset[str]
    final_signer: str | Promise
    decision: str


_PROPAGANDA = frozenset({Role.PROPAGANDA_REVIEWER, Role.PROPAGANDA_HEAD})

ROUTES: dict[int, Route] = {
    Tier.ONE: Route(
        first_signoff=False,
        first_signer="",
        final_roles=frozenset({Role.PROPAGANDA_HEAD}),
        final_signer=_("宣传部负责人"),
        decision=Decision.APPROVE,
    ),
    Tier.TWO: Route(
        first_signoff=True,
        first_signer=_("单位负责人"),
        final_roles=_PROPAGANDA,
        final_signer=_("党委宣传部"),
        decision=Decision.APPROVE,
    ),
    Tier.THREE: Route(
        first_signoff=True,
        first_signer=_("上级单位"),
        final_roles=_PROPAGANDA,
        final_signer=_("党委宣传部"),
        decision=Decision.RECORD,
    ),
}

# Tier 3's first signer by the kind of the owning unit (DOMAIN.md section 2).
_TIER3_FIRST_SIGNER: dict[str, str | Promise] = {
    UnitKind.SCHOOL_STUDENT_ORG: _("校团委"),
    UnitKind.COLLEGE_STUDENT_ORG: _("学院"),
    UnitKind.SUB_UNIT: _("上级单位"),
}


def route_for(tier: int) -> Route:
    return ROUTES[tier]


def first_signer_label(tier: int, unit_kind: str) -> str | Promise:
    if tier == Tier.THREE:
        return _TIER3_FIRST_SIGNER.get(unit_kind, ROUTES[tier].first_signer)
    return ROUTES[tier].first_signer
