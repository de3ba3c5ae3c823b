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
import io
import json
import re
import uuid

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image

from lien.core.models import Role
from lien.exchange import services as token_services
from lien.followup import links
from lien.followup.models import (
    Agreement,
    CollectiveAction,
    NextStep,
    Observation,
    Referral,
    RoutingRule,
    Situation,
    TechnicalReport,
)
from lien.followup.photos import clean_photo
from lien.logbook.models import Intervention, Shift
from lien.notifications.services import notify
from lien.referentiel.models import ActivityType, Domain, RequestTheme
from tests.evaluation.factories import make_evaluation  # evaluation
from tests.factories import (
    OrganisationFactory,
    ServiceFactory,
    StructureFactory,
    make_membership,
    make_territories,
)
from tests.jobs.factories import make_jobs
from tests.steering.factories import make_steering

# Routes anyone may open, logged in or not.
PUBLIC_ROUTES = {"healthz", "login", "logout", "account_password_reset"}
# The published open data set: aggregates for everyone (tests/exchange/test_open_data.py).
PUBLIC_ROUTES |= {"opendata:open_data", "opendata:open_data_file"}
# Opened by a link whose token is the permission (tested in tests/core/test_accounts.py),
# or ending the session the matrix runs in (every later answer would be a login redirect).
OWN_TOKEN_OR_SESSION_ROUTES = {"account_invitation", "account_sessions_end"}
# Evaluation: the public survey, whose link's token is the permission (tests/evaluation).
OWN_TOKEN_OR_SESSION_ROUTES |= {"evaluation:survey_answer"}
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
    """`structure_pk` → structure; `pk` (or the public `uid`) of `app:service_edit` →
    service."""
    if param not in ("pk", "uid"):
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


def make_notification(user):
    """Notifications belong to one person: anyone else is refused, whatever their role."""
    [notification] = notify(
        recipients=[user], kind="test", title="Orientation acceptée", url="/", email=False
    )
    return notification


def make_followup(service, *, partner, body) -> dict:
    """One of each follow-up record of `service`'s structure: a situation with a step and an
    agreement, a referral to `partner`, a report routed to `body` (with its photo), a routing
    rule and a collective action."""
    structure = service.structure
    author = make_membership(Role.COORDINATOR, structure=structure)
    today = timezone.localdate()
    domain, _ = Domain.objects.get_or_create(code="dom-matrice", defaults={"label": "Domaine"})
    theme, _ = RequestTheme.objects.get_or_create(code="theme-matrice", defaults={"label": "T"})
    common = {"structure": structure, "created_by": author.user}
    situation = Situation.objects.create(
        **common, service=service, reference=f"S-{structure.pk.hex[:8]}", kind="deferred",
        initials="M. X.", domain=domain, commune=structure.commune, summary="Objet",
        purge_on=today + datetime.timedelta(days=365),
    )  # fmt: skip
    referral = Referral.objects.create(
        **common, service=service, partner=partner, theme=theme, commune=structure.commune,
        person="M. X.", request="Demande", expires_on=today + datetime.timedelta(days=30),
        link_nonce=links.new_nonce(),
    )  # fmt: skip
    report = TechnicalReport.objects.create(
        **common, service=service, category="lighting", commune=structure.commune,
        description="Panne", routed_to=body, status="sent",
    )  # fmt: skip
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(image, format="JPEG")
    report.photo.save("p.jpg", clean_photo(SimpleUploadedFile("p.jpg", image.getvalue())))
    # API (exchange): an observation of social watch, shared with `body`.
    observation = Observation.objects.create(
        **common, service=service, sector=structure.commune, level="vigilance", text="Tensions"
    )
    observation.shared_with.add(body)
    return {
        "observation": observation,
        "situation": situation,
        "nextstep": NextStep.objects.create(
            situation=situation, text="Étape", due_on=today, assignee=author.user
        ),
        "agreement": Agreement.objects.create(
            situation=situation, text="Accord", agreed_on=today, review_on=today
        ),
        "referral": referral,
        "report": report,
        "routing_rule": RoutingRule.objects.create(
            structure=structure, territory=structure.commune, organisation=body
        ),
        "collective_action": CollectiveAction.objects.create(
            **common,
            service=service,
            kind="awareness",
            title="Atelier",
            held_on=today,
            commune=structure.commune,
            residents=3,
        ),
    }


