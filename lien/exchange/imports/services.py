"""The write path of imports: upload, map, dry run, commit.

`import_job_create` reads only the start of the file (format, encoding, headers) and
refuses an unreadable file before anything is stored. `import_job_map` records the column
mapping and queues the dry run; `import_job_commit` queues the commit. Both background
steps are `import_job_validate` and `import_job_apply`, called by the tasks in
`tasks.py` (thin wrappers) or directly by the benchmark.

The commit is one transaction: the records (bulk inserts in batches), the roll-up cubes of
the affected months (once per 50,000 rows and at the end, not per row), the job's final
state and ONE journal event with the counts. If any row is rejected, it all rolls back.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, connections, transaction
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role
from lien.exchange.imports import engine
from lien.exchange.imports.fields import guess_mapping
from lien.exchange.imports.kinds import IMPORTERS
from lien.exchange.imports.reading import FileError, inspect
from lien.exchange.models import ImportJob, ImportKind, ImportState

logger = logging.getLogger(__name__)

#: Largest file accepted (a million interventions is about 120 MB of CSV).
MAX_BYTES = getattr(settings, "LIEN_IMPORT_MAX_BYTES", 300 * 1024 * 1024)


def can_import(membership: Membership | None, kind: str) -> bool:
    """Coordinators import into their own structure; administrators import structures."""
    if membership is None or kind not in IMPORTERS:
        return False
    return membership.role == IMPORTERS[kind].role


def kinds_for(membership: Membership | None) -> list[tuple[str, str]]:
    return [(value, label) for value, label in ImportKind.choices if can_import(membership, value)]


def _require_import(actor: Membership | None, kind: str) -> Membership:
    if not can_import(actor, kind):
        raise PermissionDenied("Votre rôle ne permet pas cet import.")
    return actor  # type: ignore[return-value]


def _require_job(actor: Membership | None, job: ImportJob) -> Membership:
    actor = _require_import(actor, job.kind)
    if actor.role != Role.ADMIN and actor.structure_id != job.structure_id:
        raise PermissionDenied("Cet import appartient à une autre structure.")
    return actor


@transaction.atomic
def import_job_create(*, actor: Membership, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file and read its header row; an unreadable file is refused with
    the reason (ValidationError on `file`) and nothing is stored."""
    _require_import(actor, kind)
    if upload.size > MAX_BYTES:
        raise ValidationError(
            {"file": f"Fichier trop volumineux ({upload.size // 1_000_000} Mo ; "
                     f"{MAX_BYTES // 1_000_000} Mo au plus)."}
        )  # fmt: skip
    upload.seek(0)
    try:
        info = inspect(_raw(upload), upload.size)
    except FileError as exc:
        raise ValidationError({"file": str(exc)}) from None
    upload.seek(0)
    importer = IMPORTERS[kind]
    job = ImportJob(
        owner=actor.user,
        membership=actor,
        structure_id=None if kind == ImportKind.STRUCTURES else actor.structure_id,
        kind=kind,
        original_name=(upload.name or "fichier")[:200],
        file_format=info.file_format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        mapping=guess_mapping(importer.columns, info.headers),
    )
    job.file.save("source", upload, save=False)
    job.save(force_insert=True)
    return job


