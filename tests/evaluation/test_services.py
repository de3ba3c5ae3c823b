import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lien.core.models import AuditAction, AuditEvent
from lien.evaluation import services
from lien.evaluation.models import (
    AvoidedCostEstimate,
    Evaluation,
    EvaluationState,
    SelfAssessment,
    Survey,
)
from lien.referentiel.models import UtilityRegister

pytestmark = pytest.mark.django_db

D = datetime.date


def registers() -> dict[str, UtilityRegister]:
    return {r.code: r for r in UtilityRegister.objects.all()}


def test_coordinator_creates_an_evaluation_journaled_in_its_structure(world):
    evaluation = services.evaluation_create(
        actor=world["coordinator"],
        service=world["service"],
        data={"starts_on": D(2025, 1, 1), "ends_on": D(2025, 6, 30)},
    )
    assert evaluation.state == EvaluationState.DRAFT
    event = AuditEvent.objects.get(object_id=str(evaluation.pk), action=AuditAction.CREATE)
    assert event.structure_id == world["structure"].pk


@pytest.mark.parametrize(
    "actor", ["mediator", "coordinator_b", "city_member", "steering_nord", "partner"]
)
def test_only_the_structures_coordination_creates_or_changes(world, actor):
    membership = world[actor]
    data = {"starts_on": D(2025, 1, 1), "ends_on": D(2025, 6, 30)}
    with pytest.raises(PermissionDenied):
        services.evaluation_create(actor=membership, service=world["service"], data=data)
    evaluation = world["a"]["evaluation"]
    with pytest.raises(PermissionDenied):
        services.evaluation_update(actor=membership, evaluation=evaluation, data=data)
    with pytest.raises(PermissionDenied):
        services.evaluation_assess(
            actor=membership,
            evaluation=evaluation,
            assessments={registers()["reconnaissance"]: (3, "Bon accueil.")},
        )
    with pytest.raises(PermissionDenied):
        services.avoided_cost_delete(actor=membership, estimate=world["a"]["avoided_cost"])
    with pytest.raises(PermissionDenied):
        services.survey_create(
            actor=membership,
            service=world["service"],
            data={"audience": "residents", "title": "T", "opens_on": D(2025, 1, 1),
                  "closes_on": D(2025, 2, 1)},
        )  # fmt: skip
    assert Evaluation.objects.count() == 2
    assert Survey.objects.count() == 2


def test_a_period_that_ends_before_it_starts_is_refused(world):
    with pytest.raises(ValidationError) as refused:
        services.evaluation_create(
            actor=world["coordinator"],
            service=world["service"],
            data={"starts_on": D(2025, 6, 1), "ends_on": D(2025, 1, 1)},
        )
    assert "La fin de la période doit suivre son début." in str(refused.value)


def test_the_same_period_twice_is_refused(world):
    evaluation = world["a"]["evaluation"]
    with pytest.raises(ValidationError) as refused:
        services.evaluation_create(
            actor=world["coordinator"],
            service=world["service"],
            data={"starts_on": evaluation.starts_on, "ends_on": evaluation.ends_on},
        )
    assert "existe déjà" in str(refused.value)


def test_unknown_field_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.evaluation_update(
            actor=world["coordinator"],
            evaluation=world["a"]["evaluation"],
            data={"service": world["service_b"]},
        )


def test_assessment_sets_updates_and_removes_per_register(world):
    evaluation, r = world["a"]["evaluation"], registers()
    services.evaluation_assess(
        actor=world["coordinator"],
        evaluation=evaluation,
        assessments={r["cohesion-sociale"]: (3, "Fêtes de quartier co-organisées."),
                     r["reconnaissance"]: (2, "")},
    )  # fmt: skip
    assert dict(evaluation.assessments.values_list("register__code", "level")) == {
        "cohesion-sociale": 3,
        "reconnaissance": 2,
    }
    services.evaluation_assess(
        actor=world["coordinator"],
        evaluation=evaluation,
        assessments={r["cohesion-sociale"]: (4, "Et plus."), r["reconnaissance"]: (None, "")},
    )
    assert dict(evaluation.assessments.values_list("register__code", "level")) == {
        "cohesion-sociale": 4
    }
    assert (
        AuditEvent.objects.filter(
            object_id=str(evaluation.pk), note="Auto-évaluation par registre"
        ).count()
        == 2
    )


