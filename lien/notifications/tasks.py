"""Background jobs (django-tasks): thin wrappers around the services that send e-mail.

Arguments are JSON values (ids as strings), since the database backend stores them.
Run them with `manage.py db_worker` (see docs/deployment.md).
"""

from django_tasks import task

from lien.notifications import services


@task()
def deliver_notification_email(notification_id: str) -> bool:
    return services.email_notification(notification_id=notification_id)


@task()
def deliver_external_email(to: list[str], subject: str, body: str) -> int:
    return services.email_external(to=to, subject=subject, body=body)
