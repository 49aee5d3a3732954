"""Every way a municipal filing batch changes: start, generate, send, receipts.

Rules (DOMAIN.md sections 5 and 7, SECURITY.md Integrity):
- A batch holds every account whose city-form data differs from what the office holds: running
  accounts never filed, running accounts whose form data changed since their last filing, and
  closed accounts whose closure was not filed yet. The data is compared by fingerprint (a keyed
  HMAC of the form's fields), so an account is never filed twice for the same data; an account
  already waiting in a batch with the same data is left out (a unique constraint backs this).
- Generating a batch (a background task) writes one packet per office; generating or sending a
  batch again changes nothing.
- A "filed" receipt makes the item's data what the office holds; a "returned" receipt leaves
  the account to be filed again.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from campusmedia.auditlog import audit_record
from campusmedia.choices import AccountStatus, Role
from campusmedia.crypto import blind_index
from campusmedia.models import (
    AccountHistory,
    MediaAccount,
    Office,
    RoleAssignment,
    TeamMember,
    User,
)
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from filing.choices import BatchState, ItemKind, Receipt
from filing.cities import CityForm, city_form
from filing.data import FilingData, filing_accounts, filing_data
from filing.models import AccountFiling, Batch, BatchItem, BatchPacket
from filing.permissions import may_run_batches

logger = logging.getLogger(__name__)

ERR_NOT_ALLOWED = "只有党委宣传部可以办理市网信办报备。"
ERR_NO_OFFICE = "尚未登记%(city)s的市级网信部门，请先在“网信部门”中添加。"
ERR_NOTHING_TO_FILE = "目前没有需要报备的账号：所有账号的报备信息都已报送或已在批次中。"
ERR_BUSY = "另一个批次正在创建，请稍后再试。"
ERR_NOT_READY = "批次尚未生成，不能报送。"
ERR_NOT_SENT = "批次尚未报送，不能登记回执。"
ERR_REASON_REQUIRED = "退回原因：登记退回时必须填写。"
ERR_RECEIPT_DONE = "“%(account)s”的回执已登记为“%(receipt)s”，不能更改。"
ERR_RECEIPT_UNKNOWN = "回执：无效的选项。"

# Accounts that exist on their platform: their data is filed; approved-not-opened ones are not.
LIVE_STATUSES = (AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.ORDERED_TO_CLOSE)


class BatchConflict(ValidationError):
    """The batch (or the registry) is not in a state that allows the step: 409 in the API."""


def _require(actor: User) -> Access:
    access = Access(actor)
    if not may_run_batches(access):
        raise PermissionDenied(_(ERR_NOT_ALLOWED))
    return access


def fingerprint(fields: dict[str, Any], *, closed: bool) -> str:
    """Equal form data (and the same open/closed state) gives the same fingerprint."""
    canonical = json.dumps(
        {"closed": closed, "fields": fields}, sort_keys=True, ensure_ascii=False, default=str
    )
    return blind_index(canonical)


def municipal_office(city: str) -> Office:
    office = Office.objects.of_city(city).filter(parent__isnull=True).first()
    if office is None:
        raise ValidationError(_(ERR_NO_OFFICE) % {"city": city_form(city).city_name})
    return office


def serving_office(account: MediaAccount, *, city: str, municipal: Office) -> Office:
    """The account's own office when it is an active one of the city, else the municipal one."""
    office = account.filing_office
    if office is not None and office.is_active and office.city == city:
        return office
    return municipal


@dataclass(frozen=True)
class Candidate:
    """An account as a batch would take it."""

    account: MediaAccount
    data: FilingData
    fields: dict[str, Any]
    fingerprint: str
    kind: str
    office: Office


def _kind(account: MediaAccount, filing: AccountFiling | None, print_: str) -> str | None:
    """NEW, CHANGE, CLOSE, or None when the office already holds this data."""
    closed = account.status == AccountStatus.CLOSED
    if filing is None or filing.filed_closed:
        # Never filed (or filed closed and running again): file it as new while it runs.
        return ItemKind.NEW if account.status in LIVE_STATUSES else None
    if filing.fingerprint == print_:
        return None
    return ItemKind.CLOSE if closed else ItemKind.CHANGE


