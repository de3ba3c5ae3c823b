"""The full export of a structure's own data: a ZIP of one CSV per record type.

For reversibility (leaving Lien with everything) and the right of access: the
coordination downloads everything its structure holds — including the names of its
nominative situations and of its staff, so asking for it is journaled as an export *and*
a read of nominative data, and each download as an export.

The archive is built by a background task (django-tasks; `manage.py db_worker`) since a
big structure has millions of interventions: rows are read by chunks and written straight
into the ZIP, never held in memory. No table records the job: its state is a small JSON
file next to the archive (`<root>/<structure id>/<export id>.json`, root =
`settings.LIEN_EXPORT_ROOT`, by default `MEDIA_ROOT/exports`, never served as a static
file), which the progress page reads. Only the structure's coordinators can list and
download its archives; another structure's id is a 404.

Columns are the models' own fields, named as in the database (`service_id`, `status`…):
machine-readable, stable, with codes rather than labels; `manifest.json` and `LISEZMOI.txt`
give each file's French description and each column's label and type. Many-to-many
links are one column of ids separated by `|`.
"""

import datetime
import json
import os
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from lien.core import tabular
from lien.core.models import Role
from lien.evaluation.models import (
    AvoidedCostEstimate,
    Evaluation,
    SelfAssessment,
    Survey,
    SurveyResponse,
)
from lien.followup.models import (
    Agreement,
    CollectiveAction,
    NextStep,
    Observation,
    Party,
    Referral,
    RoutingRule,
    Situation,
    SituationMeeting,
    TechnicalReport,
)
from lien.jobs.models import (
    Contract,
    Funding,
    Mediator,
    Post,
    PostShare,
    PracticeReview,
    Training,
)
from lien.logbook.models import AccessRequest, Intervention, Shift
from lien.structures.models import Organisation, Service, Structure

#: Fields never exported: secrets, not data (the nonce of a referral's signed link).
SKIPPED_FIELDS = {"password", "link_nonce"}


@dataclass(frozen=True)
class RecordType:
    file: str
    description: str
    model: type[models.Model]
    #: The lookup from a row to its structure, or a function giving the structure's rows.
    scope: str | Callable[[Structure], models.QuerySet] = "structure"
    nominative: bool = False

    def rows(self, structure: Structure) -> models.QuerySet:
        if callable(self.scope):
            return self.scope(structure)
        return self.model.objects.filter(**{self.scope: structure.pk})


def _fundings(structure: Structure) -> models.QuerySet:
    return Funding.objects.filter(Q(holder=structure) | Q(structure=structure))


def _partners(structure: Structure) -> models.QuerySet:
    """The organisations the structure works with: the partners of its referrals and
    collective actions, the bodies its reports go to, its funders."""
    return Organisation.objects.filter(
        Q(pk__in=Referral.objects.filter(structure=structure).values("partner"))
        | Q(pk__in=CollectiveAction.objects.filter(structure=structure).values("partners"))
        | Q(pk__in=RoutingRule.objects.filter(structure=structure).values("organisation"))
        | Q(pk__in=TechnicalReport.objects.filter(structure=structure).values("routed_to"))
        | Q(pk__in=_fundings(structure).values("funder"))
    )


SITUATION = "situation__structure"
R = RecordType
RECORD_TYPES = [
    R("structure.csv", "La structure", Structure, "pk"),
    R("dispositifs.csv", "Dispositifs (services de médiation)", Service),
    R("interventions.csv", "Interventions du journal de bord", Intervention),
    R(
        "demandes.csv",
        "Demandes par thème des interventions",
        AccessRequest,
        "intervention__structure",
    ),
    R("tournees.csv", "Tournées et permanences", Shift),
    R(
        "suivis.csv",
        "Suivis, avec noms et coordonnées des suivis nominatifs",
        Situation,
        nominative=True,
    ),
    R("suivis-parties.csv", "Parties des suivis", Party, SITUATION),
    R("suivis-prochaines-etapes.csv", "Prochaines étapes des suivis", NextStep, SITUATION),
    R("suivis-accords.csv", "Accords des suivis", Agreement, SITUATION),
    R("suivis-rencontres.csv", "Interventions rattachées aux suivis", SituationMeeting, SITUATION),
    R("mises-en-relation.csv", "Mises en relation avec les partenaires", Referral, nominative=True),
    R("signalements.csv", "Signalements de veille technique", TechnicalReport),
    R("regles-orientation.csv", "Règles d'orientation des signalements", RoutingRule),
    R("veille-sociale.csv", "Observations de veille sociale", Observation),
    R("actions-collectives.csv", "Actions collectives", CollectiveAction),
    R("postes.csv", "Postes", Post),
    R("postes-mutualises.csv", "Parts des postes mutualisés", PostShare, "post__structure"),
    R("personnes-employees.csv", "Personnes employées", Mediator, nominative=True),
    R("contrats.csv", "Contrats", Contract, "mediator__structure"),
    R("financements.csv", "Lignes de financement", Funding, _fundings),
    R("formations.csv", "Formations", Training, "mediator__structure"),
    R("analyses-de-pratiques.csv", "Analyses de pratiques", PracticeReview),
    R("partenaires.csv", "Organisations partenaires et financeurs", Organisation, _partners),
    R("evaluations.csv", "Évaluations de l'utilité sociale", Evaluation, "service__structure"),
    R("auto-evaluations.csv", "Auto-évaluations par registre CITER", SelfAssessment,
      "evaluation__service__structure"),
    R("couts-evites.csv", "Estimations de coûts évités, avec leurs hypothèses",
      AvoidedCostEstimate, "evaluation__service__structure"),
    R("enquetes.csv", "Enquêtes de satisfaction", Survey, "service__structure"),
    R("enquetes-reponses.csv", "Réponses anonymes aux enquêtes", SurveyResponse,
      "survey__service__structure"),
]  # fmt: skip


