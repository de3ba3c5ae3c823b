"""Daily jobs chore (run from cron): warn the coordination of posts whose funding ends
soon with nothing to take over."""

from django.core.management.base import BaseCommand

from lien.jobs import services


class Command(BaseCommand):
    help = (
        "Prévient la coordination des postes dont le financement se termine dans "
        "LIEN_FUNDING_ALERT_MONTHS mois sans relais (une fois par date de fin)."
    )

    def handle(self, *args, **options):
        warned = services.funding_alerts_notify()
        self.stdout.write(f"Alertes de financement envoyées : {warned}")
