from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "lien.indicators"
    label = "indicators"
    verbose_name = "Indicateurs et tableaux de bord"
