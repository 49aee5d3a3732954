"""What a batch sends to each office: one ZIP (a "packet") holding

- the city form of each account (``登记表/``), one PDF each;
- one merged PDF of all the forms, to print (``合并打印.pdf``);
- the summary sheet in the city form's columns (``汇总表.xlsx``);
- the materials the office asks for (``材料/``): each unit's code certificate and its head's ID
  copy, or those of the nearest unit above it that has them;
- the covering letter (``报送函.pdf``).

Packets hold ID copies, so they are sealed (encrypted) at rest like the materials themselves.
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from approvals.pdf import PRINT_LANGUAGE, html_to_pdf, print_html
from campusmedia.choices import UnitDuty, choice_labels
from campusmedia.models import Office, Unit
from campusmedia.spreadsheets import cell_value
from filing import vault
from filing.choices import ItemKind, MaterialKind
from filing.cities import CityForm, city_form
from filing.models import Batch, BatchItem, BatchPacket, UnitMaterial
from filing.render import render_forms

# Pages one city form may take (they are one-page forms; two leaves room for a long text).
FORM_MAX_PAGES = 2
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _safe_name(text: str, limit: int = 40) -> str:
    """A file name part: no path separators or characters Windows refuses."""
    return (_UNSAFE.sub("_", text).strip(" .") or "_")[:limit]


def _date(day: Any) -> str:
    return date_format(day, "Y年n月j日")


@dataclass(frozen=True)
class Material:
    unit: Unit  # the unit whose paper it is
    record: UnitMaterial

    @property
    def zip_name(self) -> str:
        suffix = mimetypes.guess_extension(self.record.content_type) or ".bin"
        suffix = ".jpg" if suffix in (".jpe", ".jpeg") else suffix
        label = MaterialKind(self.record.kind).label
        return f"材料/{_safe_name(self.unit.name)}-{label}{suffix}"


def _materials(units: Sequence[Unit]) -> tuple[list[Material], list[str]]:
    """Each unit's papers, from the nearest unit up its chain that has them; and what is missing
    (as lines for the covering letter)."""
    chains: dict[int, list[Unit]] = {}
    for unit in units:
        chain: list[Unit] = []
        node: Unit | None = unit
        while node is not None:
            chain.append(node)
            node = node.parent
        chains[unit.pk] = chain
    ids = {u.pk for chain in chains.values() for u in chain}
    records = {(m.unit_id, m.kind): m for m in UnitMaterial.objects.filter(unit_id__in=ids)}
    found: dict[int, Material] = {}
    missing: list[str] = []
    for unit in units:
        for kind in MaterialKind:
            holder = next((u for u in chains[unit.pk] if (u.pk, kind) in records), None)
            if holder is None:
                missing.append(f"{unit.name}：{kind.label}")
                continue
            record = records[(holder.pk, kind)]
            found.setdefault(record.pk, Material(holder, record))
    return list(found.values()), missing


def summary_xlsx(form: CityForm, items: Sequence[BatchItem], fields: Sequence[dict]) -> bytes:
    """The summary sheet: the city form's columns, then the filing kind; formulae escaped."""
    kinds = choice_labels(ItemKind)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("报备汇总"))
    sheet.freeze_panes = "A2"
    headers = [_("序号"), *[column.header for column in form.columns], _("备案事项")]
    for index in range(1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 6 if index == 1 else 18
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    wrap = Alignment(wrap_text=True, vertical="center")
    row = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        row.append(cell)
    sheet.append(row)
    for number, (item, values) in enumerate(zip(items, fields, strict=True), start=1):
        cells: list[Any] = [number]
        for column in form.columns:
            value = values.get(column.key, "")
            if isinstance(value, list):
                value = "、".join(str(v) for v in value)
            cells.append(cell_value("" if value is None else value))
        cells.append(kinds.get(item.kind, item.kind))
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sender() -> Unit | None:
    return Unit.objects.filter(duty=UnitDuty.PROPAGANDA).select_related("parent").first()


def letter_pdf(
    *,
    batch: Batch,
    form: CityForm,
    office: Office,
    items: Sequence[BatchItem],
    fields: Sequence[dict],
    materials: Sequence[str],
) -> bytes:
    """The covering letter (报送函) to ``office``."""
    sender = _sender()
    school = sender.parent if sender is not None else None
    kinds = choice_labels(ItemKind)
    counts: defaultdict[str, int] = defaultdict(int)
    for item in items:
        counts[item.kind] += 1
    context = {
        "office_name": office.name,
        "school_name": school.name if school else "",
        "sender_name": sender.name if sender else _("党委宣传部"),
        "sender_phone": sender.phone if sender else "",
        "sender_address": sender.address if sender else "",
        "form_title": form.title,
        "batch_label": str(batch),
        "items": [
            {
                "index": number,
                "name": item.account_name,
                "platform": values.get("platform_name") or item.account.platform.name,
                "account_id": values.get("account_id") or item.account.account_id,
                "unit": item.unit_name,
                "kind_label": kinds.get(item.kind, item.kind),
            }
            for number, (item, values) in enumerate(zip(items, fields, strict=True), start=1)
        ],
        "counts": [(kinds[kind], counts[kind]) for kind in ItemKind if counts[kind]],
        "materials": list(materials),
        "dated": _date(timezone.localdate()),
    }
    pages = max(settings.CAMPUSMEDIA_PDF_MAX_PAGES, len(items) // 20 + 2)
    return html_to_pdf(
        print_html("filing_letter", context), ["base", "filing_letter"], max_pages=pages
    )


def form_html(form: CityForm, item: BatchItem, values: dict[str, Any], printed_on: str) -> str:
    kinds = choice_labels(ItemKind)
    context = {
        **form.context(values),
        "kind": item.kind,
        "kind_label": kinds.get(item.kind, item.kind),
        "printed_on": printed_on,
    }
    return print_html(form.template, context)


def packet_zip(
    *,
    batch: Batch,
    form: CityForm,
    office: Office,
    items: Sequence[BatchItem],
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The ZIP for one office."""
    fields = [json.loads(item.data) for item in items]
    printed_on = _date(timezone.localdate())
    htmls = [
        form_html(form, item, values, printed_on)
        for item, values in zip(items, fields, strict=True)
    ]
    rendered = render_forms(
        htmls,
        ["base", form.template],
        workers=workers,
        max_pages=FORM_MAX_PAGES,
        progress=progress,
    )
    units = list({item.account.owner_unit_id: item.account.owner_unit for item in items}.values())
    materials, missing = _materials(units)
    enclosed = [m.zip_name.removeprefix("材料/") for m in materials]
    if missing:
        enclosed += [_("（缺）%(what)s") % {"what": line} for line in missing]
    letter = letter_pdf(
        batch=batch, form=form, office=office, items=items, fields=fields, materials=enclosed
    )
    buffer = io.BytesIO()
    stamp = timezone.localtime(batch.created_at).timetuple()[:6]

    def add(name: str, data: bytes, compress: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        archive.writestr(info, data)

    with zipfile.ZipFile(buffer, "w") as archive:
        add(_("报送函.pdf"), letter)
        add(_("汇总表.xlsx"), summary_xlsx(form, items, fields))
        if rendered.merged is not None:
            add(_("合并打印.pdf"), rendered.merged)
        for number, (item, pdf) in enumerate(zip(items, rendered.each, strict=True), start=1):
            name = f"{number:03d}-{_safe_name(item.unit_name)}-{_safe_name(item.account_name)}"
            add(f"{_('登记表')}/{name}.pdf", pdf)
        for material in materials:
            add(material.zip_name, vault.read_sealed(material.record.file))
    return buffer.getvalue()


def packet_filename(packet: BatchPacket) -> str:
    return f"{_safe_name(str(packet.batch))}-{_safe_name(packet.office.name)}.zip"


def build_packets(batch: Batch, *, workers: int) -> list[BatchPacket]:
    """Write (or write again) one sealed packet per office of the batch."""
    form = city_form(batch.city)
    items = list(
        batch.items.select_related(
            "office", "account__platform", "account__owner_unit__parent__parent"
        ).order_by("office__sort_order", "office_id", "unit_name", "account_name", "id")
    )
    Batch.objects.filter(pk=batch.pk).update(progress_total=len(items), progress_done=0)

    def progress(done: int) -> None:
        Batch.objects.filter(pk=batch.pk).update(progress_done=F("progress_done") + done)

    packets = []
    with translation.override(PRINT_LANGUAGE):
        for office, group in groupby(items, key=lambda item: item.office):
            group_items = list(group)
            data = packet_zip(
                batch=batch,
                form=form,
                office=office,
                items=group_items,
                workers=workers,
                progress=progress,
            )
            packets.append(_save_packet(batch, office, data, len(group_items)))
    return packets


def _save_packet(batch: Batch, office: Office, data: bytes, count: int) -> BatchPacket:
    with transaction.atomic():
        packet, _created = BatchPacket.objects.select_for_update().get_or_create(
            batch=batch, office=office
        )
        old = packet.file.name if packet.file else ""
        vault.store_sealed(packet.file, data, ".zip")
        packet.size = len(data)
        packet.sha256 = hashlib.sha256(data).hexdigest()
        packet.item_count = count
        packet.save()
        if old:
            storage = packet.file.storage
            transaction.on_commit(lambda: storage.delete(old))
    return packet


def packet_bytes(packet: BatchPacket) -> bytes:
    return vault.read_sealed(packet.file)


def mail_packet(packet: BatchPacket) -> None:
    """E-mail ``packet`` to its office with the ZIP attached."""
    context = {"packet": packet, "batch": packet.batch, "office": packet.office}
    with translation.override(PRINT_LANGUAGE):
        subject = " ".join(render_to_string("emails/filing_packet_subject.txt", context).split())
        body = render_to_string("emails/filing_packet_body.txt", context)
    message = EmailMessage(subject, body, to=[packet.office.email])
    message.attach(packet_filename(packet), packet_bytes(packet), "application/zip")
    message.send()
