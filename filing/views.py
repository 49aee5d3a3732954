"""Municipal filing pages: batches, their progress, packets and receipts. Thin: ask
``filing.permissions``, call ``filing.services``, redirect or render.

Batches are the department's; the auditor reads them; everyone else gets 403 (there is no
object of theirs to hide, so no 404).
"""

from __future__ import annotations

from collections import Counter
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from campusmedia.auditlog import audit_record
from campusmedia.models import User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access, get_access
from filing import selectors, services
from filing.choices import BatchState, Receipt
from filing.cities import city_form
from filing.forms import BatchCreateForm, ReceiptForm, first_error
from filing.models import Batch, BatchItem, BatchPacket
from filing.packets import packet_bytes, packet_filename
from filing.permissions import may_download_packets, may_run_batches, may_view_batches


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _viewer(request: HttpRequest) -> Access:
    access = get_access(request)
    if not may_view_batches(access):
        raise PermissionDenied
    return access


def _runner(request: HttpRequest) -> Access:
    access = _viewer(request)
    if not may_run_batches(access):
        raise PermissionDenied
    return access


def _message(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, first_error(error))


@require_GET
def batch_index(request: HttpRequest) -> HttpResponse:
    access = _viewer(request)
    return render(
        request,
        "filing/batch_index.html",
        {
            "batches": selectors.batch_list(),
            "due": selectors.due_filings(),
            "form": BatchCreateForm(),
            "can_run": may_run_batches(access),
            "city": city_form(),
            "days": settings.CAMPUSMEDIA_FILING_DAYS,
        },
    )


@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    _runner(request)
    form = BatchCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form.errors))
        return redirect("filing:batch_index")
    try:
        batch = services.batch_create(
            actor=_user(request), note=form.cleaned_data["note"], request=request
        )
    except ValidationError as error:
        _message(request, error)
        return redirect("filing:batch_index")
    messages.success(
        request,
        _("已创建%(batch)s，共 %(n)s 个账号。") % {"batch": batch, "n": batch.progress_total},
    )
    return redirect(batch)


def _batch_context(batch: Batch, access: Access) -> dict:
    items = list(selectors.batch_items(batch))
    offices: dict[int, dict] = {}
    for item in items:
        group = offices.setdefault(
            item.office_id, {"office": item.office, "items": [], "pending": 0}
        )
        group["items"].append(item)
        group["pending"] += item.receipt == Receipt.PENDING
    packets = {p.office_id: p for p in batch.packets.all()}
    for office_id, group in offices.items():
        group["packet"] = packets.get(office_id)
    receipts = Counter(item.receipt for item in items)
    counts = {
        "filed": receipts[Receipt.FILED],
        "returned": receipts[Receipt.RETURNED],
        "pending": receipts[Receipt.PENDING],
    }
    return {
        "batch": batch,
        "groups": list(offices.values()),
        "counts": counts,
        "total": len(items),
        "can_run": may_run_batches(access),
        "can_download": may_download_packets(access),
        "receipts_open": batch.state in (BatchState.SENT, BatchState.DONE),
        "receipt_form": ReceiptForm(),
        "city": city_form(batch.city),
    }


@never_cache
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = _viewer(request)
    batch = get_object_or_404(Batch.objects.select_related("created_by", "sent_by"), pk=pk)
    return render(request, "filing/batch_detail.html", _batch_context(batch, access))


@never_cache
@require_GET
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by the page while the batch is generated. When generation
    ends the page reloads to show the packets."""
    _viewer(request)
    batch = get_object_or_404(Batch, pk=pk)
    response = render(request, "filing/_progress.html", {"batch": batch})
    if _htmx(request) and batch.state != BatchState.GENERATING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def batch_generate(request: HttpRequest, pk: int) -> HttpResponse:
    _runner(request)
    batch = get_object_or_404(Batch, pk=pk)
    try:
        batch = services.batch_generate(batch=batch, actor=_user(request), request=request)
    except ValidationError as error:
        _message(request, error)
    except Exception:
        batch.refresh_from_db()
        messages.error(request, _("生成失败：%(error)s") % {"error": batch.error})
    return redirect(batch)


@require_POST
def batch_send(request: HttpRequest, pk: int) -> HttpResponse:
    _runner(request)
    batch = get_object_or_404(Batch, pk=pk)
    by_email = request.POST.get("email", "1") == "1"
    was = batch.state
    try:
        batch = services.batch_send(
            batch=batch, actor=_user(request), email=by_email, request=request
        )
    except ValidationError as error:
        _message(request, error)
        return redirect(batch)
    if was != batch.state:
        messages.success(
            request,
            _("已报送，报送包已通过电子邮件发给各网信部门。")
            if by_email
            else _("已标记为报送（纸质报送）。"),
        )
    return redirect(batch)


@require_POST
def item_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    access = _runner(request)
    item = get_object_or_404(BatchItem.objects.select_related("batch"), pk=pk)
    form = ReceiptForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.receipts_record(
                batch=item.batch,
                lines=[
                    services.ReceiptLine(
                        item, form.cleaned_data["receipt"], form.cleaned_data["note"]
                    )
                ],
                actor=_user(request),
                request=request,
            )
        except ValidationError as exc:
            error = first_error(exc)
    else:
        error = first_error(form.errors)
    if _htmx(request):
        item = selectors.batch_items(item.batch).get(pk=item.pk)
        context = {
            "item": item,
            "batch": item.batch,
            "error": error,
            "can_run": True,
            "receipts_open": True,
            "can_download": may_download_packets(access),
        }
        return render(request, "filing/_item_row.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    return redirect(item.batch)


@require_POST
def packet_receipts(request: HttpRequest, pk: int) -> HttpResponse:
    """Every item of one office still awaiting its receipt, recorded as filed."""
    _runner(request)
    packet = get_object_or_404(BatchPacket.objects.select_related("batch"), pk=pk)
    items = packet.batch.items.filter(office_id=packet.office_id, receipt=Receipt.PENDING)
    try:
        count = services.receipts_record(
            batch=packet.batch,
            lines=[services.ReceiptLine(item, Receipt.FILED) for item in items],
            actor=_user(request),
            request=request,
        )
    except ValidationError as error:
        _message(request, error)
    else:
        messages.success(request, _("已登记 %(n)s 个账号备案成功。") % {"n": count})
    return redirect(packet.batch)


@never_cache
@require_GET
def packet_download(request: HttpRequest, pk: int) -> HttpResponse:
    access = _viewer(request)
    if not may_download_packets(access):
        raise PermissionDenied
    packet = get_object_or_404(BatchPacket.objects.select_related("batch", "office"), pk=pk)
    if not packet.file:
        messages.error(request, _("报送包尚未生成。"))
        return redirect(packet.batch)
    data = packet_bytes(packet)
    # The packet holds the unit heads' ID copies: every download is logged.
    audit_record(
        action=AuditAction.FILE_DOWNLOADED,
        request=request,
        obj=packet.batch,
        detail={"packet": packet.pk, "office": packet.office.name, "size": len(data)},
    )
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=packet_filename(packet)) or ""
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
