"""Who may do what with municipal filing. Batches are the propaganda department's work; the
auditor reads them. Packets hold ID copies, so only the department downloads them."""

from __future__ import annotations

from campusmedia.permissions import Access


def may_view_batches(access: Access) -> bool:
    return access.reads_all


def may_run_batches(access: Access) -> bool:
    return access.writes_all


def may_download_packets(access: Access) -> bool:
    return access.writes_all
