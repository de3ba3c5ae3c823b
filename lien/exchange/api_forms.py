"""The pages' forms, for the API's JSON bodies: the same fields, rules and messages.

A JSON body is bound as if the page had posted it (`bind`); the only differences are
the vocabularies and territories, chosen by their stable code rather than by a database
id, and the photo of a report, which the API does not take (it is added on the page).
"""

from django.utils.datastructures import MultiValueDict

from lien.followup import forms as followup_forms
from lien.logbook.forms import CodeChoiceField, local_territories
from lien.referentiel.models import Domain, Outcome, PlaceType, RequestTheme, SituationCategory
from lien.territories.models import Territory


def bind(form_class, payload: dict, **kwargs):
    """A form bound to a JSON body: lists become repeated values, booleans a checkbox."""
    data = MultiValueDict()
    for key, value in payload.items():
        if isinstance(value, list):
            data.setlist(key, [str(item) for item in value])
        elif isinstance(value, bool):
            data[key] = "on" if value else ""
        else:
            data[key] = "" if value is None else str(value)
    return form_class(data, **kwargs)


class SituationForm(followup_forms.SituationForm):
    domain = CodeChoiceField(Domain.objects.active(), label="Domaine")
    category = CodeChoiceField(SituationCategory.objects.active(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Nominative follow-ups are opened on the page, where the names are shown.
        for name in ("is_nominative", "names", "contact", "consent_on", "consent_scope"):
            del self.fields[name]


class CloseSituationForm(followup_forms.CloseSituationForm):
    outcome = CodeChoiceField(Outcome.objects.active(), label="Issue")


class MeetingForm(followup_forms.MeetingForm):
    outcome = CodeChoiceField(Outcome.objects.active(), label="Issue", required=False)


class ReferralForm(followup_forms.ReferralForm):
    theme = CodeChoiceField(RequestTheme.objects.active(), label="Thème")


class ReportForm(followup_forms.ReportForm):
    place_type = CodeChoiceField(PlaceType.objects.active(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["photo"]


class ObservationForm(followup_forms.ObservationForm):
    categories = followup_forms.ModelMultipleChoiceField(
        queryset=SituationCategory.objects.active(), to_field_name="code", required=False
    )

    def __init__(self, *args, structure, **kwargs):
        super().__init__(*args, structure=structure, **kwargs)
        communes, qpvs = local_territories(structure)
        self.fields["sector"] = CodeChoiceField(
            Territory.objects.filter(pk__in=[t.pk for t in communes + qpvs]),
            label="Secteur (commune ou QPV)",
        )
