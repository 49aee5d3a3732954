"""Uploads (SECURITY.md, Files): PDF, JPEG and PNG only, recognised by their content; images
decoded and re-encoded (which drops EXIF and anything hidden after the image); stored under random
names outside the public roots; served only by a view that asks the access check first."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from approvals.models import AccountRequest, Attachment
from campusmedia.auditlog import audit_record
from campusmedia.models import MediaAccount, User
from campusmedia.models.audit import AuditAction

ERR_FILE_TYPE = "附件：只接受 PDF、JPEG 或 PNG 文件（按文件内容识别，不看扩展名）。"
ERR_FILE_SIZE = "附件：文件不能超过 %(mb)s MB。"
ERR_FILE_EMPTY = "附件：文件是空的。"
ERR_FILE_BROKEN = "附件：文件已损坏，无法打开。"

_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, suffix) from the first bytes, or None for anything else."""
    for signature, content_type, suffix in _SIGNATURES:
        if head.startswith(signature):
            return content_type, suffix
    return None


def _read_capped(upload: Any) -> bytes:
    limit = settings.CAMPUSMEDIA_UPLOAD_MAX_BYTES
    if getattr(upload, "size", 0) and upload.size > limit:
        raise ValidationError(_(ERR_FILE_SIZE) % {"mb": limit // (1 << 20)})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(_(ERR_FILE_SIZE) % {"mb": limit // (1 << 20)})
    if not data:
        raise ValidationError(_(ERR_FILE_EMPTY))
    return data


def clean_upload(upload: Any) -> tuple[bytes, str, str]:
    """Check an upload and return (bytes to store, content type, suffix)."""
    data = _read_capped(upload)
    kind = sniff(data[:16])
    if kind is None:
        raise ValidationError(_(ERR_FILE_TYPE))
    content_type, suffix = kind
    if content_type == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(_(ERR_FILE_BROKEN))
        return data, content_type, suffix
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            fmt = "JPEG" if content_type == "image/jpeg" else "PNG"
            image: Image.Image = opened
            if image.mode not in ("RGB", "L") and not (
                fmt == "PNG" and image.mode in ("RGBA", "LA")
            ):
                image = image.convert("RGBA" if fmt == "PNG" else "RGB")
            out = io.BytesIO()
            # A fresh image without the source's info: EXIF and comments are not carried over.
            clean = Image.new(image.mode, image.size)
            clean.paste(image)
            clean.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValidationError(_(ERR_FILE_BROKEN)) from error
    return out.getvalue(), content_type, suffix


@transaction.atomic
def attachment_add(
    *,
    kind: str,
    upload: Any,
    actor: User,
    account_request: AccountRequest | None = None,
    account: MediaAccount | None = None,
    request: HttpRequest | None = None,
) -> Attachment:
    """Store a checked upload on a request or an account (the caller has checked the right)."""
    data, content_type, suffix = clean_upload(upload)
    original = (getattr(upload, "name", "") or f"upload{suffix}").rsplit("/", 1)[-1][:200]
    attachment = Attachment(
        request=account_request,
        account=account,
        kind=kind,
        original_name=original,
        content_type=content_type,
        size=len(data),
        uploaded_by=actor,
    )
    # The file is written before the row; should the transaction roll back, the file stays
    # behind without a row (never served, since serving goes through the row).
    attachment.file.save(f"upload{suffix}", ContentFile(data), save=False)
    attachment.save()
    audit_record(
        action=AuditAction.FILE_UPLOADED,
        actor=actor,
        request=request,
        obj=account_request or account,
        detail={"attachment": attachment.pk, "kind": kind, "size": len(data)},
    )
    return attachment
