"""Area cubes: wide perimeters (département, région, France) read them, and every dashboard
shows exactly what the fine cubes would give; they stay in step on write and on rebuild."""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lien.core.models import Role
from lien.indicators import dashboards, engine, rollups
from lien.indicators.models import AreaActivityCube
from lien.indicators.services import indicators_load
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.referentiel.models import EmployerType
from tests.factories import ServiceFactory, make_membership

pytestmark = pytest.mark.django_db

ENTRIES = [
    # (structure key, commune, qpv, activity, domain, outcome, timing, people, requests)
    ("a", "59512", "QX05901D", "gestion-conflits", "habitat-social", "apaise-resolu",
     "real_time", 2, []),
    ("a", "59512", "", "gestion-conflits", "habitat-social", "refus-mediation", "deferred", 3, []),
    ("a", "59350", "", "presence-active", "espaces-publics", "", "", 5, []),
    ("b", "62041", "", "gestion-conflits", "espaces-publics", "accord-obtenu", "deferred", 4, []),
    ("b", "62041", "", "mise-en-relation", "services-publics", "oriente-partenaire", "", 1,
     [{"theme": "numerique", "count": 2}]),
    ("c", "59350", "", "presence-active", "espaces-publics", "information-donnee", "", 6, []),
    ("c", "59350", "", "gestion-conflits", "espaces-publics", "non-resolu", "real_time", 2, []),
]  # fmt: skip


