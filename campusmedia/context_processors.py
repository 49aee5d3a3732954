from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from campusmedia.permissions import get_access


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The current user's Access, for menus that show only what the user may open."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"access": get_access(request)}
