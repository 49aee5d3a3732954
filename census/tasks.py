"""Background work of the census import (Django's tasks API through django-tasks): large files
are checked and imported here, with the job's progress written as the rows go by."""

from __future__ import annotations

from django_tasks import task

from census import services


@task()
def check_job(job_id: int) -> str:
    """Check a stored file; returns the job's status."""
    return services.job_check(job_id).status


@task()
def import_job(job_id: int) -> str:
    """Import a confirmed job; returns the job's status."""
    return services.job_import(job_id).status
