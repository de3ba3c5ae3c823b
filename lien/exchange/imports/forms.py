"""The upload form and the column-mapping form of an import."""

from django import forms
from django.utils.translation import gettext_lazy as _

from lien.exchange.imports.kinds import IMPORTERS


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Données à importer"))
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_(
            "CSV (UTF-8 ou Windows-1252, séparateur « ; » ou « , ») ou classeur XLSX ; "
            "la première ligne donne le nom des colonnes."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds


class ImportMappingForm(forms.Form):
    """One select per target field: which column of the file fills it."""

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— aucune colonne —")), *((h, h) for h in job.headers)]
        for column in IMPORTERS[job.kind].columns:
            label = f"{column.label} (obligatoire)" if column.required else column.label
            self.fields[column.name] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                initial=job.mapping.get(column.name, ""),
                help_text=column.help,
            )

    def mapping(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}
