"""What the publication app writes. Every edition is published through ``edition_publish``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from campusmedia.auditlog import audit_record
from campusmedia.choices import TIER_OF_KIND, AccountStatus
from campusmedia.models import MediaAccount, User
from campusmedia.models.audit import AuditAction
from campusmedia.permissions import Access
from publication.models import Edition, EditionEntry
from publication.permissions import may_publish

ERR_NOT_ALLOWED = "公开名录：只有党委宣传部可以发布公开名录。"
ERR_CONFLICT = "公开名录：另一期名录正在同时发布，请刷新页面后再确认是否需要发布。"
ERR_NOTE_TOO_LONG = "说明：请不要超过 %(limit)s 个字。"

NOTE_MAX_CHARS = 500
# Rows per INSERT: 3,000 entries go in a handful of statements.
_BATCH_SIZE = 500


def _snapshot(edition: Edition) -> list[EditionEntry]:
    """The public fields of every active account, in the list's order: tier, unit, name."""
    accounts = (
        MediaAccount.objects.filter(status=AccountStatus.ACTIVE)
        .select_related("platform", "owner_unit")
        .only(
            "name",
            "account_id",
            "account_type",
            "approval_number",
            "opened_on",
            "url",
            "platform__name",
            "owner_unit__name",
            "owner_unit__kind",
            "owner_unit__sort_order",
        )
    )
    rows = sorted(
        accounts,
        key=lambda a: (
            TIER_OF_KIND[a.owner_unit.kind],
            a.owner_unit.sort_order,
            a.owner_unit.name,
            a.owner_unit_id,
            a.name,
            a.pk,
        ),
    )
    return [
        EditionEntry(
            edition=edition,
            position=position,
            account=account,
            account_name=account.name,
            platform_name=account.platform.name,
            account_type=account.account_type,
            account_code=account.account_id,
            unit_name=account.owner_unit.name,
            tier=TIER_OF_KIND[account.owner_unit.kind],
            approval_number=account.approval_number,
            opened_on=account.opened_on,
            url=account.url,
        )
        for position, account in enumerate(rows, start=1)
    ]


def _next_number() -> int:
    """One past the latest edition's number, read under the latest edition's row lock."""
    latest = (
        Edition.objects.select_for_update()
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return (latest or 0) + 1


@transaction.atomic
def edition_publish(*, actor: User, note: str = "", request: HttpRequest | None = None) -> Edition:
    """Publish the next edition of the list: the approved accounts that are active now.

    Numbers run 1, 2, 3 … without gaps: the latest edition is locked while the next number is
    taken, and the unique number refuses a second edition published at the same moment (which
    gets a conflict message; the first is kept)."""
    if not may_publish(Access(actor)):
        raise PermissionDenied(_(ERR_NOT_ALLOWED))
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationError({"note": [_(ERR_NOTE_TOO_LONG) % {"limit": NOTE_MAX_CHARS}]})
    try:
        with transaction.atomic():
            edition = Edition.objects.create(
                number=_next_number(),
                published_on=timezone.localdate(),
                published_at=timezone.now(),
                published_by=actor,
                note=note,
            )
    except IntegrityError as error:
        raise ValidationError(_(ERR_CONFLICT), code="conflict") from error
    entries = EditionEntry.objects.bulk_create(_snapshot(edition), batch_size=_BATCH_SIZE)
    audit_record(
        action=AuditAction.EDITION_PUBLISHED,
        actor=actor,
        request=request,
        obj=edition,
        detail={"number": edition.number, "accounts": len(entries)},
    )
    return edition
