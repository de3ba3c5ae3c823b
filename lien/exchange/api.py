"""The REST API under /api/: the same records, the same rules as the pages.

Every operation authenticates a personal token (`auth.TokenAuth`), which puts the token's
membership on the request; reads then go through the same `visible_to(membership)`
QuerySets as the pages, with the same role checks, and the one write path is the
logbook's services, validated by the entry page's own `InterventionForm`. Indicators are
the dashboards' (`dashboards.build`), small-cell suppression included: a funder or a
steering member gets the figures as the dashboard shows them, never the raw counts.

The OpenAPI document is at /api/openapi.json and interactive documentation at /api/docs.
Errors all have one JSON shape (see `errors.py`).
"""

import datetime
import math
import re
import uuid
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path, reverse
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Status
from ninja.openapi.docs import Swagger

from lien.core import suppression
from lien.core.models import ORGANISATION_ROLES, STRUCTURE_ROLES, Role, User
from lien.exchange import api_forms, errors, schemas, views
from lien.exchange.auth import TokenAuth, require_roles
from lien.exchange.errors import ApiError
from lien.followup import forms as followup_forms
from lien.followup import services as followup_services
from lien.followup.models import (
    Agreement,
    CollectiveAction,
    NextStep,
    Observation,
    Referral,
    Situation,
    TechnicalReport,
)
from lien.followup.routing import likely_duplicates
from lien.indicators import dashboards, engine
from lien.indicators.views import DASHBOARD_ROLES
from lien.jobs.models import Contract, Funding, Post, Training
from lien.logbook import queries as logbook_queries
from lien.logbook import services as logbook_services
from lien.logbook.forms import EntryLookups, InterventionForm
from lien.logbook.models import Intervention, Shift, Source
from lien.logbook.shift_forms import ShiftForm
from lien.logbook.views import MAX_SYNC_BATCH
from lien.referentiel.models import REFERENCE_MODELS, ActivityType, Domain
from lien.structures.models import Service, Structure
from lien.territories.models import Level, Territory

DESCRIPTION = """
L'API de Lien donne accès, pour un rattachement (un rôle dans une structure, une
organisation ou un territoire), aux mêmes données que les pages, avec les mêmes règles.

**Authentification.** Créez un jeton personnel sur la page [/api/jetons/](/api/jetons/)
(le jeton n'est affiché qu'une fois) puis envoyez-le dans l'en-tête
`Authorization: Bearer <jeton>`. Un jeton agit pour un seul rattachement ; un jeton en
lecture seule est refusé (403) sur les écritures. La session du navigateur n'est pas
acceptée.

**Pagination.** Les listes acceptent `page` (à partir de 1) et `page_size` (500 au plus)
et répondent `{count, page, page_size, pages, results}`.

**Erreurs.** Toujours `{"detail": "…", "errors": [{"field": "…", "message": "…"}]}` :
400 corps de requête illisible (pas du JSON) ; 401 jeton absent, inconnu, révoqué ou
expiré ; 403 rôle ou portée insuffisants ; 404 objet
introuvable ou hors de votre périmètre ; 422 paramètre ou donnée invalide (le champ en
cause est nommé).

**Confidentialité.** Les interventions sont non nominatives ; les suivis et orientations
ne contiennent jamais les noms ni les coordonnées des personnes. Les financeurs et le
pilotage n'ont que des indicateurs agrégés, avec le secret statistique des tableaux de bord.
"""

NOT_FOR_ROLE_LOGBOOK = (
    "Votre rôle ne donne pas accès au journal de bord : les financeurs et le pilotage "
    "consultent les indicateurs (/api/indicateurs/)."
)
NOT_FOR_ROLE_SITUATIONS = "Les suivis ne sont accessibles qu'aux équipes de leur structure."
NOT_FOR_ROLE_REFERRALS = (
    "Les orientations sont accessibles à la structure qui oriente et au partenaire destinataire."
)
NOT_FOR_ROLE_WRITE = "Seul·es les médiateur·rices et la coordination saisissent des interventions."
NOT_FOR_ROLE_INDICATORS = (
    "Votre rôle n'a pas de tableau de bord (les médiateur·rices consultent « Mon mois », "
    "les partenaires leurs orientations)."
)

#: The write operations' authentication: a read-only token is refused (403).
WRITE = TokenAuth(write=True)
ERRORS = {
    400: schemas.ErrorOut,
    401: schemas.ErrorOut,
    403: schemas.ErrorOut,
    422: schemas.ErrorOut,
}
DETAIL_ERRORS = {**ERRORS, 404: schemas.ErrorOut}


class SelfHostedSwagger(Swagger):
    """Ninja's Swagger UI, with its files served from this site (the CSP allows no CDN
    and no inline script): the page reads its settings from a JSON script element."""

    def render_page(self, request, api, **kwargs):
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "exchange/api_docs.html", {"api": api, "swagger_settings": settings})


api = NinjaAPI(
    title="API Lien",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    docs=SelfHostedSwagger(settings={"persistAuthorization": False}),
)
errors.install(api)


# --- helpers --------------------------------------------------------------------------------


def _page(queryset, query: schemas.PageQuery, serialize) -> dict:
    """One page of `queryset`; past the last page the results are empty (no query)."""
    count = queryset.count()
    pages = max(1, math.ceil(count / query.page_size))
    offset = (query.page - 1) * query.page_size
    rows = queryset[offset : offset + query.page_size] if query.page <= pages else []
    return {
        "count": count,
        "page": query.page,
        "page_size": query.page_size,
        "pages": pages,
        "results": [serialize(row) for row in rows],
    }


def _local_bounds(start, end) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """[start 00:00, end + 1 day 00:00) in local time, for filters on a datetime."""
    _check_order(start, end)
    tz = timezone.get_current_timezone()
    low = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz) if start else None
    high = (
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
        if end
        else None
    )
    return low, high


def _check_order(start, end) -> None:
    if start and end and end < start:
        raise ApiError.invalid("end", "La fin de la période précède son début.")


def _commune(code: str) -> Territory:
    commune = Territory.objects.filter(level=Level.COMMUNE, code=code).first()
    if commune is None:
        raise ApiError.invalid("commune", f"Commune inconnue : « {code} ».")
    return commune


def _territory_by_id(territory_id: int) -> Territory:
    territory = Territory.objects.defer("geometry").filter(pk=territory_id).first()
    if territory is None:
        raise ApiError.invalid("territory", f"Territoire inconnu : {territory_id}.")
    return territory


def _asked_place(query) -> Territory | None:
    """The place a list or the indicators are asked for: `commune` (an INSEE code) or
    `territory` (any level, by id), never both; an unknown one is an error."""
    if query.commune and query.territory:
        raise ApiError.invalid("territory", "Indiquez une commune ou un territoire, pas les deux.")
    if query.commune:
        return _commune(query.commune)
    return _territory_by_id(query.territory) if query.territory else None


def _in_place(found, query, field: str = "commune"):
    """The records of `found` in the asked place: their `field` commune lies in it — or, for
    a QPV, the records placed in that QPV (the lists whose records have one)."""
    place = _asked_place(query)
    if place is None:
        return found
    if place.level == Level.COMMUNE:  # the place itself: no walk up the closure table
        return found.filter(**{field: place})
    if place.level != Level.QPV:
        return found.filter(**{f"{field}__ancestor_links__ancestor": place})
    if "qpv" not in {f.name for f in found.model._meta.get_fields()}:
        raise ApiError.invalid(
            "territory", "Ces enregistrements n'ont pas de QPV : choisissez une commune ou plus."
        )
    return found.filter(qpv=place)


def _outlines(*relations: str) -> list[str]:
    """The GeoJSON outlines of related territories, which no answer shows: to defer."""
    return [f"{relation}__geometry" for relation in relations]


def _code(obj) -> str | None:
    return obj.code if obj is not None else None


# --- account ------------------------------------------------------------------------------

account = Router(tags=["Compte"])


