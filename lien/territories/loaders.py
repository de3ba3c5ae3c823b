"""Loading the official territory files into the hierarchy.

Sources (see `data/README.md`): the INSEE COG as published by the npm package
`@etalab/decoupage-administratif` (régions, départements, communes, EPCI: JSON lists, one
object per line), the QPV list (CSV of code, name, commune codes) and GeoJSON outlines.
The repository ships the COG for Nord and Pas-de-Calais and a few demonstration QPV; the
full files are passed by path.

A load reads and checks every file first and writes nothing if any row is wrong: the
error report names file, line and reason for each problem. Then one transaction upserts
by (level, code), so a re-run creates no duplicates, and rebuilds the closure table.

Hierarchy built (primary parent, then `secondary_parents`):
- région: none;
- département: its région;
- EPCI: the département holding most of its population, then the other départements of
  its members (EPCI straddle départements: CC Flandre Lys is in Nord and Pas-de-Calais);
- commune: its EPCI, and its département as a secondary parent; its département alone if
  it belongs to no EPCI (a few islands);
- QPV: its first commune, then the other communes it covers.
"""

import csv
import io
import json
import re
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from lien.core import audit
from lien.core.models import AuditAction
from lien.territories.models import Level, Territory, normalize_name
from lien.territories.services import territory_rebuild_ancestors

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_REGIONS = DATA_DIR / "regions.json"
SHIPPED_DEPARTEMENTS = DATA_DIR / "departements.json"
SHIPPED_COMMUNES = DATA_DIR / "communes.json"
SHIPPED_EPCI = DATA_DIR / "epci.json"
DEMO_QPV = DATA_DIR / "qpv-demo.csv"
_SHIPPED_FILES = {SHIPPED_REGIONS, SHIPPED_DEPARTEMENTS, SHIPPED_COMMUNES, SHIPPED_EPCI}

LEVEL_ORDER = [Level.REGION, Level.DEPARTEMENT, Level.EPCI, Level.COMMUNE, Level.QPV]

CODE_PATTERNS = {
    Level.REGION: re.compile(r"^\d{2,3}$"),
    Level.DEPARTEMENT: re.compile(r"^(\d{2,3}|2[AB])$"),
    Level.EPCI: re.compile(r"^\d{9}$"),
    Level.COMMUNE: re.compile(r"^(\d{5}|2[AB]\d{3})$"),
    Level.QPV: re.compile(r"^Q[A-Z0-9]{7}$"),
}
CODE_RULES = {
    Level.REGION: "2 ou 3 chiffres attendus",
    Level.DEPARTEMENT: "2 ou 3 caractères attendus : 59, 2A, 971…",
    Level.EPCI: "SIREN à 9 chiffres attendu",
    Level.COMMUNE: "code INSEE à 5 caractères attendu",
    Level.QPV: "Q suivi de 7 lettres majuscules ou chiffres attendu, par exemple QN05912M",
}
LEVEL_LABELS = {
    Level.REGION: "région",
    Level.DEPARTEMENT: "département",
    Level.EPCI: "EPCI",
    Level.COMMUNE: "commune",
    Level.QPV: "QPV",
}

# Column names accepted in a QPV CSV (lower-cased), first match wins.
QPV_CODE_COLUMNS = ("code", "code_qp", "code_qpv", "codeqpv")
QPV_NAME_COLUMNS = ("nom", "lib_qp", "nom_qp", "lib_qpv", "nom_qpv", "libelle")
QPV_COMMUNE_COLUMNS = ("insee_com", "communes", "code_insee", "codes_insee", "commune")
QPV_POPULATION_COLUMNS = ("population", "pop_mun", "pop")
# GeoJSON properties holding the territory code.
GEOJSON_CODE_PROPERTIES = ("code", "code_qp", "codgeo", "insee_com")
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")

_SPLIT_CODES = re.compile(r"[\s,|;]+")
_WARNINGS_SHOWN = 20

Key = tuple[str, str]  # (level, code)


def departement_of_commune(code: str) -> str:
    """The département part of a commune's INSEE code (3 characters overseas)."""
    return code[:3] if code[:2] in ("97", "98") else code[:2]


