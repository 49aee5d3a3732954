"""Who sees the statistics: the propaganda department and the auditor, who read every unit.

Figures over the whole registry say something about every unit, so a unit's secretary or head
does not see them, even for their own units (403, like the municipal filing pages).
"""

from __future__ import annotations

from campusmedia.permissions import Access


def may_view_stats(access: Access) -> bool:
    return access.reads_all
