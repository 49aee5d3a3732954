"""Writing the audit log (SECURITY.md, Audit). Only ``audit_record`` adds rows.

A row is inserted in the caller's transaction and chained after it commits
(``campusmedia.audit.chain``): a rolled-back step leaves no row and no trace in the chain.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest

from campusmedia.audit.chain import schedule_seal
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.net import client_ip


def audit_record(
    *,
    action: AuditAction,
    actor: Any = None,
    request: HttpRequest | None = None,
    obj: Model | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEvent:
    """Add one audit row, sealed into the chain after the commit (at once outside a
    transaction). ``detail`` must never carry passwords, session ids or full IDs."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        action=action,
        outcome=outcome,
        ip=client_ip(request) if request is not None else None,
        object_type=obj._meta.model_name or "" if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        detail=detail or {},
    )
    schedule_seal()
    return event
