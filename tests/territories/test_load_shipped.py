"""The shipped data (Nord, Pas-de-Calais, demo QPV) loaded once for the module."""

import io
import json

import pytest
from django.core.management import call_command

from lien.core.models import AuditEvent
from lien.territories.loaders import SHIPPED_COMMUNES, SHIPPED_EPCI, territory_load
from lien.territories.models import Level, Territory, TerritoryAncestor

pytestmark = pytest.mark.django_db

MEL = "200093201"
FLANDRE_LYS = "245900758"  # 4 communes in Nord, 4 in Pas-de-Calais
TERNOIS = "200069672"  # 102 communes in Pas-de-Calais, 1 in Somme

T = Territory.objects


def get(level: str, code: str) -> Territory:
    return T.get(level=level, code=code)


def test_loads_hauts_de_france_nord_and_pas_de_calais(shipped):
    assert list(T.regions().values_list("code", "name")) == [("32", "Hauts-de-France")]
    # Somme comes with CC du Ternois, which straddles it; its communes are not loaded.
    assert set(T.departements().values_list("code", flat=True)) == {"59", "62", "80"}
    assert T.communes().count() == 1534
    assert T.epcis().count() == 36
    assert T.communes().filter(parent__level=Level.DEPARTEMENT).count() == 0
    lille = get(Level.COMMUNE, "59350")
    assert (lille.name, lille.parent.code, lille.path) == ("Lille", MEL, "/32/59/200093201/59350/")
    assert list(lille.secondary_parents.values_list("code", flat=True)) == ["59"]
    nord = get(Level.DEPARTEMENT, "59")
    assert nord.population == 2_615_635
    assert get(Level.EPCI, MEL).population == 1_194_040
    # Not every département of Hauts-de-France is loaded: no partial total.
    assert get(Level.REGION, "32").population is None


def test_within_counts_each_commune_in_its_own_departement(shipped):
    nord = get(Level.DEPARTEMENT, "59")
    pdc = get(Level.DEPARTEMENT, "62")
    region = get(Level.REGION, "32")
    assert T.communes().within(nord).count() == 647
    assert T.communes().within(pdc).count() == 887
    assert T.communes().within(region).count() == 1534
    assert T.communes().within(get(Level.EPCI, MEL)).count() == 95
    assert T.communes().within(get(Level.DEPARTEMENT, "80")).count() == 0


def test_an_epci_straddling_two_departements_is_within_both_but_not_its_communes(shipped):
    flandre_lys = get(Level.EPCI, FLANDRE_LYS)
    nord = get(Level.DEPARTEMENT, "59")
    pdc = get(Level.DEPARTEMENT, "62")
    # Ties on the member count (4 and 4): the population decides.
    assert flandre_lys.parent == nord
    assert list(flandre_lys.secondary_parents.all()) == [pdc]
    assert T.epcis().within(nord).filter(pk=flandre_lys.pk).exists()
    assert T.epcis().within(pdc).filter(pk=flandre_lys.pk).exists()
    members = T.communes().within(flandre_lys)
    assert members.count() == 8
    assert members.within(nord).count() == 4
    assert members.within(pdc).count() == 4
    laventie = get(Level.COMMUNE, "62491")
    assert set(T.ancestors_of(laventie).values_list("code", flat=True)) == {
        "62491",
        FLANDRE_LYS,
        "62",
        "32",
    }
    ternois = get(Level.EPCI, TERNOIS)
    assert ternois.parent.code == "62"
    assert [d.code for d in ternois.secondary_parents.all()] == ["80"]


def test_a_qpv_straddling_two_communes_is_within_both(shipped):
    qpv = get(Level.QPV, "QX05959B")
    assert qpv.is_demo and qpv.name.endswith("(démonstration)")
    assert qpv.parent.code == "59599"
    assert [c.code for c in qpv.secondary_parents.all()] == ["59512"]
    for code in ("59599", "59512"):
        assert T.qpvs().within(get(Level.COMMUNE, code)).filter(pk=qpv.pk).exists()
    assert T.qpvs().within(get(Level.EPCI, MEL)).filter(pk=qpv.pk).exists()
    assert T.qpvs().within(get(Level.DEPARTEMENT, "59")).filter(pk=qpv.pk).exists()
    assert not T.qpvs().within(get(Level.DEPARTEMENT, "62")).filter(pk=qpv.pk).exists()
    lens_lievin = get(Level.QPV, "QX06249D")
    assert T.qpvs().within(get(Level.COMMUNE, "62510")).filter(pk=lens_lievin.pk).exists()
    assert T.qpvs().count() == T.qpvs().demo().count() == 8
    assert T.qpvs().within(get(Level.DEPARTEMENT, "62")).count() == 3


def test_closure_holds_one_row_per_pair(shipped):
    rows = TerritoryAncestor.objects.count()
    assert rows == TerritoryAncestor.objects.values("ancestor", "descendant").distinct().count()
    # Each commune: itself, its EPCI, its département, the région.
    assert TerritoryAncestor.objects.filter(descendant__level=Level.COMMUNE).count() == 4 * 1534


