from django import forms
from django.utils.translation import gettext_lazy as _

from lien.core.forms import ModelMultipleChoiceField
from lien.core.validators import reject_markup
from lien.logbook.forms import CodeChoiceField, TerritoryCodeField, structure_members
from lien.logbook.models import Shift, ShiftKind
from lien.referentiel.models import PlaceType
from lien.structures.models import Service, Structure
from lien.territories.models import Level


class ShiftForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=ShiftKind.choices)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Dispositif"))
    starts_at = forms.DateTimeField(
        label=_("Début"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("Fin"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    commune = TerritoryCodeField(level=Level.COMMUNE, label=_("Commune (code INSEE)"))
    qpv = TerritoryCodeField(level=Level.QPV, label=_("QPV (code)"), required=False)
    place_type = CodeChoiceField(
        PlaceType.objects.active(), required=False, label=_("Type de lieu")
    )
    place_label = forms.CharField(
        label=_("Lieu ou secteur"), max_length=150, required=False, validators=[reject_markup]
    )
    mediators = ModelMultipleChoiceField(
        queryset=None, label=_("Médiateur·rices"), widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Consignes"), max_length=280, required=False, validators=[reject_markup]
    )

    def __init__(self, *args, structure: Structure, instance: Shift | None = None, **kwargs):
        if instance is not None and not args:
            kwargs.setdefault(
                "initial",
                {
                    "kind": instance.kind,
                    "service": instance.service_id,
                    "starts_at": instance.starts_at,
                    "ends_at": instance.ends_at,
                    "commune": instance.commune.code,
                    "qpv": instance.qpv.code if instance.qpv_id else "",
                    "place_type": instance.place_type.code if instance.place_type_id else "",
                    "place_label": instance.place_label,
                    "mediators": list(instance.mediators.values_list("pk", flat=True)),
                    "note": instance.note,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(
            structure=structure, is_active=True
        )
        self.fields["mediators"].queryset = structure_members(structure).order_by("full_name")

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("La fin doit suivre le début."))
        commune, qpv = data.get("commune"), data.get("qpv")
        if (
            commune
            and qpv
            and not (
                qpv.parent_id == commune.pk or qpv.secondary_parents.filter(pk=commune.pk).exists()
            )
        ):
            self.add_error("qpv", _("Ce QPV ne couvre pas la commune choisie."))
        return data

    def shift_data(self) -> dict:
        return dict(self.cleaned_data)