class TerritoryLoadError(Exception):
    """The files are unusable: nothing was written; `errors` names file, line, reason."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None):
        super().__init__("\n".join(errors))
        self.errors = errors
        self.warnings = warnings or []


@dataclass
class _Problems:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @staticmethod
    def _where(file: str, line: int | None) -> str:
        return f"{file}, ligne {line}" if line else file

    def error(self, file: str, line: int | None, reason: str) -> None:
        self.errors.append(f"{self._where(file, line)} : {reason}")

    def warning(self, file: str, line: int | None, reason: str) -> None:
        self.warnings.append(f"{self._where(file, line)} : {reason}")


@dataclass
class _Row:
    data: dict
    line: int


@dataclass
class _Spec:
    """One territory as the files describe it."""

    level: str
    code: str
    name: str
    parent: Key | None
    population: int | None = None
    # False when the files do not give the whole population (a département only partly
    # loaded): the stored figure is then left as it is.
    set_population: bool = True
    secondary: frozenset[Key] = frozenset()
    is_demo: bool = False

    @property
    def key(self) -> Key:
        return (self.level, self.code)


@dataclass
class LevelCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass
class LoadReport:
    files: list[str] = field(default_factory=list)
    counts: dict[str, LevelCounts] = field(default_factory=dict)
    links_added: int = 0
    links_removed: int = 0
    outlines: int = 0
    closure_rows: int | None = None
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0

    def level(self, level: str) -> LevelCounts:
        return self.counts.setdefault(level, LevelCounts())

    def lines(self, *, all_warnings: bool = False) -> list[str]:
        lines = ["Simulation : rien n'a été écrit."] if self.dry_run else []
        verb = "à créer" if self.dry_run else "créé(s)"
        for level in LEVEL_ORDER:
            if level not in self.counts:
                continue
            c = self.counts[level]
            line = (
                f"{LEVEL_LABELS[level]} : {c.created} {verb}, {c.updated} mis à jour, "
                f"{c.unchanged} inchangé(s)"
            )
            if c.skipped:
                line += f", {c.skipped} hors périmètre"
            lines.append(line)
        if self.links_added or self.links_removed:
            lines.append(
                f"autres rattachements : {self.links_added} ajouté(s), "
                f"{self.links_removed} retiré(s)"
            )
        if self.outlines:
            lines.append(f"contours : {self.outlines} attaché(s)")
        if self.closure_rows is not None:
            lines.append(f"table d'appartenance : {self.closure_rows} lignes")
        shown = self.warnings if all_warnings else self.warnings[:_WARNINGS_SHOWN]
        if self.warnings:
            lines.append(f"{len(self.warnings)} avertissement(s) :")
            lines += [f"  {w}" for w in shown]
            if len(shown) < len(self.warnings):
                lines.append(f"  … (les {len(self.warnings)} avec --verbosity 2)")
        lines.append(f"durée : {self.seconds:.1f} s")
        return lines

    def note(self) -> str:
        """The audit line: which files, what changed."""
        parts = [
            f"{LEVEL_LABELS[level]} {c.created}/{c.updated}/{c.unchanged}"
            for level in LEVEL_ORDER
            if (c := self.counts.get(level))
        ]
        note = "Chargement des territoires (créés/mis à jour/inchangés) : " + ", ".join(parts)
        if self.outlines:
            note += f" ; {self.outlines} contour(s)"
        return f"{note} ; fichiers : {', '.join(Path(f).name for f in self.files)}"


def _display(path: Path) -> str:
    """The name used in reports: relative to the project for the shipped files."""
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


# --- reading ------------------------------------------------------------------------------


def _read_bytes(path: Path, name: str, problems: _Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.error(name, None, f"fichier illisible ({exc.strerror or exc})")
        return None


def _decode_utf8(raw: bytes, name: str, problems: _Problems) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(name, line, "encodage invalide (UTF-8 attendu)")
        return None


class _Lines:
    """Line numbers of positions in a text, for positions visited in increasing order."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


_WHITESPACE = re.compile(r"\s*")


def _json_array(text: str, start: int = 0) -> tuple[list[tuple[object, int]], int]:
    """The elements of the JSON array at `start` with their offsets, and the end offset.

    Raises json.JSONDecodeError (with the line in the whole text) on bad syntax. Reads
    any layout, and tells where each element starts, which json.loads does not.
    """
    decoder = json.JSONDecoder()
    items: list[tuple[object, int]] = []
    pos = _WHITESPACE.match(text, start).end()
    if text[pos : pos + 1] != "[":
        raise json.JSONDecodeError("une liste JSON [ … ] est attendue", text, pos)
    pos = _WHITESPACE.match(text, pos + 1).end()
    if text[pos : pos + 1] == "]":
        return items, pos + 1
    while True:
        value, end = decoder.raw_decode(text, pos)
        items.append((value, pos))
        pos = _WHITESPACE.match(text, end).end()
        separator = text[pos : pos + 1]
        if separator == "]":
            return items, pos + 1
        if separator != ",":
            raise json.JSONDecodeError("« , » ou « ] » attendu", text, pos)
        pos = _WHITESPACE.match(text, pos + 1).end()


