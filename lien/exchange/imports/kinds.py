"""What each kind of import accepts, how a row becomes a record, and how records are written.

An importer is built once per run: it loads its vocabularies and the records it checks
duplicates against, then `build(values)` turns one mapped row into an unsaved record (or
cell errors), `key(record)` gives its natural key (the tuple of every imported value), and
`write(records)` inserts a batch. `finish()` runs once, in the same transaction, at the end.
"""

import datetime
import json
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models.functions import Lower
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.exchange.imports import fields as f
from lien.exchange.imports.fields import CellError, Column
from lien.exchange.models import ImportKind
from lien.indicators import rollups
from lien.jobs.models import Contract, EndReason, ExitOutcome, Mediator, Post, PostStatus, RomeCode
from lien.logbook.models import Form, Handoff, Intervention, Origin, Source, Timing
from lien.referentiel import models as ref
from lien.structures.models import Organisation, OrganisationKind, Service, Structure
from lien.structures.validators import normalise_siret, validate_siret
from lien.territories.models import Level, Territory

Errors = list[tuple[str, str, str]]  # (field, value, reason)


class Importer:
    kind: str = ""
    #: The role that may run this import.
    role: str = Role.COORDINATOR
    columns: list[Column] = []
    #: Noun for the counts ("12 interventions").
    noun: str = ""
    #: Free-text fields screened like the entry pages (names, phone numbers, health…).
    screened_fields: tuple[str, ...] = ()
    batch_size = 2000

    def __init__(self, job):
        self.job = job
        self.structure = job.structure
        self.actor = job.membership
        self.created = 0

    @classmethod
    def column(cls, name: str) -> Column:
        return next(c for c in cls.columns if c.name == name)

    def parse(self, values: dict[str, str]) -> tuple[Any, Errors]:
        """Run `build`, gathering every cell's error rather than stopping at the first."""
        self._errors: Errors = []
        record = self.build(values)
        return (None if self._errors else record), self._errors

    def cell(self, values: dict[str, str], name: str, parser, default=None):
        """The parsed value of one cell, or `default` when it is empty (an error when the
        column is required)."""
        raw = values.get(name)
        if not raw:
            if self.column(name).required:
                self._errors.append((name, "", "valeur obligatoire manquante"))
            return default
        try:
            return parser(raw)
        except CellError as exc:
            self._errors.append((name, raw, str(exc)))
            return default

    def refuse(self, name: str, value: str, reason: str) -> None:
        self._errors.append((name, value, reason))

    # What subclasses provide.
    def build(self, values: dict[str, str]):
        raise NotImplementedError

    def key(self, record) -> tuple:
        return tuple(getattr(record, name) for name in self.key_fields)

    key_fields: tuple[str, ...] = ()

    #: The natural keys already in the database, loaded by `__init__` (or `existing`
    #: overridden, when they are too many to load).
    known: set[tuple] = frozenset()

    def existing(self, records: list) -> set[tuple]:
        """The keys, among `records`', of rows already in the database."""
        return {self.key(r) for r in records} & self.known

    def write(self, records: list) -> None:
        type(records[0]).objects.bulk_create(records)
        self.created += len(records)

    def finish(self) -> None:
        """Called once at the end of a commit, inside its transaction."""


# --- interventions ---------------------------------------------------------------------------