def make_api_token(membership):
    token, _ = token_services.token_create(
        user=membership.user, membership=membership, name="Jeton", scope="read"
    )
    return token


# --- imports (exchange) ---------------------------------------------------------------------


def make_import_job(membership):
    """A checked import of `membership`'s structure, with rejected rows and their report."""
    from django.core.files.base import ContentFile

    from lien.exchange.models import ImportJob, ImportKind, ImportState

    job = ImportJob(
        owner=membership.user, membership=membership, structure_id=membership.structure_id,
        kind=ImportKind.INTERVENTIONS, original_name="historique.csv", file_format="csv",
        encoding="utf-8", delimiter=";", headers=["date", "commune"],
        mapping={"started_at": "date", "commune": "commune"}, state=ImportState.REJECTED,
        rows_read=1, rows_rejected=1,
    )  # fmt: skip
    job.file.save("source", ContentFile(b"date;commune\n2025-01-01;99999\n"), save=False)
    job.report.save("rejets.csv", ContentFile(b"ligne;colonne\n2;B\n"), save=False)
    job.save()
    return job


class FreshToken:
    """A referral's current signed-link token (an action may have renewed the link)."""

    def __init__(self, referral):
        self.referral = referral

    @property
    def pk(self) -> str:
        self.referral.refresh_from_db()
        return links.make_token(self.referral)


# --- exports: the full structure export -----------------------------------------------------


def make_structure_export(coordinator):
    """A finished full export of the coordinator's structure (the task runs at once)."""
    from types import SimpleNamespace

    from lien.exchange import exports

    state = exports.structure_export_request(actor=coordinator)
    return SimpleNamespace(pk=state["id"])


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
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LIEN_EXPORT_ROOT = tmp_path / "exports"
    return build_world()


def build_world() -> dict:
    """Structures A and B with one record of each kind, and A's actors (also used by the
    export tests)."""
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
        "notification": make_notification(
            make_membership(Role.COORDINATOR, structure=structure_b).user
        ),
        "team": make_membership(Role.MEDIATOR, structure=structure_b),
    }
    # B's referral goes to another partner, B's report to another body than the actors'.
    other_partner = OrganisationFactory(name="Partenaire Bêta", kind="partner")
    objects_b.update(make_followup(service_b, partner=other_partner, body=funder_b))
    # Jobs: B's post, person, contract and funding line (funded by B's funder).
    objects_b.update(make_jobs(service_b, funder=funder_b))
    # Evaluation: B's evaluation, avoided-cost estimate and survey.
    objects_b.update(make_evaluation(service_b))
    # Steering: B's agreement is in the Nord, outside the steering(62) actor's territory;
    # B's report is the activity report of B's service.
    objects_b.update(make_steering(territories["nord"], service=service_b, funder=funder_b))
    objects_a = {
        "structure": structure_a,
        "service": service_a,
        "intervention": make_intervention(service_a),
        "shift": make_shift(service_a),
        "notification": make_notification(actors["coordinator(A)"].user),
        "team": make_membership(Role.MEDIATOR, structure=structure_a),
        **make_followup(service_a, partner=other_partner, body=funder_a),
        **make_jobs(service_a, funder=funder_a),
        **make_evaluation(service_a),
        **make_steering(territories["pdc"], service=service_a, funder=funder_a),
    }
    # API tokens belong to one person: B's is refused to everyone else, and A's
    # coordinator may revoke their own.
    objects_b["apitoken"] = make_api_token(objects_b["team"])
    objects_a["apitoken"] = make_api_token(actors["coordinator(A)"])
    # Imports (exchange): one checked import of each structure.
    objects_b["import"] = make_import_job(make_membership(Role.COORDINATOR, structure=structure_b))
    objects_a["import"] = make_import_job(actors["coordinator(A)"])
    # exports: each structure's full export; B's is out of reach of A's coordinator.
    objects_b["structure_export"] = make_structure_export(
        make_membership(Role.COORDINATOR, structure=structure_b)
    )
    objects_a["structure_export"] = make_structure_export(actors["coordinator(A)"])
    # Signed links: A's own token opens A's referral; used on B's referral it must not.
    objects_a["token"] = FreshToken(objects_a["referral"])
    objects_b["token"] = objects_a["token"]
    return {
        "actors": actors,
        "objects_b": objects_b,
        "secrets": [structure_b.name, service_b.name, objects_b["mediator"].last_name],
        "objects_a": objects_a,
    }


