"""Permission matrix: no role of one place can read or change another structure's records.

The test enumerates every URL the project registers (so routes added later are covered
without editing this file), fills each URL's parameters with objects that belong to
structure B, and requests it — GET and POST — as each role attached to structure A, to a
funder that does not fund B, to a partner, and to a steering member whose territory does
not contain B. Every answer must be a refusal (403/404, 405 for a method the view does
not take, or a redirect to a login page). A route whose parameters the test cannot fill
fails the test, naming the route, until it is added to `OBJECTS_BY_KEY` below.
"""

import datetime
import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from lien.core.models import Role
from lien.logbook.models import Intervention, Shift
from lien.referentiel.models import ActivityType, Domain
from tests.factories import (
    OrganisationFactory,
    ServiceFactory,
    StructureFactory,
    make_membership,
    make_territories,
)

# Routes anyone may open, logged in or not.
PUBLIC_ROUTES = {"healthz", "login", "logout"}
REFUSED = {403, 404, 405}


def iter_routes(patterns=None, prefix="", namespace=""):
    """Yield (route name, route regex-ish string, converters) for every registered URL."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from iter_routes(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, prefix + str(entry.pattern), entry


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def object_key(route_name: str, param: str) -> str:
    """`structure_pk` → structure; `pk` of `app:service_edit` → service."""
    if param != "pk":
        return param.removesuffix("_pk").removesuffix("_id")
    return route_name.split(":")[-1].rsplit("_", 1)[0]


def make_intervention(service):
    author = make_membership(Role.MEDIATOR, structure=service.structure)
    activity = ActivityType.objects.create(code=f"act-{service.pk}", label="Activité")
    domain = Domain.objects.get_or_create(code="espaces-publics", defaults={"label": "EP"})[0]
    intervention = Intervention.objects.create(
        structure=service.structure,
        service=service,
        author=author.user,
        started_at=timezone.now(),
        commune=service.structure.commune,
        activity_type=activity,
        domain=domain,
        note="Intervention confidentielle de " + service.name,
    )
    intervention.mediators.add(author.user)
    return intervention


def make_shift(service):
    start = timezone.now()
    return Shift.objects.create(
        structure=service.structure,
        service=service,
        kind="patrol",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        commune=service.structure.commune,
        place_label="Tournée de " + service.name,
    )


@pytest.fixture
def world(db):
    territories = make_territories()
    structure_a = StructureFactory(name="Structure Alpha", commune=territories["arras"])
    structure_b = StructureFactory(name="Structure Bêta secrète", commune=territories["roubaix"])
    funder_a = OrganisationFactory(name="Financeur Alpha")
    funder_b = OrganisationFactory(name="Financeur Bêta")
    service_a = ServiceFactory(structure=structure_a, name="Dispositif Alpha")
    service_a.commissioning_bodies.add(funder_a)
    service_b = ServiceFactory(structure=structure_b, name="Dispositif Bêta confidentiel")
    service_b.commissioning_bodies.add(funder_b)
    actors = {
        "mediator(A)": make_membership(Role.MEDIATOR, structure=structure_a),
        "coordinator(A)": make_membership(Role.COORDINATOR, structure=structure_a),
        "funder(A)": make_membership(Role.FUNDER, organisation=funder_a),
        "partner": make_membership(Role.PARTNER),
        "steering(62)": make_membership(Role.STEERING, territory=territories["pdc"]),
    }
    objects_b = {
        "structure": structure_b,
        "service": service_b,
        "intervention": make_intervention(service_b),
        "shift": make_shift(service_b),
    }
    return {
        "actors": actors,
        "objects_b": objects_b,
        "secrets": [structure_b.name, service_b.name],
        "objects_a": {
            "structure": structure_a,
            "service": service_a,
            "intervention": make_intervention(service_a),
            "shift": make_shift(service_a),
        },
    }


def build_path(route: str, route_name: str, objects: dict) -> str:
    def fill(match):
        key = object_key(route_name, match["name"])
        if key not in objects:
            raise LookupError(
                f"Route « {route_name} » ({route}) : paramètre « {match['name']} » inconnu du "
                f"test de matrice. Ajoutez l'objet « {key} » de la structure B à `objects_b`."
            )
        return str(objects[key].pk)

    return "/" + _PARAM.sub(fill, route)


def app_routes():
    return [
        (name, route)
        for name, route, _ in iter_routes()
        if name
        and not name.startswith("admin:")
        and name not in PUBLIC_ROUTES
        and not route.startswith("static/")
    ]


def is_refusal(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "login" in response.headers.get("Location", "")


def test_every_route_is_covered_by_the_matrix(world):
    """The enumeration finds the routes, and can fill the parameters of each of them."""
    names = {name for name, _ in app_routes()}
    assert {"home", "structures:structure_detail", "structures:service_edit"} <= names
    for name, route in app_routes():
        build_path(route, name, world["objects_b"])


@pytest.mark.parametrize(
    "actor_key", ["mediator(A)", "coordinator(A)", "funder(A)", "partner", "steering(62)"]
)
def test_no_role_reaches_another_structures_records(world, client, actor_key):
    membership = world["actors"][actor_key]
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    session = client.session
    session["lien_membership_id"] = str(membership.pk)
    session.save()
    failures = []
    for name, route in app_routes():
        path = build_path(route, name, world["objects_b"])
        has_object = "<" in route
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if has_object and not is_refusal(response):
                failures.append(f"{method.upper()} {path} ({name}) → {response.status_code}")
            elif not has_object and response.status_code == 200:
                body = response.content.decode()
                leaked = [secret for secret in world["secrets"] if secret in body]
                if leaked:
                    failures.append(f"{method.upper()} {path} ({name}) montre {leaked}")
            elif response.status_code >= 500:
                failures.append(f"{method.upper()} {path} ({name}) → {response.status_code}")
    assert not failures, f"{actor_key} atteint la structure B :\n" + "\n".join(failures)


def test_the_matrix_can_fail_own_structure_is_reachable(world, client):
    """Control: the same URLs with structure A's own objects answer 200 to its coordinator."""
    membership = world["actors"]["coordinator(A)"]
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    own = world["objects_a"]
    for name, route in app_routes():
        if "<" in route:
            path = build_path(route, name, own)
            assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "actor_key", ["mediator(A)", "coordinator(A)", "funder(A)", "partner", "steering(62)"]
)
def test_admin_is_closed_to_every_role_but_admin(world, client, actor_key):
    membership = world["actors"][actor_key]
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    structure_b = world["objects_b"]["structure"]
    paths = ["/admin/"]
    for model in admin.site._registry:
        opts = model._meta
        paths.append(f"/admin/{opts.app_label}/{opts.model_name}/")
        paths.append(f"/admin/{opts.app_label}/{opts.model_name}/add/")
    paths.append(f"/admin/structures/structure/{structure_b.pk}/change/")
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login/" in response.headers["Location"], path
