"""The write path for notifications, and the e-mails that the background jobs send.

Other apps' services call `notify` inside their own transaction (a referral answered, a
report acknowledged, a next step due) and `send_external_email` for people without an
account. Rows are written in that transaction; e-mails are only queued once it commits,
so a rolled-back change never sends anything. The jobs in `tasks.py` call
`email_notification` / `email_external`, which do the sending.

Notifications are not journaled: the action that caused one is, by its own service, and
reading one's own notifications is not a read of nominative data.
"""

import logging
import re
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from lien.core.models import User
from lien.notifications.models import (
    BODY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    URL_MAX_LENGTH,
    Notification,
    is_local_path,
)

logger = logging.getLogger(__name__)

_KIND = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
SUBJECT_MAX_LENGTH = TITLE_MAX_LENGTH


def _one_line(text: str) -> str:
    """E-mail subjects and titles are one line: a newline in a header is refused."""
    return " ".join(str(text).split())


def _validate(*, kind: str, title: str, body: str, url: str) -> None:
    errors: dict[str, str] = {}
    if not _KIND.match(kind):
        errors["kind"] = (
            "Le type doit être un code court (lettres minuscules, chiffres, « . », « _ », « - »)."
        )
    if not title:
        errors["title"] = "Le titre est obligatoire."
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = f"Le titre dépasse {TITLE_MAX_LENGTH} caractères."
    if len(body) > BODY_MAX_LENGTH:
        errors["body"] = f"Le texte dépasse {BODY_MAX_LENGTH} caractères."
    if url and (not is_local_path(url) or len(url) > URL_MAX_LENGTH):
        errors["url"] = "Le lien doit être un chemin de Lien commençant par « / »."
    if errors:
        raise ValidationError(errors)


def absolute_url(path: str) -> str:
    """A link for an e-mail: `LIEN_BASE_URL` followed by a local path."""
    return settings.LIEN_BASE_URL.rstrip("/") + path


def _enqueue_notification_emails(notification_ids: list[str]) -> None:
    from lien.notifications.tasks import deliver_notification_email

    for notification_id in notification_ids:
        deliver_notification_email.enqueue(notification_id)


def _enqueue_external_email(to: list[str], subject: str, body: str) -> None:
    from lien.notifications.tasks import deliver_external_email

    deliver_external_email.enqueue(to=to, subject=subject, body=body)


@transaction.atomic
def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    email: bool = True,
) -> list[Notification]:
    """Create one in-app notification per active recipient and, if `email`, queue an
    e-mail to each once the surrounding transaction commits.

    `kind` is a short code ("referral.answered"); `title` and `body` must not name anyone
    (the caller sees to it); `url` is a path of this site ("/suivis/…") or empty.
    Inactive accounts and duplicates are skipped. Raises ValidationError on bad input.
    """
    title = _one_line(title)
    body = str(body).strip()
    url = str(url).strip()
    _validate(kind=kind, title=title, body=body, url=url)
    seen: set = set()
    users = []
    for user in recipients:
        if user.is_active and user.pk not in seen:
            seen.add(user.pk)
            users.append(user)
    notifications = Notification.objects.bulk_create(
        Notification(recipient=user, kind=kind, title=title, body=body, url=url) for user in users
    )
    if email and notifications:
        ids = [str(notification.pk) for notification in notifications]
        # robust: the change has committed; a queue failure is logged, not turned into an
        # error page (the rows keep `emailed_at` empty, so the e-mail can be sent again).
        transaction.on_commit(partial(_enqueue_notification_emails, ids), robust=True)
    return notifications


def send_external_email(*, to: list[str], subject: str, body: str) -> None:
    """Queue an e-mail to people without an account (a partner answering through a signed
    link), sent once the surrounding transaction commits. Each address gets its own
    message, so no recipient sees the others. Raises ValidationError on a bad address."""
    addresses = list(dict.fromkeys(address.strip().lower() for address in to if address.strip()))
    if not addresses:
        raise ValidationError({"to": "Au moins une adresse e-mail est nécessaire."})
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError({"to": f"Adresse e-mail invalide : « {address} »."}) from exc
    subject = _one_line(subject)
    if not subject:
        raise ValidationError({"subject": "L'objet est obligatoire."})
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise ValidationError({"subject": f"L'objet dépasse {SUBJECT_MAX_LENGTH} caractères."})
    transaction.on_commit(
        partial(_enqueue_external_email, addresses, subject, str(body)), robust=True
    )


@transaction.atomic
def mark_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's own notifications read (reading it again changes nothing)."""
    if notification.recipient_id != user.pk:
        raise PermissionDenied("Cette notification ne vous est pas adressée.")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


@transaction.atomic
def mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; return how many changed."""
    return Notification.objects.for_recipient(user).unread().update(read_at=timezone.now())


# --- What the background jobs do ----------------------------------------------------------


def _notification_email_body(notification: Notification) -> str:
    all_link = absolute_url(reverse("notifications:notification_list"))
    link = absolute_url(notification.url) if notification.url else all_link
    parts = [notification.body] if notification.body else []
    parts.append(f"Voir dans Lien : {link}")
    footer = "—\nLien, le système d'information de la médiation sociale."
    if link != all_link:
        footer += f"\nToutes vos notifications : {all_link}"
    parts.append(footer)
    return "\n\n".join(parts)


def email_notification(*, notification_id: str) -> bool:
    """Send a notification's e-mail copy and set `emailed_at`; True when an e-mail went.

    Sends nothing for a notification already e-mailed, deleted, or whose recipient is no
    longer active, so a job that runs twice sends one e-mail."""
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or notification.emailed_at is not None:
        return False
    recipient = notification.recipient
    if not recipient.is_active or not recipient.email:
        return False
    EmailMessage(
        subject=notification.title,
        body=_notification_email_body(notification),
        to=[recipient.email],
    ).send()
    Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    return True


def email_external(*, to: list[str], subject: str, body: str) -> int:
    """Send one message per address over one connection; return how many were sent."""
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in to]
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
