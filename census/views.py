"""Census import pages: the job list with the upload form and the template, a job's preview
with its progress, and the confirmation. Thin: ask ``census.permissions``, call
``census.services``, redirect or render.

Only the propaganda department uses them: anyone else gets 403 on the list, the upload and the
template, and 404 on a job (there is no job of theirs to show).
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from campusmedia.models import User
from campusmedia.permissions import get_access
from census import selectors, services
from census.choices import JobStatus
from census.files import too_large_message
from census.forms import UploadForm
from census.models import ImportJob
from census.permissions import may_import
from census.template import template_bytes, template_filename

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _department(request: HttpRequest) -> None:
    if not may_import(get_access(request)):
        raise PermissionDenied


def _job(request: HttpRequest, pk: int) -> ImportJob:
    if not may_import(get_access(request)):
        raise Http404
    return get_object_or_404(ImportJob.objects.select_related("created_by", "imported_by"), pk=pk)


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "max_rows": f"{settings.CAMPUSMEDIA_IMPORT_MAX_ROWS:,}",
        "max_mb": f"{settings.CAMPUSMEDIA_IMPORT_MAX_BYTES / (1 << 20):g}",
        **extra,
    }


@never_cache
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _department(request)
    return render(
        request, "census/index.html", _context(jobs=selectors.job_list(), form=UploadForm())
    )


@never_cache
@require_GET
def template(request: HttpRequest) -> HttpResponse:
    _department(request)
    response = HttpResponse(template_bytes(), content_type=XLSX)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=template_filename()) or ""
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class _CappedUpload(FileUploadHandler):
    """Stops storing an upload once it is over the cap (the rest of the body is discarded
    unread by the handlers below), and says so on the request."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.received = 0
        self.request._census_file_name = file_name  # type: ignore[union-attr]

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request._census_too_large = True  # type: ignore[union-attr]
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@csrf_exempt  # the handler has to be in place before the CSRF check reads the body
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    _department(request)
    handlers = cast(list[FileUploadHandler], request.upload_handlers)
    handlers.insert(0, _CappedUpload(request, settings.CAMPUSMEDIA_IMPORT_MAX_BYTES))
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if getattr(request, "_census_too_large", False):
        job = services.upload_refused(
            actor=_user(request),
            file_name=_posted_name(request),
            message=too_large_message(settings.CAMPUSMEDIA_IMPORT_MAX_BYTES),
            request=request,
        )
        return redirect(job)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, str(errors[0]))
        return redirect("census:index")
    upload_file = form.cleaned_data["file"]
    job = services.job_create(
        actor=_user(request), upload=upload_file, file_name=upload_file.name, request=request
    )
    return redirect(job)


def _posted_name(request: HttpRequest) -> str:
    """The file name of an upload that was skipped (over the cap)."""
    return str(getattr(request, "_census_file_name", "") or _("（超过大小上限的文件）"))


@never_cache
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "census/job.html", _context(job=job, statuses=JobStatus))


@never_cache
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled while the job runs in the background; when it stops the page
    reloads to show the outcome."""
    job = _job(request, pk)
    response = render(request, "census/_progress.html", {"job": job})
    if getattr(request, "htmx", False) and not job.running:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def job_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        job = services.job_confirm(job=job, actor=_user(request), request=request)
    except ValidationError as error:
        messages.error(request, str(error.messages[0]))
        return redirect(job)
    if job.status == JobStatus.IMPORTED:
        messages.success(
            request,
            _("已导入 %(n)s 个账号，新建人员 %(people)s 人。")
            % {"n": job.created_count, "people": job.persons_created},
        )
    elif job.status == JobStatus.FAILED:
        messages.error(request, _("导入没有完成，没有写入任何数据。"))
    return redirect(job)


@require_POST
def job_discard(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        job = services.job_discard(job=job, actor=_user(request), request=request)
    except ValidationError as error:
        messages.error(request, str(error.messages[0]))
    else:
        messages.success(request, job.message)
    return redirect(job)
