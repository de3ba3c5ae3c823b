from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "lien.followup"
    label = "followup"
    verbose_name = "Suivis, orientations, signalements, veille sociale, actions collectives"
