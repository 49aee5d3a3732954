"""The auditor's view of the audit log (SECURITY.md, Audit): /audit/ and its CSV download.

Open to the auditor (reads everything, writes nothing) and to superusers; everyone else signed in
gets 403. Reading changes nothing; the download is itself audited (filter and row count).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campusmedia.audit import chain, selectors
from campusmedia.audit.forms import AuditFilterForm
from campusmedia.auditlog import audit_record
from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import get_access

# One download at most this many rows: a narrower date range gets the rest.
EXPORT_MAX_ROWS = 200_000


def _require_auditor(request: HttpRequest) -> None:
    access = get_access(request)
    if not (access.is_auditor or getattr(request.user, "is_superuser", False)):
        raise PermissionDenied


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, selectors.AuditFilter, str]:
    """The form (with its errors), the filters of its valid fields, and the query string
    without the page number."""
    params = request.GET.copy()
    params.pop("page", None)
    form = AuditFilterForm(params or None)
    data: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()  # the errors are shown; the valid fields still filter
        data = form.cleaned_data
    return form, selectors.AuditFilter.from_cleaned(data), params.urlencode()


@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _require_auditor(request)
    form, filters, query = _filters(request)
    page = Paginator(selectors.audit_events(filters), settings.CAMPUSMEDIA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "audit/index.html",
        {
            "form": form,
            "filtered": bool(filters.as_detail()),
            "page": page,
            "rows": selectors.audit_rows(page.object_list),
            "query": query,
            "chain": chain.chain_state(),
            "retention_days": settings.CAMPUSMEDIA_AUDIT_RETENTION_DAYS,
        },
    )


class _Echo:
    """csv.writer writes into this and hands each line back, for streaming."""

    def write(self, value: str) -> str:
        return value


@never_cache
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    _require_auditor(request)
    _form, filters, query = _filters(request)
    # The rows as they are now: the download's own audit row (and anything later) stays out.
    last_id = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0
    events = selectors.audit_events(filters).filter(id__lte=last_id)
    count = events.count()
    if count > EXPORT_MAX_ROWS:
        messages.error(
            request,
            _("筛选结果共 %(count)d 条，一次最多导出 %(max)d 条。请缩小日期范围后再导出。")
            % {"count": count, "max": EXPORT_MAX_ROWS},
        )
        return redirect(f"{reverse('audit:index')}?{query}" if query else reverse("audit:index"))
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        detail={"what": "audit", "filter": filters.as_detail(), "rows": count},
    )
    writer = csv.writer(_Echo())

    def lines() -> Iterator[Any]:
        yield "\ufeff"  # Excel reads the file as UTF-8 only with the byte order mark
        for row in selectors.csv_rows(events):
            yield writer.writerow(row)

    filename = f"{_('审计日志')}-{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename) or ""
    return response