def _read_json_rows(path: Path, problems: _Problems) -> tuple[str, list[_Row]]:
    """The objects of a COG file with their line numbers ([] after an error)."""
    name = _display(path)
    raw = _read_bytes(path, name, problems)
    text = None if raw is None else _decode_utf8(raw, name, problems)
    if text is None:
        return name, []
    try:
        items, end = _json_array(text)
    except json.JSONDecodeError as exc:
        problems.error(name, exc.lineno, f"JSON invalide : {exc.msg} (colonne {exc.colno})")
        return name, []
    rows, lines = [], _Lines(text)
    for value, start in items:
        line = lines.at(start)
        if isinstance(value, dict):
            rows.append(_Row(value, line))
        else:
            problems.error(name, line, "un objet JSON { … } est attendu")
    if text[end:].strip():
        problems.error(name, lines.at(end), "contenu inattendu après la fin de la liste")
    return name, rows


def _text(row: _Row, key: str, name: str, problems: _Problems) -> str | None:
    value = row.data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        problems.error(name, row.line, f"champ « {key} » manquant ou vide")
        return None
    return value.strip()


def _code(
    value: str | None, level: str, name: str, line: int | None, problems: _Problems
) -> str | None:
    if value is None:
        return None
    if not CODE_PATTERNS[level].match(value):
        problems.error(
            name, line, f"code {LEVEL_LABELS[level]} « {value} » mal formé ({CODE_RULES[level]})"
        )
        return None
    return value


def _row_code(row: _Row, key: str, level: str, name: str, problems: _Problems) -> str | None:
    """The code in `row[key]`, checked against the level's format (None if wrong)."""
    return _code(_text(row, key, name, problems), level, name, row.line, problems)


def _population(
    value: object, name: str, line: int | None, problems: _Problems, key: str = "population"
) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.error(name, line, f"« {key} » invalide : « {value} » (entier positif attendu)")
        return None
    return value


def _first_seen(seen: dict[str, int], code: str, line: int, name: str, problems: _Problems) -> bool:
    if code in seen:
        problems.error(name, line, f"code « {code} » en double (déjà ligne {seen[code]})")
        return False
    seen[code] = line
    return True


# --- COG ----------------------------------------------------------------------------------


@dataclass
class _Commune:
    name: str
    departement: str
    population: int | None


@dataclass
class _Cog:
    specs: list[_Spec]
    departements: set[str]  # the départements whose communes are loaded
    communes: set[str]  # the communes loaded


def _parse_regions(path: Path, problems: _Problems) -> tuple[str, dict[str, str]]:
    """Every région of the file: code -> name."""
    name, rows = _read_json_rows(path, problems)
    regions: dict[str, str] = {}
    seen: dict[str, int] = {}
    for row in rows:
        code = _row_code(row, "code", Level.REGION, name, problems)
        label = _text(row, "nom", name, problems)
        if code and label and _first_seen(seen, code, row.line, name, problems):
            regions[code] = label
    return name, regions


def _parse_departements(
    path: Path, regions: dict[str, str], regions_name: str, problems: _Problems
) -> tuple[str, dict[str, tuple[str, str]]]:
    """Every département of the file: code -> (name, région)."""
    name, rows = _read_json_rows(path, problems)
    departements: dict[str, tuple[str, str]] = {}
    seen: dict[str, int] = {}
    for row in rows:
        code = _row_code(row, "code", Level.DEPARTEMENT, name, problems)
        label = _text(row, "nom", name, problems)
        region = _text(row, "region", name, problems)
        if region and regions and region not in regions:
            problems.error(name, row.line, f"région « {region} » inconnue dans {regions_name}")
            continue
        if code and label and region and _first_seen(seen, code, row.line, name, problems):
            departements[code] = (label, region)
    return name, departements


