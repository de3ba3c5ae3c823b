"""Reading an uploaded file as rows of text cells, streaming, whatever its format.

`inspect()` looks at the start of the file (format, encoding, separator, headers) and
refuses what cannot be read with a message that says why; `iter_rows()` then yields the
data rows one at a time (a CSV is decoded as it is read, an XLSX is read in openpyxl's
read-only mode), so a million-row file never sits in memory.
"""

import codecs
import csv
import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

#: How much of the file is looked at to recognise its format and encoding.
SAMPLE_SIZE = 64 * 1024

_BINARY_SIGNATURES = {
    b"\xd0\xcf\x11\xe0": "un classeur Excel 97-2003 (.xls) : enregistrez-le en .xlsx ou en CSV",
    b"%PDF": "un document PDF",
    b"\x89PNG": "une image PNG",
    b"\xff\xd8\xff": "une image JPEG",
    b"GIF8": "une image GIF",
    b"\x1f\x8b": "une archive gzip",
}
_XLSX_SIGNATURE = b"PK\x03\x04"


class FileError(Exception):
    """The file as a whole cannot be read; the message says why, in French."""


@dataclass
class SourceInfo:
    file_format: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE_SIZE)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileError(
            f"Encodage non reconnu : l'octet 0x{sample[exc.start]:02X} (position {exc.start + 1}) "
            "n'existe ni en UTF-8 ni en Windows-1252. Enregistrez le fichier en CSV UTF-8."
        ) from None
    return "cp1252"


def _check_text(sample: bytes) -> None:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(
            "Encodage UTF-16 non pris en charge : enregistrez le fichier en CSV UTF-8 "
            "(ou Windows-1252)."
        )
    for signature, what in _BINARY_SIGNATURES.items():
        if sample.startswith(signature):
            raise FileError(f"Ce fichier n'est pas un CSV mais {what}.")
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if b"\x00" in sample or controls > len(sample) // 100:
        raise FileError(
            "Ce fichier n'est pas un fichier texte CSV (il contient des octets binaires) : "
            "déposez un CSV ou un classeur XLSX."
        )


def _guess_delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _clean_headers(raw: list) -> list[str]:
    headers = []
    for index, value in enumerate(raw):
        text = _cell_text(value).strip()
        headers.append(text or f"colonne {column_letter(index)}")
    while headers and headers[-1].startswith("colonne ") and not _cell_text(raw[len(headers) - 1]):
        headers.pop()  # trailing empty header cells (a spreadsheet's untouched columns)
    seen: dict[str, int] = {}
    for index, name in enumerate(headers):
        key = name.casefold()
        if key in seen:
            raise FileError(
                f"La colonne « {name} » apparaît deux fois (colonnes "
                f"{column_letter(seen[key])} et {column_letter(index)}) : renommez l'une d'elles."
            )
        seen[key] = index
    if not headers:
        raise FileError("La première ligne doit donner le nom des colonnes ; elle est vide.")
    return headers


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def inspect(raw: io.BufferedIOBase, size: int) -> SourceInfo:
    """Recognise the file and read its header row; raise FileError if it cannot be read."""
    if size == 0:
        raise FileError("Le fichier est vide (0 octet).")
    sample = raw.read(SAMPLE_SIZE)
    raw.seek(0)
    if sample.startswith(_XLSX_SIGNATURE):
        info = SourceInfo(file_format="xlsx")
        with _open_xlsx(raw) as rows:
            first = next(rows, None)
        if first is None:
            raise FileError("La première feuille du classeur est vide.")
        info.headers = _clean_headers(list(first[1]))
        return info
    _check_text(sample)
    encoding = _detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    info = SourceInfo(file_format="csv", encoding=encoding, delimiter=_guess_delimiter(first_line))
    rows = _csv_rows(raw, info)
    first = next(rows, None)
    rows.close()
    raw.seek(0)
    if first is None:
        raise FileError("Le fichier ne contient aucune ligne.")
    info.headers = _clean_headers(first[1])
    return info


class _XlsxRows:
    def __init__(self, raw):
        from openpyxl import load_workbook

        try:
            self.workbook = load_workbook(raw, read_only=True, data_only=True)
        except Exception:
            raise FileError(
                "Ce classeur XLSX est illisible (archive endommagée ou autre format renommé)."
            ) from None
        sheet = self.workbook.worksheets[0] if self.workbook.worksheets else None
        if sheet is None:
            raise FileError("Le classeur ne contient aucune feuille.")
        self.total = sheet.max_row or 0
        self.rows = sheet.iter_rows(values_only=True)
        self.line = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.workbook.close()

    def __iter__(self):
        return self

    def __next__(self):
        values = next(self.rows)
        self.line += 1
        return self.line, values

    def fraction(self) -> float:
        return self.line / self.total if self.total else 0.0


def _open_xlsx(raw) -> _XlsxRows:
    return _XlsxRows(raw)


def _csv_rows(raw, info: SourceInfo) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(raw, encoding=info.encoding, newline="")
    reader = csv.reader(text, delimiter=info.delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except UnicodeDecodeError:
        raise FileError(
            f"Encodage incohérent vers la ligne {reader.line_num + 1} : le fichier ne se lit "
            f"pas entièrement en {_ENCODING_NAMES.get(info.encoding, info.encoding)}. "
            "Enregistrez-le en CSV UTF-8."
        ) from None
    except csv.Error as exc:
        raise FileError(f"CSV mal formé à la ligne {reader.line_num} : {exc}.") from None
    finally:
        text.detach()


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}


class RowSource:
    """The data rows of a file as (line number, list of cell texts), with how far it got."""

    def __init__(self, raw, size: int, info: SourceInfo):
        self.raw, self.size, self.info = raw, size, info
        self._xlsx = None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        if self.info.file_format == "xlsx":
            with _open_xlsx(self.raw) as rows:
                self._xlsx = rows
                next(rows, None)  # the header row
                for line, values in rows:
                    cells = [_cell_text(v) for v in values]
                    if any(c.strip() for c in cells):
                        yield line, cells
            return
        rows = _csv_rows(self.raw, self.info)
        next(rows, None)
        for line, cells in rows:
            if any(c.strip() for c in cells):
                yield line, cells

    def fraction(self) -> float:
        """How much of the file has been read, from 0 to 1 (for the progress bar)."""
        if self._xlsx is not None:
            return self._xlsx.fraction()
        try:
            return min(self.raw.tell() / self.size, 1.0) if self.size else 0.0
        except (OSError, ValueError):
            return 0.0