class InterventionImporter(Importer):
    kind = ImportKind.INTERVENTIONS
    noun = "interventions"
    screened_fields = ("note",)
    columns = [
        Column("started_at", "Date", True, "AAAA-MM-JJ ou JJ/MM/AAAA, heure facultative",
               ("date intervention", "date de l intervention", "jour", "date et heure")),
        Column("time", "Heure", False, "HH:MM (minuit si absente)", ("heure de debut",)),
        Column("service", "Dispositif", False,
               "Nom du dispositif ; facultatif si la structure n'en a qu'un", ("service",)),
        Column("duration_minutes", "Durée (minutes)", False, "1 à 720 ; 15 par défaut",
               ("duree", "duree minutes", "duree en minutes", "minutes")),
        Column("commune", "Commune (code INSEE)", True, "Code INSEE, par exemple 59350",
               ("commune", "code insee", "insee", "code commune")),
        Column("qpv", "QPV (code)", False, "Code du quartier, par exemple QN05912M",
               ("qpv", "code qpv", "quartier")),
        Column("place_type", "Type de lieu", False, "Code ou libellé du référentiel",
               ("lieu",)),
        Column("activity_type", "Activité", True, "Code ou libellé du référentiel",
               ("activite", "type d activite")),
        Column("domain", "Domaine", True, "Code ou libellé du référentiel"),
        Column("situation_category", "Situation", False, "Code ou libellé du référentiel",
               ("categorie de situation", "type de situation")),
        Column("origin", "Origine", False, "Code ou libellé ; initiative du médiateur par défaut"),
        Column("timing", "Temporalité", False, "temps réel ou différé"),
        Column("form", "Forme", False, "individuelle, collective, navette, table ronde"),
        Column("people_met", "Personnes rencontrées", False, "0 à 5 000 ; 1 par défaut",
               ("personnes", "nombre de personnes")),
        Column("outcome", "Issue", False, "Code ou libellé du référentiel", ("resultat",)),
        Column("emergency_handoff", "Relais d'urgence", False, "secours, police, both",
               ("relais",)),
        Column("note", "Remarque", False, "280 caractères au plus, sans nom de personne",
               ("commentaire", "note")),
        Column("mediators", "Médiateur·rices", False,
               "Adresses e-mail (ou nom complet) des membres de la structure présents, "
               "séparées par « | » ou « ; »",
               ("mediateurs", "mediateur", "mediatrices", "mediateur rices", "binome", "equipe",
                "intervenants")),
    ]  # fmt: skip
    key_fields = (
        "service_id",
        "started_at",
        "duration_minutes",
        "commune_id",
        "qpv_id",
        "place_type_id",
        "activity_type_id",
        "domain_id",
        "situation_category_id",
        "origin",
        "timing",
        "form",
        "people_met",
        "outcome_id",
        "emergency_handoff",
        "note",
    )

    def __init__(self, job):
        super().__init__(job)
        services = list(Service.objects.filter(structure=self.structure))
        self.services = f.Lookup((((s.name, str(s.pk)), s.pk) for s in services), what="dispositif")
        self.only_service = services[0].pk if len(services) == 1 else None
        self.communes = f.Lookup(
            (((code,), pk) for pk, code in Territory.objects.communes().values_list("pk", "code")),
            what="commune (code INSEE)",
        )
        self.qpvs = f.Lookup(
            (((code,), pk) for pk, code in Territory.objects.qpvs().values_list("pk", "code")),
            what="QPV (code)",
        )
        self._qpv_communes: dict[int, set[int]] = {}
        for pk, parent in Territory.objects.qpvs().values_list("pk", "parent_id"):
            self._qpv_communes.setdefault(pk, set()).add(parent)
        through = Territory.secondary_parents.through
        links = through.objects.filter(from_territory__level=Level.QPV)
        for qpv_id, commune_id in links.values_list("from_territory_id", "to_territory_id"):
            self._qpv_communes.setdefault(qpv_id, set()).add(commune_id)
        self.place_types = f.reference_lookup(ref.PlaceType, what="type de lieu")
        self.activities = f.reference_lookup(ref.ActivityType, what="activité")
        self.domains = f.reference_lookup(ref.Domain, what="domaine")
        self.situations = f.reference_lookup(ref.SituationCategory, what="situation")
        self.outcomes = f.reference_lookup(ref.Outcome, what="issue")
        self.origins = f.choices_lookup(Origin, what="origine")
        self.timings = f.choices_lookup(Timing, what="temporalité")
        self.forms = f.choices_lookup(Form, what="forme")
        self.handoffs = f.Lookup(
            [*((((v, str(label)), v) for v, label in Handoff.choices if v)),
             (("aucun", "non", "none"), "")],
            what="relais d'urgence",
        )  # fmt: skip
        self.members = _member_lookup(self.structure)
        self.today = timezone.localdate()
        self.had_interventions = Intervention.objects.filter(structure=self.structure).exists()
        self.now = timezone.now()

    def build(self, values):
        # A plain namespace, not a model instance: building a million Interventions costs
        # more than parsing them; `write` makes rows (COPY) or instances (bulk_create).
        at = self.cell(values, "time", f.time_of_day)
        started_at = self.cell(values, "started_at", lambda v: f.moment(v, at, latest=self.today))
        service_id = self.cell(values, "service", self.services, default=self.only_service)
        if service_id is None and not values.get("service"):
            self.refuse("service", "", "la structure a plusieurs dispositifs : indiquez lequel")
        commune_id = self.cell(values, "commune", self.communes)
        qpv_id = self.cell(values, "qpv", self.qpvs)
        if qpv_id and commune_id and commune_id not in self._qpv_communes.get(qpv_id, ()):
            self.refuse("qpv", values["qpv"], "ce QPV ne couvre pas la commune indiquée")
        return SimpleNamespace(
            # The id is chosen here so that the mediators' links can name it in the same batch.
            id=uuid.uuid4(),
            mediator_ids=self.cell(values, "mediators", self.members, ()),
            structure_id=self.structure.pk,
            service_id=service_id,
            started_at=started_at,
            duration_minutes=self.cell(values, "duration_minutes", self._duration, 15),
            commune_id=commune_id,
            qpv_id=qpv_id,
            place_type_id=self.cell(values, "place_type", self.place_types),
            activity_type_id=self.cell(values, "activity_type", self.activities),
            domain_id=self.cell(values, "domain", self.domains),
            situation_category_id=self.cell(values, "situation_category", self.situations),
            origin=self.cell(values, "origin", self.origins, Origin.PATROL),
            timing=self.cell(values, "timing", self.timings, ""),
            form=self.cell(values, "form", self.forms, ""),
            people_met=self.cell(values, "people_met", self._people, 1),
            outcome_id=self.cell(values, "outcome", self.outcomes),
            emergency_handoff=self.cell(values, "emergency_handoff", self.handoffs, ""),
            note=self.cell(values, "note", self._note, ""),
        )

    @staticmethod
    def _duration(value: str) -> int:
        return f.integer(value, minimum=1, maximum=720)

    @staticmethod
    def _people(value: str) -> int:
        return f.integer(value, minimum=0, maximum=5000)

    @staticmethod
    def _note(value: str) -> str:
        return f.text(value, max_length=280)

    def existing(self, records):
        if not self.had_interventions:  # a structure moving in: nothing to compare with
            return set()
        moments = {r.started_at for r in records}
        rows = Intervention.objects.filter(
            structure_id=self.structure.pk, started_at__in=moments
        ).values_list(*self.key_fields)
        return set(rows)

    def write(self, records):
        fixed = {
            "author_id": self.actor.user_id,
            "source": Source.IMPORT,
            "created_at": self.now,
            "updated_at": self.now,
        }
        rows = [{**vars(r), **fixed} for r in records]
        links = [
            {"intervention_id": row["id"], "user_id": user_id}
            for row in rows
            for user_id in row.pop("mediator_ids")
        ]
        through = Intervention.mediators.through
        if connection.vendor == "postgresql":
            _copy_rows(Intervention, rows)
            if links:
                _copy_rows(through, links)
        else:
            Intervention.objects.bulk_create([Intervention(**row) for row in rows], batch_size=500)
            through.objects.bulk_create([through(**link) for link in links], batch_size=500)
        self.created += len(records)

    def finish(self):
        # The dashboards are right as soon as the import commits: the cubes receive this
        # import's rows (found by their common creation instant) in a few SQL statements.
        rollups.apply_inserted(
            structure_id=self.structure.pk,
            source=Source.IMPORT,
            author_id=self.actor.user_id,
            created_at=self.now,
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format (\\N for NULL, special characters escaped)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _copy_rows(model, rows: list[dict]) -> None:
    """Insert `rows` (attname → value) with PostgreSQL's COPY, formatted here as text: several
    times faster than a multi-row INSERT for large batches. Missing fields take their model
    default; a UUID primary key a new UUID, an automatic one its sequence's next value."""
    concrete = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.get_internal_type().endswith("AutoField"))
    ]
    defaults = {}
    for field in concrete:
        if field.has_default() and not callable(field.default):
            value = field.get_default()
            if field.get_internal_type() == "JSONField":
                value = json.dumps(value)
            defaults[field.attname] = value
        elif field.get_internal_type() == "JSONField":
            defaults[field.attname] = "[]"
    names = [field.attname for field in concrete]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in concrete)
    lines = []
    for row in rows:
        cells = []
        for name in names:
            if name in row:
                cells.append(_copy_text(row[name]))
            elif name == "id":
                cells.append(str(uuid.uuid4()))
            else:
                cells.append(_copy_text(defaults.get(name)))
        lines.append("\t".join(cells))
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        copy.write("\n".join(lines) + "\n")