def stale_accounts(form: CityForm) -> QuerySet[MediaAccount]:
    """The accounts of the form's platforms whose filed data may have changed: running and never
    filed (or filed closed), or with anything the forms print changed since ``checked_at``: the
    account's history, a person on its team, its unit, or the head of its unit or the unit
    above. Only these are read and fingerprinted; the rest are known to be unchanged."""
    checked = OuterRef("municipal_filing__checked_at")
    account = OuterRef("pk")
    team_changed = TeamMember.objects.filter(account=account, person__updated_at__gt=checked)
    history = AccountHistory.objects.filter(account=account, at__gt=checked)
    heads = RoleAssignment.objects.filter(role=Role.HEAD).filter(
        Q(created_at__gt=checked) | Q(person__updated_at__gt=checked)
    )
    head_changed = heads.filter(
        Q(unit=OuterRef("owner_unit")) | Q(unit=OuterRef("owner_unit__parent"))
    )
    filed = Q(municipal_filing__isnull=False)
    accounts = MediaAccount.objects.filter(
        Q(status__in=LIVE_STATUSES, municipal_filing__isnull=True)
        | Q(status__in=LIVE_STATUSES, municipal_filing__filed_closed=True)
        | Q(status=AccountStatus.CLOSED, municipal_filing__filed_closed=False)
        | (
            filed
            & Q(municipal_filing__filed_closed=False)
            & (
                Exists(history)
                | Exists(team_changed)
                | Exists(head_changed)
                | Q(owner_unit__updated_at__gt=F("municipal_filing__checked_at"))
                | Q(owner_unit__parent__updated_at__gt=F("municipal_filing__checked_at"))
            )
        )
    ).filter(status__in=[*LIVE_STATUSES, AccountStatus.CLOSED])
    if form.platforms is not None:
        accounts = accounts.filter(platform__code__in=form.platforms)
    return accounts


