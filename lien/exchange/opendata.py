"""The open data set: aggregated, non-nominative figures per territory and month.

Two CSV files and their Frictionless description (``datapackage.json``, a Tabular Data Package
whose resources each carry a Table Schema), following the conventions of the French open-data
schemas (schema.data.gouv.fr): UTF-8 without BOM, comma separator, one header line, ISO dates
(months as ``YYYY-MM``), territories by their code in the INSEE Code officiel géographique kept
as text (``"01004"``, ``"2A004"``; an EPCI by its SIREN number, its code in the COG), référentiel
items by their stable codes, Licence Ouverte / Etalab 2.0.

* ``activite.csv``: interventions and people met by month × territory × type of activity ×
  domain (the activity cube);
* ``resultats.csv``: interventions by month × territory × outcome (with its family; the result
  cube);
* ``emplois.csv``: the jobs, by month × territory (the employer's seat) × contract type:
  contracts running in the month, the people who hold them, their posts and their FTE.

Only counts leave Lien (cube counts; for jobs, counts of contracts, people and posts), and
through small-cell protection (``lien.core.suppression``): for
each file, each month and each measure, the territories × categories table is protected as if
its margins (totals per territory, per category and overall) were published, since dashboards
show them. A suppressed cell is written as the text the module gives, ``"< 5"`` (1 to 4) or
``"secret"`` (complementary suppression), both listed in the schema's ``missingValues``. A
combination with no intervention has no line (a true zero names nobody: no line means 0).
Limits are those of the module: tables of different months, levels or files are not protected
jointly (publish one level, or aggregate further), and the module may itself hide a margin to
protect a cell, whereas the same total may be shown on a dashboard (linked tables).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from lien.core import suppression
from lien.indicators import engine
from lien.indicators.models import ActivityCube, ResultCube
from lien.jobs.models import Contract
from lien.jobs.queries import add_months
from lien.referentiel.models import ActivityType, ContractType, Domain, Outcome
from lien.territories.models import LEVEL_DEPTH, Level, Territory, TerritoryAncestor

LEVELS = (Level.DEPARTEMENT, Level.EPCI, Level.COMMUNE)
NO_OUTCOME = "non-renseigne"
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Département (2 characters, 2A/2B, 971-976), commune (5 characters), EPCI (SIREN, 9 digits).
CODE_PATTERN = r"^([0-9]{2}|2[AB]|97[1-6]|[0-9]{5}|2[AB][0-9]{3}|[0-9]{9})$"

LICENSE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}


class OpenDataError(ValueError):
    """Bad arguments: the message says what (in French); nothing was written."""


@dataclass(frozen=True)
class Request:
    start: datetime.date
    end: datetime.date
    level: str
    territory: Territory | None


def parse_month(value: str, option: str) -> datetime.date:
    match = MONTH_RE.match(value or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise OpenDataError(
            f"{option} : mois « {value} » invalide, attendu AAAA-MM (par exemple 2026-01)."
        )
    return datetime.date(int(match[1]), int(match[2]), 1)


def find_territory(value: str) -> Territory:
    """A territory from ``CODE`` or ``niveau:CODE`` (a région and a département may share a
    code, e.g. 11)."""
    level, _, code = value.rpartition(":")
    qs = Territory.objects.filter(code=code.strip()).exclude(level=Level.QPV)
    if level:
        if level not in LEVEL_DEPTH or level == Level.QPV:
            raise OpenDataError(
                f"--territory : niveau « {level} » inconnu (possibles : région, "
                "departement, epci, commune, sous la forme niveau:CODE)."
            )
        qs = qs.filter(level=level)
    found = list(qs[:2])
    if not found:
        raise OpenDataError(f"--territory : aucun territoire de code « {value} ».")
    if len(found) > 1:
        raise OpenDataError(
            f"--territory : le code « {code} » désigne plusieurs territoires ("
            + ", ".join(f"{t.level}:{t.code}" for t in found)
            + ") ; précisez le niveau, par exemple departement:"
            + code
            + "."
        )
    return found[0]


def check_request(start: str, end: str, level: str, territory: str | None) -> Request:
    first, last = parse_month(start, "--start"), parse_month(end, "--end")
    if last < first:
        raise OpenDataError(f"--end ({end}) est antérieur à --start ({start}).")
    if level not in LEVELS:
        raise OpenDataError(
            f"--level : niveau « {level} » inconnu (possibles : {', '.join(LEVELS)})."
        )
    place = find_territory(territory) if territory else None
    if place is not None and LEVEL_DEPTH[Level(place.level)] > LEVEL_DEPTH[Level(level)]:
        raise OpenDataError(
            f"--level {level} : plus large que le territoire « {place.name} » "
            f"({place.level}) ; choisissez un niveau égal ou plus fin."
        )
    return Request(first, last, level, place)


def check_output(directory: Path) -> None:
    """Whether the files can be written in ``directory`` (created if missing)."""
    if directory.exists() and not directory.is_dir():
        raise OpenDataError(f"--output : « {directory} » existe et n'est pas un répertoire.")
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OpenDataError(f"--output : impossible d'écrire dans « {directory} ».")


# --- figures --------------------------------------------------------------------------------


def _perimeter(request: Request) -> engine.Perimeter:
    return engine.Perimeter(start=request.start, end=request.end, territory=request.territory)


def _cube_rows(cube, request: Request, keys: tuple[str, ...], measures: tuple[str, ...]):
    """Sums by month × commune × keys, from the fine cube, in the engine's perimeter."""
    return (
        engine.perimeter_rows(cube, _perimeter(request))
        .values("month", "commune_id", *keys)
        .annotate(**{f"s_{m}": Sum(m) for m in measures})
        .values_list("month", "commune_id", *keys, *(f"s_{m}" for m in measures))
    )


