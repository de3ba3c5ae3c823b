import pytest

from lien.core.models import Role
from lien.indicators.services import indicators_load
from lien.referentiel.services import referentiel_load
from lien.structures.models import OrganisationKind
from tests.evaluation.factories import make_evaluation
from tests.factories import OrganisationFactory, ServiceFactory, make_membership


@pytest.fixture
def world(territories):
    """Structure A (a service funded by a city) and structure B (another funder), each with
    a draft evaluation, an avoided cost and an open survey; the roles around them."""
    referentiel_load()
    indicators_load()
    city = OrganisationFactory(name="Ville de Roubaix", kind=OrganisationKind.FUNDER)
    landlord = OrganisationFactory(name="Bailleur Habitat", kind=OrganisationKind.FUNDER)
    service = ServiceFactory(name="Médiation de proximité")
    service.territories.set([territories["roubaix"]])
    service.commissioning_bodies.add(city)
    service_b = ServiceFactory(name="Dispositif Bêta", structure__commune=territories["arras"])
    service_b.territories.set([territories["arras"]])
    service_b.commissioning_bodies.add(landlord)
    return {
        "service": service,
        "structure": service.structure,
        "service_b": service_b,
        "coordinator": make_membership(Role.COORDINATOR, structure=service.structure),
        "mediator": make_membership(Role.MEDIATOR, structure=service.structure),
        "coordinator_b": make_membership(Role.COORDINATOR, structure=service_b.structure),
        "city_member": make_membership(Role.FUNDER, organisation=city),
        "landlord_member": make_membership(Role.FUNDER, organisation=landlord),
        "steering_nord": make_membership(Role.STEERING, territory=territories["nord"]),
        "steering_pdc": make_membership(Role.STEERING, territory=territories["pdc"]),
        "partner": make_membership(Role.PARTNER),
        "admin": make_membership(Role.ADMIN),
        "a": make_evaluation(service),
        "b": make_evaluation(service_b),
    }
