"""Tables as downloads: CSV that Excel (French locale) opens right, and real XLSX.

CSV: UTF-8 with a byte-order mark (without it Excel reads Windows-1252), `;` between cells
(Excel FR takes `,` as the decimal mark), CRLF line ends, dates in ISO (`2026-05-01`,
`2026-05-01 14:30`: Excel FR recognises both as dates), decimals with a comma (`12,5`:
read as a number by Excel FR, where `12.5` would be text or a date), booleans as
« oui » / « non ». CSV is streamed (`StreamingHttpResponse`, rows read from the database by
chunks of 1,000) so that a 100,000-row list never sits in memory.

XLSX (openpyxl, write-only mode: rows go to a temporary file, not a tree in memory): bold
header row, frozen header, column widths, real date, number and decimal cells.

Both protect against formula injection (CSV injection, OWASP): a text cell beginning with
= + - @ tab or carriage return is written with a leading apostrophe, so a spreadsheet shows
it as text and never runs it.

A list view exports exactly its own queryset — the one its page shows, with its filters
and its `visible_to` scope, all pages — through `export_list`, which also journals the
export (`AuditAction.EXPORT`; a nominative export is journaled as a read as well).
"""

import csv
import datetime
import decimal
import functools
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from lien.core import audit
from lien.core.models import AuditAction
from lien.core.signals import client_ip

FORMATS = ("csv", "xlsx")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 1000


@dataclass(frozen=True)
class Column:
    """One column of an export: its French header and how to read it from a row."""

    header: str
    value: Callable[[Any], Any]
    width: int | None = None  # XLSX column width in characters; from the header otherwise


@dataclass
class Table:
    """A titled table (the dashboards write several per file)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int | None] = field(default_factory=tuple)


def export_format(request) -> str | None:
    """The format asked by `?export=csv|xlsx`, or None (any other value shows the page)."""
    fmt = request.GET.get("export")
    return fmt if fmt in FORMATS else None


# --- cells ---------------------------------------------------------------------------------


def safe_text(text: str) -> str:
    """Text that a spreadsheet never takes for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, float):
        return str(value).replace(".", ",")
    return safe_text(str(value))


def xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: the local time, as on the page.
        return _local(value).replace(tzinfo=None)
    if isinstance(value, datetime.date | int | float | decimal.Decimal):
        return value
    return safe_text(str(value))


@functools.cache
def _choice_labels(model, name: str) -> dict:
    return {value: str(text) for value, text in model._meta.get_field(name).flatchoices}


def label(obj, name: str) -> str:
    """A choice field's label, like `get_<name>_display()` but without translating the
    same few labels again on every row (a 100,000-row export calls it 400,000 times)."""
    value = getattr(obj, name)
    return _choice_labels(type(obj), name).get(value, value or "")


def rows_of(queryset, columns: Sequence[Column]) -> Iterator[list[Any]]:
    """The rows of a queryset, read by chunks (prefetches included) rather than all at once."""
    source = (
        queryset.iterator(chunk_size=CHUNK) if isinstance(queryset, models.QuerySet) else queryset
    )
    for obj in source:
        yield [column.value(obj) for column in columns]


