"""System checks of the audit log's settings (``manage.py check`` runs them at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Cybersecurity Law art. 21: network logs are kept no less than six months.
MIN_RETENTION_DAYS = 180


@checks.register(checks.Tags.security)
def check_audit_retention(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    days = getattr(settings, "CAMPUSMEDIA_AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS)
    if isinstance(days, int) and days >= MIN_RETENTION_DAYS:
        return []
    return [
        checks.Error(
            f"CAMPUSMEDIA_AUDIT_RETENTION_DAYS is {days!r}: audit rows must be kept at least "
            f"{MIN_RETENTION_DAYS} days (Cybersecurity Law art. 21).",
            hint=f"Set CAMPUSMEDIA_AUDIT_RETENTION_DAYS to {MIN_RETENTION_DAYS} or more.",
            id="campusmedia.E101",
        )
    ]
