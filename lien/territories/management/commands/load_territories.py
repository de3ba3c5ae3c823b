from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lien.territories.loaders import DEMO_QPV, LEVEL_ORDER, TerritoryLoadError, territory_load


class Command(BaseCommand):
    help = (
        "Charge les territoires : COG de l'INSEE (régions, départements, EPCI, communes ; "
        "par défaut l'extrait livré Nord / Pas-de-Calais), liste des QPV, contours GeoJSON. "
        "Relançable : met à jour sans doublon. Un fichier en erreur ne charge rien."
    )

    def add_arguments(self, parser):
        cog = parser.add_argument_group("COG (fichiers JSON de @etalab/decoupage-administratif)")
        cog.add_argument("--regions", type=Path, metavar="FICHIER")
        cog.add_argument("--departements", type=Path, metavar="FICHIER")
        cog.add_argument("--communes", type=Path, metavar="FICHIER")
        cog.add_argument("--epci", type=Path, metavar="FICHIER")
        cog.add_argument(
            "--departement",
            action="append",
            default=[],
            metavar="CODE",
            help="Ne charge que les communes de ce département (option répétable).",
        )
        cog.add_argument(
            "--cog",
            action="store_true",
            help="Charge aussi le COG avec --qpv, --qpv-demo ou --geojson (qui sinon "
            "s'appuient sur les communes déjà en base).",
        )
        qpv = parser.add_argument_group("QPV")
        qpv.add_argument(
            "--qpv",
            type=Path,
            metavar="CSV",
            help="Liste des QPV : colonnes code (ou code_qp), nom (ou lib_qp), communes "
            "(ou insee_com) ; séparateur ; ou , ; UTF-8 ou Windows-1252.",
        )
        qpv.add_argument(
            "--qpv-demo",
            action="store_true",
            help="Charge les QPV de démonstration livrés (codes QX…), marqués comme tels.",
        )
        qpv.add_argument(
            "--demo", action="store_true", help="Marque les QPV de --qpv comme démonstration."
        )
        geo = parser.add_argument_group("Contours")
        geo.add_argument("--geojson", type=Path, metavar="FICHIER")
        geo.add_argument(
            "--level",
            choices=[str(level) for level in LEVEL_ORDER],
            default="commune",
            help="Niveau des territoires du GeoJSON (défaut : commune).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Vérifie et compte sans rien écrire."
        )

    def handle(self, *args, **options):
        if options["qpv"] and options["qpv_demo"]:
            raise CommandError("--qpv et --qpv-demo s'excluent : un seul fichier de QPV.")
        cog_files = [options[k] for k in ("regions", "departements", "communes", "epci")]
        others = options["qpv"] or options["qpv_demo"] or options["geojson"]
        try:
            report = territory_load(
                load_cog=options["cog"] or any(cog_files) or not others,
                regions=options["regions"],
                departements=options["departements"],
                communes=options["communes"],
                epci=options["epci"],
                departement_codes=options["departement"],
                qpv=DEMO_QPV if options["qpv_demo"] else options["qpv"],
                qpv_is_demo=options["qpv_demo"] or options["demo"],
                geojson=options["geojson"],
                geojson_level=options["level"],
                dry_run=options["dry_run"],
            )
        except TerritoryLoadError as exc:
            lines = [f"Territoires non chargés ({len(exc.errors)} erreur(s)) :", *exc.errors]
            if exc.warnings:
                lines += [f"{len(exc.warnings)} avertissement(s) :", *exc.warnings]
            raise CommandError("\n".join(lines)) from exc
        if options["verbosity"] > 0:
            for line in report.lines(all_warnings=options["verbosity"] > 1):
                self.stdout.write(line)
