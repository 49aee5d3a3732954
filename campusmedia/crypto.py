"""Personal data at rest: Fernet encryption with keys from outside the database, keyed HMAC for
uniqueness. A database dump holds tokens and HMACs, never a plain ID number or mobile."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet_key(secret: str) -> bytes:
    """Accept a ready Fernet key or derive one from any secret string."""
    try:
        if len(base64.urlsafe_b64decode(secret.encode())) == 32:
            return secret.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a wrong key must never pass silently
        raise ValueError("personal data cannot be decrypted with the configured keys") from exc


def blind_index(value: str) -> str:
    """Keyed HMAC-SHA256 of a normalised value: equal values match, the value stays unknown."""
    key = settings.FIELD_HMAC_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedCharField(models.TextField):
    """A text column holding a Fernet token; Python sees the plain value.

    Not searchable and not orderable by content, by design. Uniqueness goes through a separate
    HMAC column (see ``blind_index``).
    """

    description = "Encrypted text"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        return decrypt(value)

    def to_python(self, value: Any) -> str:
        return "" if value is None else str(value)

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return encrypt(str(value))
