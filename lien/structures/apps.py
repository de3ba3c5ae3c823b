from django.apps import AppConfig


class StructuresConfig(AppConfig):
    name = "lien.structures"
    label = "structures"
    verbose_name = "Structures, services et organisations"
