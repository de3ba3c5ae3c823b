"""Controlled vocabularies (référentiel): stored as data, edited by administrators.

Each item has a stable `code` that imports, the API and the indicators refer to; the
French `label` is what users see. Items are deactivated, never deleted, once used.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReferenceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ReferenceItem(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    label = models.CharField(_("libellé"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)
    is_active = models.BooleanField(_("actif"), default=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


#: Intervention fields that an activity may ask for; the rest are hidden for it.
ENTRY_FIELDS = (
    "situation_category",
    "timing",
    "form",
    "people_met",
    "outcome",
    "emergency_handoff",
    "access_requests",
)


def validate_entry_fields(value) -> None:
    from django.core.exceptions import ValidationError

    if not isinstance(value, list) or any(item not in ENTRY_FIELDS for item in value):
        raise ValidationError(
            "Liste de champs attendue parmi : %(allowed)s.",
            params={"allowed": ", ".join(ENTRY_FIELDS)},
        )


class ActivityType(ReferenceItem):
    """One of the 9 key activities of the social mediator (activity reference)."""

    # Which optional intervention fields the quick-entry form shows for this activity.
    entry_fields = models.JSONField(
        _("champs de saisie"),
        default=list,
        blank=True,
        validators=[validate_entry_fields],
        help_text=_("Champs facultatifs proposés pour cette activité : ") + ", ".join(ENTRY_FIELDS),
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = _("activité")
        verbose_name_plural = _("activités")


class Domain(ReferenceItem):
    """A field of intervention: public spaces, schools, public services, transport, housing."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("domaine")
        verbose_name_plural = _("domaines")


class SituationCategory(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("catégorie de situation")
        verbose_name_plural = _("catégories de situation")


class Outcome(ReferenceItem):
    class Family(models.TextChoices):
        RESOLVED = "resolved", _("résolu")
        PARTIAL = "partial", _("partiellement résolu")
        UNRESOLVED = "unresolved", _("non résolu")
        REFUSED = "refused", _("refus ou retrait")
        REFERRED = "referred", _("orientation")
        INFORMED = "informed", _("information")
        EMERGENCY = "emergency", _("relais d'urgence")
        ONGOING = "ongoing", _("en cours")
        NOT_APPLICABLE = "na", _("sans objet")

    # The family is what result indicators count (resolution rate, refusal rate…).
    family = models.CharField(_("famille"), max_length=20, choices=Family.choices)

    class Meta(ReferenceItem.Meta):
        verbose_name = _("issue")
        verbose_name_plural = _("issues")


class PartnerType(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("type de partenaire")
        verbose_name_plural = _("types de partenaire")


class EmployerType(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("type d'employeur")
        verbose_name_plural = _("types d'employeur")


class ContractType(ReferenceItem):
    # Aided contracts have "exits" (sorties) that the job indicators follow.
    is_aided = models.BooleanField(_("contrat aidé"), default=False)

    class Meta(ReferenceItem.Meta):
        verbose_name = _("type de contrat")
        verbose_name_plural = _("types de contrat")


class FundingProgram(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("programme de financement")
        verbose_name_plural = _("programmes de financement")


class ProjectStage(ReferenceItem):
    class Meta(ReferenceItem.Meta):
        verbose_name = _("stade de projet")
        verbose_name_plural = _("stades de projet")


class UtilityRegister(ReferenceItem):
    """A register of the national social-utility evaluation reference (CITER, 2009)."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("registre d'utilité sociale")
        verbose_name_plural = _("registres d'utilité sociale")


class PlaceType(ReferenceItem):
    """Where an intervention happened, without an address (non-nominative)."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("type de lieu")
        verbose_name_plural = _("types de lieu")


class RequestTheme(ReferenceItem):
    """The theme of a request (demande) made during a visit, PIMMS style."""

    class Meta(ReferenceItem.Meta):
        verbose_name = _("thème de demande")
        verbose_name_plural = _("thèmes de demande")


#: Every vocabulary, by the key used in the fixture file and the loader's report.
REFERENCE_MODELS: dict[str, type[ReferenceItem]] = {
    "activity_types": ActivityType,
    "domains": Domain,
    "situation_categories": SituationCategory,
    "outcomes": Outcome,
    "partner_types": PartnerType,
    "employer_types": EmployerType,
    "contract_types": ContractType,
    "funding_programs": FundingProgram,
    "project_stages": ProjectStage,
    "utility_registers": UtilityRegister,
    "place_types": PlaceType,
    "request_themes": RequestTheme,
}
