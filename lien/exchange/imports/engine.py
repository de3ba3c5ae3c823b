"""One pass over a file: map, parse, check duplicates, and (on commit) write in batches.

The dry run and the commit share this pass, so what the dry run shows is exactly what the
commit does. Every rejected cell becomes a report line (line, column, value, reason); the
first `PREVIEW_SIZE` are kept on the job for the page, all of them go to a CSV file. Free
text (`Importer.screened_fields`) goes through the same screening as the entry pages: a
flagged cell is not refused but listed, and the commit needs the importer's confirmation.
"""

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lien.core.screening import screen
from lien.exchange.imports.kinds import IMPORTERS, KEY_COLUMN, Importer
from lien.exchange.imports.reading import FileError, RowSource, SourceInfo, column_letter

#: Rejected cells shown on the page (all of them are in the downloadable report).
PREVIEW_SIZE = 100
#: Seconds between two progress reports.
PROGRESS_EVERY = 1.0

REPORT_HEADER = ["ligne", "colonne", "champ", "valeur", "motif"]


@dataclass
class Outcome:
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    rows_flagged: int = 0
    created: int = 0
    preview: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    report: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self):
        self._writer = csv.writer(self.report, delimiter=";")
        self._writer.writerow(REPORT_HEADER)

    def _note(self, kept: list[dict], line, column, label, value, reason, prefix="") -> None:
        """One cell in the CSV report, and on the page while there are fewer than
        `PREVIEW_SIZE`."""
        self._writer.writerow([line, column, label, value, prefix + reason])
        if len(kept) < PREVIEW_SIZE:
            kept.append(
                {"line": line, "column": column, "field": label, "value": value, "reason": reason}
            )

    def reject(self, line: int, column: str, label: str, value: str, reason: str) -> None:
        self._note(self.preview, line, column, label, value, reason)

    def flag(self, line: int, column: str, label: str, value: str, reason: str) -> None:
        """A cell kept but to be confirmed: in the report too, its reason saying so."""
        self._note(self.flags, line, column, label, value, reason, prefix="à confirmer : ")


class RollbackImport(Exception):
    """Raised inside the commit's transaction when a row is rejected: nothing is kept."""

    def __init__(self, outcome: Outcome):
        super().__init__("import annulé")
        self.outcome = outcome


def run(
    job,
    raw,
    size: int,
    *,
    commit: bool,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Outcome:
    """Read `raw` (the job's file) with the job's mapping; on `commit`, write every record
    and raise `RollbackImport` if any row is rejected (the caller's transaction rolls back).
    """
    importer: Importer = IMPORTERS[job.kind](job)
    info = SourceInfo(
        file_format=job.file_format,
        encoding=job.encoding,
        delimiter=job.delimiter,
        headers=job.headers,
    )
    source = RowSource(raw, size, info)
    positions = {name: job.headers.index(header) for name, header in job.mapping.items()}
    where = {
        name: (column_letter(index), f"{importer.column(name).label} ({job.headers[index]})")
        for name, index in positions.items()
    }
    key_column = KEY_COLUMN[job.kind]
    outcome = Outcome()
    seen: dict[int, int] = {}  # hash of the natural key → first line
    batch: list[tuple[int, object, int]] = []
    last_report = time.monotonic()

    def flush():
        if not batch:
            return
        known = importer.existing([record for _, record, _ in batch])
        kept = []
        for line, record, _ in batch:
            if known and importer.key(record) in known:
                letter, label = where.get(key_column, ("", key_column))
                outcome.reject(
                    line, letter, label, "", "doublon : cet enregistrement existe déjà dans Lien"
                )
                outcome.rows_rejected += 1
                outcome.rows_valid -= 1
            else:
                kept.append(record)
        if commit and kept and not outcome.rows_rejected:
            importer.write(kept)
        batch.clear()

    for line, cells in source:
        outcome.rows_read += 1
        values = {
            name: (cells[index].strip() if index < len(cells) else "")
            for name, index in positions.items()
        }
        record, errors = importer.parse(values)
        if errors:
            outcome.rows_rejected += 1
            for name, value, reason in errors:
                letter, label = where.get(name, ("", importer.column(name).label))
                outcome.reject(line, letter, label, value, reason)
        else:
            digest = hash(importer.key(record))
            first = seen.get(digest)
            if first is not None:
                letter, label = where.get(key_column, ("", key_column))
                outcome.rows_rejected += 1
                outcome.reject(
                    line, letter, label, values.get(key_column, ""),
                    f"doublon de la ligne {first} du fichier",
                )  # fmt: skip
            else:
                seen[digest] = line
                outcome.rows_valid += 1
                batch.append((line, record, digest))
                flagged = False
                for name in importer.screened_fields:
                    if values.get(name) and (findings := screen(values[name])):
                        letter, label = where[name]
                        reason = " ".join(finding.message for finding in findings)
                        outcome.flag(line, letter, label, values[name], reason)
                        flagged = True
                outcome.rows_flagged += flagged
                if len(batch) >= importer.batch_size:
                    flush()
        now = time.monotonic()
        if now - last_report >= PROGRESS_EVERY:
            last_report = now
            on_progress(source.fraction())
    flush()
    if outcome.rows_read == 0:
        raise FileError("Le fichier ne contient aucune ligne de données sous la ligne d'en-tête.")
    if commit:
        if outcome.rows_rejected:
            raise RollbackImport(outcome)
        importer.finish()
        outcome.created = importer.created
    return outcome
