"""Evaluation of social utility (CITER 2009 reference): per service and period.

An **Evaluation** covers one service (dispositif) over a period. For each of the five
CITER registers (`referentiel.UtilityRegister`) it holds a **SelfAssessment** (a level
from 1 to 4 with its evidence) and may hold **AvoidedCostEstimate**s, always shown with
their assumptions. A **Survey** (enquête de satisfaction) asks one audience of a service a
fixed set of 1–5 questions, each attached to a register, through a public link; its
**SurveyResponse**s are anonymous: no account, no IP address, no time of day — the date
only, and a random identifier so that not even the row order says who answered first.
"""

import secrets
import uuid

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lien.core.models import Role
from lien.core.validators import reject_markup

EVIDENCE_MAX = 2000
COMMENT_MAX = 1000


def _service_scope(membership):
    """The services a membership may see evaluations of (lien.structures' own rule)."""
    from lien.structures.models import Service

    return Service.objects.visible_to(membership).values("pk")


class EvaluationState(models.TextChoices):
    DRAFT = "draft", _("brouillon")
    FINAL = "final", _("finalisée")


class AssessmentLevel(models.IntegerChoices):
    """The self-assessment scale of a register (1 to 4)."""

    WEAK = 1, _("1 — à construire")
    PARTIAL = 2, _("2 — en progrès")
    GOOD = 3, _("3 — atteint")
    STRONG = 4, _("4 — remarquable")


class Audience(models.TextChoices):
    RESIDENTS = "residents", _("habitants et usagers")
    PARTNERS = "partners", _("partenaires")
    COMMISSIONERS = "commissioners", _("commanditaires")
    MEDIATORS = "mediators", _("médiateur·rices")


class Likert(models.IntegerChoices):
    STRONGLY_DISAGREE = 1, _("Pas du tout d'accord")
    DISAGREE = 2, _("Plutôt pas d'accord")
    NEUTRAL = 3, _("Ni d'accord ni pas d'accord")
    AGREE = 4, _("Plutôt d'accord")
    STRONGLY_AGREE = 5, _("Tout à fait d'accord")


