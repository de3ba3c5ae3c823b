"""The open data export: CSV + Frictionless description, counts from the cubes, small cells.

The world, in one month: Lille 10 "gestion-conflits / habitat-social" and 6 "gestion-conflits /
espaces-publics", Roubaix 2 (a small cell), Arras 8, Ambérieu-en-Bugey (01004) 6 and Ajaccio
(2A004) 5, all "gestion-conflits / habitat-social", logged by one structure through the service.
Jobs: a structure in Lille employs 6 people in CDI on 3 posts (half time each), one in Arras
5 people in CDI on 5 posts (full time); the structure of Roubaix one adulte-relais (a small
cell).
"""

import csv
import datetime
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lien.core.models import Role
from lien.indicators import engine
from lien.jobs.models import Contract
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.territories.models import Level, Territory
from lien.territories.services import territory_rebuild_ancestors
from tests.factories import ServiceFactory, make_membership
from tests.jobs.factories import contract_type, make_mediator, make_post

pytestmark = pytest.mark.django_db

SECRET_NAME = "Structure-témoin-5531"
ENTRIES = [  # commune, domain, number of entries, people met each
    ("59350", "habitat-social", 10, 3),
    ("59350", "espaces-publics", 6, 2),
    ("59512", "habitat-social", 2, 2),
    ("62041", "habitat-social", 8, 2),
    ("01004", "habitat-social", 6, 1),
    ("2A004", "habitat-social", 5, 1),
]


def _month() -> datetime.date:
    """The previous month: its 15th is always in the past and within the year allowed."""
    first = timezone.localdate().replace(day=1)
    return (first - datetime.timedelta(days=1)).replace(day=1)


def _add(level, code, name, parent):
    territory, _ = Territory.objects.get_or_create(
        level=level, code=code, defaults={"name": name, "parent": parent}
    )
    return territory


@pytest.fixture
def world(territories, referentiel):
    ara = _add(Level.REGION, "84", "Auvergne-Rhône-Alpes", None)
    ain = _add(Level.DEPARTEMENT, "01", "Ain", ara)
    plaine = _add(Level.EPCI, "240100883", "CC de la Plaine de l'Ain", ain)
    _add(Level.COMMUNE, "01004", "Ambérieu-en-Bugey", plaine)
    corse = _add(Level.REGION, "94", "Corse", None)
    csud = _add(Level.DEPARTEMENT, "2A", "Corse-du-Sud", corse)
    capa = _add(Level.EPCI, "242010056", "CA du Pays Ajaccien", csud)
    _add(Level.COMMUNE, "2A004", "Ajaccio", capa)
    territory_rebuild_ancestors()
    service = ServiceFactory(name="Dispositif-témoin", structure__name=SECRET_NAME)
    structure = service.structure
    mediator = make_membership(Role.MEDIATOR, structure=structure)
    month = _month()
    tz = timezone.get_current_timezone()
    when = datetime.datetime(month.year, month.month, 15, 10, 0, tzinfo=tz)
    for commune, domain, count, people in ENTRIES:
        for _ in range(count):
            data = {
                "service": str(service.pk),
                "started_at": when.strftime("%Y-%m-%dT%H:%M"),
                "duration_minutes": 20,
                "commune": commune,
                "qpv": "",
                "place_type": "hall-immeuble",
                "activity_type": "gestion-conflits",
                "domain": domain,
                "situation_category": "nuisances-sonores",
                "origin": "resident",
                "timing": "real_time",
                "form": "individual",
                "people_met": people,
                "outcome": "apaise-resolu",
                "emergency_handoff": "",
                "mediators": [],
                "note": "",
            }
            form = InterventionForm.from_payload(data, structure=structure, author=mediator.user)
            assert form.is_valid(), form.errors
            services.intervention_create(actor=mediator, data=form.intervention_data())
    hire(ServiceFactory(structure__commune=territories["lille"]), people=6, posts=3, fte="0.5")
    hire(ServiceFactory(structure__commune=territories["arras"]), people=5, posts=5, fte="1")
    hire(service, people=1, posts=1, fte="1", kind="adulte-relais")
    return {"month": month, "t": territories}


def hire(service, *, people, posts, fte, kind="cdi"):
    """`people` contracts of `kind` on `posts` posts, running since before the month."""
    start = _month() - datetime.timedelta(days=40)
    made = [make_post(service, title=f"Poste {i}") for i in range(posts)]
    for i in range(people):
        Contract.objects.create(
            mediator=make_mediator(service.structure, last_name=f"Nom-secret-{i}"),
            post=made[i % posts],
            contract_type=contract_type(kind),
            starts_on=start,
            fte=fte,
        )


