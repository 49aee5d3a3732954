"""Export downloads: the registry, the requests, a year's review forms and the filing batches,
each as xlsx or CSV. Thin: ask the access layer, read the page's filters, hand the table to the
writer (which audits the export)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from annual_review.models import ReviewCampaign
from annual_review.views import FormFilter
from campusmedia.permissions import get_access
from campusmedia.selectors import RegistryFilter
from exports import tables
from exports.writers import respond
from filing.permissions import may_view_batches


@require_GET
def registry(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The accounts the user may see, filtered as on the registry page."""
    access = get_access(request)
    filters = RegistryFilter.from_params(request.GET)
    return respond(tables.registry(access, filters), fmt, request)


@require_GET
def requests(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The requests of the request list (or, with ``inbox=1``, of the inbox)."""
    access = get_access(request)
    filters = tables.RequestFilter.from_params(request.GET)
    return respond(tables.requests(access, filters), fmt, request)


@require_GET
def reviews(request: HttpRequest, year: int, fmt: str) -> HttpResponseBase:
    """The review forms of one year the user may see, filtered as on the campaign page."""
    access = get_access(request)
    campaign = get_object_or_404(ReviewCampaign, year=year)
    filters = FormFilter.from_params(request.GET)
    return respond(tables.reviews(access, campaign, filters), fmt, request)


@require_GET
def batches(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The municipal filing batches and their accounts: the department and the auditor."""
    access = get_access(request)
    if not may_view_batches(access):
        raise PermissionDenied
    filters = tables.BatchFilter.from_params(request.GET)
    return respond(tables.batches(filters), fmt, request)