@account.get("/moi/", response={200: schemas.MeOut, **ERRORS}, url_name="me")
def me(request):
    """Le compte, le rattachement et le jeton de la requête."""
    user, membership, token = request.user, request.membership, request.auth
    return {
        "user": {"id": user.pk, "email": user.email, "full_name": user.full_name},
        "membership": {
            "id": membership.pk,
            "role": membership.role,
            "role_label": str(membership.get_role_display()),
            "scope_label": membership.scope_label,
            "structure_id": membership.structure_id,
            "organisation_id": membership.organisation_id,
            "territory_id": membership.territory_id,
        },
        "token": {
            "id": token.pk,
            "name": token.name,
            "key_prefix": token.key_prefix,
            "scope": token.scope,
            "expires_at": token.expires_at,
        },
    }


# --- référentiel and territories -----------------------------------------------------------

reference = Router(tags=["Référentiel et territoires"])


@reference.get(
    "/referentiel/", response={200: list[schemas.VocabularyOut], **ERRORS}, url_name="vocabularies"
)
def vocabulary_list(request):
    """Les vocabulaires communs (activités, domaines, issues…), avec leur nombre d'éléments."""
    return [
        {
            "key": key,
            "label": str(model._meta.verbose_name_plural),
            "count": model.objects.count(),
            "url": reverse("api:vocabulary_items", kwargs={"vocabulary": key}),
        }
        for key, model in REFERENCE_MODELS.items()
    ]


def _reference_item(item) -> dict:
    return {
        "code": item.code,
        "label": item.label,
        "description": item.description,
        "position": item.position,
        "is_active": item.is_active,
        "entry_fields": getattr(item, "entry_fields", None),
        "family": getattr(item, "family", None),
        "is_aided": getattr(item, "is_aided", None),
    }


@reference.get(
    "/referentiel/{vocabulary}/",
    response={200: schemas.Page[schemas.ReferenceItemOut], **ERRORS},
    url_name="vocabulary_items",
)
def vocabulary_items(
    request, vocabulary: schemas.Vocabulary, query: Query[schemas.VocabularyQuery]
):
    """Les éléments d'un vocabulaire, par code (stable) et libellé."""
    items = REFERENCE_MODELS[vocabulary].objects.order_by("position", "label", "pk")
    if query.active is not None:
        items = items.filter(is_active=query.active)
    return _page(items, query, _reference_item)


def _territory(t: Territory) -> dict:
    return {
        "id": t.pk,
        "level": t.level,
        "code": t.code,
        "name": t.name,
        "parent_id": t.parent_id,
        "path": t.path,
        "population": t.population,
    }


@reference.get(
    "/territoires/",
    response={200: schemas.Page[schemas.TerritoryOut], **ERRORS},
    url_name="territories",
)
def territory_list(request, query: Query[schemas.TerritoryQuery]):
    """Régions, départements, EPCI, communes et QPV (codes INSEE, SIREN, codes QPV)."""
    territories = Territory.objects.defer("geometry").order_by("path", "pk")
    if query.level:
        territories = territories.filter(level=query.level)
    if query.parent:
        territories = territories.filter(parent_id=query.parent)
    if query.within:
        territories = territories.filter(ancestor_links__ancestor_id=query.within)
    if query.code:
        territories = territories.filter(code=query.code.upper())
    return _page(territories, query, _territory)


# --- structures and services ----------------------------------------------------------------

structures = Router(tags=["Structures et dispositifs"])


def _structure(s: Structure) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "employer_type": s.employer_type.code,
        "siret": s.siret,
        "network": s.network,
        "commune": s.commune.code,
        "address": s.address,
        "afnor_status": s.afnor_status,
        "afnor_certified_on": s.afnor_certified_on,
        "afnor_next_audit_on": s.afnor_next_audit_on,
        "is_active": s.is_active,
        "created_at": s.created_at,
    }


def _structures(request):
    return (
        Structure.objects.visible_to(request.membership)
        .select_related("employer_type", "commune")
        .defer(*_outlines("commune"))
        .order_by("name", "pk")
    )


@structures.get(
    "/structures/",
    response={200: schemas.Page[schemas.StructureOut], **ERRORS},
    url_name="structure_list",
)
def structure_list(request, query: Query[schemas.StructureQuery]):
    """Les structures visibles : la sienne (équipes), celles qu'on finance (financeurs),
    celles du territoire (pilotage), toutes (administration)."""
    found = _structures(request)
    found = _in_place(found, query)
    return _page(found, query, _structure)


@structures.get(
    "/structures/{structure_id}/",
    response={200: schemas.StructureOut, **DETAIL_ERRORS},
    url_name="structure_detail",
)
def structure_detail(request, structure_id: uuid.UUID):
    return _structure(get_object_or_404(_structures(request), pk=structure_id))


def _service(s: Service) -> dict:
    return {
        "id": s.pk,
        "structure_id": s.structure_id,
        "name": s.name,
        "domains": [d.code for d in s.domains.all()],
        "territories": [
            {"id": t.pk, "level": t.level, "code": t.code, "name": t.name}
            for t in s.territories.all()
        ],
        "commissioning_bodies": [
            {"id": o.pk, "name": o.name} for o in s.commissioning_bodies.all()
        ],
        "objectives": s.objectives,
        "stage": s.stage.code,
        "starts_on": s.starts_on,
        "ends_on": s.ends_on,
        "is_active": s.is_active,
    }


def _services(request):
    return (
        Service.objects.visible_to(request.membership)
        .select_related("stage")
        .prefetch_related(
            "domains",
            "commissioning_bodies",
            # Only what the schema shows: never a territory's outline.
            Prefetch("territories", queryset=Territory.objects.defer("geometry")),
        )
        .order_by("structure__name", "name", "pk")
    )


@structures.get(
    "/dispositifs/",
    response={200: schemas.Page[schemas.ServiceOut], **ERRORS},
    url_name="service_list",
)
def service_list(request, query: Query[schemas.ServiceQuery]):
    """Les dispositifs visibles (mêmes règles que les structures)."""
    _check_order(query.start, query.end)
    found = _services(request)
    if query.structure:
        found = found.filter(structure_id=query.structure)
    if query.end:
        found = found.filter(starts_on__lte=query.end)
    if query.start:
        found = found.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=query.start))
    place = _asked_place(query)
    if place is not None:
        # A service covers the place, or works somewhere inside it.
        found = found.filter(
            pk__in=Service.objects.filter(
                Q(territories__descendant_links__descendant=place)
                | Q(territories__ancestor_links__ancestor=place)
            ).values("pk")
        )
    return _page(found, query, _service)


@structures.get(
    "/dispositifs/{service_id}/",
    response={200: schemas.ServiceOut, **DETAIL_ERRORS},
    url_name="service_detail",
)
def service_detail(request, service_id: uuid.UUID):
    return _service(get_object_or_404(_services(request), pk=service_id))


# --- the logbook ----------------------------------------------------------------------------

logbook = Router(tags=["Journal de bord"])


def _intervention(i: Intervention) -> dict:
    return {
        "id": i.pk,
        "version": i.version,
        "structure_id": i.structure_id,
        "service_id": i.service_id,
        "shift_id": i.shift_id,
        "author_id": i.author_id,
        "mediators": sorted(u.pk for u in i.mediators.all()),
        "started_at": i.started_at,
        "duration_minutes": i.duration_minutes,
        "commune": i.commune.code,
        "qpv": _code(i.qpv),
        "place_type": _code(i.place_type),
        "activity_type": i.activity_type.code,
        "domain": i.domain.code,
        "situation_category": _code(i.situation_category),
        "origin": i.origin,
        "timing": i.timing,
        "form": i.form,
        "people_met": i.people_met,
        "outcome": _code(i.outcome),
        "emergency_handoff": i.emergency_handoff,
        "note": i.note,
        "access_requests": [
            {"theme": r.theme.code, "count": r.count} for r in i.access_requests.all()
        ],
        "source": i.source,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
    }


