"""utility_summary (the steering reports' call) and the evaluation page, on the current
database (DATABASE_URL, the demo's by default: `make demo` first).

    .venv/bin/python bench/bench_evaluation.py [--runs 20]

Prints p50 / p95 in ms and the number of queries, for one service (the demo's final
evaluation) and for every service of the database over the same period. Prints a message
and stops (exit 0) when there is no evaluation to read (or no table yet).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django

django.setup()

from django.db import DatabaseError, connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from lien.evaluation import queries  # noqa: E402
from lien.evaluation.models import Evaluation, EvaluationState  # noqa: E402
from lien.structures.models import Service  # noqa: E402


def measure(label: str, call, runs: int) -> None:
    with CaptureQueriesContext(connection) as captured:
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"{label:<48} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
        f"{len(captured)} requêtes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    try:
        evaluation = (
            Evaluation.objects.filter(state=EvaluationState.FINAL).order_by("-starts_on").first()
        )
    except DatabaseError:  # not migrated yet
        evaluation = None
    if evaluation is None:
        print("Aucune évaluation finalisée dans cette base : lancez `make demo` d'abord.")
        return
    start, end = evaluation.starts_on, evaluation.ends_on
    services = list(Service.objects.all())
    print(f"{connection.vendor}, période {start} – {end}, {len(services)} dispositif(s)")
    measure(
        "utility_summary, 1 dispositif",
        lambda: queries.utility_summary(services=[evaluation.service], start=start, end=end),
        runs,
    )
    measure(
        f"utility_summary, {len(services)} dispositifs",
        lambda: queries.utility_summary(services=services, start=start, end=end),
        runs,
    )
    measure(
        "evaluation_summary (page), non protégé",
        lambda: queries.evaluation_summary(evaluation, protected=False),
        runs,
    )


if __name__ == "__main__":
    main()
