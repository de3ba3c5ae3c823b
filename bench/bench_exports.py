"""Exports of a big list: the team log as CSV (streamed) and XLSX, and the full ZIP.

    .venv/bin/python bench/bench_exports.py                  # 100,000 interventions, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lien .venv/bin/python bench/bench_exports.py
    .venv/bin/python bench/bench_exports.py --size 20000

Works on a throwaway test database (a SQLite file, or `test_<name>` on PostgreSQL). One
structure, one service, one mediator; `--size` interventions with their mediator link.
Prints, for each download through the test client as the structure's coordinator: the
wall time, the file's size and the peak of Python memory allocated while it was produced
— the process's peak RSS so far (it only grows: compare runs of several `--size`), or with
`--trace-memory` the peak of Python allocations during that step (tracemalloc, much slower).
The point of streaming is that this peak does not grow with the rows.
Prints figures; judges nothing.
"""

import argparse
import datetime
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from lien.core.models import Role  # noqa: E402
from lien.exchange import exports  # noqa: E402
from lien.logbook.models import Intervention  # noqa: E402
from lien.referentiel.models import ActivityType, Domain, Outcome  # noqa: E402
from lien.referentiel.services import referentiel_load  # noqa: E402


def fill(size: int):
    from tests.factories import ServiceFactory, make_membership, make_territories

    referentiel_load()
    territories = make_territories()
    service = ServiceFactory()
    structure = service.structure
    mediator = make_membership(Role.MEDIATOR, structure=structure)
    coordinator = make_membership(Role.COORDINATOR, structure=structure)
    activity, domain = ActivityType.objects.first(), Domain.objects.first()
    outcome = Outcome.objects.first()
    start = timezone.now() - datetime.timedelta(days=300)
    through = Intervention.mediators.through
    batch = 5000
    for first in range(0, size, batch):
        rows = Intervention.objects.bulk_create(
            [
                Intervention(
                    structure=structure, service=service, author=mediator.user,
                    started_at=start + datetime.timedelta(minutes=3 * n),
                    commune=territories["roubaix"], activity_type=activity, domain=domain,
                    outcome=outcome, people_met=1 + n % 4,
                    note="=Remarque de terrain" if n % 97 == 0 else "Remarque de terrain",
                )
                for n in range(first, min(first + batch, size))
            ]
        )  # fmt: skip
        through.objects.bulk_create(
            [through(intervention_id=i.pk, user_id=mediator.user_id) for i in rows]
        )
    return coordinator


TRACE = False


def measure(label: str, produce) -> None:
    if TRACE:
        tracemalloc.start()
    started = time.perf_counter()
    size = produce()
    seconds = time.perf_counter() - started
    if TRACE:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        memory = f"pic mémoire Python {peak / 1e6:6.1f} Mo"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
        memory = f"pic RSS du processus {peak / 1e3:6.0f} Mo"
    print(f"{label:<38} {seconds:7.2f} s  {size / 1e6:7.1f} Mo  {memory}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="Python allocations by tracemalloc (exact per step, but several times slower)",
    )
    args = parser.parse_args()
    global TRACE
    TRACE = args.trace_memory
    tmp = tempfile.TemporaryDirectory()
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    settings.LIEN_EXPORT_ROOT = Path(tmp.name) / "exports"
    setup_test_environment()
    old_name = db["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"base : {connection.vendor}, {args.size} interventions")
    try:
        started = time.perf_counter()
        coordinator = fill(args.size)
        print(f"{'remplissage':<38} {time.perf_counter() - started:7.2f} s")
        client = Client()
        client.force_login(coordinator.user, backend="lien.core.auth.EmailBackend")
        session = client.session
        session["lien_membership_id"] = str(coordinator.pk)
        session.save()

        def download(fmt):
            def run():
                response = client.get("/journal-de-bord/equipe/", {"export": fmt})
                if response.status_code != 200:
                    raise SystemExit(f"réponse {response.status_code}")
                if response.streaming:
                    return sum(len(chunk) for chunk in response.streaming_content)
                return len(response.content)

            return run

        measure("journal de l'équipe, CSV (flux)", download("csv"))
        measure("journal de l'équipe, XLSX", download("xlsx"))

        def archive():
            state = exports.structure_export_request(actor=coordinator)
            state = exports.read_state(coordinator.structure_id, state["id"])
            if state["state"] != "done":
                raise SystemExit(f"export : {state}")
            return state["size"]

        measure("export complet de la structure (ZIP)", archive)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        tmp.cleanup()


if __name__ == "__main__":
    main()
