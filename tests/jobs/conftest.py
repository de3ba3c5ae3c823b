import pytest

from lien.core.models import Role
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory, ServiceFactory, make_membership
from tests.jobs.factories import make_jobs


@pytest.fixture
def jobs(territories):
    """Structure A (a service, a coordinator, a mediator) with a post, a person, a CDI
    contract and a funding line from a city; structure B with the same; a landlord that
    funds nothing; a steering member of the région."""
    referentiel_load()
    city = OrganisationFactory(name="Ville de Roubaix", kind=OrganisationKind.FUNDER)
    landlord = OrganisationFactory(name="Bailleur Habitat", kind=OrganisationKind.FUNDER)
    service = ServiceFactory(name="Médiation de proximité")
    service_b = ServiceFactory(name="Dispositif Bêta", structure__commune=territories["arras"])
    structure, structure_b = service.structure, service_b.structure
    world = {
        "structure": structure,
        "service": service,
        "structure_b": structure_b,
        "service_b": service_b,
        "city": city,
        "landlord": landlord,
        "coordinator": make_membership(Role.COORDINATOR, structure=structure),
        "mediator": make_membership(Role.MEDIATOR, structure=structure),
        "coordinator_b": make_membership(Role.COORDINATOR, structure=structure_b),
        "city_member": make_membership(Role.FUNDER, organisation=city),
        "landlord_member": make_membership(Role.FUNDER, organisation=landlord),
        "steering": make_membership(Role.STEERING, territory=territories["region"]),
        "admin": make_membership(Role.ADMIN),
        "a": make_jobs(service, funder=city),
        "b": make_jobs(service_b, funder=landlord),
    }
    return world