AMBIGUOUS = object()  # a full name that two members bear


class _Members:
    """The people of a cell "Médiateur·rices": members (mediators or coordinators, present or
    past) of the structure, by e-mail or by full name when no one else bears it."""

    def __init__(self, pairs):
        self.by_key: dict[str, object] = {}
        for email, name, user_id in pairs:
            self.by_key[f.lookup_key(email)] = user_id
            if name:
                key = f.lookup_key(name)
                other = self.by_key.get(key, user_id)
                self.by_key[key] = user_id if other == user_id else AMBIGUOUS

    def __call__(self, value: str) -> tuple:
        found, problems = set(), []
        for part in f.parts(value):
            user_id = self.by_key.get(f.lookup_key(part))
            if user_id is None:
                problems.append(f"« {part} » n'est pas membre de la structure")
            elif user_id is AMBIGUOUS:
                problems.append(f"plusieurs membres s'appellent « {part} » : donnez l'e-mail")
            else:
                found.add(user_id)
        if problems:
            raise CellError(" ; ".join(problems))
        return tuple(sorted(found))


def _member_lookup(structure) -> _Members:
    members = Membership.objects.filter(
        structure=structure, role__in=[Role.MEDIATOR, Role.COORDINATOR]
    ).values_list("user__email", "user__full_name", "user_id")
    return _Members(members)