def _interventions(request):
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_LOGBOOK)
    return (
        logbook_queries.with_row_data(Intervention.objects.visible_to(request.membership))
        .defer(*_outlines("commune", "qpv"))
        .order_by("-started_at", "-created_at", "-pk")  # a stable order for paging
    )


@logbook.get(
    "/interventions/",
    response={200: schemas.Page[schemas.InterventionOut], **ERRORS},
    url_name="intervention_list",
)
def intervention_list(request, query: Query[schemas.InterventionQuery]):
    """Les interventions de la structure, les plus récentes d'abord (médiation et
    coordination ; les autres rôles consultent les indicateurs)."""
    found = _interventions(request)
    low, high = _local_bounds(query.start, query.end)
    if low:
        found = found.filter(started_at__gte=low)
    if high:
        found = found.filter(started_at__lt=high)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.activity_type:
        found = found.filter(activity_type__code=query.activity_type)
    if query.domain:
        found = found.filter(domain__code=query.domain)
    if query.mine:
        found = found.by_mediator(request.user)
    return _page(found, query, _intervention)


def _form_errors(form) -> list[dict]:
    found = []
    for name, items in form.errors.get_json_data().items():
        field = None if name == "__all__" else name
        if field and field.startswith("request_"):
            field = "access_requests." + field.removeprefix("request_")
        found += [{"field": field, "message": item["message"]} for item in items]
    return found


@logbook.post(
    "/interventions/",
    response={201: schemas.InterventionOut, **ERRORS, 409: schemas.ErrorOut},
    url_name="intervention_create",
    auth=WRITE,
)
def intervention_create(request, payload: schemas.InterventionIn):
    """Saisir une intervention, avec les règles de la page de saisie (jeton « écriture »)."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_WRITE)
    membership = request.membership
    taken = ApiError(
        409,
        "Une intervention porte déjà cet identifiant : elle est enregistrée.",
        [{"field": "id", "message": "Identifiant déjà utilisé."}],
    )
    if payload.id is not None and Intervention.objects.filter(pk=payload.id).exists():
        raise taken
    data = payload.model_dump(mode="json", exclude_unset=True, exclude={"id"})
    form = InterventionForm.from_payload(
        data, structure=membership.structure, author=membership.user
    )
    if not form.is_valid():
        raise ApiError(422, errors.INVALID, _form_errors(form))
    try:
        created = logbook_services.intervention_create(
            actor=membership,
            data=form.intervention_data(),
            intervention_id=payload.id,
            source=Source.API,
        )
    except IntegrityError:
        raise taken from None
    return Status(
        201,
        _intervention(
            logbook_queries.with_row_data(Intervention.objects.filter(pk=created.pk)).get()
        ),
    )


@logbook.post(
    "/interventions/sync/",
    response={200: schemas.SyncOut, **ERRORS, 413: schemas.ErrorOut},
    url_name="intervention_sync",
    auth=WRITE,
)
def intervention_sync(request, payload: schemas.SyncIn):
    """La synchronisation de la saisie hors ligne (`POST /journal-de-bord/sync/`) : un lot
    d'entrées, chacune avec sa réponse (created, already_synced, updated, conflict,
    invalid, refused). Idempotent : un lot peut être renvoyé tel quel."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_WRITE)
    if len(payload.entries) > MAX_SYNC_BATCH:
        raise ApiError(
            413,
            f"Au plus {MAX_SYNC_BATCH} entrées par envoi ({len(payload.entries)} reçues).",
            [{"field": "entries", "message": f"Au plus {MAX_SYNC_BATCH} éléments."}],
        )
    membership = request.membership
    lookups = EntryLookups(membership.structure, membership.user)

    def build_form(entry_payload):
        return InterventionForm.from_payload(
            entry_payload, structure=membership.structure, author=membership.user, lookups=lookups
        )

    results = logbook_services.intervention_sync(
        actor=membership, entries=payload.entries, build_form=build_form, source=Source.API
    )
    return {"results": [result.as_dict() for result in results]}


@logbook.get(
    "/interventions/{intervention_id}/",
    response={200: schemas.InterventionOut, **DETAIL_ERRORS},
    url_name="intervention_detail",
)
def intervention_detail(request, intervention_id: uuid.UUID):
    return _intervention(get_object_or_404(_interventions(request), pk=intervention_id))


# --- follow-up ------------------------------------------------------------------------------

followup = Router(tags=["Suivi"])


def _situation(s: Situation) -> dict:
    return {
        "id": s.pk,
        "reference": s.reference,
        "structure_id": s.structure_id,
        "service_id": s.service_id,
        "kind": s.kind,
        "status": s.status,
        "initials": s.initials,
        "category": _code(s.category),
        "domain": s.domain.code,
        "commune": s.commune.code,
        "qpv": _code(s.qpv),
        "summary": s.summary,
        "is_nominative": s.is_nominative,
        "consent_on": s.consent_on,
        "consent_scope": s.consent_scope,
        "consent_withdrawn_on": s.consent_withdrawn_on,
        "opened_on": s.opened_on,
        "closed_on": s.closed_on,
        "closing_outcome": _code(s.closing_outcome),
        "purge_on": s.purge_on,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _situations(request):
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_SITUATIONS)
    return (
        Situation.objects.visible_to(request.membership)
        # The nominative columns are not even read: no display, no journal line needed.
        .defer(*Situation.NOMINATIVE_FIELDS)
        .select_related("category", "domain", "commune", "qpv", "closing_outcome")
        .defer(*_outlines("commune", "qpv"))
        .order_by("-opened_on", "reference", "pk")
    )


@followup.get(
    "/suivis/", response={200: schemas.Page[schemas.SituationOut], **ERRORS}, url_name="situations"
)
def situation_list(request, query: Query[schemas.SituationQuery]):
    """Les suivis de la structure (ouverts dans la période), sans noms ni coordonnées."""
    _check_order(query.start, query.end)
    found = _situations(request)
    if query.start:
        found = found.filter(opened_on__gte=query.start)
    if query.end:
        found = found.filter(opened_on__lte=query.end)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.status:
        found = found.filter(status=query.status)
    return _page(found, query, _situation)


@followup.get(
    "/suivis/{situation_id}/",
    response={200: schemas.SituationOut, **DETAIL_ERRORS},
    url_name="situation_detail",
)
def situation_detail(request, situation_id: uuid.UUID):
    return _situation(get_object_or_404(_situations(request), pk=situation_id))


def _referral(r: Referral) -> dict:
    return {
        "id": r.pk,
        "structure_id": r.structure_id,
        "service_id": r.service_id,
        "situation_id": r.situation_id,
        "intervention_id": r.intervention_id,
        "partner": {"id": r.partner.pk, "name": r.partner.name},
        "theme": r.theme.code,
        "commune": r.commune.code,
        "person": r.person,
        "request": r.request,
        "status": r.status,
        "refusal_reason": r.refusal_reason,
        "result": r.result,
        "result_note": r.result_note,
        "sent_at": r.sent_at,
        "seen_at": r.seen_at,
        "answered_at": r.answered_at,
        "closed_at": r.closed_at,
        "expires_on": r.expires_on,
    }


def _referrals(request):
    require_roles(request, (*STRUCTURE_ROLES, Role.PARTNER), NOT_FOR_ROLE_REFERRALS)
    return (
        Referral.objects.visible_to(request.membership)
        .defer("callback", *_outlines("commune"))
        .select_related("partner", "theme", "commune")
        .order_by("-sent_at", "pk")
    )


@followup.get(
    "/orientations/",
    response={200: schemas.Page[schemas.ReferralOut], **ERRORS},
    url_name="referrals",
)
def referral_list(request, query: Query[schemas.ReferralQuery]):
    """Les mises en relation de la structure, ou (partenaires) celles qui leur sont
    adressées. Les lire par l'API ne les marque pas « vues »."""
    found = _referrals(request)
    low, high = _local_bounds(query.start, query.end)
    if low:
        found = found.filter(sent_at__gte=low)
    if high:
        found = found.filter(sent_at__lt=high)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.status:
        found = found.filter(status=query.status)
    return _page(found, query, _referral)


