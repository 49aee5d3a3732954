"""Placeholder views; filled in this issue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def notice_list(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def notice_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def notice_detail(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def notice_read(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def notice_remind(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


def notice_attachment(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")