# --- partners ---------------------------------------------------------------------------------


class PartnerImporter(Importer):
    kind = ImportKind.PARTNERS
    noun = "partenaires"
    columns = [
        Column("name", "Nom", True, "200 caractères au plus", ("raison sociale", "partenaire")),
        Column("partner_type", "Type de partenaire", False, "Code ou libellé du référentiel",
               ("type",)),
        Column("siret", "SIRET", False, "14 chiffres"),
        Column("territory", "Commune (code INSEE)", False, "Territoire d'action",
               ("commune", "code insee", "territoire")),
        Column("contact_email", "E-mail de contact", False, "", ("email", "e mail", "courriel")),
    ]  # fmt: skip
    key_fields = ("name_key", "siret")

    def __init__(self, job):
        super().__init__(job)
        self.partner_types = f.reference_lookup(ref.PartnerType, what="type de partenaire")
        self.communes = f.Lookup(
            (((code,), pk) for pk, code in Territory.objects.communes().values_list("pk", "code")),
            what="commune (code INSEE)",
        )
        self.known = {
            (name, siret)
            for name, siret in Organisation.objects.partners()
            .annotate(name_key=Lower("name"))
            .values_list("name_key", "siret")
        }

    def build(self, values):
        name = self.cell(values, "name", lambda v: f.text(v, max_length=200), "")
        record = Organisation(
            name=name,
            kind=OrganisationKind.PARTNER,
            partner_type_id=self.cell(values, "partner_type", self.partner_types),
            siret=self.cell(values, "siret", _siret, ""),
            territory_id=self.cell(values, "territory", self.communes),
            contact_email=self.cell(values, "contact_email", _email, ""),
        )
        record.name_key = name.lower()
        return record


def _siret(value: str) -> str:
    digits = normalise_siret(value)
    try:
        validate_siret(digits)
    except Exception as exc:
        raise CellError(" ".join(getattr(exc, "messages", [str(exc)])).rstrip(".")) from None
    return digits


def _email(value: str) -> str:
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except Exception:
        raise CellError("adresse e-mail invalide") from None
    return value.lower()


# --- posts ------------------------------------------------------------------------------------


