"""Benchmarks of municipal filing for ``manage.py bench`` (everything rolled back).

A batch of ``BATCH`` accounts of the configured city's form, from the bench data:

* one city form, warm (the unit every other figure is compared with);
* the merged printable PDF of all the forms, with every core (target: under 10 s for 300);
* the separate forms, with one worker and with two, in turns, twice (target: under 20 s for 300
  with two, and at least 90% scaling: time with one ÷ (2 × time with two) ≥ 0.9);
* the whole generation of the batch as the task runs it: both of the above in one pass, the
  summary sheet, the covering letters, the ZIPs, sealed.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.pdf import PRINT_LANGUAGE
from campusmedia.choices import AccountStatus
from campusmedia.models import MediaAccount
from filing import services
from filing.choices import BatchState
from filing.cities import city_form
from filing.data import filing_accounts, filing_data
from filing.packets import build_packets, form_html
from filing.render import render_forms

BATCH = 300
TARGET_MERGED_S = 10.0
TARGET_SEPARATE_S = 20.0
TARGET_SCALING = 0.9
SCALING_ROUNDS = 2


class _Rollback(Exception):
    pass


def _seconds(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(workers: int = 2) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import translation

    from campusmedia.choices import Role
    from filing.demo import seed_demo_offices

    form = city_form()
    figures: dict[str, Any] = {"city": form.code, "workers": workers}
    try:
        with transaction.atomic():
            seed_demo_offices()
            accounts = MediaAccount.objects.filter(status=AccountStatus.ACTIVE)
            if form.platforms is not None:
                accounts = accounts.filter(platform__code__in=form.platforms)
            chosen = list(filing_accounts(accounts.order_by("pk"))[:BATCH])
            if len(chosen) < BATCH:
                raise SystemExit(f"bench data has only {len(chosen)} accounts for {form.code}")
            data = list(filing_data(chosen))
            actor = (
                get_user_model()
                .objects.filter(person__role_assignments__role=Role.PROPAGANDA_REVIEWER)
                .first()
            )
            if actor is None:
                raise SystemExit("bench data lacks a propaganda reviewer")
            candidates, _unchanged = services.filing_candidates(
                form=form, among=MediaAccount.objects.filter(pk__in=[a.pk for a in chosen])
            )
            batch = services._batch_with_items(
                form, candidates, actor=actor, note="bench", now=timezone.now()
            )
            items = list(batch.items.order_by("id"))
            with translation.override(PRINT_LANGUAGE):
                htmls = [
                    form_html(form, item, json.loads(item.data), "2026年1月1日") for item in items
                ]
            sheets = ["base", form.template]
            render_forms(htmls[:2], sheets, workers=1)  # warm up
            single = statistics.median(
                _seconds(lambda: render_forms(htmls[:1], sheets, workers=1, merged=False))
                for _ in range(7)
            )
            merged = _seconds(
                lambda: render_forms(htmls, sheets, workers=workers, each=False, merged=True)
            )
            # One worker and two, taken in turns so that a slow spell of this shared machine
            # falls on both; the scaling is of the sums.
            ones: list[float] = []
            twos: list[float] = []
            for _round in range(SCALING_ROUNDS):
                ones.append(_seconds(lambda: render_forms(htmls, sheets, workers=1, merged=False)))
                twos.append(
                    _seconds(lambda: render_forms(htmls, sheets, workers=workers, merged=False))
                )
            one, two = statistics.mean(ones), statistics.mean(twos)
            batch.state = BatchState.GENERATING
            batch.save(update_fields=["state"])
            whole = _seconds(lambda: build_packets(batch, workers=workers))
            figures.update(
                {
                    "forms": len(htmls),
                    "accounts_with_data": len(data),
                    "single_ms": round(single * 1000, 1),
                    "merged_s": round(merged, 2),
                    "separate_1_s": round(one, 2),
                    "separate_2_s": round(two, 2),
                    "separate_rounds": [
                        [round(a, 2), round(b, 2)] for a, b in zip(ones, twos, strict=True)
                    ],
                    "scaling": round(one / (2 * two), 3),
                    "batch_s": round(whole, 2),
                }
            )
            raise _Rollback
    except _Rollback:
        pass
    return figures


def print_figures(write: Callable[[str], None], f: dict[str, Any]) -> None:
    n = f["forms"]
    single = f["single_ms"]
    write(f"\nMunicipal filing: a batch of {n} {f['city']} forms ({f['workers']} workers)")
    write(f"  one form, warm               {single:.1f} ms  (× {n} = {single * n / 1000:.1f} s)")
    write(
        f"  merged printable PDF          {f['merged_s']:.2f} s = "
        f"{f['merged_s'] * 1000 / single:.0f}× one form (target < {TARGET_MERGED_S:.0f} s)"
    )
    write(
        f"  separate forms, 1 worker      {f['separate_1_s']:.2f} s (mean) = "
        f"{f['separate_1_s'] * 1000 / single:.0f}× one form"
    )
    write(
        f"  separate forms, 2 workers     {f['separate_2_s']:.2f} s (mean) = "
        f"{f['separate_2_s'] * 1000 / single:.0f}× one form (target < {TARGET_SEPARATE_S:.0f} s);"
        f" scaling {f['scaling'] * 100:.0f}% (target ≥ {TARGET_SCALING * 100:.0f}%)"
    )
    rounds = "; ".join(f"{a:.2f} s / {b:.2f} s" for a, b in f["separate_rounds"])
    write(f"  rounds (1 worker / 2 workers) {rounds}")
    write(f"  whole batch (forms + merged + sheet + letters + ZIPs, sealed)  {f['batch_s']:.2f} s")
