"""`manage.py backup` and `manage.py restore`, on the database the suite runs on (SQLite or
PostgreSQL): a restore brings back exactly the figures computed at backup time, and every
refusal says why.

Tests that back up or restore are transactional: neither may run inside a transaction
(SQLite cannot copy from a connection that is writing; pg_dump reads from another session,
which sees committed rows only; the restore replaces the tables under Django's feet).
"""

import datetime
import io
import re
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from lien.core.backup import PGDUMP_HEADER, SQLITE_HEADER, human_size
from lien.core.models import AuditAction, AuditEvent, Role
from lien.indicators import dashboards, engine, rollups
from lien.indicators.models import IndicatorDefinition
from lien.indicators.services import indicators_load
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.logbook.models import Intervention
from lien.referentiel.services import referentiel_load
from tests.factories import ServiceFactory, make_membership

VENDOR = connection.vendor
OWN_HEADER = SQLITE_HEADER if VENDOR == "sqlite" else PGDUMP_HEADER
OTHER_HEADER = PGDUMP_HEADER if VENDOR == "sqlite" else SQLITE_HEADER


def previous_month() -> datetime.date:
    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def log_entry(mediator, service, *, people, outcome="apaise-resolu", qpv="", day=10):
    """One intervention through the real write path (form → service → roll-ups)."""
    data = {
        "service": str(service.pk),
        "started_at": f"{previous_month().replace(day=day).isoformat()}T10:00",
        "duration_minutes": 20 + people,
        "commune": "59512",
        "qpv": qpv,
        "place_type": "hall-immeuble",
        "activity_type": "gestion-conflits",
        "domain": "habitat-social",
        "situation_category": "nuisances-sonores",
        "origin": "resident",
        "timing": "real_time",
        "form": "individual",
        "people_met": people,
        "outcome": outcome,
        "emergency_handoff": "",
        "mediators": [],
        "note": "",
    }
    form = InterventionForm.from_payload(data, structure=service.structure, author=mediator.user)
    assert form.is_valid(), form.errors
    return services.intervention_create(actor=mediator, data=form.intervention_data())


def figures(perimeter) -> dict:
    """Every indicator's value and every table of three dashboards, as shown."""
    definitions = IndicatorDefinition.objects.order_by("code")
    values = engine.indicator_values(definitions, perimeter)
    return {
        "indicators": {code: value.value for code, value in values.items()},
        **{
            code: dashboards.build(code, perimeter, compare=False).tables()
            for code in ("overview", "activity", "results")
        },
    }


def forget_caches():
    """The per-process caches keep ids read before the restore; a restarted server has none."""
    from lien.indicators.engine import forget_ids
    from lien.indicators.maps import forget_paths
    from lien.logbook.forms import forget_vocabularies

    forget_vocabularies()
    forget_ids()
    forget_paths()


@pytest.fixture
def team(territories):
    referentiel_load()
    indicators_load()
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    return {
        "service": service,
        "mediator": make_membership(Role.MEDIATOR, structure=service.structure),
    }


@pytest.mark.django_db(transaction=True)
def test_restore_brings_back_the_figures_of_the_backup(team, tmp_path):
    service, mediator = team["service"], team["mediator"]
    entries = [
        log_entry(mediator, service, people=2, qpv="QX05901D"),
        log_entry(mediator, service, people=3, outcome="non-resolu"),
        log_entry(mediator, service, people=4, outcome="refus-mediation", qpv="QX05901D"),
    ]
    month = previous_month()
    perimeter = engine.Perimeter(
        start=month, end=month, structure_ids=(str(service.structure_id),), protected=False
    )
    before = figures(perimeter)
    assert before["indicators"]["interventions"] == 3
    assert before["indicators"]["personnes-rencontrees"] == 9

    path = tmp_path / "lien.backup"
    out = io.StringIO()
    call_command("backup", output=str(path), stdout=out)
    assert path.read_bytes().startswith(OWN_HEADER)
    assert f"Sauvegarde écrite : {path} ({human_size(path.stat().st_size)})" in out.getvalue()

    # Changes after the backup: two more entries through the service, one row deleted
    # behind the roll-ups' back.
    log_entry(mediator, service, people=5, day=12)
    log_entry(mediator, service, people=1, outcome="accord-obtenu", day=13)
    Intervention.objects.filter(pk=entries[0].pk).delete()
    assert figures(perimeter) != before  # otherwise the comparison below proves nothing

    out = io.StringIO()
    call_command("restore", str(path), noinput=True, stdout=out)
    forget_caches()

    assert figures(perimeter) == before
    assert set(Intervention.objects.values_list("pk", flat=True)) == {e.pk for e in entries}
    assert not any(rollups.differences().values())  # cubes and facts restored together
    assert f"restaurée depuis {path}" in out.getvalue()
    assert AuditEvent.objects.filter(
        action=AuditAction.BACKUP, note="Base restaurée depuis la sauvegarde lien.backup"
    ).exists()
    # The restored database takes new writes as before.
    log_entry(mediator, service, people=6, day=14)
    assert figures(perimeter)["indicators"]["interventions"] == 4


@pytest.mark.django_db(transaction=True)
def test_restore_asks_for_confirmation_and_proceeds_on_oui(team, tmp_path, monkeypatch):
    path = tmp_path / "lien.backup"
    call_command("backup", output=str(path), stdout=io.StringIO())
    log_entry(team["mediator"], team["service"], people=2)
    questions = []
    monkeypatch.setattr("builtins.input", lambda prompt: questions.append(prompt) or "oui")
    out = io.StringIO()

    call_command("restore", str(path), stdout=out)

    assert questions == ["Tapez « oui » pour continuer : "]
    assert "vont être remplacées" in out.getvalue()
    assert not Intervention.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("answer", ["non", "", EOFError])
