"""Steps under concurrency, on PostgreSQL with real threads (SQLite ignores row locks).

SECURITY.md, Integrity: two reviewers at the same moment, exactly one succeeds; 50 concurrent
approvals get the numbers 1..50; a failed step leaves nothing changed and uses no number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from approvals import services
from approvals.choices import RequestState
from approvals.models import AccountRequest, ApprovalCounter, RequestStep
from campusmedia import services as registry
from campusmedia.choices import Role
from tests.approvals.conftest import open_request
from tests.conftest import build_world, make_login

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)"
    ),
]
YEAR = timezone.localdate().year


def _in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs at the same moment, one thread and one connection each."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # collected and asserted on by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _endorsed(world, name: str) -> AccountRequest:
    req = open_request(world, name=name)
    req = services.request_submit(account_request=req, actor=world.users["sec_a"])
    return services.request_endorse(account_request=req, actor=world.users["head_a"])


def _second_reviewer(world):
    user = make_login("propaganda2")
    person = registry.person_create(
        actor=None, name="第二审核", unit=world.units["propaganda"], user=user
    )
    registry.role_assign(
        person=person, unit=world.units["propaganda"], role=Role.PROPAGANDA_REVIEWER, actor=None
    )
    return user


def test_two_reviewers_at_once_exactly_one_succeeds(monkeypatch):
    world = build_world()
    other = _second_reviewer(world)
    req = _endorsed(world, "并发测试号")
    original = services._apply

    def slow_apply(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)  # hold the row lock while the other reviewer arrives
        original(*args, **kwargs)

    monkeypatch.setattr(services, "_apply", slow_apply)

    def approve() -> AccountRequest:
        return services.request_approve(
            account_request=AccountRequest.objects.get(pk=req.pk), actor=world.users["propaganda"]
        )

    def reject() -> AccountRequest:
        return services.request_reject(
            account_request=AccountRequest.objects.get(pk=req.pk), actor=other, comment="不同意"
        )

    results = _in_threads([approve, reject])
    successes = [r for r in results if isinstance(r, AccountRequest)]
    conflicts = [r for r in results if isinstance(r, services.RequestConflict)]
    assert len(successes) == 1 and len(conflicts) == 1, results
    req.refresh_from_db()
    assert req.state in (RequestState.APPROVED, RequestState.REJECTED)
    assert RequestStep.objects.filter(request=req, source_state=RequestState.ENDORSED).count() == 1
    assert "已被他人处理" in str(conflicts[0])


def test_fifty_concurrent_approvals_get_one_to_fifty():
    world = build_world()
    requests = [_endorsed(world, f"号{i:02d}") for i in range(50)]
    jobs = [
        (
            lambda pk=req.pk: services.request_approve(
                account_request=AccountRequest.objects.get(pk=pk), actor=world.users["propaganda"]
            )
        )
        for req in requests
    ]
    results = _in_threads(jobs)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    numbers = sorted(AccountRequest.objects.values_list("approval_sequence", flat=True))
    assert numbers == list(range(1, 51))
    assert ApprovalCounter.objects.get(year=YEAR).last == 50
    assert len(set(AccountRequest.objects.values_list("approval_number", flat=True))) == 50


def test_a_failed_step_changes_nothing_and_uses_no_number(monkeypatch):
    world = build_world()
    failing, fine = _endorsed(world, "失败号"), _endorsed(world, "成功号")

    def boom(locked: AccountRequest, *args: Any, **kwargs: Any) -> None:
        if locked.pk == failing.pk:
            raise RuntimeError("registry unavailable")
        original(locked, *args, **kwargs)

    original = services._apply
    monkeypatch.setattr(services, "_apply", boom)
    results = _in_threads(
        [
            lambda: services.request_approve(
                account_request=failing, actor=world.users["propaganda"]
            ),
        ]
    )
    assert isinstance(results[0], RuntimeError)
    failing.refresh_from_db()
    assert failing.state == RequestState.ENDORSED
    assert failing.approval_number == ""
    assert not RequestStep.objects.filter(
        request=failing, target_state=RequestState.APPROVED
    ).exists()
    done = services.request_approve(account_request=fine, actor=world.users["propaganda"])
    assert done.approval_number == f"XCB-{YEAR}-0001"