def export(tmp_path, month, *extra):
    out = tmp_path / "donnees"
    call_command(
        "export_open_data",
        "--start", f"{month:%Y-%m}", "--end", f"{month:%Y-%m}", "--output", str(out), *extra,
        stdout=io.StringIO(),
    )  # fmt: skip
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    tables = {}
    for resource in package["resources"]:
        raw = (out / resource["path"]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
        tables[resource["name"]] = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    return out, package, tables


def validate(row: list[str], schema: dict) -> list[str]:
    """Errors of one CSV row against a Table Schema (the types and constraints used here)."""
    errors = []
    fields = schema["fields"]
    if len(row) != len(fields):
        return [f"{len(row)} values for {len(fields)} fields"]
    for value, field in zip(row, fields, strict=True):
        name, constraints = field["name"], field.get("constraints", {})
        if value in schema["missingValues"]:
            if constraints.get("required"):
                errors.append(f"{name}: missing")
            continue
        if field["type"] == "integer":
            if not re.fullmatch(r"-?[0-9]+", value):
                errors.append(f"{name}: {value!r} is not an integer")
            elif int(value) < constraints.get("minimum", int(value)):
                errors.append(f"{name}: {value} below the minimum")
        elif field["type"] == "number":
            if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
                errors.append(f"{name}: {value!r} is not a number")
        elif field["type"] == "yearmonth":
            if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value):
                errors.append(f"{name}: {value!r} is not a YYYY-MM month")
        elif field["type"] != "string":
            errors.append(f"{name}: unexpected type {field['type']}")
        if constraints.get("required") and value == "":
            errors.append(f"{name}: empty")
        if "enum" in constraints and value not in constraints["enum"]:
            errors.append(f"{name}: {value!r} not in the enum")
        if "pattern" in constraints and not re.fullmatch(constraints["pattern"], value):
            errors.append(f"{name}: {value!r} does not match {constraints['pattern']}")
    return errors


def as_dicts(table):
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


@pytest.mark.parametrize("level", ["departement", "epci", "commune"])
def test_files_follow_their_schema(world, tmp_path, level):
    out, package, tables = export(tmp_path, world["month"], "--level", level)
    assert sorted(p.name for p in out.iterdir()) == [
        "activite.csv",
        "datapackage.json",
        "emplois.csv",
        "resultats.csv",
    ]
    assert package["profile"] == "tabular-data-package"
    assert package["licenses"][0]["name"] == "etalab-2.0"
    assert "Licence Ouverte" in package["licenses"][0]["title"]
    assert datetime.datetime.fromisoformat(package["created"]).tzinfo is not None
    assert package["sources"]
    for resource in package["resources"]:
        schema = resource["schema"]
        assert resource["encoding"] == "utf-8" and resource["dialect"]["delimiter"] == ","
        assert {"< 5", "secret"} <= set(schema["missingValues"])
        for field in schema["fields"]:
            assert field["title"] and field["description"]
            assert field["type"] in ("string", "integer", "number", "yearmonth")
        table = tables[resource["name"]]
        assert table[0] == [f["name"] for f in schema["fields"]]
        assert len(table) > 1
        for row in table[1:]:
            assert validate(row, schema) == [], row
            assert row[2] == level
    text = "".join((out / f"{name}.csv").read_text(encoding="utf-8") for name in tables)
    assert SECRET_NAME not in text and "Dispositif-témoin" not in text
    assert "Nom-secret" not in text and "Poste 0" not in text


def test_insee_codes_keep_their_leading_zeros(world, tmp_path):
    _, _, tables = export(tmp_path, world["month"], "--level", "commune")
    codes = {row["code_insee"] for row in as_dicts(tables["activite"])}
    assert {"01004", "2A004", "59350", "59512", "62041"} == codes
    _, _, tables = export(tmp_path / "d", world["month"])  # départements by default
    rows = {row["code_insee"]: row for row in as_dicts(tables["activite"])}
    assert {"01", "2A", "59", "62"} == set(rows)
    assert rows["01"]["libelle"] == "Ain" and rows["01"]["mois"] == f"{world['month']:%Y-%m}"


