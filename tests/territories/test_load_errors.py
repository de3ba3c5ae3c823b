"""Bad files: every problem is named by file, line and reason, and nothing is written."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lien.core.models import AuditEvent
from lien.territories.loaders import (
    SHIPPED_DEPARTEMENTS,
    SHIPPED_REGIONS,
    TerritoryLoadError,
    territory_load,
)
from lien.territories.models import Territory

pytestmark = pytest.mark.django_db


def write_rows(path, rows: list) -> str:
    """A COG-style file: one JSON object per line, so row n is on line n + 1."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    return str(path)


def commune(code: str, nom: str, dep: str = "62", **extra) -> dict:
    return {"code": code, "nom": nom, "type": "commune-actuelle", "departement": dep} | extra


@pytest.fixture
def small_cog(tmp_path):
    """A tiny consistent COG: Hauts-de-France, Pas-de-Calais, two communes, one EPCI."""
    files = {
        "regions": write_rows(tmp_path / "regions.json", [{"code": "32", "nom": "HdF"}]),
        "departements": write_rows(
            tmp_path / "departements.json",
            [{"code": "62", "nom": "Pas-de-Calais", "region": "32"}],
        ),
        "communes": write_rows(
            tmp_path / "communes.json",
            [commune("62041", "Arras", population=41000), commune("62498", "Lens")],
        ),
        "epci": write_rows(
            tmp_path / "epci.json",
            [{"code": "200033579", "nom": "CU d'Arras", "membres": [{"code": "62041"}]}],
        ),
    }
    return {key: tmp_path / name for key, name in files.items()}


def load_errors(**files) -> list[str]:
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(**files)
    assert Territory.objects.count() == 0
    assert not AuditEvent.objects.exists()
    return caught.value.errors


def test_the_small_cog_loads(small_cog):
    report = territory_load(**small_cog)
    assert report.level("commune").created == 2
    arras = Territory.objects.get(code="62041")
    assert arras.parent.code == "200033579"
    assert arras.population == 41000
    # Lens belongs to no EPCI in this file: its département is its parent.
    assert Territory.objects.get(code="62498").parent.code == "62"
    assert Territory.objects.get(code="62").population == 41000
    assert Territory.objects.get(code="32").population == 41000


def test_bad_communes_are_reported_by_file_line_and_reason(small_cog):
    path = small_cog["communes"]
    write_rows(
        path,
        [
            commune("62041", "Arras"),  # line 2
            commune("6249", "Lens"),  # line 3: code too short
            commune("62041", "Arras bis"),  # line 4: duplicate
            {"code": "62193", "type": "commune-actuelle", "departement": "62"},  # 5: no name
            commune("59350", "Lille", dep="59"),  # line 6: département not in the file
            commune("62160", "Boulogne", dep="59"),  # line 7: code of another département
            commune("62765", "Saint-Omer", population=-3),  # line 8
            commune("62510", "Liévin", region="11"),  # line 9: région of another département
            {"code": "62001", "nom": "Délégué", "type": "commune-deleguee"},  # ignored
        ],
    )
    errors = load_errors(**small_cog)
    assert errors == [
        f"{path}, ligne 3 : code commune « 6249 » mal formé (code INSEE à 5 caractères attendu)",
        f"{path}, ligne 4 : code « 62041 » en double (déjà ligne 2)",
        f"{path}, ligne 5 : champ « nom » manquant ou vide",
        f"{path}, ligne 6 : département « 59 » inconnu dans {small_cog['departements']}",
        f"{path}, ligne 7 : le code « 62160 » ne correspond pas au département « 59 »",
        f"{path}, ligne 8 : « population » invalide : « -3 » (entier positif attendu)",
        f"{path}, ligne 9 : région « 11 » différente de celle du département « 62 » (32)",
    ]


def test_json_syntax_errors_give_the_line(small_cog):
    small_cog["regions"].write_text('[\n{"code": "32", "nom": "HdF"},\n{"code": "33" "nom"}\n]')
    small_cog["epci"].write_text('{"code": "200033579"}')
    errors = load_errors(**small_cog)
    assert errors[0].startswith(f"{small_cog['regions']}, ligne 3 : JSON invalide")
    assert errors[-1] == (
        f"{small_cog['epci']}, ligne 1 : JSON invalide : une liste JSON [ … ] est attendue "
        "(colonne 1)"
    )


def test_a_file_in_another_encoding_or_missing_is_reported(small_cog, tmp_path):
    small_cog["communes"].write_bytes(
        b'[\n{"code": "62041", "nom": "B\xe9thune", "departement": "62"}\n]'
    )
    small_cog["epci"] = tmp_path / "absent.json"
    errors = load_errors(**small_cog)
    assert errors[0] == f"{small_cog['communes']}, ligne 2 : encodage invalide (UTF-8 attendu)"
    assert errors[1].startswith(f"{tmp_path / 'absent.json'} : fichier illisible")


