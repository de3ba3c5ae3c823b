from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "lien.demo"
    label = "demo"
    verbose_name = "Démonstration"
