import time

from django.core.management.base import BaseCommand

from lien.indicators.rollups import rebuild


class Command(BaseCommand):
    help = "Recalcule tous les agrégats (cubes) à partir des interventions."

    def handle(self, *args, **options):
        started = time.perf_counter()
        counts = rebuild()
        for name, rows in counts.items():
            self.stdout.write(f"{name} : {rows} lignes")
        self.stdout.write(f"durée : {time.perf_counter() - started:.1f} s")
