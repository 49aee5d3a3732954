from __future__ import annotations

from django.urls import path, register_converter

from exports import views
from exports.writers import FORMATS


class FormatConverter:
    """``xlsx`` or ``csv``: the file's extension chooses the format."""

    regex = "|".join(FORMATS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "export_format")

app_name = "exports"

urlpatterns = [
    path("registry.<export_format:fmt>", views.registry, name="registry"),
    path("requests.<export_format:fmt>", views.requests, name="requests"),
    path("reviews/<int:year>.<export_format:fmt>", views.reviews, name="reviews"),
    path("batches.<export_format:fmt>", views.batches, name="batches"),
]
