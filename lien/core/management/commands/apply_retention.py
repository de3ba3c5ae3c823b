"""`manage.py apply_retention [--dry-run]`: apply every retention rule (daily, from cron)
and print the catalogue of rules with what each one did (see lien.core.retention)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lien.core import retention

HEADERS = ("Type d'enregistrement", "Règle", "Nombre")


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]

    def line(cells) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(HEADERS), rule, *(line(row).rstrip() for row in rows)])


class Command(BaseCommand):
    help = (
        "Applique les durées de conservation (anonymisation des suivis clos, effacement des "
        "coordonnées de rappel, des photos, des notifications lues, des tâches terminées, des "
        "sessions et tentatives de connexion expirées…) et affiche ce que chaque règle a fait."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Compte ce qui serait effacé ou anonymisé, sans rien modifier.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        today = timezone.localdate()
        outcomes = retention.retention_apply(today=today, dry_run=dry_run)
        rows = [
            (
                outcome.rule.kind,
                outcome.rule.describe(),
                "ÉCHEC" if outcome.error else str(outcome.count),
            )
            for outcome in outcomes
        ]
        title = f"Durées de conservation au {today:%d/%m/%Y}" + (
            " — simulation (--dry-run) : nombres à traiter, rien n'est modifié" if dry_run else ""
        )
        self.stdout.write(f"{title}\n\n{_table(rows)}")
        failed = [outcome for outcome in outcomes if outcome.error]
        if failed:
            self.stdout.write("\nRègles en échec (annulées, rien n'a changé pour elles) :")
        for outcome in failed:
            self.stdout.write(f"- {outcome.rule.kind} : {outcome.error}")
        if failed:
            done = "comptées" if dry_run else "appliquées"
            raise CommandError(
                f"{len(failed)} règle(s) de conservation en échec ; les autres ont été {done}."
            )