def _parse_communes(
    path: Path,
    *,
    departements: dict[str, tuple[str, str]],
    departements_name: str,
    only: set[str],
    report: LoadReport,
    problems: _Problems,
) -> tuple[str, dict[str, _Commune], set[str]]:
    """The current communes of the départements `only` (all if empty).

    Returns the file's name, code -> commune, and the codes of rows found wrong (so that
    the EPCI listing them do not repeat the error).
    """
    name, rows = _read_json_rows(path, problems)
    communes: dict[str, _Commune] = {}
    wrong: set[str] = set()
    seen: dict[str, int] = {}
    for row in rows:
        # A commune déléguée shares its code with its commune nouvelle: only the current
        # communes are loaded, and checked.
        if row.data.get("type", "commune-actuelle") != "commune-actuelle":
            continue
        code = _row_code(row, "code", Level.COMMUNE, name, problems)
        label = _text(row, "nom", name, problems)
        dep = _row_code(row, "departement", Level.DEPARTEMENT, name, problems)
        population = _population(row.data.get("population"), name, row.line, problems)
        errors_before = len(problems.errors)
        if not (code and label and dep):
            pass
        elif not _first_seen(seen, code, row.line, name, problems):
            continue
        elif only and dep not in only:
            report.level(Level.COMMUNE).skipped += 1
            continue
        elif departement_of_commune(code) != dep:
            problems.error(
                name, row.line, f"le code « {code} » ne correspond pas au département « {dep} »"
            )
        elif departements and dep not in departements:
            problems.error(
                name, row.line, f"département « {dep} » inconnu dans {departements_name}"
            )
        elif (
            (region := row.data.get("region")) and departements and (region != departements[dep][1])
        ):
            problems.error(
                name,
                row.line,
                f"région « {region} » différente de celle du département « {dep} » "
                f"({departements[dep][1]})",
            )
        if len(problems.errors) > errors_before or not (code and label and dep):
            if code:
                wrong.add(code)
            continue
        communes[code] = _Commune(label, dep, population)
    loaded = {commune.departement for commune in communes.values()}
    for code in sorted(only - loaded):
        if code in departements:
            problems.error(name, None, f"aucune commune du département « {code} »")
    return name, communes, wrong


def _parse_epci(
    path: Path,
    *,
    communes: dict[str, _Commune],
    communes_name: str,
    wrong_communes: set[str],
    scope: set[str],
    departements: dict[str, tuple[str, str]],
    departements_name: str,
    report: LoadReport,
    problems: _Problems,
) -> tuple[list[_Spec], dict[str, str]]:
    """The EPCI with at least one loaded member, and commune -> EPCI."""
    name, rows = _read_json_rows(path, problems)
    member_of: dict[str, tuple[str, int]] = {}  # commune -> (EPCI, line)
    specs: list[_Spec] = []
    seen: dict[str, int] = {}
    for row in rows:
        code = _row_code(row, "code", Level.EPCI, name, problems)
        label = _text(row, "nom", name, problems)
        population = _population(
            row.data.get("populationMunicipale", row.data.get("population")),
            name,
            row.line,
            problems,
            key="populationMunicipale",
        )
        members = row.data.get("membres")
        if not isinstance(members, list) or not members:
            problems.error(name, row.line, "champ « membres » manquant ou vide")
            continue
        if not (code and label) or not _first_seen(seen, code, row.line, name, problems):
            continue
        weights: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # dep -> [pop, count]
        loaded, errors_before = 0, len(problems.errors)
        for member in members:
            m_code = member.get("code") if isinstance(member, dict) else None
            if not isinstance(m_code, str) or not CODE_PATTERNS[Level.COMMUNE].match(m_code):
                problems.error(name, row.line, f"membre mal formé : {json.dumps(member)[:80]}")
                continue
            if m_code in member_of:
                other, other_line = member_of[m_code]
                problems.error(
                    name,
                    row.line,
                    f"la commune « {m_code} » est déjà membre de l'EPCI « {other} » "
                    f"(ligne {other_line})",
                )
                continue
            member_of[m_code] = (code, row.line)
            commune = communes.get(m_code)
            dep = commune.departement if commune else departement_of_commune(m_code)
            m_pop = member.get("populationMunicipale", member.get("population"))
            weights[dep][0] += m_pop if isinstance(m_pop, int) else 0
            weights[dep][1] += 1
            if commune:
                loaded += 1
            elif dep in scope and m_code not in wrong_communes:
                problems.error(
                    name,
                    row.line,
                    f"la commune membre « {m_code} » est absente de {communes_name} "
                    "(commune actuelle attendue)",
                )
        if len(problems.errors) > errors_before:
            continue
        if not loaded:
            report.level(Level.EPCI).skipped += 1
            continue
        unknown = sorted(dep for dep in weights if departements and dep not in departements)
        if unknown:
            problems.error(
                name,
                row.line,
                f"département(s) {', '.join(unknown)} des membres inconnu(s) dans "
                f"{departements_name}",
            )
            continue
        # The seat is not in the file: the département holding most of the population
        # stands for it (then most members, then the smallest code, to stay stable).
        ranked = sorted(weights, key=lambda dep: (-weights[dep][0], -weights[dep][1], dep))
        specs.append(
            _Spec(
                level=Level.EPCI,
                code=code,
                name=label,
                parent=(Level.DEPARTEMENT, ranked[0]),
                population=population,
                secondary=frozenset((Level.DEPARTEMENT, dep) for dep in ranked[1:]),
            )
        )
    return specs, {commune: epci for commune, (epci, _) in member_of.items()}