@followup.get(
    "/orientations/{referral_id}/",
    response={200: schemas.ReferralOut, **DETAIL_ERRORS},
    url_name="referral_detail",
)
def referral_detail(request, referral_id: uuid.UUID):
    return _referral(get_object_or_404(_referrals(request), pk=referral_id))


# --- follow-up: writes ---------------------------------------------------------------------

NOT_FOR_ROLE_FOLLOWUP_WRITE = (
    "Seules les équipes de la structure (médiation, coordination) écrivent ici."
)
NOT_FOR_ROLE_PARTNER_ANSWER = "Seul le partenaire destinataire répond à une mise en relation."


def _invalid(form) -> ApiError:
    return ApiError(422, errors.INVALID, _form_errors(form))


def _valid(form):
    if not form.is_valid():
        raise _invalid(form)
    return form


@contextmanager
def _named(field: str):
    """A status change the status machine refuses: name the field that asked for it."""
    try:
        yield
    except followup_services.TransitionError as exc:
        raise ApiError.invalid(field, " ".join(exc.messages)) from None


def _body(payload, *, partial: bool = False) -> dict:
    """The JSON body as the form's data: with the schema's defaults, or (a correction)
    only what was sent."""
    return payload.model_dump(mode="json", exclude_unset=partial)


def _situation_by_id(request, situation_id) -> Situation:
    return get_object_or_404(
        _situations(request).select_related("structure", "service"), pk=situation_id
    )


