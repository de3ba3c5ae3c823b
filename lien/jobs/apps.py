from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "lien.jobs"
    verbose_name = "Emplois, financements et professionnalisation"
