"""The public pages: the list editions, their PDF, and the verification of an account.

Everything here but publishing answers anonymous visitors (``login_not_required``) and shows the
accounts' public fields only. Publishing is the propaganda department's: the login requirement
sends an anonymous visitor to the login page, anyone else signed in gets 403.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from approvals.pdf import PdfTooLarge
from campusmedia.models import User
from campusmedia.permissions import get_access
from publication import ratelimit, selectors, services
from publication.documents import edition_pdf, edition_title
from publication.forms import EditionPublishForm
from publication.models import Edition
from publication.permissions import may_publish

# An edition never changes: browsers and proxies may keep its PDF for a day.
PDF_MAX_AGE = 24 * 3600


def _edition(number: int) -> Edition:
    return get_object_or_404(Edition, number=number)


def _editions_page(
    request: HttpRequest, form: EditionPublishForm | None = None, status: int = 200
) -> HttpResponse:
    publisher = may_publish(get_access(request))
    if publisher and form is None:
        form = EditionPublishForm()
    context: dict[str, Any] = {
        "editions": selectors.editions(),
        "school_name": selectors.school_name(),
        "publish_form": form if publisher else None,
    }
    return render(request, "publication/editions.html", context, status=status)


@login_not_required
@require_GET
def editions(request: HttpRequest) -> HttpResponse:
    return _editions_page(request)


@require_POST
def edition_publish(request: HttpRequest) -> HttpResponse:
    """Publish the next edition (the department only)."""
    if not may_publish(get_access(request)):
        raise PermissionDenied
    form = EditionPublishForm(request.POST)
    if not form.is_valid():
        return _editions_page(request, form, status=400)
    try:
        edition = services.edition_publish(
            actor=cast(User, request.user), note=form.cleaned_data["note"], request=request
        )
    except ValidationError as error:
        for message in error.messages:
            form.add_error(None, message)
        return _editions_page(request, form, status=400)
    messages.success(
        request,
        _("已发布第%(number)s期公开名录，收录 %(n)s 个账号。")
        % {"number": edition.number, "n": edition.entries.count()},
    )
    return redirect(edition)


@login_not_required
@require_GET
def edition_detail(request: HttpRequest, number: int) -> HttpResponse:
    edition = _edition(number)
    entries = selectors.edition_entries(edition)
    school_name = selectors.school_name()
    context = {
        "edition": edition,
        "title": edition_title(edition, school_name),
        "school_name": school_name,
        "total": len(entries),
        "groups": selectors.group_entries(entries),
        "changes": selectors.edition_changes(edition, entries),
    }
    return render(request, "publication/edition.html", context)


@login_not_required
@require_GET
def edition_pdf_download(request: HttpRequest, number: int) -> HttpResponse:
    edition = _edition(number)
    try:
        content = edition_pdf(edition)
    except PdfTooLarge as error:
        messages.error(request, str(error))
        return redirect(edition)
    name = f"{edition_title(edition, selectors.school_name())}.pdf"
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = f"public, max-age={PDF_MAX_AGE}"
    return response


@login_not_required
@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    """Is this account one of the school's? ``?q=`` a name (or part of one) or an account id."""
    query = selectors.normalize_query(request.GET.get("q"))
    context: dict[str, Any] = {
        "query": query,
        "school_name": selectors.school_name(),
        "lookup": None,
        "problem": "",
        "limit": selectors.LOOKUP_LIMIT,
    }
    if "q" not in request.GET:
        return render(request, "publication/verify.html", context)
    allowance = ratelimit.hit(request)
    if not allowance.allowed:
        context["problem"] = _(ratelimit.ERR_TOO_MANY) % {"seconds": allowance.retry_after}
        response = render(request, "publication/verify.html", context, status=429)
        response["Retry-After"] = str(allowance.retry_after)
        return response
    context["problem"] = selectors.query_problem(query)
    if not context["problem"]:
        context["lookup"] = selectors.registry_lookup(query)
    return render(request, "publication/verify.html", context)
