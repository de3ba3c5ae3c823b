"""Accounts, roles and memberships, and the append-only audit journal."""

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MEDIATOR = "mediator", _("Médiateur·rice")
    COORDINATOR = "coordinator", _("Coordination de structure")
    FUNDER = "funder", _("Financeur / commanditaire")
    PARTNER = "partner", _("Partenaire")
    STEERING = "steering", _("Pilotage régional")
    ADMIN = "admin", _("Administration de la plateforme")


#: Roles that work inside one structure (the tenant) and see its records.
STRUCTURE_ROLES = frozenset({Role.MEDIATOR, Role.COORDINATOR})
#: Roles that act for an outside organisation (a funder, a partner institution).
ORGANISATION_ROLES = frozenset({Role.FUNDER, Role.PARTNER})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("L'adresse e-mail est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def of_structure(self, structure_id, roles=STRUCTURE_ROLES):
        """The active people holding an active membership of `roles` in a structure."""
        return self.filter(
            is_active=True,
            memberships__structure_id=structure_id,
            memberships__is_active=True,
            memberships__role__in=roles,
        ).distinct()


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. What they may do comes from their memberships."""

    email = models.EmailField(_("adresse e-mail"), unique=True)
    full_name = models.CharField(_("nom complet"), max_length=150, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    is_staff = models.BooleanField(_("accès à l'administration"), default=False)
    date_joined = models.DateTimeField(_("inscription"), default=timezone.now)
    # Part of every session's authentication hash: raising it ends all the user's
    # sessions at once ("log out everywhere"), as a password change does.
    session_generation = models.PositiveIntegerField(_("génération de session"), default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("utilisateur·rice")
        verbose_name_plural = _("utilisateur·rices")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers the password only; adding the generation lets a user end
        # every session without changing the password.
        return salted_hmac(
            "lien.core.models.User.session",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_demo(self) -> bool:
        from lien.core.auth import is_demo_email

        return is_demo_email(self.email)


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_structure(self, structure):
        return self.filter(structure=structure)


class Membership(models.Model):
    """One role a user holds, and where: a structure, an organisation or a territory.

    Mediators and coordinators belong to a structure (the tenant); funders and partners
    act for an organisation; steering members follow a territory (usually a région);
    administrators hold the platform role alone.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("compte")
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("structure"),
    )
    organisation = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("territoire suivi"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("rattachement")
        verbose_name_plural = _("rattachements")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    Q(
                        role__in=["mediator", "coordinator"],
                        structure__isnull=False,
                        organisation__isnull=True,
                        territory__isnull=True,
                    )
                    | Q(
                        role__in=["funder", "partner"],
                        structure__isnull=True,
                        organisation__isnull=False,
                        territory__isnull=True,
                    )
                    | Q(
                        role="steering",
                        structure__isnull=True,
                        organisation__isnull=True,
                        territory__isnull=False,
                    )
                    | Q(
                        role="admin",
                        structure__isnull=True,
                        organisation__isnull=True,
                        territory__isnull=True,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} — {self.scope_label}"

    @property
    def scope_label(self) -> str:
        scope = self.structure or self.organisation or self.territory
        return str(scope) if scope else "Lien"

    @property
    def is_structure_role(self) -> bool:
        return self.role in STRUCTURE_ROLES


class AuditAction(models.TextChoices):
    CREATE = "create", _("création")
    UPDATE = "update", _("modification")
    DELETE = "delete", _("suppression")
    READ = "read", _("consultation de données nominatives")
    LOGIN = "login", _("connexion")
    LOGIN_FAILED = "login_failed", _("échec de connexion")
    LOGOUT = "logout", _("déconnexion")
    SWITCH = "switch", _("changement de rattachement")
    LOAD = "load", _("chargement de données")
    SECURITY = "security", _("sécurité du compte")
    INVITE = "invite", _("invitation")
    EXPORT = "export", _("export de données personnelles")
    ERASE = "erase", _("effacement ou anonymisation")
    RETENTION = "retention", _("application des durées de conservation")
    BACKUP = "backup", _("sauvegarde ou restauration")


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le journal d'audit ne peut pas être modifié.")

    def delete(self):
        raise PermissionError("Le journal d'audit ne peut pas être supprimé.")

    def visible_to(self, membership):
        """Admins see everything; coordinators see their structure's journal."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role == Role.COORDINATOR:
            return self.filter(structure_id=membership.structure_id)
        return self.none()


class AuditEvent(models.Model):
    """One line of the append-only journal: who did what to which object, and when.

    Written by `lien.core.audit` inside the transaction of the change it records. The
    actor and structure are kept as plain values so that the journal never blocks, nor is
    altered by, a change elsewhere. On PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(_("compte (id)"), null=True, blank=True)
    actor_email = models.CharField(_("compte"), max_length=254, blank=True)
    actor_role = models.CharField(_("rôle"), max_length=20, blank=True)
    structure_id = models.UUIDField(_("structure (id)"), null=True, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("type d'objet"), max_length=100, blank=True)
    object_id = models.CharField(_("identifiant"), max_length=64, blank=True)
    object_repr = models.CharField(_("objet"), max_length=200, blank=True)
    before = models.JSONField(_("avant"), null=True, blank=True)
    after = models.JSONField(_("après"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    note = models.CharField(_("précision"), max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("événement du journal")
        verbose_name_plural = _("journal d'audit")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Le journal d'audit ne peut pas être modifié.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal d'audit ne peut pas être supprimé.")
