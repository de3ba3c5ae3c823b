"""The exchange app's retention rule (applied by `manage.py apply_retention`, see
lien.core.retention): full structure exports, archives that hold nominative data, are
deleted once `LIEN_RETENTION["structure_exports_days"]` days have passed since they were
asked for (the job's state file with them; a job that never ran goes too)."""

import datetime

from lien.core.retention import RetentionRule, cutoff, period
from lien.exchange import exports


def _old_exports(today: datetime.date) -> list:
    limit = cutoff(today, period("structure_exports_days"))
    return [state for state in exports.all_states() if state["requested"] < limit]


def _delete_old_exports(today: datetime.date) -> int:
    old = _old_exports(today)
    for state in old:
        exports.structure_export_delete(state)
    return len(old)


RULES = [
    RetentionRule(
        code="structure_exports",
        kind="Exports complets des structures (archives ZIP avec données nominatives)",
        statement=lambda: f"supprimés {period('structure_exports_days')} jours après leur demande",
        apply=_delete_old_exports,
        count=lambda today: len(_old_exports(today)),
    ),
]
