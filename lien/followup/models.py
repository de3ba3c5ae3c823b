"""Follow-up records: situations, referrals, dysfunction reports, social watch, collective
actions.

Everything here belongs to one structure (the tenant) and is read through
`visible_to(membership)`. Situations are pseudonymous by default: a reference and initials;
names only in an explicitly nominative situation, with consent recorded, visible to the
structure's mediators and coordinators only, each read journaled.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lien.core.models import Role

STRUCTURE_ROLES = (Role.MEDIATOR, Role.COORDINATOR)


class StructureScopedQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The structure's own records for its mediators and coordinators; all for admins."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in STRUCTURE_ROLES:
            return self.filter(structure_id=membership.structure_id)
        return self.none()


# --- situations -----------------------------------------------------------------------------


class SituationKind(models.TextChoices):
    DEFERRED = "deferred", _("Médiation différée")
    RIGHTS = "rights", _("Accompagnement à l'accès aux droits")


class SituationStatus(models.TextChoices):
    OPEN = "open", _("En cours")
    CLOSED = "closed", _("Clos")


class ConsentScope(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Suivi par la structure")
    SHARE = "share", _("Suivi et échanges avec les partenaires")


class Situation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="situations"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.PROTECT, related_name="situations"
    )
    reference = models.CharField(_("référence"), max_length=20, editable=False)
    kind = models.CharField(_("type de suivi"), max_length=10, choices=SituationKind.choices)
    initials = models.CharField(
        _("initiales ou pseudonyme"),
        max_length=20,
        help_text=_("Par exemple « M. D. » ou « Locataire bât. C » : pas de nom."),
    )
    category = models.ForeignKey(
        "referentiel.SituationCategory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("situation"),
    )
    domain = models.ForeignKey(
        "referentiel.Domain", on_delete=models.PROTECT, verbose_name=_("domaine")
    )
    commune = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune"),
    )
    qpv = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("QPV"),
    )
    summary = models.CharField(
        _("objet du suivi"),
        max_length=500,
        help_text=_("Sans nom ni donnée sensible : les faits, la demande."),
    )
    summary_warnings = models.JSONField(default=list, blank=True, editable=False)
    # Nominative part: only when the follow-up needs it, with the person's consent.
    is_nominative = models.BooleanField(_("suivi nominatif"), default=False)
    names = models.CharField(_("noms des personnes"), max_length=300, blank=True)
    contact = models.CharField(_("coordonnées"), max_length=200, blank=True)
    consent_on = models.DateField(_("consentement recueilli le"), null=True, blank=True)
    consent_scope = models.CharField(
        _("portée du consentement"), max_length=10, choices=ConsentScope.choices, blank=True
    )
    consent_withdrawn_on = models.DateField(_("consentement retiré le"), null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=6, choices=SituationStatus.choices, default=SituationStatus.OPEN
    )
    opened_on = models.DateField(_("ouvert le"), default=timezone.localdate)
    closed_on = models.DateField(_("clos le"), null=True, blank=True)
    closing_outcome = models.ForeignKey(
        "referentiel.Outcome",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("issue à la clôture"),
    )
    purge_on = models.DateField(_("purge prévue le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = StructureScopedQuerySet.as_manager()

    NOMINATIVE_FIELDS = ("names", "contact")

    class Meta:
        verbose_name = _("suivi")
        verbose_name_plural = _("suivis")
        ordering = ["-opened_on", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "reference"], name="situation_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(is_nominative=False) | Q(consent_on__isnull=False),
                name="situation_nominative_needs_consent",
                violation_error_message=_("Un suivi nominatif exige un consentement daté."),
            ),
            models.CheckConstraint(
                condition=Q(is_nominative=True) | (Q(names="") & Q(contact="")),
                name="situation_names_only_if_nominative",
                violation_error_message=_("Des noms ne se saisissent que dans un suivi nominatif."),
            ),
        ]
        indexes = [models.Index(fields=["structure", "status"], name="situation_struct_status")]

    def __str__(self) -> str:
        return f"{self.reference} — {self.initials}"


class PartyRole(models.TextChoices):
    REQUESTER = "requester", _("Demandeur")
    OTHER = "other", _("Autre partie")
    INSTITUTION = "institution", _("Institution")


class Party(models.Model):
    situation = models.ForeignKey(Situation, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("rôle"), max_length=12, choices=PartyRole.choices)
    label = models.CharField(
        _("désignation"),
        max_length=80,
        help_text=_("Pseudonyme ou fonction : « voisin du 2e », « bailleur »."),
    )

    class Meta:
        verbose_name = _("partie")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class NextStep(models.Model):
    situation = models.ForeignKey(Situation, on_delete=models.CASCADE, related_name="next_steps")
    # The public identifier used in URLs: never the sequential id (not guessable).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    text = models.CharField(_("prochaine étape"), max_length=200)
    due_on = models.DateField(_("échéance"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="next_steps",
        verbose_name=_("confiée à"),
    )
    done_on = models.DateField(_("faite le"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("prochaine étape")
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.text


class Agreement(models.Model):
    situation = models.ForeignKey(Situation, on_delete=models.CASCADE, related_name="agreements")
    # The public identifier used in URLs: never the sequential id (not guessable).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    text = models.CharField(_("accord"), max_length=300)
    agreed_on = models.DateField(_("conclu le"))
    review_on = models.DateField(_("à vérifier le"))
    held = models.BooleanField(_("tenu"), null=True, blank=True)
    reviewed_on = models.DateField(_("vérifié le"), null=True, blank=True)

    class Meta:
        verbose_name = _("accord")
        ordering = ["agreed_on", "pk"]

    def __str__(self) -> str:
        return self.text


class SituationMeeting(models.Model):
    """A meeting of the follow-up (shuttle, round table…): an intervention of the logbook."""

    situation = models.ForeignKey(Situation, on_delete=models.CASCADE, related_name="meetings")
    intervention = models.OneToOneField(
        "logbook.Intervention", on_delete=models.CASCADE, related_name="situation_meeting"
    )

    class Meta:
        verbose_name = _("rencontre du suivi")
        verbose_name_plural = _("rencontres du suivi")

    def __str__(self) -> str:
        return f"{self.situation.reference} — {self.intervention_id}"


# --- referrals ------------------------------------------------------------------------------


class ReferralStatus(models.TextChoices):
    SENT = "sent", _("Envoyée")
    SEEN = "seen", _("Vue")
    ACCEPTED = "accepted", _("Acceptée")
    REFUSED = "refused", _("Refusée")
    DONE = "done", _("Aboutie")
    EXPIRED = "expired", _("Expirée sans réponse")


#: The referral's status machine: status → statuses it may go to.
REFERRAL_TRANSITIONS: dict[str, set[str]] = {
    ReferralStatus.SENT: {ReferralStatus.SEEN, ReferralStatus.ACCEPTED, ReferralStatus.REFUSED,
                          ReferralStatus.EXPIRED},
    ReferralStatus.SEEN: {ReferralStatus.ACCEPTED, ReferralStatus.REFUSED, ReferralStatus.EXPIRED},
    ReferralStatus.ACCEPTED: {ReferralStatus.DONE, ReferralStatus.EXPIRED},
    ReferralStatus.REFUSED: set(),
    ReferralStatus.DONE: set(),
    ReferralStatus.EXPIRED: set(),
}  # fmt: skip
OPEN_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.SEEN, ReferralStatus.ACCEPTED)


class ReferralResult(models.TextChoices):
    SOLVED = "solved", _("Demande traitée")
    PARTLY = "partly", _("Traitée en partie")
    NOT_SOLVED = "not_solved", _("Non traitée")
    NO_SHOW = "no_show", _("La personne ne s'est pas présentée")


class ReferralQuerySet(StructureScopedQuerySet):
    def visible_to(self, membership):
        """The structure's referrals; a partner sees those addressed to its organisation."""
        if membership is not None and membership.role == Role.PARTNER:
            return self.filter(partner_id=membership.organisation_id)
        return super().visible_to(membership)


