"""Files encrypted at rest (SECURITY.md, Personal data and Files).

Unit materials hold ID copies and packets bundle them, so their bytes are sealed with the same
Fernet keys as the personal data in the database (``campusmedia.crypto``): the keys live outside
the database and the file store, and a copy of the private file root alone reveals nothing.
Key rotation works as for the fields: a new first key seals, every listed key unseals.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile

from campusmedia.crypto import cipher


def seal(data: bytes) -> bytes:
    """Encrypt ``data`` (a Fernet token: authenticated, timestamped, base64)."""
    return cipher().encrypt(data)


def unseal(token: bytes) -> bytes:
    """Decrypt a token made by ``seal``; a wrong key or a changed file raises ValueError."""
    try:
        return cipher().decrypt(token)
    except InvalidToken as exc:  # never hand out bytes that failed authentication
        raise ValueError("the file cannot be decrypted with the configured keys") from exc


def store_sealed(field_file: FieldFile, data: bytes, name_suffix: str = ".bin") -> None:
    """Write ``data`` sealed into ``field_file`` without saving the model row.

    The field's ``upload_to`` picks the stored name (a random one on private storage); the
    suffix only matters to fields that keep the name they are given.
    """
    field_file.save(f"sealed{name_suffix}", ContentFile(seal(data)), save=False)


def read_sealed(field_file: FieldFile) -> bytes:
    """The plain bytes of a file written by ``store_sealed``."""
    with field_file.open("rb") as handle:
        token = handle.read()
    return unseal(token)
