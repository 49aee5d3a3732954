"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def prepub_list(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def prepub_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def prepub_detail(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def prepub_edit(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def prepub_step(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
