from django import forms
from django.utils.translation import gettext_lazy as _

from lien.logbook.forms import CodeChoiceField, TerritoryCodeField, structure_members
from lien.referentiel.models import ActivityType, Domain, Outcome
from lien.structures.models import Service, Structure
from lien.territories.models import Level, Territory


class AnyTerritoryCodeField(TerritoryCodeField):
    """A territory of any level below the département, by code (commune, EPCI, QPV)."""

    def clean(self, value):
        code = (forms.CharField.clean(self, value) or "").strip().upper()
        if not code:
            return None
        territory = (
            Territory.objects.filter(code=code, level__in=[Level.EPCI, Level.COMMUNE, Level.QPV])
            .order_by("level")
            .first()
        )
        if territory is None:
            raise forms.ValidationError(
                _("Territoire inconnu : « %(code)s »."), params={"code": code}
            )
        return territory


class TeamLogFilterForm(forms.Form):
    start = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    mediator = forms.ModelChoiceField(queryset=None, required=False, label=_("Médiateur·rice"))
    service = forms.ModelChoiceField(queryset=None, required=False, label=_("Dispositif"))
    activity_type = CodeChoiceField(
        ActivityType.objects.active(), required=False, label=_("Activité")
    )
    domain = CodeChoiceField(Domain.objects.active(), required=False, label=_("Domaine"))
    outcome = CodeChoiceField(Outcome.objects.active(), required=False, label=_("Issue"))
    territory = AnyTerritoryCodeField(
        level=Level.COMMUNE,
        required=False,
        label=_("Territoire (code)"),
        help_text=_("Code INSEE de commune, SIREN d'EPCI ou code QPV."),
    )

    def __init__(self, *args, structure: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mediator"].queryset = structure_members(structure).order_by("full_name")
        self.fields["service"].queryset = Service.objects.filter(structure=structure)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("La fin de période précède son début."))
        return data
