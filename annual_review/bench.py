"""Benchmarks of the annual review for ``manage.py bench`` (each run rolled back).

* Opening a campaign (``services.campaign_open``) for every active account of the bench data:
  median time over a few runs and the statements of one run; again once after the data has grown
  to the ``--large`` size. Targets: under 1 s for 3,000 accounts on SQLite, under 30 s for
  150,000, and statements growing at most with accounts / 1000 (one ``INSERT … SELECT`` makes
  every form, so they do not grow at all).
* The progress page ``/reviews/<year>/`` as the propaganda reviewer (or, while the page does not
  exist, ``selectors.campaign_progress``): queries with N forms and with 3N (must be equal).
"""

from __future__ import annotations

import datetime
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Mod
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from annual_review import selectors, services
from annual_review.choices import Outcome, ReviewState
from annual_review.models import ReviewCampaign, ReviewForm
from approvals.bench import _capture
from campusmedia.choices import AccountStatus, Role
from campusmedia.models import MediaAccount, User
from campusmedia.permissions import Access

OPEN_RUNS = 5
TARGET_SMALL_MS = 1_000
TARGET_LARGE_MS = 30_000
_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


class _Rollback(Exception):
    """Raised at the end of a measured run to roll its transaction back."""


def _propaganda() -> User:
    user = (
        User.objects.filter(is_active=True, person__role_assignments__role=Role.PROPAGANDA_REVIEWER)
        .order_by("pk")
        .first()
    )
    if user is None:
        raise SystemExit("bench data lacks a propaganda reviewer")
    return user


def _free_year() -> int:
    last = ReviewCampaign.objects.aggregate(last=Max("year"))["last"]
    return (last + 1) if last else timezone.localdate().year


def _statements(captured: Any) -> int:
    return sum(1 for q in captured.captured_queries if not q["sql"].upper().startswith(_CONTROL))


