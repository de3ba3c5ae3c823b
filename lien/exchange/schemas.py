"""What the API reads and writes, as documented in /api/openapi.json.

Outputs are built field by field in `api.py` (never a model dumped whole), so a field
added to a model never reaches the API unnoticed: names and contact details of people
(`Situation.names`, `.contact`, `Referral.callback`) are in no schema here.
"""

import datetime
import re
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lien.referentiel.models import REFERENCE_MODELS

T = TypeVar("T")

#: Dates accepted in filters: wide enough for any real record, narrow enough that a day
#: more or less never overflows.
MIN_DATE = datetime.date(2000, 1, 1)
MAX_DATE = datetime.date(2100, 12, 31)
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

_INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,59}$")


def _insee(value: str) -> str:
    value = value.strip().upper()
    if not _INSEE.match(value):
        raise ValueError("Code INSEE de commune attendu (5 caractères, par exemple 59512).")
    return value


def _code(value: str) -> str:
    value = value.strip()
    if not _CODE.match(value):
        raise ValueError("Code attendu (lettres, chiffres, tirets ; 60 caractères au plus).")
    return value


InseeCode = Annotated[str, Field(max_length=5), AfterValidator(_insee)]
Code = Annotated[str, Field(max_length=60), AfterValidator(_code)]
FilterDate = Annotated[datetime.date, Field(ge=MIN_DATE, le=MAX_DATE)]
Vocabulary = Literal[tuple(REFERENCE_MODELS)]  # type: ignore[valid-type]


# --- errors and pages -------------------------------------------------------------------


class FieldError(Schema):
    field: str | None = Field(
        None, description="Paramètre ou champ en cause (notation pointée) ; null : la requête."
    )
    message: str


class ErrorOut(Schema):
    detail: str = Field(description="Ce qui ne va pas, en français.")
    errors: list[FieldError] = Field(default_factory=list)


class Page(BaseModel, Generic[T]):
    count: int = Field(description="Nombre total de résultats.")
    page: int
    page_size: int
    pages: int = Field(description="Nombre de pages (au moins 1).")
    results: list[T]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Numéro de page, à partir de 1.")
    page_size: int = Field(
        DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Résultats par page ({MAX_PAGE_SIZE} au plus).",
    )


class PeriodQuery(PageQuery):
    start: FilterDate | None = Field(None, description="Depuis ce jour inclus (AAAA-MM-JJ).")
    end: FilterDate | None = Field(None, description="Jusqu'à ce jour inclus (AAAA-MM-JJ).")
    service: uuid.UUID | None = Field(None, description="Identifiant d'un dispositif.")
    commune: InseeCode | None = Field(None, description="Code INSEE d'une commune.")


# --- who am I -----------------------------------------------------------------------------


class MeUser(Schema):
    id: int
    email: str
    full_name: str


class MeMembership(Schema):
    id: uuid.UUID
    role: str
    role_label: str
    scope_label: str
    structure_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    territory_id: int | None


class MeToken(Schema):
    id: uuid.UUID
    name: str
    key_prefix: str
    scope: Literal["read", "write"]
    expires_at: datetime.datetime | None


class MeOut(Schema):
    user: MeUser
    membership: MeMembership
    token: MeToken


# --- référentiel and territories -----------------------------------------------------------


class VocabularyOut(Schema):
    key: str
    label: str
    count: int
    url: str


class ReferenceItemOut(Schema):
    code: str
    label: str
    description: str
    position: int
    is_active: bool
    entry_fields: list[str] | None = Field(
        None, description="Activités : champs de saisie proposés pour cette activité."
    )
    family: str | None = Field(None, description="Issues : famille comptée par les indicateurs.")
    is_aided: bool | None = Field(None, description="Types de contrat : contrat aidé.")


class VocabularyQuery(PageQuery):
    active: bool | None = Field(None, description="Seulement les éléments actifs (ou inactifs).")


class TerritoryOut(Schema):
    id: int
    level: str
    code: str
    name: str
    parent_id: int | None
    path: str
    population: int | None


class TerritoryQuery(PageQuery):
    level: Literal["region", "departement", "epci", "commune", "qpv"] | None = None
    parent: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="Identifiant du territoire parent (rattachement principal).",
    )
    within: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="Tout ce qui est contenu dans ce territoire (lui compris).",
    )
    code: Code | None = None


