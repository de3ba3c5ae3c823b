"""Evaluation records for tests (and for the permission and bad-input matrices)."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from lien.evaluation.models import AvoidedCostEstimate, Evaluation, Survey, SurveyResponse
from lien.referentiel.models import UtilityRegister


def economic_register() -> UtilityRegister:
    return UtilityRegister.objects.get_or_create(
        code="contribution-economique", defaults={"label": "Contribution économique"}
    )[0]


def make_survey(service, *, audience="residents", days_open=30, **extra) -> Survey:
    today = timezone.localdate()
    return Survey.objects.create(
        service=service,
        audience=audience,
        title=extra.pop("title", "Enquête " + service.name),
        opens_on=extra.pop("opens_on", today - datetime.timedelta(days=10)),
        closes_on=extra.pop("closes_on", today + datetime.timedelta(days=days_open)),
        **extra,
    )


def make_responses(survey, answers, *, on=None, comment="") -> list[SurveyResponse]:
    """One response per value of `answers` (the same value to every question)."""
    on = on or timezone.localdate()
    return [
        SurveyResponse.objects.create(
            survey=survey,
            answered_on=on,
            q_cohesion=v,
            q_tranquillity=v,
            q_innovation=v,
            q_recognition=v,
            comment=comment,
        )
        for v in answers
    ]


def make_evaluation(service) -> dict:
    """An evaluation of `service` (this year, draft), an avoided cost, an open survey; keys
    are the route parameters' object names."""
    today = timezone.localdate()
    evaluation = Evaluation.objects.create(
        service=service,
        starts_on=today.replace(month=1, day=1),
        ends_on=today.replace(month=12, day=31),
    )
    estimate = AvoidedCostEstimate.objects.create(
        evaluation=evaluation,
        register=economic_register(),
        label="Interventions des secours évitées",
        assumptions="Coût moyen d'un déplacement, source : rapport 2024.",
        unit_cost=Decimal("300"),
        manual_quantity=Decimal("12"),
    )
    survey = make_survey(service)
    return {
        "evaluation": evaluation,
        "avoided_cost": estimate,
        "survey": survey,
        "survey_token": SimpleNamespace(pk=survey.token),
    }
