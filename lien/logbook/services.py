"""The write path of the logbook: create, correct and sync interventions; plan shifts."""

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from lien.core import audit
from lien.core.models import Membership, Role
from lien.core.permissions import require_role
from lien.logbook.models import AccessRequest, Intervention, Shift, Source

_PLAIN_FIELDS = (
    "service",
    "shift",
    "started_at",
    "duration_minutes",
    "commune",
    "qpv",
    "place_type",
    "activity_type",
    "domain",
    "situation_category",
    "origin",
    "timing",
    "form",
    "people_met",
    "outcome",
    "emergency_handoff",
    "note",
    "note_warnings",
)


class ConflictError(Exception):
    """An edit was made against a version of the entry that has changed since."""

    def __init__(self, intervention: Intervention, base_version: int):
        super().__init__(
            f"L'intervention a été modifiée entre-temps (version {intervention.version}, "
            f"modification faite sur la version {base_version})."
        )
        self.intervention = intervention
        self.base_version = base_version


def _set_relations(intervention: Intervention, data: dict[str, Any], author) -> None:
    mediators = {author.pk} if author else set()
    mediators |= {user.pk for user in data.get("mediators", [])}
    intervention.mediators.set(mediators)
    intervention.access_requests.all().delete()
    AccessRequest.objects.bulk_create(
        AccessRequest(intervention=intervention, theme=theme, count=count)
        for theme, count in (data.get("access_requests") or {}).items()
    )


def _full_snapshot(intervention: Intervention) -> dict:
    data = audit.snapshot(intervention)
    data["access_requests"] = {
        r.theme.code: r.count for r in intervention.access_requests.select_related("theme")
    }
    return data


@transaction.atomic
def intervention_create(
    *,
    actor: Membership,
    data: dict[str, Any],
    intervention_id: uuid.UUID | None = None,
    source: str = Source.WEB,
) -> Intervention:
    """Log an intervention for the actor's structure. `data` comes from InterventionForm.

    `intervention_id` is the client-generated UUID of an offline entry: the caller checks
    first whether it already exists (see `intervention_sync`).
    """
    require_role(actor, Role.MEDIATOR, Role.COORDINATOR)
    if data["service"].structure_id != actor.structure_id:
        raise PermissionDenied("Ce dispositif n'appartient pas à votre structure.")
    intervention = Intervention(
        id=intervention_id or uuid.uuid4(),
        structure_id=actor.structure_id,
        author=actor.user,
        source=source,
    )
    for name in _PLAIN_FIELDS:
        if name in data:
            setattr(intervention, name, data[name])
    intervention.full_clean(exclude=["mediators"])
    intervention.save(force_insert=True)
    _set_relations(intervention, data, actor.user)
    audit.record(action="create", actor=actor, obj=intervention, after=_full_snapshot(intervention))
    return intervention


def can_correct(actor: Membership | None, intervention: Intervention) -> bool:
    """Coordinators correct their structure's entries; mediators their own, within the window."""
    if actor is None or actor.structure_id != intervention.structure_id:
        return False
    if actor.role == Role.COORDINATOR:
        return True
    if actor.role != Role.MEDIATOR:
        return False
    is_theirs = (
        intervention.author_id == actor.user_id
        or intervention.mediators.filter(pk=actor.user_id).exists()
    )
    window = datetime.timedelta(days=intervention.structure.correction_window_days)
    return is_theirs and timezone.now() - intervention.created_at <= window


@transaction.atomic
def intervention_update(
    *,
    actor: Membership,
    intervention: Intervention,
    data: dict[str, Any],
    base_version: int | None = None,
) -> Intervention:
    """Correct an entry. With `base_version` (offline edits), refuse if it changed meanwhile."""
    intervention = Intervention.objects.select_for_update().get(pk=intervention.pk)
    if not can_correct(actor, intervention):
        raise PermissionDenied(
            "Vous ne pouvez plus corriger cette intervention (délai dépassé ou pas la vôtre)."
        )
    if base_version is not None and base_version != intervention.version:
        raise ConflictError(intervention, base_version)
    if data["service"].structure_id != intervention.structure_id:
        raise PermissionDenied("Ce dispositif n'appartient pas à la structure.")
    before = _full_snapshot(intervention)
    for name in _PLAIN_FIELDS:
        if name in data:
            setattr(intervention, name, data[name])
    intervention.version += 1
    intervention.updated_at = timezone.now()
    intervention.full_clean(exclude=["mediators"])
    intervention.save()
    _set_relations(intervention, data, intervention.author)
    audit.record(
        action="update",
        actor=actor,
        obj=intervention,
        before=before,
        after=_full_snapshot(intervention),
    )
    return intervention


# --- offline sync -----------------------------------------------------------------------


@dataclass
class SyncResult:
    id: str
    status: str  # created | updated | already_synced | conflict | invalid | refused
    version: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""
    server: dict | None = None

    def as_dict(self) -> dict:
        out = {"id": self.id, "status": self.status}
        if self.version is not None:
            out["version"] = self.version
        if self.errors:
            out["errors"] = self.errors
        if self.message:
            out["message"] = self.message
        if self.server is not None:
            out["server"] = self.server
        return out


