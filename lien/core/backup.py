"""Whole-database backups and restores, behind `manage.py backup` and `manage.py restore`.

One file per backup, whatever the engine, so that an operator copies, keeps and restores a
single thing:

- SQLite: a copy made with SQLite's online backup API (`sqlite3.Connection.backup`). It
  reads one consistent snapshot while the site keeps writing (WAL), which a plain file copy
  of `db.sqlite3` (without its `-wal` file) does not guarantee. The copy is switched out of
  WAL mode so that it stands alone.
- PostgreSQL: `pg_dump --format=custom`, the archive `pg_restore` reads back, with the
  connection settings Django uses; the password goes through the environment (PGPASSWORD),
  never on the command line, where any local user could read it in the process list.

Both work on Django's own connection, so they work as well on the in-memory SQLite
database of the test run as on a file.
"""

import datetime
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction

SQLITE_HEADER = b"SQLite format 3\x00"
PGDUMP_HEADER = b"PGDMP"
EXTENSIONS = {"sqlite": ".sqlite3", "postgresql": ".dump"}
VENDOR_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# A table every Lien database has: a valid archive of some other database lacks it.
MARKER_TABLE = "django_migrations"


class BackupError(Exception):
    """A backup or restore refused or failed; the message is for the operator, in French."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    vendor: str


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    size: int
    vendor: str
    database: str
    # Migrations of the code that the restored database lacks (an older backup).
    pending_migrations: list[str] = field(default_factory=list)
    journaled: bool = False


def human_size(size: int) -> str:
    """A size as an operator reads it, in French units (octets, Ko, Mo, Go)."""
    value = float(size)
    for unit in ("octets", "Ko", "Mo", "Go"):
        if value < 1024 or unit == "Go":
            break
        value /= 1024
    if unit == "octets":
        return f"{size} octets"
    return f"{value:.1f} {unit}".replace(".", ",")


def backup_dir() -> Path:
    """Where backups go when no --output is given.

    The setting wins, then the environment, then `backups/` at the project root, so that a
    deployment chooses a disk (ideally another one) without changing code.
    """
    configured = getattr(settings, "LIEN_BACKUP_DIR", None) or os.environ.get("LIEN_BACKUP_DIR")
    return Path(configured) if configured else Path(settings.BASE_DIR) / "backups"


def default_backup_path(vendor: str, now: datetime.datetime | None = None) -> Path:
    """`lien-<vendor>-<YYYYmmdd-HHMMSS>.<ext>` in the backup directory (local time, sortable)."""
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    return backup_dir() / f"lien-{vendor}-{stamp}{EXTENSIONS[vendor]}"


def _connection(using: str) -> BaseDatabaseWrapper:
    connection = connections[using]
    if connection.vendor not in EXTENSIONS:
        raise BackupError(
            f"Moteur de base de données non pris en charge : {connection.vendor} "
            "(seuls SQLite et PostgreSQL le sont)."
        )
    return connection


def _database_label(connection: BaseDatabaseWrapper) -> str:
    return str(connection.settings_dict["NAME"])


# --- backup ---------------------------------------------------------------------------------


def database_backup(*, output: Path | None = None, using: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Write the whole database to one new file and return where and how big.

    The copy is written under a temporary name beside the destination and renamed at the
    end, so that a file with the final name is always a complete backup, never the remains
    of one that failed halfway. It is readable by its owner only: it holds nominative data.
    An existing file is never overwritten.
    """
    connection = _connection(using)
    vendor = connection.vendor
    path = Path(output) if output else default_backup_path(vendor)
    # A missing pg_dump is said before anything is created.
    pg_dump = _pg_tool("pg_dump") if vendor == "postgresql" else ""
    partial = _reserve(path)
    try:
        if connection.in_atomic_block:
            # SQLite cannot copy from a connection in a write transaction (it would wait
            # forever), and pg_dump would miss the rows not committed yet.
            raise BackupError("Une sauvegarde ne peut pas se faire dans une transaction.")
        if vendor == "sqlite":
            _sqlite_backup(connection, partial)
        else:
            _postgresql_backup(connection, partial, pg_dump)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if using == DEFAULT_DB_ALIAS:
        # Journaled once written (so the event is not inside the copy it describes).
        with transaction.atomic(using=using):
            audit.record(action=AuditAction.BACKUP, note=f"Sauvegarde écrite : {path.name}")
    return BackupResult(path=path, size=path.stat().st_size, vendor=vendor)


