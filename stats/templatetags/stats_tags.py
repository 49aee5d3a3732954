"""Number formatting of the statistics page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def thousands(value: Any) -> str:
    """``3043568`` as ``3,043,568``: large follower figures read at a glance (the zh-hans
    formats of Django group no digits); None as a dash."""
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