class PostImporter(Importer):
    kind = ImportKind.POSTS
    noun = "postes"
    columns = [
        Column("title", "Intitulé", True, "Par exemple : médiateur·rice social·e",
               ("poste", "intitule du poste", "emploi")),
        Column("service", "Dispositif", False,
               "Nom du dispositif ; facultatif si la structure n'en a qu'un", ("service",)),
        Column("fte", "ETP", True, "De 0,01 à 1", ("equivalent temps plein",)),
        Column("rome_code", "Code ROME", False, "K1204 par défaut", ("rome",)),
        Column("status", "État", False, "ouvert, pourvu, gelé, fermé", ("etat", "statut")),
    ]  # fmt: skip
    key_fields = ("service_id", "title", "fte", "rome_code", "status")

    def __init__(self, job):
        super().__init__(job)
        services = list(Service.objects.filter(structure=self.structure))
        self.services = f.Lookup((((s.name, str(s.pk)), s.pk) for s in services), what="dispositif")
        self.only_service = services[0].pk if len(services) == 1 else None
        self.romes = f.choices_lookup(RomeCode, what="code ROME")
        self.statuses = f.Lookup(
            (((v, str(label), str(label).split(" ")[0]), v) for v, label in PostStatus.choices),
            what="état",
        )
        self.known = set(
            Post.objects.filter(structure=self.structure).values_list(*self.key_fields)
        )

    def build(self, values):
        service_id = self.cell(values, "service", self.services, default=self.only_service)
        if service_id is None and not values.get("service"):
            self.refuse("service", "", "la structure a plusieurs dispositifs : indiquez lequel")
        return Post(
            structure_id=self.structure.pk,
            service_id=service_id,
            title=self.cell(values, "title", lambda v: f.text(v, max_length=150), ""),
            fte=self.cell(
                values, "fte", lambda v: f.decimal(v, minimum=Decimal("0.01"), maximum=Decimal(1))
            ),
            rome_code=self.cell(values, "rome_code", self.romes, RomeCode.MEDIATION),
            status=self.cell(values, "status", self.statuses, PostStatus.OPEN),
        )


# --- contracts ---------------------------------------------------------------------------------