def _reserve(path: Path) -> Path:
    """Check the destination and create the empty temporary file (mode 0600) beside it."""
    if path.is_dir():
        raise BackupError(f"{path} est un dossier : indiquez un nom de fichier.")
    if path.exists():
        raise BackupError(f"Le fichier {path} existe déjà : choisissez un autre nom.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(
            f"Impossible de créer le dossier de sauvegarde {path.parent} : {exc.strerror or exc}."
        ) from exc
    partial = path.with_name(f".{path.name}.partiel")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise BackupError(
            f"Une sauvegarde vers {path} semble en cours ({partial.name} existe) ; "
            "si ce n'est pas le cas, supprimez ce fichier."
        ) from exc
    except OSError as exc:
        raise BackupError(
            f"Le dossier {path.parent} n'est pas accessible en écriture : {exc.strerror or exc}."
        ) from exc
    os.close(descriptor)
    return partial


def _sqlite_backup(connection: BaseDatabaseWrapper, target: Path) -> None:
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        connection.connection.backup(destination)
        # The live database is in WAL mode and the copy inherits it; a rollback journal
        # makes the copy one self-contained file (no -wal or -shm beside it).
        destination.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"La copie SQLite a échoué : {exc}.") from exc
    finally:
        destination.close()


def _pg_tool(name: str) -> str:
    executable = shutil.which(name)
    if executable is None:
        raise BackupError(
            f"{name} est introuvable : installez le client PostgreSQL de la même version "
            "majeure que le serveur (paquet postgresql-client) et vérifiez le PATH."
        )
    return executable


