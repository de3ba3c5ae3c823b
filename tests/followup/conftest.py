import pytest

from lien.core.models import Role
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.factories import OrganisationFactory, ServiceFactory, make_membership


@pytest.fixture
def referentiel(db):
    referentiel_load()


@pytest.fixture
def team(territories, referentiel):
    """Structure A (Roubaix, MEL) with a service, two mediators, a coordinator; a partner
    (CAF) with an account and a contact address; a landlord and a city as report bodies;
    structure B elsewhere."""
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["mel"]])
    structure = service.structure
    caf = OrganisationFactory(
        name="CAF du Nord", kind=OrganisationKind.PARTNER, contact_email="accueil@caf.example"
    )
    other_partner = OrganisationFactory(name="CPAM", kind=OrganisationKind.PARTNER)
    landlord = OrganisationFactory(name="Bailleur Habitat", kind=OrganisationKind.FUNDER)
    city = OrganisationFactory(name="Ville de Roubaix", kind=OrganisationKind.FUNDER)
    service_b = ServiceFactory(name="Dispositif B", structure__commune=territories["arras"])
    return {
        "structure": structure,
        "service": service,
        "mediator": make_membership(Role.MEDIATOR, structure=structure),
        "mediator2": make_membership(Role.MEDIATOR, structure=structure),
        "coordinator": make_membership(Role.COORDINATOR, structure=structure),
        "caf": caf,
        "partner": make_membership(Role.PARTNER, organisation=caf),
        "other_partner": make_membership(Role.PARTNER, organisation=other_partner),
        "landlord": landlord,
        "landlord_member": make_membership(Role.FUNDER, organisation=landlord),
        "city": city,
        "city_member": make_membership(Role.FUNDER, organisation=city),
        "structure_b": service_b.structure,
        "service_b": service_b,
        "mediator_b": make_membership(Role.MEDIATOR, structure=service_b.structure),
    }
