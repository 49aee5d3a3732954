"""Batches under concurrency, on PostgreSQL with real threads (SQLite ignores row locks).

SECURITY.md, Integrity: batches are idempotent; two people starting a batch at the same moment
make one batch, and the other gets the message that nothing is left to file; two generations
and two sendings of one batch at once do the work once.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection

from campusmedia.models import Office
from filing import services
from filing.choices import BatchState
from filing.models import Batch, BatchItem, BatchPacket
from tests.approvals.test_concurrency import _in_threads, _second_reviewer
from tests.conftest import build_world

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)"
    ),
]


def _world():
    world = build_world()
    Office.objects.create(city="binzhou", name="滨州市网络文化办公室", email="bz@example.cn")
    return world, _second_reviewer(world)


def test_two_batches_started_at_once_make_one(settings):
    world, other = _world()
    results = _in_threads(
        [
            lambda: services.batch_create(actor=world.users["propaganda"]),
            lambda: services.batch_create(actor=other),
        ]
    )
    made = [r for r in results if isinstance(r, Batch)]
    refused = [r for r in results if isinstance(r, services.BatchConflict)]
    assert len(made) == 1 and len(refused) == 1, results
    assert Batch.objects.count() == 1
    assert BatchItem.objects.count() == 3


def test_generating_and_sending_twice_at_once_does_the_work_once():
    world, other = _world()
    batch = services.batch_create(actor=world.users["propaganda"])
    _in_threads(
        [
            lambda: services.batch_generate(batch=batch, actor=world.users["propaganda"]),
            lambda: services.batch_generate(batch=batch, actor=other),
        ]
    )
    batch.refresh_from_db()
    assert batch.state == BatchState.READY
    assert BatchPacket.objects.count() == 1
    _in_threads(
        [
            lambda: services.batch_send(batch=batch, actor=world.users["propaganda"]),
            lambda: services.batch_send(batch=batch, actor=other),
        ]
    )
    assert len(mail.outbox) == 1
