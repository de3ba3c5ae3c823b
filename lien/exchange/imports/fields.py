"""How one cell becomes a value: the parsers shared by every kind of import.

A parser takes the cell's text (already stripped) and returns the value, or raises
`CellError` with the reason in French; the engine adds the line, the column and the value.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from lien.core.validators import reject_markup

#: Dates before this are refused as out of range (typing errors such as 1926 for 2026).
EARLIEST_DATE = datetime.date(2000, 1, 1)


class CellError(Exception):
    """The cell's value is refused; the message is the reason."""


@dataclass(frozen=True)
class Column:
    """A target field of an import, and what the mapping step shows about it."""

    name: str
    label: str
    required: bool = False
    help: str = ""
    aliases: tuple[str, ...] = ()


def normalise_header(text: str) -> str:
    """ "Date de l'intervention " → "date de l intervention" (for guessing the mapping)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def guess_mapping(columns: list[Column], headers: list[str]) -> dict[str, str]:
    """Each target field ← the header whose name matches its name, label or an alias."""
    by_name = {normalise_header(h): h for h in headers}
    mapping = {}
    for column in columns:
        for candidate in (column.name, column.label, *column.aliases):
            header = by_name.get(normalise_header(candidate))
            if header is not None and header not in mapping.values():
                mapping[column.name] = header
                break
    return mapping


def text(value: str, *, max_length: int) -> str:
    if len(value) > max_length:
        raise CellError(f"texte trop long ({len(value)} caractères, {max_length} au plus)")
    try:
        reject_markup(value)
    except ValidationError as exc:
        raise CellError(exc.messages[0].rstrip(".")) from None
    if "\x00" in value:
        raise CellError("caractère nul interdit")
    return value


def integer(value: str, *, minimum: int, maximum: int) -> int:
    cleaned = value.replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if cleaned.endswith((",0", ".0")):
        cleaned = cleaned[:-2]
    if not re.fullmatch(r"-?\d{1,12}", cleaned):
        raise CellError("nombre entier attendu")
    number = int(cleaned)
    if not minimum <= number <= maximum:
        raise CellError(f"doit être compris entre {minimum} et {maximum}")
    return number


def decimal(value: str, *, minimum: Decimal, maximum: Decimal, places: int = 2) -> Decimal:
    cleaned = value.replace(" ", "").replace("\xa0", "").replace(",", ".")
    if not re.fullmatch(r"-?\d{1,12}(\.\d+)?", cleaned):
        raise CellError("nombre attendu (par exemple 0,5)")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError("nombre attendu (par exemple 0,5)") from None
    if not minimum <= number <= maximum:
        raise CellError(f"doit être compris entre {minimum} et {maximum}".replace(".", ","))
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise CellError(f"{places} décimales au plus")
    return number


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_FR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?")


def date(value: str, *, latest: datetime.date | None = None) -> datetime.date:
    """ISO (2026-03-31) or French (31/03/2026), between 2000 and `latest` (default today)."""
    head = value.split()[0] if value.split() else value
    head = head.split("T")[0]
    if match := _ISO_DATE.fullmatch(head):
        year, month, day = (int(g) for g in match.groups())
    elif match := _FR_DATE.fullmatch(head):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise CellError("date attendue au format AAAA-MM-JJ ou JJ/MM/AAAA")
    try:
        parsed = datetime.date(year, month, day)
    except ValueError:
        raise CellError("date impossible (jour ou mois hors du calendrier)") from None
    latest = latest or timezone.localdate()
    if not EARLIEST_DATE <= parsed <= latest:
        raise CellError(
            f"date hors de la plage acceptée ({EARLIEST_DATE:%d/%m/%Y} – {latest:%d/%m/%Y})"
        )
    return parsed


def time_of_day(value: str) -> datetime.time:
    match = _TIME.fullmatch(value)
    if not match:
        raise CellError("heure attendue au format HH:MM")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise CellError("heure impossible")
    return datetime.time(hour, minute, second)


def moment(
    value: str, at: datetime.time | None = None, *, latest: datetime.date | None = None
) -> datetime.datetime:
    """A date with an optional time (in the same cell, or `at` from another column), made
    aware in the site's time zone; midnight when no time is given."""
    day = date(value, latest=latest)
    parts = value.replace("T", " ").split()
    if at is None:
        at = time_of_day(parts[1][:8]) if len(parts) > 1 else datetime.time(0)
    return datetime.datetime.combine(day, at, tzinfo=_zone())


_zone_cache: dict[str, ZoneInfo] = {}


def _zone() -> ZoneInfo:
    name = settings.TIME_ZONE
    if name not in _zone_cache:
        _zone_cache[name] = ZoneInfo(name)
    return _zone_cache[name]


def parts(value: str) -> list[str]:
    """The items of a cell that lists several, separated by « | » or « ; » (blanks dropped)."""
    return [part.strip() for part in value.replace("|", ";").split(";") if part.strip()]


def lookup_key(text: str) -> str:
    """Case, typographic apostrophes and repeated spaces do not matter in a code or label."""
    return " ".join(text.replace("\u2019", "'").casefold().split())


class Lookup:
    """Codes (or labels, case-insensitive) of a vocabulary → its value, loaded once."""

    def __init__(self, pairs, *, what: str):
        self.what = what
        self.values: dict[str, object] = {}
        for keys, value in pairs:
            for key in keys:
                if key:
                    self.values.setdefault(lookup_key(str(key)), value)

    def __call__(self, value: str):
        found = self.values.get(value.casefold()) or self.values.get(lookup_key(value))
        if found is None:
            raise CellError(f"{self.what} inconnu·e")
        return found


def reference_lookup(model, *, what: str) -> Lookup:
    """A référentiel's items by code or label (inactive ones too: history uses them)."""
    return Lookup(
        (
            ((code, label), pk)
            for pk, code, label in model.objects.values_list("pk", "code", "label")
        ),
        what=what,
    )


def choices_lookup(choices, *, what: str) -> Lookup:
    """A TextChoices by value or French label."""
    return Lookup((((value, str(label)), value) for value, label in choices.choices), what=what)