@pytest.fixture
def region(territories, referentiel):
    indicators_load()
    association = EmployerType.objects.get(code="association")
    city = EmployerType.objects.get(code="collectivite")
    services_by = {
        "a": ServiceFactory(structure__commune=territories["roubaix"],
                            structure__employer_type=association),
        "b": ServiceFactory(structure__commune=territories["arras"], structure__employer_type=city),
        "c": ServiceFactory(structure__commune=territories["lille"], structure__employer_type=city),
    }  # fmt: skip
    authors = {
        k: make_membership(Role.MEDIATOR, structure=s.structure) for k, s in services_by.items()
    }
    when = (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    for key, commune, qpv, activity, domain, outcome, timing, people, requests in ENTRIES:
        data = {
            "service": str(services_by[key].pk), "started_at": when, "duration_minutes": 30,
            "commune": commune, "qpv": qpv, "place_type": "", "activity_type": activity,
            "domain": domain, "situation_category": "", "origin": "resident", "timing": timing,
            "form": "individual" if timing else "", "people_met": people, "outcome": outcome,
            "emergency_handoff": "", "mediators": [], "note": "", "access_requests": requests,
        }  # fmt: skip
        structure = services_by[key].structure
        form = InterventionForm.from_payload(data, structure=structure, author=authors[key].user)
        assert form.is_valid(), form.errors
        services.intervention_create(actor=authors[key], data=form.intervention_data())
    return territories


def boards(perimeter):
    return {code: dashboards.build(code, perimeter).tables() for code in dashboards.DASHBOARDS}


@pytest.mark.parametrize(
    "choices",
    [
        {},
        {"territory": "region"},
        {"employer_type": "collectivite"},
        {"employer_type": "association", "territory": "region"},
        {"domains": ("espaces-publics",)},
        {"activities": ("gestion-conflits",), "territory": "region"},
    ],
)
def test_wide_dashboards_on_area_cubes_equal_the_fine_cubes(region, monkeypatch, choices):
    month = timezone.localdate().replace(day=1)
    choices = dict(choices)
    if "territory" in choices:
        choices["territory"] = region[choices["territory"]]
    perimeter = engine.Perimeter(start=month, end=month, **choices)
    assert engine.is_wide(perimeter)
    with CaptureQueriesContext(connection) as captured:
        wide = boards(perimeter)
    assert any("indicators_areaactivitycube" in q["sql"] for q in captured.captured_queries)
    monkeypatch.setattr(engine, "is_wide", lambda p: False)
    with CaptureQueriesContext(connection) as captured:
        fine = boards(perimeter)
    assert not any("indicators_area" in q["sql"] for q in captured.captured_queries)
    assert wide == fine


def test_structure_and_commune_perimeters_stay_on_the_fine_cubes(region):
    month = timezone.localdate().replace(day=1)
    for perimeter in (
        engine.Perimeter(start=month, end=month, territory=region["nord"]),
        engine.Perimeter(start=month, end=month, territory=region["lille"]),
        engine.Perimeter(start=month, end=month, territory=region["mel"]),
        engine.Perimeter(start=month, end=month, service_ids=()),
    ):
        assert not engine.is_wide(perimeter)


def test_a_commune_counts_in_the_region_of_its_own_departement(region):
    """Even when its EPCI (primary parent) lies in another région: no double count."""
    from lien.territories.models import Territory
    from lien.territories.services import territory_rebuild_ancestors

    ile_de_france = Territory.objects.create(level="region", code="11", name="Île-de-France")
    paris = Territory.objects.create(
        level="departement", code="75", name="Paris", parent=ile_de_france
    )
    commune = Territory.objects.create(
        level="commune", code="75056", name="Paris", parent=region["mel"]
    )
    commune.secondary_parents.add(paris)
    territory_rebuild_ancestors()
    odd = Territory.objects.create(level="commune", code="S0001", name="Synthétique", parent=paris)
    territory_rebuild_ancestors()
    assert rollups._regions([commune.pk, region["lille"].pk, odd.pk]) == {
        commune.pk: ile_de_france.pk,
        region["lille"].pk: region["region"].pk,
        odd.pk: ile_de_france.pk,  # a code off the INSEE rule still counts somewhere
    }


def test_area_cubes_follow_corrections_and_rebuild_and_check_detects_drift(region, capsys):
    assert rollups.differences() == {name: [] for name in rollups.differences()}
    before = {tuple(r[:-1]): r[-1] for r in AreaActivityCube.objects.values_list(
        "month", "region_id", "employer_type_id", "in_qpv", "domain_id", "activity_type_id",
        "interventions")}  # fmt: skip
    assert sum(before.values()) == len(ENTRIES)
    AreaActivityCube.objects.filter(pk=AreaActivityCube.objects.first().pk).update(interventions=99)
    with pytest.raises(CommandError):
        call_command("check_rollups")
    assert "AreaActivityCube" in capsys.readouterr().out
    rollups.rebuild()
    call_command("check_rollups")
    after = {tuple(r[:-1]): r[-1] for r in AreaActivityCube.objects.values_list(
        "month", "region_id", "employer_type_id", "in_qpv", "domain_id", "activity_type_id",
        "interventions")}  # fmt: skip
    assert after == before


def test_a_period_and_the_previous_one_in_one_query_equal_two_queries(region):
    from lien.structures.models import Service

    service = Service.objects.first()
    author = make_membership(Role.MEDIATOR, structure=service.structure)
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=10)
    for activity, outcome in (("gestion-conflits", "apaise-resolu"), ("presence-active", "")):
        data = {
            "service": str(service.pk), "started_at": f"{last_month.isoformat()}T10:00",
            "duration_minutes": 45, "commune": "59512", "qpv": "QX05901D", "place_type": "",
            "activity_type": activity, "domain": "habitat-social", "situation_category": "",
            "origin": "resident", "timing": "real_time" if outcome else "",
            "form": "individual" if outcome else "", "people_met": 3, "outcome": outcome,
            "emergency_handoff": "", "mediators": [], "note": "",
        }  # fmt: skip
        form = InterventionForm.from_payload(data, structure=service.structure, author=author.user)
        assert form.is_valid(), form.errors
        services.intervention_create(actor=author, data=form.intervention_data())
    month = timezone.localdate().replace(day=1)
    wanted = [(code, {}) for code in ("interventions", "people_met", "qpv_covered", "results")]
    wanted.append(("results", {"activity": ["gestion-conflits"], "outcome_family": ["resolved"]}))
    for perimeter in (
        engine.Perimeter(start=month, end=month),
        engine.Perimeter(start=month, end=month, territory=region["nord"]),
        engine.Perimeter(start=month, end=month, service_ids=(str(service.pk),)),
    ):
        previous = perimeter.shifted(1)
        assert engine.measure_values_pair(wanted, perimeter, previous) == (
            engine.measure_values(wanted, perimeter),
            engine.measure_values(wanted, previous),
        )
        for dimension in ("activity", "outcome", "qpv"):
            measure = "results" if dimension == "outcome" else "interventions"
            assert engine.breakdown_pair(measure, dimension, perimeter, previous) == (
                engine.breakdown(measure, dimension, perimeter),
                engine.breakdown(measure, dimension, previous),
            )
        before = engine.measure_values(wanted, previous)
        assert before[engine.request_key("interventions", {})] == 2