def build_path(route: str, route_name: str, objects: dict) -> str:
    def fill(match):
        key = object_key(route_name, match["name"])
        if key not in objects:
            raise LookupError(
                f"Route « {route_name} » ({route}) : paramètre « {match['name']} » inconnu du "
                f"test de matrice. Ajoutez l'objet « {key} » de la structure B à `objects_b`."
            )
        obj = objects[key]
        return str(obj.uid if match["name"] == "uid" else obj.pk)

    return "/" + _PARAM.sub(fill, route)


def app_routes():
    """The pages and their actions. The REST API (namespace `api:`, under /api/) accepts
    no session: it is covered by the API matrix below, with tokens, from its OpenAPI
    document."""
    return [
        (name, route)
        for name, route, _ in iter_routes()
        if name
        and not name.startswith("admin:")
        and not name.startswith("api:")
        and name not in PUBLIC_ROUTES
        and name not in OWN_TOKEN_OR_SESSION_ROUTES
        and not route.startswith("static/")
    ]


def is_refusal(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "login" in response.headers.get("Location", "")


def _body_text(response) -> str:
    """A page's text, or a download's (streamed) content."""
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode()


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
                body = _body_text(response)
                leaked = [secret for secret in world["secrets"] if secret in body]
                if leaked:
                    failures.append(f"{method.upper()} {path} ({name}) montre {leaked}")
            elif response.status_code >= 500:
                failures.append(f"{method.upper()} {path} ({name}) → {response.status_code}")
    assert not failures, f"{actor_key} atteint la structure B :\n" + "\n".join(failures)


def test_the_matrix_can_fail_own_structure_is_reachable(world, client):
    """Control: the same URLs with structure A's own objects answer 200 to its coordinator
    (actions, which only take POST, are carried out rather than refused); the steering
    pages, to the steering member of A's territory."""
    own = world["objects_a"]
    for name, route in app_routes():
        if "<" in route:
            steering = name.startswith("steering:") and "generated_report" not in name
            actor = world["actors"]["steering(62)" if steering else "coordinator(A)"]
            _login(client, actor)
            path = build_path(route, name, own)
            status = client.get(path).status_code
            if status == 405:
                # An action (POST only): the owner is not refused, whatever the outcome.
                status = client.post(path).status_code
                assert status not in REFUSED and status < 500, (path, status)
            else:
                assert status == 200, (path, status)


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


def test_no_route_addresses_a_record_by_a_sequential_id():
    """Object identifiers in URLs are UUIDs (or signed tokens), never guessable integers.
    The admin, for administrators only, keeps Django's own URLs."""
    sequential = [
        f"{name}: {route}"
        for name, route, _ in iter_routes()
        if not route.startswith("admin/") and ("<int:" in route or "<path:" in route)
    ]
    assert not sequential, sequential


# Records that carry a person's data (pseudonym, names, contact, free text about them).
NOMINATIVE_KEYS = {
    "situation",
    "referral",
    "nextstep",
    "agreement",
    "team",
    "mediator",
    "contract",
    "training",
    "practice_review",
}
NOMINATIVE_PAGES = [
    "/suivis/",
    "/suivis/droits-des-personnes/?term=M.+X.",
    "/suivis/mes-prochaines-etapes/",
    "/orientations/",
    "/journal/",
    "/equipe/",
    "/textes-libres/avertissements/",
    "/emplois/personnes/",
    "/emplois/formations/",
]
# What a funder or a steering member may still write: their own account, their current
# membership, their own notifications, and (funders) the reports addressed to them.
OWN_WRITES = ("account_", "switch_membership", "notifications:")


def _login(client, membership):
    client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
    session = client.session
    session["lien_membership_id"] = str(membership.pk)
    session.save()


@pytest.mark.parametrize("actor_key", ["funder(A)", "steering(62)"])
def test_funders_and_steering_never_reach_nominative_records_they_oversee(world, client, actor_key):
    """The funder of A's service and the steering of A's territory see A's aggregates,
    never its follow-up records, whatever the URL."""
    _login(client, world["actors"][actor_key])
    failures = []
    for name, route in app_routes():
        keys = {object_key(name, m["name"]) for m in _PARAM.finditer(route)}
        if not keys & NOMINATIVE_KEYS or "token" in keys:
            continue
        path = build_path(route, name, world["objects_a"])
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if not is_refusal(response):
                failures.append(f"{method.upper()} {path} ({name}) → {response.status_code}")
    for path in NOMINATIVE_PAGES:
        response = client.get(path)
        if not is_refusal(response):
            failures.append(f"GET {path} → {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("actor_key", ["funder(A)", "steering(62)"])
def test_read_only_roles_cannot_write_on_the_records_they_oversee(world, client, actor_key):
    """Every POST with A's objects is refused to its funder and its steering, except the
    funder's answer to a report routed to it."""
    _login(client, world["actors"][actor_key])
    failures = []
    for name, route in app_routes():
        if "<" not in route or name.startswith(OWN_WRITES):
            continue
        if actor_key == "funder(A)" and name.startswith("followup:report_"):
            continue
        if actor_key == "steering(62)" and name.startswith("steering:"):
            continue  # its own agreements, experiments and meetings
        keys = {object_key(name, m["name"]) for m in _PARAM.finditer(route)}
        if "token" in keys:
            continue
        path = build_path(route, name, world["objects_a"])
        response = client.post(path)
        if not is_refusal(response):
            failures.append(f"POST {path} ({name}) → {response.status_code}")
    assert not failures, "\n".join(failures)


# --- the REST API (/api/), with tokens -----------------------------------------------------

API_ACTORS = ["mediator(A)", "coordinator(A)", "funder(A)", "partner", "steering(62)"]
# Path parameters of the API that are not records of a structure.
API_SHARED_PARAMS = {"vocabulary": "domains"}


def api_operations(client) -> list[tuple[str, str]]:
    doc = client.get("/api/openapi.json").json()
    return [(method, route) for route, methods in doc["paths"].items() for method in methods]


def build_api_path(route: str, objects: dict) -> str:
    def fill(match):
        param = match[1]
        if param in API_SHARED_PARAMS:
            return API_SHARED_PARAMS[param]
        key = param.removesuffix("_id").removesuffix("_uid")
        if key not in objects:
            raise LookupError(
                f"Route d'API {route} : paramètre « {param} » inconnu du test de matrice. "
                f"Ajoutez l'objet « {key} » de la structure B à `objects_b`."
            )
        obj = objects[key]
        return str(obj.uid if param.endswith("_uid") else obj.pk)

    return re.sub(r"\{(\w+)\}", fill, route)


def _record_ids(objects: dict) -> list[str]:
    """The UUIDs of the records (sequential ids of sub-records would match any digit)."""
    return [
        str(obj.pk)
        for key, obj in objects.items()
        if key != "token" and isinstance(obj.pk, uuid.UUID)
    ]


def api_headers(membership, scope="read") -> dict:
    _, secret = token_services.token_create(
        user=membership.user, membership=membership, name="Matrice", scope=scope
    )
    return {"Authorization": f"Bearer {secret}"}


def test_every_api_route_is_covered_by_the_matrix(world, client):
    operations = api_operations(client)
    assert ("get", "/api/interventions/{intervention_id}/") in operations
    for _, route in operations:
        build_api_path(route, world["objects_b"])


@pytest.mark.parametrize("actor_key", API_ACTORS)
def test_no_api_token_reaches_another_structures_records(world, client, actor_key):
    """Every GET of the API, filled with B's records, as each role of A, A's funder, a
    partner and a steering member whose territory does not contain B: a detail is refused
    (403 by role, 404 out of scope), a list never shows a record of B."""
    headers = api_headers(world["actors"][actor_key])
    secrets = [*world["secrets"], *_record_ids(world["objects_b"])]
    failures = []
    for method, route in api_operations(client):
        path = build_api_path(route, world["objects_b"])
        if method != "get":
            response = client.generic(
                method.upper(), path, "{}", content_type="application/json", headers=headers
            )
            if response.status_code != 403:  # a read token never writes
                failures.append(f"{method.upper()} {path} → {response.status_code}")
            continue
        has_record = any(p not in API_SHARED_PARAMS for p in re.findall(r"\{(\w+)\}", route))
        response = client.get(path, headers=headers)
        refused = response.status_code in (403, 404)
        if response.status_code >= 500 or (has_record and not refused):
            failures.append(f"GET {path} → {response.status_code}")
        elif response.status_code == 200:
            leaked = [secret for secret in secrets if secret in response.content.decode()]
            if leaked:
                failures.append(f"GET {path} montre {leaked}")
    assert not failures, f"{actor_key} atteint la structure B par l'API :\n" + "\n".join(failures)


def test_the_api_matrix_can_fail_own_records_are_reachable(world, client):
    """Control: the same GETs with A's own records answer 200 to A's coordinator, and
    the lists show A's records (so the absence of B's above means something)."""
    headers = api_headers(world["actors"]["coordinator(A)"])
    own = world["objects_a"]
    lists = {
        "/api/structures/": own["structure"],
        "/api/dispositifs/": own["service"],
        "/api/interventions/": own["intervention"],
        "/api/suivis/": own["situation"],
        "/api/orientations/": own["referral"],
        # API (exchange): reports, social watch, collective actions, shifts, jobs.
        "/api/signalements/": own["report"],
        "/api/veille-sociale/": own["observation"],
        "/api/actions-collectives/": own["collective_action"],
        "/api/tournees/": own["shift"],
        "/api/emplois/postes/": own["post"],
        "/api/emplois/contrats/": own["contract"],
        "/api/emplois/financements/": own["funding"],
        "/api/emplois/formations/": own["training"],
    }
    for method, route in api_operations(client):
        if method == "get":
            path = build_api_path(route, own)
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            if route in lists:
                assert str(lists[route].pk) in response.content.decode(), path


@pytest.mark.parametrize("actor_key", ["funder(A)", "steering(62)"])
def test_api_gives_funders_and_steering_no_records_of_what_they_oversee(world, client, actor_key):
    """A's funder and the steering of A's territory see A's aggregates, never its
    interventions, situations or referrals, by list or by id."""
    headers = api_headers(world["actors"][actor_key])
    objects = world["objects_a"]
    for path in (
        "/api/interventions/",
        f"/api/interventions/{objects['intervention'].pk}/",
        "/api/suivis/",
        f"/api/suivis/{objects['situation'].pk}/",
        "/api/orientations/",
        f"/api/orientations/{objects['referral'].pk}/",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, (path, response.status_code)
    indicators = client.get("/api/indicateurs/", headers=headers).json()
    assert indicators["protected"] is True


def test_an_api_write_token_cannot_write_into_another_structure(world, client):
    from lien.logbook.models import Intervention

    headers = api_headers(world["actors"]["mediator(A)"], scope="write")
    objects_b = world["objects_b"]
    body = {
        "service": str(objects_b["service"].pk),
        "started_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "commune": "59512",
        "activity_type": "x",
        "domain": "espaces-publics",
        "origin": "patrol",
    }
    before = Intervention.objects.count()
    response = client.post(
        "/api/interventions/", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 422 and "service" in {
        e["field"] for e in response.json()["errors"]
    }
    sync = client.post(
        "/api/interventions/sync/",
        {"entries": [{"id": str(objects_b["intervention"].pk), "base_version": 1, "data": body}]},
        content_type="application/json",
        headers=headers,
    )
    assert sync.json()["results"][0]["status"] in ("refused", "invalid")
    assert Intervention.objects.count() == before
    objects_b["intervention"].refresh_from_db()
    assert objects_b["intervention"].version == 1


# --- API writes (exchange): a write token never changes another structure's record ------------

#: A well-formed body for each API write on a record, so that only the permission decides.
API_WRITE_BODIES = {
    ("post", "/api/suivis/{situation_id}/cloture/"): {"outcome": "apaise-resolu"},
    ("post", "/api/suivis/{situation_id}/retrait-consentement/"): None,
    ("post", "/api/suivis/{situation_id}/etapes/"): {
        "text": "Piraté",
        "due_on": "2026-01-05",
        "assignee": 1,
    },
    ("post", "/api/suivis/{situation_id}/etapes/{nextstep_uid}/faite/"): None,
    ("post", "/api/suivis/{situation_id}/accords/"): {
        "text": "Piraté",
        "agreed_on": "2026-01-05",
        "review_on": "2026-02-05",
    },
    ("post", "/api/suivis/{situation_id}/accords/{agreement_uid}/bilan/"): {"held": False},
    ("post", "/api/suivis/{situation_id}/rencontres/"): {
        "started_at": "2026-01-05T10:00",
        "duration_minutes": 30,
        "form": "shuttle",
        "people_met": 2,
    },
    ("post", "/api/orientations/{referral_id}/reponse/"): {"status": "accepted"},
    ("post", "/api/signalements/{report_id}/transmission/"): {"organisation": str(uuid.uuid4())},
    ("post", "/api/signalements/{report_id}/reponse/"): {"status": "acknowledged"},
    ("patch", "/api/actions-collectives/{collective_action_id}/"): {"title": "Piraté"},
    ("patch", "/api/tournees/{shift_id}/"): {"note": "Piraté"},
}
#: Creations name the service they write into: another structure's is refused by field.
API_CREATE_BODIES = {
    "/api/suivis/": {"kind": "deferred", "initials": "M. X.", "domain": "d", "commune": "x",
                     "summary": "Objet"},
    "/api/orientations/": {"partner": str(uuid.uuid4()), "theme": "t", "commune": "x",
                           "person": "M. X.", "request": "Demande"},
    "/api/signalements/": {"category": "lighting", "commune": "x", "description": "Panne"},
    "/api/veille-sociale/": {"sector": "x", "observed_on": "2026-01-05", "level": "info",
                             "text": "Calme"},
    "/api/actions-collectives/": {"kind": "awareness", "title": "Atelier",
                                  "held_on": "2026-01-05", "duration_minutes": 60,
                                  "commune": "x", "residents": 3},
    "/api/tournees/": {"kind": "patrol", "starts_at": "2026-01-05T10:00",
                       "ends_at": "2026-01-05T12:00", "commune": "x", "mediators": [1]},
}  # fmt: skip


def _snapshot(objects: dict) -> dict:
    """What a refused write must leave as it was: each record's row, as values."""
    found = {}
    for key, obj in objects.items():
        if key != "token" and (isinstance(obj.pk, uuid.UUID) or hasattr(obj, "uid")):
            found[key] = type(obj).objects.filter(pk=obj.pk).values().first()
    return found


def test_every_api_write_is_in_the_write_matrix(client):
    writes = [(m, r) for m, r in api_operations(client) if m != "get"]
    on_records = {(m, r) for m, r in writes if "{" in r}
    assert on_records == set(API_WRITE_BODIES)
    creations = {r for m, r in writes if "{" not in r and m == "post"}
    assert creations - {"/api/interventions/", "/api/interventions/sync/"} == set(API_CREATE_BODIES)


@pytest.mark.parametrize("actor_key", API_ACTORS)
def test_no_api_write_token_changes_another_structures_records(world, client, actor_key):
    """Every write of the API on one of B's records, with a write token of each role of
    A, A's funder, a partner (a steering member: its read token): refused (403 by role, 404 out of
    scope), and B's records are unchanged."""
    membership = world["actors"][actor_key]
    # Steering holds no write token (token_create refuses it): its read token is tried.
    scope = "write" if membership.role in token_services.WRITE_ROLES else "read"
    headers = api_headers(membership, scope=scope)
    before = _snapshot(world["objects_b"])
    failures = []
    for (method, route), body in API_WRITE_BODIES.items():
        path = build_api_path(route, world["objects_b"])
        response = client.generic(
            method.upper(),
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=headers,
        )
        if response.status_code not in (403, 404):
            failures.append(f"{method.upper()} {path} → {response.status_code}")
    assert not failures, f"{actor_key} écrit dans la structure B :\n" + "\n".join(failures)
    assert _snapshot(world["objects_b"]) == before


@pytest.mark.parametrize("route", sorted(API_CREATE_BODIES))
def test_an_api_creation_into_another_structures_service_is_refused(world, client, route):
    headers = api_headers(world["actors"]["coordinator(A)"], scope="write")
    body = {**API_CREATE_BODIES[route], "service": str(world["objects_b"]["service"].pk)}
    response = client.post(route, body, content_type="application/json", headers=headers)
    assert response.status_code == 422, (route, response.status_code)
    assert "service" in {e["field"] for e in response.json()["errors"]}, response.json()
