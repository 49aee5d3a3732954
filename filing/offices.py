"""Pages of the municipal offices (备案地址), an account's office and the units' filing materials.
Thin: ask the access rules, bind a form, call ``filing.office_services``, redirect or render.

Offices are the department's; the auditor reads them; everyone else gets 403 (there is nothing
of theirs to hide). An account's office and a unit's materials belong to an object: an outsider
gets 404, a reader without the right 403.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campusmedia.models import MediaAccount, Office, Unit, User
from campusmedia.permissions import Access, authorize, get_access, get_for
from filing import office_services as services
from filing.models import UnitMaterial
from filing.office_forms import AccountOfficeForm, MaterialUploadForm, OfficeForm


def _user(request: HttpRequest) -> User:
    """The signed-in user (every page here is behind the login requirement)."""
    return cast(User, request.user)


def _city() -> str:
    return settings.CAMPUSMEDIA_FILING_CITY


def _office_reader(request: HttpRequest) -> Access:
    access = get_access(request)
    if not services.may_view_offices(access):
        raise PermissionDenied
    return access


def _office_keeper(request: HttpRequest) -> Access:
    access = _office_reader(request)
    if not services.may_manage_offices(access):
        raise PermissionDenied
    return access


def _errors_to_form(form: BaseForm, error: ValidationError) -> None:
    """A service's ValidationError onto the form, each message on the field it names."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, messages_ in error.message_dict.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for message in messages_:
            if target is None:
                form.add_error(None, message)
            else:
                form.add_service_error(target, message)  # type: ignore[attr-defined]


def _flash_errors(request: HttpRequest, error: ValidationError | dict) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
        return
    for field_errors in error.values():
        for message in field_errors:
            messages.error(request, str(message))


def _next_url(request: HttpRequest, default: str) -> str:
    """Back where the form was (the unit's page or the materials page), never off the site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- Offices -----------------------------------------------------------------------------------


@require_GET
def office_list(request: HttpRequest) -> HttpResponse:
    access = _office_reader(request)
    rows = services.office_rows(_city())
    return render(
        request,
        "filing/office_list.html",
        {
            "rows": [r for r in rows if r.office.is_active],
            "inactive": [r for r in rows if not r.office.is_active],
            "has_municipal": any(r.office.is_municipal and r.office.is_active for r in rows),
            "can_edit": services.may_manage_offices(access),
            "city": _city(),
        },
    )


def _office_form_page(
    request: HttpRequest, form: OfficeForm, office: Office | None
) -> HttpResponse:
    return render(
        request,
        "filing/office_form.html",
        {"form": form, "office": office},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def office_create(request: HttpRequest) -> HttpResponse:
    _office_keeper(request)
    form = OfficeForm(request.POST or None, city=_city())
    if request.method == "POST" and form.is_valid():
        try:
            office = services.office_create(
                city=_city(), actor=_user(request), request=request, **form.cleaned_data
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("已添加“%(name)s”。") % {"name": office.name})
            return redirect("filing:office_list")
    return _office_form_page(request, form, None)


@require_http_methods(["GET", "POST"])
def office_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _office_keeper(request)
    office = get_object_or_404(Office, pk=pk)
    form = OfficeForm(request.POST or None, instance=office, city=office.city)
    if request.method == "POST" and form.is_valid():
        try:
            services.office_update(
                office=Office.objects.get(pk=pk),
                actor=_user(request),
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("已保存“%(name)s”。") % {"name": form.cleaned_data["name"]})
            return redirect("filing:office_list")
    return _office_form_page(request, form, Office.objects.get(pk=pk))


@require_POST
def office_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _office_keeper(request)
    office = get_object_or_404(Office, pk=pk)
    try:
        services.office_deactivate(office=office, actor=_user(request), request=request)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(
            request,
            _("已停用“%(name)s”；它服务的账号今后报市级网信部门。") % {"name": office.name},
        )
    return redirect("filing:office_list")


# --- An account's office -----------------------------------------------------------------------


def account_office_form(account: MediaAccount, data: QueryDict | None = None) -> AccountOfficeForm:
    """The select of the account's page: the city's active offices, empty for the default."""
    city = settings.CAMPUSMEDIA_FILING_CITY
    municipal = services.municipal_office_of(city)
    default = (
        _("默认：%(name)s") % {"name": municipal.name} if municipal else _("默认：市级网信部门")
    )
    return AccountOfficeForm(
        data,
        offices=services.city_offices(city),
        default_label=default,
        initial={"office": account.filing_office_id},
    )


@require_POST
def account_office(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    account = get_for(access, MediaAccount.objects.all(), pk)
    if not services.may_manage_offices(access):
        raise PermissionDenied
    form = account_office_form(account, request.POST)
    if not form.is_valid():
        _flash_errors(request, form.errors)
        return redirect(account)
    office = form.cleaned_data["office"]
    try:
        services.account_office_set(
            account=account, office=office, actor=_user(request), request=request
        )
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        municipal = None if office else services.municipal_office_of(_city())
        name = office.name if office else (municipal.name if municipal else _("市级网信部门"))
        messages.success(request, _("已将备案地址设为“%(name)s”。") % {"name": name})
    return redirect(account)


# --- Unit materials ----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def unit_materials(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    unit = get_for(access, Unit.objects.select_related("parent"), pk)
    if request.method == "GET":
        return render(request, "filing/unit_materials.html", {"unit": unit})
    if not services.may_upload_materials(access, unit.pk):
        raise PermissionDenied
    back = _next_url(request, unit.get_absolute_url())
    form = MaterialUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        _flash_errors(request, form.errors)
        return redirect(back)
    kind = form.cleaned_data["kind"]
    try:
        material = services.material_upload(
            unit=unit,
            kind=kind,
            upload=form.cleaned_data["file"],
            actor=_user(request),
            request=request,
        )
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("已上传“%(kind)s”。") % {"kind": material.get_kind_display()})
    return redirect(back)


@never_cache
@require_GET
def material_download(request: HttpRequest, pk: int) -> HttpResponse:
    access = get_access(request)
    material = UnitMaterial.objects.select_related("unit").filter(pk=pk).first()
    if material is None:
        raise Http404
    authorize(access, material.unit)
    if not services.may_download_materials(access, material.unit_id):
        raise PermissionDenied
    data = services.material_read(material=material, actor=_user(request), request=request)
    response = HttpResponse(data, content_type=material.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(True, material.original_name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
