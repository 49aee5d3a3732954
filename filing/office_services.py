"""The municipal network offices (备案地址) and the units' filing materials: who may do what, every
way they change, and the reads of their pages.

Rules (DOMAIN.md section 7, SECURITY.md Personal data, Files and Audit):
- Offices are the propaganda department's to keep; the auditor reads them. A city has one
  municipal office (``parent`` empty); every other office of the city is one of its district
  offices. The municipal office is never switched off: every account that names no (active)
  district office is filed with it.
- An account's office is administrative, not filed data: setting it writes an audit row, no
  account history.
- A unit's materials (its code certificate and its head's ID copy) are uploaded by the unit's
  keepers (its secretary, a secretary of a unit above it, its own head) or the department, and
  downloaded only by them. Uploads are checked by content, images re-encoded, then sealed
  (``filing.vault``) before they are written. A new upload of a kind replaces the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from approvals.attachments import clean_upload
from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, Role
from campusmedia.models import MediaAccount, Office, Unit, User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from filing import vault
from filing.choices import MaterialKind
from filing.models import UnitMaterial

ERR_OFFICES_NOT_ALLOWED = "只有党委宣传部可以维护网信部门和备案地址。"
ERR_MATERIALS_NOT_ALLOWED = "只有本单位的秘书、负责人和党委宣传部可以上传报备材料。"
ERR_NAME_TAKEN = "名称：本市已有同名的网信部门。"
ERR_PARENT = "上级网信部门：应为本市的市级网信部门。"
ERR_PARENT_HAS_DISTRICTS = "上级网信部门：本部门下还有区县网信部门，不能改为区县网信部门。"
ERR_MUNICIPAL_INACTIVE = "市级网信部门不能停用；如有变化，请直接修改它的信息。"
ERR_OFFICE_CHOICE = "备案地址：请选择本市有效的网信部门。"
ERR_MATERIAL_KIND = "材料类型：无效的选项。"

# What the office form edits; the city comes from the setting, never from the form.
OFFICE_FIELDS = frozenset(
    {"name", "parent", "address", "duty_phone", "email", "contacts", "sort_order", "is_active"}
)
# Accounts that exist on their platform: the ones an office receives filings for.
SERVED_STATUSES = (AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.ORDERED_TO_CLOSE)


# --- Who may do what ---------------------------------------------------------------------------


def may_view_offices(access: Access) -> bool:
    return access.reads_all


def may_manage_offices(access: Access) -> bool:
    return access.writes_all


def keeps_materials(access: Access, unit_id: int | None) -> bool:
    """The unit's keepers through a unit role: its secretary (or one of a unit above it, who
    keeps it and files its requests) and the unit's own head, whose ID copy it is."""
    if unit_id is None:
        return False
    return access.keeps(unit_id) or any(
        held.unit_id == unit_id and held.role == Role.HEAD for held in access.role_assignments
    )


def may_upload_materials(access: Access, unit_id: int | None) -> bool:
    return access.writes_all or keeps_materials(access, unit_id)


def may_download_materials(access: Access, unit_id: int | None) -> bool:
    """ID copies leave the system only with those who file them (SECURITY.md, Personal data)."""
    return access.writes_all or keeps_materials(access, unit_id)


def _require_office_keeper(actor: User | None) -> None:
    # ``actor=None`` is the system itself (seed_demo, migrations of data).
    if actor is not None and not may_manage_offices(Access(actor)):
        raise PermissionDenied(_(ERR_OFFICES_NOT_ALLOWED))


# --- Offices -----------------------------------------------------------------------------------


def _check_fields(fields: Iterable[str]) -> None:
    unknown = set(fields) - OFFICE_FIELDS
    if unknown:
        raise TypeError(f"not an office field: {', '.join(sorted(unknown))}")


def _check_office(office: Office) -> None:
    """The rules the table's constraints do not say, with messages that name the field."""
    namesakes = Office.objects.filter(city=office.city, name=office.name)
    if office.pk:
        namesakes = namesakes.exclude(pk=office.pk)
    if namesakes.exists():
        raise ValidationError({"name": _(ERR_NAME_TAKEN)})
    parent = office.parent
    if parent is not None:
        if parent.city != office.city or parent.parent_id is not None or parent.pk == office.pk:
            raise ValidationError({"parent": _(ERR_PARENT)})
        if office.pk and office.districts.exists():
            raise ValidationError({"parent": _(ERR_PARENT_HAS_DISTRICTS)})
    elif not office.is_active:
        raise ValidationError(_(ERR_MUNICIPAL_INACTIVE))