# --- structures and services ----------------------------------------------------------------


class StructureOut(Schema):
    id: uuid.UUID
    name: str
    employer_type: str
    siret: str
    network: str
    commune: str
    address: str
    afnor_status: str
    afnor_certified_on: datetime.date | None
    afnor_next_audit_on: datetime.date | None
    is_active: bool
    created_at: datetime.datetime


class StructureQuery(PageQuery):
    commune: InseeCode | None = Field(None, description="Code INSEE de la commune du siège.")


class TerritoryRef(Schema):
    id: int
    level: str
    code: str
    name: str


class OrganisationRef(Schema):
    id: uuid.UUID
    name: str


class ServiceOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    name: str
    domains: list[str]
    territories: list[TerritoryRef]
    commissioning_bodies: list[OrganisationRef]
    objectives: str
    stage: str
    starts_on: datetime.date
    ends_on: datetime.date | None
    is_active: bool


class ServiceQuery(PageQuery):
    structure: uuid.UUID | None = None
    start: FilterDate | None = Field(None, description="Actifs à partir de ce jour.")
    end: FilterDate | None = Field(None, description="Actifs jusqu'à ce jour.")
    commune: InseeCode | None = Field(None, description="Intervenant dans cette commune.")


# --- interventions ------------------------------------------------------------------------


class AccessRequestOut(Schema):
    theme: str
    count: int


class InterventionOut(Schema):
    id: uuid.UUID
    version: int
    structure_id: uuid.UUID
    service_id: uuid.UUID
    shift_id: uuid.UUID | None
    author_id: int
    mediators: list[int] = Field(description="Comptes des médiateur·rices (l'auteur compris).")
    started_at: datetime.datetime
    duration_minutes: int
    commune: str
    qpv: str | None
    place_type: str | None
    activity_type: str
    domain: str
    situation_category: str | None
    origin: str
    timing: str
    form: str
    people_met: int
    outcome: str | None
    emergency_handoff: str
    note: str
    access_requests: list[AccessRequestOut]
    source: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class InterventionQuery(PeriodQuery):
    activity_type: Code | None = None
    domain: Code | None = None
    mine: bool = Field(False, description="Seulement les miennes (auteur ou binôme).")


class AccessRequestIn(Schema):
    model_config = ConfigDict(extra="forbid")

    theme: Code
    count: int = Field(1, ge=-(2**31), le=2**31)


