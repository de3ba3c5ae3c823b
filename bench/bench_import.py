"""Import throughput: N generated interventions through the dry run and the commit.

    .venv/bin/python bench/bench_import.py                  # 100,000 rows
    .venv/bin/python bench/bench_import.py --rows 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/bench_import.py

On PostgreSQL (DATABASE_URL=postgres://…) it works in its own database, `lien_bench_import`
(or `--database NAME`) on that server, dropped and recreated, and dropped again at the end
unless `--keep`; otherwise in a throwaway SQLite file. Steps:

1. `migrate`, `load_referentiel`, `load_territories` (the shipped Nord / Pas-de-Calais
   extract, with its demonstration QPV), one structure with one service and a coordinator.
2. A CSV (UTF-8, `;`) of N interventions: distinct start times going back 3 minutes per
   row from yesterday, 12 communes of the extract (`--communes`: a structure works on a
   few; the roll-ups' cost grows with the distinct keys) and their QPV, every référentiel
   column filled by code or by label, French or ISO dates, and the pair of mediators of
   each intervention (two of the structure's 8, by e-mail).
3. The same path as the pages, without the task queue: `import_job_create` (reads the
   header), `import_job_map` (its task is left queued), then `import_job_validate` (the dry
   run) and `import_job_apply` (the commit: validation again, bulk inserts, roll-ups, one
   journal event), each timed; then a check that the cubes equal the facts.

Target (issue 7): ≥ 5,000 rows/s for validation + commit on PostgreSQL. The script prints
figures; it judges nothing.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
DB_NAME = "lien_bench_import"


def manage(env: dict, *args: str) -> None:
    result = subprocess.run(  # noqa: S603 — our manage.py, fixed arguments
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} a échoué :\n{result.stdout}\n{result.stderr}")


def database_url(args, workdir: str) -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{workdir}/bench_import.sqlite3", lambda: None
    import psycopg

    server = url.rsplit("/", 1)[0]
    name = args.database or DB_NAME
    try:
        admin = psycopg.connect(server + "/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        print(f"bench_import : PostgreSQL injoignable ({exc}) ; rien mesuré.")
        sys.exit(0)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{server}/{name}", drop


#: Origins by code and by label (with a typographic apostrophe, as a spreadsheet types it).
ORIGINS = ("patrol", "Sollicitation d’un habitant ou usager", "resident")


def write_csv(path: Path, rows: int, vocab: dict) -> None:
    import datetime

    rng = random.Random(7)
    start = datetime.datetime.combine(
        datetime.date.today() - datetime.timedelta(days=1),  # noqa: DTZ011 — local dates
        datetime.time(18, 0),
    )
    communes, qpv_of = vocab["communes"], vocab["qpv_of"]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("date;heure;durée;commune;qpv;activité;domaine;situation;issue;personnes;"
                  "origine;temporalité;médiateurs\r\n")  # fmt: skip
        for i in range(rows):
            when = start - datetime.timedelta(minutes=3 * i)
            day = when.strftime("%d/%m/%Y") if i % 2 else when.strftime("%Y-%m-%d")
            commune = rng.choice(communes)
            qpv = qpv_of.get(commune, "") if rng.random() < 0.6 else ""
            out.write(
                f"{day};{when:%H:%M};{rng.choice((10, 15, 20, 30, 45))};{commune};{qpv};"
                f"{rng.choice(vocab['activities'])};{rng.choice(vocab['domains'])};"
                f"{rng.choice(vocab['situations'])};{rng.choice(vocab['outcomes'])};"
                f"{rng.randint(1, 6)};{rng.choice(ORIGINS)};"
                f"{rng.choice(('', 'real_time', 'Différé'))};"
                f"{' | '.join(rng.sample(vocab['mediators'], 2))}\r\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default="")
    parser.add_argument("--keep", action="store_true", help="garder la base PostgreSQL")
    parser.add_argument("--communes", type=int, default=12, help="communes d'intervention")
    parser.add_argument("--profile", action="store_true", help="profil de l'import (cProfile)")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="lien-bench-import-")
    url, drop = database_url(args, workdir)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base", DATABASE_URL=url,
        SECRET_KEY="bench-" + "s" * 50, DEBUG="0", ALLOWED_HOSTS="localhost",
        MEDIA_ROOT=f"{workdir}/media", LOG_LEVEL="WARNING",
    )  # fmt: skip
    try:
        t0 = time.perf_counter()
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_referentiel")
        manage(env, "load_territories")
        os.environ.update(env)
        import django

        django.setup()
        measure(args, workdir, url, time.perf_counter() - t0)
    finally:
        from django.db import connections

        connections.close_all()
        drop()


def measure(args, workdir: str, url: str, setup_seconds: float) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lien.core.models import Membership, Role, User
    from lien.exchange.imports import services
    from lien.exchange.models import ImportKind, ImportState
    from lien.indicators import rollups
    from lien.logbook.models import Intervention
    from lien.referentiel import models as ref
    from lien.structures.models import Service, Structure
    from lien.territories.models import Territory

    communes = list(Territory.objects.communes().values_list("code", flat=True))
    qpv_of = {}
    for code, commune in Territory.objects.qpvs().values_list("code", "parent__code"):
        qpv_of.setdefault(commune, code)
    vocab = {
        "communes": communes[: args.communes],
        "qpv_of": qpv_of,
        "activities": [
            *ref.ActivityType.objects.values_list("code", flat=True),
            "Présence active de proximité",
        ],
        "domains": list(ref.Domain.objects.values_list("code", flat=True)),
        "situations": [*ref.SituationCategory.objects.values_list("code", flat=True), ""],
        "outcomes": [*ref.Outcome.objects.values_list("label", flat=True), ""],
    }
    structure = Structure.objects.create(
        name="Structure du banc d'essai", siret="73282932000074",
        employer_type=ref.EmployerType.objects.first(),
        commune=Territory.objects.communes().get(code=communes[0]),
    )  # fmt: skip
    service = Service.objects.create(
        structure=structure, name="Médiation", stage=ref.ProjectStage.objects.first(),
        starts_on="2015-01-01",
    )  # fmt: skip
    service.domains.set(ref.Domain.objects.all())
    user = User.objects.create_user("bench-import@example.org")
    actor = Membership.objects.create(user=user, role=Role.COORDINATOR, structure=structure)
    vocab["mediators"] = [f"mediateur{n}@example.org" for n in range(8)]
    for email in vocab["mediators"]:
        member = User.objects.create_user(email)
        Membership.objects.create(user=member, role=Role.MEDIATOR, structure=structure)

    path = Path(workdir) / "interventions.csv"
    t = time.perf_counter()
    write_csv(path, args.rows, vocab)
    generate_seconds = time.perf_counter() - t
    size = path.stat().st_size

    t = time.perf_counter()
    job = services.import_job_create(
        actor=actor, kind=ImportKind.INTERVENTIONS,
        upload=SimpleUploadedFile("interventions.csv", path.read_bytes(), "text/csv"),
    )  # fmt: skip
    services.import_job_map(actor=actor, job=job, mapping=job.mapping)
    upload_seconds = time.perf_counter() - t

    t = time.perf_counter()
    job = services.import_job_validate(job_id=job.pk)
    validate_seconds = time.perf_counter() - t
    if job.state != ImportState.VALIDATED:
        sys.exit(f"dry run: {job.state} {job.error} {job.rejects_preview[:5]}")
    services.import_job_commit(actor=actor, job=job)
    t = time.perf_counter()
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            job = services.import_job_apply(job_id=job.pk)
        profile.print_stats("cumtime")
    else:
        from collections import Counter

        from django.db import connection

        spent = Counter()

        def timed(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent[sql.split(" ", 3)[2] if sql.startswith("INSERT") else sql[:6]] += (
                    time.perf_counter() - start
                )

        from lien.exchange.imports import kinds

        def timed_call(name, function):
            def wrapper(*a, **k):
                start = time.perf_counter()
                try:
                    return function(*a, **k)
                finally:
                    spent[name] += time.perf_counter() - start

            return wrapper

        copy_rows, commit = kinds._copy_rows, connection.commit
        kinds._copy_rows = timed_call("COPY", copy_rows)
        connection.commit = timed_call("COMMIT", commit)
        try:
            with connection.execute_wrapper(timed):
                job = services.import_job_apply(job_id=job.pk)
        finally:
            kinds._copy_rows, connection.commit = copy_rows, commit
    commit_seconds = time.perf_counter() - t
    if job.state != ImportState.DONE:
        sys.exit(f"commit: {job.state} {job.error} {job.rejects_preview[:5]}")
    created = Intervention.objects.filter(structure=structure).count()
    links = Intervention.mediators.through.objects.filter(intervention__structure=structure).count()
    t = time.perf_counter()
    differences = sum(len(lines) for lines in rollups.differences().values())
    check_seconds = time.perf_counter() - t

    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    rows = args.rows
    print(f"bench_import — {engine}, {rows:,} lignes ({size / 1e6:.1f} Mo de CSV), "
          f"{os.cpu_count()} cœurs".replace(",", " "))  # fmt: skip
    print(f"  préparation de la base        {setup_seconds:8.1f} s")
    print(f"  génération du CSV             {generate_seconds:8.1f} s")
    print(f"  dépôt + correspondance        {upload_seconds:8.2f} s")
    rate = "{:9,.0f} lignes/s".format
    dry = rate(rows / validate_seconds)
    print(f"  vérification (dry run)        {validate_seconds:8.1f} s   {dry}")
    print(
        f"  import (validation + écriture){commit_seconds:8.1f} s   {rate(rows / commit_seconds)}"
    )
    total = validate_seconds + commit_seconds
    print(f"  dry run + import              {total:8.1f} s   {rows / total:9,.0f} lignes/s")
    if not args.profile:
        detail = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.most_common(6))
        print(f"    dont SQL : {detail}")
    print(f"  interventions créées          {created:>9,}")
    print(f"  liens aux médiateur·rices     {links:>9,}")
    print(f"  agrégats ≠ faits              {differences:>9}   (contrôle en {check_seconds:.1f} s)")
    print("  cible : ≥ 5 000 lignes/s pour validation + écriture sur PostgreSQL")


if __name__ == "__main__":
    main()
