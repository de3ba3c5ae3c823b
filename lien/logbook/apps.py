from django.apps import AppConfig


class LogbookConfig(AppConfig):
    name = "lien.logbook"
    label = "logbook"
    verbose_name = "Journal de bord (interventions, tournées)"
