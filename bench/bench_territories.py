"""Time the territory loads on a throwaway database (SQLite, or PostgreSQL via DATABASE_URL).

    .venv/bin/python bench/bench_territories.py                  # shipped Nord + Pas-de-Calais
    .venv/bin/python bench/bench_territories.py --full DIR       # and the whole of France

DIR holds the full files of @etalab/decoupage-administratif (regions.json,
departements.json, communes.json, epci.json); they are not in the repository.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from lien.territories.loaders import DEMO_QPV, territory_load  # noqa: E402
from lien.territories.models import Territory, TerritoryAncestor  # noqa: E402
from lien.territories.services import territory_rebuild_ancestors  # noqa: E402


def timed(label: str, **kwargs) -> None:
    started = time.perf_counter()
    report = territory_load(**kwargs)
    seconds = time.perf_counter() - started
    created = sum(c.created for c in report.counts.values())
    updated = sum(c.updated for c in report.counts.values())
    unchanged = sum(c.unchanged for c in report.counts.values())
    print(
        f"{label:<42} {seconds:6.2f} s  créés {created:>6}  mis à jour {updated:>5}  "
        f"inchangés {unchanged:>6}  appartenances {report.closure_rows}"
    )


def empty() -> None:
    TerritoryAncestor.objects.all().delete()
    Territory.secondary_parents.through.objects.all().delete()
    Territory.objects.update(parent=None)
    Territory.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", type=Path, help="folder of the full COG files")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # A file, not the in-memory default, to time what a deployment does.
        db["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    old_name = db["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"base : {connection.vendor}")
    try:
        timed("Nord + Pas-de-Calais (premier chargement)")
        timed("Nord + Pas-de-Calais (relance, inchangé)")
        timed("QPV de démonstration", load_cog=False, qpv=DEMO_QPV, qpv_is_demo=True)
        if args.full:
            empty()
            files = {
                key: args.full / f"{key}.json"
                for key in ("regions", "departements", "communes", "epci")
            }
            timed("France entière (premier chargement)", **files)
            timed("France entière (relance, inchangé)", **files)
            started = time.perf_counter()
            territory_rebuild_ancestors()
            seconds = time.perf_counter() - started
            print(f"{'table d’appartenance seule (inchangée)':<42} {seconds:6.2f} s")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


if __name__ == "__main__":
    main()
