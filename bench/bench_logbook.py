"""Logbook write path under load, on PostgreSQL, through a real server on loopback.

    .venv/bin/python bench/bench_logbook.py [--clients 50] [--requests 20] [--batch 1000]

Builds a throwaway database (`lien_bench_logbook`, dropped and recreated), loads the
référentiel, the territories and the demo structures, starts gunicorn on 127.0.0.1, then
measures:
  1. single-entry creates: N concurrent clients (each a demo mediator with its own
     session), each sending R one-entry sync requests back to back — p50/p95/max latency
     and throughput;
  2. one sync request carrying a batch of B new entries, then the same batch again
     (idempotent replay).
Targets (DESIGN, issue 3): p95 < 50 ms per entry, < 2 s per 1,000-entry batch, 2 cores.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB_NAME = "lien_bench_logbook"
PORT = 8765
PASSWORD = "bench-password-2026"  # noqa: S105 — throwaway accounts on a throwaway database


def pg_base_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith("postgres"):
        sys.exit("bench_logbook: PostgreSQL requis (DATABASE_URL=postgres://…).")
    return url.rsplit("/", 1)[0]


def server_env(db_url: str, static_root: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=db_url,
        SECRET_KEY="bench-" + "s" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        AXES_FAILURE_LIMIT="1000",
        LIEN_DEMO_LOGINS_ENABLED="1",
        STATIC_ROOT=static_root,
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 — our manage.py, fixed arguments
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} a échoué :\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(env: dict, clients: int) -> dict:
    admin_url = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "load_referentiel")
    manage(env, "load_territories")
    manage(env, "demo", "--months", "0")
    # Give N demo mediators a password, and describe what an entry needs.
    script = f"""
import json
from lien.core.models import Membership
out = []
mediators = Membership.objects.filter(role="mediator").select_related("structure")
for m in mediators.order_by("created_at")[:{clients}]:
    m.user.set_password({PASSWORD!r}); m.user.save()
    service = m.structure.services.filter(is_active=True).first()
    commune = m.structure.commune
    out.append({{"email": m.user.email, "service": str(service.pk), "commune": commune.code}})
print(json.dumps(out))
"""
    return json.loads(manage(env, "shell", "--no-imports", "-c", script).strip().splitlines()[-1])


class Session:
    """A logged-in browser-like client on one keep-alive connection."""

    def __init__(self, email: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookies: dict[str, str] = {}
        self.request("GET", "/accounts/login/")
        body = urlencode(
            {
                "username": email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        )
        status, _ = self.request(
            "POST", "/accounts/login/", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise RuntimeError(f"connexion refusée pour {email} ({status})")

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
            headers["Referer"] = f"http://127.0.0.1:{PORT}/"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            # The server closed the keep-alive connection: reconnect once.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                match = re.match(r"([^=]+)=([^;]*)", value)
                if match:
                    self.cookies[match[1]] = match[2]
        return response.status, data

    def sync(self, entries):
        status, data = self.request(
            "POST",
            "/journal-de-bord/sync/",
            json.dumps({"entries": entries}),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"sync {status}: {data[:200]!r}")
        return json.loads(data)["results"]


def entry(spec: dict) -> dict:
    started = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "data": {
            "service": spec["service"],
            "started_at": started,
            "duration_minutes": 15,
            "commune": spec["commune"],
            "activity_type": "gestion-conflits",
            "domain": "espaces-publics",
            "situation_category": "regroupements",
            "origin": "patrol",
            "timing": "real_time",
            "form": "individual",
            "people_met": 3,
            "outcome": "apaise-resolu",
        },
    }


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit("le serveur n'a pas démarré")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--rate",
        type=float,
        default=25.0,
        help="Débit total (saisies/s) de la mesure à charge réaliste, réparti entre clients.",
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    db_url = f"{pg_base_url()}/{DB_NAME}"
    static_root = tempfile.mkdtemp(prefix="lien-bench-static-")
    env = server_env(db_url, static_root)
    print(f"Préparation de {DB_NAME}…", flush=True)
    specs = prepare(env, args.clients)
    server = subprocess.Popen(  # noqa: S603
        [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_port(PORT)
        sessions = [Session(spec["email"]) for spec in specs]
        print(
            f"{len(sessions)} clients connectés ; gunicorn {args.workers} workers × "
            f"{args.threads} threads ; {os.cpu_count()} cœurs",
            flush=True,
        )

        def run(label: str, pause) -> None:
            """Each client sends R one-entry syncs; `pause()` is its think time between two."""
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            barrier = threading.Barrier(len(sessions))

            def client(session: Session, spec: dict, seed: int) -> None:
                rng = random.Random(seed)
                barrier.wait()
                for _ in range(args.requests):
                    time.sleep(pause(rng))
                    started = time.perf_counter()
                    try:
                        result = session.sync([entry(spec)])[0]
                        ok = result["status"] == "created"
                    except Exception as exc:
                        ok, result = False, str(exc)
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        if not ok:
                            errors.append(str(result))

            threads = [
                threading.Thread(target=client, args=(s, spec, n))
                for n, (s, spec) in enumerate(zip(sessions, specs, strict=True))
            ]
            wall = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - wall
            ms = [x * 1000 for x in latencies]
            print(
                f"{label} : p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
                f"max {max(ms):.1f} ms, {len(ms) / wall:.0f} saisies/s, erreurs {len(errors)}"
            )
            if errors:
                print("  première erreur :", errors[0][:300])

        clients = len(sessions)
        run(
            f"Saisie unitaire, {clients} clients à ~{args.rate:g} saisies/s au total",
            lambda rng: rng.expovariate(args.rate / clients),
        )
        run(
            f"Saisie unitaire, {clients} clients sans pause (saturation)",
            lambda rng: 0.0,
        )

        batch = [entry(specs[0]) for _ in range(args.batch)]
        session = sessions[0]
        started = time.perf_counter()
        results = session.sync(batch)
        first = time.perf_counter() - started
        created = sum(r["status"] == "created" for r in results)
        started = time.perf_counter()
        again = session.sync(batch)
        replay = time.perf_counter() - started
        replayed = sum(r["status"] == "already_synced" for r in again)
        print(
            f"Lot de {args.batch} saisies : {first:.2f} s ({created} créées) ; "
            f"renvoi du même lot : {replay:.2f} s ({replayed} déjà reçues)"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
