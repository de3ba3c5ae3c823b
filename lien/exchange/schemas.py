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

from lien.followup.models import ReportCategory
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
ReportCategoryCode = Literal[tuple(ReportCategory.values)]  # type: ignore[valid-type]


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
    territory: int | None = Field(
        None, ge=1, le=2**62,
        description="Identifiant d'un territoire de tout niveau (/api/territoires/) : région, "
        "département, EPCI, commune ou QPV.",
    )  # fmt: skip


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
    territory: int | None = Field(
        None, ge=1, le=2**62,
        description="Siège dans ce territoire (/api/territoires/) : région, "
        "département, EPCI ou commune (celle du siège).",
    )  # fmt: skip


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
    territory: int | None = Field(
        None, ge=1, le=2**62,
        description="Intervenant dans ce territoire ou une partie (/api/territoires/) : région, "
        "département, EPCI, commune ou QPV.",
    )  # fmt: skip


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


# --- writes of the follow-up, shared types ---------------------------------------------------


def _printable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Caractère nul interdit.")
    return value


#: Free text of a write: the form checks its length and content; NUL is refused here
#: (PostgreSQL stores no NUL character).
Text = Annotated[str, AfterValidator(_printable)]
Id = Annotated[int, Field(ge=1, le=2**62)]


def text(max_length: int, description: str | None = None, default: Any = ...) -> Any:
    return Field(default, max_length=max_length, description=description)


class WriteIn(Schema):
    """A body of the API's writes: unknown fields are refused (a typo never passes)."""

    model_config = ConfigDict(extra="forbid")


class TextConfirmIn(WriteIn):
    text_confirmed: bool = Field(
        False, description="Garder un texte libre signalé par le contrôle des textes libres."
    )


# --- situations (writes) --------------------------------------------------------------------


class SituationIn(TextConfirmIn):
    """A pseudonymous follow-up, with the rules of the page « Ouvrir un suivi ». A
    nominative follow-up (names, contact details) is opened on the page only."""

    service: uuid.UUID = Field(description="Dispositif de votre structure.")
    kind: Text = text(20, "deferred (médiation différée) ou rights (accès aux droits).")
    initials: Text = text(20, "Initiales ou pseudonyme, jamais un nom.")
    domain: Text = text(60, "Code du domaine.")
    category: Text | None = text(60, "Code de la situation.", None)
    commune: Text = text(20, "Code INSEE de la commune.")
    qpv: Text | None = text(20, "Code du QPV, le cas échéant.", None)
    summary: Text = text(500, "Objet du suivi, sans nom ni donnée sensible.")
    parties: list[Annotated[Text, Field(max_length=80)]] = Field(
        default_factory=list, max_length=12, description="Pseudonymes ou fonctions des parties."
    )


class SituationCloseIn(WriteIn):
    outcome: Text = text(60, "Code de l'issue.")
    closed_on: FilterDate | None = Field(None, description="Défaut : aujourd'hui.")


class NextStepOut(Schema):
    """A next step of a follow-up, entrusted to a member of the structure."""

    id: uuid.UUID
    text: str
    due_on: datetime.date
    assignee_id: int = Field(description="Compte de la personne à qui l'étape est confiée.")
    done_on: datetime.date | None


class NextStepIn(TextConfirmIn):
    text: Text = text(200, "L'étape, sans nom ni donnée sensible.")
    due_on: FilterDate
    assignee: Id = Field(description="Compte d'un·e membre de la structure (médiation).")


class AgreementOut(Schema):
    """An agreement reached between the parties, and whether it held when checked."""

    id: uuid.UUID
    text: str
    agreed_on: datetime.date
    review_on: datetime.date
    held: bool | None = Field(description="null tant que l'accord n'a pas été vérifié.")
    reviewed_on: datetime.date | None


class AgreementIn(TextConfirmIn):
    text: Text = text(300, "L'accord, sans nom ni donnée sensible.")
    agreed_on: FilterDate
    review_on: FilterDate = Field(description="Date à laquelle vérifier s'il a tenu.")


class MeetingIn(TextConfirmIn):
    """A meeting of the follow-up (shuttle, round table, interview), logged in the logbook
    as an intervention at the follow-up's place, domain and category."""

    started_at: Text = text(16, "Date et heure locales, AAAA-MM-JJTHH:MM.")
    duration_minutes: int = Field(ge=-(2**31), le=2**31, description="1 à 600 minutes.")
    form: Literal["shuttle", "round_table", "individual"]
    people_met: int = Field(ge=-(2**31), le=2**31, description="Personnes présentes, 1 à 500.")
    outcome: Text | None = text(60, "Code de l'issue de la rencontre.", None)
    note: Text | None = text(280, "Remarque, sans nom.", None)


