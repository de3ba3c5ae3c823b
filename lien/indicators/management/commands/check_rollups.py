from django.core.management.base import BaseCommand, CommandError

from lien.indicators.rollups import differences


class Command(BaseCommand):
    help = "Compare les agrégats aux interventions et signale toute différence."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, limit: int, **options):
        report = differences(limit=limit)
        problems = {name: lines for name, lines in report.items() if lines}
        for name, lines in report.items():
            self.stdout.write(f"{name} : {'OK' if not lines else f'{len(lines)} écart(s)'}")
            for line in lines:
                self.stdout.write(f"  {line}")
        if problems:
            raise CommandError(
                "Les agrégats diffèrent des faits : lancez `manage.py rebuild_rollups`."
            )
