"""Dashboard pages: perimeters per role, small-cell protection, downloads, bad filters,
query counts and the map.

The world: structure A (Roubaix, Nord) runs a service funded by funder A and logs 23 entries
of 2 people; structure B (Arras, Pas-de-Calais) runs a service funded by funder B and logs 3
entries of 7 people. 23 and 3 appear nowhere else, so a leak is visible.
"""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lien.core.models import Role
from lien.indicators import dashboards, engine
from lien.indicators.services import indicators_load
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from tests.factories import OrganisationFactory, ServiceFactory, make_membership

pytestmark = pytest.mark.django_db

PAGES = [
    "indicators:dashboard",
    "indicators:dashboard_activity",
    "indicators:dashboard_results",
    "indicators:dashboard_territories",
    "indicators:dashboard_indicators",
]
SECRET_NOTE = "Remarque-témoin-7391"


def entry(structure, author, service, *, commune, qpv="", people=2, note="", when=None, **extra):
    when = when or timezone.localtime() - datetime.timedelta(hours=1)
    data = {
        "service": str(service.pk),
        "started_at": when.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": 20,
        "commune": commune,
        "qpv": qpv,
        "place_type": "hall-immeuble",
        "activity_type": "gestion-conflits",
        "domain": "habitat-social",
        "situation_category": "nuisances-sonores",
        "origin": "resident",
        "timing": "real_time",
        "form": "individual",
        "people_met": people,
        "outcome": "apaise-resolu",
        "emergency_handoff": "",
        "mediators": [],
        "note": note,
        **extra,
    }
    form = InterventionForm.from_payload(data, structure=structure, author=author.user)
    assert form.is_valid(), form.errors
    return services.intervention_create(actor=author, data=form.intervention_data())


@pytest.fixture
def world(territories, referentiel):
    indicators_load()
    funder_a = OrganisationFactory(name="Financeur Alpha")
    funder_b = OrganisationFactory(name="Financeur Bêta")
    service_a = ServiceFactory(name="Dispositif Alpha")
    service_a.commissioning_bodies.add(funder_a)
    service_b = ServiceFactory(
        name="Dispositif Bêta",
        structure__name="Structure Bêta",
        structure__commune=territories["arras"],
    )
    service_b.commissioning_bodies.add(funder_b)
    a, b = service_a.structure, service_b.structure
    m = {
        "mediator(A)": make_membership(Role.MEDIATOR, structure=a),
        "coordinator(A)": make_membership(Role.COORDINATOR, structure=a),
        "mediator(B)": make_membership(Role.MEDIATOR, structure=b),
        "funder(A)": make_membership(Role.FUNDER, organisation=funder_a),
        "funder(B)": make_membership(Role.FUNDER, organisation=funder_b),
        "partner": make_membership(Role.PARTNER),
        "steering(region)": make_membership(Role.STEERING, territory=territories["region"]),
        "steering(62)": make_membership(Role.STEERING, territory=territories["pdc"]),
        "admin": make_membership(Role.ADMIN),
    }
    m["mediator(A)"].user.full_name = "Mélodie Témoin"
    m["mediator(A)"].user.save()
    for i in range(23):
        entry(a, m["mediator(A)"], service_a, commune="59512", qpv="QX05901D" if i % 2 else "",
              note=SECRET_NOTE if i == 0 else "")  # fmt: skip
    for _ in range(3):
        entry(b, m["mediator(B)"], service_b, commune="62041", people=7)
    return {"m": m, "service_a": service_a, "service_b": service_b, "t": territories}


def figure(response, code):
    return next(f for f in response.context["board"].figures if f.code == code)


@pytest.mark.parametrize(
    ("actor", "interventions", "people"),
    [
        ("coordinator(A)", "23", "46"),
        ("funder(A)", "23", "46"),
        ("funder(B)", "< 5", "21"),
        ("steering(region)", "26", "67"),
        ("steering(62)", "< 5", "21"),
        ("admin", "26", "67"),
    ],
)
def test_each_role_counts_its_own_perimeter(world, login, actor, interventions, people):
    response = login(world["m"][actor]).get(reverse("indicators:dashboard"))
    assert response.status_code == 200
    assert figure(response, "interventions").shown == interventions
    assert figure(response, "people_met").shown == people
    assert "Données à jour au" in response.content.decode()


