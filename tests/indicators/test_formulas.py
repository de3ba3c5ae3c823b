"""Each shipped indicator, computed on a small hand-built month of entries.

The entries go through the real write path (form → service → roll-ups). The expected value
of every indicator is worked out by hand in the test from the table below, never read back
from the engine.

    #  activity          domain      commune QPV timing outcome (family)     people min  other
    1  gestion-conflits  habitat     Roubaix yes real   apaise-resolu (res.)   2     20
    2  gestion-conflits  habitat     Roubaix no  defer. refus-mediation (ref.) 3     40
    3  gestion-conflits  habitat     Roubaix yes real   non-resolu (unres.)    1     30
    4  gestion-conflits  esp. publ.  Lille   no  defer. accord-obtenu (res.)   4     60   police
    5  presence-active   esp. publ.  Lille   no  —      —                      5     90
    6  presence-active   esp. publ.  Roubaix yes —      information-donnee     2     30
    7  mise-en-relation  serv. publ. Roubaix yes —      oriente-partenaire     1     15   requests:
                                                                                    numérique ×2,
                                                                                    logement ×1
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


def row(activity, domain, commune, qpv, timing, outcome, people, minutes, **extra):
    return {
        "activity_type": activity,
        "domain": domain,
        "commune": commune,
        "qpv": qpv,
        "timing": timing,
        "outcome": outcome,
        "people_met": people,
        "duration_minutes": minutes,
        **({"form": ""} if not timing else {}),
        **extra,
    }


ROUBAIX, LILLE, QPV = "59512", "59350", "QX05901D"
REQUESTS = [{"theme": "numerique", "count": 2}, {"theme": "logement", "count": 1}]
ENTRIES = [
    row("gestion-conflits", "habitat-social", ROUBAIX, QPV, "real_time", "apaise-resolu", 2, 20),
    row("gestion-conflits", "habitat-social", ROUBAIX, "", "deferred", "refus-mediation", 3, 40),
    row("gestion-conflits", "habitat-social", ROUBAIX, QPV, "real_time", "non-resolu", 1, 30),
    row("gestion-conflits", "espaces-publics", LILLE, "", "deferred", "accord-obtenu", 4, 60,
        emergency_handoff="police"),
    row("presence-active", "espaces-publics", LILLE, "", "", "", 5, 90),
    row("presence-active", "espaces-publics", ROUBAIX, QPV, "", "information-donnee", 2, 30),
    row("mise-en-relation", "services-publics", ROUBAIX, QPV, "", "oriente-partenaire", 1, 15,
        access_requests=REQUESTS),
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
    for code in ("satisfaction", "auto-evaluation-citer"):
        assert value(code, month) is None, code
    # Jobs and follow-up records are in Lien: counted (0 here), a rate over nothing is undefined.
    assert value("etp", month) == 0
    assert value("emplois-crees-consolides", month) == 0
    referrals = engine.indicator_value(
        IndicatorDefinition.objects.get(code="taux-reussite-mises-en-relation"), month
    )
    assert (referrals.numerator, referrals.denominator, referrals.value) == (0, 0, None)
    assert value("mises-en-relation", month) == 0
    # A rate over FTE is undefined without anyone in post, even though the numerator exists.
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
