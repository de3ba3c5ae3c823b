"""Reads that span the logbook and the follow-up."""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from lien.core.screening import LABELS
from lien.followup.models import (
    CollectiveAction,
    Observation,
    Referral,
    Situation,
    TechnicalReport,
)
from lien.logbook.models import Intervention

#: (record kind, model, free-text field, its warnings field, creation date field)
SCREENED_TEXTS = [
    ("Interventions (remarque)", Intervention, "note", "note_warnings", "created_at"),
    ("Suivis (objet)", Situation, "summary", "summary_warnings", "created_at"),
    ("Mises en relation (demande)", Referral, "request", "request_warnings", "sent_at"),
    (
        "Signalements (description)",
        TechnicalReport,
        "description",
        "description_warnings",
        "reported_at",
    ),
    ("Veille sociale (observation)", Observation, "text", "text_warnings", "created_at"),
    (
        "Actions collectives (compte rendu)",
        CollectiveAction,
        "notes",
        "notes_warnings",
        "created_at",
    ),
]


@dataclass
class OverrideRow:
    kind: str
    texts: int
    overridden: int
    categories: Counter = field(default_factory=Counter)

    @property
    def share(self) -> float | None:
        return self.overridden / self.texts if self.texts else None

    @property
    def category_labels(self) -> list[tuple[str, int]]:
        return [(LABELS.get(code, code), n) for code, n in self.categories.most_common()]


def screening_overrides(*, structure_id, days: int = 365) -> list[OverrideRow]:
    """For each kind of free text of the structure over the last `days`: how many texts
    were written, how many were kept despite a warning, and for which categories. Two
    queries per kind: a count, then the warnings of the (few) texts kept anyway."""
    since = timezone.now() - datetime.timedelta(days=days)
    rows = []
    for kind, model, text_field, warnings_field, date_field in SCREENED_TEXTS:
        base = model.objects.filter(
            structure_id=structure_id, **{f"{date_field}__gte": since}
        ).exclude(**{text_field: ""})
        row = OverrideRow(kind=kind, texts=base.count(), overridden=0)
        for warnings in base.exclude(**{warnings_field: []}).values_list(warnings_field, flat=True):
            if warnings:
                row.overridden += 1
                row.categories.update(warnings)
        rows.append(row)
    return rows
