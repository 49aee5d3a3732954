"""Reads of the census import."""

from __future__ import annotations

from django.db.models import QuerySet

from census.models import ImportJob

LIST_LIMIT = 100


def job_list() -> QuerySet[ImportJob]:
    """The latest jobs with their uploader, without the error lists and samples (one query)."""
    return (
        ImportJob.objects.select_related("created_by")
        .defer("errors", "sample", "message")
        .order_by("-created_at", "-id")[:LIST_LIMIT]
    )