# --- writers -------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def csv_chunks(
    tables: Sequence[Table], *, titled: bool, heading: Sequence[str] = ()
) -> Iterator[str]:
    """The CSV text, chunk by chunk, with its BOM: the heading lines once, then each table
    (after a blank line and its title when `titled`)."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff"
    for line in heading:
        yield writer.writerow([csv_cell(line)])
    for table in tables:
        if titled:
            yield writer.writerow([])
            yield writer.writerow([csv_cell(table.title)])
        yield writer.writerow([csv_cell(h) for h in table.headers])
        for row in table.rows:
            yield writer.writerow([csv_cell(c) for c in row])


def write_csv(fileobj, tables: Sequence[Table], *, titled: bool = False) -> None:
    """Write CSV text to a binary file (used by the full structure export)."""
    for chunk in csv_chunks(tables, titled=titled):
        fileobj.write(chunk.encode("utf-8"))


def _sheet_title(title: str, used: set) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28].strip() or "Feuille"
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base[:25]} {n}"
        n += 1
    used.add(candidate)
    return candidate


def write_xlsx(
    fileobj, tables: Sequence[Table], *, titled: bool = False, heading: Sequence[str] = ()
) -> None:
    """One sheet per table: its title in bold and the heading lines when `titled`, then a
    bold, frozen header row, then the rows."""
    workbook = Workbook(write_only=True)
    used: set = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(str(table.title), used))
        headers = [str(h) for h in table.headers]
        widths = list(table.widths) + [None] * (len(headers) - len(table.widths))
        for number, (header, width) in enumerate(zip(headers, widths, strict=False), start=1):
            letter = get_column_letter(number)
            sheet.column_dimensions[letter].width = width or min(max(len(header) + 4, 12), 60)
        above = [str(table.title), *heading] if titled else []
        sheet.freeze_panes = f"A{len(above) + 2}"
        for number, line in enumerate(above):
            cell = WriteOnlyCell(sheet, value=xlsx_cell(line))
            if number == 0:
                cell.font = bold
            sheet.append([cell])
        cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=xlsx_cell(header))
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
        for row in table.rows:
            sheet.append([xlsx_cell(c) for c in row])
    if not tables:
        workbook.create_sheet("Feuille")
    workbook.save(fileobj)


# --- responses -----------------------------------------------------------------------------


def _attachment(response, name: str, fmt: str):
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def tables_response(
    *,
    name: str,
    tables: Sequence[Table],
    fmt: str,
    titled: bool = True,
    heading: Sequence[str] = (),
    stream: bool = True,
):
    """Several tables in one file: CSV sections one after the other, or one XLSX sheet
    each. `stream=False` answers a plain HttpResponse (small files, e.g. dashboards)."""
    if fmt == "csv":
        chunks = csv_chunks(tables, titled=titled, heading=heading)
        if stream:
            return _attachment(StreamingHttpResponse(chunks, content_type=CSV_TYPE), name, fmt)
        return _attachment(HttpResponse("".join(chunks), content_type=CSV_TYPE), name, fmt)
    # A ZIP cannot be written as a stream: the workbook goes to a temporary file (on disk
    # past 8 MB), then is sent from it by chunks; closing the response deletes it.
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        write_xlsx(buffer, tables, titled=titled, heading=heading)
    except BaseException:
        buffer.close()
        raise
    buffer.seek(0)
    if stream:
        response = FileResponse(buffer, content_type=XLSX_TYPE)
    else:
        with buffer:
            response = HttpResponse(buffer.read(), content_type=XLSX_TYPE)
    return _attachment(response, name, fmt)


def tabular_response(
    *,
    name: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    fmt: str,
    sheet: str = "Données",
    widths: Sequence[int | None] = (),
):
    """One table as a download: a header line then the rows (no title in the CSV, so that
    it opens as a plain table)."""
    table = Table(title=sheet, headers=headers, rows=rows, widths=widths)
    return tables_response(name=name, tables=[table], fmt=fmt, titled=False)


def stamped(name: str) -> str:
    return f"{name}-{timezone.localdate().isoformat()}"


def journal_export(
    *,
    actor,
    what: str,
    fmt: str,
    filters: str = "",
    nominative: bool = False,
    ip: str | None = None,
    structure_id=None,
) -> None:
    """Journal an export (and, when it carries names, a read of nominative data)."""
    note = f"{what} ({fmt})" + (f" — filtres : {filters}" if filters else "")
    with transaction.atomic():
        audit.record(
            action=AuditAction.EXPORT,
            actor=actor,
            structure_id=structure_id or getattr(actor, "structure_id", None),
            note=note,
            ip_address=ip,
        )
        if nominative:
            audit.record(
                action=AuditAction.READ,
                actor=actor,
                structure_id=structure_id or getattr(actor, "structure_id", None),
                note=f"export nominatif : {note}",
                ip_address=ip,
            )


def export_list(
    request,
    *,
    queryset,
    columns: Sequence[Column],
    name: str,
    what: str,
    fmt: str,
    sheet: str = "Données",
    nominative: bool = False,
):
    """The download of a list page: every row of its queryset (all pages), journaled."""
    journal_export(
        actor=request.membership,
        what=what,
        fmt=fmt,
        filters=querystring_for_export(request)[:200],
        nominative=nominative,
        ip=client_ip(request),
    )
    return tabular_response(
        name=stamped(name),
        headers=[c.header for c in columns],
        rows=rows_of(queryset, columns),
        fmt=fmt,
        sheet=sheet,
        widths=[c.width for c in columns],
    )


def querystring_for_export(request) -> str:
    """The page's query string without `export`, `tableau` and the page numbers (`page`,
    `page_<list>` on a page with several lists), for the download and pagination links."""
    params = request.GET.copy()
    for key in list(params):
        if key in ("export", "tableau", "page") or key.startswith("page_"):
            params.pop(key)
    return params.urlencode()
