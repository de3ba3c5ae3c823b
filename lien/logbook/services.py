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
from lien.indicators import rollups
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


# Foreign keys arrive as model instances checked by the form: no query to re-check them.
_FK_FIELDS = [
    "structure",
    "service",
    "author",
    "shift",
    "commune",
    "qpv",
    "place_type",
    "activity_type",
    "domain",
    "situation_category",
    "outcome",
]


def _build(actor: Membership, data: dict[str, Any], intervention_id, source) -> Intervention:
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
    # Field checks only: the ranges are the form's and the database's CHECK constraints;
    # Django's constraint validation costs a query and a savepoint each, per entry.
    intervention.full_clean(
        exclude=[*_FK_FIELDS, "mediators"], validate_unique=False, validate_constraints=False
    )
    return intervention


def _created_snapshot(intervention: Intervention, mediator_ids, requests) -> dict:
    after = audit.snapshot_fields(intervention)
    after["mediators"] = sorted(str(pk) for pk in mediator_ids)
    after["access_requests"] = {theme.code: count for theme, count in requests.items()}
    return after


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
    return intervention_create_many(actor=actor, items=[(intervention_id, data)], source=source)[0]


@transaction.atomic
def intervention_create_many(
    *, actor: Membership, items: list[tuple[uuid.UUID | None, dict[str, Any]]], source: str
) -> list[Intervention]:
    """Create several interventions in one transaction, with a handful of queries in all.

    The sync endpoint sends up to 1,000 entries at once: rows, pairs, requests and journal
    lines are each written with one bulk insert.
    """
    require_role(actor, Role.MEDIATOR, Role.COORDINATOR)
    interventions, pairs, requests, events = [], [], [], []
    for intervention_id, data in items:
        intervention = _build(actor, data, intervention_id, source)
        mediator_ids = {actor.user_id} | {user.pk for user in data.get("mediators", [])}
        entry_requests = data.get("access_requests") or {}
        interventions.append(intervention)
        pairs += [(intervention.pk, pk) for pk in mediator_ids]
        requests += [
            AccessRequest(intervention_id=intervention.pk, theme=theme, count=count)
            for theme, count in entry_requests.items()
        ]
        events.append(
            audit.build_event(
                action="create",
                actor=actor,
                obj=intervention,
                after=_created_snapshot(intervention, mediator_ids, entry_requests),
            )
        )
    Intervention.objects.bulk_create(interventions)
    through = Intervention.mediators.through
    through.objects.bulk_create(through(intervention_id=i, user_id=u) for i, u in pairs)
    AccessRequest.objects.bulk_create(requests)
    audit.record_many(events)
    rollups.apply_facts(
        after=[
            rollups.fact_state(intervention, data.get("access_requests"))
            for intervention, (_, data) in zip(interventions, items, strict=True)
        ]
    )
    return interventions


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
    old_fact = rollups.fact_state(
        intervention, dict(intervention.access_requests.values_list("theme_id", "count"))
    )
    for name in _PLAIN_FIELDS:
        if name in data:
            setattr(intervention, name, data[name])
    intervention.version += 1
    intervention.updated_at = timezone.now()
    intervention.full_clean(exclude=[*_FK_FIELDS, "mediators"], validate_unique=False)
    intervention.save()
    _set_relations(intervention, data, intervention.author)
    rollups.apply_facts(
        before=[old_fact],
        after=[rollups.fact_state(intervention, data.get("access_requests"))],
    )
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


def _parse_entry(entry: Any) -> tuple[uuid.UUID | None, dict | None, int | None, SyncResult | None]:
    """Check an outbox entry's envelope: (id, data, base_version, or the error result)."""
    if not isinstance(entry, dict):
        return (
            None,
            None,
            None,
            SyncResult(id="", status="invalid", message="Une entrée doit être un objet JSON."),
        )
    raw_id = entry.get("id")
    try:
        entry_id = uuid.UUID(str(raw_id))
    except (ValueError, TypeError):
        return (
            None,
            None,
            None,
            SyncResult(id=str(raw_id or ""), status="invalid", errors={"id": ["UUID attendu."]}),
        )
    payload = entry.get("data")
    if not isinstance(payload, dict):
        return (
            entry_id,
            None,
            None,
            SyncResult(id=str(entry_id), status="invalid", errors={"data": ["Objet attendu."]}),
        )
    base_version = entry.get("base_version")
    if base_version is not None and (
        not isinstance(base_version, int) or isinstance(base_version, bool)
    ):
        return (
            entry_id,
            None,
            None,
            SyncResult(
                id=str(entry_id), status="invalid", errors={"base_version": ["Entier attendu."]}
            ),
        )
    return entry_id, payload, base_version, None