@followup.post(
    "/suivis/",
    response={201: schemas.SituationOut, **ERRORS},
    url_name="situation_create",
    auth=WRITE,
)
def situation_create(request, payload: schemas.SituationIn):
    """Ouvrir un suivi pseudonyme, avec les règles de la page (jeton « écriture ») ; un
    suivi nominatif s'ouvre sur la page, qui seule montre les noms."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_FOLLOWUP_WRITE)
    membership = request.membership
    data = _body(payload)
    data["parties"] = "\n".join(data.get("parties") or [])
    form = _valid(api_forms.bind(api_forms.SituationForm, data, structure=membership.structure))
    created = followup_services.situation_create(
        actor=membership,
        data={**form.situation_data(), "is_nominative": False},
        parties=form.parties_data(),
    )
    return Status(201, _situation(_situation_by_id(request, created.pk)))


@followup.post(
    "/suivis/{situation_id}/cloture/",
    response={200: schemas.SituationOut, **DETAIL_ERRORS},
    url_name="situation_close",
    auth=WRITE,
)
def situation_close(request, situation_id: uuid.UUID, payload: schemas.SituationCloseIn):
    """Clore un suivi avec son issue (code) et sa date (défaut : aujourd'hui)."""
    situation = _situation_by_id(request, situation_id)
    data = _body(payload)
    data["closed_on"] = data["closed_on"] or timezone.localdate().isoformat()
    form = _valid(api_forms.bind(api_forms.CloseSituationForm, data))
    followup_services.situation_close(
        actor=request.membership,
        situation=situation,
        outcome=form.cleaned_data["outcome"],
        closed_on=form.cleaned_data["closed_on"],
    )
    return _situation(_situation_by_id(request, situation_id))


@followup.post(
    "/suivis/{situation_id}/retrait-consentement/",
    response={200: schemas.SituationOut, **DETAIL_ERRORS},
    url_name="situation_withdraw",
    auth=WRITE,
)
def situation_withdraw(request, situation_id: uuid.UUID):
    """Le retrait du consentement : les noms et coordonnées sont effacés aussitôt."""
    situation = _situation_by_id(request, situation_id)
    followup_services.situation_withdraw_consent(actor=request.membership, situation=situation)
    return _situation(_situation_by_id(request, situation_id))


# --- follow-up: next steps and agreements ---------------------------------------------------


def _next_step(step: NextStep) -> dict:
    return {
        "id": step.uid,
        "text": step.text,
        "due_on": step.due_on,
        "assignee_id": step.assignee_id,
        "done_on": step.done_on,
    }


def _agreement(agreement: Agreement) -> dict:
    return {
        "id": agreement.uid,
        "text": agreement.text,
        "agreed_on": agreement.agreed_on,
        "review_on": agreement.review_on,
        "held": agreement.held,
        "reviewed_on": agreement.reviewed_on,
    }


@followup.get(
    "/suivis/{situation_id}/etapes/",
    response={200: list[schemas.NextStepOut], **DETAIL_ERRORS},
    url_name="situation_next_steps",
)
def next_step_list(request, situation_id: uuid.UUID):
    """Les prochaines étapes du suivi, par échéance."""
    situation = _situation_by_id(request, situation_id)
    return [_next_step(s) for s in situation.next_steps.order_by("due_on", "pk")]


@followup.post(
    "/suivis/{situation_id}/etapes/",
    response={201: schemas.NextStepOut, **DETAIL_ERRORS},
    url_name="situation_next_step_create",
    auth=WRITE,
)
def next_step_create(request, situation_id: uuid.UUID, payload: schemas.NextStepIn):
    """Ajouter une prochaine étape confiée à un·e membre de la structure (prévenu·e)."""
    situation = _situation_by_id(request, situation_id)
    form = _valid(
        api_forms.bind(followup_forms.NextStepForm, _body(payload), structure=situation.structure)
    )
    step = followup_services.next_step_add(
        actor=request.membership,
        situation=situation,
        text=form.cleaned_data["text"],
        due_on=form.cleaned_data["due_on"],
        assignee=form.cleaned_data["assignee"],
    )
    return Status(201, _next_step(step))


@followup.post(
    "/suivis/{situation_id}/etapes/{nextstep_uid}/faite/",
    response={200: schemas.NextStepOut, **DETAIL_ERRORS},
    url_name="situation_next_step_done",
    auth=WRITE,
)
def next_step_done(request, situation_id: uuid.UUID, nextstep_uid: uuid.UUID):
    """Marquer l'étape faite (aujourd'hui)."""
    situation = _situation_by_id(request, situation_id)
    step = get_object_or_404(situation.next_steps.select_related("situation"), uid=nextstep_uid)
    try:
        followup_services.next_step_done(actor=request.membership, step=step)
    except ValidationError as exc:
        raise ApiError.invalid("done_on", " ".join(exc.messages)) from None
    return _next_step(step)


@followup.get(
    "/suivis/{situation_id}/rencontres/",
    response={200: list[schemas.InterventionOut], **DETAIL_ERRORS},
    url_name="situation_meetings",
)
def meeting_list(request, situation_id: uuid.UUID):
    """Les rencontres du suivi : les interventions du journal de bord qui lui sont liées."""
    situation = _situation_by_id(request, situation_id)
    found = _interventions(request).filter(situation_meeting__situation=situation)
    return [_intervention(i) for i in found]


@followup.post(
    "/suivis/{situation_id}/rencontres/",
    response={201: schemas.InterventionOut, **DETAIL_ERRORS},
    url_name="situation_meeting_create",
    auth=WRITE,
)
def meeting_create(request, situation_id: uuid.UUID, payload: schemas.MeetingIn):
    """Noter une rencontre (navette, table ronde, entretien) : une intervention du journal de
    bord au lieu, au domaine et à la situation du suivi, avec les règles de la saisie."""
    situation = _situation_by_id(request, situation_id)
    form = _valid(api_forms.bind(api_forms.MeetingForm, _body(payload)))
    entry = followup_forms.meeting_entry(
        situation, form.cleaned_data, structure=request.membership.structure, author=request.user
    )
    if not entry.is_valid():
        raise _invalid(entry)
    intervention = followup_services.meeting_log(
        actor=request.membership, situation=situation, form_data=entry.intervention_data()
    )
    return Status(201, _intervention(_interventions(request).get(pk=intervention.pk)))


@followup.get(
    "/suivis/{situation_id}/accords/",
    response={200: list[schemas.AgreementOut], **DETAIL_ERRORS},
    url_name="situation_agreements",
)
def agreement_list(request, situation_id: uuid.UUID):
    """Les accords conclus dans le suivi, et s'ils ont tenu."""
    situation = _situation_by_id(request, situation_id)
    return [_agreement(a) for a in situation.agreements.order_by("agreed_on", "pk")]


@followup.post(
    "/suivis/{situation_id}/accords/",
    response={201: schemas.AgreementOut, **DETAIL_ERRORS},
    url_name="situation_agreement_create",
    auth=WRITE,
)
def agreement_create(request, situation_id: uuid.UUID, payload: schemas.AgreementIn):
    """Noter un accord entre les parties et la date à laquelle vérifier qu'il tient."""
    situation = _situation_by_id(request, situation_id)
    form = _valid(api_forms.bind(followup_forms.AgreementForm, _body(payload)))
    agreement = followup_services.agreement_add(
        actor=request.membership,
        situation=situation,
        text=form.cleaned_data["text"],
        agreed_on=form.cleaned_data["agreed_on"],
        review_on=form.cleaned_data["review_on"],
    )
    return Status(201, _agreement(agreement))


@followup.post(
    "/suivis/{situation_id}/accords/{agreement_uid}/bilan/",
    response={200: schemas.AgreementOut, **DETAIL_ERRORS},
    url_name="situation_agreement_review",
    auth=WRITE,
)
def agreement_review(
    request, situation_id: uuid.UUID, agreement_uid: uuid.UUID, payload: schemas.AgreementReviewIn
):
    """Dire si l'accord a tenu (vérifié aujourd'hui)."""
    situation = _situation_by_id(request, situation_id)
    agreement = get_object_or_404(
        situation.agreements.select_related("situation"), uid=agreement_uid
    )
    followup_services.agreement_review(
        actor=request.membership, agreement=agreement, held=payload.held
    )
    return _agreement(agreement)


@followup.post(
    "/orientations/",
    response={201: schemas.ReferralOut, **ERRORS},
    url_name="referral_create",
    auth=WRITE,
)
def referral_create(request, payload: schemas.ReferralIn):
    """Orienter une personne vers un partenaire (règles de la page ; le partenaire est
    prévenu). Les coordonnées de rappel ne sont jamais relues par l'API."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_FOLLOWUP_WRITE)
    membership = request.membership
    data = _body(payload)
    sources = {"suivi": data.pop("situation", None), "intervention": data.pop("intervention", None)}
    form = _valid(
        api_forms.bind(
            api_forms.ReferralForm,
            {**data, **{k: v for k, v in sources.items() if v}},
            structure=membership.structure,
        )
    )
    values = form.referral_data()
    values["situation"] = (
        Situation.objects.visible_to(membership).filter(pk=sources["suivi"]).first()
        if sources["suivi"]
        else None
    )
    values["intervention"] = (
        Intervention.objects.visible_to(membership).filter(pk=sources["intervention"]).first()
        if sources["intervention"]
        else None
    )
    created = followup_services.referral_create(actor=membership, data=values)
    return Status(201, _referral(get_object_or_404(_referrals(request), pk=created.pk)))


@followup.post(
    "/orientations/{referral_id}/reponse/",
    response={200: schemas.ReferralOut, **DETAIL_ERRORS},
    url_name="referral_answer",
    auth=WRITE,
)
def referral_answer(request, referral_id: uuid.UUID, payload: schemas.ReferralAnswerIn):
    """La réponse du partenaire destinataire : accepted, refused (avec le motif) ou done
    (avec le résultat) ; la structure est prévenue."""
    referral = get_object_or_404(_referrals(request), pk=referral_id)
    require_roles(request, (Role.PARTNER,), NOT_FOR_ROLE_PARTNER_ANSWER)
    form = _valid(
        api_forms.bind(followup_forms.ReferralAnswerForm, _body(payload), referral=referral)
    )
    with _named("status"):
        followup_services.referral_answer(
            actor=request.membership,
            referral=referral,
            to=form.cleaned_data["status"],
            refusal_reason=form.cleaned_data.get("refusal_reason") or "",
            result=form.cleaned_data.get("result") or "",
            result_note=form.cleaned_data.get("result_note") or "",
        )
    return _referral(get_object_or_404(_referrals(request), pk=referral_id))


# --- dysfunction reports --------------------------------------------------------------------

records = Router(tags=["Signalements, veille sociale, actions collectives"])

NOT_FOR_ROLE_REPORTS = (
    "Les signalements sont accessibles à la structure qui signale et à l'organisme destinataire."
)
NOT_FOR_ROLE_REPORT_ANSWER = "Seul l'organisme destinataire répond à un signalement."
NOT_FOR_ROLE_REPORT_ROUTE = "Seule la coordination transmet un signalement."


def _decimal(value) -> float | None:
    return None if value is None else float(value)


def _org(o) -> dict | None:
    return None if o is None else {"id": o.pk, "name": o.name}


def _report(r: TechnicalReport) -> dict:
    return {
        "id": r.pk,
        "structure_id": r.structure_id,
        "service_id": r.service_id,
        "category": r.category,
        "commune": r.commune.code,
        "qpv": _code(r.qpv),
        "place_type": _code(r.place_type),
        "address": r.address,
        "latitude": _decimal(r.latitude),
        "longitude": _decimal(r.longitude),
        "description": r.description,
        "has_photo": bool(r.photo),
        "routed_to": _org(r.routed_to),
        "status": r.status,
        "response": r.response,
        "duplicate_of": r.duplicate_of_id,
        "reported_at": r.reported_at,
        "acknowledged_at": r.acknowledged_at,
        "closed_at": r.closed_at,
    }


def _reports(request):
    require_roles(request, (*STRUCTURE_ROLES, *ORGANISATION_ROLES), NOT_FOR_ROLE_REPORTS)
    return (
        TechnicalReport.objects.visible_to(request.membership)
        .select_related("commune", "qpv", "place_type", "routed_to")
        .defer(*_outlines("commune", "qpv"))
        .order_by("-reported_at", "pk")
    )


@records.get(
    "/signalements/",
    response={200: schemas.Page[schemas.ReportOut], **ERRORS},
    url_name="report_list",
)
def report_list(request, query: Query[schemas.ReportQuery]):
    """Les signalements de la structure, ou (financeurs, partenaires) ceux qui leur sont
    transmis, les plus récents d'abord."""
    found = _reports(request)
    low, high = _local_bounds(query.start, query.end)
    if low:
        found = found.filter(reported_at__gte=low)
    if high:
        found = found.filter(reported_at__lt=high)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.status:
        found = found.filter(status=query.status)
    if query.category:
        found = found.filter(category=query.category)
    return _page(found, query, _report)


@records.get(
    "/signalements/{report_id}/",
    response={200: schemas.ReportOut, **DETAIL_ERRORS},
    url_name="report_detail",
)
def report_detail(request, report_id: uuid.UUID):
    return _report(get_object_or_404(_reports(request), pk=report_id))


@records.post(
    "/signalements/",
    response={201: schemas.ReportOut, **ERRORS},
    url_name="report_create",
    auth=WRITE,
)
def report_create(request, payload: schemas.ReportIn):
    """Signaler un dysfonctionnement (règles de la page ; transmis selon les règles de la
    structure). Si des signalements semblables sont ouverts, confirmer par
    `not_duplicate`. La photo se joint sur la page."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_FOLLOWUP_WRITE)
    membership = request.membership
    form = _valid(
        api_forms.bind(api_forms.ReportForm, _body(payload), structure=membership.structure)
    )
    data = form.report_data()
    duplicates = likely_duplicates(
        structure=membership.structure,
        category=data["category"],
        commune=data["commune"],
        qpv=data["qpv"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        address=data["address"],
    )
    if duplicates and not form.cleaned_data.get("not_duplicate"):
        raise ApiError.invalid(
            "not_duplicate",
            f"{len(duplicates)} signalement(s) semblable(s) ouvert(s) "
            f"({', '.join(str(d.pk) for d in duplicates[:5])}) : s'il s'agit d'un autre "
            "dysfonctionnement, renvoyez avec not_duplicate = true.",
        )
    created = followup_services.report_create(actor=membership, data=data)
    return Status(201, _report(get_object_or_404(_reports(request), pk=created.pk)))


@records.post(
    "/signalements/{report_id}/transmission/",
    response={200: schemas.ReportOut, **DETAIL_ERRORS},
    url_name="report_route",
    auth=WRITE,
)
def report_route(request, report_id: uuid.UUID, payload: schemas.ReportRouteIn):
    """La coordination choisit (ou corrige) l'organisme destinataire."""
    report = get_object_or_404(_reports(request), pk=report_id)
    require_roles(request, (Role.COORDINATOR,), NOT_FOR_ROLE_REPORT_ROUTE)
    form = _valid(api_forms.bind(followup_forms.ReportRouteForm, _body(payload)))
    followup_services.report_route(
        actor=request.membership, report=report, organisation=form.cleaned_data["organisation"]
    )
    return _report(get_object_or_404(_reports(request), pk=report_id))


@records.post(
    "/signalements/{report_id}/reponse/",
    response={200: schemas.ReportOut, **DETAIL_ERRORS},
    url_name="report_answer",
    auth=WRITE,
)
def report_answer(request, report_id: uuid.UUID, payload: schemas.ReportAnswerIn):
    """La suite donnée par l'organisme destinataire : acknowledged, resolved, rejected
    (avec un commentaire) ; la structure est prévenue."""
    report = get_object_or_404(_reports(request), pk=report_id)
    require_roles(request, ORGANISATION_ROLES, NOT_FOR_ROLE_REPORT_ANSWER)
    form = _valid(api_forms.bind(followup_forms.ReportAnswerForm, _body(payload)))
    with _named("status"):
        followup_services.report_answer(
            actor=request.membership,
            report=report,
            to=form.cleaned_data["status"],
            response=form.cleaned_data.get("response") or "",
        )
    return _report(get_object_or_404(_reports(request), pk=report_id))


# --- social watch ---------------------------------------------------------------------------

NOT_FOR_ROLE_OBSERVATIONS = (
    "La veille sociale est accessible à la structure et aux organismes avec qui elle la partage."
)


def _observation(o: Observation) -> dict:
    return {
        "id": o.pk,
        "structure_id": o.structure_id,
        "service_id": o.service_id,
        "sector": {
            "id": o.sector.pk,
            "level": o.sector.level,
            "code": o.sector.code,
            "name": o.sector.name,
        },
        "observed_on": o.observed_on,
        "level": o.level,
        "categories": [c.code for c in o.categories.all()],
        "text": o.text,
        "shared_with": [_org(org) for org in o.shared_with.all()],
        "created_at": o.created_at,
    }


def _observations(request):
    require_roles(request, (*STRUCTURE_ROLES, *ORGANISATION_ROLES), NOT_FOR_ROLE_OBSERVATIONS)
    return (
        Observation.objects.visible_to(request.membership)
        .select_related("sector")
        .defer(*_outlines("sector"))
        .prefetch_related("categories", "shared_with")
        .order_by("-observed_on", "-created_at", "pk")
    )


@records.get(
    "/veille-sociale/",
    response={200: schemas.Page[schemas.ObservationOut], **ERRORS},
    url_name="observation_list",
)
def observation_list(request, query: Query[schemas.ObservationQuery]):
    """Les observations de veille sociale (non nominatives) : celles de la structure, ou
    celles qu'elle partage avec l'organisme du jeton. `commune` : le secteur observé."""
    _check_order(query.start, query.end)
    found = _observations(request)
    if query.start:
        found = found.filter(observed_on__gte=query.start)
    if query.end:
        found = found.filter(observed_on__lte=query.end)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query, "sector")
    if query.level:
        found = found.filter(level=query.level)
    return _page(found, query, _observation)


