"""Private file storage: outside the static and media roots, never served by the web server."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject


class _PrivateStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = FileSystemStorage(location=settings.CAMPUSMEDIA_PRIVATE_ROOT, base_url=None)


private_storage = _PrivateStorage()


def get_private_storage() -> _PrivateStorage:
    """The storage of attachment fields, as a callable so migrations name it instead of
    freezing a path from the settings of the machine that made them."""
    return private_storage
