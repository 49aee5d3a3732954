"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def index(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
