"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def charter(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def charter_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def charter_version(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