def _parse_cog(
    *,
    regions: Path,
    departements: Path,
    communes: Path,
    epci: Path,
    departement_codes: set[str],
    report: LoadReport,
    problems: _Problems,
) -> _Cog:
    """Check the four COG files together and describe the territories to load.

    Loaded: the communes of `departement_codes` (of the whole file if empty), the EPCI
    with a member among them, their départements and those the EPCI straddle, and the
    régions of these départements.
    """
    regions_name, region_names = _parse_regions(regions, problems)
    dep_name, dep_info = _parse_departements(departements, region_names, regions_name, problems)
    for code in sorted(departement_codes):
        if CODE_PATTERNS[Level.DEPARTEMENT].match(code) and dep_info and code not in dep_info:
            problems.error("--departement", None, f"département « {code} » inconnu dans {dep_name}")
    com_name, commune_data, wrong = _parse_communes(
        communes,
        departements=dep_info,
        departements_name=dep_name,
        only=departement_codes,
        report=report,
        problems=problems,
    )
    scope = departement_codes or {c.departement for c in commune_data.values()}
    epci_specs, epci_of = _parse_epci(
        epci,
        communes=commune_data,
        communes_name=com_name,
        wrong_communes=wrong,
        scope=scope,
        departements=dep_info,
        departements_name=dep_name,
        report=report,
        problems=problems,
    )
    if problems.errors:
        return _Cog(specs=[], departements=scope, communes=set(commune_data))

    # Populations of départements and régions: summed only where every commune is loaded.
    loaded_deps = set(scope)
    for spec in epci_specs:
        loaded_deps |= {code for _, code in {spec.parent, *spec.secondary}}
    dep_population: dict[str, int] = defaultdict(int)
    for commune in commune_data.values():
        dep_population[commune.departement] += commune.population or 0
    specs: list[_Spec] = []
    for region in sorted({dep_info[dep][1] for dep in loaded_deps}):
        region_deps = {dep for dep, (_, r) in dep_info.items() if r == region}
        complete = region_deps <= scope
        specs.append(
            _Spec(
                level=Level.REGION,
                code=region,
                name=region_names[region],
                parent=None,
                population=sum(dep_population[d] for d in region_deps) if complete else None,
                set_population=complete,
            )
        )
    for dep in sorted(loaded_deps):
        label, region = dep_info[dep]
        specs.append(
            _Spec(
                level=Level.DEPARTEMENT,
                code=dep,
                name=label,
                parent=(Level.REGION, region),
                population=dep_population[dep] if dep in scope else None,
                set_population=dep in scope,
            )
        )
    specs += epci_specs
    for code, commune in commune_data.items():
        dep_key = (Level.DEPARTEMENT, commune.departement)
        epci_code = epci_of.get(code)
        specs.append(
            _Spec(
                level=Level.COMMUNE,
                code=code,
                name=commune.name,
                parent=(Level.EPCI, epci_code) if epci_code else dep_key,
                population=commune.population,
                secondary=frozenset({dep_key}) if epci_code else frozenset(),
            )
        )
    return _Cog(specs=specs, departements=scope, communes=set(commune_data))


# --- QPV ------------------------------------------------------------------------------------


def _decode_csv(raw: bytes, name: str, problems: _Problems) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Files saved from a spreadsheet on Windows.
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(name, line, "encodage illisible (UTF-8 ou Windows-1252 attendu)")
        return None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for candidate in names:
        if candidate in header:
            return header.index(candidate)
    return None