def test_reloading_changes_nothing_and_journals_each_load(shipped):
    before = {level: T.of_level(level).count() for level in Level.values}
    closure = TerritoryAncestor.objects.count()
    events = AuditEvent.objects.filter(action="load").count()
    out = io.StringIO()
    call_command("load_territories", stdout=out)
    assert "commune : 0 créé(s), 0 mis à jour, 1534 inchangé(s)" in out.getvalue()
    assert "table d'appartenance" in out.getvalue()
    call_command("load_territories", "--qpv-demo", stdout=out)
    assert "QPV : 0 créé(s), 0 mis à jour, 8 inchangé(s)" in out.getvalue()
    assert {level: T.of_level(level).count() for level in Level.values} == before
    assert TerritoryAncestor.objects.count() == closure
    new_events = AuditEvent.objects.filter(action="load").order_by("-pk")[:2]
    assert AuditEvent.objects.filter(action="load").count() == events + 2
    event = new_events[1]
    assert event.actor_id is None
    assert "commune 0/0/1534" in event.note
    assert "communes.json" in event.note


def test_reloading_applies_changed_names_populations_and_parents(shipped, tmp_path):
    communes = SHIPPED_COMMUNES.read_text(encoding="utf-8").replace(
        '"nom":"Lille","type"', '"nom":"Lille (renommée)","type"'
    )
    (tmp_path / "communes.json").write_text(communes, encoding="utf-8")
    # Lille leaves the MEL: its département becomes its only parent.
    epci = SHIPPED_EPCI.read_text(encoding="utf-8")
    epci = epci.replace('{"code":"59350","populationMunicipale":238695},', "")
    assert '"59350"' not in epci
    (tmp_path / "epci.json").write_text(epci, encoding="utf-8")
    mel = get(Level.EPCI, MEL)

    report = territory_load(communes=tmp_path / "communes.json", epci=tmp_path / "epci.json")

    assert report.level(Level.COMMUNE).updated == 1
    assert report.level(Level.COMMUNE).created == 0
    assert report.links_removed == 1  # Lille's secondary link to Nord, now its parent
    lille = get(Level.COMMUNE, "59350")
    assert lille.name == "Lille (renommée)"
    assert lille.search_name == "lille renommee"
    assert lille.parent.code == "59"
    assert lille.path == "/32/59/59350/"
    assert not lille.secondary_parents.exists()
    assert T.communes().within(mel).count() == 94
    assert T.communes().within(get(Level.DEPARTEMENT, "59")).count() == 647
    # The demo QPV of Lille follows: within Nord, no longer within the MEL.
    assert not T.qpvs().within(mel).filter(code="QX05935C").exists()
    assert T.communes().count() == 1534


def test_a_bad_file_leaves_the_loaded_data_as_it_was(shipped, tmp_path):
    lines = SHIPPED_COMMUNES.read_text(encoding="utf-8").splitlines()
    lines[340] = lines[340].replace('"Lille"', '"Lille (jamais écrit)"')
    lines[1] = lines[1].replace('"population":441', '"population":"beaucoup"')
    (tmp_path / "communes.json").write_text("\n".join(lines), encoding="utf-8")
    events = AuditEvent.objects.count()
    with pytest.raises(Exception, match="ligne 2"):
        territory_load(communes=tmp_path / "communes.json")
    assert get(Level.COMMUNE, "59350").name == "Lille"
    assert AuditEvent.objects.count() == events


def test_dry_run_counts_without_writing(shipped, tmp_path):
    communes = SHIPPED_COMMUNES.read_text(encoding="utf-8").replace(
        '"nom":"Roubaix"', '"nom":"Roubaix (essai)"'
    )
    (tmp_path / "communes.json").write_text(communes, encoding="utf-8")
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command(
        "load_territories", "--communes", tmp_path / "communes.json", "--dry-run", stdout=out
    )
    assert "Simulation" in out.getvalue()
    assert "commune : 0 à créer, 1 mis à jour, 1533 inchangé(s)" in out.getvalue()
    assert get(Level.COMMUNE, "59512").name == "Roubaix"
    assert AuditEvent.objects.count() == events


def test_departement_filter_loads_only_its_communes(shipped):
    report = territory_load(departement_codes=["62"])
    assert report.level(Level.COMMUNE).unchanged == 887
    assert report.level(Level.COMMUNE).skipped == 647
    # Flandre Lys is loaded through its Pas-de-Calais members, so Nord is too.
    assert report.level(Level.DEPARTEMENT).unchanged == 3
    assert T.communes().count() == 1534


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("lievin", ("commune", "62510")),
        ("LIÉVIN", ("commune", "62510")),
        ("59350", ("commune", "59350")),
        ("saint-pol", ("commune", "62767")),
        ("pas-de", ("departement", "62")),
        ("hauts", ("region", "32")),
        ("QX059", ("qpv", "QX05917G")),
        ("métropole européenne", ("epci", MEL)),
    ],
)
def test_search_by_code_or_name_without_accents(shipped, text, first):
    results = list(T.search(text).values_list("level", "code")[:5])
    assert results[0] == first


def test_search_finds_a_word_inside_a_name_and_nothing_for_blank(shipped):
    assert ("commune", "62767") in set(T.search("pol").values_list("level", "code"))
    assert ("commune", "62569") in set(T.search("lievin").values_list("level", "code"))
    assert not T.search("  ").exists()
    assert not T.search("%").exists()


def test_ancestors_of_a_qpv_cover_every_commune_it_touches(shipped):
    qpv = get(Level.QPV, "QX05959B")
    assert set(T.ancestors_of(qpv).values_list("level", "code")) == {
        ("qpv", "QX05959B"),
        ("commune", "59599"),
        ("commune", "59512"),
        ("epci", MEL),
        ("departement", "59"),
        ("region", "32"),
    }


def test_shipped_files_keep_one_object_per_line():
    for path in (SHIPPED_COMMUNES, SHIPPED_EPCI):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "[" and lines[-1] == "]"
        for line in lines[1:-1]:
            json.loads(line.removesuffix(","))
