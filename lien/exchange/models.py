"""Personal API tokens: a key that acts as one membership (one role in one place).

The secret is shown once, when the token is created, and never stored: the database keeps
its SHA-256 (`key_hash`, what a request is looked up by) and its first characters
(`key_prefix`, so that a person can tell their tokens apart). A token is refused once it
is revoked, once it has expired, and whenever its membership or its account is no longer
active — so removing someone from a structure also ends their API access.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: How many characters of the secret are kept in clear, to recognise a token in the list.
KEY_PREFIX_LENGTH = 8


class TokenScope(models.TextChoices):
    READ = "read", _("Lecture seule")
    WRITE = "write", _("Lecture et écriture")


class TokenState(models.TextChoices):
    ACTIVE = "active", _("actif")
    EXPIRED = "expired", _("expiré")
    REVOKED = "revoked", _("révoqué")


class ApiTokenQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def usable(self, now=None):
        """Neither revoked nor expired (the membership is checked on each request)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("compte"),
    )
    membership = models.ForeignKey(
        "core.Membership",
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("rattachement"),
        help_text=_("Le jeton agit avec ce rôle, à cet endroit, et nulle part ailleurs."),
    )
    name = models.CharField(_("nom"), max_length=100)
    scope = models.CharField(_("portée"), max_length=5, choices=TokenScope.choices)
    key_prefix = models.CharField(_("début de la clé"), max_length=KEY_PREFIX_LENGTH)
    key_hash = models.CharField(_("empreinte de la clé"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")]
        constraints = [
            models.CheckConstraint(
                name="apitoken_scope_known", condition=Q(scope__in=["read", "write"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    @property
    def state_label(self) -> str:
        return TokenState(self.state()).label

    @property
    def is_usable(self) -> bool:
        return self.state() == TokenState.ACTIVE

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