def _parse_qpv(
    *,
    path: Path,
    is_demo: bool,
    known_communes: set[str],
    scope: set[str],
    report: LoadReport,
    problems: _Problems,
) -> list[_Spec]:
    """Check a QPV list and describe the QPV to load.

    Accepts `;` or `,` separated, UTF-8 or Windows-1252; a QPV's communes in one cell
    (separated by `,` `|` `;` or spaces) or over several rows. A QPV none of whose
    communes is in a loaded département (`scope`) is skipped, not an error, so that the
    national list loads over a partial COG.
    """
    name = _display(path)
    raw = _read_bytes(path, name, problems)
    text = None if raw is None else _decode_csv(raw, name, problems)
    if not text:
        if text == "":
            problems.error(name, 1, "fichier vide")
        return []
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().strip('"').lower() for h in next(reader)]
    columns = {
        "code": _column(header, QPV_CODE_COLUMNS),
        "nom": _column(header, QPV_NAME_COLUMNS),
        "communes": _column(header, QPV_COMMUNE_COLUMNS),
    }
    missing = [f"« {key} »" for key, index in columns.items() if index is None]
    if missing:
        problems.error(
            name, 1, f"colonne(s) {', '.join(missing)} absente(s) (en-tête : {first_line[:120]})"
        )
        return []
    pop_index = _column(header, QPV_POPULATION_COLUMNS)

    # code -> name, first line, population, [(commune, line)]
    qpvs: dict[str, dict] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        code = cells[columns["code"]].strip()
        if code:
            code = _code(code, Level.QPV, name, line, problems)
        else:
            problems.error(name, line, "code QPV manquant")
        label = cells[columns["nom"]].strip()
        if not label:
            problems.error(name, line, "nom du QPV manquant")
        commune_codes = [c for c in _SPLIT_CODES.split(cells[columns["communes"]]) if c]
        if not commune_codes:
            problems.error(name, line, "aucune commune indiquée")
        bad = [c for c in commune_codes if not CODE_PATTERNS[Level.COMMUNE].match(c)]
        for c in bad:
            problems.error(
                name, line, f"code commune « {c} » mal formé ({CODE_RULES[Level.COMMUNE]})"
            )
        population = (
            _population(cells[pop_index].strip(), name, line, problems)
            if pop_index is not None
            else None
        )
        if not (code and label and commune_codes) or bad:
            continue
        qpv = qpvs.get(code)
        if qpv is None:
            qpvs[code] = {
                "name": label,
                "line": line,
                "population": population,
                "communes": [(c, line) for c in commune_codes],
            }
            continue
        # Several rows for one QPV: one per commune it covers.
        if qpv["name"] != label:
            problems.error(name, line, f"QPV « {code} » : nom différent de la ligne {qpv['line']}")
        if qpv["population"] is None:
            qpv["population"] = population
        qpv["communes"] += [(c, line) for c in commune_codes]

    specs = []
    for code, qpv in qpvs.items():
        communes: list[str] = []
        outside: list[str] = []
        for commune, line in qpv["communes"]:
            if commune in communes or commune in outside:
                continue
            if departement_of_commune(commune) not in scope:
                outside.append(commune)
            elif commune not in known_communes:
                problems.error(
                    name,
                    line,
                    f"QPV « {code} » : commune « {commune} » inconnue (chargez d'abord le COG)",
                )
            else:
                communes.append(commune)
        if not communes:
            if outside:
                report.level(Level.QPV).skipped += 1
            continue
        if outside:
            problems.warning(
                name,
                qpv["line"],
                f"QPV « {code} » : commune(s) {', '.join(outside)} hors des départements "
                "chargés, ignorée(s)",
            )
        specs.append(
            _Spec(
                level=Level.QPV,
                code=code,
                name=qpv["name"],
                parent=(Level.COMMUNE, communes[0]),
                population=qpv["population"],
                secondary=frozenset((Level.COMMUNE, c) for c in communes[1:]),
                is_demo=is_demo,
            )
        )
    return specs


# --- GeoJSON --------------------------------------------------------------------------------


def _feature_lines(text: str, count: int) -> list[int | None]:
    """The line where each feature starts, or None for all if the layout is unusual."""
    match = re.search(r'"features"\s*:\s*(?=\[)', text)
    found: list[int | None] = []
    if match:
        lines = _Lines(text)
        try:
            found = [lines.at(start) for _, start in _json_array(text, match.end())[0]]
        except json.JSONDecodeError:
            found = []
    return found if len(found) == count else [None] * count


