"""The charter (章程): the version in force with the history of versions, one version, and a new
version (the secretariat). Every signed-in user reads it."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from alliance import permissions as perms
from alliance import selectors, services
from alliance.forms.charter import CharterVersionForm
from alliance.forms.errors import apply_service_errors
from alliance.models import CharterVersion
from campusmedia.models import User
from campusmedia.permissions import Access, get_access


def _reader(request: HttpRequest) -> Access:
    access = get_access(request)
    if not perms.may_read_alliance(access):
        raise PermissionDenied
    return access


@require_GET
def charter(request: HttpRequest) -> HttpResponse:
    access = _reader(request)
    versions = list(selectors.charter_versions())
    current = selectors.charter_current()
    return render(
        request,
        "alliance/charter.html",
        {
            "current": current,
            "versions": versions,
            "upcoming": [v for v in versions if not v.is_effective],
            "can_publish": perms.is_secretariat(access),
        },
    )


@require_GET
def charter_version(request: HttpRequest, number: int) -> HttpResponse:
    access = _reader(request)
    version = get_object_or_404(selectors.charter_versions(), number=number)
    current = selectors.charter_current()
    return render(
        request,
        "alliance/charter_version.html",
        {
            "version": version,
            "current": current,
            "is_current": current is not None and current.pk == version.pk,
            "can_publish": perms.is_secretariat(access),
        },
    )


@require_http_methods(["GET", "POST"])
def charter_new(request: HttpRequest) -> HttpResponse:
    """A new version, prefilled with the latest text (the department only)."""
    access = _reader(request)
    if not perms.is_secretariat(access):
        raise PermissionDenied
    latest = selectors.charter_versions().first()
    if request.method == "GET":
        form = CharterVersionForm(initial=CharterVersionForm.initial_from(latest))
        return _form_page(request, form, latest)
    form = CharterVersionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = services.charter_publish(
                actor=cast(User, request.user),
                title=data["title"],
                body=data["body"],
                effective_on=data["effective_on"],
                summary=data["summary"],
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if version.is_effective:
                text = _("已发布章程第 %(number)s 版，即日生效。")
            else:
                text = _("已发布章程第 %(number)s 版，将于 %(date)s 生效。")
            messages.success(
                request,
                text % {"number": version.number, "date": f"{version.effective_on:%Y-%m-%d}"},
            )
            return redirect("alliance:charter")
    return _form_page(request, form, latest, status=400)


def _form_page(
    request: HttpRequest,
    form: CharterVersionForm,
    latest: CharterVersion | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "alliance/charter_form.html",
        {
            "form": form,
            "latest": latest,
            "next_number": services.next_charter_number(),
        },
        status=status,
    )