def test_a_funder_never_sees_another_funders_figures(world, login):
    client = login(world["m"]["funder(A)"])
    service_b = str(world["service_b"].pk)
    for name in PAGES:
        response = client.get(reverse(name), {"service": service_b})
        assert response.status_code == 200
        body = response.content.decode()
        assert "Dispositif Bêta" not in body and "Structure Bêta" not in body
        assert "service" in response.context["form"].errors  # not one of its choices
    board = client.get(reverse("indicators:dashboard"), {"service": service_b}).context["board"]
    assert [f.shown for f in board.figures if f.code == "interventions"] == ["23"]
    # Even a perimeter built by hand with B's service narrows to nothing for funder A.
    perimeter = engine.perimeter_for(
        world["m"]["funder(A)"], start=board.period.start, end=board.period.end,
        services=[service_b],
    )  # fmt: skip
    assert perimeter.service_ids == ()
    assert engine.measure_value("interventions", perimeter) == 0


def test_steering_cannot_drill_outside_its_scope(world, login):
    client = login(world["m"]["steering(62)"])
    roubaix = world["t"]["roubaix"].pk
    response = client.get(reverse("indicators:dashboard"), {"territoire": roubaix})
    assert response.status_code == 200
    assert response.context["board"].perimeter.territory == world["t"]["pdc"]
    assert figure(response, "interventions").shown == "< 5"


def test_steering_and_funders_never_see_nominative_data(world, login):
    for actor in ("steering(region)", "funder(A)"):
        client = login(world["m"][actor])
        for name in PAGES:
            for params in ({}, {"export": "csv"}, {"export": "xlsx"}):
                response = client.get(reverse(name), params)
                assert response.status_code == 200
                body = response.content.decode("utf-8", "replace")
                assert SECRET_NOTE not in body and "Mélodie Témoin" not in body, (actor, name)
                assert world["m"]["mediator(A)"].user.email not in body


def test_who_may_open_a_dashboard(world, login, client):
    for name in PAGES:
        url = reverse(name)
        assert client.get(url).status_code == 302  # anonymous: to the login page
        assert login(world["m"]["partner"]).get(url).status_code == 403
        response = login(world["m"]["mediator(A)"]).get(url)
        assert response.status_code == 302
        assert response.url == reverse("indicators:my_month")
    for actor in ("funder(A)", "steering(region)", "partner"):
        assert login(world["m"][actor]).get(reverse("indicators:my_month")).status_code == 403


def test_my_month_counts_my_entries_only(world, login):
    response = login(world["m"]["mediator(A)"]).get(reverse("indicators:my_month"))
    assert response.status_code == 200
    assert response.context["count"] == 23 and response.context["people"] == 46
    response = login(world["m"]["mediator(B)"]).get(reverse("indicators:my_month"))
    assert response.context["count"] == 3
    bad = login(world["m"]["mediator(B)"]).get(reverse("indicators:my_month"), {"date": "x"})
    assert bad.status_code == 200 and bad.context["count"] == 3  # falls back to this month


def test_figures_are_fresh_after_each_entry(world, login):
    client = login(world["m"]["coordinator(A)"])
    assert figure(client.get(reverse("indicators:dashboard")), "interventions").shown == "23"
    entry(world["service_a"].structure, world["m"]["mediator(A)"], world["service_a"],
          commune="59512")  # fmt: skip
    assert figure(client.get(reverse("indicators:dashboard")), "interventions").shown == "24"


# --- small-cell protection --------------------------------------------------------------------


def test_breakdowns_seen_from_outside_hide_small_cells_and_their_complement(world):
    a = world["service_a"].structure
    m = world["m"]
    # A third kind of activity with 2 entries beside 23 + 3 conflicts: cells 2 and 3 are small.
    for _ in range(2):
        entry(a, m["mediator(A)"], world["service_a"], commune="59512",
              activity_type="presence-active", timing="", form="", outcome="")  # fmt: skip
    month = timezone.localdate().replace(day=1)
    inside = engine.Perimeter(start=month, end=month, structure_ids=(str(a.pk),), protected=False)
    outside = engine.Perimeter(start=month, end=month)  # steering's view: protected
    own = dashboards.build("overview", inside, compare=False)
    rows = {r.label: r.shown for r in own.charts[1].rows}
    assert rows == {"Gestion de conflits": "23", "Présence active de proximité": "2"}
    seen = dashboards.build("overview", outside, compare=False)
    by_activity = seen.charts[1]
    shown = {r.label: r.shown for r in by_activity.rows}
    assert shown["Présence active de proximité"] == "< 5"
    # With the total (28) shown, 26 beside "< 5" would give the hidden 2 away: masked too.
    assert shown["Gestion de conflits"] == "secret"
    assert by_activity.total == "28"
    assert all(r.value is None for r in by_activity.rows)  # nothing drawn for hidden cells


