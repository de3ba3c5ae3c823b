"""Each shipped indicator, computed on a small hand-built month of entries.

The entries go through the real write path (form → service → roll-ups). The expected value
of every indicator is worked out by hand in the test from the table below, never read back
from the engine.

    #  activity           domain          commune  QPV  timing     outcome (family)       people  min  handoff  requests
    1  gestion-conflits   habitat-social  Roubaix  yes  real_time  apaise-resolu (res.)     2      20
    2  gestion-conflits   habitat-social  Roubaix  no   deferred   refus-mediation (ref.)   3      40
    3  gestion-conflits   habitat-social  Roubaix  yes  real_time  non-resolu (unres.)      1      30
    4  gestion-conflits   espaces-publics Lille    no   deferred   accord-obtenu (res.)     4      60   police
    5  presence-active    espaces-publics Lille    no   —          —                        5      90
    6  presence-active    espaces-publics Roubaix  yes  —          information-donnee       2      30
    7  mise-en-relation   services-publics Roubaix yes  —          oriente-partenaire       1      15            numerique×2, logement×1
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from lien.indicators import engine
from lien.indicators.models import IndicatorDefinition
from lien.indicators.services import indicators_load
from lien.logbook import services
from lien.logbook.forms import InterventionForm
from lien.structures.models import AfnorStatus

pytestmark = pytest.mark.django_db

ENTRIES = [
    dict(activity_type="gestion-conflits", domain="habitat-social", commune="59512",
         qpv="QX05901D", timing="real_time", outcome="apaise-resolu", people_met=2,
         duration_minutes=20),
    dict(activity_type="gestion-conflits", domain="habitat-social", commune="59512", qpv="",
         timing="deferred", outcome="refus-mediation", people_met=3, duration_minutes=40),
    dict(activity_type="gestion-conflits", domain="habitat-social", commune="59512",
         qpv="QX05901D", timing="real_time", outcome="non-resolu", people_met=1,
         duration_minutes=30),
    dict(activity_type="gestion-conflits", domain="espaces-publics", commune="59350", qpv="",
         timing="deferred", outcome="accord-obtenu", people_met=4, duration_minutes=60,
         emergency_handoff="police"),
    dict(activity_type="presence-active", domain="espaces-publics", commune="59350", qpv="",
         timing="", form="", outcome="", people_met=5, duration_minutes=90),
    dict(activity_type="presence-active", domain="espaces-publics", commune="59512",
         qpv="QX05901D", timing="", form="", outcome="information-donnee", people_met=2,
         duration_minutes=30),
    dict(activity_type="mise-en-relation", domain="services-publics", commune="59512",
         qpv="QX05901D", timing="", form="", outcome="oriente-partenaire", people_met=1,
         duration_minutes=15,
         access_requests=[{"theme": "numerique", "count": 2}, {"theme": "logement", "count": 1}]),
]  # fmt: skip


def month_of_entries():
    today = timezone.localdate()
    first = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    return first, first.replace(day=10)


@pytest.fixture
def month(team, payload):
    indicators_load()
    first, day = month_of_entries()
    for overrides in ENTRIES:
        data = payload(started_at=f"{day.isoformat()}T10:00", situation_category="", **overrides)
        if overrides["activity_type"] != "gestion-conflits":
            data["mediators"] = []
        form = InterventionForm.from_payload(
            data, structure=team["structure"], author=team["mediator"].user
        )
        assert form.is_valid(), form.errors
        services.intervention_create(actor=team["mediator"], data=form.intervention_data())
    return engine.Perimeter(start=first, end=first, structure_ids=(str(team["structure"].pk),))


def value(code, perimeter):
    definition = IndicatorDefinition.objects.get(code=code)
    return engine.indicator_value(definition, perimeter).value


def test_activity_counts(month):
    assert value("interventions", month) == 7
    assert value("personnes-rencontrees", month) == 2 + 3 + 1 + 4 + 5 + 2 + 1
    assert value("demandes", month) == 2 + 1  # requests counted apart from people
    # Outreach hours: the two "présence active" entries, 90 + 30 minutes.
    assert value("heures-presence-active", month) == Decimal("2.0")
    # Share in QPV: entries 1, 3, 6, 7 → 4 of 7.
    assert value("part-qpv", month) == (Decimal(400) / 7).quantize(Decimal("0.1"))
    assert value("qpv-couverts", month) == 1


def test_results(month):
    assert value("conflits-temps-reel", month) == 2  # entries 1 and 3
    assert value("conflits-differes", month) == 2  # entries 2 and 4
    # Conflicts with an outcome: 4; resolved family: entries 1 (apaisé) and 4 (accord) → 50 %.
    assert value("taux-resolution", month) == Decimal("50.0")
    # Refused family among conflicts: entry 2 → 1 of 4.
    assert value("taux-refus-retrait", month) == Decimal("25.0")
    assert value("relais-urgence", month) == 1  # entry 4 (police)


def test_data_quality(month):
    # Entries with an outcome: all but entry 5 → 6 of 7.
    assert value("part-saisies-avec-issue", month) == (Decimal(600) / 7).quantize(Decimal("0.1"))


def test_certified_structures(month, team):
    assert value("structures-certifiees", month) == Decimal("0.0")
    structure = team["structure"]
    structure.afnor_status = AfnorStatus.CERTIFIED
    structure.afnor_certified_on = datetime.date(2025, 6, 1)
    structure.save()
    assert value("structures-certifiees", month) == Decimal("100.0")


def test_indicators_of_records_not_yet_in_lien_are_unavailable_not_zero(month):
    for code in ("etp", "accords-tenus", "taux-reussite-mises-en-relation", "satisfaction"):
        assert value(code, month) is None, code
    # A rate over FTE waits for the jobs records even though the numerator exists.
    result = engine.indicator_value(
        IndicatorDefinition.objects.get(code="presence-active-etp"), month
    )
    assert result.numerator == Decimal("2.0") and result.value is None


def test_filters_of_the_perimeter_narrow_every_indicator(month):
    habitat = engine.Perimeter(
        start=month.start, end=month.end, structure_ids=month.structure_ids,
        domains=("habitat-social",),
    )  # fmt: skip
    assert value("interventions", habitat) == 3  # entries 1-3
    assert value("taux-resolution", habitat) == (Decimal(100) / 3).quantize(Decimal("0.1"))
    earlier = month.shifted(1)
    assert value("interventions", earlier) == 0
    assert value("taux-resolution", earlier) is None  # no conflict: undefined, not 0 %


def test_batched_values_equal_one_by_one(month):
    definitions = list(IndicatorDefinition.objects.all())
    batched = engine.indicator_values(definitions, month)
    for definition in definitions:
        assert batched[definition.code] == engine.indicator_value(definition, month), (
            definition.code
        )