def _rolled_back(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a transaction that is rolled back; returns what it returned."""
    result: list[Any] = []
    try:
        with transaction.atomic():
            result.append(fn())
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


def _open(actor: User, year: int) -> Callable[[], int]:
    def run() -> int:
        _, added = services.campaign_open(
            year=year,
            starts_on=datetime.date(year, 11, 1),
            due_on=datetime.date(year + 1, 1, 15),
            actor=actor,
        )
        return added

    return run


def _measure_open(actor: User, runs: int) -> dict[str, Any]:
    """Median time of ``runs`` openings and the statements of one more (all rolled back)."""
    year = _free_year()
    times, forms = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        forms = _rolled_back(_open(actor, year))
        times.append((time.perf_counter() - start) * 1000)
    with _capture() as captured:
        _rolled_back(_open(actor, year))
    return {
        "accounts": MediaAccount.objects.count(),
        "active": MediaAccount.objects.filter(status=AccountStatus.ACTIVE).count(),
        "forms": forms,
        "runs": runs,
        "ms": round(statistics.median(times), 1),
        "queries": _statements(captured),
    }


def _spread_states(campaign: ReviewCampaign) -> None:
    """Forms in every progress category, as in a campaign under way (plain updates)."""
    now = timezone.now()
    forms = ReviewForm.objects.filter(campaign=campaign)
    steps: list[tuple[int, dict[str, Any]]] = [
        (2, {"started_at": now}),
        (3, {"state": ReviewState.SUBMITTED, "started_at": now, "submitted_at": now}),
        (5, {"state": ReviewState.SIGNED, "started_at": now, "signed_at": now}),
        (7, {"state": ReviewState.CONCLUDED, "outcome": Outcome.PASS, "started_at": now}),
        (11, {"state": ReviewState.CONCLUDED, "outcome": Outcome.RECTIFY, "started_at": now}),
        (13, {"state": ReviewState.CONCLUDED, "outcome": Outcome.FAIL, "started_at": now}),
    ]
    for modulus, values in steps:
        forms.alias(m=Mod("id", modulus)).filter(m=0).update(**values)


def _progress_target(user: User, year: int) -> tuple[str, Callable[[], Any]]:
    """The page if it is there, otherwise the selector it is built on."""
    try:
        url = reverse("annual_review:campaign", args=[year])
    except NoReverseMatch:
        url = ""
    why = "no such URL"
    if url:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        try:
            status = client.get(url).status_code
        except Exception as error:  # the page is not finished: measure what it is built on
            why = f"{url} fails: {type(error).__name__}"
        else:
            if status == 200:
                return f"page {url}", lambda: client.get(url)
            why = f"{url} answers {status}"
    campaign = ReviewCampaign.objects.get(year=year)
    return f"selectors.campaign_progress; {why}", lambda: selectors.campaign_progress(
        campaign, Access(user)
    )


def _measure_progress(actor: User, repeat: int) -> dict[str, Any]:
    year = _free_year()

    def run() -> dict[str, Any]:
        _open(actor, year)()
        campaign = ReviewCampaign.objects.get(year=year)
        _spread_states(campaign)
        figures: dict[str, Any] = {}
        forms = ReviewForm.objects.filter(campaign=campaign)
        # 3N forms first, then a third of them (every unit keeps some forms).
        for label in ("large", "small"):
            if label == "small":
                ReviewForm.objects.filter(
                    pk__in=forms.alias(m=Mod("id", 3)).exclude(m=0).values("pk")
                ).delete()
            target, fn = _progress_target(actor, year)
            fn()
            with _capture() as captured:
                fn()
            queries = len(captured)  # now: the next request clears the log it reads from
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                times.append((time.perf_counter() - start) * 1000)
            figures[label] = {
                "forms": forms.count(),
                "queries": queries,
                "ms": round(statistics.median(times), 2),
            }
            figures["target"] = target
        return figures

    return _rolled_back(run)


def measure(repeat: int) -> dict[str, Any]:
    actor = _propaganda()
    return {
        "open": _measure_open(actor, OPEN_RUNS),
        "progress": _measure_progress(actor, max(5, repeat // 2)),
    }


def measure_large() -> dict[str, Any]:
    """Opening once on the grown data."""
    return {"open": _measure_open(_propaganda(), 1)}


def print_figures(write: Callable[[str], None], figures: dict[str, Any]) -> None:
    opened, progress = figures["open"], figures["progress"]
    write("\nAnnual review")
    write(
        f"open a campaign  {opened['accounts']} accounts ({opened['forms']} active → forms): "
        f"{opened['ms']:.1f} ms median of {opened['runs']} runs, {opened['queries']} queries "
        f"(target < {TARGET_SMALL_MS} ms: {'met' if opened['ms'] < TARGET_SMALL_MS else 'MISSED'})"
    )
    small, large = progress["small"], progress["large"]
    same = "equal" if small["queries"] == large["queries"] else "NOT EQUAL"
    write(
        f"progress ({progress['target']})  {small['queries']} queries with {small['forms']} "
        f"forms, {large['queries']} with {large['forms']} ({same}); "
        f"{small['ms']:.2f} ms / {large['ms']:.2f} ms"
    )


def print_large(write: Callable[[str], None], small: dict[str, Any], large: dict[str, Any]) -> None:
    before, after = small["open"], large["open"]
    allowed = before["queries"] + after["accounts"] // 1000
    write(
        f"open a campaign  {after['accounts']} accounts ({after['forms']} active → forms): "
        f"{after['ms']:.1f} ms once (target < {TARGET_LARGE_MS} ms: "
        f"{'met' if after['ms'] < TARGET_LARGE_MS else 'MISSED'}); {after['queries']} queries "
        f"vs {before['queries']} with {before['accounts']} accounts "
        f"(at most {allowed} allowed: {'met' if after['queries'] <= allowed else 'MISSED'})"
    )