def test_exports_contain_only_what_is_shown(world, login):
    client = login(world["m"]["steering(62)"])
    response = client.get(reverse("indicators:dashboard"), {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    interventions = next(line for line in lines if line and line[0] == "Interventions")
    assert interventions[1] == "< 5"
    assert any("secret statistique" in " ".join(line) for line in lines)
    response = client.get(reverse("indicators:dashboard"), {"export": "xlsx"})
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Chiffres clés"]
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert values["Interventions"] == "< 5"
    cells = [c for ws in workbook for row in ws.iter_rows(values_only=True) for c in row if c]
    assert 3 not in cells and "3" not in cells  # B's true count is nowhere in the file
    one = client.get(reverse("indicators:dashboard"), {"export": "csv", "tableau": "by_domain"})
    assert "Interventions par domaine" in one.content.decode()
    assert "Interventions par activité" not in one.content.decode()


# --- filters and bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"periode": "siècle"},
        {"periode": "perso", "debut": "2026-13", "fin": "abc"},
        {"periode": "perso", "debut": "2026-05", "fin": "2026-01"},
        {"periode": "perso", "debut": "2001-01", "fin": "2026-01"},
        {"date": "1789-07"},
        {"territoire": "999999999"},
        {"territoire": "lille"},
        {"domaine": "<script>alert(1)</script>"},
        {"activite": "' OR 1=1 --"},
        {"comparer": "peut-être"},
        {"export": "pdf"},
    ],
)
def test_bad_filters_get_a_message_never_an_error(world, login, params):
    client = login(world["m"]["steering(region)"])
    for name in PAGES:
        response = client.get(reverse(name), params)
        assert response.status_code == 200, (name, params)
        body = response.content.decode()
        assert "<script>alert(1)</script>" not in body
    if params != {"export": "pdf"}:
        assert response.context["form"].errors
        assert "n'ont pas été compris" in body


def test_periods_and_their_previous():
    q = dashboards.Period.containing("trimestre", datetime.date(2026, 5, 1))
    assert (q.start, q.end) == (datetime.date(2026, 4, 1), datetime.date(2026, 6, 1))
    assert q.label == "2ᵉ trimestre 2026"
    assert (q.previous().start, q.previous().end) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 3, 1),
    )
    s = dashboards.Period.containing("semestre", datetime.date(2026, 2, 1))
    assert s.label == "1ᵉʳ semestre 2026" and s.previous().start == datetime.date(2025, 7, 1)
    custom = dashboards.Period("perso", datetime.date(2025, 11, 1), datetime.date(2026, 2, 1))
    assert custom.months == 4
    assert custom.previous().start == datetime.date(2025, 7, 1)


def test_a_filter_narrows_the_figures_and_compares_with_the_previous_period(world, login):
    client = login(world["m"]["steering(region)"])
    response = client.get(reverse("indicators:dashboard"), {"territoire": world["t"]["nord"].pk})
    assert figure(response, "interventions").shown == "23"
    assert figure(response, "interventions").previous == "0"
    response = client.get(reverse("indicators:dashboard"), {"domaine": "espaces-publics"})
    assert figure(response, "interventions").shown == "0"


# --- cost ------------------------------------------------------------------------------------


def queries(client, name):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return len(captured)


def more_entries(world, n):
    for i in range(n):
        entry(world["service_a"].structure, world["m"]["mediator(A)"], world["service_a"],
              commune="59350" if i % 2 else "59512", activity_type="presence-active",
              timing="", form="", outcome="", domain="espaces-publics")  # fmt: skip


def test_query_count_does_not_grow_with_the_data(world, login):
    """A fixed number of queries per page, however many entries (caches warmed first: the
    référentiel's ids and the map outlines are read once per process)."""
    client = login(world["m"]["steering(region)"])
    more_entries(world, 2)
    for name in PAGES:
        queries(client, name)
    before = {name: queries(client, name) for name in PAGES}
    for name, count in before.items():
        # The indicators page computes the jobs and social-utility measures too: nine
        # queries per period (headcount, contracts and funding of the jobs created, exits,
        # trainings, reviews; survey answers, self-assessments).
        assert count <= 55, (name, count)
    more_entries(world, 20)
    after = {name: queries(client, name) for name in PAGES}
    assert after == before


# --- the map ---------------------------------------------------------------------------------


