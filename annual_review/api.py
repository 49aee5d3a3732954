"""The review API (``/api/v1/reviews/``)."""

from __future__ import annotations

from rest_framework import viewsets


class ReviewViewSet(viewsets.GenericViewSet):
    """Filled in with the API."""