def _parse_geojson(
    *, path: Path, level: str, known: set[str], problems: _Problems
) -> list[tuple[str, dict]]:
    """Check a GeoJSON FeatureCollection and return (code, geometry) to attach."""
    name = _display(path)
    raw = _read_bytes(path, name, problems)
    text = None if raw is None else _decode_utf8(raw, name, problems)
    if text is None:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.error(name, exc.lineno, f"JSON invalide : {exc.msg} (colonne {exc.colno})")
        return []
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        problems.error(name, 1, "une FeatureCollection GeoJSON est attendue")
        return []
    outlines: list[tuple[str, dict]] = []
    seen: dict[str, str] = {}
    unknown = 0
    lines = _feature_lines(text, len(features))
    for index, (feature, line) in enumerate(zip(features, lines, strict=True), start=1):
        # Name the feature by its rank when the layout does not give its line.
        rank = "" if line else f"entité n° {index} : "
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            problems.error(name, line, f"{rank}« properties » manquant")
            continue
        value = next(
            (properties[p] for p in GEOJSON_CODE_PROPERTIES if properties.get(p) not in (None, "")),
            None,
        )
        if value is None:
            problems.error(
                name,
                line,
                f"{rank}aucune propriété de code ({', '.join(GEOJSON_CODE_PROPERTIES)})",
            )
            continue
        code = str(value).strip()
        if level == Level.COMMUNE and isinstance(value, int):
            code = code.zfill(5)  # a code written as a number lost its leading zero
        if not CODE_PATTERNS[level].match(code):
            problems.error(
                name,
                line,
                f"{rank}code {LEVEL_LABELS[level]} « {code} » mal formé ({CODE_RULES[level]})",
            )
            continue
        geometry = feature.get("geometry")
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") not in GEOMETRY_TYPES
            or not isinstance(geometry.get("coordinates"), list)
        ):
            kind = geometry.get("type") if isinstance(geometry, dict) else geometry
            problems.error(
                name,
                line,
                f"{rank}« {code} » : géométrie Polygon ou MultiPolygon attendue (reçu : {kind})",
            )
            continue
        if code in seen:
            problems.error(name, line, f"{rank}code « {code} » en double (déjà {seen[code]})")
            continue
        seen[code] = f"ligne {line}" if line else f"entité n° {index}"
        if code not in known:
            unknown += 1
            if unknown <= _WARNINGS_SHOWN:
                problems.warning(
                    name,
                    line,
                    f"{rank}code {LEVEL_LABELS[level]} « {code} » absent de la base, ignoré",
                )
            continue
        outlines.append((code, geometry))
    if unknown > _WARNINGS_SHOWN:
        problems.warning(name, None, f"{unknown} contours de territoires absents, ignorés")
    return outlines


# --- writing --------------------------------------------------------------------------------


def _write(specs: list[_Spec], report: LoadReport) -> None:
    """Upsert `specs` by (level, code) and sync their secondary parents; counts in report."""
    # (level, code) -> (id, level, code, name, parent id, population, is_demo, path)
    existing = {
        (row[1], row[2]): row
        for row in Territory.objects.values_list(
            "id", "level", "code", "name", "parent_id", "population", "is_demo", "path"
        )
    }
    key_of = {row[0]: key for key, row in existing.items()}
    ids = {key: row[0] for key, row in existing.items()}
    paths = {key: row[7] for key, row in existing.items()}

    through = Territory.secondary_parents.through
    current_links: dict[int, dict[Key, int]] = defaultdict(dict)  # child -> parent -> row id
    for link_id, child_id, parent_id in through.objects.values_list(
        "id", "from_territory_id", "to_territory_id"
    ):
        current_links[child_id][key_of[parent_id]] = link_id

    by_level: dict[str, list[_Spec]] = defaultdict(list)
    for spec in specs:
        by_level[spec.level].append(spec)
    links_to_add: list[tuple[Key, Key]] = []
    links_to_remove: list[int] = []
    for level in LEVEL_ORDER:
        counts = report.level(level) if by_level[level] else None
        new, changed = [], []
        for spec in by_level[level]:
            row = existing.get(spec.key)
            if row is None:
                parent_path = paths.get(spec.parent, "/") if spec.parent else "/"
                paths[spec.key] = f"{parent_path}{spec.code}/"
                new.append(spec)
                links_to_add += [(spec.key, p) for p in spec.secondary]
                continue
            pk, _, _, name, parent_id, old_population, is_demo, _ = row
            population = spec.population if spec.set_population else old_population
            fields_differ = (
                name != spec.name
                or key_of.get(parent_id) != spec.parent
                or population != old_population
                or is_demo != spec.is_demo
            )
            links = current_links.get(pk, {})
            missing = [(spec.key, p) for p in spec.secondary if p not in links]
            stale = [link_id for p, link_id in links.items() if p not in spec.secondary]
            links_to_add += missing
            links_to_remove += stale
            if fields_differ:
                changed.append((pk, spec, population))
            if fields_differ or missing or stale:
                counts.updated += 1
            else:
                counts.unchanged += 1
        if counts:
            counts.created += len(new)
        if report.dry_run:
            continue
        Territory.objects.bulk_create(
            [
                Territory(
                    level=spec.level,
                    code=spec.code,
                    name=spec.name,
                    search_name=normalize_name(spec.name),
                    parent_id=ids[spec.parent] if spec.parent else None,
                    population=spec.population,
                    is_demo=spec.is_demo,
                    path=paths[spec.key],
                )
                for spec in new
            ],
            batch_size=1000,
        )
        if new:
            # Not every database returns the new ids from a bulk insert: read them back.
            ids.update(
                ((level, code), pk)
                for code, pk in Territory.objects.filter(level=level).values_list("code", "id")
            )
        Territory.objects.bulk_update(
            [
                Territory(
                    pk=pk,
                    name=spec.name,
                    search_name=normalize_name(spec.name),
                    parent_id=ids[spec.parent] if spec.parent else None,
                    population=population,
                    is_demo=spec.is_demo,
                )
                for pk, spec, population in changed
            ],
            ["name", "search_name", "parent", "population", "is_demo"],
            batch_size=500,
        )
    report.links_added = len(links_to_add)
    report.links_removed = len(links_to_remove)
    if report.dry_run:
        return
    for start in range(0, len(links_to_remove), 500):
        through.objects.filter(pk__in=links_to_remove[start : start + 500]).delete()
    through.objects.bulk_create(
        [
            through(from_territory_id=ids[child], to_territory_id=ids[parent])
            for child, parent in links_to_add
        ],
        batch_size=1000,
    )