# --- columns -------------------------------------------------------------------------------


def _fields(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in SKIPPED_FIELDS]


def _links(model) -> list[models.ManyToManyField]:
    return list(model._meta.many_to_many)


def _value(obj, field: models.Field):
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False) if value not in (None, [], {}) else ""
    if isinstance(field, models.FileField):
        return value.name or ""
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _kind(field) -> str:
    if isinstance(field, models.ManyToManyField):
        return f"identifiants de {field.related_model._meta.verbose_name} séparés par |"
    if field.is_relation:
        return f"identifiant de {field.related_model._meta.verbose_name}"
    if field.choices:
        return "code parmi : " + ", ".join(f"{v} ({label})" for v, label in field.flatchoices)
    return {
        "DateTimeField": "date et heure (AAAA-MM-JJ HH:MM, heure de Paris)",
        "DateField": "date (AAAA-MM-JJ)",
        "BooleanField": "oui / non",
        "DecimalField": "nombre décimal (virgule)",
        "FloatField": "nombre décimal (virgule)",
        "JSONField": "JSON",
        "UUIDField": "identifiant",
        "FileField": "nom du fichier stocké",
    }.get(
        field.get_internal_type(), "nombre" if "Integer" in field.get_internal_type() else "texte"
    )


def columns_of(model) -> list[dict]:
    """The manifest's description of a file's columns, in the file's order."""
    return [
        {"nom": field.attname if field.is_relation else field.name,
         "libelle": str(field.verbose_name),
         "type": _kind(field)}
        for field in [*_fields(model), *_links(model)]
    ]  # fmt: skip


def _rows(record: RecordType, structure: Structure):
    fields, links = _fields(record.model), _links(record.model)
    queryset = record.rows(structure).order_by("pk")
    if links:
        queryset = queryset.prefetch_related(*(link.name for link in links))
    for obj in queryset.iterator(chunk_size=tabular.CHUNK):
        row = [_value(obj, field) for field in fields]
        for link in links:
            row.append("|".join(sorted(str(o.pk) for o in getattr(obj, link.name).all())))
        yield row


# --- the job's state -----------------------------------------------------------------------


def export_root() -> Path:
    return Path(settings.LIEN_EXPORT_ROOT)


def _folder(structure_id) -> Path:
    return export_root() / str(uuid.UUID(str(structure_id)))


def _state_path(structure_id, export_id) -> Path:
    return _folder(structure_id) / f"{uuid.UUID(str(export_id))}.json"


def archive_path(structure_id, export_id) -> Path:
    return _folder(structure_id) / f"{uuid.UUID(str(export_id))}.zip"


def _write_state(structure_id, export_id, /, **changes) -> dict:
    path = _state_path(structure_id, export_id)
    state = read_state(structure_id, export_id) or {}
    state.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)  # atomic: the progress page never reads half a file
    return state