def _areas(request: Request, commune_ids) -> dict[int, list[int]]:
    """commune id → ids of the territories of the requested level containing it (closure
    table, as the engine's ``by_child_territory``)."""
    links = TerritoryAncestor.objects.filter(
        descendant_id__in=set(commune_ids), ancestor__level=request.level
    )
    if request.territory is not None:
        links = links.filter(
            ancestor__ancestor_links__ancestor=request.territory
        )  # an area inside the chosen territory
    out: dict[int, list[int]] = defaultdict(list)
    for ancestor_id, descendant_id in links.values_list("ancestor_id", "descendant_id"):
        out[descendant_id].append(ancestor_id)
    return out


def _roll_up(request: Request, rows, width: int) -> dict[tuple, list[int]]:
    """{(month, territory id, *category): [sums]} at the requested level."""
    rows = list(rows)
    areas = _areas(request, (r[1] for r in rows))
    out: dict[tuple, list[int]] = defaultdict(lambda: [0] * width)
    for month, commune_id, *rest in rows:
        category, values = tuple(rest[: len(rest) - width]), rest[len(rest) - width :]
        for area_id in areas.get(commune_id, ()):
            sums = out[(month, area_id, *category)]
            for i, v in enumerate(values):
                sums[i] += v or 0
    return out


def _protected(cells: dict[tuple, list[int]], measure: int, threshold: int) -> dict[tuple, str]:
    """Displayed strings of one measure, one protected table per month (territories ×
    categories, margins assumed published)."""
    by_month: dict = defaultdict(dict)
    for (month, area_id, *category), values in cells.items():
        by_month[month][(area_id, tuple(category))] = values[measure]
    shown: dict[tuple, str] = {}
    for month, values in by_month.items():
        areas = sorted({a for a, _ in values})
        categories = sorted({c for _, c in values})
        matrix = [[values.get((a, c), 0) for c in categories] for a in areas]
        table = suppression.protect_table(matrix, threshold=threshold)
        for i, a in enumerate(areas):
            for j, c in enumerate(categories):
                if (a, c) in values:
                    shown[(month, a, *c)] = table.rows[i][j].display()
    return shown


def _months(request: Request) -> list[datetime.date]:
    months, month = [], request.start
    while month <= request.end:
        months.append(month)
        month = add_months(month, 1)
    return months


