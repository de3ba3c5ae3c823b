"""Regional steering: framework agreements, experiments, steering meetings and their
decisions, and the reports generated for a period (biannual report, funder activity report).

A **FrameworkAgreement** (convention-cadre) covers a territory for a period, with a target of
jobs created and consolidated and targets for indicators. An **Experiment** is a pooled-job
model tried on a site. A **SteeringMeeting** records its participants and **Decision**s, each
with an owner and a due date, reviewed at the next meeting. A **Report** is a PDF and an XLSX
workbook built in the background from the same sections.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lien.core.models import Role
from lien.core.validators import reject_markup


class SteeringQuerySet(models.QuerySet):
    """Steering members see the rows whose territory (reached by `territory_path`) lies
    inside theirs; administrators see all; no one else sees any."""

    territory_path = "territory"

    def visible_to(self, membership):
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role == Role.STEERING:
            return self.filter(
                **{f"{self.territory_path}__ancestor_links__ancestor": membership.territory_id}
            ).distinct()
        return self.none()


class FrameworkAgreement(models.Model):
    """A regional framework agreement (convention-cadre) and its job target."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("intitulé"), max_length=200, validators=[reject_markup])
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="framework_agreements",
        verbose_name=_("territoire"),
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"))
    signatories = models.ManyToManyField(
        "structures.Organisation",
        blank=True,
        related_name="framework_agreements",
        verbose_name=_("signataires"),
    )
    other_signatories = models.CharField(
        _("autres signataires"),
        max_length=500,
        blank=True,
        validators=[reject_markup],
        help_text=_("Signataires sans compte dans Lien, séparés par des virgules."),
    )
    job_target = models.PositiveIntegerField(
        _("objectif d'emplois créés et consolidés"),
        help_text=_("Par exemple 3 000 pour la convention Nord-Pas de Calais 2013–2015."),
    )
    objectives = models.TextField(_("objectifs"), blank=True, validators=[reject_markup])
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = SteeringQuerySet.as_manager()

    class Meta:
        verbose_name = _("convention-cadre")
        verbose_name_plural = _("conventions-cadres")
        ordering = ["-starts_on", "title"]
        constraints = [
            models.CheckConstraint(
                name="steering_agreement_ends_after_start",
                condition=Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de la convention doit suivre son début."),
            ),
            models.CheckConstraint(
                name="steering_agreement_target_positive",
                condition=Q(job_target__gt=0),
                violation_error_message=_("L'objectif d'emplois est un nombre positif."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgreementTarget(models.Model):
    """A target an agreement sets for one indicator over its period."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(
        FrameworkAgreement, on_delete=models.CASCADE, related_name="targets"
    )
    indicator = models.ForeignKey(
        "indicators.IndicatorDefinition",
        on_delete=models.PROTECT,
        related_name="agreement_targets",
        verbose_name=_("indicateur"),
    )
    value = models.DecimalField(_("cible"), max_digits=14, decimal_places=2)
    note = models.CharField(_("précision"), max_length=300, blank=True, validators=[reject_markup])

    class Meta:
        verbose_name = _("cible d'indicateur")
        verbose_name_plural = _("cibles d'indicateurs")
        ordering = ["indicator__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "indicator"],
                name="steering_target_one_per_indicator",
                violation_error_message=_("Cet indicateur a déjà une cible dans la convention."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator} : {self.value}"


class PoolingModel(models.TextChoices):
    EMPLOYERS_GROUP = "employers_group", _("groupement d'employeurs")
    SECONDMENT = "secondment", _("mise à disposition entre structures")
    ASSEMBLER = "assembler", _("portage par un assemblier (PIMMS, PSPE)")
    SHARED_FUNDING = "shared_funding", _("cofinancement d'un poste par plusieurs commanditaires")
    OTHER = "other", _("autre")


class ExperimentStatus(models.TextChoices):
    PLANNED = "planned", _("en préparation")
    RUNNING = "running", _("en cours")
    EVALUATED = "evaluated", _("évaluée")
    EXTENDED = "extended", _("essaimée ou généralisée")
    STOPPED = "stopped", _("arrêtée")


class Experiment(models.Model):
    """A pooled-job model tried on a site (expérimentation)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(
        FrameworkAgreement,
        on_delete=models.PROTECT,
        related_name="experiments",
        verbose_name=_("convention-cadre"),
    )
    name = models.CharField(_("nom"), max_length=200, validators=[reject_markup])
    site = models.CharField(
        _("site"),
        max_length=200,
        validators=[reject_markup],
        help_text=_("Quartier, équipement ou ligne où l'expérimentation a lieu."),
    )
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        related_name="experiments",
        verbose_name=_("territoire"),
    )
    pooling_model = models.CharField(
        _("modèle d'emploi mutualisé"), max_length=20, choices=PoolingModel.choices
    )
    structures = models.ManyToManyField(
        "structures.Structure",
        blank=True,
        related_name="experiments",
        verbose_name=_("structures engagées"),
    )
    funders = models.ManyToManyField(
        "structures.Organisation",
        blank=True,
        related_name="experiments",
        verbose_name=_("financeurs"),
    )
    stage = models.ForeignKey(
        "referentiel.ProjectStage", on_delete=models.PROTECT, verbose_name=_("stade du projet")
    )
    status = models.CharField(
        _("état"), max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.PLANNED
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    notes = models.TextField(_("enseignements"), blank=True, validators=[reject_markup])

    objects = SteeringQuerySet.as_manager()

    class Meta:
        verbose_name = _("expérimentation")
        verbose_name_plural = _("expérimentations")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                name="steering_experiment_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin doit suivre le début."),
            ),
            models.CheckConstraint(
                name="steering_experiment_status_valid",
                condition=Q(status__in=ExperimentStatus.values),
            ),
            models.CheckConstraint(
                name="steering_experiment_model_valid",
                condition=Q(pooling_model__in=PoolingModel.values),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from lien.territories.models import TerritoryAncestor

        if (
            self.agreement_id
            and self.territory_id
            and not TerritoryAncestor.objects.filter(
                ancestor_id=self.agreement.territory_id, descendant_id=self.territory_id
            ).exists()
        ):
            raise ValidationError(
                {"territory": _("Le site est hors du territoire de la convention-cadre.")}
            )


class MeetingKind(models.TextChoices):
    STEERING = "steering", _("comité de pilotage")
    TECHNICAL = "technical", _("comité technique")
    WORKING_GROUP = "working_group", _("groupe de travail")


class MeetingQuerySet(SteeringQuerySet):
    territory_path = "agreement__territory"


class SteeringMeeting(models.Model):
    """A meeting of the steering committee (twice a year in the seeds) or of a working group."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(
        FrameworkAgreement,
        on_delete=models.PROTECT,
        related_name="meetings",
        verbose_name=_("convention-cadre"),
    )
    held_on = models.DateField(_("date"))
    kind = models.CharField(
        _("instance"), max_length=15, choices=MeetingKind.choices, default=MeetingKind.STEERING
    )
    participants = models.ManyToManyField(
        "structures.Organisation",
        blank=True,
        related_name="steering_meetings",
        verbose_name=_("organisations représentées"),
    )
    other_participants = models.CharField(
        _("autres participants"), max_length=500, blank=True, validators=[reject_markup]
    )
    summary = models.TextField(_("relevé de conclusions"), blank=True, validators=[reject_markup])
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("réunion de pilotage")
        verbose_name_plural = _("réunions de pilotage")
        ordering = ["-held_on"]
        constraints = [
            models.CheckConstraint(
                name="steering_meeting_kind_valid", condition=Q(kind__in=MeetingKind.values)
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} du {self.held_on:%d/%m/%Y}"

    def previous(self):
        """The meeting of the same agreement and kind just before this one."""
        return (
            SteeringMeeting.objects.filter(
                agreement_id=self.agreement_id, kind=self.kind, held_on__lt=self.held_on
            )
            .order_by("-held_on")
            .first()
        )


class DecisionStatus(models.TextChoices):
    OPEN = "open", _("à faire")
    DONE = "done", _("réalisée")
    DROPPED = "dropped", _("abandonnée")


class Decision(models.Model):
    """A decision taken in a meeting, with who carries it and by when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(
        SteeringMeeting,
        on_delete=models.CASCADE,
        related_name="decisions",
        verbose_name=_("réunion"),
    )
    text = models.CharField(_("décision"), max_length=500, validators=[reject_markup])
    owner = models.CharField(
        _("porteur"),
        max_length=200,
        validators=[reject_markup],
        help_text=_("L'organisation ou la fonction qui la porte (pas de nom de personne)."),
    )
    due_on = models.DateField(_("échéance"), null=True, blank=True)
    status = models.CharField(
        _("suivi"), max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    follow_up = models.CharField(
        _("point d'avancement"), max_length=500, blank=True, validators=[reject_markup]
    )
    closed_on = models.DateField(_("close le"), null=True, blank=True)

    class Meta:
        verbose_name = _("décision")
        verbose_name_plural = _("décisions")
        ordering = ["due_on", "text"]
        constraints = [
            models.CheckConstraint(
                name="steering_decision_status_valid", condition=Q(status__in=DecisionStatus.values)
            ),
            models.CheckConstraint(
                name="steering_decision_closed_when_not_open",
                condition=Q(status=DecisionStatus.OPEN, closed_on__isnull=True)
                | (~Q(status=DecisionStatus.OPEN) & Q(closed_on__isnull=False)),
                violation_error_message=_("Une décision close a une date de clôture."),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_late(self) -> bool:
        return (
            self.status == DecisionStatus.OPEN
            and self.due_on is not None
            and self.due_on < timezone.localdate()
        )


# --- generated reports ---------------------------------------------------------------------


class ReportKind(models.TextChoices):
    BIANNUAL = "biannual", _("bilan semestriel du comité de pilotage")
    FUNDER = "funder", _("bilan d'activité pour un financeur")


class ReportState(models.TextChoices):
    QUEUED = "queued", _("en attente")
    RUNNING = "running", _("en cours")
    DONE = "done", _("prêt")
    FAILED = "failed", _("échec")


class ReportQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """Biannual reports: the steering members of a territory containing the report's,
        and administrators. Funder reports: the coordination of the structure whose service
        it describes, and administrators."""
        if membership is None:
            return self.none()
        role = membership.role
        if role == Role.ADMIN:
            return self
        if role == Role.STEERING:
            return self.filter(
                kind=ReportKind.BIANNUAL,
                territory__ancestor_links__ancestor=membership.territory_id,
            ).distinct()
        if role == Role.COORDINATOR:
            return self.filter(
                kind=ReportKind.FUNDER, service__structure_id=membership.structure_id
            )
        return self.none()


class Report(models.Model):
    """One generated report: its perimeter, its period, its progress and its files."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("nature"), max_length=10, choices=ReportKind.choices)
    start = models.DateField(_("premier mois"))
    end = models.DateField(_("dernier mois"))
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("territoire"),
    )
    agreement = models.ForeignKey(
        FrameworkAgreement,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("convention-cadre"),
    )
    service = models.ForeignKey(
        "structures.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("dispositif"),
    )
    funder = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("financeur destinataire"),
    )
    requested_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(
        _("état"), max_length=10, choices=ReportState.choices, default=ReportState.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    step = models.CharField(_("étape"), max_length=200, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="reports/%Y/%m/", blank=True)
    xlsx = models.FileField(_("classeur XLSX"), upload_to="reports/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("rapport")
        verbose_name_plural = _("rapports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="steering_report_perimeter",
                condition=Q(kind=ReportKind.BIANNUAL, territory__isnull=False, service__isnull=True)
                | Q(kind=ReportKind.FUNDER, service__isnull=False, funder__isnull=False),
                violation_error_message=_(
                    "Un bilan semestriel porte sur un territoire ; un bilan d'activité sur un "
                    "dispositif et un financeur."
                ),
            ),
            models.CheckConstraint(
                name="steering_report_period", condition=Q(end__gte=models.F("start"))
            ),
            models.CheckConstraint(name="steering_report_progress", condition=Q(progress__lte=100)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.start:%m/%Y} à {self.end:%m/%Y}"

    @property
    def is_running(self) -> bool:
        return self.state in (ReportState.QUEUED, ReportState.RUNNING)
