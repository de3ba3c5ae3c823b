"""utility_summary (the interface of the steering reports) and survey results."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from lien.core.models import Role
from lien.evaluation import queries, services
from lien.evaluation.models import AvoidedCostEstimate, EvaluationState
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import UtilityRegister
from tests.evaluation.factories import economic_register, make_responses, make_survey
from tests.factories import make_membership
from tests.indicators.test_dashboards import entry

pytestmark = pytest.mark.django_db

REGISTERS = [
    "cohesion-sociale",
    "tranquillite-publique",
    "innovation-apprentissage",
    "contribution-economique",
    "reconnaissance",
]


def year():
    today = timezone.localdate()
    return today.replace(month=1, day=1), today.replace(month=12, day=31)


def by_code(rows) -> dict:
    return {row["register"].code: row for row in rows}


def indicator(row, code) -> dict:
    return next(i for i in row["indicators"] if i["code"] == code)


def finalise(world, key, coordinator="coordinator"):
    evaluation = world[key]["evaluation"]
    services.evaluation_update(
        actor=world[coordinator], evaluation=evaluation, data={"state": EvaluationState.FINAL}
    )
    return evaluation


def assess(world, key, level, evidence, coordinator="coordinator"):
    register = UtilityRegister.objects.get(code="cohesion-sociale")
    services.evaluation_assess(
        actor=world[coordinator],
        evaluation=world[key]["evaluation"],
        assessments={register: (level, evidence)},
    )


def test_one_dict_per_register_in_register_order_with_the_documented_keys(world):
    start, end = year()
    rows = queries.utility_summary(services=[world["service"]], start=start, end=end)
    assert [row["register"].code for row in rows] == REGISTERS
    for row in rows:
        assert set(row) == {"register", "indicators", "self_assessment", "surveys", "avoided_costs"}
        for item in row["indicators"]:
            assert {"label", "value", "text", "unit"} <= set(item)
    # The module's own measures (satisfaction, self-assessment) are not shown as "à venir".
    codes = {i["code"] for row in rows for i in row["indicators"]}
    assert "satisfaction" not in codes
    assert "conflits-temps-reel" in codes


def test_indicators_are_computed_for_the_services_and_protected_outside(world):
    start, end = year()
    service, service_b = world["service"], world["service_b"]
    for _ in range(6):
        entry(service.structure, world["mediator"], service, commune="59512")
    mediator_b = make_membership(Role.MEDIATOR, structure=service_b.structure)
    for _ in range(3):
        entry(service_b.structure, mediator_b, service_b, commune="62041")

    def value(services_, **kwargs):
        rows = by_code(queries.utility_summary(services=services_, start=start, end=end, **kwargs))
        item = indicator(rows["tranquillite-publique"], "conflits-temps-reel")
        return item["text"], item["value"]

    assert value([service]) == ("6", 6)
    assert value([service_b]) == ("< 5", None)  # never a number when hidden
    assert value([service_b], protected=False) == ("3", 3)
    assert value([service, service_b]) == ("9", 9)
    # A QuerySet works as well as a list; a period without data counts nothing.
    assert value(type(service).objects.filter(pk=service.pk)) == ("6", 6)
    rows = queries.utility_summary(
        services=[service],
        start=start.replace(year=start.year - 2),
        end=end.replace(year=end.year - 2),
    )
    assert indicator(by_code(rows)["tranquillite-publique"], "conflits-temps-reel")["text"] == "0"


def test_self_assessment_comes_from_final_evaluations_only_and_is_averaged(world):
    start, end = year()
    both = [world["service"], world["service_b"]]
    assess(world, "a", 3, "Fêtes de quartier co-organisées.")
    assess(world, "b", 4, "Jardins partagés.", coordinator="coordinator_b")
    rows = by_code(queries.utility_summary(services=both, start=start, end=end))
    assert rows["cohesion-sociale"]["self_assessment"] is None  # drafts
    finalise(world, "a")
    rows = by_code(queries.utility_summary(services=both, start=start, end=end))
    assert rows["cohesion-sociale"]["self_assessment"] == {
        "level": 3,
        "level_label": "3 — atteint",
        "evidence": "Fêtes de quartier co-organisées.",
    }
    assert rows["reconnaissance"]["self_assessment"] is None
    finalise(world, "b", coordinator="coordinator_b")
    summary = by_code(queries.utility_summary(services=both, start=start, end=end))
    cohesion = summary["cohesion-sociale"]["self_assessment"]
    assert cohesion["level"] == 4  # 3.5 rounded half up
    assert cohesion["level_label"] == "4 — remarquable (moyenne de 2 auto-évaluations)"
    assert "Médiation de proximité : Fêtes" in cohesion["evidence"]
    assert "Dispositif Bêta : Jardins" in cohesion["evidence"]
    # An evaluation outside the period does not count.
    rows = queries.utility_summary(
        services=both, start=start.replace(year=start.year - 3), end=end.replace(year=end.year - 3)
    )
    assert by_code(rows)["cohesion-sociale"]["self_assessment"] is None


def test_surveys_are_suppressed_under_five_answers(world):
    start, end = year()
    survey = world["a"]["survey"]
    make_responses(survey, [5, 4, 4, 3])
    rows = by_code(queries.utility_summary(services=[world["service"]], start=start, end=end))
    [residents] = rows["cohesion-sociale"]["surveys"]
    assert residents == {
        "audience": "residents",
        "audience_label": "habitants et usagers",
        "responses": 4,
        "responses_label": "< 5 réponses",
        "mean": None,
        "suppressed": True,
    }
    make_responses(survey, [2])
    rows = by_code(queries.utility_summary(services=[world["service"]], start=start, end=end))
    [residents] = rows["tranquillite-publique"]["surveys"]
    assert (residents["responses"], residents["suppressed"], residents["mean"]) == (5, False, 3.6)
    assert residents["responses_label"] == "5 réponses"
    assert rows["contribution-economique"]["surveys"] == []


def test_survey_answers_count_by_their_date_and_audience(world):
    start, end = year()
    service = world["service"]
    partners = make_survey(service, audience="partners")
    make_responses(partners, [4] * 5)
    old = make_survey(
        service,
        opens_on=start.replace(year=start.year - 1),
        closes_on=end.replace(year=end.year - 1),
    )
    make_responses(old, [1] * 6, on=start.replace(year=start.year - 1))
    rows = by_code(queries.utility_summary(services=[service], start=start, end=end))
    surveys = {s["audience"]: s for s in rows["reconnaissance"]["surveys"]}
    assert surveys["partners"]["mean"] == 4.0
    assert surveys["residents"]["responses"] == 0  # world's survey is open, no answer yet


def test_survey_results_show_distribution_only_from_five_answers(world):
    survey = world["a"]["survey"]
    make_responses(survey, [1, 5, 5, 4])
    results = queries.survey_results(survey)
    assert results["suppressed"] and results["responses_label"] == "< 5 réponses"
    assert all(q["mean"] is None and q["distribution"] is None for q in results["questions"])
    make_responses(survey, [5])
    results = queries.survey_results(survey)
    assert not results["suppressed"]
    question = results["questions"][0]
    assert question["mean"] == 4.0
    assert [count for _value, _label, count in question["distribution"]] == [1, 0, 0, 1, 3]


def test_avoided_costs_show_amount_and_assumptions_from_final_evaluations(world):
    start, end = year()
    service = world["service"]
    rows = by_code(queries.utility_summary(services=[service], start=start, end=end))
    assert rows["contribution-economique"]["avoided_costs"] == []  # a draft
    evaluation = world["a"]["evaluation"]
    AvoidedCostEstimate.objects.create(
        evaluation=evaluation,
        register=economic_register(),
        label="Conflits apaisés sans intervention de police",
        assumptions="100 € par déplacement évité (hypothèse basse).",
        unit_cost=Decimal("100"),
        indicator=IndicatorDefinition.objects.get(code="conflits-temps-reel"),
    )
    for _ in range(3):
        entry(service.structure, world["mediator"], service, commune="59512")
    finalise(world, "a")
    rows = by_code(queries.utility_summary(services=[service], start=start, end=end))
    manual, computed = rows["contribution-economique"]["avoided_costs"]
    assert (manual["amount"], manual["assumptions"]) == (
        Decimal("3600.00"),
        "Coût moyen d'un déplacement, source : rapport 2024.",
    )
    # 3 conflicts × 100 € would give the small count back outside the structure.
    assert computed["amount"] is None and computed["quantity_text"] == "< 5"
    assert computed["assumptions"].startswith("100 €")
    rows = by_code(
        queries.utility_summary(services=[service], start=start, end=end, protected=False)
    )
    assert rows["contribution-economique"]["avoided_costs"][1]["amount"] == Decimal("300.00")
    for _ in range(3):
        entry(service.structure, world["mediator"], service, commune="59512")
    rows = by_code(queries.utility_summary(services=[service], start=start, end=end))
    assert rows["contribution-economique"]["avoided_costs"][1]["amount"] == Decimal("600.00")


def test_summary_of_no_service_is_empty_but_complete(world):
    start, end = year()
    rows = queries.utility_summary(services=[], start=start, end=end)
    assert [r["register"].code for r in rows] == REGISTERS
    assert all(
        r["self_assessment"] is None and not r["surveys"] and not r["avoided_costs"] for r in rows
    )


def test_summary_query_count_does_not_grow_with_evaluations(world, django_assert_max_num_queries):
    start, end = year()
    finalise(world, "a")
    finalise(world, "b", coordinator="coordinator_b")
    with django_assert_max_num_queries(20):
        queries.utility_summary(
            services=[world["service"], world["service_b"]],
            start=start,
            end=end - datetime.timedelta(days=1),
        )


def test_the_indicator_engine_computes_satisfaction_and_self_assessment(world):
    """The engine's "utility" measures: the share of answers of 4 or 5 (hidden under the
    threshold of responses), and the mean self-assessment of final evaluations."""
    from lien.evaluation.models import EvaluationState, SelfAssessment
    from lien.indicators import engine
    from lien.indicators.models import IndicatorDefinition
    from lien.referentiel.models import UtilityRegister
    from tests.evaluation.factories import make_responses

    today = timezone.localdate()
    month = today.replace(day=1)
    perimeter = engine.Perimeter(month, month, service_ids=(str(world["service"].pk),))
    satisfaction = IndicatorDefinition.objects.get(code="satisfaction")
    self_assessment = IndicatorDefinition.objects.get(code="auto-evaluation-citer")
    survey = world["a"]["survey"]
    make_responses(survey, [5, 4, 2])
    assert engine.indicator_value(satisfaction, perimeter).value is None  # 3 answers < 5
    make_responses(survey, [5, 1])
    # 5 responses × 4 questions: 12 answers of 4 or 5 out of 20.
    assert engine.indicator_value(satisfaction, perimeter).value == 60
    # B's answers do not count for A.
    make_responses(world["b"]["survey"], [1] * 6)
    assert engine.indicator_value(satisfaction, perimeter).value == 60
    evaluation = world["a"]["evaluation"]
    registers = list(UtilityRegister.objects.order_by("position", "code")[:2])
    for register, level in zip(registers, (2, 3), strict=True):
        SelfAssessment.objects.create(evaluation=evaluation, register=register, level=level)
    assert engine.indicator_value(self_assessment, perimeter).value is None  # a draft
    evaluation.state = EvaluationState.FINAL
    evaluation.save()
    assert engine.indicator_value(self_assessment, perimeter).value == Decimal("2.5")