def sync_entry(*, actor: Membership, entry: Any, build_form) -> SyncResult:
    """Apply one outbox entry; never raises for bad input — the result says what happened.

    `build_form(payload, instance)` returns a bound InterventionForm for the payload.
    """
    if not isinstance(entry, dict):
        return SyncResult(id="", status="invalid", message="Une entrée doit être un objet JSON.")
    raw_id = entry.get("id")
    try:
        entry_id = uuid.UUID(str(raw_id))
    except (ValueError, TypeError):
        return SyncResult(id=str(raw_id or ""), status="invalid", errors={"id": ["UUID attendu."]})
    payload = entry.get("data")
    if not isinstance(payload, dict):
        return SyncResult(id=str(entry_id), status="invalid", errors={"data": ["Objet attendu."]})
    base_version = entry.get("base_version")
    if base_version is not None and not isinstance(base_version, int):
        return SyncResult(
            id=str(entry_id), status="invalid", errors={"base_version": ["Entier attendu."]}
        )

    existing = Intervention.objects.filter(pk=entry_id).select_related("structure").first()
    if existing is not None and existing.structure_id != actor.structure_id:
        # Same UUID in another structure: astronomically unlikely unless forged.
        return SyncResult(id=str(entry_id), status="refused", message="Identifiant déjà utilisé.")
    if existing is not None and base_version is None:
        # A create sent again (retry after a lost answer): it is already here.
        return SyncResult(id=str(entry_id), status="already_synced", version=existing.version)

    form = build_form(payload)
    if not form.is_valid():
        errors = {
            (name if name != "__all__" else "_"): [e["message"] for e in items]
            for name, items in form.errors.get_json_data().items()
        }
        return SyncResult(id=str(entry_id), status="invalid", errors=errors)
    data = form.intervention_data()
    try:
        if existing is None:
            if base_version is not None:
                return SyncResult(
                    id=str(entry_id),
                    status="conflict",
                    message="Cette intervention n'existe pas (ou plus) sur le serveur.",
                )
            with transaction.atomic():
                created = intervention_create(
                    actor=actor, data=data, intervention_id=entry_id, source=Source.OFFLINE
                )
            return SyncResult(id=str(entry_id), status="created", version=created.version)
        with transaction.atomic():
            updated = intervention_update(
                actor=actor, intervention=existing, data=data, base_version=base_version
            )
        return SyncResult(id=str(entry_id), status="updated", version=updated.version)
    except ConflictError as conflict:
        return SyncResult(
            id=str(entry_id),
            status="conflict",
            version=conflict.intervention.version,
            message=str(conflict),
            server=intervention_payload(conflict.intervention),
        )
    except PermissionDenied as exc:
        return SyncResult(id=str(entry_id), status="refused", message=str(exc))
    except IntegrityError:
        # A concurrent request inserted the same UUID between our check and our insert.
        again = Intervention.objects.filter(pk=entry_id).first()
        if again is not None:
            return SyncResult(id=str(entry_id), status="already_synced", version=again.version)
        raise
    except ValidationError as exc:
        return SyncResult(id=str(entry_id), status="invalid", errors=exc.message_dict)


def intervention_payload(intervention: Intervention) -> dict:
    """An intervention in the sync endpoint's shape (codes and ids), for conflicts and exports."""
    return {
        "service": str(intervention.service_id),
        "shift": str(intervention.shift_id) if intervention.shift_id else None,
        "started_at": timezone.localtime(intervention.started_at).isoformat(),
        "duration_minutes": intervention.duration_minutes,
        "commune": intervention.commune.code,
        "qpv": intervention.qpv.code if intervention.qpv_id else None,
        "place_type": intervention.place_type.code if intervention.place_type_id else None,
        "activity_type": intervention.activity_type.code,
        "domain": intervention.domain.code,
        "situation_category": (
            intervention.situation_category.code if intervention.situation_category_id else None
        ),
        "origin": intervention.origin,
        "timing": intervention.timing,
        "form": intervention.form,
        "people_met": intervention.people_met,
        "outcome": intervention.outcome.code if intervention.outcome_id else None,
        "emergency_handoff": intervention.emergency_handoff,
        "mediators": sorted(
            u
            for u in intervention.mediators.values_list("pk", flat=True)
            if u != intervention.author_id
        ),
        "note": intervention.note,
        "access_requests": [
            {"theme": r.theme.code, "count": r.count}
            for r in intervention.access_requests.select_related("theme")
        ],
        "version": intervention.version,
    }


# --- shifts -----------------------------------------------------------------------------


@transaction.atomic
def shift_create(*, actor: Membership, data: dict[str, Any]) -> Shift:
    """Plan a patrol or permanence (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    if data["service"].structure_id != actor.structure_id:
        raise PermissionDenied("Ce dispositif n'appartient pas à votre structure.")
    mediators = data.pop("mediators", [])
    shift = Shift(structure_id=actor.structure_id, **data)
    shift.full_clean(exclude=["mediators"])
    shift.save()
    shift.mediators.set(mediators)
    audit.record_create(actor=actor, obj=shift)
    return shift


@transaction.atomic
def shift_update(*, actor: Membership, shift: Shift, data: dict[str, Any]) -> Shift:
    require_role(actor, Role.COORDINATOR)
    if shift.structure_id != actor.structure_id:
        raise PermissionDenied("Cette tournée relève d'une autre structure.")
    before = audit.snapshot(shift)
    mediators = data.pop("mediators", None)
    for name, value in data.items():
        setattr(shift, name, value)
    shift.full_clean(exclude=["mediators"])
    shift.save()
    if mediators is not None:
        shift.mediators.set(mediators)
    audit.record_update(actor=actor, obj=shift, before=before)
    return shift