@pytest.mark.parametrize(
    ("level", "evidence", "message"),
    [
        (5, "", "Registre « Cohésion sociale » : La valeur"),
        (0, "", "Registre « Cohésion sociale » : La valeur"),
        (3, "<b>gras</b>", "balises HTML"),
        (3, "x" * 2001, "2000"),
        (None, "Des éléments sans niveau", "choisissez un niveau"),
    ],
)
def test_bad_assessment_is_refused_and_nothing_stored(world, level, evidence, message):
    evaluation = world["a"]["evaluation"]
    with pytest.raises(ValidationError) as refused:
        services.evaluation_assess(
            actor=world["coordinator"],
            evaluation=evaluation,
            assessments={registers()["cohesion-sociale"]: (level, evidence)},
        )
    assert message.lower() in str(refused.value).lower()
    assert not SelfAssessment.objects.exists()


def test_a_final_evaluation_is_frozen_until_back_to_draft(world):
    evaluation = world["a"]["evaluation"]
    services.evaluation_update(
        actor=world["coordinator"], evaluation=evaluation, data={"state": EvaluationState.FINAL}
    )
    r = registers()
    with pytest.raises(ValidationError, match="finalisée"):
        services.evaluation_assess(
            actor=world["coordinator"],
            evaluation=evaluation,
            assessments={r["cohesion-sociale"]: (3, "")},
        )
    with pytest.raises(ValidationError, match="finalisée"):
        services.avoided_cost_delete(
            actor=world["coordinator"], estimate=world["a"]["avoided_cost"]
        )
    with pytest.raises(ValidationError, match="finalisée"):
        services.evaluation_update(
            actor=world["coordinator"], evaluation=evaluation, data={"ends_on": D(2030, 1, 1)}
        )
    services.evaluation_update(
        actor=world["coordinator"], evaluation=evaluation, data={"state": EvaluationState.DRAFT}
    )
    services.avoided_cost_delete(actor=world["coordinator"], estimate=world["a"]["avoided_cost"])
    assert not AvoidedCostEstimate.objects.filter(evaluation=evaluation).exists()


def _estimate(**extra) -> dict:
    return {
        "register": UtilityRegister.objects.get(code="contribution-economique"),
        "label": "Dégradations évitées",
        "assumptions": "Coût moyen d'une réparation chez le bailleur (2024).",
        "unit_cost": Decimal("150"),
        "manual_quantity": Decimal("10"),
        **extra,
    }


def test_avoided_cost_requires_its_assumptions_and_one_quantity(world):
    evaluation, coordinator = world["a"]["evaluation"], world["coordinator"]
    before = AvoidedCostEstimate.objects.count()
    for data, field in [
        (_estimate(assumptions="   "), "assumptions"),
        (_estimate(manual_quantity=None), "__all__"),
        (_estimate(unit_cost=Decimal("-1")), "unit_cost"),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.avoided_cost_create(actor=coordinator, evaluation=evaluation, data=data)
        assert field in refused.value.message_dict, refused.value.message_dict
    from lien.indicators.models import IndicatorDefinition

    indicator = IndicatorDefinition.objects.get(code="conflits-temps-reel")
    with pytest.raises(ValidationError):
        services.avoided_cost_create(
            actor=coordinator, evaluation=evaluation, data=_estimate(indicator=indicator)
        )
    assert AvoidedCostEstimate.objects.count() == before
    services.avoided_cost_create(actor=coordinator, evaluation=evaluation, data=_estimate())
    assert AvoidedCostEstimate.objects.count() == before + 1


def test_survey_creation_journals_without_the_public_token(world):
    survey = services.survey_create(
        actor=world["coordinator"],
        service=world["service"],
        data={"audience": "partners", "title": "Partenaires 2025", "opens_on": D(2025, 1, 1),
              "closes_on": D(2025, 2, 1)},
    )  # fmt: skip
    assert len(survey.token) >= 24
    event = AuditEvent.objects.get(object_id=str(survey.pk))
    assert survey.token not in str(event.after)
    with pytest.raises(ValidationError, match="La clôture doit suivre"):
        services.survey_create(
            actor=world["coordinator"],
            service=world["service"],
            data={"audience": "partners", "title": "T", "opens_on": D(2025, 2, 1),
                  "closes_on": D(2025, 1, 1)},
        )  # fmt: skip
