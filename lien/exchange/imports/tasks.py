"""Background steps of an import (django-tasks): thin wrappers around the services."""

from django_tasks import task

from lien.exchange.imports import services


@task()
def validate_import(job_id: str) -> str:
    return services.import_job_validate(job_id=job_id).state


@task()
def apply_import(job_id: str) -> str:
    return services.import_job_apply(job_id=job_id).state