def _job_rows(request: Request) -> list[tuple]:
    """(month, commune of the employer, contract type, contracts, people, posts, FTE) for
    each month a contract runs in (at least one day of it)."""
    months = _months(request)
    after_end = add_months(request.end, 1)
    contracts = Contract.objects.filter(starts_on__lt=after_end).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=request.start)
    )
    cells: dict[tuple, list] = defaultdict(lambda: [0, set(), set(), decimal.Decimal(0)])
    for starts_on, ends_on, type_id, mediator_id, post_id, fte, commune_id in (
        contracts.values_list(
            "starts_on", "ends_on", "contract_type_id", "mediator_id", "post_id", "fte",
            "post__structure__commune_id",
        )
    ):  # fmt: skip
        for month in months:
            if starts_on < add_months(month, 1) and (ends_on is None or ends_on >= month):
                cell = cells[(month, commune_id, type_id)]
                cell[0] += 1
                cell[1].add(mediator_id)
                cell[2].add(post_id)
                cell[3] += fte
    return [
        (*key, count, len(people), len(posts), fte)
        for key, (count, people, posts, fte) in cells.items()
    ]


def _job_lines(request: Request, t: int, place) -> list[list[str]]:
    cells = _roll_up(request, _job_rows(request), 4)
    people = _protected(cells, 1, t)
    types = dict(ContractType.objects.values_list("pk", "code"))
    lines = []
    for key, (contracts, _, posts, fte) in cells.items():
        month, area_id, type_id = key
        shown = people[key]
        hidden = not shown.isdigit()
        lines.append(
            [
                month.strftime("%Y-%m"),
                *place(area_id),
                types.get(type_id, ""),
                suppression.MASKED if hidden else str(contracts),
                shown,
                suppression.MASKED if hidden else str(posts),
                suppression.MASKED if hidden else f"{fte:.2f}",
            ]
        )
    lines.sort(key=lambda r: (r[0], r[1], r[4]))
    return lines


@dataclass(frozen=True)
class OpenData:
    activity: list[list[str]]  # header first
    results: list[list[str]]
    jobs: list[list[str]]
    package: dict


def build(request: Request, *, threshold: int | None = None) -> OpenData:
    """The three tables (displayed strings only) and the data package describing them."""
    t = settings.LIEN_SMALL_CELL_THRESHOLD if threshold is None else threshold
    keys, measures = ("activity_type_id", "domain_id"), ("interventions", "people_met")
    activity_cells = _roll_up(request, _cube_rows(ActivityCube, request, keys, measures), 2)
    activity_cells = {k: v for k, v in activity_cells.items() if v[0]}
    result_cells = _roll_up(
        request, _cube_rows(ResultCube, request, ("outcome_id",), ("interventions",)), 1
    )
    result_cells = {k: v for k, v in result_cells.items() if v[0]}
    area_ids = {k[1] for k in [*activity_cells, *result_cells]}
    areas = {t.pk: t for t in Territory.objects.defer("geometry").filter(pk__in=area_ids)}
    activities = dict(ActivityType.objects.values_list("pk", "code"))
    domains = dict(Domain.objects.values_list("pk", "code"))
    outcomes = {pk: (code, family) for pk, code, family in Outcome.objects.values_list(
        "pk", "code", "family")}  # fmt: skip

    def place(area_id):
        if area_id not in areas:  # an area with jobs but no intervention
            areas[area_id] = Territory.objects.defer("geometry").get(pk=area_id)
        area = areas[area_id]
        return [area.code, area.level, area.name]

    interventions = _protected(activity_cells, 0, t)
    people = _protected(activity_cells, 1, t)
    activity = [
        [
            month.strftime("%Y-%m"),
            *place(area_id),
            activities.get(activity_id, ""),
            domains.get(domain_id, ""),
            interventions[key],
            people[key],
        ]
        for key in activity_cells
        for month, area_id, activity_id, domain_id in [key]
    ]
    shown = _protected(result_cells, 0, t)
    results = [
        [
            month.strftime("%Y-%m"),
            *place(area_id),
            *reversed(outcomes.get(outcome_id, (NO_OUTCOME, NO_OUTCOME))),
            shown[key],
        ]
        for key in result_cells
        for month, area_id, outcome_id in [key]
    ]
    activity.sort(key=lambda r: (r[0], r[1], r[4], r[5]))
    results.sort(key=lambda r: (r[0], r[1], r[4], r[5]))
    jobs = _job_lines(request, t, place)
    package = datapackage(request, t)
    names = [[f["name"] for f in r["schema"]["fields"]] for r in package["resources"]]
    return OpenData([names[0], *activity], [names[1], *results], [names[2], *jobs], package)