# --- entry point ----------------------------------------------------------------------------


def territory_load(
    *,
    load_cog: bool = True,
    regions: Path | None = None,
    departements: Path | None = None,
    communes: Path | None = None,
    epci: Path | None = None,
    departement_codes: Collection[str] = (),
    qpv: Path | None = None,
    qpv_is_demo: bool = False,
    geojson: Path | None = None,
    geojson_level: str = Level.COMMUNE,
    dry_run: bool = False,
) -> LoadReport:
    """Load territory files into the hierarchy, all or nothing.

    `load_cog` reads the four COG files (the shipped Nord/Pas-de-Calais extract for any
    not given); `departement_codes` restricts the communes (and so the EPCI and QPV) to
    those départements. `qpv` is a QPV list (`qpv_is_demo` marks its QPV as
    demonstration data); `geojson` attaches outlines to territories of `geojson_level`.
    Every file is checked before anything is written: if any row is wrong, raises
    TerritoryLoadError listing each problem as "file, ligne N : reason" and writes
    nothing. `dry_run` checks and counts without writing. One audit event per load.
    """
    started = time.monotonic()
    problems = _Problems()
    report = LoadReport(dry_run=dry_run)
    filter_codes = {code.strip().upper() for code in departement_codes if code.strip()}
    for code in sorted(filter_codes):
        if not CODE_PATTERNS[Level.DEPARTEMENT].match(code):
            problems.error(
                "--departement",
                None,
                f"code département « {code} » mal formé ({CODE_RULES[Level.DEPARTEMENT]})",
            )
    specs: list[_Spec] = []
    scope: set[str] = set()
    cog = None
    if load_cog:
        files = {
            "regions": regions or SHIPPED_REGIONS,
            "departements": departements or SHIPPED_DEPARTEMENTS,
            "communes": communes or SHIPPED_COMMUNES,
            "epci": epci or SHIPPED_EPCI,
        }
        shipped = {key for key, path in files.items() if path.resolve() in _SHIPPED_FILES}
        if {"communes", "epci"} & shipped and {"communes", "epci"} - shipped:
            problems.warning(
                "COG",
                None,
                "fichier de communes et fichier d'EPCI de sources différentes (l'un est "
                "l'extrait livré Nord / Pas-de-Calais) : des communes peuvent manquer "
                "leur EPCI",
            )
        report.files += [_display(path) for path in files.values()]
        cog = _parse_cog(**files, departement_codes=filter_codes, report=report, problems=problems)
        specs += cog.specs
        scope = cog.departements

    if qpv is not None:
        report.files.append(_display(qpv))
        known = set(Territory.objects.communes().values_list("code", flat=True))
        known |= cog.communes if cog else set()
        qpv_scope = filter_codes or {departement_of_commune(c) for c in known}
        specs += _parse_qpv(
            path=qpv,
            is_demo=qpv_is_demo,
            known_communes=known,
            scope=qpv_scope | scope,
            report=report,
            problems=problems,
        )

    outlines: list[tuple[str, dict]] = []
    if geojson is not None:
        if geojson_level not in CODE_PATTERNS:
            problems.error("--level", None, f"niveau « {geojson_level} » inconnu")
        else:
            report.files.append(_display(geojson))
            known = {s.code for s in specs if s.level == geojson_level}
            known |= set(Territory.objects.of_level(geojson_level).values_list("code", flat=True))
            outlines = _parse_geojson(
                path=geojson, level=geojson_level, known=known, problems=problems
            )

    report.warnings = problems.warnings
    if problems.errors:
        raise TerritoryLoadError(problems.errors, problems.warnings)

    report.outlines = len(outlines)
    if dry_run:
        _write(specs, report)
    else:
        with transaction.atomic():
            _write(specs, report)
            for code, geometry in outlines:
                Territory.objects.filter(level=geojson_level, code=code).update(geometry=geometry)
            if specs:
                report.closure_rows = territory_rebuild_ancestors()
            audit.record(action=AuditAction.LOAD, note=report.note())
    report.seconds = time.monotonic() - started
    return report
