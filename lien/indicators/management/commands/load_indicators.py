from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lien.indicators.services import indicators_load


class Command(BaseCommand):
    help = "Charge les définitions d'indicateurs livrées (sans écraser les modifications)."

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true")

    def handle(self, *args, update: bool, **options):
        try:
            created, updated = indicators_load(update=update)
        except ValidationError as exc:
            raise CommandError("Indicateurs non chargés :\n" + "\n".join(exc.messages)) from exc
        self.stdout.write(f"Indicateurs : {created} créé(s), {updated} mis à jour.")
