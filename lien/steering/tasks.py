"""Background jobs of regional steering (django-tasks): thin wrappers around services."""

from django_tasks import task

from lien.steering import reports


@task()
def generate_report(report_id: str) -> str:
    return reports.report_generate(report_id=report_id).state
