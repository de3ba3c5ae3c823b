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


# --- imports ---------------------------------------------------------------------------------


class ImportKind(models.TextChoices):
    INTERVENTIONS = "interventions", _("Interventions")
    PARTNERS = "partners", _("Partenaires")
    POSTS = "posts", _("Postes")
    CONTRACTS = "contracts", _("Contrats (et personnes employées)")
    SERVICES = "services", _("Dispositifs")
    STRUCTURES = "structures", _("Structures (administration)")


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("fichier déposé")
    VALIDATING = "validating", _("vérification en cours")
    VALIDATED = "validated", _("prêt à importer")
    REJECTED = "rejected", _("lignes refusées")
    COMMITTING = "committing", _("import en cours")
    DONE = "done", _("importé")
    FAILED = "failed", _("fichier illisible")


#: States in which a background task is working on the job (the page polls).
IMPORT_RUNNING_STATES = (ImportState.VALIDATING, ImportState.COMMITTING)


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """A structure's coordinators see its imports; administrators see every import."""
        from lien.core.models import Role

        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role == Role.COORDINATOR:
            return self.filter(structure_id=membership.structure_id)
        return self.none()


def _import_upload_to(job, filename: str) -> str:
    return f"imports/{job.pk}/source"


def _report_upload_to(job, filename: str) -> str:
    return f"imports/{job.pk}/rejets.csv"


class ImportJob(models.Model):
    """A file brought into Lien: its column mapping, its dry run, then its commit.

    The uploaded file stays server-side (under MEDIA_ROOT) so that the dry run and the
    commit, which run as background tasks, read the very bytes the person checked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("déposé par"),
    )
    membership = models.ForeignKey(
        "core.Membership",
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("rattachement"),
    )
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_jobs",
        verbose_name=_("structure"),
    )
    kind = models.CharField(_("type de données"), max_length=20, choices=ImportKind.choices)
    file = models.FileField(_("fichier"), upload_to=_import_upload_to, max_length=200)
    original_name = models.CharField(_("nom du fichier"), max_length=200)
    file_format = models.CharField(_("format"), max_length=5, blank=True)  # csv | xlsx
    encoding = models.CharField(_("encodage"), max_length=20, blank=True)
    delimiter = models.CharField(_("séparateur"), max_length=1, blank=True)
    headers = models.JSONField(_("colonnes du fichier"), default=list, blank=True)
    mapping = models.JSONField(_("correspondance des colonnes"), default=dict, blank=True)
    state = models.CharField(
        _("état"), max_length=12, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    rows_read = models.PositiveIntegerField(_("lignes lues"), default=0)
    rows_valid = models.PositiveIntegerField(_("lignes valides"), default=0)
    rows_rejected = models.PositiveIntegerField(_("lignes refusées"), default=0)
    rows_created = models.PositiveIntegerField(_("enregistrements créés"), default=0)
    rejects_preview = models.JSONField(_("premières lignes refusées"), default=list, blank=True)
    # Free text flagged by the screening (names, phone numbers, health…): kept only once
    # the person importing has confirmed it, as on the entry pages.
    rows_flagged = models.PositiveIntegerField(_("lignes à texte signalé"), default=0)
    flags_preview = models.JSONField(_("premiers textes signalés"), default=list, blank=True)
    flags_confirmed = models.BooleanField(_("textes signalés confirmés"), default=False)
    report = models.FileField(
        _("rapport des refus"), upload_to=_report_upload_to, max_length=200, blank=True
    )
    error = models.CharField(_("erreur"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("déposé le"), default=timezone.now, editable=False)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["structure", "-created_at"], name="importjob_struct_created")
        ]
        constraints = [
            models.CheckConstraint(
                name="importjob_progress_percent", condition=Q(progress__lte=100)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.original_name}"

    @property
    def is_running(self) -> bool:
        return self.state in IMPORT_RUNNING_STATES
