"""GET /api/indicateurs/: the dashboards' figures, for the token's perimeter, protected
exactly as the pages protect them (A logs 2 interventions, B 3: both below 5)."""

import pytest
from django.utils import timezone

from lien.indicators import dashboards, engine
from tests.exchange.conftest import B_SECRETS, assert_error_shape

pytestmark = pytest.mark.django_db

URL = "/api/indicateurs/"


def figure(body, code):
    return next(f for f in body["figures"] if f["code"] == code)


def test_the_coordinator_sees_the_structures_own_figures(world, api):
    body = api(world["m"]["coordinator"]).get(URL).json()
    assert body["protected"] is False and body["legend"] == ""
    interventions = figure(body, "interventions")
    assert (interventions["shown"], interventions["value"], interventions["suppressed"]) == (
        "2",
        2,
        False,
    )
    assert figure(body, "people_met")["value"] == 4
    assert body["period"]["label"] == f"année {timezone.localdate().year}"


@pytest.mark.parametrize("key", ["funder", "steering"])
def test_funders_and_steering_get_suppressed_figures(world, api, key):
    body = api(world["m"][key]).get(URL).json()
    assert body["protected"] is True and "secret statistique" in body["legend"]
    interventions = figure(body, "interventions")
    assert interventions["shown"] == "< 5"
    assert interventions["value"] is None and interventions["suppressed"] is True
    for table in body["tables"]:
        for row in table["rows"]:
            if row["suppressed"]:
                assert row["value"] is None
    text = str(body)
    for secret in B_SECRETS:
        assert secret not in text


@pytest.mark.parametrize("board", ["overview", "activity", "results", "territories", "indicators"])
@pytest.mark.parametrize("key", ["coordinator", "funder", "steering", "admin"])
def test_the_figures_are_the_dashboards(world, api, key, board):
    """What the page shows is what the API returns: same perimeter, same protection."""
    membership = world["m"][key]
    body = api(membership).get(URL, {"board": board, "compare": "true"}).json()
    period = dashboards.Period.containing("annee", timezone.localdate())
    perimeter = engine.perimeter_for(membership, start=period.start, end=period.end)
    expected = dashboards.build(board, perimeter, compare=True, period=period)
    assert [(f["code"], f["shown"], f["previous"]) for f in body["figures"]] == [
        (f.code, f.shown, f.previous) for f in expected.figures
    ]
    assert [[r["shown"] for r in t["rows"]] for t in body["tables"]] == [
        [r.shown for r in c.rows] for c in expected.all_charts()
    ]


def test_filters_narrow_the_perimeter(world, api):
    client = api(world["m"]["admin"])
    everything = figure(client.get(URL).json(), "interventions")["value"]
    assert everything == 5
    arras = client.get(URL, {"commune": "62041"}).json()
    assert figure(arras, "interventions")["value"] == 3
    nord = client.get(URL, {"territory": world["territories"]["nord"].pk}).json()
    assert figure(nord, "interventions")["value"] == 2
    by_service = client.get(URL, {"service": str(world["service_a"].pk)}).json()
    assert figure(by_service, "interventions")["value"] == 2
    other_domain = client.get(URL, {"domain": "milieu-scolaire"}).json()
    assert figure(other_domain, "interventions")["value"] == 0
    last_year = timezone.localdate().replace(year=timezone.localdate().year - 1)
    old = client.get(URL, {"start": str(last_year), "end": str(last_year)}).json()
    assert figure(old, "interventions")["value"] == 0 and old["period"]["start"] == str(
        last_year.replace(day=1)
    )


def test_a_funder_cannot_widen_its_perimeter(world, api):
    """Asking for B's service or B's commune narrows to nothing, never to B's figures."""
    client = api(world["m"]["funder"])
    body = client.get(URL, {"service": str(world["service_b"].pk)}).json()
    assert figure(body, "interventions")["shown"] == "0"
    body = client.get(URL, {"commune": "62041"}).json()
    assert figure(body, "interventions")["shown"] == "0"


@pytest.mark.parametrize("key", ["mediator", "partner"])
def test_roles_without_a_dashboard_are_refused(world, api, key):
    assert_error_shape(api(world["m"][key]).get(URL), 403)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-05-01", "end": "2026-01-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "end"),
        ({"start": "2026-02-30"}, "start"),
        ({"start": "1999-12-31"}, "start"),
        ({"end": "99999-01-01"}, "end"),
        ({"board": "secret"}, "board"),
        ({"commune": "00000"}, "commune"),
        ({"commune": "Lille"}, "commune"),
        ({"territory": "abc"}, "territory"),
        ({"territory": "999999999"}, "territory"),
        ({"territory": str(10**30)}, "territory"),
        ({"service": "pas-un-uuid"}, "service"),
        ({"domain": "inconnu"}, "domain"),
        ({"activity_type": "x" * 500}, "activity_type"),
        ({"compare": "peut-être"}, "compare"),
    ],
)
def test_bad_parameters_name_their_field(world, api, params, field):
    body = assert_error_shape(api(world["m"]["coordinator"]).get(URL, params), 422)
    assert field in {e["field"] for e in body["errors"]}, body