def test_counts_equal_the_engines(world, tmp_path):
    month = world["month"]
    _, _, tables = export(tmp_path, month)
    rows = as_dicts(tables["activite"])
    assert all(r["interventions"].isdigit() for r in rows)  # no small cell by département
    per_department = {}
    for row in rows:
        territory = Territory.objects.get(level=Level.DEPARTEMENT, code=row["code_insee"])
        perimeter = engine.Perimeter(start=month, end=month, territory=territory)
        filters = {"activity": [row["type_activite"]], "domain": [row["domaine"]]}
        assert int(row["interventions"]) == engine.measure_value(
            "interventions", perimeter, filters
        )
        assert int(row["personnes_rencontrees"]) == engine.measure_value(
            "people_met", perimeter, filters
        )
        per_department[row["code_insee"]] = per_department.get(row["code_insee"], 0) + int(
            row["interventions"]
        )
    region = engine.Perimeter(start=month, end=month, territory=world["t"]["region"])
    by_child = {t.code: v for t, v in engine.by_child_territory("interventions", region) if v}
    assert by_child == {"59": 18, "62": 8}
    assert {k: v for k, v in per_department.items() if k in by_child} == by_child
    results = as_dicts(tables["resultats"])
    assert {(r["code_insee"], r["famille_issue"], r["issue"], r["interventions"]) for r in results
            } == {(c, "resolved", "apaise-resolu", n)
                  for c, n in [("01", "6"), ("2A", "5"), ("59", "18"), ("62", "8")]}  # fmt: skip


def test_small_cells_and_their_complements_are_suppressed(world, tmp_path):
    month = world["month"]
    _, package, tables = export(tmp_path, month, "--level", "commune")
    rows = as_dicts(tables["activite"])
    roubaix = next(r for r in rows if r["code_insee"] == "59512")
    assert roubaix["interventions"] == "< 5" and roubaix["personnes_rencontrees"] == "< 5"
    # The habitat-social total over the communes is known (e.g. by département): the other
    # cells of that column must not give Roubaix's count by subtraction.
    column = [r for r in rows if r["domaine"] == "habitat-social"]
    hidden = [r for r in column if not r["interventions"].isdigit()]
    assert len(hidden) >= 2 and "secret" in {r["interventions"] for r in hidden}
    everyone = engine.Perimeter(start=month, end=month)
    total = engine.measure_value(
        "interventions", everyone, {"activity": ["gestion-conflits"], "domain": ["habitat-social"]}
    )
    assert total == 31
    shown = sum(int(r["interventions"]) for r in column if r["interventions"].isdigit())
    assert total - shown != 2  # more than one unknown left
    # Roubaix's people met too, and the results file.
    assert len([r for r in column if not r["personnes_rencontrees"].isdigit()]) >= 2
    results = as_dicts(tables["resultats"])
    assert next(r for r in results if r["code_insee"] == "59512")["interventions"] == "< 5"
    assert "secret" in {r["interventions"] for r in results}
    # Nothing of the true small count leaks into the file.
    assert all(r["interventions"] != "2" for r in rows + results)
    description = package["resources"][0]["description"]
    assert "secret statistique" in description


def test_a_territory_narrows_the_export(world, tmp_path):
    _, _, tables = export(tmp_path, world["month"], "--level", "commune", "--territory", "59")
    assert {r["code_insee"] for r in as_dicts(tables["activite"])} == {"59350", "59512"}
    _, _, tables = export(
        tmp_path / "b", world["month"], "--level", "epci", "--territory", "departement:2A"
    )
    assert {r["code_insee"] for r in as_dicts(tables["activite"])} == {"242010056"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-13", "--end", "2026-12"], "--start : mois « 2026-13 » invalide"),
        (["--start", "2026-03", "--end", "2026-02"], "est antérieur à --start"),
        (["--start", "2026-01", "--end", "2026-02", "--territory", "99999"], "aucun territoire"),
        (["--start", "2026-01", "--end", "2026-02", "--level", "region"], "niveau « region »"),
        (
            ["--start", "2026-01", "--end", "2026-02", "--territory", "59350", "--level", "epci"],
            "plus large que le territoire",
        ),
    ],
)
def test_bad_arguments_write_nothing(world, tmp_path, args, message):
    out = tmp_path / "donnees"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("export_open_data", *args, "--output", str(out), stdout=io.StringIO())
    assert not out.exists()


def test_an_ambiguous_code_asks_for_its_level(world, tmp_path):
    Territory.objects.create(level=Level.REGION, code="01", name="Guadeloupe")
    out = tmp_path / "donnees"
    with pytest.raises(CommandError, match="précisez le niveau"):
        call_command(
            "export_open_data", "--start", "2026-01", "--end", "2026-01", "--territory", "01",
            "--output", str(out), stdout=io.StringIO(),
        )  # fmt: skip
    assert not out.exists()


