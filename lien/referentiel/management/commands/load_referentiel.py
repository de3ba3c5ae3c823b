from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lien.referentiel.services import DEFAULT_FIXTURE, ReferentielError, referentiel_load


class Command(BaseCommand):
    help = "Charge les référentiels (activités, domaines, issues…) depuis le fichier livré."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_FIXTURE)
        parser.add_argument(
            "--update",
            action="store_true",
            help="Écrase les libellés modifiés par l'administration avec ceux du fichier.",
        )

    def handle(self, *args, file: Path, update: bool, **options):
        try:
            report = referentiel_load(path=file, update=update)
        except ReferentielError as exc:
            raise CommandError(
                f"Référentiel non chargé ({len(exc.errors)} erreur(s)) :\n" + "\n".join(exc.errors)
            ) from exc
        for line in report.lines():
            self.stdout.write(line)