class AgreementReviewIn(WriteIn):
    held: bool = Field(description="L'accord a-t-il tenu ?")


# --- referrals (writes) ---------------------------------------------------------------------


class ReferralIn(TextConfirmIn):
    """A referral to a partner, with the rules of the page « Orienter vers un partenaire ».
    How to call the person back (with their consent) is given on the page only: no
    contact detail goes through the API, either way."""

    service: uuid.UUID
    partner: uuid.UUID = Field(description="Organisme partenaire (actif).")
    theme: Text = text(60, "Code du thème de la demande.")
    commune: Text = text(20, "Code INSEE de la commune de la personne.")
    person: Text = text(40, "Initiales ou pseudonyme : le partenaire ne voit que cela.")
    request: Text = text(500, "Ce dont le partenaire a besoin, sans donnée sensible.")
    situation: uuid.UUID | None = Field(None, description="Suivi d'origine.")
    intervention: uuid.UUID | None = Field(None, description="Intervention d'origine.")


class ReferralAnswerIn(WriteIn):
    """The partner's answer: accepted, refused (with a reason) or done (with a result)."""

    status: Literal["accepted", "refused", "done"]
    refusal_reason: Text | None = text(300, None, None)
    result: Literal["solved", "partly", "not_solved", "no_show"] | None = None
    result_note: Text | None = text(300, None, None)


# --- dysfunction reports --------------------------------------------------------------------


class ReportOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    category: str
    commune: str
    qpv: str | None
    place_type: str | None
    address: str
    latitude: float | None
    longitude: float | None
    description: str
    has_photo: bool = Field(description="Une photo est jointe (visible sur la page).")
    routed_to: OrganisationRef | None
    status: str
    response: str
    duplicate_of: uuid.UUID | None
    reported_at: datetime.datetime
    acknowledged_at: datetime.datetime | None
    closed_at: datetime.datetime | None


class ReportQuery(PeriodQuery):
    status: Literal["unrouted", "sent", "acknowledged", "resolved", "rejected"] | None = None
    category: ReportCategoryCode | None = None


class ReportIn(TextConfirmIn):
    """A dysfunction report, with the rules of the page « Signaler un dysfonctionnement »
    (the photo is added on the page)."""

    service: uuid.UUID
    category: Text = text(12, "Catégorie : " + ", ".join(ReportCategory.values) + ".")
    commune: Text = text(20, "Code INSEE de la commune.")
    qpv: Text | None = text(20, None, None)
    place_type: Text | None = text(60, "Code du type de lieu.", None)
    address: Text | None = text(200, "Adresse ou repère.", None)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    description: Text = text(500)
    not_duplicate: bool = Field(
        False, description="Des signalements semblables sont ouverts : enregistrer quand même."
    )


class ReportRouteIn(WriteIn):
    organisation: uuid.UUID = Field(description="Organisme destinataire (coordination).")


class ReportAnswerIn(WriteIn):
    status: Literal["acknowledged", "resolved", "rejected"]
    response: Text | None = text(300, "Commentaire (obligatoire pour un rejet).", None)


# --- social watch ---------------------------------------------------------------------------


class ObservationOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    sector: TerritoryRef
    observed_on: datetime.date
    level: str
    categories: list[str]
    text: str
    shared_with: list[OrganisationRef]
    created_at: datetime.datetime


class ObservationQuery(PeriodQuery):
    level: Literal["info", "vigilance", "alerte"] | None = None


class ObservationIn(TextConfirmIn):
    service: uuid.UUID
    sector: Text = text(20, "Code de la commune ou du QPV observé (où la structure agit).")
    observed_on: FilterDate
    level: Text = text(10, "info, vigilance ou alerte.")
    categories: list[Annotated[Text, Field(max_length=60)]] = Field(
        default_factory=list, max_length=50, description="Codes des situations observées."
    )
    text: Text = text(600)
    shared_with: list[uuid.UUID] = Field(default_factory=list, max_length=50)


# --- collective actions ---------------------------------------------------------------------


class CollectiveActionOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    kind: str
    title: str
    held_on: datetime.date
    duration_minutes: int
    commune: str
    qpv: str | None
    place: str
    partners: list[OrganisationRef]
    residents: int
    young_people: int
    professionals: int
    institutions: int
    notes: str
    created_at: datetime.datetime


class CollectiveActionQuery(PeriodQuery):
    kind: Literal["awareness", "consultation", "project", "cultural"] | None = None


Count = Annotated[int, Field(ge=-(2**31), le=2**31)]