def test_an_unwritable_output_writes_nothing(world, tmp_path):
    month = f"{world['month']:%Y-%m}"
    a_file = tmp_path / "fichier.txt"
    a_file.write_text("x")
    for out, message in [
        (a_file, "n'est pas un répertoire"),
        (a_file / "sous-dossier", "impossible d'écrire"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command(
                "export_open_data", "--start", month, "--end", month, "--output", str(out),
                stdout=io.StringIO(),
            )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fichier.txt"]
    assert a_file.read_text() == "x"


def test_jobs_by_department_and_contract_type(world, tmp_path):
    month = f"{world['month']:%Y-%m}"
    _, _, tables = export(tmp_path, world["month"], "--level", "departement", "--territory", "62")
    assert as_dicts(tables["emplois"]) == [
        {"mois": month, "code_insee": "62", "niveau": "departement", "libelle": "Pas-de-Calais",
         "type_contrat": "cdi", "contrats": "5", "personnes": "5", "postes": "5", "etp": "5.00"},
    ]  # fmt: skip
    # A contract that ended before the month is not counted.
    Contract.objects.filter(post__structure__commune=world["t"]["arras"]).update(
        starts_on=world["month"] - datetime.timedelta(days=90),
        ends_on=world["month"] - datetime.timedelta(days=1),
    )
    _, _, tables = export(tmp_path / "b", world["month"], "--territory", "62")
    assert as_dicts(tables["emplois"]) == []


def test_a_small_number_of_people_hides_the_whole_jobs_line(world, tmp_path):
    _, _, tables = export(tmp_path, world["month"], "--level", "commune")
    rows = {(r["code_insee"], r["type_contrat"]): r for r in as_dicts(tables["emplois"])}
    roubaix = rows[("59512", "adulte-relais")]
    assert roubaix["personnes"] == "< 5"
    assert (roubaix["contrats"], roubaix["postes"], roubaix["etp"]) == ("secret",) * 3
    for row in rows.values():
        if not row["personnes"].isdigit():
            assert (row["contrats"], row["postes"], row["etp"]) == ("secret",) * 3
        else:
            assert int(row["personnes"]) >= 5
    assert rows[("59350", "cdi")]["personnes"] == "6"
    assert rows[("59350", "cdi")]["etp"] == "3.00" and rows[("59350", "cdi")]["postes"] == "3"


def test_published_set_is_served_to_anyone_and_replaced_whole(world, tmp_path, client, settings):
    """`--publish` (default period: the last twelve whole months, which hold the world's
    month) puts the set on /donnees-ouvertes/ for anyone, without an account."""
    settings.LIEN_OPEN_DATA_ROOT = tmp_path / "publie"
    page = client.get("/donnees-ouvertes/")
    assert page.status_code == 200 and "Aucun jeu de données" in page.content.decode()
    assert client.get("/donnees-ouvertes/activite.csv").status_code == 404
    out = io.StringIO()
    call_command("export_open_data", "--publish", stdout=out)
    assert "publiées" in out.getvalue()
    page = client.get("/donnees-ouvertes/").content.decode()
    month = _month()
    assert f"{month:%Y-%m}" >= opendata_start(page)
    for name in ("activite.csv", "resultats.csv", "emplois.csv", "datapackage.json"):
        assert f'href="/donnees-ouvertes/{name}"' in page, name
    assert 'rel="license"' in page and "Licence Ouverte" in page
    response = client.get("/donnees-ouvertes/activite.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    rows = served_rows(client, "activite.csv")
    assert rows[0][:2] == ["mois", "code_insee"]
    assert {r[1] for r in rows[1:]} >= {"59", "62"} and SECRET_NAME not in repr(rows)
    package = json.loads(b"".join(client.get("/donnees-ouvertes/datapackage.json")
                                  .streaming_content))  # fmt: skip
    assert package["profile"] == "tabular-data-package"
    # Publishing again replaces the four files together; nothing else is ever served.
    call_command("export_open_data", "--publish", "--level", "commune", stdout=io.StringIO())
    assert "59350" in {r[1] for r in served_rows(client, "activite.csv")[1:]}
    assert sorted(p.name for p in settings.LIEN_OPEN_DATA_ROOT.iterdir()) == sorted(
        ["activite.csv", "resultats.csv", "emplois.csv", "datapackage.json"]
    )
    for name in ("settings.py", "..%2Fsettings.py", ".nouveau", "datapackage.JSON"):
        assert client.get(f"/donnees-ouvertes/{name}").status_code == 404, name
    assert client.post("/donnees-ouvertes/").status_code == 405


def served_rows(client, name: str) -> list[list[str]]:
    body = b"".join(client.get(f"/donnees-ouvertes/{name}").streaming_content)
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def opendata_start(page: str) -> str:
    """The first month of the period the page shows ("AAAA-MM – AAAA-MM")."""
    found = re.search(r"(\d{4}-\d{2}) – (\d{4}-\d{2})", page)
    assert found, page
    return found[1]


def test_publish_and_output_are_exclusive(world, tmp_path):
    with pytest.raises(CommandError):
        call_command("export_open_data", "--publish", "--output", str(tmp_path / "x"))
    with pytest.raises(CommandError):
        call_command("export_open_data")
