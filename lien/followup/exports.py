"""The columns of the follow-up's list downloads.

Situations are exported with their pseudonymous columns only (reference, initials or
pseudonym, facts): names and contact details never leave through a list export — they are
in the structure's full export, journaled as a nominative read. Referrals likewise leave
out how to call the person back.
"""

from lien.core.tabular import Column, label


def _name_of(obj, name: str) -> str:
    related = getattr(obj, name)
    return str(related) if related is not None else ""


SITUATION_COLUMNS = [
    Column("Référence", lambda s: s.reference),
    Column("Initiales ou pseudonyme", lambda s: s.initials, 20),
    Column("Type", lambda s: label(s, "kind")),
    Column("Dispositif", lambda s: s.service.name, 30),
    Column("Situation", lambda s: _name_of(s, "category"), 24),
    Column("Code commune", lambda s: s.commune.code),
    Column("Commune", lambda s: s.commune.name, 24),
    Column("Objet", lambda s: s.summary, 40),
    Column("Nominatif", lambda s: s.is_nominative),
    Column("État", lambda s: label(s, "status")),
    Column("Ouvert le", lambda s: s.opened_on),
    Column("Clos le", lambda s: s.closed_on),
    Column("Purge prévue le", lambda s: s.purge_on),
]

REFERRAL_COLUMNS = [
    Column("Identifiant", lambda r: str(r.pk), 38),
    Column("Envoyée le", lambda r: r.sent_at),
    Column("Dispositif", lambda r: r.service.name, 30),
    Column("Partenaire", lambda r: r.partner.name, 30),
    Column("Thème", lambda r: _name_of(r, "theme"), 24),
    Column("Personne (initiales ou pseudonyme)", lambda r: r.person),
    Column("Demande", lambda r: r.request, 40),
    Column("État", lambda r: label(r, "status")),
    Column("Motif du refus", lambda r: r.refusal_reason, 30),
    Column("Résultat", lambda r: label(r, "result")),
    Column("Vue le", lambda r: r.seen_at),
    Column("Réponse le", lambda r: r.answered_at),
    Column("Close le", lambda r: r.closed_at),
    Column("Expire le", lambda r: r.expires_on),
]

REPORT_COLUMNS = [
    Column("Identifiant", lambda r: str(r.pk), 38),
    Column("Signalé le", lambda r: r.reported_at),
    Column("Catégorie", lambda r: label(r, "category"), 20),
    Column("Code commune", lambda r: r.commune.code),
    Column("Commune", lambda r: r.commune.name, 24),
    Column("Adresse ou repère", lambda r: r.address, 30),
    Column("Latitude", lambda r: r.latitude),
    Column("Longitude", lambda r: r.longitude),
    Column("Description", lambda r: r.description, 40),
    Column("Transmis à", lambda r: _name_of(r, "routed_to"), 30),
    Column("État", lambda r: label(r, "status")),
    Column("Réponse", lambda r: r.response, 30),
    Column("Pris en compte le", lambda r: r.acknowledged_at),
    Column("Clos le", lambda r: r.closed_at),
]

OBSERVATION_COLUMNS = [
    Column("Identifiant", lambda o: str(o.pk), 38),
    Column("Observé le", lambda o: o.observed_on),
    Column("Structure", lambda o: o.structure.name, 30),
    Column("Secteur", lambda o: o.sector.name, 24),
    Column("Niveau", lambda o: label(o, "level")),
    Column("Catégories", lambda o: ", ".join(str(c) for c in o.categories.all()), 30),
    Column("Observation", lambda o: o.text, 60),
]

COLLECTIVE_ACTION_COLUMNS = [
    Column("Identifiant", lambda a: str(a.pk), 38),
    Column("Date", lambda a: a.held_on),
    Column("Type", lambda a: label(a, "kind")),
    Column("Intitulé", lambda a: a.title, 40),
    Column("Dispositif", lambda a: a.service.name, 30),
    Column("Durée (min)", lambda a: a.duration_minutes),
    Column("Code commune", lambda a: a.commune.code),
    Column("Commune", lambda a: a.commune.name, 24),
    Column("Lieu", lambda a: a.place, 24),
    Column("Habitants", lambda a: a.residents),
    Column("Jeunes, élèves", lambda a: a.young_people),
    Column("Professionnels", lambda a: a.professionals),
    Column("Élus, institutions", lambda a: a.institutions),
    Column("Participants", lambda a: a.participants),
    Column("Compte rendu", lambda a: a.notes, 60),
]

#: What a partner receives: who sent it rather than to whom (the partner is the reader).
REFERRAL_INBOX_COLUMNS = [
    Column("Structure", lambda r: r.structure.name, 30),
    *(c for c in REFERRAL_COLUMNS if c.header not in {"Dispositif", "Partenaire"}),
]

#: What a responsible body receives: who reported it.
REPORT_INBOX_COLUMNS = [
    Column("Signalé par", lambda r: r.structure.name, 30),
    *(c for c in REPORT_COLUMNS if c.header != "Transmis à"),
]
