"""Logins, failures, lockouts and logouts go to the audit log."""

from __future__ import annotations

import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from campusmedia.auditlog import audit_record
from campusmedia.cas import CAS_BACKEND
from campusmedia.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT
from campusmedia.models import Platform
from campusmedia.models.audit import AuditAction, AuditOutcome
from campusmedia.selectors import platforms_changed


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_SEEN_AT] = now
    via_cas = getattr(user, "backend", None) == CAS_BACKEND  # set by authenticate()
    audit_record(
        action=AuditAction.LOGIN,
        actor=user,
        request=request,
        detail={"via": "cas"} if via_cas else None,
    )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if "ticket" in credentials:
        return  # campusmedia.cas audits a refused CAS login itself, with the staff number
    # Django has already masked the password in ``credentials``; only the username is kept.
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        request=request,
        outcome=AuditOutcome.FAILURE,
        actor_name=str(credentials.get("username", ""))[:150],
    )


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    audit_record(
        action=AuditAction.LOCKOUT,
        request=request,
        outcome=AuditOutcome.DENIED,
        actor_name=(username or "")[:150],
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, actor=user, request=request)


@receiver(post_save, sender=Platform)
@receiver(post_delete, sender=Platform)
def _platforms_changed(sender: Any, **kwargs: Any) -> None:
    platforms_changed()