def test_restore_without_confirmation_changes_nothing(team, tmp_path, monkeypatch, answer):
    path = tmp_path / "lien.backup"
    call_command("backup", output=str(path), stdout=io.StringIO())
    log_entry(team["mediator"], team["service"], people=2)

    def reply(prompt):
        if answer is EOFError:
            raise EOFError
        return answer

    monkeypatch.setattr("builtins.input", reply)
    with pytest.raises(CommandError, match="Restauration annulée : rien n'a été modifié"):
        call_command("restore", str(path), stdout=io.StringIO())
    assert Intervention.objects.count() == 1


@pytest.mark.django_db
def test_restore_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        call_command("restore", str(tmp_path / "absent.dump"), noinput=True)


@pytest.mark.django_db
def test_restore_refuses_a_directory(tmp_path):
    with pytest.raises(CommandError, match="n'est pas un fichier de sauvegarde"):
        call_command("restore", str(tmp_path), noinput=True)


@pytest.mark.django_db
def test_restore_refuses_a_backup_of_the_other_engine(tmp_path):
    path = tmp_path / "other.backup"
    path.write_bytes(OTHER_HEADER + b"\x00" * 200)
    other, current = ("PostgreSQL", "SQLite") if VENDOR == "sqlite" else ("SQLite", "PostgreSQL")
    with pytest.raises(
        CommandError, match=f"est une sauvegarde {other}, mais la base actuelle est {current}"
    ):
        call_command("restore", str(path), noinput=True)


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a database", b"-- PostgreSQL dump\n"])
def test_restore_refuses_a_file_of_no_known_kind(tmp_path, content):
    path = tmp_path / "unknown.backup"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="n'est pas une sauvegarde reconnue"):
        call_command("restore", str(path), noinput=True)


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_damaged_backup(tmp_path):
    good = tmp_path / "good.backup"
    call_command("backup", output=str(good), stdout=io.StringIO())
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    with pytest.raises(CommandError, match=str(damaged)):
        call_command("restore", str(damaged), noinput=True)


@pytest.mark.django_db
@pytest.mark.skipif(VENDOR != "sqlite", reason="a SQLite file that is not Lien's")
def test_restore_refuses_a_sqlite_database_that_is_not_lien(tmp_path):
    import sqlite3

    path = tmp_path / "other-app.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (body TEXT)")
    other.close()
    with pytest.raises(CommandError, match="pas une base de Lien"):
        call_command("restore", str(path), noinput=True)


@pytest.mark.django_db(transaction=True)
def test_backup_default_name_in_the_backup_directory_owner_only(tmp_path):
    directory = tmp_path / "sauvegardes"
    out = io.StringIO()
    with override_settings(LIEN_BACKUP_DIR=str(directory)):
        call_command("backup", stdout=out)
    (path,) = directory.iterdir()  # no temporary file left behind
    extension = "sqlite3" if VENDOR == "sqlite" else "dump"
    assert re.fullmatch(rf"lien-{VENDOR}-\d{{8}}-\d{{6}}\.{extension}", path.name)
    assert path.read_bytes().startswith(OWN_HEADER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds nominative data
    assert str(path) in out.getvalue()


@pytest.mark.django_db
def test_backup_refuses_to_overwrite_a_file(tmp_path):
    path = tmp_path / "existing.backup"
    path.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("backup", output=str(path))
    assert path.read_bytes() == b"keep me"


@pytest.mark.django_db
def test_backup_refuses_a_destination_it_cannot_write(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError, match="Impossible de créer le dossier de sauvegarde"):
        call_command("backup", output=str(blocker / "lien.backup"))


@pytest.mark.django_db
@pytest.mark.skipif(VENDOR != "postgresql", reason="pg_dump is PostgreSQL's")
def test_backup_says_when_pg_dump_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandError, match="pg_dump est introuvable"):
        call_command("backup", output=str(tmp_path / "lien.dump"))
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(VENDOR != "postgresql", reason="pg_dump is PostgreSQL's")
def test_backup_passes_the_password_in_the_environment_only(tmp_path, monkeypatch):
    calls = []

    def fake_run(args, **kwargs):
        calls.append((args, kwargs["env"]))
        raise RuntimeError("stop")

    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "s3cret-témoin")
    monkeypatch.setattr("lien.core.backup.subprocess.run", fake_run)
    with pytest.raises(RuntimeError):
        call_command("backup", output=str(tmp_path / "lien.dump"))
    ((args, env),) = calls
    assert env["PGPASSWORD"] == "s3cret-témoin"
    assert not any("s3cret" in arg for arg in args)
    assert "--format=custom" in args and "--no-password" in args


def test_human_size_reads_in_french():
    assert human_size(512) == "512 octets"
    assert human_size(1536) == "1,5 Ko"
    assert human_size(3 * 1024**3) == "3,0 Go"


@pytest.mark.django_db
def test_backup_refuses_to_run_inside_a_transaction(tmp_path):
    with pytest.raises(CommandError, match="ne peut pas se faire dans une transaction"):
        call_command("backup", output=str(tmp_path / "lien.backup"))
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_to_run_inside_a_transaction(team, tmp_path):
    path = tmp_path / "lien.backup"
    call_command("backup", output=str(path), stdout=io.StringIO())
    log_entry(team["mediator"], team["service"], people=2)
    with (
        pytest.raises(CommandError, match="ne peut pas se faire dans une transaction"),
        transaction.atomic(),
    ):
        call_command("restore", str(path), noinput=True)
    assert Intervention.objects.count() == 1