#: The fixed questions of every survey: (answer field, CITER register code, wording).
#: Each one feeds the register it documents; the economic register has avoided costs.
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "q_cohesion",
        "cohesion-sociale",
        _("La médiation renforce le lien entre les habitants, et avec les institutions."),
    ),
    (
        "q_tranquillity",
        "tranquillite-publique",
        _("La médiation aide à apaiser les conflits et les tensions du quotidien."),
    ),
    (
        "q_innovation",
        "innovation-apprentissage",
        _("La médiation apporte des réponses nouvelles ou fait évoluer les façons de faire."),
    ),
    (
        "q_recognition",
        "reconnaissance",
        _("Les médiateur·rices sont connu·es, disponibles et à l'écoute."),
    ),
)
QUESTION_FIELDS = tuple(name for name, _register, _label in QUESTIONS)
LIKERT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class EvaluationQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The evaluations of the services the membership sees: its structure's, drafts
        included (members); the *final* ones of the services it commissions (funders) or of
        its territory (steering) — a draft is the structure's work in progress; all for
        administrators; none for partners."""
        if membership is None or membership.role == Role.PARTNER:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        visible = self.filter(service_id__in=_service_scope(membership))
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return visible
        return visible.filter(state=EvaluationState.FINAL)

    def overlapping(self, start, end):
        return self.filter(starts_on__lte=end, ends_on__gte=start)


class Evaluation(models.Model):
    """The evaluation of one service's social utility over a period."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(
        "structures.Service",
        on_delete=models.PROTECT,
        related_name="evaluations",
        verbose_name=_("dispositif"),
    )
    starts_on = models.DateField(_("début de la période"))
    ends_on = models.DateField(_("fin de la période"))
    state = models.CharField(
        _("état"), max_length=10, choices=EvaluationState.choices, default=EvaluationState.DRAFT
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        verbose_name = _("évaluation de l'utilité sociale")
        verbose_name_plural = _("évaluations de l'utilité sociale")
        ordering = ["-starts_on", "service__name", "pk"]
        constraints = [
            models.CheckConstraint(
                name="evaluation_ends_after_start",
                condition=Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de la période doit suivre son début."),
            ),
            models.UniqueConstraint(
                fields=["service", "starts_on", "ends_on"],
                name="evaluation_one_per_service_period",
                violation_error_message=_(
                    "Une évaluation de ce dispositif existe déjà pour cette période."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} — {self.starts_on:%d/%m/%Y} au {self.ends_on:%d/%m/%Y}"

    @property
    def structure_id(self):
        return self.service.structure_id

    @property
    def is_final(self) -> bool:
        return self.state == EvaluationState.FINAL


class SelfAssessment(models.Model):
    """The structure's own judgement on one CITER register, with its evidence."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="assessments")
    register = models.ForeignKey(
        "referentiel.UtilityRegister", on_delete=models.PROTECT, verbose_name=_("registre CITER")
    )
    level = models.PositiveSmallIntegerField(
        _("niveau"),
        choices=AssessmentLevel.choices,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    evidence = models.TextField(
        _("éléments de preuve"),
        max_length=EVIDENCE_MAX,
        blank=True,
        validators=[MaxLengthValidator(EVIDENCE_MAX), reject_markup],
    )

    class Meta:
        verbose_name = _("auto-évaluation")
        verbose_name_plural = _("auto-évaluations")
        ordering = ["register__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "register"], name="self_assessment_one_per_register"
            ),
            models.CheckConstraint(
                name="self_assessment_level_1_to_4", condition=Q(level__gte=1, level__lte=4)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.register} : {self.get_level_display()}"


class AvoidedCostEstimate(models.Model):
    """An avoided cost: quantity × unit cost, never shown without its assumptions.

    The quantity is either an indicator's value for the evaluation's service and period
    (computed when shown, so it follows the data) or a number typed with its source.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="avoided_costs"
    )
    register = models.ForeignKey(
        "referentiel.UtilityRegister", on_delete=models.PROTECT, verbose_name=_("registre CITER")
    )
    label = models.CharField(_("libellé"), max_length=200, validators=[reject_markup])
    assumptions = models.TextField(
        _("hypothèses"),
        max_length=EVIDENCE_MAX,
        validators=[MaxLengthValidator(EVIDENCE_MAX), reject_markup],
        help_text=_("Sources du coût unitaire, de la quantité, et limites de l'estimation."),
    )
    unit_cost = models.DecimalField(
        _("coût unitaire évité (€)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    indicator = models.ForeignKey(
        "indicators.IndicatorDefinition",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("quantité : indicateur"),
    )
    manual_quantity = models.DecimalField(
        _("quantité saisie"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("estimation de coûts évités")
        verbose_name_plural = _("estimations de coûts évités")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="avoided_cost_one_quantity_basis",
                condition=(
                    Q(indicator__isnull=False, manual_quantity__isnull=True)
                    | Q(indicator__isnull=True, manual_quantity__isnull=False)
                ),
                violation_error_message=_(
                    "Choisissez un indicateur ou saisissez une quantité, pas les deux."
                ),
            ),
            models.CheckConstraint(
                name="avoided_cost_assumptions_required", condition=~Q(assumptions="")
            ),
        ]

    def __str__(self) -> str:
        return self.label


class SurveyQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """Surveys (and their answers) are read by the structure's members and the
        administrators; outside the structure only the evaluation's aggregates are shown."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(service__structure_id=membership.structure_id)
        return self.none()


def new_survey_token() -> str:
    return secrets.token_urlsafe(24)


class Survey(models.Model):
    """A satisfaction survey of one audience of a service, answered through a public link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(
        "structures.Service",
        on_delete=models.PROTECT,
        related_name="surveys",
        verbose_name=_("dispositif"),
    )
    audience = models.CharField(_("public interrogé"), max_length=15, choices=Audience.choices)
    title = models.CharField(_("titre"), max_length=200, validators=[reject_markup])
    opens_on = models.DateField(_("ouverture"))
    closes_on = models.DateField(_("clôture"))
    token = models.CharField(
        _("jeton du lien public"), max_length=64, unique=True, default=new_survey_token
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        verbose_name = _("enquête de satisfaction")
        verbose_name_plural = _("enquêtes de satisfaction")
        ordering = ["-opens_on", "title", "pk"]
        constraints = [
            models.CheckConstraint(
                name="survey_closes_after_opening",
                condition=Q(closes_on__gte=models.F("opens_on")),
                violation_error_message=_("La clôture doit suivre l'ouverture."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def structure_id(self):
        return self.service.structure_id

    def is_open_on(self, day) -> bool:
        return self.opens_on <= day <= self.closes_on


class SurveyResponse(models.Model):
    """One anonymous answer: the date (no time), the 1–5 answers and an optional comment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    answered_on = models.DateField(_("date de réponse"))
    q_cohesion = models.PositiveSmallIntegerField(
        choices=Likert.choices, validators=LIKERT_VALIDATORS
    )
    q_tranquillity = models.PositiveSmallIntegerField(
        choices=Likert.choices, validators=LIKERT_VALIDATORS
    )
    q_innovation = models.PositiveSmallIntegerField(
        choices=Likert.choices, validators=LIKERT_VALIDATORS
    )
    q_recognition = models.PositiveSmallIntegerField(
        choices=Likert.choices, validators=LIKERT_VALIDATORS
    )
    comment = models.TextField(
        _("commentaire"),
        max_length=COMMENT_MAX,
        blank=True,
        validators=[MaxLengthValidator(COMMENT_MAX), reject_markup],
    )

    class Meta:
        verbose_name = _("réponse à une enquête")
        verbose_name_plural = _("réponses aux enquêtes")
        ordering = ["answered_on"]
        constraints = [
            models.CheckConstraint(
                name="survey_response_answers_1_to_5",
                condition=Q(
                    q_cohesion__range=(1, 5),
                    q_tranquillity__range=(1, 5),
                    q_innovation__range=(1, 5),
                    q_recognition__range=(1, 5),
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} — {self.answered_on:%d/%m/%Y}"
