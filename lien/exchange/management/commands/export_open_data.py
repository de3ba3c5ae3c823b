"""Write the open data set (CSV + Frictionless datapackage.json) of a period to a directory,
or publish it at /donnees-ouvertes/."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lien.exchange import opendata


class Command(BaseCommand):
    help = (
        "Exporte les données ouvertes agrégées (activite.csv, resultats.csv, emplois.csv, "
        "datapackage.json) d'une période, par territoire, avec secret statistique ; "
        "--publish les met en ligne sur /donnees-ouvertes/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--start", help="Premier mois, AAAA-MM (par défaut : il y a douze mois pleins)."
        )
        parser.add_argument("--end", help="Dernier mois, AAAA-MM (par défaut : le mois dernier).")
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
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--output", help="Répertoire où écrire les fichiers.")
        where.add_argument(
            "--publish",
            action="store_true",
            help="Remplacer le jeu publié sur /donnees-ouvertes/ (LIEN_OPEN_DATA_ROOT).",
        )

    def handle(self, *args, start, end, level, territory, output, publish, **options):
        default_start, default_end = opendata.default_months()
        try:
            request = opendata.check_request(
                start or default_start, end or default_end, level, territory
            )
            if output:
                opendata.check_output(Path(output))
            data = opendata.build(request)
            paths = opendata.publish(data) if publish else opendata.write(data, Path(output))
        except opendata.OpenDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{len(data.activity) - 1} ligne(s) d'activité, {len(data.results) - 1} ligne(s) "
            f"de résultats, {len(data.jobs) - 1} ligne(s) d'emplois "
            f"{'publiées' if publish else 'écrites'} : {', '.join(str(p) for p in paths)}."
        )
