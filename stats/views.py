"""The propaganda department's statistics page and the xlsx of each of its tables."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campusmedia.choices import AccountStatus, choice_labels
from campusmedia.permissions import Access, get_access
from stats import charts, exports, selectors
from stats.permissions import may_view_stats


def _viewer(request: HttpRequest) -> Access:
    access = get_access(request)
    if not may_view_stats(access):
        raise PermissionDenied
    return access


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    access = _viewer(request)
    data = selectors.overview(access)
    return render(
        request,
        "stats/index.html",
        {
            "data": data,
            "charts": charts.overview_charts(data),
            "statuses": list(choice_labels(AccountStatus).items()),
            "outcome_keys": selectors.outcome_keys(),
            "follower_tables": [
                (data.by_tier, _("级别"), _("各级平台运行中账号的粉丝量")),
                (data.by_platform, _("平台"), _("各平台运行中账号的粉丝量")),
            ],
            "top_limit": selectors.TOP_FOLLOWED,
            "team_change_days": settings.CAMPUSMEDIA_TEAM_CHANGE_DAYS,
        },
    )


@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse:
    access = _viewer(request)
    if table not in exports.TABLES:
        raise Http404
    result = exports.export(table, access, request)
    response = HttpResponse(result.content, content_type=exports.XLSX)
    response["Content-Disposition"] = (
        content_disposition_header(True, result.filename) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
