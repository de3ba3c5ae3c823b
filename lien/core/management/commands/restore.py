"""`manage.py restore PATH`: put a backup of `manage.py backup` back in place of the
whole current database (see lien.core.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from lien.core.backup import BackupError, database_restore, human_size

CONFIRMATION = "oui"


class Command(BaseCommand):
    help = (
        "Remplace TOUTE la base de données actuelle par une sauvegarde de `manage.py backup`. "
        "Arrêtez le site et le worker avant."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier de sauvegarde (.sqlite3 ou .dump).")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_true",
            dest="noinput",
            help="Ne pas demander de confirmation (scripts).",
        )

    def handle(self, *args, path: str, noinput: bool = False, **options):
        try:
            result = database_restore(path=Path(path), confirm=None if noinput else self._confirm)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Base {result.database} ({connection.display_name}) restaurée depuis "
                f"{result.path} ({human_size(result.size)})."
            )
        )
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"La sauvegarde précède {len(result.pending_migrations)} migration(s) du "
                    "code : lancez `manage.py migrate` avant de redémarrer le site. "
                    "La restauration n'a pas pu être inscrite au journal d'audit."
                )
            )
        elif result.journaled:
            self.stdout.write("Restauration inscrite au journal d'audit.")
        self.stdout.write("Redémarrez le site et le worker pour repartir de cette base.")

    def _confirm(self, backup: Path) -> bool:
        self.stdout.write(
            f"Toutes les données actuelles de la base {connection.settings_dict['NAME']} "
            f"({connection.display_name}) vont être remplacées par celles de {backup}. "
            "Ce qui a été saisi depuis la sauvegarde sera perdu."
        )
        try:
            answer = input(f"Tapez « {CONFIRMATION} » pour continuer : ")
        except EOFError:  # no terminal (cron, pipe): no answer is a no
            answer = ""
        return answer.strip().lower() == CONFIRMATION