class CollectiveActionIn(TextConfirmIn):
    service: uuid.UUID
    kind: Text = text(12, "awareness, consultation, project ou cultural.")
    title: Text = text(150)
    held_on: FilterDate
    duration_minutes: Count
    commune: Text = text(20)
    qpv: Text | None = text(20, None, None)
    place: Text | None = text(150, None, None)
    residents: Count = 0
    young_people: Count = 0
    professionals: Count = 0
    institutions: Count = 0
    partners: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    notes: Text | None = text(600, None, None)


class CollectiveActionPatch(TextConfirmIn):
    """The fields to change; the others keep their value."""

    service: uuid.UUID | None = None
    kind: Text | None = text(12, None, None)
    title: Text | None = text(150, None, None)
    held_on: FilterDate | None = None
    duration_minutes: Count | None = None
    commune: Text | None = text(20, None, None)
    qpv: Text | None = text(20, None, None)
    place: Text | None = text(150, None, None)
    residents: Count | None = None
    young_people: Count | None = None
    professionals: Count | None = None
    institutions: Count | None = None
    partners: list[uuid.UUID] | None = Field(None, max_length=50)
    notes: Text | None = text(600, None, None)


# --- shifts ---------------------------------------------------------------------------------


class ShiftOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    kind: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    commune: str
    qpv: str | None
    place_type: str | None
    place_label: str
    mediators: list[int]
    note: str


class ShiftQuery(PeriodQuery):
    kind: Literal["patrol", "permanence"] | None = None


class ShiftIn(WriteIn):
    """A patrol or permanence, planned by the coordination (page « Tournées »)."""

    kind: Text = text(12, "patrol (tournée) ou permanence.")
    service: uuid.UUID
    starts_at: Text = text(40, "Date et heure ISO 8601 (heure de Paris sans fuseau).")
    ends_at: Text = text(40)
    commune: Text = text(20)
    qpv: Text | None = text(20, None, None)
    place_type: Text | None = text(60, None, None)
    place_label: Text | None = text(150, None, None)
    mediators: list[Id] = Field(max_length=20, description="Comptes des médiateur·rices.")
    note: Text | None = text(280, None, None)


class ShiftPatch(WriteIn):
    kind: Text | None = text(12, None, None)
    service: uuid.UUID | None = None
    starts_at: Text | None = text(40, None, None)
    ends_at: Text | None = text(40, None, None)
    commune: Text | None = text(20, None, None)
    qpv: Text | None = text(20, None, None)
    place_type: Text | None = text(60, None, None)
    place_label: Text | None = text(150, None, None)
    mediators: list[Id] | None = Field(None, max_length=20)
    note: Text | None = text(280, None, None)


# --- jobs (coordination only; no personal data of the people employed) ------------------------


class PostShareOut(Schema):
    structure_id: uuid.UUID
    share: float = Field(description="Part du temps (%).")


class PostOut(Schema):
    id: uuid.UUID
    structure_id: uuid.UUID
    service_id: uuid.UUID
    title: str
    rome_code: str
    fte: float = Field(description="Équivalent temps plein (0,01 à 1).")
    status: str
    shares: list[PostShareOut] = Field(description="Poste mutualisé : parts des bénéficiaires.")
    created_at: datetime.datetime


class PostQuery(PageQuery):
    service: uuid.UUID | None = None
    status: Literal["open", "filled", "frozen", "closed"] | None = None


class ContractOut(Schema):
    """A contract, without the person's name: `mediator_id` is an opaque identifier."""

    id: uuid.UUID
    post_id: uuid.UUID
    mediator_id: uuid.UUID
    contract_type: str
    starts_on: datetime.date
    ends_on: datetime.date | None
    fte: float
    agreement_starts_on: datetime.date | None
    agreement_ends_on: datetime.date | None
    end_reason: str
    exit_outcome: str


class JobsPeriodQuery(PageQuery):
    start: FilterDate | None = Field(None, description="En cours à partir de ce jour.")
    end: FilterDate | None = Field(None, description="En cours jusqu'à ce jour.")


class ContractQuery(JobsPeriodQuery):
    post: uuid.UUID | None = None


class FundingOut(Schema):
    id: uuid.UUID
    holder_id: uuid.UUID
    funder: OrganisationRef
    program: str
    amount: float = Field(description="Montant en euros.")
    starts_on: datetime.date
    ends_on: datetime.date
    post_id: uuid.UUID | None
    service_id: uuid.UUID | None
    structure_id: uuid.UUID | None
    stage: str
    share: float | None


class TrainingOut(Schema):
    id: uuid.UUID
    mediator_id: uuid.UUID
    kind: str
    title: str
    body: str
    hours: float
    starts_on: datetime.date
    ends_on: datetime.date | None
    qualification_obtained: str
