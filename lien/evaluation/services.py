"""The write path of evaluations, self-assessments, avoided costs and surveys.

Each function checks that the actor coordinates the structure of the service concerned (or
administers the platform), validates, writes in one transaction and journals the change.
No roll-up is touched: the evaluation is read from these few rows and from the existing
cubes. A survey answer is the exception to the journal: it is anonymous, and a journal
line would keep the precise time of the answer that the response itself does not store.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership
from lien.core.permissions import require_manage_structure
from lien.evaluation.models import (
    QUESTION_FIELDS,
    AvoidedCostEstimate,
    Evaluation,
    EvaluationState,
    SelfAssessment,
    Survey,
    SurveyResponse,
)
from lien.referentiel.models import UtilityRegister
from lien.structures.models import Service

FINAL_REFUSED = "Cette évaluation est finalisée : repassez-la en brouillon pour la modifier."


def _assign(obj, data: dict[str, Any], *, allowed: tuple[str, ...]) -> None:
    for name, value in data.items():
        if name not in allowed:
            raise PermissionDenied(f"Le champ « {name} » ne se change pas ici.")
        setattr(obj, name, value)


def _require_draft(evaluation: Evaluation) -> None:
    if evaluation.is_final:
        raise ValidationError(FINAL_REFUSED)


# --- evaluations ---------------------------------------------------------------------------

EVALUATION_FIELDS = ("starts_on", "ends_on", "state")


@transaction.atomic
def evaluation_create(*, actor: Membership, service: Service, data: dict[str, Any]) -> Evaluation:
    """Open the evaluation of `service` for a period (its structure's coordinators)."""
    require_manage_structure(actor, service.structure)
    evaluation = Evaluation(service=service)
    _assign(evaluation, data, allowed=EVALUATION_FIELDS)
    evaluation.full_clean()
    evaluation.save()
    audit.record_create(actor=actor, obj=evaluation)
    return evaluation


@transaction.atomic
def evaluation_update(
    *, actor: Membership, evaluation: Evaluation, data: dict[str, Any]
) -> Evaluation:
    """Change the period or the state (finalise it, or back to draft to correct it)."""
    require_manage_structure(actor, evaluation.service.structure)
    if evaluation.is_final and data.get("state", EvaluationState.FINAL) == EvaluationState.FINAL:
        raise ValidationError(FINAL_REFUSED)
    before = audit.snapshot(evaluation)
    _assign(evaluation, data, allowed=EVALUATION_FIELDS)
    evaluation.full_clean()
    evaluation.save()
    audit.record_update(actor=actor, obj=evaluation, before=before)
    return evaluation


@transaction.atomic
def evaluation_assess(
    *,
    actor: Membership,
    evaluation: Evaluation,
    assessments: dict[UtilityRegister, tuple[int | None, str]],
) -> list[SelfAssessment]:
    """Set the self-assessment of each register given: (level, evidence); a level of None
    removes that register's assessment. Evidence is free text already screened by the form
    (names, contact details, sensitive terms) and refused with markup by the model."""
    require_manage_structure(actor, evaluation.service.structure)
    _require_draft(evaluation)
    existing = {a.register_id: a for a in evaluation.assessments.all()}
    before = {a.register.code: [a.level, a.evidence] for a in existing.values()}
    kept = []
    for register, (level, evidence) in assessments.items():
        row = existing.get(register.pk)
        if level is None:
            if evidence:
                raise ValidationError(
                    {
                        f"level_{register.code}": f"Registre « {register} » : choisissez un "
                        "niveau pour ces éléments de preuve."
                    }
                )
            if row is not None:
                row.delete()
            continue
        row = row or SelfAssessment(evaluation=evaluation, register=register)
        row.level, row.evidence = level, evidence
        try:
            row.full_clean()
        except ValidationError as exc:
            # Keyed like the form's fields (level_<register>), each message naming it.
            raise ValidationError(
                {
                    f"{name}_{register.code}": [f"Registre « {register} » : {m}" for m in messages]
                    for name, messages in exc.message_dict.items()
                }
            ) from exc
        row.save()
        kept.append(row)
    after = {a.register.code: [a.level, a.evidence] for a in evaluation.assessments.all()}
    audit.record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=evaluation,
        before={"assessments": before},
        after={"assessments": after},
        structure_id=evaluation.service.structure_id,
        note="Auto-évaluation par registre",
    )
    return kept


# --- avoided costs -------------------------------------------------------------------------

ESTIMATE_FIELDS = ("register", "label", "assumptions", "unit_cost", "indicator", "manual_quantity")


@transaction.atomic
def avoided_cost_create(
    *, actor: Membership, evaluation: Evaluation, data: dict[str, Any]
) -> AvoidedCostEstimate:
    """Add an avoided-cost estimate; its assumptions are required (shown with it always)."""
    require_manage_structure(actor, evaluation.service.structure)
    _require_draft(evaluation)
    estimate = AvoidedCostEstimate(evaluation=evaluation)
    _assign(estimate, data, allowed=ESTIMATE_FIELDS)
    if not (estimate.assumptions or "").strip():
        raise ValidationError({"assumptions": "Les hypothèses de l'estimation sont obligatoires."})
    estimate.full_clean()
    estimate.save()
    audit.record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=estimate,
        after=audit.snapshot(estimate),
        structure_id=evaluation.service.structure_id,
    )
    return estimate


@transaction.atomic
def avoided_cost_delete(*, actor: Membership, estimate: AvoidedCostEstimate) -> None:
    require_manage_structure(actor, estimate.evaluation.service.structure)
    _require_draft(estimate.evaluation)
    before = audit.snapshot(estimate)
    structure_id = estimate.evaluation.service.structure_id
    audit.record(
        action=AuditAction.DELETE,
        actor=actor,
        obj=estimate,
        before=before,
        structure_id=structure_id,
    )
    estimate.delete()


# --- surveys -------------------------------------------------------------------------------

SURVEY_FIELDS = ("audience", "title", "opens_on", "closes_on")


@transaction.atomic
def survey_create(*, actor: Membership, service: Service, data: dict[str, Any]) -> Survey:
    """Open a satisfaction survey of one audience of `service`, with a public link."""
    require_manage_structure(actor, service.structure)
    survey = Survey(service=service)
    _assign(survey, data, allowed=SURVEY_FIELDS)
    survey.full_clean()
    survey.save()
    audit.record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=survey,
        after=audit.masked(audit.snapshot(survey), ["token"]),
        structure_id=service.structure_id,
    )
    return survey


def survey_answer(
    *, survey: Survey, answers: dict[str, Any], today: datetime.date | None = None
) -> SurveyResponse:
    """Store one anonymous answer while the survey is open (no account, no IP, no time)."""
    today = today or timezone.localdate()
    if not survey.is_open_on(today):
        raise ValidationError(
            "Cette enquête n'accepte pas de réponse aujourd'hui : elle est ouverte du "
            f"{survey.opens_on:%d/%m/%Y} au {survey.closes_on:%d/%m/%Y}."
        )
    unknown = set(answers) - {*QUESTION_FIELDS, "comment"}
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    response = SurveyResponse(survey=survey, answered_on=today, **answers)
    response.full_clean()
    with transaction.atomic():
        response.save(force_insert=True)
    return response