def square(x, y, size=0.05):
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]],
    }


def test_the_map_draws_outlines_and_hatches_hidden_figures(world, login):
    t = world["t"]
    client = login(world["m"]["steering(region)"])
    response = client.get(reverse("indicators:dashboard_territories"), {"territoire": t["mel"].pk})
    assert "Contours non chargés" in response.content.decode()
    t["lille"].geometry = square(3.0, 50.6)
    t["roubaix"].geometry = {
        "type": "MultiPolygon",
        "coordinates": [square(3.15, 50.68)["coordinates"]],
    }
    t["lille"].save()
    t["roubaix"].save()
    from lien.indicators import maps

    maps.forget_paths()
    response = client.get(reverse("indicators:dashboard_territories"), {"territoire": t["mel"].pk})
    body = response.content.decode()
    chart = response.context["board"].charts[0]
    assert chart.kind == "map" and chart.map.available
    assert body.count("<path ") == 2
    fills = {shape.title: shape.fill for shape in chart.map.shapes}
    assert fills["Roubaix : 23"] == maps.PALETTE[0]
    assert fills["Lille : 0"] == maps.ZERO
    # Drill down from the table row to the commune.
    assert f"territoire={t['roubaix'].pk}" in body
    # Funder B in Arras: 3 entries, shown "< 5" and hatched, never coloured by value.
    t["arras"].geometry = square(2.75, 50.28)
    t["arras"].save()
    maps.forget_paths()
    response = login(world["m"]["funder(B)"]).get(reverse("indicators:dashboard_territories"))
    shapes = response.context["board"].charts[0].map.shapes
    assert [(s.title, s.fill) for s in shapes] == [("Arras : < 5", maps.HATCH)]


def test_an_indicator_added_by_an_administrator_appears_with_its_value(world, login):
    from lien.indicators.models import IndicatorDefinition

    definition = IndicatorDefinition(
        code="personnes-par-intervention", label="Personnes par intervention", family="activity",
        level="realisation", unit="personnes", numerator="people_met", denominator="interventions",
    )  # fmt: skip
    definition.full_clean()
    definition.save()
    response = login(world["m"]["coordinator(A)"]).get(reverse("indicators:dashboard_indicators"))
    rows = {r.label: r.shown for chart in response.context["board"].charts for r in chart.rows}
    assert rows["Personnes par intervention"] == "2"  # 46 people / 23 entries
    assert rows["Équivalents temps plein"] == "0"  # nobody in post in this world
    assert rows["Satisfaction des personnes et des partenaires"] == "—"  # no survey


def test_a_coordinator_sees_each_service_and_drills_into_one(world, login):
    client = login(world["m"]["coordinator(A)"])
    board = client.get(reverse("indicators:dashboard")).context["board"]
    by_service = next(c for c in board.charts if c.code == "by_service")
    assert [(r.label, r.shown) for r in by_service.rows] == [("Dispositif Alpha", "23")]
    assert by_service.rows[0].url == f"?service={world['service_a'].pk}"
    response = client.get(by_service.rows[0].url and reverse("indicators:dashboard"),
                          {"service": str(world["service_a"].pk)})  # fmt: skip
    assert not response.context["form"].errors
    assert response.context["board"].perimeter.service_ids == (str(world["service_a"].pk),)


# --- exports: one table at a time, in XLSX too, journaled ---------------------------------------


def test_each_table_downloads_alone_as_xlsx_protected_and_journaled(world, login):
    from lien.core.models import AuditAction, AuditEvent

    client = login(world["m"]["steering(62)"])
    page = client.get(reverse("indicators:dashboard")).content.decode()
    assert "export=xlsx&amp;tableau=chiffres-cles" in page
    assert "export=xlsx&amp;tableau=by_domain" in page
    before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
    response = client.get(
        reverse("indicators:dashboard"), {"export": "xlsx", "tableau": "chiffres-cles"}
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Chiffres clés"]
    sheet = workbook["Chiffres clés"]
    rows = list(sheet.iter_rows(values_only=True))
    header_row = next(n for n, row in enumerate(rows, start=1) if row[0] == "Indicateur")
    assert all(c.font.bold for c in sheet[header_row] if c.value)
    assert sheet.freeze_panes == f"A{header_row + 1}"
    values = {row[0]: row[1] for row in rows if row and row[0]}
    assert values["Interventions"] == "< 5"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == before + 1
    one = client.get(reverse("indicators:dashboard"), {"export": "csv", "tableau": "by_domain"})
    text = one.content.decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text
