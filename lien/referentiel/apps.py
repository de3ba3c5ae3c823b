from django.apps import AppConfig


class ReferentielConfig(AppConfig):
    name = "lien.referentiel"
    label = "referentiel"
    verbose_name = "Référentiels"
