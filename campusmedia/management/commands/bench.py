"""Benchmarks of the registry's hot paths, as ratios against baselines measured in the same run.

    DATABASE_URL=sqlite:///var/bench.sqlite3 manage.py bench [--large 150000]

Builds the scale data (``seed_scale``) in the configured database if it is not there yet, then
measures, as the propaganda reviewer and as a college secretary: the registry list page, the home
page and ``GET /api/v1/accounts/`` (median server time through the whole middleware stack, and SQL
queries per request), beside the baseline of ``campusmedia.bench``. Then the permission filter
against a plain foreign-key filter of the same rows, the permission rows per account, the request
workflow (``approvals.bench``), the annual review (``annual_review.bench``), and (with ``--large``)
the list pages and the opening of a review again after growing the data to that many accounts.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from campusmedia.choices import Role
from campusmedia.models import MediaAccount, RoleAssignment, UnitGroupObjectPermission, User
from campusmedia.permissions import Access

PAGE = 50


def _measure(fn: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """Median wall time in milliseconds over ``repeat`` runs, and the queries of one run."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    connection.queries_log.clear()  # a full log (9,000 entries) stops growing: counts 0
    with CaptureQueriesContext(connection) as queries:
        fn()
    return statistics.median(times), len(queries)


class Command(BaseCommand):
    help = "Measure list pages, home page and API against same-run baselines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--units", type=int, default=100)
        parser.add_argument("--accounts", type=int, default=3000)
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--large", type=int, default=0, help="then grow to this many accounts")
        parser.add_argument("--repeat", type=int, default=25)
        parser.add_argument("--json", default=str(Path(settings.VAR_DIR) / "bench.json"))

    def handle(self, *args: Any, **options: Any) -> None:
        repeat = options["repeat"]
        if MediaAccount.objects.count() < options["accounts"]:
            call_command(
                "seed_scale",
                units=options["units"],
                accounts=options["accounts"],
                users=options["users"],
                verbosity=0,
            )
        results: dict[str, Any] = {"accounts": MediaAccount.objects.count()}
        with override_settings(ROOT_URLCONF="campusmedia.bench", DEBUG=False):
            personas = self._personas()
            results["pages"] = self._pages(personas, repeat)
            results["filter"] = self._permission_filter(personas, repeat)
            rows = UnitGroupObjectPermission.objects.count()
            results["permission_rows"] = {
                "rows": rows,
                "accounts": results["accounts"],
                "per_account": round(rows / max(results["accounts"], 1), 3),
            }
            self._print_pages(results)
            from approvals import bench as requests_bench

            results["requests"] = requests_bench.measure(repeat)
            requests_bench.print_figures(self.stdout.write, results["requests"])
            from annual_review import bench as review_bench

            results["reviews"] = review_bench.measure(repeat)
            review_bench.print_figures(self.stdout.write, results["reviews"])
            from filing import bench as filing_bench

            results["filing"] = filing_bench.measure()
            filing_bench.print_figures(self.stdout.write, results["filing"])
            from exports import bench as exports_bench

            results["exports"] = exports_bench.measure(repeat)
            exports_bench.print_figures(self.stdout.write, results["exports"])
            from census import bench as census_bench

            results["census"] = census_bench.measure(repeat)
            census_bench.print_figures(self.stdout.write, results["census"])
            if options["large"]:
                call_command("seed_scale", accounts=options["large"], verbosity=0)
                large = self._pages(personas, repeat, only_lists=True)
                results["large"] = {"accounts": MediaAccount.objects.count(), "pages": large}
                self._print_large(results)
                results["large"]["reviews"] = review_bench.measure_large()
                review_bench.print_large(
                    self.stdout.write, results["reviews"], results["large"]["reviews"]
                )
                results["large"]["census"] = census_bench.measure_large(options["large"])
                census_bench.print_large(self.stdout.write, results["large"]["census"])
        Path(options["json"]).parent.mkdir(parents=True, exist_ok=True)
        Path(options["json"]).write_text(json.dumps(results, ensure_ascii=False, indent=2))
        self.stdout.write(f"\nfigures written to {options['json']}")

    def _personas(self) -> dict[str, tuple[User, set[int] | None]]:
        propaganda = User.objects.filter(
            person__role_assignments__role=Role.PROPAGANDA_REVIEWER
        ).first()
        # The secretary who sees the most accounts: the hardest case for the permission filter.
        best: tuple[int, User | None, set[int] | None] = (-1, None, None)
        for assignment in (
            RoleAssignment.objects.active()
            .filter(role=Role.SECRETARY, person__user__isnull=False, unit__kind="college")
            .select_related("person__user")[:40]
        ):
            user = assignment.person.user
            assert user is not None
            ids = Access(user).unit_ids()
            count = MediaAccount.objects.filter(owner_unit_id__in=ids or []).count()
            if count > best[0]:
                best = (count, user, ids)
        if propaganda is None or best[1] is None:
            raise SystemExit("scale data lacks a propaganda reviewer or a college secretary")
        return {"propaganda": (propaganda, None), "secretary": (best[1], best[2])}

    def _pages(
        self,
        personas: dict[str, tuple[User, set[int] | None]],
        repeat: int,
        only_lists: bool = False,
    ) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for name, (user, unit_ids) in personas.items():
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            units = ",".join(str(u) for u in sorted(unit_ids)) if unit_ids is not None else ""
            baseline_url = "/bench/baseline/" + (f"?units={units}" if units else "")
            targets = {
                "baseline": baseline_url,
                "registry": "/registry/",
                "api_accounts": "/api/v1/accounts/",
            }
            if not only_lists:
                targets["home"] = "/"
            row: dict[str, Any] = {}
            for label, url in targets.items():
                response = client.get(url)
                assert response.status_code == 200, (label, response.status_code)
                ms, queries = _measure(partial(client.get, url), repeat)
                row[label] = {"ms": round(ms, 2), "queries": queries}
            for label in targets:
                row[label]["ratio"] = round(row[label]["ms"] / row["baseline"]["ms"], 2)
            figures[name] = row
        return figures

    def _permission_filter(
        self, personas: dict[str, tuple[User, set[int] | None]], repeat: int
    ) -> dict[str, Any]:
        user, unit_ids = personas["secretary"]
        ids = list(unit_ids or [])
        base = MediaAccount.objects.select_related("platform", "owner_unit").order_by("name", "id")
        plain_ms, _ = _measure(lambda: list(base.filter(owner_unit_id__in=ids)[:PAGE]), repeat)
        # A fresh Access each time: the role and permission look-ups are part of the cost.
        perm_ms, perm_queries = _measure(lambda: list(Access(user).accounts(base)[:PAGE]), repeat)
        return {
            "plain_fk_ms": round(plain_ms, 3),
            "permission_ms": round(perm_ms, 3),
            "permission_queries": perm_queries,
            "ratio": round(perm_ms / plain_ms, 2),
        }

    def _print_pages(self, results: dict[str, Any]) -> None:
        w = self.stdout.write
        w(f"\nRegistry benchmark on {results['accounts']} accounts ({connection.vendor})")
        w(f"{'persona':<11} {'endpoint':<13} {'median ms':>10} {'queries':>8} {'× baseline':>11}")
        for persona, row in results["pages"].items():
            for label, fig in row.items():
                w(
                    f"{persona:<11} {label:<13} {fig['ms']:>10.2f} {fig['queries']:>8} "
                    f"{fig['ratio']:>11.2f}"
                )
        f = results["filter"]
        w(
            f"\nPermission filter (secretary, {PAGE} rows): {f['permission_ms']:.3f} ms with "
            f"{f['permission_queries']} queries vs plain FK filter {f['plain_fk_ms']:.3f} ms "
            f"→ {f['ratio']:.2f}×"
        )
        p = results["permission_rows"]
        w(
            f"Permission rows: {p['rows']} for {p['accounts']} accounts → {p['per_account']} per "
            "account"
        )

    def _print_large(self, results: dict[str, Any]) -> None:
        w = self.stdout.write
        large = results["large"]
        w(f"\nAfter growing to {large['accounts']} accounts (list pages)")
        w(f"{'persona':<11} {'endpoint':<13} {'median ms':>10} {'queries':>8} {'× small':>9}")
        for persona, row in large["pages"].items():
            for label, fig in row.items():
                small = results["pages"][persona][label]["ms"]
                fig["growth"] = round(fig["ms"] / small, 2)
                w(
                    f"{persona:<11} {label:<13} {fig['ms']:>10.2f} {fig['queries']:>8} "
                    f"{fig['growth']:>9.2f}"
                )