def _pg_connection_args(connection: BaseDatabaseWrapper) -> tuple[list[str], dict[str, str]]:
    """Options and environment that reach the database Django uses, without the password
    in the arguments; --no-password so that a missing one fails instead of prompting."""
    settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS") or {}
    args = ["--no-password"]
    for flag, key in (
        ("--host", "HOST"),
        ("--port", "PORT"),
        ("--username", "USER"),
        ("--dbname", "NAME"),
    ):
        if settings_dict.get(key):
            args.append(f"{flag}={settings_dict[key]}")
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        if options.get(option):
            env[variable] = str(options[option])
    return args, env


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(  # noqa: S603 — fixed PostgreSQL tool, list args, no shell
        args, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.strip() or f"code de sortie {result.returncode}"
        raise BackupError(f"{what} a échoué : {detail}")
    return result.stdout


def _postgresql_backup(connection: BaseDatabaseWrapper, target: Path, executable: str) -> None:
    args, env = _pg_connection_args(connection)
    _run(
        [
            executable,
            *args,
            "--format=custom",
            f"--file={target}",
        ],
        env,
        "pg_dump",
    )


# --- restore --------------------------------------------------------------------------------


def check_backup_file(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Refuse, with the reason, a file that cannot be restored into the current database:
    missing, of the other engine, of no known kind, damaged, or not a Lien database."""
    connection = _connection(using)
    if not path.exists():
        raise BackupError(f"Fichier introuvable : {path}.")
    if not path.is_file():
        raise BackupError(f"{path} n'est pas un fichier de sauvegarde.")
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"Impossible de lire {path} : {exc.strerror or exc}.") from exc
    kind = _kind_of(head)
    current = connection.vendor
    if kind is None:
        hint = ""
        if current == "postgresql" and head.startswith(b"--"):
            hint = (
                " C'est un export SQL en texte : il se restaure avec psql ; "
                "`manage.py backup` produit le format custom de pg_dump."
            )
        raise BackupError(
            f"{path} n'est pas une sauvegarde reconnue : ni base SQLite, ni archive "
            f"pg_dump au format custom.{hint}"
        )
    if kind != current:
        raise BackupError(
            f"{path} est une sauvegarde {VENDOR_LABELS[kind]}, mais la base actuelle est "
            f"{VENDOR_LABELS[current]} : restauration impossible. Restaurez-la sur une "
            f"installation {VENDOR_LABELS[kind]}."
        )
    if current == "sqlite":
        _check_sqlite_file(path)
    else:
        _check_pg_archive(path)


def _kind_of(head: bytes) -> str | None:
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.startswith(PGDUMP_HEADER):
        return "postgresql"
    return None


def _open_read_only(path: Path) -> sqlite3.Connection:
    # Read-only: checking or restoring from a backup never changes it.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _check_sqlite_file(path: Path) -> None:
    try:
        source = _open_read_only(path)
        try:
            problems = [row[0] for row in source.execute("PRAGMA quick_check")]
            has_marker = source.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MARKER_TABLE]
            ).fetchone()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} est une base SQLite illisible : {exc}.") from exc
    if problems != ["ok"]:
        raise BackupError(f"{path} est endommagé : {'; '.join(problems[:3])}.")
    if not has_marker:
        raise BackupError(f"{path} est une base SQLite, mais pas une base de Lien.")


def _check_pg_archive(path: Path) -> None:
    executable = _pg_tool("pg_restore")
    listing = _run(
        [executable, "--list", str(path)], dict(os.environ), f"La lecture de l'archive {path}"
    )
    if not re.search(rf"\bTABLE \S+ {MARKER_TABLE}\b", listing):
        raise BackupError(f"{path} est une archive pg_dump, mais pas d'une base de Lien.")


def database_restore(
    *,
    path: Path,
    confirm: Callable[[Path], bool] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> RestoreResult:
    """Replace the whole current database with the backup at `path`.

    Every row written since the backup is lost, so `confirm` (the operator's answer) is
    asked once the file has been checked — no one confirms a restore that would fail
    anyway — and a refusal changes nothing. The restore is journaled in the restored
    database (a journal restored from the backup would otherwise show no trace of it),
    unless the backup lacks migrations of the code, in which case the operator runs
    `migrate` first and the tables may not match yet.
    """
    path = Path(path)
    check_backup_file(path, using=using)
    if confirm is not None and not confirm(path):
        raise BackupError(
            "Restauration annulée : rien n'a été modifié "
            "(répondez « oui », ou passez --noinput dans un script)."
        )
    connection = _connection(using)
    if connection.in_atomic_block:
        raise BackupError("Une restauration ne peut pas se faire dans une transaction.")
    # Other connections of this process would keep reading the old database (SQLite) or
    # hold locks that DROP TABLE waits for (PostgreSQL). Closing an in-memory SQLite
    # database is a no-op in Django, so the test run keeps its database.
    connections.close_all()
    if connection.vendor == "sqlite":
        _sqlite_restore(connection, path)
    else:
        _postgresql_restore(connection, path)
    pending = _pending_migrations(connection)
    journaled = False
    if not pending and using == DEFAULT_DB_ALIAS:
        with transaction.atomic(using=using):
            audit.record(
                action=AuditAction.BACKUP,
                note=f"Base restaurée depuis la sauvegarde {path.name}",
            )
        journaled = True
    return RestoreResult(
        path=path,
        size=path.stat().st_size,
        vendor=connection.vendor,
        database=_database_label(connection),
        pending_migrations=pending,
        journaled=journaled,
    )


def _sqlite_restore(connection: BaseDatabaseWrapper, path: Path) -> None:
    # The backup API writes into the live database page by page under its write lock
    # and keeps the destination's WAL mode; through Django's connection it reaches the
    # in-memory database of the test run as well as a file.
    connection.ensure_connection()
    try:
        source = _open_read_only(path)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"La restauration SQLite a échoué : {exc}.") from exc


def _postgresql_restore(connection: BaseDatabaseWrapper, path: Path) -> None:
    if not connection.settings_dict.get("NAME"):
        # Without --dbname, pg_restore prints SQL instead of restoring.
        raise BackupError("Le nom de la base (NAME) est nécessaire pour restaurer.")
    executable = _pg_tool("pg_restore")
    args, env = _pg_connection_args(connection)
    # --clean --if-exists drops each object of the archive before recreating it;
    # --single-transaction makes it all or nothing; --no-owner lets the archive of one
    # role be restored by another.
    _run(
        [
            executable,
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            str(path),
        ],
        env,
        "pg_restore",
    )


def _pending_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