# --- description ---------------------------------------------------------------------------


def _place_fields(level: str, month: str = "Mois des interventions") -> list[dict]:
    return [
        {
            "name": "mois",
            "title": "Mois",
            "type": "yearmonth",
            "format": "default",
            "description": f"{month}, au format ISO 8601 AAAA-MM.",
            "example": "2026-01",
            "constraints": {"required": True},
        },
        {
            "name": "code_insee",
            "title": "Code INSEE du territoire",
            "type": "string",
            "description": (
                "Code officiel géographique (COG) de l'INSEE, en texte (zéros initiaux "
                "conservés, 2A/2B pour la Corse) : 2 ou 3 caractères pour un département, "
                "5 pour une commune, numéro SIREN à 9 chiffres pour un EPCI."
            ),
            "example": "01004",
            "constraints": {"required": True, "pattern": CODE_PATTERN},
        },
        {
            "name": "niveau",
            "title": "Niveau territorial",
            "type": "string",
            "description": "Niveau du territoire : departement, epci ou commune.",
            "example": level,
            "constraints": {"required": True, "enum": [str(lv) for lv in LEVELS]},
        },
        {
            "name": "libelle",
            "title": "Nom du territoire",
            "type": "string",
            "description": "Nom officiel du territoire dans le COG.",
            "example": "Ambérieu-en-Bugey",
            "constraints": {"required": True},
        },
    ]


def _count_field(name: str, title: str, description: str, t: int) -> dict:
    return {
        "name": name,
        "title": title,
        "type": "integer",
        "description": (
            f"{description} Secret statistique : « < {t} » pour un effectif de 1 à {t - 1}, "
            "« secret » pour une valeur masquée afin qu'un petit effectif ne puisse pas être "
            "recalculé (valeurs manquantes du schéma)."
        ),
        "example": "12",
        "constraints": {"minimum": 0},
    }


