"""Forms of the evaluation pages and of the public survey.

Free text (evidence, comments) is screened like the follow-up notes (names, contact
details, sensitive terms: refused until rephrased or confirmed) and refused with markup.
"""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from lien.core.forms import ScreenedForm
from lien.core.validators import reject_markup
from lien.evaluation.models import (
    COMMENT_MAX,
    EVIDENCE_MAX,
    QUESTIONS,
    AssessmentLevel,
    Audience,
    EvaluationState,
    Likert,
)
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import UtilityRegister
from lien.structures.forms import DateInput
from lien.structures.models import Service, Structure

ECONOMIC_REGISTER = "contribution-economique"


def _service_field(structure: Structure) -> forms.ModelChoiceField:
    services = Service.objects.filter(structure=structure).order_by("name")
    field = forms.ModelChoiceField(label=_("Dispositif"), queryset=services)
    if services.count() == 1:
        field.initial = services.first().pk
    return field


class PeriodForm(forms.Form):
    starts_on = forms.DateField(label=_("Début de la période"), widget=DateInput())
    ends_on = forms.DateField(label=_("Fin de la période"), widget=DateInput())

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("La fin de la période doit suivre son début."))
        return data


class EvaluationCreateForm(PeriodForm):
    field_order = ["service", "starts_on", "ends_on"]

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"] = _service_field(structure)
        self.order_fields(self.field_order)


class EvaluationEditForm(PeriodForm):
    state = forms.ChoiceField(
        label=_("État"),
        choices=EvaluationState.choices,
        help_text=_("Une évaluation finalisée ne se modifie plus et compte dans les bilans."),
    )


class AssessmentForm(ScreenedForm):
    """One level (1–4, or none) and the evidence for each CITER register."""

    def __init__(self, *args, registers, **kwargs):
        super().__init__(*args, **kwargs)
        self.registers = list(registers)
        self.screened_fields = tuple(f"evidence_{r.code}" for r in self.registers)
        # The confirmation box comes after the registers.
        confirm = self.fields.pop("text_confirmed")
        for register in self.registers:
            self.fields[f"level_{register.code}"] = forms.TypedChoiceField(
                label=_("%(register)s : niveau") % {"register": register.label},
                choices=[("", _("— non évalué")), *AssessmentLevel.choices],
                coerce=int,
                empty_value=None,
                required=False,
            )
            self.fields[f"evidence_{register.code}"] = forms.CharField(
                label=_("%(register)s : éléments de preuve") % {"register": register.label},
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=EVIDENCE_MAX,
                required=False,
                validators=[reject_markup],
                help_text=register.description,
            )
        self.fields["text_confirmed"] = confirm

    def clean(self):
        data = super().clean()
        for register in self.registers:
            level, evidence = f"level_{register.code}", f"evidence_{register.code}"
            if data.get(evidence) and data.get(level) is None and level not in self.errors:
                self.add_error(level, _("Choisissez un niveau pour ces éléments de preuve."))
        return data

    def assessments(self) -> dict:
        return {
            r: (self.cleaned_data[f"level_{r.code}"], self.cleaned_data[f"evidence_{r.code}"])
            for r in self.registers
        }


class AvoidedCostForm(forms.Form):
    register = forms.ModelChoiceField(
        label=_("Registre CITER"), queryset=UtilityRegister.objects.none()
    )
    label = forms.CharField(label=_("Libellé"), max_length=200, validators=[reject_markup])
    unit_cost = forms.DecimalField(
        label=_("Coût unitaire évité (€)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
    )
    indicator = forms.ModelChoiceField(
        label=_("Quantité : un indicateur calculé par Lien"),
        queryset=IndicatorDefinition.objects.none(),
        required=False,
        help_text=_("Sa valeur pour le dispositif et la période, recalculée à chaque lecture."),
    )
    manual_quantity = forms.DecimalField(
        label=_("… ou une quantité saisie"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=_("Dites d'où vient ce nombre dans les hypothèses."),
    )
    assumptions = forms.CharField(
        label=_("Hypothèses"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=EVIDENCE_MAX,
        validators=[reject_markup],
        error_messages={"required": _("Les hypothèses de l'estimation sont obligatoires.")},
        help_text=_(
            "Obligatoires : source du coût unitaire, de la quantité, et limites de "
            "l'estimation. Elles sont toujours affichées avec le montant."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["register"].queryset = UtilityRegister.objects.active().order_by("position")
        economic = UtilityRegister.objects.filter(code=ECONOMIC_REGISTER).first()
        if economic is not None:
            self.fields["register"].initial = economic.pk
        self.fields["indicator"].queryset = IndicatorDefinition.objects.filter(
            is_active=True
        ).order_by("family", "position", "code")

    def clean_assumptions(self):
        value = self.cleaned_data["assumptions"].strip()
        if not value:
            raise forms.ValidationError(_("Les hypothèses de l'estimation sont obligatoires."))
        return value

    def clean(self):
        data = super().clean()
        has_indicator = data.get("indicator") is not None
        has_manual = data.get("manual_quantity") is not None
        if has_indicator == has_manual and not self.errors.get("manual_quantity"):
            self.add_error(
                "manual_quantity",
                _("Choisissez un indicateur ou saisissez une quantité, pas les deux."),
            )
        return data


class SurveyForm(forms.Form):
    audience = forms.ChoiceField(label=_("Public interrogé"), choices=Audience.choices)
    title = forms.CharField(label=_("Titre"), max_length=200, validators=[reject_markup])
    opens_on = forms.DateField(label=_("Ouverture"), widget=DateInput())
    closes_on = forms.DateField(label=_("Clôture"), widget=DateInput())
    field_order = ["service", "audience", "title", "opens_on", "closes_on"]

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"] = _service_field(structure)
        self.order_fields(self.field_order)

    def clean(self):
        data = super().clean()
        opens, closes = data.get("opens_on"), data.get("closes_on")
        if opens and closes and closes < opens:
            self.add_error("closes_on", _("La clôture doit suivre l'ouverture."))
        return data


class SurveyAnswerForm(ScreenedForm):
    """The public questionnaire: one 1–5 answer per question, an optional comment."""

    screened_fields = ("comment",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        confirm = self.fields.pop("text_confirmed")
        for name, _register, label in QUESTIONS:
            self.fields[name] = forms.TypedChoiceField(
                label=label,
                choices=Likert.choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choisissez une réponse à cette question.")},
            )
        self.fields["comment"] = forms.CharField(
            label=_("Voulez-vous ajouter quelque chose ? (facultatif)"),
            widget=forms.Textarea(attrs={"rows": 4}),
            max_length=COMMENT_MAX,
            required=False,
            validators=[reject_markup],
            help_text=_("Ne donnez pas de nom, d'adresse ni de numéro de téléphone."),
        )
        self.fields["text_confirmed"] = confirm

    def answers(self) -> dict:
        return {name: self.cleaned_data[name] for name, _r, _l in QUESTIONS} | {
            "comment": self.cleaned_data.get("comment") or ""
        }
