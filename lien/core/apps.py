from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lien.core"
    label = "core"
    verbose_name = "Comptes, rôles et journal"
