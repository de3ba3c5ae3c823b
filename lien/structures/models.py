"""Structures (employers of mediators, the tenant), their services, and organisations.

A **Structure** employs mediators and owns its records: nothing of one structure is
visible to another. A **Service** (dispositif) is one mediation service of a structure,
commissioned by organisations on a territory. An **Organisation** is an outside body:
a funder or commissioner (city, landlord, transport operator, State, Région, Caisse des
Dépôts…) or a partner institution (CAF, CPAM, France Travail, CCAS, school…).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lien.core.models import Role
from lien.structures.validators import validate_siret


class AfnorStatus(models.TextChoices):
    NONE = "none", _("non engagée")
    IN_PROGRESS = "in_progress", _("démarche en cours")
    CERTIFIED = "certified", _("certifiée")
    SUSPENDED = "suspended", _("suspendue ou retirée")


class OrganisationKind(models.TextChoices):
    FUNDER = "funder", _("financeur / commanditaire")
    PARTNER = "partner", _("partenaire")
    BOTH = "both", _("financeur et partenaire")


class OrganisationQuerySet(models.QuerySet):
    def funders(self):
        return self.filter(kind__in=[OrganisationKind.FUNDER, OrganisationKind.BOTH])

    def partners(self):
        return self.filter(kind__in=[OrganisationKind.PARTNER, OrganisationKind.BOTH])

    def visible_to(self, membership):
        """Organisations form a shared directory: any member may read it."""
        if membership is None:
            return self.none()
        return self


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("nature"), max_length=10, choices=OrganisationKind.choices)
    partner_type = models.ForeignKey(
        "referentiel.PartnerType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("type de partenaire"),
    )
    funding_program = models.ForeignKey(
        "referentiel.FundingProgram",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("programme de financement principal"),
    )
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validate_siret])
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("territoire d'action"),
    )
    contact_email = models.EmailField(_("e-mail de contact"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations (financeurs, partenaires)")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StructureQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """What a membership may see of structures (names and descriptions, no records).

        Mediators and coordinators see their own structure; funders the structures of the
        services they commission; steering the structures with a service in their
        territory; partners none; administrators all.
        """
        if membership is None:
            return self.none()
        role = membership.role
        if role == Role.ADMIN:
            return self
        if role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(pk=membership.structure_id)
        if role == Role.FUNDER:
            return self.filter(services__commissioning_bodies=membership.organisation_id).distinct()
        if role == Role.STEERING:
            return self.filter(
                Q(commune__ancestor_links__ancestor=membership.territory_id)
                | Q(services__territories__ancestor_links__ancestor=membership.territory_id)
            ).distinct()
        return self.none()


class Structure(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("nom"), max_length=200)
    employer_type = models.ForeignKey(
        "referentiel.EmployerType", on_delete=models.PROTECT, verbose_name=_("type d'employeur")
    )
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        unique=True,
        validators=[validate_siret],
        help_text=_("14 chiffres, sans espaces."),
    )
    network = models.CharField(
        _("réseau"),
        max_length=200,
        blank=True,
        help_text=_("Réseau ou fédération d'appartenance, le cas échéant."),
    )
    commune = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": "commune"},
        verbose_name=_("commune du siège"),
    )
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    afnor_status = models.CharField(
        _("certification AFNOR"),
        max_length=12,
        choices=AfnorStatus.choices,
        default=AfnorStatus.NONE,
    )
    afnor_certified_on = models.DateField(_("certifiée le"), null=True, blank=True)
    afnor_next_audit_on = models.DateField(_("prochain audit"), null=True, blank=True)
    # How long a mediator may correct their own entry (the logbook reads it).
    correction_window_days = models.PositiveSmallIntegerField(
        _("délai de correction d'une saisie (jours)"), default=7
    )
    # Follow-up settings: a referral without answer expires; closed situations are purged.
    referral_expiry_days = models.PositiveSmallIntegerField(
        _("délai d'expiration d'une mise en relation sans réponse (jours)"), default=30
    )
    situation_retention_months = models.PositiveSmallIntegerField(
        _("conservation d'un suivi après sa clôture (mois)"), default=12
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = StructureQuerySet.as_manager()

    class Meta:
        verbose_name = _("structure")
        verbose_name_plural = _("structures")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="structure_certified_has_date",
                condition=~Q(afnor_status="certified") | Q(afnor_certified_on__isnull=False),
                violation_error_message=_(
                    "Une structure certifiée AFNOR doit avoir une date de certification."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet):
    def visible_to(self, membership):
        if membership is None:
            return self.none()
        role = membership.role
        if role == Role.ADMIN:
            return self
        if role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(structure_id=membership.structure_id)
        if role == Role.FUNDER:
            return self.filter(commissioning_bodies=membership.organisation_id).distinct()
        if role == Role.STEERING:
            return self.filter(
                territories__ancestor_links__ancestor=membership.territory_id
            ).distinct()
        return self.none()


class Service(models.Model):
    """A mediation service (dispositif) of a structure."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        Structure,
        on_delete=models.PROTECT,
        related_name="services",
        verbose_name=_("structure"),
    )
    name = models.CharField(_("nom du dispositif"), max_length=200)
    domains = models.ManyToManyField(
        "referentiel.Domain", related_name="services", verbose_name=_("domaines")
    )
    territories = models.ManyToManyField(
        "territories.Territory",
        related_name="services",
        verbose_name=_("territoires d'intervention"),
    )
    commissioning_bodies = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="commissioned_services",
        verbose_name=_("commanditaires"),
    )
    objectives = models.TextField(_("objectifs"), blank=True)
    stage = models.ForeignKey(
        "referentiel.ProjectStage", on_delete=models.PROTECT, verbose_name=_("stade du projet")
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service (dispositif)")
        verbose_name_plural = _("services (dispositifs)")
        ordering = ["structure__name", "name"]
        constraints = [
            models.CheckConstraint(
                name="service_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La date de fin doit suivre la date de début."),
            ),
        ]

    def __str__(self) -> str:
        return self.name
