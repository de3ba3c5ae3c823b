import re

from django import forms
from django.utils.translation import gettext_lazy as _

from lien.core.forms import ModelMultipleChoiceField
from lien.core.validators import reject_markup
from lien.referentiel.models import Domain, ProjectStage
from lien.structures.models import Organisation, Service, Structure
from lien.territories.models import Level, Territory

_CODE_SPLIT = re.compile(r"[\s,;]+")


def forbid_markup(form, *names: str) -> None:
    """Refuse HTML tags in these free-text fields of a model form."""
    for name in names:
        form.fields[name].validators.append(reject_markup)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class StructureForm(forms.ModelForm):
    """What a structure's coordination may change; type and SIRET stay with the admin."""

    class Meta:
        model = Structure
        fields = [
            "name",
            "network",
            "address",
            "afnor_status",
            "afnor_certified_on",
            "afnor_next_audit_on",
            "correction_window_days",
            "referral_expiry_days",
            "situation_retention_months",
        ]
        widgets = {
            "afnor_certified_on": DateInput(),
            "afnor_next_audit_on": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        forbid_markup(self, "name", "network", "address")


class TerritoryCodesField(forms.CharField):
    """Territories typed as codes (INSEE commune, EPCI SIREN or QPV code), comma-separated."""

    default_error_messages = {
        "unknown": _("Code(s) de territoire inconnu(s) : %(codes)s."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value) or ""
        # Checked before the lookup below (validators only run after `to_python`): a null
        # byte in a query is an error on PostgreSQL, and a huge list is not a choice.
        for validator in self.validators:
            validator(text)
        codes = [code.upper() for code in _CODE_SPLIT.split(text.strip()) if code]
        if not codes:
            return []
        found = list(
            Territory.objects.filter(
                code__in=codes, level__in=[Level.EPCI, Level.COMMUNE, Level.QPV]
            )
        )
        missing = sorted(set(codes) - {t.code for t in found})
        if missing:
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"codes": ", ".join(missing)}
            )
        return found

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(t.code if isinstance(t, Territory) else str(t) for t in value)
        return value


class ServiceForm(forms.ModelForm):
    territories = TerritoryCodesField(
        label=_("Territoires d'intervention"),
        help_text=_(
            "Codes INSEE des communes, SIREN des EPCI ou codes QPV, séparés par des virgules "
            "(par exemple : 59512, QX05901D)."
        ),
    )
    domains = ModelMultipleChoiceField(
        queryset=Domain.objects.active(),
        widget=forms.CheckboxSelectMultiple,
        label=_("Domaines"),
    )
    commissioning_bodies = ModelMultipleChoiceField(
        queryset=Organisation.objects.funders().filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Commanditaires"),
    )
    stage = forms.ModelChoiceField(
        queryset=ProjectStage.objects.active(), label=_("Stade du projet")
    )
    # A TextField in the model: the form sets the bound the database does not have.
    objectives = forms.CharField(
        label=_("Objectifs"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[reject_markup],
    )

    class Meta:
        model = Service
        fields = [
            "name",
            "domains",
            "territories",
            "commissioning_bodies",
            "objectives",
            "stage",
            "starts_on",
            "ends_on",
            "is_active",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        forbid_markup(self, "name")
        if self.instance.pk:
            self.initial["territories"] = list(self.instance.territories.all())

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("La date de fin doit suivre la date de début."))
        return data
