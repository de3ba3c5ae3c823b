"""`manage.py backup`: the whole database in one file (see lien.core.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lien.core.backup import BackupError, backup_dir, database_backup, human_size


class Command(BaseCommand):
    help = (
        "Sauvegarde toute la base de données dans un seul fichier, sans arrêter le site : "
        "copie SQLite cohérente ou archive pg_dump (format custom) pour PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            "-o",
            help=(
                "Fichier à écrire (il ne doit pas exister). Par défaut : "
                "lien-<moteur>-<AAAAMMJJ-HHMMSS>.sqlite3|.dump dans LIEN_BACKUP_DIR "
                f"({backup_dir()})."
            ),
        )

    def handle(self, *args, output: str | None = None, **options):
        try:
            result = database_backup(output=Path(output) if output else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Sauvegarde écrite : {result.path} ({human_size(result.size)})")
        )