def datapackage(request: Request, t: int) -> dict:
    missing = [f"< {t}", suppression.MASKED]
    scope = request.territory.name if request.territory else "France entière"
    period = f"{request.start:%Y-%m} à {request.end:%Y-%m}"
    activity_fields = [
        *_place_fields(request.level),
        {
            "name": "type_activite",
            "title": "Type d'activité",
            "type": "string",
            "description": "Code du type d'activité dans le référentiel de Lien.",
            "example": "gestion-conflits",
            "constraints": {
                "required": True,
                "enum": sorted(ActivityType.objects.values_list("code", flat=True)),
            },
        },
        {
            "name": "domaine",
            "title": "Domaine d'intervention",
            "type": "string",
            "description": "Code du domaine d'intervention dans le référentiel de Lien.",
            "example": "habitat-social",
            "constraints": {
                "required": True,
                "enum": sorted(Domain.objects.values_list("code", flat=True)),
            },
        },
        _count_field("interventions", "Nombre d'interventions", "Interventions saisies.", t),
        _count_field(
            "personnes_rencontrees",
            "Nombre de personnes rencontrées",
            "Personnes rencontrées lors de ces interventions (une personne rencontrée deux "
            "fois compte deux fois).",
            t,
        ),
    ]
    result_fields = [
        *_place_fields(request.level),
        {
            "name": "famille_issue",
            "title": "Famille d'issue",
            "type": "string",
            "description": (
                "Famille de l'issue (résolu, partiellement résolu, refus…) ; "
                f"« {NO_OUTCOME} » pour les interventions sans issue saisie."
            ),
            "example": "resolved",
            "constraints": {
                "required": True,
                "enum": [*Outcome.Family.values, NO_OUTCOME],
            },
        },
        {
            "name": "issue",
            "title": "Issue",
            "type": "string",
            "description": (
                "Code de l'issue dans le référentiel de Lien ; "
                f"« {NO_OUTCOME} » pour les interventions sans issue saisie."
            ),
            "example": "apaise-resolu",
            "constraints": {
                "required": True,
                "enum": sorted([*Outcome.objects.values_list("code", flat=True), NO_OUTCOME]),
            },
        },
        _count_field("interventions", "Nombre d'interventions", "Interventions saisies.", t),
    ]
    jobs_fields = [
        *_place_fields(request.level, "Mois où les contrats courent (au moins un jour)"),
        {
            "name": "type_contrat",
            "title": "Type de contrat",
            "type": "string",
            "description": (
                "Code du type de contrat dans le référentiel de Lien (adulte-relais, CDI…). "
                "Le territoire est celui du siège de la structure employeuse."
            ),
            "example": "adulte-relais",
            "constraints": {
                "required": True,
                "enum": sorted(ContractType.objects.values_list("code", flat=True)),
            },
        },
        _count_field(
            "contrats",
            "Nombre de contrats",
            "Contrats en cours dans le mois (masqué avec le nombre de personnes).",
            t,
        ),
        _count_field(
            "personnes",
            "Nombre de personnes employées",
            "Personnes titulaires de ces contrats (la mesure protégée).",
            t,
        ),
        _count_field(
            "postes",
            "Nombre de postes",
            "Postes occupés par ces contrats (masqué avec le nombre de personnes).",
            t,
        ),
        {
            "name": "etp",
            "title": "Équivalents temps plein",
            "type": "number",
            "description": (
                "Somme des ETP de ces contrats, deux décimales (séparateur « . ») ; "
                "« secret » quand le nombre de personnes est masqué."
            ),
            "example": "3.50",
            "constraints": {"minimum": 0},
        },
    ]
    common = (
        "Aucune donnée nominative : des comptes issus des agrégats de Lien. Une combinaison "
        "sans effectif n'a pas de ligne (sa valeur est 0). Pour chaque mois, le tableau "
        "territoires × catégories est protégé par le secret statistique (seuil "
        f"{t}, secret primaire et secondaire), ses totaux étant réputés publiés. "
        + suppression.legend(t)
    )

    def resource(name, title, description, fields, key):
        return {
            "name": name,
            "title": title,
            "description": f"{description} {common}",
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True, "quoteChar": '"'},
            "schema": {
                "fields": fields,
                "missingValues": missing,
                "primaryKey": key,
            },
        }

    return {
        "profile": "tabular-data-package",
        "name": "lien-mediation-sociale",
        "title": f"Activité, résultats et emplois de la médiation sociale ({scope}, {period})",
        "description": (
            "Données agrégées et non nominatives de la médiation sociale, par mois et par "
            f"territoire (niveau {request.level}), issues des cahiers de liaison des "
            "structures utilisant Lien."
        ),
        "created": timezone.now().replace(microsecond=0).isoformat(),
        "temporal": {"start": f"{request.start:%Y-%m}", "end": f"{request.end:%Y-%m}"},
        "licenses": [LICENSE],
        "sources": [
            {
                "title": "Lien — système d'information de la médiation sociale "
                "(agrégats mensuels des interventions saisies)"
            },
            {
                "title": "INSEE — Code officiel géographique",
                "path": "https://www.insee.fr/fr/information/2560452",
            },
        ],
        "resources": [
            resource(
                "activite",
                "Activité par type et domaine",
                "Interventions et personnes rencontrées par mois, territoire, type d'activité "
                "et domaine.",
                activity_fields,
                ["mois", "code_insee", "type_activite", "domaine"],
            ),
            resource(
                "resultats",
                "Résultats des interventions",
                "Interventions par mois, territoire et issue.",
                result_fields,
                ["mois", "code_insee", "issue"],
            ),
            resource(
                "emplois",
                "Emplois de la médiation sociale",
                "Contrats, personnes employées, postes et ETP par mois, territoire du siège "
                "de l'employeur et type de contrat.",
                jobs_fields,
                ["mois", "code_insee", "type_contrat"],
            ),
        ],
    }


