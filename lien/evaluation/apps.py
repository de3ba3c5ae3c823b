from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "lien.evaluation"
    verbose_name = "Évaluation de l'utilité sociale"
