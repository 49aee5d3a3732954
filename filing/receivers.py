"""Deleting a material or a packet row deletes its sealed file (SECURITY.md, Files), after the
commit, so a rolled-back deletion keeps its file."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from filing.models import BatchPacket, UnitMaterial


@receiver(post_delete, sender=UnitMaterial)
@receiver(post_delete, sender=BatchPacket)
def _delete_file(sender: type, instance: UnitMaterial | BatchPacket, **kwargs: Any) -> None:
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
