"""Forms of regional steering. Territories are typed as codes (INSEE, SIREN, QPV) and must
lie inside the steering member's territory; organisations are picked from the list."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from lien.core.forms import ModelMultipleChoiceField
from lien.core.models import Role
from lien.core.validators import reject_markup
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import ProjectStage
from lien.steering.models import (
    Decision,
    Experiment,
    FrameworkAgreement,
    ReportKind,
    SteeringMeeting,
)
from lien.structures.forms import DateInput
from lien.structures.models import Organisation, Service, Structure
from lien.territories.models import Territory, TerritoryAncestor


class TerritoryCodeField(forms.CharField):
    """One territory typed as its code, inside `scope` (None: anywhere)."""

    default_error_messages = {
        "unknown": _("Code de territoire inconnu : %(code)s."),
        "outside": _("Ce territoire est hors du périmètre autorisé (%(scope)s)."),
    }

    def __init__(self, *, scope=None, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.scope = scope

    def to_python(self, value):
        code = (super().to_python(value) or "").strip().upper()
        for validator in self.validators:
            validator(code)
        if not code:
            return None
        territory = Territory.objects.filter(code=code).order_by("level").first()
        if territory is None:
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"code": code}
            )
        if (
            self.scope is not None
            and not TerritoryAncestor.objects.filter(
                ancestor=self.scope, descendant=territory
            ).exists()
        ):
            raise forms.ValidationError(
                self.error_messages["outside"], code="outside", params={"scope": self.scope.name}
            )
        return territory

    def run_validators(self, value):
        """The text's validators ran in `to_python`, on the code typed."""

    def prepare_value(self, value):
        if isinstance(value, Territory):
            return value.code
        if isinstance(value, int):
            found = Territory.objects.filter(pk=value).values_list("code", flat=True).first()
            return found or value
        return value


def _scope(membership):
    return membership.territory if membership and membership.role == Role.STEERING else None


def _text(label, *, required=False, rows=4, max_length=4000, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
        validators=[reject_markup],
    )


class AgreementForm(forms.ModelForm):
    territory = TerritoryCodeField(
        label=_("Territoire (code)"),
        help_text=_("Code INSEE de la région ou du département, SIREN d'un EPCI (ex. 32)."),
    )
    signatories = ModelMultipleChoiceField(
        queryset=Organisation.objects.funders().filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Signataires"),
    )
    objectives = _text(_("Objectifs"))

    class Meta:
        model = FrameworkAgreement
        fields = [
            "title",
            "territory",
            "starts_on",
            "ends_on",
            "job_target",
            "signatories",
            "other_signatories",
            "objectives",
        ]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def __init__(self, *args, membership=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territory"].scope = _scope(membership)


class TargetForm(forms.Form):
    indicator = forms.ModelChoiceField(
        queryset=IndicatorDefinition.objects.filter(is_active=True).order_by("position"),
        label=_("Indicateur"),
    )
    value = forms.DecimalField(
        label=_("Cible"), max_digits=14, decimal_places=2, min_value=0, max_value=10**11
    )
    note = forms.CharField(
        label=_("Précision"), required=False, max_length=300, validators=[reject_markup]
    )


class ExperimentForm(forms.ModelForm):
    territory = TerritoryCodeField(
        label=_("Territoire (code)"),
        help_text=_("Code INSEE d'une commune, SIREN d'un EPCI ou code d'un QPV."),
    )
    structures = ModelMultipleChoiceField(
        queryset=Structure.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Structures engagées"),
    )
    funders = ModelMultipleChoiceField(
        queryset=Organisation.objects.funders().filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Financeurs"),
    )
    stage = forms.ModelChoiceField(
        queryset=ProjectStage.objects.active(), label=_("Stade du projet")
    )
    notes = _text(_("Enseignements"))

    class Meta:
        model = Experiment
        fields = [
            "name",
            "site",
            "territory",
            "pooling_model",
            "structures",
            "funders",
            "stage",
            "status",
            "starts_on",
            "ends_on",
            "notes",
        ]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def __init__(self, *args, membership=None, agreement=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The site lies inside the agreement's territory (itself inside the member's).
        scope = agreement.territory if agreement else _scope(membership)
        self.fields["territory"].scope = scope
        structures = Structure.objects.filter(is_active=True)
        if scope is not None:
            structures = structures.filter(commune__ancestor_links__ancestor=scope)
        self.fields["structures"].queryset = structures.order_by("name")


class MeetingForm(forms.ModelForm):
    participants = ModelMultipleChoiceField(
        queryset=Organisation.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Organisations représentées"),
    )
    summary = _text(_("Relevé de conclusions"), rows=6, max_length=8000)

    class Meta:
        model = SteeringMeeting
        fields = ["held_on", "kind", "participants", "other_participants", "summary"]
        widgets = {"held_on": DateInput()}


class DecisionForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["text", "owner", "due_on", "status", "follow_up"]
        widgets = {"due_on": DateInput()}


SEMESTERS = [("1", _("1er semestre (janvier–juin)")), ("2", _("2e semestre (juillet–décembre)"))]


class BiannualReportForm(forms.Form):
    year = forms.IntegerField(label=_("Année"), min_value=2000, max_value=2100)
    semester = forms.ChoiceField(label=_("Semestre"), choices=SEMESTERS)
    territory = TerritoryCodeField(
        label=_("Territoire (code)"), help_text=_("Par défaut, celui de votre rattachement.")
    )
    agreement = forms.ModelChoiceField(
        queryset=FrameworkAgreement.objects.none(),
        required=False,
        label=_("Convention-cadre suivie"),
        help_text=_("Son objectif d'emplois figure dans le bilan."),
    )

    def __init__(self, *args, membership=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territory"].scope = _scope(membership)
        self.fields["territory"].required = membership is None or membership.role != Role.STEERING
        self.fields["agreement"].queryset = FrameworkAgreement.objects.visible_to(membership)
        self.membership = membership

    def clean(self):
        data = super().clean()
        if not data.get("territory") and self.membership and self.membership.role == Role.STEERING:
            data["territory"] = self.membership.territory
        if data.get("year") and data.get("semester"):
            first = 1 if data["semester"] == "1" else 7
            data["start"] = datetime.date(data["year"], first, 1)
            data["end"] = datetime.date(data["year"], first + 5, 1)
        data["kind"] = ReportKind.BIANNUAL
        return data


class FunderReportForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Dispositif"))
    funder = forms.ModelChoiceField(
        queryset=Organisation.objects.funders().filter(is_active=True),
        label=_("Financeur destinataire"),
    )
    start = forms.DateField(label=_("Du (mois)"), widget=DateInput())
    end = forms.DateField(label=_("Au (mois)"), widget=DateInput())

    def __init__(self, *args, membership=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.visible_to(membership)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("La fin doit suivre le début."))
            elif (end.year - start.year) * 12 + end.month - start.month > 59:
                self.add_error("end", _("Une période de cinq ans au plus."))
        data["kind"] = ReportKind.FUNDER
        return data