def check_mapping(kind: str, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The mapping without empty entries; ValidationError naming each problem."""
    columns = {c.name: c for c in IMPORTERS[kind].columns}
    clean = {name: header for name, header in mapping.items() if header}
    errors = {}
    for name, header in clean.items():
        if name not in columns:
            errors[name] = "Champ inconnu."
        elif header not in headers:
            errors[name] = f"La colonne « {header} » n'est pas dans le fichier."
    used: dict[str, str] = {}
    for name, header in clean.items():
        if header in used and name in columns:
            errors[name] = (
                f"La colonne « {header} » est déjà associée à « {columns[used[header]].label} »."
            )
        used.setdefault(header, name)
    for column in columns.values():
        if column.required and column.name not in clean:
            errors[column.name] = (
                f"« {column.label} » est obligatoire : choisissez la colonne qui le contient."
            )
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def import_job_map(*, actor: Membership, job: ImportJob, mapping: dict[str, str]) -> ImportJob:
    """Record the column mapping and queue the dry run."""
    _require_job(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state in (ImportState.VALIDATING, ImportState.COMMITTING, ImportState.DONE):
        raise ValidationError("Cet import est en cours ou terminé : sa correspondance est figée.")
    job.mapping = check_mapping(job.kind, job.headers, mapping)
    _reset(job, ImportState.VALIDATING)
    job.save()
    _enqueue("validate", job)
    return job


@transaction.atomic
def import_job_commit(
    *, actor: Membership, job: ImportJob, texts_confirmed: bool = False
) -> ImportJob:
    """Queue the commit of a job whose dry run rejected nothing; free text that the
    screening flagged is kept only with `texts_confirmed`."""
    _require_job(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state != ImportState.VALIDATED or job.rows_rejected:
        raise ValidationError(
            "Seul un import vérifié sans ligne refusée peut être enregistré : "
            "corrigez le fichier ou la correspondance, puis relancez la vérification."
        )
    if job.rows_flagged and not texts_confirmed:
        raise ValidationError(
            f"{job.rows_flagged} ligne(s) ont une remarque signalée (nom, téléphone, santé…) : "
            "confirmez ces textes, ou corrigez le fichier et relancez la vérification."
        )
    job.state = ImportState.COMMITTING
    job.progress = 0
    job.flags_confirmed = bool(job.rows_flagged)
    job.save(update_fields=["state", "progress", "flags_confirmed"])
    _enqueue("apply", job)
    return job


def _enqueue(step: str, job: ImportJob) -> None:
    # In the job's transaction: with the database task backend the worker sees the task
    # only once the new state is committed.
    from lien.exchange.imports import tasks

    task = tasks.validate_import if step == "validate" else tasks.apply_import
    task.enqueue(str(job.pk))


def _reset(job: ImportJob, state: str) -> None:
    job.state = state
    job.progress = 0
    job.rows_read = job.rows_valid = job.rows_rejected = job.rows_created = 0
    job.rows_flagged = 0
    job.rejects_preview = job.flags_preview = []
    job.flags_confirmed = False
    job.error = ""
    job.finished_at = None


def _raw(fileobj):
    """The plain binary file under Django's File wrappers (what `io` and openpyxl need)."""
    while hasattr(fileobj, "file") and fileobj.file is not fileobj and fileobj.file is not None:
        fileobj = fileobj.file
    return fileobj


def _store_outcome(job: ImportJob, outcome: engine.Outcome, state: str) -> None:
    job.state = state
    job.progress = 100
    job.rows_read = outcome.rows_read
    job.rows_valid = outcome.rows_valid
    job.rows_rejected = outcome.rows_rejected
    job.rows_created = outcome.created
    job.rows_flagged = outcome.rows_flagged
    job.rejects_preview = outcome.preview
    job.flags_preview = outcome.flags
    job.finished_at = timezone.now()
    if job.report:
        job.report.delete(save=False)
    if outcome.rows_rejected or outcome.rows_flagged:
        job.report.save(
            "rejets.csv", ContentFile(outcome.report.getvalue().encode("utf-8-sig")), save=False
        )


def _fail(job: ImportJob, message: str) -> None:
    job.state = ImportState.FAILED
    job.error = message[:500]
    job.finished_at = timezone.now()
    job.save()


def _progress_in_place(job: ImportJob) -> Callable[[float], None]:
    def report(fraction: float) -> None:
        ImportJob.objects.filter(pk=job.pk).update(progress=min(int(fraction * 100), 99))

    return report


class _SideProgress:
    """Progress written on a second connection, so that the page sees it while the commit's
    transaction is still open (PostgreSQL only: SQLite allows one writer at a time)."""

    def __init__(self, job: ImportJob):
        self.job_id = job.pk
        self.conn = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.conn = connections.create_connection("default")

    def __call__(self, fraction: float) -> None:
        if self.conn is None:
            return
        table = connection.ops.quote_name(ImportJob._meta.db_table)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET progress = %s WHERE id = %s",  # noqa: S608 — quoted name
                [min(int(fraction * 100), 99), self.job_id],
            )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def import_job_validate(*, job_id) -> ImportJob:
    """The dry run: read every row, count what would be created, list what is rejected."""
    job = ImportJob.objects.select_related("membership").get(pk=job_id)
    if job.state != ImportState.VALIDATING:
        return job
    try:
        with job.file.open("rb") as fh:
            outcome = engine.run(
                job, _raw(fh), job.file.size, commit=False, on_progress=_progress_in_place(job)
            )
    except FileError as exc:
        _fail(job, str(exc))
        return job
    except Exception:
        logger.exception("dry run of import %s failed", job.pk)
        _fail(job, "Erreur inattendue pendant la vérification ; l'équipe technique est prévenue.")
        return job
    _store_outcome(
        job, outcome, ImportState.REJECTED if outcome.rows_rejected else ImportState.VALIDATED
    )
    job.save()
    return job


def import_job_apply(*, job_id) -> ImportJob:
    """The commit: every record, the roll-ups and one journal event, or nothing at all."""
    job = ImportJob.objects.select_related("membership__user", "structure").get(pk=job_id)
    if job.state != ImportState.COMMITTING:
        return job
    try:
        _require_job(job.membership if job.membership.is_active else None, job)
    except PermissionDenied as exc:
        _fail(job, str(exc))
        return job
    progress = _SideProgress(job)
    try:
        with job.file.open("rb") as fh, transaction.atomic():
            outcome = engine.run(job, _raw(fh), job.file.size, commit=True, on_progress=progress)
            _store_outcome(job, outcome, ImportState.DONE)
            job.save()
            importer = IMPORTERS[job.kind]
            audit.record(
                action=AuditAction.LOAD,
                actor=job.membership,
                obj=job,
                structure_id=job.structure_id,
                after={
                    "kind": job.kind,
                    "file": job.original_name,
                    "rows": outcome.rows_read,
                    "created": outcome.created,
                    "flagged_texts_confirmed": outcome.rows_flagged,
                },
                note=f"import de {outcome.created} {importer.noun} (« {job.original_name} »)",
            )
    except engine.RollbackImport as exc:
        job.refresh_from_db(fields=["report"])
        _store_outcome(job, exc.outcome, ImportState.REJECTED)
        job.save()
    except FileError as exc:
        _fail(job, str(exc))
    except Exception:
        logger.exception("commit of import %s failed", job.pk)
        _fail(job, "Erreur inattendue pendant l'import : rien n'a été enregistré.")
    finally:
        progress.close()
    return job
