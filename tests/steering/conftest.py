import datetime

import pytest

from lien.core.models import Role
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory, ServiceFactory, make_membership
from tests.steering.factories import make_agreement


@pytest.fixture
def steering(territories, settings, tmp_path):
    """Structure A in Roubaix (Nord) whose service a city commissions, structure B in Arras
    (Pas-de-Calais); steering members of the région and of the Pas-de-Calais; an agreement of
    the région for 2024–2027 with a target of 10 jobs."""
    settings.MEDIA_ROOT = tmp_path / "media"
    referentiel_load()
    city = OrganisationFactory(name="Ville de Roubaix", kind=OrganisationKind.FUNDER)
    landlord = OrganisationFactory(name="Bailleur Habitat", kind=OrganisationKind.FUNDER)
    service = ServiceFactory(name="Médiation de proximité")
    service.commissioning_bodies.add(city)
    service_b = ServiceFactory(name="Dispositif Bêta", structure__commune=territories["arras"])
    return {
        "territories": territories,
        "city": city,
        "landlord": landlord,
        "service": service,
        "service_b": service_b,
        "coordinator": make_membership(Role.COORDINATOR, structure=service.structure),
        "mediator": make_membership(Role.MEDIATOR, structure=service.structure),
        "coordinator_b": make_membership(Role.COORDINATOR, structure=service_b.structure),
        "city_member": make_membership(Role.FUNDER, organisation=city),
        "steering": make_membership(Role.STEERING, territory=territories["region"]),
        "steering_62": make_membership(Role.STEERING, territory=territories["pdc"]),
        "admin": make_membership(Role.ADMIN),
        "agreement": make_agreement(
            territories["region"],
            title="Plan régional",
            starts_on=datetime.date(2024, 1, 1),
            ends_on=datetime.date(2027, 12, 31),
            job_target=10,
        ),
    }