class ContractImporter(Importer):
    """Contracts on the structure's posts (import the posts first). The person is found by
    first and last name among the structure's staff, or created with nothing more; the
    model's rules apply row by row (adulte-relais: half time at least, a 3-year agreement
    that holds the contract, one agreement per post — in the file as in the database)."""

    kind = ImportKind.CONTRACTS
    noun = "contrats"
    columns = [
        Column("first_name", "Prénom", True, "100 caractères au plus", ("prenom",)),
        Column("last_name", "Nom", True, "100 caractères au plus", ("nom", "nom de famille")),
        Column("post", "Poste (intitulé)", True,
               "Intitulé d'un poste de la structure, importé ou créé avant",
               ("poste", "intitule du poste", "emploi")),
        Column("contract_type", "Type de contrat", True, "Code ou libellé du référentiel",
               ("type", "contrat", "type contrat")),
        Column("starts_on", "Début", True, "AAAA-MM-JJ ou JJ/MM/AAAA",
               ("date de debut", "debut du contrat", "debut")),
        Column("ends_on", "Fin", False, "Vide pour un contrat sans terme",
               ("date de fin", "fin du contrat", "fin")),
        Column("fte", "ETP", True, "De 0,01 à 1", ("equivalent temps plein", "quotite")),
        Column("agreement_starts_on", "Début de la convention", False,
               "Adulte-relais seulement", ("debut convention",)),
        Column("agreement_ends_on", "Fin de la convention", False, "Adulte-relais seulement",
               ("fin convention",)),
        Column("end_reason", "Motif de fin", False, "terme, démission, rupture conventionnelle…",
               ("motif",)),
        Column("exit_outcome", "Sortie du contrat aidé", False,
               "emploi durable, formation qualifiante…", ("sortie",)),
    ]  # fmt: skip
    key_fields = ("post_id", "first_key", "last_key", "contract_type_id", "starts_on")
    #: A contract may end (or its agreement) up to this far ahead.
    FUTURE = datetime.timedelta(days=5 * 366)

    def __init__(self, job):
        super().__init__(job)
        posts = list(Post.objects.filter(structure=self.structure))
        self.posts = {p.pk: p for p in posts}
        titles: dict[str, list] = {}
        for post in posts:
            titles.setdefault(f.lookup_key(post.title), []).append(post.pk)
        self.titles = titles
        self.types = {t.pk: t for t in ref.ContractType.objects.all()}
        self.type_lookup = f.reference_lookup(ref.ContractType, what="type de contrat")
        self.reasons = f.choices_lookup(EndReason, what="motif de fin")
        self.outcomes = f.choices_lookup(ExitOutcome, what="sortie")
        self.people = {
            (f.lookup_key(first), f.lookup_key(last)): pk
            for pk, first, last in Mediator.objects.filter(structure=self.structure).values_list(
                "pk", "first_name", "last_name"
            )
        }
        self.known = {
            (post, f.lookup_key(first), f.lookup_key(last), kind, starts)
            for post, first, last, kind, starts in Contract.objects.filter(
                post__structure=self.structure
            ).values_list(
                "post_id", "mediator__first_name", "mediator__last_name", "contract_type_id",
                "starts_on",
            )
        }  # fmt: skip
        self.agreements: dict = {}  # post → adulte-relais periods of the file

    def _post(self, value: str):
        found = self.titles.get(f.lookup_key(value), [])
        if not found:
            raise CellError("poste inconnu dans la structure (importez les postes d'abord)")
        if len(found) > 1:
            raise CellError("plusieurs postes portent cet intitulé : renommez-les d'abord")
        return found[0]

    def build(self, values):
        today = timezone.localdate()
        later = today + self.FUTURE

        def day(name, latest=later):
            return self.cell(values, name, lambda v: f.date(v, latest=latest))

        record = SimpleNamespace(
            first_name=self.cell(values, "first_name", lambda v: f.text(v, max_length=100), ""),
            last_name=self.cell(values, "last_name", lambda v: f.text(v, max_length=100), ""),
            post_id=self.cell(values, "post", self._post),
            contract_type_id=self.cell(values, "contract_type", self.type_lookup),
            starts_on=day("starts_on"),
            ends_on=day("ends_on"),
            fte=self.cell(
                values, "fte", lambda v: f.decimal(v, minimum=Decimal("0.01"), maximum=Decimal(1))
            ),
            agreement_starts_on=day("agreement_starts_on"),
            agreement_ends_on=day("agreement_ends_on"),
            end_reason=self.cell(values, "end_reason", self.reasons, ""),
            exit_outcome=self.cell(values, "exit_outcome", self.outcomes, ""),
        )
        record.first_key = f.lookup_key(record.first_name)
        record.last_key = f.lookup_key(record.last_name)
        if self._errors:
            return record
        self._check_rules(record, values)
        return record

    def _check_rules(self, record, values) -> None:
        """The model's own rules, on an unsaved contract (its post and type preloaded)."""
        post = self.posts[record.post_id]
        contract = Contract(
            post=post,
            mediator=Mediator(structure_id=self.structure.pk),
            contract_type=self.types[record.contract_type_id],
            **{k: getattr(record, k) for k in (
                "starts_on", "ends_on", "fte", "agreement_starts_on", "agreement_ends_on",
                "end_reason", "exit_outcome",
            )},
        )  # fmt: skip
        try:
            contract.clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = name if name in values else "post"
                for message in messages:
                    self.refuse(column, values.get(column, ""), message)
            return
        if contract.is_adulte_relais:
            periods = self.agreements.setdefault(record.post_id, [])
            for starts, ends in periods:
                if record.starts_on <= ends and (record.ends_on or datetime.date.max) >= starts:
                    self.refuse(
                        "starts_on", values.get("starts_on", ""),
                        "un autre contrat adulte-relais du fichier couvre déjà ce poste à ces "
                        "dates : un poste, une convention",
                    )  # fmt: skip
                    return
            periods.append((record.starts_on, record.ends_on or datetime.date.max))

    def write(self, records):
        new = {}
        for r in records:
            person = (r.first_key, r.last_key)
            if person not in self.people and person not in new:
                new[person] = Mediator(
                    structure_id=self.structure.pk, first_name=r.first_name, last_name=r.last_name
                )
        Mediator.objects.bulk_create(new.values())
        self.people.update({person: m.pk for person, m in new.items()})
        Contract.objects.bulk_create(
            Contract(
                mediator_id=self.people[(r.first_key, r.last_key)],
                post_id=r.post_id,
                contract_type_id=r.contract_type_id,
                starts_on=r.starts_on,
                ends_on=r.ends_on,
                fte=r.fte,
                agreement_starts_on=r.agreement_starts_on,
                agreement_ends_on=r.agreement_ends_on,
                end_reason=r.end_reason,
                exit_outcome=r.exit_outcome,
            )
            for r in records
        )
        self.created += len(records)


