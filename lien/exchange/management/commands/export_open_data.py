"""Write the open data set (CSV + Frictionless datapackage.json) of a period to a directory."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lien.exchange import opendata


class Command(BaseCommand):
    help = (
        "Exporte les données ouvertes agrégées (activite.csv, resultats.csv, emplois.csv, "
        "datapackage.json) "
        "d'une période, par territoire, avec secret statistique."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="Premier mois, AAAA-MM.")
        parser.add_argument("--end", required=True, help="Dernier mois, AAAA-MM.")
        parser.add_argument(
            "--level",
            default="departement",
            help="Niveau des lignes : departement (par défaut), epci ou commune.",
        )
        parser.add_argument(
            "--territory",
            default=None,
            help="Code INSEE (ou SIREN d'EPCI) du territoire exporté, ou niveau:CODE "
            "(par exemple departement:11) ; la France entière par défaut.",
        )
        parser.add_argument("--output", required=True, help="Répertoire où écrire les fichiers.")

    def handle(self, *args, start, end, level, territory, output, **options):
        directory = Path(output)
        try:
            request = opendata.check_request(start, end, level, territory)
            opendata.check_output(directory)
            data = opendata.build(request)
            paths = opendata.write(data, directory)
        except opendata.OpenDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(data.activity) - 1} ligne(s) d'activité, {len(data.results) - 1} ligne(s) "
            f"de résultats, {len(data.jobs) - 1} ligne(s) d'emplois écrites : "
            f"{', '.join(str(p) for p in paths)}."
        )
