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

from django.db import IntegrityError
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Status
from ninja.openapi.docs import Swagger

from lien.core import suppression
from lien.core.models import STRUCTURE_ROLES, Role
from lien.exchange import errors, schemas, views
from lien.exchange.auth import TokenAuth, require_roles
from lien.exchange.errors import ApiError
from lien.followup.models import Referral, Situation
from lien.indicators import dashboards, engine
from lien.indicators.views import DASHBOARD_ROLES
from lien.logbook import queries as logbook_queries
from lien.logbook import services as logbook_services
from lien.logbook.forms import EntryLookups, InterventionForm
from lien.logbook.models import Intervention, Source
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
401 jeton absent, inconnu, révoqué ou expiré ; 403 rôle ou portée insuffisants ; 404 objet
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
ERRORS = {401: schemas.ErrorOut, 403: schemas.ErrorOut, 422: schemas.ErrorOut}
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
    if query.commune:
        found = found.filter(commune=_commune(query.commune))
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
    if query.commune:
        commune = _commune(query.commune)
        found = found.filter(
            pk__in=Service.objects.filter(territories__descendant_links__descendant=commune).values(
                "pk"
            )
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
    if query.commune:
        found = found.filter(commune=_commune(query.commune))
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
    if query.commune:
        found = found.filter(commune=_commune(query.commune))
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
    if query.commune:
        found = found.filter(commune=_commune(query.commune))
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
    if query.commune and query.territory:
        raise ApiError.invalid("territory", "Indiquez une commune ou un territoire, pas les deux.")
    territory = None
    if query.commune:
        territory = _commune(query.commune)
    elif query.territory:
        territory = Territory.objects.defer("geometry").filter(pk=query.territory).first()
        if territory is None:
            raise ApiError.invalid("territory", f"Territoire inconnu : {query.territory}.")
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


for _router in (account, reference, structures, logbook, followup, indicators):
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
]
