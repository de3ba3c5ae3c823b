"""In-app notifications, one row per recipient; the e-mail copy is sent by a background job."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 1000
URL_MAX_LENGTH = 500


def is_local_path(url: str) -> bool:
    """True for a path on this site ("/suivis/…"), false for anything a browser could read
    as another site ("//host", "/\\host", "https://…") or that carries control characters."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and not any(ord(char) < 32 or char == "\x7f" for char in url)
        and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
    )


class NotificationQuerySet(models.QuerySet):
    def for_recipient(self, user):
        """The only read rule: a notification is seen by its recipient alone."""
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something that happened for one person: a referral answered, a report acknowledged,
    a next step due. Title and body are short and non-nominative (callers see to it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("destinataire"),
    )
    kind = models.CharField(_("type"), max_length=50)
    title = models.CharField(_("titre"), max_length=TITLE_MAX_LENGTH)
    body = models.TextField(_("texte"), max_length=BODY_MAX_LENGTH, blank=True)
    url = models.CharField(_("lien"), max_length=URL_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("envoyée par e-mail le"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            # The header's unread count on every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(url="") | (Q(url__startswith="/") & ~Q(url__startswith="//")),
                name="notification_url_is_local",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def safe_url(self) -> str:
        """Where opening the notification leads: its own link if local, else the list."""
        from django.urls import reverse

        return self.url if is_local_path(self.url) else reverse("notifications:notification_list")
