"""Factories shared by every test package (one section per app)."""

import datetime
import itertools

import factory

from lien.core.models import Membership, Role, User
from lien.referentiel.models import (
    Domain,
    EmployerType,
    PartnerType,
    ProjectStage,
)
from lien.structures.models import Organisation, OrganisationKind, Service, Structure
from lien.structures.validators import make_siret
from lien.territories.models import Level, Territory
from lien.territories.services import territory_rebuild_ancestors

# --- référentiel ------------------------------------------------------------------------


class EmployerTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmployerType
        django_get_or_create = ("code",)

    code = "association"
    label = "Association"


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("code",)

    code = "espaces-publics"
    label = "Espaces publics"


class ProjectStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectStage
        django_get_or_create = ("code",)

    code = "developpement"
    label = "Développement"


class PartnerTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerType
        django_get_or_create = ("code",)

    code = "caf"
    label = "CAF"


# --- territories --------------------------------------------------------------------------


def make_territories() -> dict[str, Territory]:
    """A small real hierarchy: Hauts-de-France > Nord > MEL > Lille, Roubaix; one QPV."""
    region, _ = Territory.objects.get_or_create(
        level=Level.REGION, code="32", defaults={"name": "Hauts-de-France"}
    )
    nord, _ = Territory.objects.get_or_create(
        level=Level.DEPARTEMENT, code="59", defaults={"name": "Nord", "parent": region}
    )
    pdc, _ = Territory.objects.get_or_create(
        level=Level.DEPARTEMENT, code="62", defaults={"name": "Pas-de-Calais", "parent": region}
    )
    mel, _ = Territory.objects.get_or_create(
        level=Level.EPCI,
        code="200093201",
        defaults={"name": "Métropole Européenne de Lille", "parent": nord},
    )
    lille, _ = Territory.objects.get_or_create(
        level=Level.COMMUNE, code="59350", defaults={"name": "Lille", "parent": mel}
    )
    roubaix, _ = Territory.objects.get_or_create(
        level=Level.COMMUNE, code="59512", defaults={"name": "Roubaix", "parent": mel}
    )
    arras, _ = Territory.objects.get_or_create(
        level=Level.COMMUNE, code="62041", defaults={"name": "Arras", "parent": pdc}
    )
    qpv, _ = Territory.objects.get_or_create(
        level=Level.QPV,
        code="QX05901D",
        defaults={"name": "Quartier de démonstration", "parent": roubaix, "is_demo": True},
    )
    lille.secondary_parents.add(nord)
    roubaix.secondary_parents.add(nord)
    territory_rebuild_ancestors()
    return {
        "region": region,
        "nord": nord,
        "pdc": pdc,
        "mel": mel,
        "lille": lille,
        "roubaix": roubaix,
        "arras": arras,
        "qpv": qpv,
    }


# --- structures ---------------------------------------------------------------------------

_siret_numbers = itertools.count(1)


def next_siret() -> str:
    n = next(_siret_numbers)
    return make_siret(f"{73282900 + n // 10000:08d}", f"{n % 10000:04d}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.FUNDER


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Structure

    name = factory.Sequence(lambda n: f"Structure de médiation {n}")
    employer_type = factory.SubFactory(EmployerTypeFactory)
    siret = factory.LazyFunction(next_siret)
    commune = factory.LazyFunction(lambda: make_territories()["roubaix"])


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    structure = factory.SubFactory(StructureFactory)
    name = factory.Sequence(lambda n: f"Dispositif {n}")
    stage = factory.SubFactory(ProjectStageFactory)
    starts_on = datetime.date(2025, 1, 1)

    @factory.post_generation
    def setup(obj, create, extracted, **kwargs):
        if create:
            obj.domains.add(DomainFactory())
            obj.territories.add(obj.structure.commune)


# --- accounts -----------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Personne {n}")
    password = factory.PostGenerationMethodCall("set_password", "un-mot-de-passe-long")

    @factory.post_generation
    def persist(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_membership(role: str, *, structure=None, organisation=None, territory=None, user=None):
    """A user holding `role` in the right kind of place (created if not given)."""
    if role in (Role.MEDIATOR, Role.COORDINATOR) and structure is None:
        structure = StructureFactory()
    if role in (Role.FUNDER, Role.PARTNER) and organisation is None:
        organisation = OrganisationFactory(
            kind=OrganisationKind.FUNDER if role == Role.FUNDER else OrganisationKind.PARTNER
        )
    if role == Role.STEERING and territory is None:
        territory = make_territories()["region"]
    user = user or UserFactory(is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN)
    return Membership.objects.create(
        user=user, role=role, structure=structure, organisation=organisation, territory=territory
    )
