"""Background work of municipal filing (Django's tasks API through django-tasks)."""

from __future__ import annotations

from django_tasks import task

from filing.services import batch_build


@task()
def generate_batch(batch_id: int) -> int:
    """Write the batch's packets; returns the number of packets."""
    return batch_build(batch_id).packets.count()