@transaction.atomic
def office_create(
    *, city: str, actor: User | None, request: HttpRequest | None = None, **fields: Any
) -> Office:
    """Add an office of ``city``: its municipal office (no ``parent``) or a district office."""
    _require_office_keeper(actor)
    _check_fields(fields)
    office = Office(city=city, **fields)
    _check_office(office)
    office.full_clean()
    office.save()
    audit_record(
        action=AuditAction.OFFICE_CHANGED,
        actor=actor,
        request=request,
        obj=office,
        detail={"event": "created", "city": city, "fields": sorted(fields)},
    )
    return office


@transaction.atomic
def office_update(
    *, office: Office, actor: User | None, request: HttpRequest | None = None, **fields: Any
) -> Office:
    """Change an office's data; the audit row names the fields that changed (not their values:
    they are public addresses, but the log records what happened, not the registry)."""
    _require_office_keeper(actor)
    _check_fields(fields)
    office = Office.objects.select_for_update().get(pk=office.pk)
    changed = sorted(name for name, value in fields.items() if getattr(office, name) != value)
    if not changed:
        return office
    for name in changed:
        setattr(office, name, fields[name])
    _check_office(office)
    office.full_clean()
    office.save()
    audit_record(
        action=AuditAction.OFFICE_CHANGED,
        actor=actor,
        request=request,
        obj=office,
        detail={"event": "updated", "fields": changed},
    )
    return office


def office_deactivate(
    *, office: Office, actor: User | None, request: HttpRequest | None = None
) -> Office:
    """Switch a district office off. The accounts it served are filed with the municipal office
    from then on; their own setting is kept, so switching it on again restores it."""
    return office_update(office=office, actor=actor, request=request, is_active=False)


@transaction.atomic
def account_office_set(
    *,
    account: MediaAccount,
    office: Office | None,
    actor: User | None,
    request: HttpRequest | None = None,
) -> MediaAccount:
    """Name the office that serves ``account`` (None: the municipal office of the city the
    school files in, ``CAMPUSMEDIA_FILING_CITY``)."""
    _require_office_keeper(actor)
    city = settings.CAMPUSMEDIA_FILING_CITY
    if office is not None and (office.city != city or not office.is_active):
        raise ValidationError({"filing_office": _(ERR_OFFICE_CHOICE)})
    account = (
        MediaAccount.objects.select_for_update(of=("self",))
        .select_related("filing_office")
        .get(pk=account.pk)
    )
    old = account.filing_office
    if (old.pk if old else None) == (office.pk if office else None):
        return account
    account.filing_office = office
    # Only this column: the account's filed data (and its "updated" time) stay as they are.
    account.save(update_fields=["filing_office"])
    audit_record(
        action=AuditAction.OFFICE_CHANGED,
        actor=actor,
        request=request,
        obj=account,
        detail={
            "event": "account_office",
            "fields": ["filing_office"],
            "from": old.name if old else "",
            "to": office.name if office else "",
        },
    )
    return account


# --- Materials ---------------------------------------------------------------------------------


def _relabel(message: str, label: str) -> str:
    """``附件：文件是空的。`` → ``单位负责人身份证复印件：文件是空的。``: the upload checks name
    a generic field; on the materials panel each kind is its own field."""
    for separator in ("：", ": "):
        head, found, detail = message.partition(separator)
        if found and len(head) <= 20:
            return _("%(field)s：%(detail)s") % {"field": label, "detail": detail}
    return _("%(field)s：%(detail)s") % {"field": label, "detail": message}


