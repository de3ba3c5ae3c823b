"""The audit journal's write side: one function per kind of event.

Services call these inside their `transaction.atomic` block, so a change and its journal
line commit or roll back together.
"""

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models.fields.files import FieldFile

from lien.core.models import AuditAction, AuditEvent, Membership, User

_SKIPPED_FIELDS = {"password"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        # One representation per instant, so that an unchanged time never shows as changed.
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, FieldFile):
        return value.name or ""  # the stored file's name, never its content
    return value


def snapshot_fields(obj: models.Model) -> dict[str, Any]:
    """A JSON-ready copy of a row's concrete fields (FKs as ids), without any query."""
    return {
        field.attname: _plain(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if field.name not in _SKIPPED_FIELDS
    }


def snapshot(obj: models.Model) -> dict[str, Any]:
    """A JSON-ready copy of a row's fields and many-to-many ids, for before/after."""
    data = snapshot_fields(obj)
    if obj.pk is not None and not obj._state.adding:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(
                str(pk) for pk in getattr(obj, field.name).values_list("pk", flat=True)
            )
    return data


#: What the journal shows instead of a nominative value, and instead of a changed one.
MASK = "[donnée nominative]"
CHANGED_MASK = "[donnée nominative modifiée]"


def masked(data: dict, fields: Iterable[str]) -> dict:
    """A snapshot fit for the journal: the nominative values of `fields` replaced by a mark."""
    fields = tuple(fields)
    return {k: (MASK if k in fields and v not in (None, "") else v) for k, v in data.items()}


def masked_pair(before: dict, after: dict, fields: Iterable[str]) -> tuple[dict, dict]:
    """Before/after snapshots masked so that a changed value still shows as a change
    (masking both sides alike would make it look unchanged, and `build_event` drops it);
    a value erased shows as erased."""
    fields = tuple(fields)
    masked_after = masked(after, fields)
    for name in fields:
        if after.get(name) not in (None, "") and before.get(name) != after.get(name):
            masked_after[name] = CHANGED_MASK
    return masked(before, fields), masked_after


def _structure_id_of(obj: models.Model | None) -> uuid.UUID | None:
    if obj is None:
        return None
    if obj._meta.label == "structures.Structure":
        return obj.pk
    return getattr(obj, "structure_id", None)


def build_event(
    *,
    action: str,
    actor: Membership | None = None,
    user: User | None = None,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    structure_id: uuid.UUID | None = None,
    note: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    """An unsaved event; `record` saves one, `record_many` saves several in one insert."""
    if user is None and actor is not None:
        user = actor.user
    if before is not None and after is not None:
        # Keep only what changed, so the journal shows the correction, not the whole row.
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    return AuditEvent(
        action=action,
        actor_id=user.pk if user else None,
        actor_email=user.email if user else "",
        actor_role=actor.role if actor else ("admin" if user and user.is_superuser else ""),
        structure_id=structure_id or _structure_id_of(obj),
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        note=note[:300],
        ip_address=ip_address,
    )


def record_many(events: list[AuditEvent]) -> None:
    _require_transaction()
    AuditEvent.objects.bulk_create(events, batch_size=1000)


def record(
    *,
    action: str,
    actor: Membership | None = None,
    user: User | None = None,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    structure_id: uuid.UUID | None = None,
    note: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event. `actor` is the membership acting; `user` when there is none."""
    event = build_event(
        action=action,
        actor=actor,
        user=user,
        obj=obj,
        before=before,
        after=after,
        structure_id=structure_id,
        note=note,
        ip_address=ip_address,
    )
    event.save(force_insert=True)
    return event


def record_create(*, actor: Membership | None, obj: models.Model, user: User | None = None):
    _require_transaction()
    return record(action=AuditAction.CREATE, actor=actor, user=user, obj=obj, after=snapshot(obj))


def record_update(
    *, actor: Membership | None, obj: models.Model, before: dict, user: User | None = None
):
    _require_transaction()
    return record(
        action=AuditAction.UPDATE,
        actor=actor,
        user=user,
        obj=obj,
        before=before,
        after=snapshot(obj),
    )


def record_delete(
    *, actor: Membership | None, obj: models.Model, before: dict, user: User | None = None
):
    _require_transaction()
    return record(action=AuditAction.DELETE, actor=actor, user=user, obj=obj, before=before)


def record_read(*, actor: Membership, obj: models.Model, note: str = ""):
    """Journal a read of nominative data (called by the views that show it)."""
    return record(action=AuditAction.READ, actor=actor, obj=obj, note=note)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Une écriture journalisée doit se faire dans une transaction.")
