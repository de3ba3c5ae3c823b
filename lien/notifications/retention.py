"""Notifications' retention rules (applied by `manage.py apply_retention`, see
lien.core.retention): read notifications, and the finished e-mail jobs whose arguments
keep addresses and bodies with links."""

import datetime

from django_tasks.backends.database.models import DBTaskResult

from lien.core.retention import RetentionRule, cutoff, delete_rows, period
from lien.notifications.models import Notification


def _read_notifications(today: datetime.date):
    # By creation date: a notification read late is not kept longer than one read at once.
    return Notification.objects.filter(
        read_at__isnull=False, created_at__lt=cutoff(today, period("notifications_read_days"))
    )


def _finished_jobs(today: datetime.date):
    # Succeeded or failed; a job still waiting or running is never touched.
    return DBTaskResult.objects.finished().filter(
        finished_at__lt=cutoff(today, period("job_results_days"))
    )


RULES = [
    RetentionRule(
        code="notifications_read",
        kind="Notifications lues",
        statement=lambda: f"supprimées {period('notifications_read_days')} jours après leur envoi",
        apply=lambda today: delete_rows(_read_notifications(today)),
        count=lambda today: _read_notifications(today).count(),
    ),
    RetentionRule(
        code="job_results",
        kind="Tâches d'arrière-plan terminées (adresses et textes des e-mails)",
        statement=lambda: f"supprimées {period('job_results_days')} jours après leur fin",
        apply=lambda today: delete_rows(_finished_jobs(today)),
        count=lambda today: _finished_jobs(today).count(),
    ),
]
