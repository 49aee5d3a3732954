"""Who may use the census import: the propaganda department, which loads every unit's existing
accounts. Everyone else gets 403 on the pages and 404 on a job (the jobs are not theirs to know
about); the auditor reads the import's audit rows, not the files."""

from __future__ import annotations

from campusmedia.permissions import Access


def may_import(access: Access) -> bool:
    return access.writes_all