# --- structures (administrators) ---------------------------------------------------------------


class StructureImporter(Importer):
    kind = ImportKind.STRUCTURES
    role = Role.ADMIN
    noun = "structures"
    columns = [
        Column("name", "Nom", True, "200 caractères au plus", ("raison sociale", "structure")),
        Column("siret", "SIRET", True, "14 chiffres, unique"),
        Column("employer_type", "Type d'employeur", True, "Code ou libellé du référentiel",
               ("type", "type employeur")),
        Column("commune", "Commune du siège (code INSEE)", True, "",
               ("commune", "code insee", "insee")),
        Column("network", "Réseau", False, "Réseau ou fédération"),
        Column("address", "Adresse", False, "300 caractères au plus"),
    ]  # fmt: skip
    key_fields = ("siret",)

    def __init__(self, job):
        super().__init__(job)
        self.employer_types = f.reference_lookup(ref.EmployerType, what="type d'employeur")
        self.communes = f.Lookup(
            (((code,), pk) for pk, code in Territory.objects.communes().values_list("pk", "code")),
            what="commune (code INSEE)",
        )
        self.known = {(s,) for s in Structure.objects.values_list("siret", flat=True)}

    def build(self, values):
        return Structure(
            name=self.cell(values, "name", lambda v: f.text(v, max_length=200), ""),
            siret=self.cell(values, "siret", _siret, ""),
            employer_type_id=self.cell(values, "employer_type", self.employer_types),
            commune_id=self.cell(values, "commune", self.communes),
            network=self.cell(values, "network", lambda v: f.text(v, max_length=200), ""),
            address=self.cell(values, "address", lambda v: f.text(v, max_length=300), ""),
        )


# --- services ---------------------------------------------------------------------------------


def _many(lookup: "f.Lookup"):
    """A cell listing several items (separated by « | » or « ; »): their values, each
    unknown one named."""

    def parse(value: str) -> tuple:
        found, unknown = [], []
        for part in f.parts(value):
            try:
                found.append(lookup(part))
            except CellError:
                unknown.append(f"« {part} »")
        if unknown:
            raise CellError(f"{lookup.what} inconnu·e : {', '.join(unknown)}")
        return tuple(dict.fromkeys(found))

    return parse


