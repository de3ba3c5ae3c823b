"""The real queue: notify enqueues on the database backend, the worker sends the e-mails."""

import signal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django_tasks import TaskResultStatus
from django_tasks.backends.database.models import DBTaskResult

from lien.notifications import services
from lien.notifications.models import Notification
from tests.factories import UserFactory

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
_SIGNALS = [signal.SIGINT, signal.SIGTERM] + (
    [signal.SIGQUIT] if hasattr(signal, "SIGQUIT") else []
)


def run_worker_once():
    """`db_worker --batch` runs every ready job, then exits; it installs its own signal
    handlers, which are put back afterwards so the test run keeps its own."""
    saved = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_notify_enqueues_on_commit_and_the_worker_sends_the_emails():
    alice, bob = UserFactory(), UserFactory()
    with transaction.atomic():
        services.notify(
            recipients=[alice, bob],
            kind="referral.answered",
            title="Orientation acceptée",
            url="/suivis/",
        )
        services.send_external_email(
            to=["caf@example.org"], subject="Nouvelle orientation", body="Lien signé"
        )
        assert not DBTaskResult.objects.exists(), "nothing is queued before the commit"

    # Committed: three jobs wait in the database, nothing is sent yet.
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 3
    assert mail.outbox == []
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()

    run_worker_once()

    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCEEDED).count() == 3
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [alice.email, bob.email, "caf@example.org"]
    )
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()

    # Nothing left: a second pass sends nothing more.
    run_worker_once()
    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_a_rolled_back_write_queues_no_job():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify(recipients=[user], kind="x", title="Jamais envoyée")
        raise RuntimeError("rollback")
    assert not DBTaskResult.objects.exists()
    run_worker_once()
    assert mail.outbox == []
