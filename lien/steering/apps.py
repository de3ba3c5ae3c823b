from django.apps import AppConfig


class SteeringConfig(AppConfig):
    name = "lien.steering"
    verbose_name = "Pilotage régional"
    default_auto_field = "django.db.models.BigAutoField"
