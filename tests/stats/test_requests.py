"""Requests per month over the last twelve: first submissions, decisions (approved, rejected) and
the median days from first submission to decision.

The requests go through ``approvals.services`` as a unit and the department would file and decide
them. The services stamp every step with the present moment, so after each step the test moves
that step's time (and the request's ``submitted_at``/``decided_at``) back to the month it needs:
the figures are about months, and a test cannot wait for them.
"""

from __future__ import annotations

import datetime
import statistics

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import AccountRequest, RequestStep
from campusmedia.permissions import Access
from stats import selectors
from tests.approvals.conftest import open_request
from tests.conftest import World
from tests.stats.conftest import PAGE

pytestmark = pytest.mark.django_db


def _month(offset: int) -> datetime.date:
    """The first day of the month ``offset`` months from this one."""
    first = timezone.localdate().replace(day=1)
    index = first.year * 12 + first.month - 1 + offset
    return datetime.date(index // 12, index % 12 + 1, 1)


def _at(offset: int, day: int) -> datetime.datetime:
    """10 o'clock local time on ``day`` of the month ``offset`` months from this one."""
    return timezone.make_aware(
        datetime.datetime.combine(_month(offset).replace(day=day), datetime.time(10))
    )


def _moved(req: AccountRequest, when: datetime.datetime, **times: datetime.datetime) -> None:
    """Put the request's last step at ``when`` (and its own timestamps in ``times``)."""
    step = req.steps.order_by("-id").first()
    assert step is not None
    RequestStep.objects.filter(pk=step.pk).update(at=when)
    if times:
        AccountRequest.objects.filter(pk=req.pk).update(**times)


def _submit(world: World, req: AccountRequest, when: datetime.datetime) -> AccountRequest:
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    _moved(req, when, submitted_at=when)
    return req


def _approve(world: World, req: AccountRequest, endorsed, decided) -> AccountRequest:
    req = services.request_endorse(account_request=req, actor=world.users["head_a"])
    _moved(req, endorsed)
    req = services.request_approve(account_request=req, actor=world.users["propaganda"])
    _moved(req, decided, decided_at=decided)
    return req


def _days(start: datetime.datetime, end: datetime.datetime) -> float:
    return (end - start).total_seconds() / 86400


@pytest.fixture
def history(world: World) -> dict[str, float]:
    """Seven requests of college A over thirteen months; returns their decision times in days."""
    r1 = _submit(world, open_request(world, name="一号"), _at(-3, 2))
    _approve(world, r1, _at(-3, 3), _at(-3, 6))

    r2 = _submit(world, open_request(world, name="二号"), _at(-3, 1))
    r2 = services.request_endorse(account_request=r2, actor=world.users["head_a"])
    _moved(r2, _at(-3, 2))
    r2 = services.request_reject(account_request=r2, actor=world.users["propaganda"], comment="否")
    _moved(r2, _at(-3, 11))  # a rejection has no decided_at: its step has the time

    # Returned and submitted again: counted once, in the month of its first submission.
    r3 = _submit(world, open_request(world, name="三号"), _at(-5, 20))
    r3 = services.request_return(account_request=r3, actor=world.users["head_a"], comment="补")
    _moved(r3, _at(-5, 22))
    r3 = _submit(world, r3, _at(-2, 5))
    _approve(world, r3, _at(-2, 6), _at(-2, 9))

    # Submitted before the window, decided in it.
    r6 = _submit(world, open_request(world, name="六号"), _at(-12, 15))
    _approve(world, r6, _at(-1, 14), _at(-1, 15))

    # Submitted and decided before the window: nowhere.
    r5 = _submit(world, open_request(world, name="五号"), _at(-13, 3))
    _approve(world, r5, _at(-13, 4), _at(-12, 8))

    # This month: one waiting, one withdrawn (not a decision).
    _submit(world, open_request(world, name="四号"), _at(0, 1))
    r7 = _submit(world, open_request(world, name="七号"), _at(0, 1))
    r7 = services.request_withdraw(account_request=r7, actor=world.users["sec_a"])
    _moved(r7, _at(0, 1))
    return {
        "r1": _days(_at(-3, 2), _at(-3, 6)),
        "r2": _days(_at(-3, 1), _at(-3, 11)),
        "r3": _days(_at(-5, 20), _at(-2, 9)),
        "r6": _days(_at(-12, 15), _at(-1, 15)),
    }


def test_months_of_the_window(world):
    months = selectors.requests_by_month(Access(world.users["propaganda"])).months
    assert [row.month for row in months] == [_month(offset) for offset in range(-11, 1)]
    assert months[-1].label == f"{_month(0).year}年{_month(0).month}月"
    assert all((r.submitted, r.decided, r.median_days) == (0, 0, None) for r in months)


def test_counts_and_medians_per_month(history, world):
    data = selectors.requests_by_month(Access(world.users["auditor"]))
    rows = {row.month: row for row in data.months}
    figures = {
        month: (row.submitted, row.approved, row.rejected, row.median_days)
        for month, row in rows.items()
        if row.submitted or row.decided
    }
    assert figures == {
        _month(-5): (1, 0, 0, None),
        _month(-3): (2, 1, 1, 7.0),  # 4 and 10 days
        _month(-2): (0, 1, 0, round(history["r3"], 1)),
        _month(-1): (0, 1, 0, round(history["r6"], 1)),
        _month(0): (2, 0, 0, None),
    }
    assert history["r1"] == 4 and history["r2"] == 10
    total = data.total
    assert (total.submitted, total.approved, total.rejected, total.decided) == (5, 3, 1, 4)
    assert total.median_days == round(statistics.median(history.values()), 1)


def test_figures_match_the_timeline(history, world):
    """The month's decisions are the steps into approved or rejected in that month."""
    rows = selectors.requests_by_month(Access(world.users["propaganda"])).months
    for row in rows:
        start = timezone.make_aware(datetime.datetime.combine(row.month, datetime.time.min))
        end = timezone.make_aware(
            datetime.datetime.combine(_month_after(row.month), datetime.time.min)
        )
        steps = RequestStep.objects.filter(at__gte=start, at__lt=end)
        assert row.approved == steps.filter(target_state="approved").count()
        assert row.rejected == steps.filter(target_state="rejected").count()


def _month_after(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def test_page_shows_the_months(history, world, client_for):
    response = client_for(world.users["propaganda"]).get(PAGE)
    data = response.context["data"].requests
    assert data.total.submitted == 5
    page = response.content.decode()
    assert f"{_month(-3).year}年{_month(-3).month}月" in page
    assert "7.0" in page
    # The chart has a column for every month: its title names the month and the count.
    assert "提交 2</title>" in page
