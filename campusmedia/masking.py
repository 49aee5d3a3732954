"""Masks for personal data, the same on pages, exports and PDFs (SECURITY.md, "Personal data").

* ID number ``110***********002X``: first 3 and last 4 kept, length unchanged.
* Mobile ``138****1234``: first 3 and last 4 kept.
* E-mail ``z***@example.com``: first character of the local part and exactly three stars.

Every mask returns ``""`` for ``None`` or an empty value, and never returns an unmasked value:
inputs too short to keep both ends are starred completely.
"""

from __future__ import annotations

from campusmedia.validators import normalize_id_number, normalize_mobile

__all__ = ["mask_email", "mask_id_number", "mask_mobile"]

STAR = "*"


def _keep_ends(text: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, star the rest (same length).

    When fewer than one character would be starred, everything is starred.
    """
    hidden = len(text) - head - tail
    if hidden < 1:
        return STAR * len(text)
    return text[:head] + STAR * hidden + text[len(text) - tail :]


def mask_id_number(value: str | None) -> str:
    """``11010519491231002X`` → ``110***********002X``."""
    if not value:
        return ""
    return _keep_ends(normalize_id_number(value), 3, 4)


def mask_mobile(value: str | None) -> str:
    """``+86 138-1234-5678`` → ``138****5678``.

    The value is normalised first; an 11-digit result keeps its first 3 and last 4 characters,
    anything else its first 3 and last 2.
    """
    if not value:
        return ""
    number = normalize_mobile(value)
    if len(number) == 11 and number.isascii() and number.isdigit():
        return _keep_ends(number, 3, 4)
    return _keep_ends(number, 3, 2)


def mask_email(value: str | None) -> str:
    """``zhangsan@Example.com`` → ``z***@example.com``."""
    if not value:
        return ""
    address = str(value).strip()
    local, at, domain = address.rpartition("@")
    if not at:
        # No "@": treat the whole value as a local part.
        local, domain = address, ""
    masked_local = f"{local[:1]}***"
    return f"{masked_local}@{domain.lower()}" if at else masked_local