@records.get(
    "/veille-sociale/{observation_id}/",
    response={200: schemas.ObservationOut, **DETAIL_ERRORS},
    url_name="observation_detail",
)
def observation_detail(request, observation_id: uuid.UUID):
    return _observation(get_object_or_404(_observations(request), pk=observation_id))


@records.post(
    "/veille-sociale/",
    response={201: schemas.ObservationOut, **ERRORS},
    url_name="observation_create",
    auth=WRITE,
)
def observation_create(request, payload: schemas.ObservationIn):
    """Noter une observation (règles de la page) ; les organismes avec qui elle est
    partagée sont prévenus d'une vigilance ou d'une alerte."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_FOLLOWUP_WRITE)
    membership = request.membership
    form = _valid(
        api_forms.bind(api_forms.ObservationForm, _body(payload), structure=membership.structure)
    )
    data = form.cleaned_data
    created = followup_services.observation_create(
        actor=membership,
        data={
            "service": data["service"],
            "sector": data["sector"],
            "observed_on": data["observed_on"],
            "level": data["level"],
            "text": data["text"],
            "text_warnings": form.warnings.get("text", []),
        },
        categories=data["categories"],
        shared_with=data["shared_with"],
    )
    return Status(201, _observation(get_object_or_404(_observations(request), pk=created.pk)))


# --- collective actions ---------------------------------------------------------------------


def _collective_action(a: CollectiveAction) -> dict:
    return {
        "id": a.pk,
        "structure_id": a.structure_id,
        "service_id": a.service_id,
        "kind": a.kind,
        "title": a.title,
        "held_on": a.held_on,
        "duration_minutes": a.duration_minutes,
        "commune": a.commune.code,
        "qpv": _code(a.qpv),
        "place": a.place,
        "partners": [_org(o) for o in a.partners.all()],
        **{name: getattr(a, name) for name in CollectiveAction.AUDIENCES},
        "notes": a.notes,
        "created_at": a.created_at,
    }


def _collective_actions(request):
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_SITUATIONS)
    return (
        CollectiveAction.objects.visible_to(request.membership)
        .select_related("commune", "qpv")
        .defer(*_outlines("commune", "qpv"))
        .prefetch_related("partners")
        .order_by("-held_on", "-created_at", "pk")
    )


@records.get(
    "/actions-collectives/",
    response={200: schemas.Page[schemas.CollectiveActionOut], **ERRORS},
    url_name="collective_action_list",
)
def collective_action_list(request, query: Query[schemas.CollectiveActionQuery]):
    """Les actions collectives de la structure (tenues dans la période)."""
    _check_order(query.start, query.end)
    found = _collective_actions(request)
    if query.start:
        found = found.filter(held_on__gte=query.start)
    if query.end:
        found = found.filter(held_on__lte=query.end)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.kind:
        found = found.filter(kind=query.kind)
    return _page(found, query, _collective_action)


@records.get(
    "/actions-collectives/{collective_action_id}/",
    response={200: schemas.CollectiveActionOut, **DETAIL_ERRORS},
    url_name="collective_action_detail",
)
def collective_action_detail(request, collective_action_id: uuid.UUID):
    return _collective_action(
        get_object_or_404(_collective_actions(request), pk=collective_action_id)
    )


def _collective_action_save(request, data: dict, action=None):
    membership = request.membership
    form = _valid(
        api_forms.bind(followup_forms.CollectiveActionForm, data, structure=membership.structure)
    )
    saved = followup_services.collective_action_save(
        actor=membership,
        data=form.action_data(),
        partners=form.cleaned_data["partners"],
        action=action,
    )
    return _collective_action(get_object_or_404(_collective_actions(request), pk=saved.pk))


@records.post(
    "/actions-collectives/",
    response={201: schemas.CollectiveActionOut, **ERRORS},
    url_name="collective_action_create",
    auth=WRITE,
)
def collective_action_create(request, payload: schemas.CollectiveActionIn):
    """Enregistrer une action collective (règles de la page)."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_FOLLOWUP_WRITE)
    return Status(201, _collective_action_save(request, _body(payload)))


