"""Benchmarks of the exports for ``manage.py bench`` (figures as ratios against same-run baselines).

The registry of every account as xlsx, as the propaganda reviewer (3,000 accounts in the bench
data), is measured three ways in the same run:

* export: what ``/exports/registry.xlsx`` does after the access check: the one query of
  ``exports.tables.registry`` (the accounts and, by a correlated subquery, their current teams),
  decrypting and masking the team's contact data, and the write-only workbook; median ms and
  its SQL statements.
* baseline: a plain ``values_list`` of the account's own columns (no team, no access filter)
  written by the same write-only writer: what the workbook costs without the team columns.
* the whole request through the middleware stack (test client): its median and its statements
  by kind: session and user, the access check (the role look-up; a secretary's also the unit
  permissions), the export query, and the audit row (its insert and its sealing into the chain).

The CSV is measured the same way as a whole request (streamed, read to the end), and a college
secretary's xlsx for the statements of its access check. Targets: one query for the rows and
under 500 ms. Each download writes its audit row, as it would in production (the bench database
is thrown away after the run).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campusmedia.choices import Role
from campusmedia.models import MediaAccount, RoleAssignment, User
from campusmedia.permissions import Access
from campusmedia.selectors import RegistryFilter
from exports import tables
from exports.writers import Table, write_xlsx

TARGET_MS = 500
TARGET_QUERIES = 1
WARMUP = 2
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def _statements(fn: Callable[[], Any]) -> list[str]:
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        fn()
    return [query["sql"] for query in captured.captured_queries]


def _kind(sql: str) -> str:
    """Which part of a request a statement belongs to."""
    if "django_session" in sql or ('FROM "campusmedia_user"' in sql and "WHERE" in sql):
        return "session"
    if "campusmedia_roleassignment" in sql or "campusmedia_unitgroupobjectpermission" in sql:
        return "access"
    if 'FROM "campusmedia_mediaaccount"' in sql:
        return "export"
    if "campusmedia_auditevent" in sql or "pg_advisory" in sql:
        return "audit"
    if sql.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")):
        return "transaction"
    return "other"


def _by_kind(statements: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sql in statements:
        kind = _kind(sql)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _propaganda() -> User:
    user = (
        User.objects.filter(is_active=True, person__role_assignments__role=Role.PROPAGANDA_REVIEWER)
        .order_by("pk")
        .first()
    )
    if user is None:
        raise SystemExit("bench data lacks a propaganda reviewer")
    return user


def _secretary() -> User | None:
    assignment = (
        RoleAssignment.objects.active()
        .filter(role=Role.SECRETARY, person__user__isnull=False, unit__kind="college")
        .select_related("person__user")
        .order_by("pk")
        .first()
    )
    return assignment.person.user if assignment is not None else None


def _export(user: User) -> Callable[[], int]:
    def run() -> int:
        access = Access(user)
        access.role_assignments  # noqa: B018 (the access check, as the view makes it first)
        return write_xlsx(tables.registry(access, RegistryFilter()), io.BytesIO())

    return run


def _baseline() -> int:
    rows = (
        MediaAccount.objects.order_by("name", "id")
        .values_list(*tables.REGISTRY_FIELDS)
        .iterator(chunk_size=tables.CHUNK)
    )
    columns = tables.REGISTRY_COLUMNS[: len(tables.REGISTRY_FIELDS)]
    return write_xlsx(Table("baseline", "baseline", columns, rows), io.BytesIO())


def _download(client: Client, url: str) -> Callable[[], int]:
    def run() -> int:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return len(b"".join(response.streaming_content))  # type: ignore[attr-defined]

    return run


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def measure(repeat: int) -> dict[str, Any]:
    user = _propaganda()
    accounts = MediaAccount.objects.count()
    export_rows = _export(user)()
    baseline_ms = _median_ms(_baseline, repeat)
    export_ms = _median_ms(_export(user), repeat)
    export_statements = _by_kind(_statements(_export(user)))
    figures: dict[str, Any] = {
        "accounts": accounts,
        "rows": export_rows,
        "vendor": connection.vendor,
        "baseline": {"ms": baseline_ms, "queries": len(_statements(_baseline))},
        "export": {"ms": export_ms, "queries": export_statements},
        "ratio": round(export_ms / baseline_ms, 2) if baseline_ms else None,
        "target_ms": TARGET_MS,
    }
    client = _client(user)
    for fmt in ("xlsx", "csv"):
        url = f"/exports/registry.{fmt}"
        ms = _median_ms(_download(client, url), repeat)
        figures[f"request_{fmt}"] = {
            "ms": ms,
            "queries": _by_kind(_statements(_download(client, url))),
        }
    secretary = _secretary()
    if secretary is not None:
        sec_client = _client(secretary)
        url = "/exports/registry.xlsx"
        figures["secretary"] = {
            "rows": sum(1 for _ in tables.registry(Access(secretary), RegistryFilter()).rows),
            "ms": _median_ms(_download(sec_client, url), repeat),
            "queries": _by_kind(_statements(_download(sec_client, url))),
        }
    export_queries = figures["export"]["queries"].get("export", 0)
    figures["met"] = export_queries == TARGET_QUERIES and export_ms < TARGET_MS
    return figures


def _split(queries: dict[str, int]) -> str:
    names = {
        "session": "session/user",
        "access": "access",
        "export": "export",
        "audit": "audit",
        "transaction": "transaction",
        "other": "other",
    }
    return ", ".join(f"{queries[key]} {label}" for key, label in names.items() if key in queries)


def print_figures(write: Callable[[str], Any], figures: dict[str, Any]) -> None:
    if not figures:
        return
    write("")
    write(f"Exports (registry of {figures['accounts']} accounts, {figures['vendor']})")
    base, export = figures["baseline"], figures["export"]
    export_queries = export["queries"]
    write(
        f"baseline  values_list of the account columns, same write-only workbook, no team: "
        f"{base['ms']:.1f} ms, {base['queries']} query"
    )
    write(
        f"export    registry xlsx as the propaganda reviewer ({figures['rows']} rows, team "
        f"columns masked): {export['ms']:.1f} ms, {_split(export_queries)} → "
        f"{figures['ratio']:.2f}× baseline"
    )
    for fmt in ("xlsx", "csv"):
        request = figures[f"request_{fmt}"]
        write(
            f"request   GET /exports/registry.{fmt}: {request['ms']:.1f} ms, "
            f"{sum(request['queries'].values())} statements ({_split(request['queries'])})"
        )
    secretary = figures.get("secretary")
    if secretary:
        write(
            f"secretary GET /exports/registry.xlsx ({secretary['rows']} rows): "
            f"{secretary['ms']:.1f} ms, {sum(secretary['queries'].values())} statements "
            f"({_split(secretary['queries'])})"
        )
    verdict = "met" if figures["met"] else "NOT met"
    write(
        f"target    one query for the rows and under {figures['target_ms']} ms: {verdict} "
        f"({export_queries.get('export', 0)} query, {export['ms']:.1f} ms)"
    )