def read_state(structure_id, export_id) -> dict | None:
    path = _state_path(structure_id, export_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# --- services ------------------------------------------------------------------------------


def _require_coordinator(actor) -> None:
    if actor is None or actor.role != Role.COORDINATOR or actor.structure_id is None:
        raise PermissionDenied("Seule la coordination de la structure peut exporter ses données.")


def structure_export_request(*, actor, ip: str | None = None) -> dict:
    """Ask for the full export of the actor's structure: journaled (export, and read of
    nominative data), then built in the background. Returns the job's state."""
    _require_coordinator(actor)
    export_id = uuid.uuid4()
    tabular.journal_export(
        actor=actor,
        what="export complet des données de la structure (ZIP)",
        fmt="zip",
        nominative=True,
        ip=ip,
    )
    state = _write_state(
        actor.structure_id,
        export_id,
        id=str(export_id),
        structure_id=str(actor.structure_id),
        requested_by=actor.user.email,
        requested_at=timezone.now().isoformat(),
        state="pending",
        done=0,
        total=len(RECORD_TYPES),
        current="",
        counts={},
        size=0,
        error="",
    )
    from lien.exchange.tasks import build_structure_export

    build_structure_export.enqueue(str(actor.structure_id), str(export_id))
    return read_state(actor.structure_id, export_id) or state


def _readme(structure: Structure, manifest: dict) -> str:
    lines = [
        f"Export complet des données de la structure « {structure.name} »",
        f"Produit le {manifest['produit_le']} par Lien.",
        "",
        "Un fichier CSV par type d'enregistrement : UTF-8 avec BOM, séparateur « ; »,",
        "dates AAAA-MM-JJ, décimales avec une virgule (Excel en français les ouvre tels quels).",
        "Les colonnes portent le nom des champs de Lien ; les liens vers un autre",
        "enregistrement sont des identifiants (colonnes en _id), les listes d'identifiants",
        "sont séparées par « | ». manifest.json décrit chaque colonne.",
        "",
        "ATTENTION : cet export contient des données nominatives (suivis nominatifs,",
        "personnes employées). Conservez-le en lieu sûr et supprimez-le après usage.",
        "",
    ]
    for item in manifest["fichiers"]:
        lines.append(f"{item['fichier']} — {item['description']} ({item['lignes']} lignes)")
        for column in item["colonnes"]:
            lines.append(f"    {column['nom']} : {column['libelle']} — {column['type']}")
        lines.append("")
    return "\n".join(lines)


def structure_export_build(*, structure_id: str, export_id: str) -> dict:
    """Write the archive, file by file, updating the job's state as it goes."""
    structure = Structure.objects.get(pk=structure_id)
    target = archive_path(structure_id, export_id)
    partial = target.with_suffix(".part")
    _write_state(structure_id, export_id, state="running")
    manifest = {
        "structure": {"id": str(structure.pk), "nom": structure.name},
        "produit_le": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "format": "CSV, UTF-8 avec BOM, séparateur ;, fins de ligne CRLF",
        "fichiers": [],
    }
    counts = {}
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number, record in enumerate(RECORD_TYPES):
                _write_state(structure_id, export_id, current=record.description, done=number)
                fields, links = _fields(record.model), _links(record.model)
                headers = [f.attname if f.is_relation else f.name for f in fields]
                headers += [link.name for link in links]
                counter = _Counter(_rows(record, structure))
                with archive.open(record.file, "w", force_zip64=True) as member:
                    tabular.write_csv(
                        member, [tabular.Table(title=record.file, headers=headers, rows=counter)]
                    )
                counts[record.file] = counter.count
                manifest["fichiers"].append(
                    {
                        "fichier": record.file,
                        "description": record.description,
                        "nominatif": record.nominative,
                        "lignes": counter.count,
                        "colonnes": columns_of(record.model),
                    }
                )
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            archive.writestr("LISEZMOI.txt", _readme(structure, manifest))
        os.replace(partial, target)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        _write_state(
            structure_id,
            export_id,
            state="failed",
            error=f"{type(exc).__name__} : {exc}"[:300],
            finished_at=timezone.now().isoformat(),
        )
        raise
    return _write_state(
        structure_id,
        export_id,
        state="done",
        done=len(RECORD_TYPES),
        current="",
        counts=counts,
        size=target.stat().st_size,
        finished_at=timezone.now().isoformat(),
    )


class _Counter:
    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def _states(pattern: str) -> list[dict]:
    states = []
    for path in export_root().glob(pattern):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            state["requested"] = datetime.datetime.fromisoformat(state["requested_at"])
        except (OSError, ValueError, KeyError):
            continue
        states.append(state)
    return sorted(states, key=lambda s: s["requested"], reverse=True)


def all_states() -> list[dict]:
    """Every structure's export jobs (for the retention rule)."""
    return _states("*/*.json")


def structure_export_delete(state: dict) -> None:
    """Delete a job's archive, partial archive and state file (retention)."""
    structure_id, export_id = state["structure_id"], state["id"]
    target = archive_path(structure_id, export_id)
    for path in (target, target.with_suffix(".part"), _state_path(structure_id, export_id)):
        path.unlink(missing_ok=True)


def structure_exports(*, actor) -> list[dict]:
    """The structure's export jobs, most recent first (coordination only)."""
    _require_coordinator(actor)
    return _states(f"{uuid.UUID(str(actor.structure_id))}/*.json")


def structure_export_state(*, actor, export_id) -> dict:
    """One job of the actor's structure; any other id (another structure's) is a 404."""
    _require_coordinator(actor)
    state = read_state(actor.structure_id, export_id)
    if state is None or state.get("structure_id") != str(actor.structure_id):
        raise Http404("Aucun export de ce numéro pour votre structure.")
    return state


def structure_export_download(*, actor, export_id, ip: str | None = None) -> Path:
    """The finished archive's path, each download journaled as an export."""
    state = structure_export_state(actor=actor, export_id=export_id)
    path = archive_path(actor.structure_id, export_id)
    if state.get("state") != "done" or not path.is_file():
        raise Http404("Cet export n'est pas (ou plus) disponible.")
    tabular.journal_export(
        actor=actor,
        what=f"téléchargement de l'export complet {export_id}",
        fmt="zip",
        nominative=True,
        ip=ip,
    )
    return path
