"""CSV (Excel-friendly: UTF-8 with BOM, `;`) and XLSX exports of a filtered log."""

import csv
import io

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

COLUMNS = [
    ("Identifiant", lambda i: str(i.pk)),
    ("Date", lambda i: timezone.localtime(i.started_at).strftime("%Y-%m-%d")),
    ("Heure", lambda i: timezone.localtime(i.started_at).strftime("%H:%M")),
    ("Durée (min)", lambda i: i.duration_minutes),
    ("Dispositif", lambda i: i.service.name),
    ("Médiateur·rices", lambda i: ", ".join(str(m) for m in i.mediators.all())),
    ("Code commune", lambda i: i.commune.code),
    ("Commune", lambda i: i.commune.name),
    ("Code QPV", lambda i: i.qpv.code if i.qpv else ""),
    ("Lieu", lambda i: i.place_type.label if i.place_type else ""),
    ("Activité", lambda i: i.activity_type.label),
    ("Domaine", lambda i: i.domain.label),
    ("Situation", lambda i: i.situation_category.label if i.situation_category else ""),
    ("Origine", lambda i: i.get_origin_display()),
    ("Temporalité", lambda i: i.get_timing_display() if i.timing else ""),
    ("Forme", lambda i: i.get_form_display() if i.form else ""),
    ("Personnes rencontrées", lambda i: i.people_met),
    ("Demandes", lambda i: sum(r.count for r in i.access_requests.all())),
    ("Issue", lambda i: i.outcome.label if i.outcome else ""),
    (
        "Relais d'urgence",
        lambda i: i.get_emergency_handoff_display() if i.emergency_handoff else "",
    ),
    ("Remarque", lambda i: i.note),
]


class _Echo:
    def write(self, value):
        return value


def _rows(entries):
    yield [title for title, _ in COLUMNS]
    for entry in entries.iterator(chunk_size=1000):
        yield [value(entry) for _, value in COLUMNS]


def export_response(entries, *, fmt: str) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    name = f"journal-{stamp}"
    if fmt == "csv":
        writer = csv.writer(_Echo(), delimiter=";")

        def stream():
            yield "\ufeff"
            for row in _rows(entries):
                yield writer.writerow(row)

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Interventions")
    for row in _rows(entries):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
