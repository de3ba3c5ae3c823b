"""Posts, the mediators who hold them, their contracts, and the funding lines behind them.

A **Post** (poste) belongs to the structure that employs (carries) it; a *pooled* post
(emploi mutualisé) is carried by one employer for several beneficiary structures, with
shares of time (`PostShare`) that add up to 100 %. A **Mediator** is the person employed,
with as little personal data as the job needs: only the employer sees it. A **Contract**
links a mediator to a post; adulte-relais contracts follow the rules of their 3-year
agreement. A **Funding** line pays for one post, one service or the whole structure.
"""

import datetime
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lien.core.models import Role

#: The référentiel code of the adulte-relais contract type (lien/referentiel/fixtures).
ADULTE_RELAIS = "adulte-relais"
#: An adulte-relais contract is at least half time.
ADULTE_RELAIS_MIN_FTE = Decimal("0.5")
#: An adulte-relais agreement (convention) lasts at most 3 years, renewable.
ADULTE_RELAIS_AGREEMENT_YEARS = 3

FTE_VALIDATORS = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))]
PERCENT_VALIDATORS = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))]


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` later (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class RomeCode(models.TextChoices):
    MEDIATION = "K1204", _("K1204 — Médiation sociale et facilitation de la vie en société")
    SOCIAL_INFORMATION = "K1205", _("K1205 — Information sociale")


class PostStatus(models.TextChoices):
    OPEN = "open", _("ouvert (à pourvoir)")
    FILLED = "filled", _("pourvu")
    FROZEN = "frozen", _("gelé")
    CLOSED = "closed", _("fermé")


class QualificationLevel(models.TextChoices):
    NONE = "none", _("sans diplôme")
    LEVEL_3 = "level_3", _("niveau 3 (CAP, BEP)")
    LEVEL_4 = "level_4", _("niveau 4 (bac, titre professionnel de médiateur social)")
    LEVEL_5 = "level_5", _("niveau 5 (bac + 2, DEJEPS…)")
    LEVEL_6 = "level_6", _("niveau 6 et plus (licence et au-delà)")


class EndReason(models.TextChoices):
    TERM = "term", _("terme du contrat")
    RESIGNATION = "resignation", _("démission")
    MUTUAL_AGREEMENT = "mutual_agreement", _("rupture conventionnelle")
    DISMISSAL = "dismissal", _("licenciement")
    TRIAL_PERIOD = "trial_period", _("fin de période d'essai")
    OTHER = "other", _("autre")


class ExitOutcome(models.TextChoices):
    """Where a person goes at the end of an aided contract (sortie de contrat aidé)."""

    PERMANENT_JOB = "permanent_job", _("emploi durable (CDI)")
    JOB_ELSEWHERE = "job_elsewhere", _("emploi dans une autre structure")
    QUALIFYING_TRAINING = "qualifying_training", _("formation qualifiante")
    UNEMPLOYMENT = "unemployment", _("recherche d'emploi")
    OTHER = "other", _("autre")


class PostQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """Employer's members see its posts; a beneficiary structure of a pooled post sees
        that post; a funder the posts it funds by a funding line; administrators all.
        Partners and steering see no post (steering gets aggregates only)."""
        if membership is None:
            return self.none()
        role = membership.role
        if role == Role.ADMIN:
            return self
        if role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(
                Q(structure_id=membership.structure_id)
                | Q(
                    pk__in=PostShare.objects.filter(beneficiary_id=membership.structure_id).values(
                        "post_id"
                    )
                )
            )
        if role == Role.FUNDER:
            return self.filter(
                pk__in=Funding.objects.filter(
                    funder_id=membership.organisation_id, post__isnull=False
                ).values("post_id")
            )
        return self.none()

    def of_structures(self, structure_ids):
        return self.filter(structure_id__in=structure_ids)


class Post(models.Model):
    """A job of a structure, counted in full-time equivalents."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="posts",
        verbose_name=_("structure employeuse"),
    )
    service = models.ForeignKey(
        "structures.Service",
        on_delete=models.PROTECT,
        related_name="posts",
        verbose_name=_("dispositif"),
    )
    title = models.CharField(
        _("intitulé (emploi repère)"),
        max_length=150,
        help_text=_(
            "Par exemple : médiateur·rice social·e, agent·e d'ambiance, correspondant·e "
            "de nuit, coordinateur·rice."
        ),
    )
    rome_code = models.CharField(
        _("code ROME"), max_length=5, choices=RomeCode.choices, default=RomeCode.MEDIATION
    )
    fte = models.DecimalField(
        _("ETP"),
        max_digits=3,
        decimal_places=2,
        validators=FTE_VALIDATORS,
        help_text=_("Équivalent temps plein, de 0,01 à 1."),
    )
    status = models.CharField(
        _("état"), max_length=10, choices=PostStatus.choices, default=PostStatus.OPEN
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    # The end of funding the coordination was last warned about (once per end date: a new
    # line that moves the end makes a later warning possible).
    funding_alert_for = models.DateField(
        _("alerte de financement envoyée pour le"), null=True, blank=True, editable=False
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("poste")
        verbose_name_plural = _("postes")
        ordering = ["title", "created_at"]
        indexes = [models.Index(fields=["structure", "status"], name="jobs_post_structure_idx")]
        constraints = [
            models.CheckConstraint(
                name="jobs_post_fte_range",
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                violation_error_message=_("Un poste compte entre 0,01 et 1 ETP."),
            ),
            models.CheckConstraint(
                name="jobs_post_rome_code_valid",
                condition=Q(rome_code__in=RomeCode.values),
            ),
            models.CheckConstraint(
                name="jobs_post_status_valid", condition=Q(status__in=PostStatus.values)
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        if self.service_id and self.structure_id:
            from lien.structures.models import Service

            owner = Service.objects.filter(pk=self.service_id).values_list("structure_id").first()
            if owner and owner[0] != self.structure_id:
                raise ValidationError(
                    {"service": _("Ce dispositif relève d'une autre structure que le poste.")}
                )


class PostShare(models.Model):
    """The share of a pooled post's time given to one beneficiary structure."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="shares", verbose_name=_("poste")
    )
    beneficiary = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="post_shares",
        verbose_name=_("structure bénéficiaire"),
    )
    share = models.DecimalField(
        _("part du temps (%)"), max_digits=5, decimal_places=2, validators=PERCENT_VALIDATORS
    )

    class Meta:
        verbose_name = _("part d'un poste mutualisé")
        verbose_name_plural = _("parts des postes mutualisés")
        ordering = ["-share"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "beneficiary"],
                name="jobs_share_one_per_beneficiary",
                violation_error_message=_("Une structure bénéficiaire n'a qu'une part du poste."),
            ),
            models.CheckConstraint(
                name="jobs_share_percent_range",
                condition=Q(share__gt=0) & Q(share__lte=100),
                violation_error_message=_("Une part est comprise entre 0,01 et 100 %."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.share} %"


class MediatorQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The people employed are seen by their own structure only (and administrators)."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(structure_id=membership.structure_id)
        return self.none()


class Mediator(models.Model):
    """A person employed by a structure. Minimal personal data, never shown outside it."""

    #: Personal fields: masked in the journal, absent from every funder's page.
    NOMINATIVE_FIELDS = ("first_name", "last_name", "birth_year", "user_id")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="mediators",
        verbose_name=_("structure employeuse"),
    )
    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100)
    user = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mediator_records",
        verbose_name=_("compte Lien"),
    )
    birth_year = models.PositiveSmallIntegerField(
        _("année de naissance"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1940), MaxValueValidator(2015)],
    )
    qualification_level = models.CharField(
        _("niveau de qualification"),
        max_length=10,
        choices=QualificationLevel.choices,
        default=QualificationLevel.NONE,
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = MediatorQuerySet.as_manager()

    class Meta:
        verbose_name = _("médiateur·rice employé·e")
        verbose_name_plural = _("médiateur·rices employé·es")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "user"],
                condition=Q(user__isnull=False),
                name="jobs_mediator_one_per_account",
                violation_error_message=_("Ce compte est déjà lié à une personne employée."),
            ),
            models.CheckConstraint(
                name="jobs_mediator_qualification_valid",
                condition=Q(qualification_level__in=QualificationLevel.values),
            ),
        ]

    def __str__(self) -> str:
        # Not the name: str() lands in the journal's object label.
        return f"Médiateur·rice {str(self.pk)[:8]}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ContractQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """Contracts name a person: the employer's members only (and administrators)."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(post__structure_id=membership.structure_id)
        return self.none()

    def adulte_relais(self):
        return self.filter(contract_type__code=ADULTE_RELAIS)


class Contract(models.Model):
    """A mediator's contract on a post, and how it ended (exit of an aided contract)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mediator = models.ForeignKey(
        Mediator, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("personne")
    )
    post = models.ForeignKey(
        Post, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("poste")
    )
    contract_type = models.ForeignKey(
        "referentiel.ContractType", on_delete=models.PROTECT, verbose_name=_("type de contrat")
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    fte = models.DecimalField(_("ETP"), max_digits=3, decimal_places=2, validators=FTE_VALIDATORS)
    # The adulte-relais agreement (convention) the contract belongs to: 3 years, renewable.
    agreement_starts_on = models.DateField(_("début de la convention"), null=True, blank=True)
    agreement_ends_on = models.DateField(_("fin de la convention"), null=True, blank=True)
    end_reason = models.CharField(
        _("motif de fin"), max_length=20, choices=EndReason.choices, blank=True
    )
    exit_outcome = models.CharField(
        _("sortie du contrat aidé"),
        max_length=20,
        choices=ExitOutcome.choices,
        blank=True,
        help_text=_("Pour un contrat aidé terminé : ce que la personne fait ensuite."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contrat")
        verbose_name_plural = _("contrats")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                name="jobs_contract_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin du contrat doit suivre son début."),
            ),
            models.CheckConstraint(
                name="jobs_contract_fte_range",
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                violation_error_message=_("Un contrat compte entre 0,01 et 1 ETP."),
            ),
            models.CheckConstraint(
                name="jobs_contract_agreement_dates",
                condition=Q(agreement_ends_on__isnull=True)
                | Q(agreement_starts_on__isnull=True)
                | Q(agreement_ends_on__gte=models.F("agreement_starts_on")),
                violation_error_message=_("La fin de la convention doit suivre son début."),
            ),
            models.CheckConstraint(
                name="jobs_contract_exit_needs_end",
                condition=Q(exit_outcome="") | Q(ends_on__isnull=False),
                violation_error_message=_("Une sortie se note sur un contrat terminé."),
            ),
        ]

    def __str__(self) -> str:
        return f"Contrat {str(self.pk)[:8]}"

    @property
    def is_adulte_relais(self) -> bool:
        return self.contract_type_id is not None and self.contract_type.code == ADULTE_RELAIS

    def clean(self):
        errors: dict[str, list[str]] = {}

        def add(name, message):
            errors.setdefault(name, []).append(message)

        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            add("ends_on", _("La fin du contrat doit suivre son début."))
        if (
            self.mediator_id
            and self.post_id
            and self.mediator.structure_id != self.post.structure_id
        ):
            add("mediator", _("Cette personne n'est pas employée par la structure du poste."))
        if self.end_reason and not self.ends_on:
            add("end_reason", _("Un motif de fin se note avec la date de fin."))
        if self.exit_outcome:
            if not self.ends_on:
                add("exit_outcome", _("Une sortie se note sur un contrat terminé (date de fin)."))
            elif self.contract_type_id and not self.contract_type.is_aided:
                add("exit_outcome", _("Les sorties ne se suivent que pour les contrats aidés."))
        if self.contract_type_id:
            if self.is_adulte_relais:
                self._clean_adulte_relais(add)
            elif self.agreement_starts_on or self.agreement_ends_on:
                add(
                    "agreement_starts_on",
                    _("La convention ne se renseigne que pour un contrat adulte-relais."),
                )
        if errors:
            raise ValidationError(errors)

    def _clean_adulte_relais(self, add) -> None:
        """The adulte-relais rules: half time at least, inside a 3-year agreement, one
        agreement (one contract at a time) per post."""
        if self.fte is not None and self.fte < ADULTE_RELAIS_MIN_FTE:
            add("fte", _("Un contrat adulte-relais est au moins à mi-temps (0,5 ETP)."))
        starts, ends = self.agreement_starts_on, self.agreement_ends_on
        if starts is None:
            add(
                "agreement_starts_on",
                _(
                    "Un contrat adulte-relais relève d'une convention : "
                    "indiquez le début de la convention."
                ),
            )
        if ends is None:
            add(
                "agreement_ends_on",
                _(
                    "Un contrat adulte-relais relève d'une convention : "
                    "indiquez la fin de la convention."
                ),
            )
        if self.ends_on is None:
            add(
                "ends_on",
                _(
                    "Un contrat adulte-relais a une date de fin, au plus tard celle "
                    "de la convention."
                ),
            )
        if starts and ends:
            latest = add_years(starts, ADULTE_RELAIS_AGREEMENT_YEARS) - datetime.timedelta(days=1)
            if ends > latest:
                add(
                    "agreement_ends_on",
                    _(
                        "Une convention adulte-relais dure 3 ans au plus : elle finit au plus "
                        "tard le %(date)s (renouvelez-la ensuite)."
                    )
                    % {"date": latest.strftime("%d/%m/%Y")},
                )
            if self.starts_on and self.starts_on < starts:
                add("starts_on", _("Le contrat commence avant la convention adulte-relais."))
            if self.ends_on and self.ends_on > ends:
                add(
                    "ends_on",
                    _(
                        "Le contrat finit après la convention adulte-relais : "
                        "renouvelez la convention."
                    ),
                )
        if self.post_id and self.starts_on:
            overlapping = (
                Contract.objects.adulte_relais()
                .filter(post_id=self.post_id)
                .exclude(pk=self.pk)
                .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=self.starts_on))
            )
            if self.ends_on:
                overlapping = overlapping.filter(starts_on__lte=self.ends_on)
            if overlapping.exists():
                add(
                    "starts_on",
                    _(
                        "Ce poste a déjà un contrat adulte-relais sur cette période : "
                        "un poste, une convention."
                    ),
                )


class FundingQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The holder's members, the beneficiaries of a funded pooled post, the funder of
        the line, administrators. Partners and steering: none (aggregates later)."""
        if membership is None:
            return self.none()
        role = membership.role
        if role == Role.ADMIN:
            return self
        if role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(
                Q(holder_id=membership.structure_id)
                | Q(
                    post_id__in=PostShare.objects.filter(
                        beneficiary_id=membership.structure_id
                    ).values("post_id")
                )
            )
        if role == Role.FUNDER:
            return self.filter(funder_id=membership.organisation_id)
        return self.none()


class Funding(models.Model):
    """One funding line: who pays how much, under which program, for what, when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The structure whose line it is (the employer of the post, the owner of the service).
    holder = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="funding_lines",
        verbose_name=_("structure financée"),
    )
    funder = models.ForeignKey(
        "structures.Organisation",
        on_delete=models.PROTECT,
        related_name="funding_lines",
        verbose_name=_("financeur"),
    )
    program = models.ForeignKey(
        "referentiel.FundingProgram",
        on_delete=models.PROTECT,
        verbose_name=_("programme de financement"),
    )
    amount = models.DecimalField(
        _("montant (€)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    starts_on = models.DateField(_("début de la période"))
    ends_on = models.DateField(_("fin de la période"))
    # The object funded: exactly one of these three.
    post = models.ForeignKey(
        Post,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_lines",
        verbose_name=_("poste financé"),
    )
    service = models.ForeignKey(
        "structures.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="funding_lines",
        verbose_name=_("dispositif financé"),
    )
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="structure_funding_lines",
        verbose_name=_("structure financée dans son ensemble"),
    )
    stage = models.ForeignKey(
        "referentiel.ProjectStage", on_delete=models.PROTECT, verbose_name=_("stade financé")
    )
    share = models.DecimalField(
        _("part prise en charge (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT_VALIDATORS,
        help_text=_("Pour un poste mutualisé : la part du coût que ce financement couvre."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = FundingQuerySet.as_manager()

    class Meta:
        verbose_name = _("ligne de financement")
        verbose_name_plural = _("lignes de financement")
        ordering = ["-ends_on", "-starts_on"]
        indexes = [
            models.Index(fields=["post", "ends_on"], name="jobs_funding_post_end_idx"),
            models.Index(fields=["holder", "ends_on"], name="jobs_funding_holder_end_idx"),
            models.Index(fields=["funder"], name="jobs_funding_funder_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="jobs_funding_one_object",
                condition=Q(post__isnull=False, service__isnull=True, structure__isnull=True)
                | Q(post__isnull=True, service__isnull=False, structure__isnull=True)
                | Q(post__isnull=True, service__isnull=True, structure__isnull=False),
                violation_error_message=_(
                    "Un financement porte sur un seul objet : un poste, "
                    "un dispositif ou la structure."
                ),
            ),
            models.CheckConstraint(
                name="jobs_funding_ends_after_start",
                condition=Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de la période doit suivre son début."),
            ),
            models.CheckConstraint(
                name="jobs_funding_amount_positive",
                condition=Q(amount__gte=0),
                violation_error_message=_("Le montant ne peut pas être négatif."),
            ),
            models.CheckConstraint(
                name="jobs_funding_share_range",
                condition=Q(share__isnull=True) | (Q(share__gt=0) & Q(share__lte=100)),
                violation_error_message=_("Une part est comprise entre 0,01 et 100 %."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.funder} — {self.starts_on:%d/%m/%Y} → {self.ends_on:%d/%m/%Y}"

    @property
    def target(self):
        return self.post or self.service or self.structure

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("La fin de la période doit suivre son début.")})
        targets = [self.post_id, self.service_id, self.structure_id]
        if sum(t is not None for t in targets) != 1:
            raise ValidationError(
                _(
                    "Un financement porte sur un seul objet : un poste, un dispositif ou la "
                    "structure."
                )
            )
        if self.holder_id is None:
            return
        if self.post_id and self.post.structure_id != self.holder_id:
            raise ValidationError({"post": _("Ce poste relève d'une autre structure.")})
        if self.service_id and self.service.structure_id != self.holder_id:
            raise ValidationError({"service": _("Ce dispositif relève d'une autre structure.")})
        if self.structure_id and self.structure_id != self.holder_id:
            raise ValidationError(
                {"structure": _("Un financement de structure reste à la structure qui le reçoit.")}
            )


# --- professionalisation -----------------------------------------------------------------


class TrainingKind(models.TextChoices):
    INITIAL = "initial", _("formation initiale")
    CONTINUING = "continuing", _("formation continue")
    QUALIFYING = "qualifying", _("formation qualifiante")
    VAE = "vae", _("validation des acquis de l'expérience (VAE)")


class TrainingQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """A person's trainings are seen by their employer only (and administrators)."""
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(mediator__structure_id=membership.structure_id)
        return self.none()


class Training(models.Model):
    """A training followed by a mediator (professionalisation plan)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mediator = models.ForeignKey(
        Mediator, on_delete=models.PROTECT, related_name="trainings", verbose_name=_("personne")
    )
    kind = models.CharField(_("type de formation"), max_length=12, choices=TrainingKind.choices)
    title = models.CharField(_("intitulé"), max_length=200)
    body = models.CharField(_("organisme de formation"), max_length=200)
    hours = models.DecimalField(
        _("durée (heures)"),
        max_digits=6,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("5000"))],
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    qualification_obtained = models.CharField(
        _("qualification obtenue"),
        max_length=200,
        blank=True,
        help_text=_("Titre, diplôme ou certificat obtenu à l'issue, le cas échéant."),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = TrainingQuerySet.as_manager()

    class Meta:
        verbose_name = _("formation")
        verbose_name_plural = _("formations")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                name="jobs_training_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de la formation doit suivre son début."),
            ),
            models.CheckConstraint(
                name="jobs_training_hours_positive",
                condition=Q(hours__gt=0),
                violation_error_message=_("Une formation dure au moins une demi-heure."),
            ),
            models.CheckConstraint(
                name="jobs_training_kind_valid", condition=Q(kind__in=TrainingKind.values)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PracticeReviewQuerySet(models.QuerySet):
    def visible_to(self, membership):
        if membership is None:
            return self.none()
        if membership.role == Role.ADMIN:
            return self
        if membership.role in (Role.MEDIATOR, Role.COORDINATOR):
            return self.filter(structure_id=membership.structure_id)
        return self.none()


class PracticeReview(models.Model):
    """A practice-review session (analyse de pratiques) and who attended it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="practice_reviews",
        verbose_name=_("structure"),
    )
    held_on = models.DateField(_("date"))
    facilitator = models.CharField(
        _("intervenant·e"),
        max_length=150,
        help_text=_("La personne ou l'organisme qui anime la séance."),
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("durée (minutes)"),
        default=120,
        validators=[MinValueValidator(15), MaxValueValidator(600)],
    )
    attendees = models.ManyToManyField(
        Mediator, related_name="practice_reviews", verbose_name=_("participant·es")
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = PracticeReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("séance d'analyse de pratiques")
        verbose_name_plural = _("séances d'analyse de pratiques")
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return f"Analyse de pratiques du {self.held_on:%d/%m/%Y}"