# --- writing ---------------------------------------------------------------------------------


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def write(data: OpenData, directory: Path) -> list[Path]:
    """Write the four files, all or nothing (temporary files renamed at the end)."""
    check_output(directory)
    contents = {
        "activite.csv": _csv(data.activity),
        "resultats.csv": _csv(data.results),
        "emplois.csv": _csv(data.jobs),
        "datapackage.json": (json.dumps(data.package, ensure_ascii=False, indent=2) + "\n").encode(
            "utf-8"
        ),
    }
    created = not directory.exists()
    temporary: dict[str, str] = {}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in contents.items():
            handle, path = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            temporary[name] = path
            with os.fdopen(handle, "wb") as f:
                f.write(content)
            os.chmod(path, 0o644)
    except OSError as exc:
        for path in temporary.values():
            Path(path).unlink(missing_ok=True)
        if created and directory.exists() and not any(directory.iterdir()):
            directory.rmdir()
        message = f"--output : écriture impossible dans « {directory} » ({exc})."
        raise OpenDataError(message) from exc
    for name, path in temporary.items():
        os.replace(path, directory / name)
    return [directory / name for name in contents]


# --- publication ------------------------------------------------------------------------------

#: The files of a published data set, in the order the page lists them.
FILES = ("datapackage.json", "activite.csv", "resultats.csv", "emplois.csv")


def default_months(today: datetime.date | None = None) -> tuple[str, str]:
    """The last twelve whole months (for the monthly publication): ``(start, end)``."""
    today = today or timezone.localdate()
    end = add_months(today.replace(day=1), -1)
    start = add_months(end, -11)
    return f"{start:%Y-%m}", f"{end:%Y-%m}"


def publish(data: OpenData) -> list[Path]:
    """Replace the published data set (``LIEN_OPEN_DATA_ROOT``) by ``data``; the four files
    change together (written beside, then renamed one by one over the old ones, the
    description last, so that a reader never gets a description of files not yet there)."""
    root = Path(settings.LIEN_OPEN_DATA_ROOT)
    staged = root / ".nouveau"
    if staged.exists():
        for leftover in staged.iterdir():
            leftover.unlink()
    write(data, staged)
    for name in (*FILES[1:], FILES[0]):
        os.replace(staged / name, root / name)
    staged.rmdir()
    return [root / name for name in FILES]


@dataclass(frozen=True)
class Published:
    """What /donnees-ouvertes/ shows: the description and the files' sizes."""

    package: dict
    generated_at: datetime.datetime
    sizes: dict[str, int]

    @property
    def package_size(self) -> int:
        return self.sizes.get(FILES[0], 0)

    @property
    def resources(self) -> list[dict]:
        return [
            {**resource, "size": self.sizes.get(resource["path"], 0)}
            for resource in self.package.get("resources", [])
        ]


def published() -> Published | None:
    """The published data set, or None when nothing was published (or it is incomplete)."""
    root = Path(settings.LIEN_OPEN_DATA_ROOT)
    try:
        package = json.loads((root / FILES[0]).read_text(encoding="utf-8"))
        stats = {name: (root / name).stat() for name in FILES}
    except (OSError, ValueError):
        return None
    moment = datetime.datetime.fromtimestamp(stats[FILES[0]].st_mtime, tz=datetime.UTC)
    sizes = {name: stat.st_size for name, stat in stats.items()}
    return Published(package, timezone.localtime(moment), sizes)


def published_file(name: str) -> Path | None:
    """One file of the published set, by its name; any other name is None."""
    if name not in FILES:
        return None
    path = Path(settings.LIEN_OPEN_DATA_ROOT) / name
    return path if path.is_file() else None
