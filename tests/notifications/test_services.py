"""notify, send_external_email, mark_read, mark_all_read: rows, e-mails after commit only."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import override_settings

from lien.notifications import services
from lien.notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_notify_creates_one_row_per_active_recipient_and_emails_after_commit(
    django_capture_on_commit_callbacks,
):
    alice, bob = UserFactory(), UserFactory()
    retired = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = services.notify(
            recipients=[alice, bob, retired, alice],
            kind="referral.answered",
            title="Orientation acceptée",
            body="Le partenaire a accepté l'orientation.",
            url="/suivis/orientations/",
        )
        # Inside the transaction: rows exist, nothing is sent yet.
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert {n.recipient for n in created} == {alice, bob}
    assert Notification.objects.count() == 2
    assert sorted(message.to[0] for message in mail.outbox) == sorted([alice.email, bob.email])
    message = mail.outbox[0]
    assert message.subject == "Orientation acceptée"
    assert "Le partenaire a accepté l'orientation." in message.body
    assert "http://127.0.0.1:8000/suivis/orientations/" in message.body
    assert all(n.emailed_at is not None for n in Notification.objects.all())
    assert all(n.read_at is None for n in Notification.objects.all())


@override_settings(LIEN_BASE_URL="https://lien.example.org")
def test_the_link_in_the_email_uses_the_base_url(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[user], kind="next-step.due", title="Étape à faire")
    # No url: the link leads to the list of notifications.
    assert "https://lien.example.org/notifications/" in mail.outbox[0].body


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.notify(recipients=[user], kind="report.acknowledged", title="Signalement vu")
        services.send_external_email(to=["partenaire@example.org"], subject="Sujet", body="x")
        raise RuntimeError("the caller's write failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_notify_without_email_sends_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [notification] = services.notify(
            recipients=[user], kind="report.acknowledged", title="Vu", email=False
        )
    assert callbacks == []
    assert mail.outbox == []
    assert notification.emailed_at is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("kind", {"kind": "Pas Un Code"}),
        ("title", {"title": "   "}),
        ("title", {"title": "x" * 201}),
        ("body", {"body": "x" * 1001}),
        ("url", {"url": "https://ailleurs.example.org/"}),
        ("url", {"url": "//ailleurs.example.org/"}),
        ("url", {"url": "suivis/sans-barre"}),
    ],
)
def test_notify_refuses_bad_input_and_says_where(field, kwargs):
    arguments = {"kind": "referral.answered", "title": "Titre", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        services.notify(recipients=[UserFactory()], **arguments)
    assert field in excinfo.value.message_dict
    assert not Notification.objects.exists()


def test_a_title_on_several_lines_becomes_one_line(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = services.notify(
            recipients=[UserFactory()], kind="x", title="Ligne un\nLigne deux"
        )
    assert notification.title == "Ligne un Ligne deux"
    assert mail.outbox[0].subject == "Ligne un Ligne deux"


def test_an_email_job_that_runs_twice_sends_one_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = services.notify(recipients=[UserFactory()], kind="x", title="Une fois")
    assert len(mail.outbox) == 1
    assert services.email_notification(notification_id=str(notification.pk)) is False
    assert len(mail.outbox) == 1


def test_send_external_email_sends_one_message_per_address_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        services.send_external_email(
            to=["caf@example.org", "CAF@example.org", "ccas@example.org"],
            subject="Nouvelle orientation",
            body="Répondre : https://lien.example.org/r/abc",
        )
        assert mail.outbox == []
    assert sorted(message.to for message in mail.outbox) == [
        ["caf@example.org"],
        ["ccas@example.org"],
    ]
    assert {message.subject for message in mail.outbox} == {"Nouvelle orientation"}


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("to", {"to": []}),
        ("to", {"to": ["pas-une-adresse"]}),
        ("subject", {"subject": ""}),
    ],
)
def test_send_external_email_refuses_bad_input(field, kwargs, django_capture_on_commit_callbacks):
    arguments = {"to": ["caf@example.org"], "subject": "Objet", "body": "Texte", **kwargs}
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError) as excinfo,
    ):
        services.send_external_email(**arguments)
    assert field in excinfo.value.message_dict
    assert callbacks == []


def test_mark_read_and_mark_all_read():
    user, other = UserFactory(), UserFactory()
    first, second, third = (
        services.notify(recipients=[user], kind="x", title="Un", email=False)
        + services.notify(recipients=[user], kind="x", title="Deux", email=False)
        + (services.notify(recipients=[other], kind="x", title="Autre", email=False))
    )
    services.mark_read(user=user, notification=first)
    first.refresh_from_db()
    read_at = first.read_at
    assert read_at is not None
    # Reading again keeps the first time.
    services.mark_read(user=user, notification=first)
    first.refresh_from_db()
    assert first.read_at == read_at

    assert services.mark_all_read(user=user) == 1
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.read_at is not None
    assert third.read_at is None, "another user's notification stays unread"
    assert services.mark_all_read(user=user) == 0


def test_a_user_cannot_mark_another_users_notification():
    owner, intruder = UserFactory(), UserFactory()
    [notification] = services.notify(recipients=[owner], kind="x", title="À moi", email=False)
    with pytest.raises(PermissionDenied):
        services.mark_read(user=intruder, notification=notification)
    notification.refresh_from_db()
    assert notification.read_at is None
