"""The write path of regional steering: agreements and their targets, experiments,
meetings and decisions, and report requests.

Steering members write for agreements inside their territory, administrators for all.
Each function validates the row, writes in one transaction and journals the change. A
report request saves the report and queues its generation after the commit.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from lien.core import audit
from lien.core.models import Membership, Role
from lien.core.permissions import can_manage_structure
from lien.steering.models import (
    AgreementTarget,
    Decision,
    DecisionStatus,
    Experiment,
    FrameworkAgreement,
    Report,
    ReportKind,
    SteeringMeeting,
)
from lien.territories.models import TerritoryAncestor

STEERING_REFUSED = "Seuls le pilotage de ce territoire et l'administration peuvent le modifier."


def can_steer(actor: Membership | None, territory) -> bool:
    """Administrators; steering members whose territory contains `territory`."""
    if actor is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    return (
        actor.role == Role.STEERING
        and territory is not None
        and TerritoryAncestor.objects.filter(
            ancestor_id=actor.territory_id, descendant=territory
        ).exists()
    )


def _require_steer(actor: Membership | None, territory) -> None:
    if not can_steer(actor, territory):
        raise PermissionDenied(STEERING_REFUSED)


def _assign(obj, data: dict[str, Any]) -> dict:
    """Set plain fields; return the many-to-many values to set after saving."""
    m2m = {}
    names = {f.name for f in obj._meta.many_to_many}
    for name, value in data.items():
        if name in names:
            m2m[name] = value
        else:
            setattr(obj, name, value)
    return m2m


def _write(obj, data, *, actor, created: bool):
    before = None if created else audit.snapshot(obj)
    m2m = _assign(obj, data)
    obj.full_clean()
    obj.save()
    for name, values in m2m.items():
        getattr(obj, name).set(values)
    if created:
        audit.record_create(actor=actor, obj=obj)
    else:
        audit.record_update(actor=actor, obj=obj, before=before)
    return obj


# --- agreements ---------------------------------------------------------------------


@transaction.atomic
def agreement_create(*, actor: Membership, data: dict[str, Any]) -> FrameworkAgreement:
    """Record a framework agreement for a territory inside the actor's."""
    _require_steer(actor, data.get("territory"))
    return _write(FrameworkAgreement(), data, actor=actor, created=True)


@transaction.atomic
def agreement_update(
    *, actor: Membership, agreement: FrameworkAgreement, data: dict[str, Any]
) -> FrameworkAgreement:
    _require_steer(actor, agreement.territory)
    _require_steer(actor, data.get("territory", agreement.territory))
    return _write(agreement, data, actor=actor, created=False)


@transaction.atomic
def agreement_target_set(
    *, actor: Membership, agreement: FrameworkAgreement, indicator, value, note: str = ""
) -> AgreementTarget:
    """Set (or change) the agreement's target for one indicator."""
    _require_steer(actor, agreement.territory)
    target = AgreementTarget.objects.filter(agreement=agreement, indicator=indicator).first()
    created = target is None
    target = target or AgreementTarget(agreement=agreement, indicator=indicator)
    return _write(target, {"value": value, "note": note}, actor=actor, created=created)


@transaction.atomic
def agreement_target_delete(*, actor: Membership, target: AgreementTarget) -> None:
    _require_steer(actor, target.agreement.territory)
    audit.record_delete(actor=actor, obj=target, before=audit.snapshot(target))
    target.delete()


# --- experiments ---------------------------------------------------------------------


@transaction.atomic
def experiment_create(
    *, actor: Membership, agreement: FrameworkAgreement, data: dict[str, Any]
) -> Experiment:
    _require_steer(actor, agreement.territory)
    _require_steer(actor, data.get("territory"))
    return _write(Experiment(agreement=agreement), data, actor=actor, created=True)


@transaction.atomic
def experiment_update(*, actor: Membership, experiment: Experiment, data: dict[str, Any]):
    _require_steer(actor, experiment.agreement.territory)
    _require_steer(actor, data.get("territory", experiment.territory))
    return _write(experiment, data, actor=actor, created=False)


# --- meetings and decisions ------------------------------------------------------------------


@transaction.atomic
def meeting_create(
    *, actor: Membership, agreement: FrameworkAgreement, data: dict[str, Any]
) -> SteeringMeeting:
    _require_steer(actor, agreement.territory)
    return _write(SteeringMeeting(agreement=agreement), data, actor=actor, created=True)


@transaction.atomic
def meeting_update(*, actor: Membership, meeting: SteeringMeeting, data: dict[str, Any]):
    _require_steer(actor, meeting.agreement.territory)
    return _write(meeting, data, actor=actor, created=False)


@transaction.atomic
def decision_create(
    *, actor: Membership, meeting: SteeringMeeting, data: dict[str, Any]
) -> Decision:
    _require_steer(actor, meeting.agreement.territory)
    return _write(Decision(meeting=meeting), data, actor=actor, created=True)


@transaction.atomic
def decision_update(*, actor: Membership, decision: Decision, data: dict[str, Any]) -> Decision:
    """Change a decision or record its follow-up; closing it dates the closing."""
    _require_steer(actor, decision.meeting.agreement.territory)
    status = data.get("status", decision.status)
    if status == DecisionStatus.OPEN:
        data = {**data, "closed_on": None}
    elif decision.closed_on is None or decision.status == DecisionStatus.OPEN:
        data = {**data, "closed_on": timezone.localdate()}
    return _write(decision, data, actor=actor, created=False)


# --- reports ---------------------------------------------------------------------


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


@transaction.atomic
def report_request(
    *,
    actor: Membership,
    kind: str,
    start: datetime.date,
    end: datetime.date,
    territory=None,
    agreement: FrameworkAgreement | None = None,
    service=None,
    funder=None,
) -> Report:
    """Save a report request and queue its generation (after the commit).

    Biannual reports: steering of a territory inside theirs, or administrators. Funder
    activity reports: the coordination of the service's structure, for one of the
    service's commissioning bodies or one of its funders."""
    if kind == ReportKind.BIANNUAL:
        _require_steer(actor, territory)
        if agreement is not None and not can_steer(actor, agreement.territory):
            raise PermissionDenied(STEERING_REFUSED)
    elif kind == ReportKind.FUNDER:
        if service is None or not can_manage_structure(actor, service.structure):
            raise PermissionDenied("Seule la coordination de la structure produit ses bilans.")
        if funder is None or not _funds(funder, service):
            raise ValidationError(
                {"funder": "Choisissez un commanditaire ou un financeur de ce dispositif."}
            )
    else:
        raise ValidationError({"kind": f"Nature de rapport inconnue : « {kind} »."})
    report = Report(
        kind=kind,
        start=_month_start(start),
        end=_month_start(end),
        territory=territory if kind == ReportKind.BIANNUAL else None,
        agreement=agreement,
        service=service,
        funder=funder,
        requested_by=actor.user,
    )
    report.full_clean()
    report.save()
    audit.record_create(actor=actor, obj=report)
    transaction.on_commit(lambda: _enqueue(report.pk))
    return report


def _funds(funder, service) -> bool:
    from lien.jobs.models import Funding

    return (
        service.commissioning_bodies.filter(pk=funder.pk).exists()
        or Funding.objects.filter(funder=funder, service=service).exists()
        or Funding.objects.filter(funder=funder, post__service=service).exists()
    )


def _enqueue(report_id) -> None:
    from lien.steering.tasks import generate_report

    generate_report.enqueue(str(report_id))
