"""The write path for structures, services and organisations.

Each function checks permission, validates, writes in one transaction and journals the
change. Views and the admin call these; nothing else writes these models.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from lien.core import audit
from lien.core.models import Membership, Role
from lien.core.permissions import require_manage_structure, require_role
from lien.structures.models import Organisation, Service, Structure

_STRUCTURE_M2M: tuple[str, ...] = ()
_SERVICE_M2M = ("domains", "territories", "commissioning_bodies")


def _assign(obj, data: dict[str, Any], m2m: tuple[str, ...]) -> dict[str, Any]:
    """Set plain fields on `obj`; return the many-to-many values to set after saving."""
    related = {}
    for name, value in data.items():
        if name in m2m:
            related[name] = value
        else:
            setattr(obj, name, value)
    return related


def _save(obj, related: dict[str, Any]) -> None:
    obj.full_clean()
    obj.save()
    for name, values in related.items():
        getattr(obj, name).set(values)


@transaction.atomic
def structure_create(*, actor: Membership, data: dict[str, Any]) -> Structure:
    """Create a structure (administrators only: a structure is a new tenant)."""
    require_role(actor, Role.ADMIN)
    structure = Structure()
    _save(structure, _assign(structure, data, _STRUCTURE_M2M))
    audit.record_create(actor=actor, obj=structure)
    return structure


@transaction.atomic
def structure_update(*, actor: Membership, structure: Structure, data: dict[str, Any]) -> Structure:
    """Change a structure: its coordinators or an administrator."""
    require_manage_structure(actor, structure)
    before = audit.snapshot(structure)
    _save(structure, _assign(structure, data, _STRUCTURE_M2M))
    audit.record_update(actor=actor, obj=structure, before=before)
    return structure


@transaction.atomic
def service_create(*, actor: Membership, structure: Structure, data: dict[str, Any]) -> Service:
    """Add a mediation service (dispositif) to a structure."""
    require_manage_structure(actor, structure)
    service = Service(structure=structure)
    _save(service, _assign(service, data, _SERVICE_M2M))
    audit.record_create(actor=actor, obj=service)
    return service


@transaction.atomic
def service_update(*, actor: Membership, service: Service, data: dict[str, Any]) -> Service:
    require_manage_structure(actor, service.structure)
    if "structure" in data and data["structure"] != service.structure:
        raise PermissionDenied("Un dispositif ne change pas de structure.")
    before = audit.snapshot(service)
    _save(service, _assign(service, data, _SERVICE_M2M))
    audit.record_update(actor=actor, obj=service, before=before)
    return service


@transaction.atomic
def organisation_create(*, actor: Membership, data: dict[str, Any]) -> Organisation:
    """Add a funder or partner to the shared directory (coordinators and administrators)."""
    require_role(actor, Role.ADMIN, Role.COORDINATOR)
    organisation = Organisation()
    _save(organisation, _assign(organisation, data, ()))
    audit.record_create(actor=actor, obj=organisation)
    return organisation


@transaction.atomic
def organisation_update(
    *, actor: Membership, organisation: Organisation, data: dict[str, Any]
) -> Organisation:
    """Change a directory entry (administrators: it is shared by every structure)."""
    require_role(actor, Role.ADMIN)
    before = audit.snapshot(organisation)
    _save(organisation, _assign(organisation, data, ()))
    audit.record_update(actor=actor, obj=organisation, before=before)
    return organisation