def filing_candidates(
    *, form: CityForm | None = None, among: QuerySet[MediaAccount] | None = None
) -> tuple[list[Candidate], list[int]]:
    """Every account that needs filing now, and the ids of the filed accounts found unchanged.

    Reads the accounts the city's form covers that may have moved since their data was last
    found equal to the office's (``stale_accounts``), in a fixed number of queries per thousand.
    """
    form = form or city_form()
    municipal = municipal_office(form.code)
    accounts = stale_accounts(form)
    if among is not None:
        accounts = accounts.filter(pk__in=among.values("pk"))
    filings = {
        f.account_id: f for f in AccountFiling.objects.filter(account_id__in=accounts.values("pk"))
    }
    pending = set(
        BatchItem.objects.filter(receipt=Receipt.PENDING).values_list("account_id", "fingerprint")
    )
    candidates: list[Candidate] = []
    unchanged: list[int] = []
    ids = list(accounts.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        chunk = list(filing_accounts(MediaAccount.objects.filter(pk__in=ids[start : start + 1000])))
        chunk = [
            a
            for a in chunk
            if a.status != AccountStatus.CLOSED
            or (a.pk in filings and not filings[a.pk].filed_closed)
        ]
        for account, data in zip(chunk, filing_data(chunk), strict=True):
            if not form.files(data):
                continue
            fields = form.fields(data)
            print_ = fingerprint(fields, closed=account.status == AccountStatus.CLOSED)
            kind = _kind(account, filings.get(account.pk), print_)
            if kind is None:
                if account.pk in filings:
                    unchanged.append(account.pk)
                continue
            if (account.pk, print_) in pending:
                continue
            office = serving_office(account, city=form.code, municipal=municipal)
            candidates.append(Candidate(account, data, fields, print_, kind, office))
    return candidates, unchanged


def _audit(batch: Batch, actor: User | None, request: HttpRequest | None, **detail: Any) -> None:
    audit_record(
        action=AuditAction.FILING_BATCH, actor=actor, request=request, obj=batch, detail=detail
    )


def batch_create(*, actor: User, note: str = "", request: HttpRequest | None = None) -> Batch:
    """Start a batch with every account that needs filing. Refused when there is none (the
    accounts found unchanged are marked checked either way)."""
    _require(actor)
    form = city_form()
    batch: Batch | None = None
    try:
        with transaction.atomic():
            # One batch is started at a time: the municipal office's row is the lock.
            Office.objects.select_for_update().filter(pk=municipal_office(form.code).pk).get()
            candidates, unchanged = filing_candidates(form=form)
            now = timezone.now()
            if unchanged:
                AccountFiling.objects.filter(account_id__in=unchanged).update(checked_at=now)
            if candidates:
                batch = _batch_with_items(form, candidates, actor=actor, note=note, now=now)
                _audit(batch, actor, request, event="created", items=len(candidates))
    except IntegrityError as error:
        # Another batch took the same accounts at the same moment.
        raise BatchConflict(_(ERR_BUSY)) from error
    if batch is None:
        raise BatchConflict(_(ERR_NOTHING_TO_FILE))
    return batch


def _batch_with_items(
    form: CityForm, candidates: list[Candidate], *, actor: User, note: str, now: datetime.datetime
) -> Batch:
    year = timezone.localdate(now).year
    last = Batch.objects.filter(year=year).aggregate(n=Max("seq"))["n"] or 0
    batch = Batch.objects.create(
        year=year,
        seq=last + 1,
        city=form.code,
        note=note,
        created_by=actor,
        progress_total=len(candidates),
    )
    BatchItem.objects.bulk_create(
        [
            BatchItem(
                batch=batch,
                account=c.account,
                office=c.office,
                kind=c.kind,
                fingerprint=c.fingerprint,
                data=json.dumps(c.fields, ensure_ascii=False, default=str),
                account_name=c.account.name,
                unit_name=c.data.unit_name,
            )
            for c in candidates
        ],
        batch_size=500,
    )
    return batch


def batch_generate(*, batch: Batch, actor: User, request: HttpRequest | None = None) -> Batch:
    """Queue the generation of the batch's packets. A batch generated or being generated is
    returned as it is."""
    _require(actor)
    from filing.tasks import generate_batch

    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.state != BatchState.DRAFT:
            return batch
        batch.state = BatchState.GENERATING
        batch.error = ""
        batch.progress_done = 0
        batch.save(update_fields=["state", "error", "progress_done"])
        _audit(batch, actor, request, event="generate")
        batch_id = batch.pk
        transaction.on_commit(lambda: _enqueue(generate_batch, batch_id))
    batch.refresh_from_db()
    return batch


def _enqueue(task: Any, batch_id: int) -> None:
    result = task.enqueue(batch_id)
    # The immediate backend has already run it; the database backend leaves it to a worker.
    Batch.objects.filter(pk=batch_id).update(task_id=str(result.id)[:64])


def batch_build(batch_id: int, *, workers: int | None = None) -> Batch:
    """Write the batch's packets (the work of the generation task). Idempotent: a batch that is
    not being generated is left alone; on failure the batch goes back to draft with the error."""
    from filing.packets import build_packets

    batch = Batch.objects.get(pk=batch_id)
    if batch.state != BatchState.GENERATING:
        return batch
    try:
        build_packets(batch, workers=workers or settings.CAMPUSMEDIA_PDF_WORKERS)
    except Exception as error:
        logger.exception("batch %s failed to generate", batch_id)
        Batch.objects.filter(pk=batch_id, state=BatchState.GENERATING).update(
            state=BatchState.DRAFT, error=str(error)[:2000] or error.__class__.__name__
        )
        raise
    Batch.objects.filter(pk=batch_id, state=BatchState.GENERATING).update(
        state=BatchState.READY, generated_at=timezone.now(), error=""
    )
    batch.refresh_from_db()
    return batch


def batch_send(
    *, batch: Batch, actor: User, email: bool = True, request: HttpRequest | None = None
) -> Batch:
    """Mark the batch sent and, with ``email``, mail each office its packet (after commit).
    A batch already sent is returned as it is: nothing is mailed twice."""
    _require(actor)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.state in (BatchState.SENT, BatchState.DONE):
            return batch
        if batch.state != BatchState.READY:
            raise BatchConflict(_(ERR_NOT_READY))
        now = timezone.now()
        batch.state = BatchState.SENT
        batch.sent_at = now
        batch.sent_by = actor
        batch.save(update_fields=["state", "sent_at", "sent_by"])
        packets = list(batch.packets.select_related("office"))
        for packet in packets:
            packet.sent_at = now
            packet.sent_to = packet.office.email if email else ""
        BatchPacket.objects.bulk_update(packets, ["sent_at", "sent_to"])
        _audit(
            batch,
            actor,
            request,
            event="sent",
            email=email,
            offices=[p.office.name for p in packets],
        )
        if email:
            ids = [p.pk for p in packets if p.sent_to]
            transaction.on_commit(lambda: _mail_packets(ids))
    return batch


def _mail_packets(packet_ids: Sequence[int]) -> None:
    from filing.packets import mail_packet

    for packet in BatchPacket.objects.filter(pk__in=packet_ids).select_related("batch", "office"):
        try:
            mail_packet(packet)
        except Exception:
            # The batch stays sent (the paper copy goes anyway); the failure is in the log.
            logger.exception("packet %s could not be mailed", packet.pk)


def _mark_filed(item: BatchItem, now: datetime.datetime) -> None:
    existing = AccountFiling.objects.select_for_update().filter(account_id=item.account_id).first()
    if existing is not None and existing.item.batch.created_at > item.batch.created_at:
        return  # a later batch's data is already what the office holds
    AccountFiling.objects.update_or_create(
        account_id=item.account_id,
        defaults={
            "fingerprint": item.fingerprint,
            "filed_closed": item.kind == ItemKind.CLOSE,
            "filed_at": now,
            "item": item,
            # The data was taken when the batch started: later changes still need filing.
            "checked_at": item.batch.created_at,
        },
    )


@dataclass(frozen=True)
class ReceiptLine:
    item: BatchItem
    receipt: str
    note: str = ""


def receipts_record(
    *,
    batch: Batch,
    lines: Iterable[ReceiptLine],
    actor: User,
    request: HttpRequest | None = None,
) -> int:
    """Record the office's receipts for items of ``batch``: all lines or none. Recording the
    same receipt again changes nothing. Returns the number of receipts that changed."""
    _require(actor)
    lines = list(lines)
    changed = 0
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.state not in (BatchState.SENT, BatchState.DONE):
            raise BatchConflict(_(ERR_NOT_SENT))
        items = {
            i.pk: i
            for i in BatchItem.objects.select_for_update()
            .filter(batch=batch, pk__in=[line.item.pk for line in lines])
            .select_related("batch")
        }
        now = timezone.now()
        for line in lines:
            item = items.get(line.item.pk)
            if item is None:
                raise ValidationError(_(ERR_RECEIPT_UNKNOWN))
            note = line.note.strip()
            if line.receipt not in (Receipt.FILED, Receipt.RETURNED):
                raise ValidationError(_(ERR_RECEIPT_UNKNOWN))
            if line.receipt == Receipt.RETURNED and not note:
                raise ValidationError({"receipt_note": _(ERR_REASON_REQUIRED)})
            if item.receipt == line.receipt:
                continue
            if item.receipt != Receipt.PENDING:
                raise BatchConflict(
                    _(ERR_RECEIPT_DONE)
                    % {"account": item.account_name, "receipt": item.get_receipt_display()}
                )
            item.receipt = line.receipt
            item.receipt_note = note if line.receipt == Receipt.RETURNED else ""
            item.receipt_at = now
            item.receipt_by = actor
            item.save(update_fields=["receipt", "receipt_note", "receipt_at", "receipt_by"])
            if line.receipt == Receipt.FILED:
                _mark_filed(item, now)
            changed += 1
        if changed:
            _audit(
                batch,
                actor,
                request,
                event="receipts",
                filed=sum(1 for ln in lines if ln.receipt == Receipt.FILED),
                returned=sum(1 for ln in lines if ln.receipt == Receipt.RETURNED),
            )
        if (
            batch.state == BatchState.SENT
            and not batch.items.filter(receipt=Receipt.PENDING).exists()
        ):
            batch.state = BatchState.DONE
            batch.save(update_fields=["state"])
    return changed


__all__ = [
    "LIVE_STATUSES",
    "BatchConflict",
    "Candidate",
    "ReceiptLine",
    "batch_build",
    "batch_create",
    "batch_generate",
    "batch_send",
    "filing_candidates",
    "fingerprint",
    "municipal_office",
    "receipts_record",
    "serving_office",
]
