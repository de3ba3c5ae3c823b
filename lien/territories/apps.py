from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "lien.territories"
    label = "territories"
    verbose_name = "Territoires"