class ServiceImporter(Importer):
    """The structure's services (dispositifs), with their domains, territories and
    commissioning bodies; a name already used in the structure is a duplicate."""

    kind = ImportKind.SERVICES
    noun = "dispositifs"
    screened_fields = ("objectives",)
    columns = [
        Column("name", "Nom du dispositif", True, "200 caractères au plus",
               ("dispositif", "nom", "service")),
        Column("domains", "Domaines", True,
               "Codes ou libellés du référentiel, séparés par « | » ou « ; »",
               ("domaine", "domaines d intervention")),
        Column("territories", "Territoires", False,
               "Codes INSEE de communes, SIREN d'EPCI ou numéros de département, séparés "
               "par « | » ou « ; »", ("territoire", "communes", "zone")),
        Column("commissioning_bodies", "Commanditaires", False,
               "Noms d'organismes financeurs déjà dans Lien, séparés par « | » ou « ; »",
               ("commanditaire", "financeurs", "financeur")),
        Column("stage", "Stade du projet", False,
               "montage, démarrage, développement, pérennisation ; démarrage par défaut",
               ("stade", "etape")),
        Column("starts_on", "Début", True, "AAAA-MM-JJ ou JJ/MM/AAAA",
               ("date de debut", "debut")),
        Column("ends_on", "Fin", False, "Vide pour un dispositif sans terme",
               ("date de fin", "fin")),
        Column("objectives", "Objectifs", False, "2 000 caractères au plus, sans nom",
               ("objectif",)),
    ]  # fmt: skip
    key_fields = ("name_key",)
    #: A service may be planned to end up to this far ahead.
    FUTURE = datetime.timedelta(days=10 * 366)

    def __init__(self, job):
        super().__init__(job)
        self.domains = f.reference_lookup(ref.Domain, what="domaine")
        levels = (Level.COMMUNE, Level.EPCI, Level.DEPARTEMENT)
        self.territories = f.Lookup(
            (
                ((code,), pk)
                for pk, code in Territory.objects.filter(level__in=levels).values_list("pk", "code")
            ),
            what="territoire",
        )
        self.bodies = f.Lookup(
            (
                ((name,), pk)
                for pk, name in Organisation.objects.funders()
                .filter(is_active=True)
                .values_list("pk", "name")
            ),
            what="commanditaire",
        )
        self.domain_list = _many(self.domains)
        self.territory_list = _many(self.territories)
        self.body_list = _many(self.bodies)
        self.stages = f.reference_lookup(ref.ProjectStage, what="stade du projet")
        default = ref.ProjectStage.objects.filter(code="demarrage").first()
        self.default_stage = default.pk if default else None
        self.known = {
            (f.lookup_key(name),)
            for name in Service.objects.filter(structure=self.structure).values_list(
                "name", flat=True
            )
        }

    def build(self, values):
        later = timezone.localdate() + self.FUTURE
        record = SimpleNamespace(
            id=uuid.uuid4(),
            structure_id=self.structure.pk,
            name=self.cell(values, "name", lambda v: f.text(v, max_length=200), ""),
            domain_ids=self.cell(values, "domains", self.domain_list, ()),
            territory_ids=self.cell(values, "territories", self.territory_list, ()),
            body_ids=self.cell(values, "commissioning_bodies", self.body_list, ()),
            stage_id=self.cell(values, "stage", self.stages, self.default_stage),
            starts_on=self.cell(values, "starts_on", lambda v: f.date(v, latest=later)),
            ends_on=self.cell(values, "ends_on", lambda v: f.date(v, latest=later)),
            objectives=self.cell(values, "objectives", lambda v: f.text(v, max_length=2000), ""),
        )
        if record.stage_id is None and not values.get("stage"):
            self.refuse("stage", "", "aucun stade « démarrage » dans le référentiel : indiquez-le")
        if record.starts_on and record.ends_on and record.ends_on < record.starts_on:
            self.refuse("ends_on", values.get("ends_on", ""), "la fin précède le début")
        record.name_key = f.lookup_key(record.name)
        return record

    def write(self, records):
        fields = ("id", "structure_id", "name", "stage_id", "starts_on", "ends_on", "objectives")
        Service.objects.bulk_create(
            [Service(**{name: getattr(r, name) for name in fields}) for r in records]
        )
        for relation, attribute, column in (
            (Service.domains, "domain_ids", "domain_id"),
            (Service.territories, "territory_ids", "territory_id"),
            (Service.commissioning_bodies, "body_ids", "organisation_id"),
        ):
            through = relation.through
            through.objects.bulk_create(
                [
                    through(service_id=r.id, **{column: value})
                    for r in records
                    for value in getattr(r, attribute)
                ]
            )
        self.created += len(records)


IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls
    for cls in (
        InterventionImporter,
        PartnerImporter,
        PostImporter,
        ContractImporter,
        ServiceImporter,
        StructureImporter,
    )
}

#: Which columns carry the natural key, to name one in a duplicate's report line.
KEY_COLUMN = {
    ImportKind.INTERVENTIONS: "started_at",
    ImportKind.PARTNERS: "name",
    ImportKind.POSTS: "title",
    ImportKind.CONTRACTS: "starts_on",
    ImportKind.SERVICES: "name",
    ImportKind.STRUCTURES: "siret",
}