class InterventionIn(Schema):
    """One intervention, with the same fields and the same rules as the entry page and the
    offline sync (`InterventionForm`): codes for vocabularies and territories."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(
        None,
        description="Identifiant choisi par le client (facultatif) : un envoi répété "
        "avec le même identifiant ne crée rien deux fois (réponse 409).",
    )
    service: uuid.UUID = Field(description="Dispositif de votre structure.")
    started_at: str = Field(
        max_length=40,
        description="Date et heure ISO 8601 (AAAA-MM-JJTHH:MM, heure de Paris sans fuseau).",
    )
    duration_minutes: int | None = Field(None, ge=-(2**31), le=2**31)
    commune: str = Field(max_length=20, description="Code INSEE de la commune.")
    qpv: str | None = Field(None, max_length=20, description="Code du QPV, le cas échéant.")
    place_type: str | None = Field(None, max_length=60)
    activity_type: str = Field(max_length=60)
    domain: str = Field(max_length=60)
    situation_category: str | None = Field(None, max_length=60)
    origin: str = Field(max_length=20, description="patrol, resident, partner, commissioner.")
    timing: str | None = Field(None, max_length=20)
    form: str | None = Field(None, max_length=20)
    people_met: int | None = Field(None, ge=-(2**31), le=2**31)
    outcome: str | None = Field(None, max_length=60)
    emergency_handoff: str | None = Field(None, max_length=20)
    mediators: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(
        default_factory=list, max_length=20, description="Comptes du binôme (l'auteur en plus)."
    )
    shift: uuid.UUID | None = None
    note: str | None = Field(None, max_length=2000)
    note_confirmed: bool = Field(
        False, description="Garder une remarque signalée par le contrôle des textes libres."
    )
    access_requests: list[AccessRequestIn] = Field(default_factory=list, max_length=100)


class SyncIn(Schema):
    entries: list[Any] = Field(
        description="Jusqu'à 1 000 entrées {id, base_version, data} ; voir la synchronisation "
        "hors ligne. Chaque entrée reçoit sa propre réponse."
    )


class SyncResultOut(Schema):
    id: str
    status: Literal["created", "updated", "already_synced", "conflict", "invalid", "refused"]
    version: int | None = None
    errors: dict[str, list[str]] | None = None
    message: str | None = None
    server: dict[str, Any] | None = None


class SyncOut(Schema):
    results: list[SyncResultOut]


# --- follow-up ----------------------------------------------------------------------------


class SituationOut(Schema):
    """A follow-up, pseudonymous: never the names or contact details of the people."""

    id: uuid.UUID
    reference: str
    structure_id: uuid.UUID
    service_id: uuid.UUID
    kind: str
    status: str
    initials: str = Field(description="Initiales ou pseudonyme.")
    category: str | None
    domain: str
    commune: str
    qpv: str | None
    summary: str
    is_nominative: bool
    consent_on: datetime.date | None
    consent_scope: str
    consent_withdrawn_on: datetime.date | None
    opened_on: datetime.date
    closed_on: datetime.date | None
    closing_outcome: str | None
    purge_on: datetime.date
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SituationQuery(PeriodQuery):
    status: Literal["open", "closed"] | None = None


class ReferralOut(Schema):
    """A referral, with the person's pseudonym only (no callback details)."""

    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    situation_id: uuid.UUID | None
    intervention_id: uuid.UUID | None
    partner: OrganisationRef
    theme: str
    commune: str
    person: str = Field(description="Initiales ou pseudonyme.")
    request: str
    status: str
    refusal_reason: str
    result: str
    result_note: str
    sent_at: datetime.datetime
    seen_at: datetime.datetime | None
    answered_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    expires_on: datetime.date


class ReferralQuery(PeriodQuery):
    status: Literal["sent", "seen", "accepted", "refused", "done", "expired"] | None = None


# --- indicators ---------------------------------------------------------------------------


class IndicatorQuery(Schema):
    start: FilterDate | None = Field(
        None, description="Premier mois compté (le mois de ce jour). Défaut : janvier."
    )
    end: FilterDate | None = Field(
        None, description="Dernier mois compté (le mois de ce jour). Défaut : décembre."
    )
    board: Literal["overview", "activity", "results", "territories", "indicators"] = Field(
        "overview", description="Tableau de bord calculé (les mêmes que les pages)."
    )
    service: uuid.UUID | None = None
    commune: InseeCode | None = None
    territory: int | None = Field(None, ge=1, le=2**62, description="Territoire (identifiant).")
    domain: Code | None = None
    activity_type: Code | None = None
    compare: bool = Field(False, description="Ajouter la période précédente.")


class FigureOut(Schema):
    code: str
    label: str
    unit: str
    shown: str = Field(description="Tel qu'affiché : « 1 234 », « < 5 », « secret », « 48,8 % ».")
    value: int | float | None = Field(description="Nombre lu dans `shown` ; null s'il est masqué.")
    suppressed: bool = Field(description="Masqué par le secret statistique.")
    previous: str | None = None
    change: str | None = None


class IndicatorRowOut(Schema):
    key: str
    label: str
    shown: str
    value: int | float | None
    suppressed: bool
    previous: str | None = None
    extra: list[str] = Field(default_factory=list)


class IndicatorTableOut(Schema):
    code: str
    title: str
    kind: str
    unit: str
    columns: list[str]
    total: str | None
    previous_total: str | None
    description: str
    rows: list[IndicatorRowOut]


class PeriodOut(Schema):
    start: datetime.date
    end: datetime.date
    label: str


class IndicatorsOut(Schema):
    board: str
    title: str
    period: PeriodOut
    protected: bool = Field(description="Petits effectifs masqués (financeurs, pilotage).")
    legend: str
    generated_at: datetime.datetime
    figures: list[FigureOut]
    tables: list[IndicatorTableOut]
    notes: list[str]
