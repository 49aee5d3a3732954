"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def member_list(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def member_apply(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def member_decide(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def member_role(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def member_leave(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
