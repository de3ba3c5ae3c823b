"""The closure table: every parent link counts, but a commune keeps to its own département."""

import pytest

from lien.territories.models import Level, Territory, TerritoryAncestor, normalize_name
from lien.territories.services import territory_rebuild_ancestors

pytestmark = pytest.mark.django_db

T = Territory.objects


def make(level: str, code: str, parent: Territory | None = None, *others: Territory):
    territory = Territory.objects.create(level=level, code=code, name=code, parent=parent)
    territory.secondary_parents.add(*others)
    return territory


@pytest.fixture
def tree():
    """A région with two départements A and B, an EPCI E straddling them; communes a (A)
    and b (B) in E, c (B) in no EPCI; a QPV q over a and b."""
    region = make(Level.REGION, "R")
    dep_a = make(Level.DEPARTEMENT, "A", region)
    dep_b = make(Level.DEPARTEMENT, "B", region)
    epci = make(Level.EPCI, "E", dep_a, dep_b)
    a = make(Level.COMMUNE, "a", epci, dep_a)
    b = make(Level.COMMUNE, "b", epci, dep_b)
    c = make(Level.COMMUNE, "c", dep_b)
    q = make(Level.QPV, "q", a, b)
    rows = territory_rebuild_ancestors()
    return locals()


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_aggregation_over_every_link(tree):
    assert codes(T.communes().within(tree["dep_a"])) == {"a"}
    assert codes(T.communes().within(tree["dep_b"])) == {"b", "c"}
    assert codes(T.communes().within(tree["epci"])) == {"a", "b"}
    assert codes(T.epcis().within(tree["dep_a"])) == codes(T.epcis().within(tree["dep_b"])) == {"E"}
    assert codes(T.qpvs().within(tree["dep_a"])) == codes(T.qpvs().within(tree["dep_b"])) == {"q"}
    assert codes(T.ancestors_of(tree["a"])) == {"a", "E", "A", "R"}
    assert codes(T.ancestors_of(tree["q"])) == {"q", "a", "b", "E", "A", "B", "R"}
    assert tree["rows"] == TerritoryAncestor.objects.count() == 27


def test_distances_and_paths(tree):
    def distance(ancestor, descendant):
        return TerritoryAncestor.objects.get(ancestor=ancestor, descendant=descendant).distance

    assert distance(tree["a"], tree["a"]) == 0
    assert distance(tree["dep_a"], tree["a"]) == 1
    assert distance(tree["region"], tree["a"]) == 2
    assert distance(tree["region"], tree["q"]) == 3
    tree["q"].refresh_from_db()
    assert tree["q"].path == "/R/A/E/a/q/"


def test_a_commune_without_its_own_departement_inherits_its_epcis():
    region = make(Level.REGION, "R")
    dep_a = make(Level.DEPARTEMENT, "A", region)
    dep_b = make(Level.DEPARTEMENT, "B", region)
    epci = make(Level.EPCI, "E", dep_a, dep_b)
    commune = make(Level.COMMUNE, "a", epci)
    territory_rebuild_ancestors()
    assert codes(T.ancestors_of(commune)) == {"a", "E", "A", "B", "R"}


def test_an_unchanged_rebuild_rewrites_nothing(tree, django_assert_max_num_queries):
    before = set(TerritoryAncestor.objects.values_list("id", "ancestor", "descendant"))
    with django_assert_max_num_queries(6):
        territory_rebuild_ancestors()
    assert set(TerritoryAncestor.objects.values_list("id", "ancestor", "descendant")) == before


def test_a_move_rewrites_only_what_changed(tree):
    untouched = TerritoryAncestor.objects.get(ancestor=tree["dep_a"], descendant=tree["a"]).pk
    c = tree["c"]
    c.parent = tree["epci"]
    c.save()
    c.secondary_parents.add(tree["dep_b"])
    territory_rebuild_ancestors()
    assert codes(T.communes().within(tree["epci"])) == {"a", "b", "c"}
    assert codes(T.communes().within(tree["dep_b"])) == {"b", "c"}
    c.refresh_from_db()
    assert c.path == "/R/A/E/c/"
    assert TerritoryAncestor.objects.filter(pk=untouched).exists()


def test_a_cycle_in_bad_data_does_not_hang():
    x = make(Level.EPCI, "x")
    y = make(Level.EPCI, "y", x)
    x.parent = y
    x.save()
    territory_rebuild_ancestors()
    assert codes(T.ancestors_of(x)) == {"x", "y"}


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("Liévin", "lievin"),
        ("Saint-Pol-sur-Ternoise", "saint pol sur ternoise"),
        ("Cœuvres-et-Valsery", "coeuvres et valsery"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("  ÉPINAY  ", "epinay"),
    ],
)
def test_normalize_name(name, normalized):
    assert normalize_name(name) == normalized


def test_save_keeps_the_search_name_in_step():
    territory = make(Level.COMMUNE, "62510")
    territory.name = "Liévin"
    territory.save(update_fields=["name"])
    territory.refresh_from_db()
    assert territory.search_name == "lievin"
