from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "lien.exchange"
    label = "exchange"
    verbose_name = "Échanges (API)"
