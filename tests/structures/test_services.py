import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lien.core.models import AuditEvent, Role
from lien.structures import services
from lien.structures.models import Service, Structure
from tests.factories import (
    DomainFactory,
    OrganisationFactory,
    ProjectStageFactory,
    ServiceFactory,
    StructureFactory,
    make_membership,
)

pytestmark = pytest.mark.django_db


def service_data(territories, **overrides):
    data = {
        "name": "Médiation de nuit",
        "domains": [DomainFactory()],
        "territories": [territories["roubaix"]],
        "commissioning_bodies": [OrganisationFactory()],
        "stage": ProjectStageFactory(),
        "starts_on": datetime.date(2026, 1, 1),
        "ends_on": None,
    }
    data.update(overrides)
    return data


def test_coordinator_updates_own_structure_and_it_is_journaled(territories):
    coordinator = make_membership(Role.COORDINATOR)
    structure = coordinator.structure
    services.structure_update(
        actor=coordinator, structure=structure, data={"network": "France Médiation"}
    )
    structure.refresh_from_db()
    assert structure.network == "France Médiation"
    event = AuditEvent.objects.get(action="update", object_id=str(structure.pk))
    assert event.before == {"network": ""}
    assert event.after == {"network": "France Médiation"}
    assert event.actor_email == coordinator.user.email
    assert event.structure_id == structure.pk


@pytest.mark.parametrize("role", [Role.MEDIATOR, Role.FUNDER, Role.PARTNER, Role.STEERING])
def test_other_roles_cannot_update_a_structure(territories, role):
    structure = StructureFactory()
    actor = make_membership(role, structure=structure if role == Role.MEDIATOR else None)
    with pytest.raises(PermissionDenied):
        services.structure_update(actor=actor, structure=structure, data={"network": "X"})
    assert not AuditEvent.objects.filter(action="update").exists()


def test_coordinator_of_another_structure_is_refused(territories):
    other = make_membership(Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        services.service_create(
            actor=other, structure=StructureFactory(), data=service_data(territories)
        )
    assert Service.objects.count() == 0


def test_service_create_sets_relations_and_journals(territories):
    coordinator = make_membership(Role.COORDINATOR)
    service = services.service_create(
        actor=coordinator, structure=coordinator.structure, data=service_data(territories)
    )
    assert list(service.territories.all()) == [territories["roubaix"]]
    event = AuditEvent.objects.get(action="create", object_type="structures.Service")
    assert event.after["name"] == "Médiation de nuit"


def test_service_dates_are_checked(territories):
    coordinator = make_membership(Role.COORDINATOR)
    with pytest.raises(ValidationError) as caught:
        services.service_create(
            actor=coordinator,
            structure=coordinator.structure,
            data=service_data(territories, ends_on=datetime.date(2025, 1, 1)),
        )
    assert "fin" in str(caught.value)
    assert Service.objects.count() == 0


def test_bad_siret_is_refused_with_its_reason(territories):
    admin = make_membership(Role.ADMIN)
    structure = StructureFactory()
    with pytest.raises(ValidationError) as caught:
        services.structure_update(
            actor=admin, structure=structure, data={"siret": "12345678901234"}
        )
    assert "siret" in caught.value.message_dict


def test_visibility_by_role(territories):
    funder = make_membership(Role.FUNDER)
    funded = ServiceFactory()
    funded.commissioning_bodies.add(funder.organisation)
    ServiceFactory()  # not funded by it
    coordinator = make_membership(Role.COORDINATOR, structure=funded.structure)
    steering_62 = make_membership(Role.STEERING, territory=territories["pdc"])
    steering_region = make_membership(Role.STEERING, territory=territories["region"])
    admin = make_membership(Role.ADMIN)
    partner = make_membership(Role.PARTNER)

    assert list(Structure.objects.visible_to(funder)) == [funded.structure]
    assert list(Structure.objects.visible_to(coordinator)) == [funded.structure]
    assert Structure.objects.visible_to(steering_region).count() == Structure.objects.count()
    assert not Structure.objects.visible_to(steering_62).exists()  # factories sit in Nord
    assert not Structure.objects.visible_to(partner).exists()
    assert not Structure.objects.visible_to(None).exists()
    assert Structure.objects.visible_to(admin).count() == Structure.objects.count()
    assert list(Service.objects.visible_to(funder)) == [funded]
