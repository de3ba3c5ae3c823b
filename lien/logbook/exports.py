"""The columns of the logbook's downloads (team log, my entries, shifts).

The files themselves are written by `lien.core.tabular` (CSV for Excel, XLSX).
"""

from django.utils import timezone

from lien.core.tabular import Column, label


def _local(value):
    return timezone.localtime(value)


INTERVENTION_COLUMNS = [
    Column("Identifiant", lambda i: str(i.pk), 38),
    Column("Date", lambda i: _local(i.started_at).date()),
    Column("Heure", lambda i: _local(i.started_at).strftime("%H:%M")),
    Column("Durée (min)", lambda i: i.duration_minutes),
    Column("Dispositif", lambda i: i.service.name, 30),
    Column("Médiateur·rices", lambda i: ", ".join(str(m) for m in i.mediators.all()), 30),
    Column("Code commune", lambda i: i.commune.code),
    Column("Commune", lambda i: i.commune.name, 24),
    Column("Code QPV", lambda i: i.qpv.code if i.qpv else ""),
    Column("Lieu", lambda i: i.place_type.label if i.place_type else "", 20),
    Column("Activité", lambda i: i.activity_type.label, 30),
    Column("Domaine", lambda i: i.domain.label, 24),
    Column("Situation", lambda i: i.situation_category.label if i.situation_category else "", 24),
    Column("Origine", lambda i: label(i, "origin")),
    Column("Temporalité", lambda i: label(i, "timing")),
    Column("Forme", lambda i: label(i, "form")),
    Column("Personnes rencontrées", lambda i: i.people_met),
    Column("Demandes", lambda i: sum(r.count for r in i.access_requests.all())),
    Column("Issue", lambda i: i.outcome.label if i.outcome else "", 24),
    Column(
        "Relais d'urgence",
        lambda i: label(i, "emergency_handoff"),
    ),
    Column("Remarque", lambda i: i.note, 40),
]

SHIFT_COLUMNS = [
    Column("Identifiant", lambda s: str(s.pk), 38),
    Column("Type", lambda s: label(s, "kind")),
    Column("Début", lambda s: s.starts_at),
    Column("Fin", lambda s: s.ends_at),
    Column("Dispositif", lambda s: s.service.name, 30),
    Column("Code commune", lambda s: s.commune.code),
    Column("Commune", lambda s: s.commune.name, 24),
    Column("Code QPV", lambda s: s.qpv.code if s.qpv else ""),
    Column("Lieu", lambda s: s.place_label, 24),
    Column("Équipe", lambda s: ", ".join(str(m) for m in s.mediators.all()), 30),
    Column("Consignes", lambda s: s.note, 40),
]