@records.patch(
    "/actions-collectives/{collective_action_id}/",
    response={200: schemas.CollectiveActionOut, **DETAIL_ERRORS},
    url_name="collective_action_update",
    auth=WRITE,
)
def collective_action_update(
    request, collective_action_id: uuid.UUID, payload: schemas.CollectiveActionPatch
):
    """Corriger une action collective : les champs envoyés remplacent les anciens, les
    autres sont gardés ; toutes les règles de la page s'appliquent au résultat."""
    action = get_object_or_404(_collective_actions(request), pk=collective_action_id)
    current = _collective_action(action)
    current.update(
        service=str(action.service_id),
        partners=[str(o["id"]) for o in current["partners"]],
        held_on=action.held_on.isoformat(),
    )
    data = {name: current.get(name) for name in schemas.CollectiveActionPatch.model_fields}
    data.update(_body(payload, partial=True))
    return _collective_action_save(request, data, action=action)


# --- shifts ---------------------------------------------------------------------------------

NOT_FOR_ROLE_SHIFT_WRITE = "Seule la coordination planifie les tournées et permanences."


def _shift(s: Shift) -> dict:
    return {
        "id": s.pk,
        "structure_id": s.structure_id,
        "service_id": s.service_id,
        "kind": s.kind,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "commune": s.commune.code,
        "qpv": _code(s.qpv),
        "place_type": _code(s.place_type),
        "place_label": s.place_label,
        "mediators": sorted(u.pk for u in s.mediators.all()),
        "note": s.note,
    }


def _shifts(request):
    """As on the page « Tournées »: a mediator sees the shifts they are on."""
    require_roles(request, STRUCTURE_ROLES, NOT_FOR_ROLE_LOGBOOK)
    found = Shift.objects.visible_to(request.membership)
    if request.membership.role == Role.MEDIATOR:
        found = found.filter(mediators=request.user)
    return (
        found.select_related("commune", "qpv", "place_type")
        .defer(*_outlines("commune", "qpv"))
        .prefetch_related(Prefetch("mediators", queryset=User.objects.only("pk")))
        .order_by("starts_at", "pk")
    )


@logbook.get(
    "/tournees/",
    response={200: schemas.Page[schemas.ShiftOut], **ERRORS},
    url_name="shift_list",
)
def shift_list(request, query: Query[schemas.ShiftQuery]):
    """Les tournées et permanences (commençant dans la période), par ordre de début."""
    found = _shifts(request)
    low, high = _local_bounds(query.start, query.end)
    if low:
        found = found.filter(starts_at__gte=low)
    if high:
        found = found.filter(starts_at__lt=high)
    if query.service:
        found = found.filter(service_id=query.service)
    found = _in_place(found, query)
    if query.kind:
        found = found.filter(kind=query.kind)
    return _page(found, query, _shift)


@logbook.get(
    "/tournees/{shift_id}/",
    response={200: schemas.ShiftOut, **DETAIL_ERRORS},
    url_name="shift_detail",
)
def shift_detail(request, shift_id: uuid.UUID):
    return _shift(get_object_or_404(_shifts(request), pk=shift_id))


def _shift_form(request, data: dict):
    return _valid(api_forms.bind(ShiftForm, data, structure=request.membership.structure))


@logbook.post(
    "/tournees/",
    response={201: schemas.ShiftOut, **ERRORS},
    url_name="shift_create",
    auth=WRITE,
)
def shift_create(request, payload: schemas.ShiftIn):
    """Planifier une tournée ou une permanence (coordination)."""
    require_roles(request, (Role.COORDINATOR,), NOT_FOR_ROLE_SHIFT_WRITE)
    form = _shift_form(request, _body(payload))
    created = logbook_services.shift_create(actor=request.membership, data=form.shift_data())
    return Status(201, _shift(get_object_or_404(_shifts(request), pk=created.pk)))


@logbook.patch(
    "/tournees/{shift_id}/",
    response={200: schemas.ShiftOut, **DETAIL_ERRORS},
    url_name="shift_update",
    auth=WRITE,
)
def shift_update(request, shift_id: uuid.UUID, payload: schemas.ShiftPatch):
    """Modifier une tournée (coordination) : les champs envoyés remplacent les anciens."""
    shift = get_object_or_404(_shifts(request), pk=shift_id)
    require_roles(request, (Role.COORDINATOR,), NOT_FOR_ROLE_SHIFT_WRITE)
    current = _shift(shift)
    local = timezone.localtime
    current.update(
        service=str(shift.service_id),
        starts_at=local(shift.starts_at).strftime("%Y-%m-%dT%H:%M"),
        ends_at=local(shift.ends_at).strftime("%Y-%m-%dT%H:%M"),
    )
    data = {name: current.get(name) for name in schemas.ShiftPatch.model_fields}
    data.update(_body(payload, partial=True))
    form = _shift_form(request, data)
    logbook_services.shift_update(actor=request.membership, shift=shift, data=form.shift_data())
    return _shift(get_object_or_404(_shifts(request), pk=shift_id))


# --- jobs -----------------------------------------------------------------------------------

jobs = Router(tags=["Emplois"])

NOT_FOR_ROLE_JOBS = (
    "Les emplois sont accessibles par l'API à la coordination de la structure employeuse "
    "(les pages montrent le reste)."
)


def _require_coordinator(request) -> None:
    require_roles(request, (Role.COORDINATOR,), NOT_FOR_ROLE_JOBS)


def _active_between(found, start, end, *, ends="ends_on"):
    """Records running at some point of [start, end] (an open end runs on)."""
    _check_order(start, end)
    if end:
        found = found.filter(starts_on__lte=end)
    if start:
        found = found.filter(Q(**{f"{ends}__isnull": True}) | Q(**{f"{ends}__gte": start}))
    return found


def _post(p: Post) -> dict:
    return {
        "id": p.pk,
        "structure_id": p.structure_id,
        "service_id": p.service_id,
        "title": p.title,
        "rome_code": p.rome_code,
        "fte": float(p.fte),
        "status": p.status,
        "shares": [
            {"structure_id": s.beneficiary_id, "share": float(s.share)} for s in p.shares.all()
        ],
        "created_at": p.created_at,
    }


def _posts(request):
    _require_coordinator(request)
    return (
        Post.objects.visible_to(request.membership)
        .prefetch_related("shares")
        .order_by("title", "created_at", "pk")
    )


@jobs.get(
    "/emplois/postes/",
    response={200: schemas.Page[schemas.PostOut], **ERRORS},
    url_name="post_list",
)
def post_list(request, query: Query[schemas.PostQuery]):
    """Les postes de la structure (et ceux mutualisés dont elle bénéficie)."""
    found = _posts(request)
    if query.service:
        found = found.filter(service_id=query.service)
    if query.status:
        found = found.filter(status=query.status)
    return _page(found, query, _post)


@jobs.get(
    "/emplois/postes/{post_id}/",
    response={200: schemas.PostOut, **DETAIL_ERRORS},
    url_name="post_detail",
)
def post_detail(request, post_id: uuid.UUID):
    return _post(get_object_or_404(_posts(request), pk=post_id))


def _contract(c: Contract) -> dict:
    return {
        "id": c.pk,
        "post_id": c.post_id,
        "mediator_id": c.mediator_id,
        "contract_type": c.contract_type.code,
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "fte": float(c.fte),
        "agreement_starts_on": c.agreement_starts_on,
        "agreement_ends_on": c.agreement_ends_on,
        "end_reason": c.end_reason,
        "exit_outcome": c.exit_outcome,
    }


