"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def task_list(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def task_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def task_detail(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def assignment_answer(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