class Referral(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="referrals"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.PROTECT, related_name="referrals"
    )
    intervention = models.ForeignKey(
        "logbook.Intervention",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
    )
    situation = models.ForeignKey(
        Situation, on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    partner = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        related_name="referrals_received",
        verbose_name=_("partenaire"),
    )
    theme = models.ForeignKey(
        "referentiel.RequestTheme", on_delete=models.PROTECT, verbose_name=_("thème")
    )
    commune = models.ForeignKey("territories.Territory", on_delete=models.PROTECT, related_name="+")
    person = models.CharField(
        _("personne orientée"),
        max_length=40,
        help_text=_("Initiales ou pseudonyme : le partenaire ne voit que cela."),
    )
    request = models.CharField(
        _("demande"),
        max_length=500,
        help_text=_("Ce dont le partenaire a besoin pour répondre, sans donnée sensible."),
    )
    request_warnings = models.JSONField(default=list, blank=True, editable=False)
    callback = models.CharField(
        _("comment recontacter la personne"),
        max_length=120,
        blank=True,
        help_text=_("Seulement avec l'accord de la personne (téléphone, créneau…)."),
    )
    callback_consent = models.BooleanField(
        _("la personne accepte d'être recontactée"), default=False
    )
    status = models.CharField(
        _("état"), max_length=9, choices=ReferralStatus.choices, default=ReferralStatus.SENT
    )
    refusal_reason = models.CharField(_("motif du refus"), max_length=300, blank=True)
    result = models.CharField(
        _("résultat"), max_length=12, choices=ReferralResult.choices, blank=True
    )
    result_note = models.CharField(_("commentaire du partenaire"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    seen_at = models.DateTimeField(_("vue le"), null=True, blank=True)
    answered_at = models.DateTimeField(_("réponse le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    expires_on = models.DateField(_("expire le"))
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Part of every signed link: changing it revokes the links already sent.
    link_nonce = models.CharField(max_length=32, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("mise en relation")
        verbose_name_plural = _("mises en relation")
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(callback="") | Q(callback_consent=True),
                name="referral_callback_needs_consent",
                violation_error_message=_(
                    "Des coordonnées ne se transmettent qu'avec l'accord de la personne."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["structure", "sent_at"], name="referral_struct_sent"),
            models.Index(fields=["partner", "status"], name="referral_partner_status"),
            models.Index(fields=["status", "expires_on"], name="referral_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"Orientation {self.person} → {self.partner}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFERRAL_STATUSES


# --- dysfunction reports (veille technique) -------------------------------------------------


class ReportCategory(models.TextChoices):
    LIGHTING = "lighting", _("Éclairage")
    WASTE = "waste", _("Propreté, déchets")
    BULKY = "bulky", _("Encombrants")
    LIFT = "lift", _("Ascenseur, parties communes")
    EQUIPMENT = "equipment", _("Équipement dégradé")
    ROADS = "roads", _("Voirie")
    SECURITY = "security", _("Sécurité du bâtiment")
    GREEN = "green", _("Espaces verts")
    OTHER = "other", _("Autre")


class ReportStatus(models.TextChoices):
    UNROUTED = "unrouted", _("À orienter")
    SENT = "sent", _("Transmis")
    ACKNOWLEDGED = "acknowledged", _("Pris en compte")
    RESOLVED = "resolved", _("Résolu")
    REJECTED = "rejected", _("Rejeté")


REPORT_TRANSITIONS: dict[str, set[str]] = {
    ReportStatus.UNROUTED: {ReportStatus.SENT},
    ReportStatus.SENT: {ReportStatus.ACKNOWLEDGED, ReportStatus.RESOLVED, ReportStatus.REJECTED},
    ReportStatus.ACKNOWLEDGED: {ReportStatus.RESOLVED, ReportStatus.REJECTED},
    ReportStatus.RESOLVED: set(),
    ReportStatus.REJECTED: set(),
}
OPEN_REPORT_STATUSES = (ReportStatus.UNROUTED, ReportStatus.SENT, ReportStatus.ACKNOWLEDGED)


class RoutingRule(models.Model):
    """Who is responsible for a category of dysfunction on a territory, as a structure
    knows it: the landlord for its buildings, the city for public space, the transport
    operator for its lines. The most specific matching rule wins."""

    # The public identifier used in URLs: never the sequential id (not guessable).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.CASCADE, related_name="routing_rules"
    )
    category = models.CharField(
        _("catégorie"),
        max_length=12,
        choices=ReportCategory.choices,
        blank=True,
        help_text=_("Vide : toutes les catégories."),
    )
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("territoire"),
    )
    place_type = models.ForeignKey(
        "referentiel.PlaceType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("type de lieu"),
        help_text=_("Vide : tous les lieux."),
    )
    organisation = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        related_name="routing_rules",
        verbose_name=_("destinataire"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = StructureScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("règle d'orientation des signalements")
        verbose_name_plural = _("règles d'orientation des signalements")
        ordering = ["structure", "territory__path", "category"]

    def __str__(self) -> str:
        return f"{self.get_category_display() or 'Tout'} @ {self.territory} → {self.organisation}"


class ReportQuerySet(StructureScopedQuerySet):
    def visible_to(self, membership):
        """The structure's reports; a funder or partner sees those routed to it."""
        if membership is not None and membership.role in (Role.FUNDER, Role.PARTNER):
            return self.filter(routed_to_id=membership.organisation_id)
        return super().visible_to(membership)


class TechnicalReport(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="technical_reports"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.PROTECT, related_name="technical_reports"
    )
    category = models.CharField(_("catégorie"), max_length=12, choices=ReportCategory.choices)
    commune = models.ForeignKey("territories.Territory", on_delete=models.PROTECT, related_name="+")
    qpv = models.ForeignKey(
        "territories.Territory", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    place_type = models.ForeignKey(
        "referentiel.PlaceType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("type de lieu"),
    )
    address = models.CharField(_("adresse ou repère"), max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    description = models.CharField(_("description"), max_length=500)
    description_warnings = models.JSONField(default=list, blank=True, editable=False)
    photo = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    routed_to = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="technical_reports",
        verbose_name=_("transmis à"),
    )
    status = models.CharField(
        _("état"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.UNROUTED
    )
    response = models.CharField(_("réponse du destinataire"), max_length=300, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    reported_at = models.DateTimeField(_("signalé le"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("pris en compte le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("signalement technique")
        verbose_name_plural = _("signalements techniques")
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["structure", "reported_at"], name="report_struct_reported"),
            models.Index(fields=["routed_to", "status"], name="report_routed_status"),
            models.Index(fields=["commune", "category", "status"], name="report_place_cat"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} — {self.commune}"

    @property
    def fix_days(self) -> float | None:
        if self.status != ReportStatus.RESOLVED or self.closed_at is None:
            return None
        return (self.closed_at - self.reported_at).total_seconds() / 86400


# --- social watch (veille sociale) ----------------------------------------------------------


class AlertLevel(models.TextChoices):
    INFO = "info", _("Information")
    VIGILANCE = "vigilance", _("Vigilance")
    ALERT = "alerte", _("Alerte")


class ObservationQuerySet(StructureScopedQuerySet):
    def visible_to(self, membership):
        if membership is not None and membership.role in (Role.FUNDER, Role.PARTNER):
            return self.filter(shared_with=membership.organisation_id)
        return super().visible_to(membership)


class Observation(models.Model):
    """A non-nominative note on the social climate of a sector."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="observations"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.PROTECT, related_name="observations"
    )
    sector = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("secteur"),
        help_text=_("La commune ou le QPV observé."),
    )
    observed_on = models.DateField(_("observé le"), default=timezone.localdate)
    level = models.CharField(_("niveau"), max_length=10, choices=AlertLevel.choices)
    categories = models.ManyToManyField(
        "referentiel.SituationCategory", blank=True, verbose_name=_("situations observées")
    )
    text = models.CharField(_("observation"), max_length=600)
    text_warnings = models.JSONField(default=list, blank=True, editable=False)
    shared_with = models.ManyToManyField(
        "structures.Organisation",
        blank=True,
        related_name="observations_shared",
        verbose_name=_("partagée avec"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ObservationQuerySet.as_manager()

    class Meta:
        verbose_name = _("observation de veille sociale")
        verbose_name_plural = _("observations de veille sociale")
        ordering = ["-observed_on", "-created_at"]
        indexes = [models.Index(fields=["sector", "observed_on"], name="observation_sector_day")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} — {self.sector} — {self.observed_on}"


# --- collective actions ---------------------------------------------------------------------


class CollectiveKind(models.TextChoices):
    AWARENESS = "awareness", _("Sensibilisation, formation")
    CONSULTATION = "consultation", _("Concertation avec les habitants et les institutions")
    PROJECT = "project", _("Facilitation, gestion de projet")
    CULTURAL = "cultural", _("Intermédiation culturelle")


class CollectiveAction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="collective_actions"
    )
    service = models.ForeignKey(
        "structures.Service", on_delete=models.PROTECT, related_name="collective_actions"
    )
    kind = models.CharField(_("type d'action"), max_length=12, choices=CollectiveKind.choices)
    title = models.CharField(_("intitulé"), max_length=150)
    held_on = models.DateField(_("date"))
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=120)
    commune = models.ForeignKey("territories.Territory", on_delete=models.PROTECT, related_name="+")
    qpv = models.ForeignKey(
        "territories.Territory", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    place = models.CharField(_("lieu"), max_length=150, blank=True)
    partners = models.ManyToManyField(
        "structures.Organisation", blank=True, related_name="+", verbose_name=_("partenaires")
    )
    residents = models.PositiveIntegerField(_("habitants"), default=0)
    young_people = models.PositiveIntegerField(_("jeunes, élèves"), default=0)
    professionals = models.PositiveIntegerField(_("professionnels"), default=0)
    institutions = models.PositiveIntegerField(_("élus, institutions"), default=0)
    notes = models.CharField(_("compte rendu"), max_length=600, blank=True)
    notes_warnings = models.JSONField(default=list, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = StructureScopedQuerySet.as_manager()

    AUDIENCES = ("residents", "young_people", "professionals", "institutions")

    class Meta:
        verbose_name = _("action collective")
        verbose_name_plural = _("actions collectives")
        ordering = ["-held_on"]
        indexes = [models.Index(fields=["structure", "held_on"], name="collective_struct_day")]

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on:%d/%m/%Y})"

    @property
    def participants(self) -> int:
        return sum(getattr(self, name) for name in self.AUDIENCES)
