"""Benchmarks of the request workflow for ``manage.py bench`` (figures as ratios, same run).

* One approval step (the first sign-off) through ``services.request_endorse``: median time and
  queries, beside a plain save of the same row, and the timeline rows it wrote.
* The inbox page of a unit head: queries with N and with 3N requests waiting (must be equal).
* The approval form PDF: median warm render beside a minimal one-page Chinese page.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals import services
from approvals.choices import RequestKind
from approvals.models import AccountRequest, RequestStep
from campusmedia.choices import Role, TeamRole, UnitKind
from campusmedia.models import Platform, RoleAssignment, User


def _capture() -> CaptureQueriesContext:
    """A query capture that counts even when the connection's log is full (it keeps 9,000
    entries; once full, its length no longer grows and a plain capture counts nothing)."""
    connection.queries_log.clear()
    return CaptureQueriesContext(connection)


def _median_ms(fns: list[Callable[[], Any]]) -> float:
    times = []
    for fn in fns:
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _pair() -> tuple[User, User, Any]:
    """A college with a secretary and a head who both log in."""
    for assignment in (
        RoleAssignment.objects.active()
        .filter(role=Role.SECRETARY, unit__kind=UnitKind.COLLEGE, person__user__isnull=False)
        .select_related("person__user", "unit")
    ):
        head = (
            RoleAssignment.objects.active()
            .filter(role=Role.HEAD, unit=assignment.unit, person__user__isnull=False)
            .select_related("person__user")
            .first()
        )
        if head is not None and head.person.user is not None:
            assert assignment.person.user is not None
            return assignment.person.user, head.person.user, assignment.unit
    raise SystemExit("scale data lacks a college with a secretary and a head who log in")


def _submitted(secretary: User, unit: Any, count: int, tag: str) -> list[AccountRequest]:
    platform = Platform.objects.order_by("sort_order").first()
    made = []
    for i in range(count):
        req = services.request_create(
            kind=RequestKind.OPEN,
            owner_unit=unit,
            actor=secretary,
            data={"name": f"基准测试{tag}{i:04d}", "platform": platform},
            team=[
                {"role": TeamRole.SUPERVISOR, "name": "基准分管领导"},
                {"role": TeamRole.ADMINISTRATOR, "name": "基准管理员"},
            ],
        )
        made.append(services.request_submit(account_request=req, actor=secretary))
    return made


def measure(repeat: int) -> dict[str, Any]:
    from approvals.pdf import render_approval_form

    secretary, head, unit = _pair()
    requests = _submitted(secretary, unit, repeat + 1, "A")

    # One approval step, against a plain save of the same row.
    def plain(pk: int) -> Callable[[], None]:
        def run() -> None:
            with transaction.atomic():
                row = AccountRequest.objects.get(pk=pk)
                row.reason = "基准"
                row.save()

        return run

    plain_ms = _median_ms([plain(r.pk) for r in requests[:repeat]])
    steps_before = RequestStep.objects.count()

    def endorse(req: AccountRequest) -> Callable[[], Any]:
        return lambda: services.request_endorse(account_request=req, actor=head)

    step_ms = _median_ms([endorse(r) for r in requests[:repeat]])
    steps_written = RequestStep.objects.count() - steps_before
    with _capture() as captured:
        services.request_endorse(account_request=requests[repeat], actor=head)
    # Counted now (the next capture clears the log it reads from), without BEGIN/COMMIT; the
    # statements before the first COMMIT are the step's transaction, the rest the notification.
    sqls = [q["sql"] for q in captured.captured_queries]
    commit = next((i for i, sql in enumerate(sqls) if sql.upper().startswith("COMMIT")), len(sqls))
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    in_step = [sql for sql in sqls[:commit] if not sql.upper().startswith(control)]
    after = [sql for sql in sqls[commit:] if not sql.upper().startswith(control)]

    # The inbox: the same queries with N and with 3N waiting.
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(head)
    waiting_small = _submitted(secretary, unit, 10, "B")
    with _capture() as captured:
        assert client.get("/requests/inbox/").status_code == 200
    queries_small = len(captured)
    inbox_small_ms = _median_ms([lambda: client.get("/requests/inbox/")] * repeat)
    _submitted(secretary, unit, 20, "C")
    with _capture() as captured:
        assert client.get("/requests/inbox/").status_code == 200
    queries_large = len(captured)
    inbox_large_ms = _median_ms([lambda: client.get("/requests/inbox/")] * repeat)

    # The PDF form beside a minimal one-page Chinese page, both warm.
    from weasyprint import HTML

    # The same font as the form, title included (regular weight, as on the form).
    minimal = (
        '<html lang="zh"><body style="font-family: \'Noto Serif CJK SC\', serif">'
        '<h1 style="font-weight: normal">校园新媒体审批（备案）表</h1>'
        "<p>主办单位：计算机学院。</p></body></html>"
    )
    sample = waiting_small[0]
    for _ in range(2):
        render_approval_form(sample)
        HTML(string=minimal).write_pdf()
    pdf_repeat = max(5, repeat // 3)
    pdf_ms = _median_ms([lambda: render_approval_form(sample)] * pdf_repeat)
    minimal_ms = _median_ms([lambda: HTML(string=minimal).write_pdf()] * pdf_repeat)

    return {
        "step": {
            "ms": round(step_ms, 2),
            "queries": len(in_step),
            "queries_after_commit": len(after),
            "plain_save_ms": round(plain_ms, 2),
            "ratio": round(step_ms / plain_ms, 2),
            "timeline_rows_per_step": steps_written / repeat,
        },
        "inbox": {
            "waiting_small": 10,
            "waiting_large": 30,
            "queries_small": queries_small,
            "queries_large": queries_large,
            "ms_small": round(inbox_small_ms, 2),
            "ms_large": round(inbox_large_ms, 2),
        },
        "pdf": {
            "form_ms": round(pdf_ms, 1),
            "minimal_ms": round(minimal_ms, 1),
            "ratio": round(pdf_ms / minimal_ms, 2),
        },
    }


def print_figures(write: Callable[[str], None], figures: dict[str, Any]) -> None:
    step, inbox, pdf = figures["step"], figures["inbox"], figures["pdf"]
    write("\nRequests")
    write(
        f"approval step (first sign-off)  {step['ms']:.2f} ms, {step['queries']} queries in its "
        f"transaction (+{step['queries_after_commit']} after commit: the notification), "
        f"{step['timeline_rows_per_step']:.0f} timeline row per step; plain save of the row "
        f"{step['plain_save_ms']:.2f} ms → {step['ratio']:.2f}×"
    )
    write(
        f"inbox page  {inbox['queries_small']} queries with {inbox['waiting_small']} waiting, "
        f"{inbox['queries_large']} with {inbox['waiting_large']}; "
        f"{inbox['ms_small']:.2f} ms / {inbox['ms_large']:.2f} ms"
    )
    write(
        f"approval form PDF  {pdf['form_ms']:.1f} ms warm; minimal one-page Chinese page "
        f"{pdf['minimal_ms']:.1f} ms → {pdf['ratio']:.2f}×"
    )