def test_unknown_parents_and_missing_fields_in_regions_and_departements(small_cog):
    write_rows(small_cog["regions"], [{"code": "32", "nom": "HdF"}, {"code": "3X", "nom": "?"}])
    write_rows(
        small_cog["departements"],
        [
            {"code": "62", "nom": "Pas-de-Calais", "region": "32"},
            {"code": "59", "nom": "Nord", "region": "99"},
            {"code": "80", "nom": "Somme"},
            {"code": "1", "nom": "Ain", "region": "32"},
        ],
    )
    regions, departements = small_cog["regions"], small_cog["departements"]
    assert load_errors(**small_cog) == [
        f"{regions}, ligne 3 : code région « 3X » mal formé (2 ou 3 chiffres attendus)",
        f"{departements}, ligne 3 : région « 99 » inconnue dans {regions}",
        f"{departements}, ligne 4 : champ « region » manquant ou vide",
        f"{departements}, ligne 5 : code département « 1 » mal formé "
        "(2 ou 3 caractères attendus : 59, 2A, 971…)",
    ]


def test_bad_epci_rows(small_cog):
    path = small_cog["epci"]
    write_rows(
        path,
        [
            {"code": "200033579", "nom": "CU d'Arras", "membres": [{"code": "62041"}]},
            {"code": "20003357", "nom": "SIREN court", "membres": [{"code": "62498"}]},
            {"code": "200033580", "nom": "Doublon", "membres": [{"code": "62041"}]},
            {"code": "200033579", "nom": "Même code", "membres": [{"code": "62498"}]},
            {"code": "200033581", "nom": "Sans membres", "membres": []},
            {"code": "200033582", "nom": "Fantôme", "membres": [{"code": "62999"}]},
            {"code": "200033583", "nom": "Voisine", "membres": [{"code": "27001"}]},
        ],
    )
    assert load_errors(**small_cog) == [
        f"{path}, ligne 3 : code EPCI « 20003357 » mal formé (SIREN à 9 chiffres attendu)",
        f"{path}, ligne 4 : la commune « 62041 » est déjà membre de l'EPCI « 200033579 » (ligne 2)",
        f"{path}, ligne 5 : code « 200033579 » en double (déjà ligne 2)",
        f"{path}, ligne 6 : champ « membres » manquant ou vide",
        f"{path}, ligne 7 : la commune membre « 62999 » est absente de {small_cog['communes']} "
        "(commune actuelle attendue)",
    ]
    # An EPCI of a département not loaded (line 8) is simply out of scope.


def test_departement_filter_is_checked(small_cog):
    errors = load_errors(**small_cog, departement_codes=["59", "7", "62"])
    assert errors == [
        "--departement : code département « 7 » mal formé "
        "(2 ou 3 caractères attendus : 59, 2A, 971…)",
        f"--departement : département « 59 » inconnu dans {small_cog['departements']}",
    ]


def test_a_departement_without_communes_in_the_file_is_an_error(small_cog):
    small_cog["departements"] = SHIPPED_DEPARTEMENTS
    small_cog["regions"] = SHIPPED_REGIONS
    errors = load_errors(**small_cog, departement_codes=["62", "75"])
    assert errors == [f"{small_cog['communes']} : aucune commune du département « 75 »"]


def test_the_command_exits_non_zero_with_the_whole_report(small_cog):
    write_rows(small_cog["communes"], [commune("6204", "Arras"), commune("62498", "")])
    with pytest.raises(CommandError) as caught:
        call_command("load_territories", "--communes", small_cog["communes"], verbosity=0)
    message = str(caught.value)
    assert message.startswith("Territoires non chargés (")
    assert f"{small_cog['communes']}, ligne 2 : code commune « 6204 » mal formé" in message
    assert f"{small_cog['communes']}, ligne 3 : champ « nom » manquant ou vide" in message
    assert Territory.objects.count() == 0


def test_dry_run_on_an_empty_database_writes_nothing(capsys):
    call_command("load_territories", "--dry-run")
    out = capsys.readouterr().out
    assert "commune : 1534 à créer, 0 mis à jour, 0 inchangé(s)" in out
    assert Territory.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_qpv_alone_needs_the_communes_first(tmp_path):
    csv = tmp_path / "qpv.csv"
    csv.write_text("code;nom;communes\nQN05912M;Quartier;59512\n", encoding="utf-8")
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(load_cog=False, qpv=csv, departement_codes=["59"])
    assert caught.value.errors == [
        f"{csv}, ligne 2 : QPV « QN05912M » : commune « 59512 » inconnue (chargez d'abord le COG)"
    ]


def test_shipped_files_are_named_relative_to_the_project(tmp_path):
    bad = tmp_path / "epci.json"
    write_rows(bad, [{"code": "200093201", "nom": "MEL", "membres": [{"code": "59999"}]}, {}])
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(epci=bad)
    assert caught.value.errors == [
        f"{bad}, ligne 2 : la commune membre « 59999 » est absente de "
        "lien/territories/data/communes.json (commune actuelle attendue)",
        f"{bad}, ligne 3 : champ « code » manquant ou vide",
        f"{bad}, ligne 3 : champ « nom » manquant ou vide",
        f"{bad}, ligne 3 : champ « membres » manquant ou vide",
    ]
    assert caught.value.warnings  # the shipped communes with another EPCI file