@jobs.get(
    "/emplois/contrats/",
    response={200: schemas.Page[schemas.ContractOut], **ERRORS},
    url_name="contract_list",
)
def contract_list(request, query: Query[schemas.ContractQuery]):
    """Les contrats de la structure, sans le nom des personnes (`mediator_id` est un
    identifiant opaque), en cours dans la période."""
    _require_coordinator(request)
    found = Contract.objects.visible_to(request.membership).select_related("contract_type")
    found = _active_between(found, query.start, query.end)
    if query.post:
        found = found.filter(post_id=query.post)
    return _page(found.order_by("-starts_on", "pk"), query, _contract)


def _funding(f: Funding) -> dict:
    return {
        "id": f.pk,
        "holder_id": f.holder_id,
        "funder": _org(f.funder),
        "program": f.program.code,
        "amount": float(f.amount),
        "starts_on": f.starts_on,
        "ends_on": f.ends_on,
        "post_id": f.post_id,
        "service_id": f.service_id,
        "structure_id": f.structure_id,
        "stage": f.stage.code,
        "share": _decimal(f.share),
    }


@jobs.get(
    "/emplois/financements/",
    response={200: schemas.Page[schemas.FundingOut], **ERRORS},
    url_name="funding_list",
)
def funding_list(request, query: Query[schemas.JobsPeriodQuery]):
    """Les lignes de financement de la structure (en cours dans la période)."""
    _require_coordinator(request)
    found = Funding.objects.visible_to(request.membership).select_related(
        "funder", "program", "stage"
    )
    found = _active_between(found, query.start, query.end)
    return _page(found.order_by("-ends_on", "-starts_on", "pk"), query, _funding)


def _training(t: Training) -> dict:
    return {
        "id": t.pk,
        "mediator_id": t.mediator_id,
        "kind": t.kind,
        "title": t.title,
        "body": t.body,
        "hours": float(t.hours),
        "starts_on": t.starts_on,
        "ends_on": t.ends_on,
        "qualification_obtained": t.qualification_obtained,
    }


@jobs.get(
    "/emplois/formations/",
    response={200: schemas.Page[schemas.TrainingOut], **ERRORS},
    url_name="training_list",
)
def training_list(request, query: Query[schemas.JobsPeriodQuery]):
    """Les formations des personnes employées (sans leur nom), en cours dans la période."""
    _require_coordinator(request)
    found = _active_between(Training.objects.visible_to(request.membership), query.start, query.end)
    return _page(found.order_by("-starts_on", "pk"), query, _training)


# --- indicators -----------------------------------------------------------------------------

indicators = Router(tags=["Indicateurs"])

_NUMBER = re.compile(r"^(-?\d{1,3}(?:\u202f\d{3})*(?:,\d+)?)(?:\u00a0%)?$")


def _value(shown: str):
    """The number a displayed figure reads as ("1 234" → 1234, "48,8 %" → 48.8); None
    for what is not a number: hidden ("< 5", "secret", "nd"), "—", "à venir"."""
    found = _NUMBER.match(shown or "")
    if found is None:
        return None
    text = found.group(1).replace("\u202f", "")
    return float(text.replace(",", ".")) if "," in text else int(text)


def _suppressed(shown: str) -> bool:
    return (shown or "").startswith("<") or shown in (suppression.MASKED, suppression.NOT_PUBLISHED)


def _period(query: schemas.IndicatorQuery) -> dashboards.Period:
    """Whole months: the cubes count by month. Default: the current year; with one bound
    only, twelve months from (or up to) it."""
    start = query.start.replace(day=1) if query.start else None
    end = query.end.replace(day=1) if query.end else None
    if start is None and end is None:
        return dashboards.Period.containing("annee", timezone.localdate())
    start = start or engine.add_months(end, -11)
    end = end or engine.add_months(start, 11)
    if end < start:
        raise ApiError.invalid("end", "La fin de la période précède son début.")
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months > dashboards.MAX_CUSTOM_MONTHS:
        raise ApiError.invalid(
            "end", f"Une période compte au plus {dashboards.MAX_CUSTOM_MONTHS} mois."
        )
    for kind in ("mois", "trimestre", "semestre", "annee"):
        candidate = dashboards.Period.containing(kind, start)
        if (candidate.start, candidate.end) == (start, end):
            return candidate
    return dashboards.Period("perso", start, end)


def _choices(query: schemas.IndicatorQuery) -> dict:
    """What narrows the perimeter, checked: an unknown code or place is an error, never a
    silently ignored filter."""
    territory = _asked_place(query)
    for field, model, code in (
        ("domain", Domain, query.domain),
        ("activity_type", ActivityType, query.activity_type),
    ):
        if code and not model.objects.filter(code=code).exists():
            raise ApiError.invalid(field, f"Code inconnu : « {code} ».")
    return {
        "territory": territory,
        "services": [query.service] if query.service else None,
        "domains": [query.domain] if query.domain else (),
        "activities": [query.activity_type] if query.activity_type else (),
    }


def _row(row) -> dict:
    return {
        "key": str(row.key),
        "label": str(row.label),
        "shown": str(row.shown),
        "value": _value(str(row.shown)),
        "suppressed": _suppressed(str(row.shown)),
        "previous": _text(row.previous),
        "extra": [str(cell) for cell in row.extra],
    }


def _text(value) -> str | None:
    """Dashboards hold some labels as lazy translations: the schema wants plain text."""
    return None if value is None else str(value)


@indicators.get(
    "/indicateurs/", response={200: schemas.IndicatorsOut, **ERRORS}, url_name="indicators"
)
def indicator_board(request, query: Query[schemas.IndicatorQuery]):
    """Les chiffres d'un tableau de bord pour une période et le périmètre du rattachement,
    exactement comme les pages les affichent : pour les financeurs et le pilotage, les
    petits effectifs sont masqués (« < 5 », « secret ») et `value` est alors null."""
    require_roles(request, DASHBOARD_ROLES, NOT_FOR_ROLE_INDICATORS)
    period = _period(query)
    try:
        perimeter = engine.perimeter_for(
            request.membership, start=period.start, end=period.end, **_choices(query)
        )
    except engine.NoDashboard:
        raise ApiError(403, NOT_FOR_ROLE_INDICATORS) from None
    board = dashboards.build(query.board, perimeter, compare=query.compare, period=period)
    return {
        "board": board.code,
        "title": str(board.title),
        "period": {"start": period.start, "end": period.end, "label": str(period.label)},
        "protected": board.protected,
        "legend": str(board.legend),
        "generated_at": board.generated_at,
        "figures": [
            {
                "code": f.code,
                "label": str(f.label),
                "unit": str(f.unit),
                "shown": str(f.shown),
                "value": _value(str(f.shown)),
                "suppressed": _suppressed(str(f.shown)),
                "previous": _text(f.previous),
                "change": _text(f.change),
            }
            for f in board.figures
        ],
        "tables": [
            {
                "code": str(chart.code),
                "title": str(chart.title),
                "kind": chart.kind,
                "unit": str(chart.unit),
                "columns": [str(c) for c in chart.columns],
                "total": _text(chart.total),
                "previous_total": _text(chart.previous_total),
                "description": str(chart.description),
                "rows": [_row(row) for row in chart.rows],
            }
            for chart in board.all_charts()
        ],
        "notes": [str(note) for note in board.notes],
    }


for _router in (account, reference, structures, logbook, followup, records, jobs, indicators):
    api.add_router("", _router)


def _home(request, **kwargs):
    """/api/ itself: the documentation (Ninja's own root answers a bare 404)."""
    return redirect("api:openapi-view")


# Included by config/urls.py as `path("api/", include("lien.exchange.api"))`. Ninja's root
# keeps its name (Ninja reverses it to prefix the paths of the OpenAPI document).
app_name = "api"
urlpatterns = [
    *(
        path(
            str(p.pattern),
            _home if p.name == "api-root" else errors.json_method_not_allowed(p.callback),
            name=p.name,
        )
        for p in api.urls[0]
    ),
    path("docs/assets/<str:name>", views.docs_asset, name="docs_asset"),
    # Last: any other address under /api/ is a JSON 404 (never the site's HTML page).
    re_path(r"^", errors.json_not_found, name="not_found"),
]
