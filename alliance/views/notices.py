"""Policy notices (政策通知, 002 section 五) and their read receipts. Thin: ask
``alliance.permissions``, call ``alliance.services``, redirect or render.

A notice is seen by its recipients, the department and the auditor (``visible_notices``); anyone
else gets 404. Only the department posts and reminds; the auditor reads (403 on every step).
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alliance import permissions as perms
from alliance import selectors, services
from alliance.forms.errors import apply_service_errors
from alliance.forms.notices import NoticeForm
from alliance.models import Notice, NoticeAttachment
from campusmedia.auditlog import audit_record
from campusmedia.models import User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access, get_access
from filing.forms import first_error


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _get_notice(access: Access, pk: int) -> Notice:
    """A notice the user may see (404 otherwise)."""
    found = perms.visible_notices(access, Notice.objects.all()).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    access = get_access(request)
    notices = selectors.notice_list(access).defer("body")
    page = Paginator(notices, settings.CAMPUSMEDIA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "alliance/notice_list.html",
        {
            "page": page,
            "rows": page.object_list,
            "can_post": perms.is_secretariat(access),
            "sees_receipts": perms.reads_all(access),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def notice_new(request: HttpRequest) -> HttpResponse:
    if not perms.is_secretariat(get_access(request)):
        raise PermissionDenied
    form = NoticeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_post(
                actor=_user(request),
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                uploads=request.FILES.getlist("attachments"),
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("已发布，已通知 %(n)s 位接收人。") % {"n": notice.receipts.count()},
            )
            return redirect(notice)
    return render(request, "alliance/notice_form.html", {"form": form})


@never_cache
@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    notice = _get_notice(access, pk)
    receipts = selectors.notice_receipts(notice) if perms.reads_all(access) else []
    read = sum(1 for r in receipts if r.read_at is not None)
    return render(
        request,
        "alliance/notice_detail.html",
        {
            "notice": notice,
            "attachments": list(notice.attachments.all()),
            "receipt": selectors.my_receipt(notice, _user(request)),
            "sees_receipts": perms.reads_all(access),
            "receipts": receipts,
            "counts": {"total": len(receipts), "read": read, "unread": len(receipts) - read},
            "can_remind": perms.is_secretariat(access),
            "remind_hours": settings.CAMPUSMEDIA_NOTICE_REMIND_HOURS,
        },
    )


@require_POST
def notice_read(request: HttpRequest, pk: int) -> HttpResponse:
    """The reader confirms; with htmx the button is swapped for the confirmation."""
    notice = _get_notice(get_access(request), pk)
    receipt = services.notice_read(notice=notice, actor=_user(request))  # 403 if not theirs
    if getattr(request, "htmx", False):
        context = {"notice": notice, "receipt": receipt}
        return render(request, "alliance/_notice_read_htmx.html", context)
    messages.success(request, _("已确认阅读。"))
    return redirect(notice)


@require_POST
def notice_remind(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    notice = _get_notice(access, pk)
    if not perms.is_secretariat(access):
        raise PermissionDenied
    try:
        count = services.notice_remind(notice=notice, actor=_user(request), request=request)
    except ValidationError as error:  # within the interval (AllianceConflict), or all read
        messages.error(request, first_error(error))
    else:
        messages.success(request, _("已提醒 %(n)s 位未读人员。") % {"n": count})
    return redirect(notice)


@require_GET
def notice_attachment(request: HttpRequest, pk: int) -> FileResponse:
    attachment = NoticeAttachment.objects.filter(pk=pk).first()
    if attachment is None:
        raise Http404
    notice = _get_notice(get_access(request), attachment.notice_id)
    audit_record(
        action=AuditAction.FILE_DOWNLOADED,
        request=request,
        obj=notice,
        detail={"notice_attachment": attachment.pk, "name": attachment.original_name},
    )
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    disposition = content_disposition_header(True, attachment.original_name)
    response["Content-Disposition"] = disposition or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
