"""The exchange app's retention rules (applied by `manage.py apply_retention`, see
lien.core.retention):

- full structure exports, archives that hold nominative data, are deleted once
  `LIEN_RETENTION["structure_exports_days"]` days have passed since they were asked for (the
  job's state file with them; a job that never ran goes too);
- the files of imports (the uploaded file, its rejects report and the rejected cells kept
  for the page, which may hold names typed in a note) are deleted
  `LIEN_RETENTION["import_files_days"]` days after the upload; the import's row stays, with
  its counts, as the journal's witness. An import not committed by then cannot be any more.
"""

import datetime

from django.db.models import Q

from lien.core.retention import RetentionRule, cutoff, period
from lien.exchange import exports
from lien.exchange.models import IMPORT_RUNNING_STATES, ImportJob, ImportState


def _old_exports(today: datetime.date) -> list:
    limit = cutoff(today, period("structure_exports_days"))
    return [state for state in exports.all_states() if state["requested"] < limit]


def _delete_old_exports(today: datetime.date) -> int:
    old = _old_exports(today)
    for state in old:
        exports.structure_export_delete(state)
    return len(old)


def _old_imports(today: datetime.date):
    limit = cutoff(today, period("import_files_days"))
    return (
        ImportJob.objects.filter(created_at__lt=limit)
        .exclude(state__in=IMPORT_RUNNING_STATES)
        .exclude(Q(file="") & Q(report="") & Q(rejects_preview=[]) & Q(flags_preview=[]))
    )


def _delete_old_imports(today: datetime.date) -> int:
    expired = (
        "Fichier supprimé après la durée de conservation : déposez-le à nouveau pour l'importer."
    )
    done = 0
    for job in _old_imports(today).iterator():
        for stored in (job.file, job.report):
            if stored:
                stored.delete(save=False)
        changes = {"file": "", "report": "", "rejects_preview": [], "flags_preview": []}
        if job.state in (ImportState.UPLOADED, ImportState.VALIDATED):
            changes.update(state=ImportState.FAILED, error=expired)
        ImportJob.objects.filter(pk=job.pk).update(**changes)
        done += 1
    return done


RULES = [
    RetentionRule(
        code="import_files",
        kind="Fichiers des imports (fichier déposé, rapport et cellules refusées)",
        statement=lambda: f"supprimés {period('import_files_days')} jours après le dépôt",
        apply=_delete_old_imports,
        count=lambda today: _old_imports(today).count(),
    ),
    RetentionRule(
        code="structure_exports",
        kind="Exports complets des structures (archives ZIP avec données nominatives)",
        statement=lambda: f"supprimés {period('structure_exports_days')} jours après leur demande",
        apply=_delete_old_exports,
        count=lambda today: len(_old_exports(today)),
    ),
]
