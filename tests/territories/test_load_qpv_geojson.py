"""Official-style QPV lists and GeoJSON outlines, over the shipped COG."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lien.territories.loaders import DEMO_QPV, TerritoryLoadError, territory_load
from lien.territories.models import Level, Territory

pytestmark = pytest.mark.django_db

T = Territory.objects
SQUARE = {"type": "Polygon", "coordinates": [[[3.1, 50.6], [3.2, 50.6], [3.2, 50.7], [3.1, 50.6]]]}


def test_demo_file_is_clearly_labelled():
    text = DEMO_QPV.read_text(encoding="utf-8").splitlines()
    assert text[0] == "code;nom;communes"
    for line in text[1:]:
        code, name, _ = line.split(";")
        assert code.startswith("QX")
        assert name.endswith("(démonstration)")


def test_windows_1252_comma_separated_with_several_rows_per_qpv(shipped, tmp_path):
    csv = tmp_path / "qpv.csv"
    csv.write_bytes(
        "code_qp,lib_qp,insee_com,lib_com\r\n"
        "QN05912M,Épinette - Épeule,59512,Roubaix\r\n"
        "QN05912M,Épinette - Épeule,59599,Tourcoing\r\n"
        'QN06201M,Cité des Œillets,"62041, 62498",Arras\r\n'
        "QN08001M,Hors périmètre,80021,Amiens\r\n"
        "\r\n".encode("cp1252")
    )
    report = territory_load(load_cog=False, qpv=csv)
    assert report.level(Level.QPV).created == 2
    assert report.level(Level.QPV).skipped == 1  # Somme's communes are not loaded
    epinette = T.get(level=Level.QPV, code="QN05912M")
    assert epinette.name == "Épinette - Épeule"
    assert not epinette.is_demo
    assert epinette.parent.code == "59512"
    assert [c.code for c in epinette.secondary_parents.all()] == ["59599"]
    assert T.qpvs().within(T.get(level=Level.COMMUNE, code="59599")).filter(pk=epinette.pk).exists()
    oeillets = T.get(level=Level.QPV, code="QN06201M")
    assert oeillets.name == "Cité des Œillets"
    assert T.qpvs().search("oeillets").get() == oeillets
    # Re-running merges into the same rows.
    again = territory_load(load_cog=False, qpv=csv)
    assert again.level(Level.QPV).unchanged == 2
    assert T.qpvs().filter(code__startswith="QN").count() == 2


@pytest.mark.parametrize("separator", [" ", "|", ",", ";"])
def test_communes_in_one_cell(shipped, tmp_path, separator):
    csv = tmp_path / "qpv.csv"
    csv.write_text(
        f'code\tnom\tcommunes\nQN05935M\tLille-Sud\t"59350{separator}59360"\n', encoding="utf-8"
    )
    territory_load(load_cog=False, qpv=csv)
    qpv = T.get(level=Level.QPV, code="QN05935M")
    assert (qpv.parent.code, [c.code for c in qpv.secondary_parents.all()]) == (
        "59350",
        ["59360"],
    )


def test_a_qpv_whose_commune_leaves_is_moved(shipped, tmp_path):
    csv = tmp_path / "qpv.csv"
    csv.write_text("code;nom;communes\nQN05912M;Q;59512|59599\n", encoding="utf-8")
    territory_load(load_cog=False, qpv=csv)
    csv.write_text("code;nom;communes\nQN05912M;Q;59512\n", encoding="utf-8")
    report = territory_load(load_cog=False, qpv=csv)
    assert report.level(Level.QPV).updated == 1
    assert report.links_removed == 1
    tourcoing = T.get(level=Level.COMMUNE, code="59599")
    assert not T.qpvs().within(tourcoing).filter(code="QN05912M").exists()


def test_bad_qpv_rows_are_reported_and_nothing_is_loaded(shipped, tmp_path):
    csv = tmp_path / "qpv.csv"
    csv.write_text(
        "code;nom;communes\n"
        "QN05912M;Épinette;59512\n"
        "qn0591;Minuscule;59512\n"  # line 3
        "QN05913M;;59512\n"  # line 4
        "QN05914M;Sans commune;\n"  # line 5
        "QN05915M;Commune inconnue;59999\n"  # line 6
        "QN05916M;Code commune;5951\n"  # line 7
        "QN05912M;Autre nom;59599\n",  # line 8
        encoding="utf-8",
    )
    qpvs = T.qpvs().count()
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(load_cog=False, qpv=csv)
    assert caught.value.errors == [
        f"{csv}, ligne 3 : code QPV « qn0591 » mal formé "
        "(Q suivi de 7 lettres majuscules ou chiffres attendu, par exemple QN05912M)",
        f"{csv}, ligne 4 : nom du QPV manquant",
        f"{csv}, ligne 5 : aucune commune indiquée",
        f"{csv}, ligne 7 : code commune « 5951 » mal formé (code INSEE à 5 caractères attendu)",
        f"{csv}, ligne 8 : QPV « QN05912M » : nom différent de la ligne 2",
        f"{csv}, ligne 6 : QPV « QN05915M » : commune « 59999 » inconnue (chargez d'abord le COG)",
    ]
    assert T.qpvs().count() == qpvs


def test_missing_columns_are_named(shipped, tmp_path):
    csv = tmp_path / "qpv.csv"
    csv.write_text("identifiant;nom\nQN05912M;Q\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"ligne 1 : colonne\(s\) « code », « communes »"):
        call_command("load_territories", "--qpv", csv, verbosity=0)


def test_qpv_and_qpv_demo_exclude_each_other(tmp_path):
    with pytest.raises(CommandError, match="s'excluent"):
        call_command("load_territories", "--qpv", tmp_path / "x.csv", "--qpv-demo")


def feature(properties: dict, geometry: dict | None = SQUARE) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path, features: list, *, indent: int | None = None) -> None:
    if indent is None:  # one feature per line, like the official files
        body = ",\n".join(json.dumps(f) for f in features)
        path.write_text(f'{{"type": "FeatureCollection", "features": [\n{body}\n]}}\n')
    else:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, indent=2))


def test_outlines_are_attached_by_code(shipped, tmp_path):
    path = tmp_path / "communes.geojson"
    write_geojson(
        path,
        [
            feature({"codgeo": "59350", "libgeo": "Lille"}),
            feature({"code": "62041"}, {"type": "MultiPolygon", "coordinates": [[]]}),
            feature({"insee_com": "75056"}),  # Paris: not loaded, skipped with a warning
        ],
    )
    report = territory_load(load_cog=False, geojson=path, geojson_level=Level.COMMUNE)
    assert report.outlines == 2
    assert report.warnings == [
        f"{path}, ligne 4 : code commune « 75056 » absent de la base, ignoré"
    ]
    assert T.get(level=Level.COMMUNE, code="59350").geometry == SQUARE
    assert T.get(level=Level.COMMUNE, code="62041").geometry["type"] == "MultiPolygon"
    assert T.get(level=Level.COMMUNE, code="59512").geometry is None


def test_qpv_outlines_through_the_command(shipped, tmp_path, capsys):
    path = tmp_path / "qpv.geojson"
    write_geojson(path, [feature({"code_qp": "QX05951A", "insee_com": "59512"})], indent=2)
    call_command("load_territories", "--geojson", path, "--level", "qpv")
    assert "contours : 1 attaché(s)" in capsys.readouterr().out
    assert T.get(level=Level.QPV, code="QX05951A").geometry == SQUARE


def test_bad_features_are_reported_by_line(shipped, tmp_path):
    path = tmp_path / "communes.geojson"
    write_geojson(
        path,
        [
            feature({"codgeo": "59350"}),
            feature({"codgeo": "5935"}),  # line 3
            feature({"nom": "sans code"}),  # line 4
            feature({"codgeo": "59512"}, {"type": "Point", "coordinates": [3.1, 50.6]}),
            feature({"codgeo": "59350"}),  # line 6: twice
        ],
    )
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(load_cog=False, geojson=path)
    assert caught.value.errors == [
        f"{path}, ligne 3 : code commune « 5935 » mal formé (code INSEE à 5 caractères attendu)",
        f"{path}, ligne 4 : aucune propriété de code (code, code_qp, codgeo, insee_com)",
        f"{path}, ligne 5 : « 59512 » : géométrie Polygon ou MultiPolygon attendue (reçu : Point)",
        f"{path}, ligne 6 : code « 59350 » en double (déjà ligne 2)",
    ]
    assert T.get(level=Level.COMMUNE, code="59350").geometry is None


def test_pretty_printed_geojson_gives_the_line_of_each_feature(shipped, tmp_path):
    path = tmp_path / "communes.geojson"
    write_geojson(path, [feature({"codgeo": "59350"}), feature({"codgeo": "x"})], indent=2)
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(load_cog=False, geojson=path)
    starts = [n for n, text in enumerate(path.read_text().splitlines(), 1) if text == "    {"]
    assert caught.value.errors[0].startswith(f"{path}, ligne {starts[1]} : code commune « x »")


def test_not_a_feature_collection(shipped, tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text('{"type": "Feature"}')
    with pytest.raises(TerritoryLoadError) as caught:
        territory_load(load_cog=False, geojson=path)
    assert caught.value.errors == [f"{path}, ligne 1 : une FeatureCollection GeoJSON est attendue"]