def _form_errors(form) -> dict[str, list[str]]:
    return {
        (name if name != "__all__" else "_"): [e["message"] for e in items]
        for name, items in form.errors.get_json_data().items()
    }


def intervention_sync(
    *, actor: Membership, entries: list, build_form, source: str = Source.OFFLINE
) -> list[SyncResult]:
    """Apply a batch from an offline outbox; answer entry by entry, never raise on bad input.

    Idempotent: an entry whose UUID is already stored answers "already_synced" (a create
    sent again after a lost answer), so a batch sent twice or cut off halfway can be sent
    again whole. Edits carry the `base_version` they were made on; if the server's version
    moved since, the answer is "conflict" with the server's copy — never an overwrite.
    New entries are written together in one transaction; if that fails (a concurrent
    request stored the same UUID), they are retried one by one.
    `build_form(payload)` returns a bound InterventionForm.
    """
    require_role(actor, Role.MEDIATOR, Role.COORDINATOR)
    parsed = [_parse_entry(entry) for entry in entries]
    ids = [entry_id for entry_id, _, _, error in parsed if entry_id and error is None]
    existing = {i.pk: i for i in Intervention.objects.filter(pk__in=ids)}
    results: list[SyncResult | None] = [None] * len(parsed)
    creates: list[tuple[int, uuid.UUID, dict]] = []
    seen: set[uuid.UUID] = set()
    for index, (entry_id, payload, base_version, error) in enumerate(parsed):
        if error is not None:
            results[index] = error
            continue
        current = existing.get(entry_id)
        if current is not None and current.structure_id != actor.structure_id:
            results[index] = SyncResult(
                id=str(entry_id), status="refused", message="Identifiant déjà utilisé."
            )
            continue
        if (current is not None and base_version is None) or (
            entry_id in seen and base_version is None
        ):
            version = current.version if current else 1
            results[index] = SyncResult(id=str(entry_id), status="already_synced", version=version)
            continue
        form = build_form(payload)
        if not form.is_valid():
            results[index] = SyncResult(
                id=str(entry_id), status="invalid", errors=_form_errors(form)
            )
            continue
        if current is None and base_version is not None:
            results[index] = SyncResult(
                id=str(entry_id),
                status="conflict",
                message="Cette intervention n'existe pas (ou plus) sur le serveur.",
            )
        elif current is None:
            seen.add(entry_id)
            creates.append((index, entry_id, form.intervention_data()))
        else:
            results[index] = _sync_update(actor, current, form.intervention_data(), base_version)

    if creates:
        try:
            with transaction.atomic():
                made = intervention_create_many(
                    actor=actor,
                    items=[(entry_id, data) for _, entry_id, data in creates],
                    source=source,
                )
            for (index, entry_id, _), intervention in zip(creates, made, strict=True):
                results[index] = SyncResult(
                    id=str(entry_id), status="created", version=intervention.version
                )
        except (IntegrityError, ValidationError, PermissionDenied):
            for index, entry_id, data in creates:
                results[index] = _sync_create_one(actor, entry_id, data, source)
    return results  # type: ignore[return-value]


def _sync_create_one(actor: Membership, entry_id: uuid.UUID, data: dict, source: str) -> SyncResult:
    try:
        with transaction.atomic():
            created = intervention_create(
                actor=actor, data=data, intervention_id=entry_id, source=source
            )
    except IntegrityError:
        again = Intervention.objects.filter(pk=entry_id).first()
        if again is not None and again.structure_id == actor.structure_id:
            return SyncResult(id=str(entry_id), status="already_synced", version=again.version)
        return SyncResult(id=str(entry_id), status="refused", message="Identifiant déjà utilisé.")
    except PermissionDenied as exc:
        return SyncResult(id=str(entry_id), status="refused", message=str(exc))
    except ValidationError as exc:
        return SyncResult(id=str(entry_id), status="invalid", errors=exc.message_dict)
    return SyncResult(id=str(entry_id), status="created", version=created.version)


def _sync_update(actor, current: Intervention, data: dict, base_version: int) -> SyncResult:
    entry_id = str(current.pk)
    try:
        with transaction.atomic():
            updated = intervention_update(
                actor=actor, intervention=current, data=data, base_version=base_version
            )
    except ConflictError as conflict:
        return SyncResult(
            id=entry_id,
            status="conflict",
            version=conflict.intervention.version,
            message=str(conflict),
            server=intervention_payload(conflict.intervention),
        )
    except PermissionDenied as exc:
        return SyncResult(id=entry_id, status="refused", message=str(exc))
    except ValidationError as exc:
        return SyncResult(id=entry_id, status="invalid", errors=exc.message_dict)
    return SyncResult(id=entry_id, status="updated", version=updated.version)


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
