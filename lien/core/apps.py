from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lien.core"
    label = "core"
    verbose_name = "Comptes, rôles et journal"

    def ready(self):
        # Journal logins, logouts and failed logins.
        from lien.core import signals  # noqa: F401