def material_upload(
    *,
    unit: Unit,
    kind: str,
    upload: Any,
    actor: User,
    request: HttpRequest | None = None,
) -> UnitMaterial:
    """Store a checked, sealed copy of ``upload`` as the unit's ``kind`` material, replacing the
    one before it (whose file is deleted once the new row is committed)."""
    if kind not in MaterialKind.values:
        raise ValidationError({"kind": _(ERR_MATERIAL_KIND)})
    if not may_upload_materials(Access(actor), unit.pk):
        raise PermissionDenied(_(ERR_MATERIALS_NOT_ALLOWED))
    label = str(MaterialKind(kind).label)
    try:
        # Outside the transaction: re-encoding an image takes a while and needs no lock.
        data, content_type, suffix = clean_upload(upload)
    except ValidationError as error:
        raise ValidationError([_relabel(str(m), label) for m in error.messages]) from error
    original = (getattr(upload, "name", "") or f"{label}{suffix}").rsplit("/", 1)[-1][:200]

    with transaction.atomic():
        # The unit's row serialises two uploads of the same kind (one row per unit and kind).
        Unit.objects.select_for_update().filter(pk=unit.pk).get()
        old = UnitMaterial.objects.filter(unit_id=unit.pk, kind=kind).first()
        material = UnitMaterial(
            unit=unit,
            kind=kind,
            original_name=original,
            content_type=content_type,
            size=len(data),
            uploaded_by=actor,
        )
        vault.store_sealed(material.file, data, suffix)
        storage, new_name = material.file.storage, material.file.name
        try:
            if old is not None:
                old_name = old.file.name
                old.delete()
                transaction.on_commit(lambda: storage.delete(old_name))
            material.save()
            audit_record(
                action=AuditAction.FILE_UPLOADED,
                actor=actor,
                request=request,
                obj=material,
                detail={
                    "material": material.pk,
                    "kind": kind,
                    "size": len(data),
                    "replaced": old is not None,
                },
            )
        except BaseException:
            storage.delete(new_name)  # no row points at it: never leave it behind
            raise
    return material


def material_read(
    *, material: UnitMaterial, actor: User, request: HttpRequest | None = None
) -> bytes:
    """The plain bytes of a material, for a download; every read is logged (an ID copy is
    personal data, SECURITY.md Audit)."""
    if not may_download_materials(Access(actor), material.unit_id):
        raise PermissionDenied
    data = vault.read_sealed(material.file)
    audit_record(
        action=AuditAction.FILE_DOWNLOADED,
        actor=actor,
        request=request,
        obj=material,
        detail={"material": material.pk, "kind": material.kind},
    )
    return data


# --- Reads of the pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeRow:
    office: Office
    served: int  # accounts (existing on their platform) whose filings go to this office


def filed_platforms(city: str) -> frozenset[str] | None:
    """The platforms the city's form files, or None for all (or when the city has no form yet:
    the offices are set up before the form is chosen)."""
    from filing.cities import city_form

    try:
        return city_form(city).platforms
    except ImproperlyConfigured:
        return None


def office_rows(city: str) -> list[OfficeRow]:
    """The offices of ``city``: the municipal office first, then the district offices in their
    order, then the ones switched off; with how many accounts each serves (two queries)."""
    served = Q(accounts__status__in=SERVED_STATUSES)
    accounts = MediaAccount.objects.filter(status__in=SERVED_STATUSES)
    platforms = filed_platforms(city)
    if platforms is not None:
        served &= Q(accounts__platform__code__in=platforms)
        accounts = accounts.filter(platform__code__in=platforms)
    offices = list(
        Office.objects.filter(city=city)
        .select_related("parent")
        .annotate(n_served=Count("accounts", filter=served))
        .order_by("-is_active", "sort_order", "id")
    )
    own: dict[int, int] = {o.pk: o.n_served for o in offices}  # type: ignore[attr-defined]
    # The municipal office serves everything no active district office of the city takes.
    by_districts = sum(own[o.pk] for o in offices if o.is_active and o.parent_id is not None)
    total = accounts.count() if any(o.parent_id is None for o in offices) else 0
    rows = [
        OfficeRow(
            office,
            total - by_districts
            if office.parent_id is None and office.is_active
            else own[office.pk],
        )
        for office in offices
    ]
    rows.sort(key=lambda r: (not r.office.is_active, r.office.parent_id is not None))
    return rows


def city_offices(city: str) -> list[Office]:
    """The active offices of ``city``, the municipal office first (for the account's select)."""
    offices = list(Office.objects.of_city(city).order_by("sort_order", "id"))
    offices.sort(key=lambda o: o.parent_id is not None)
    return offices


def municipal_office_of(city: str) -> Office | None:
    return Office.objects.of_city(city).filter(parent__isnull=True).first()


def unit_materials(unit: Unit) -> dict[str, UnitMaterial]:
    """The unit's materials by kind (one query)."""
    return {m.kind: m for m in UnitMaterial.objects.filter(unit=unit).select_related("uploaded_by")}
