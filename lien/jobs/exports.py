"""The columns of the jobs' list downloads (posts, funding lines, staff, trainings)."""

from lien.core.tabular import Column, label


def _funding_object(line) -> str:
    if line.post_id:
        return f"poste {line.post.title}"
    if line.service_id:
        return f"dispositif {line.service.name}"
    return f"structure {line.structure.name}" if line.structure_id else ""


POST_COLUMNS = [
    Column("Identifiant", lambda p: str(p.pk), 38),
    Column("Poste", lambda p: p.title, 30),
    Column("Structure", lambda p: p.structure.name, 30),
    Column("Dispositif", lambda p: p.service.name if p.service_id else "", 30),
    Column("ROME", lambda p: p.rome_code),
    Column("ETP", lambda p: p.fte),
    Column("État", lambda p: label(p, "status")),
    Column("Mutualisé", lambda p: bool(p.pooled)),
    Column("Financé jusqu'au", lambda p: p.funded_until),
]

FUNDING_COLUMNS = [
    Column("Identifiant", lambda f: str(f.pk), 38),
    Column("Structure financée", lambda f: f.holder.name if f.holder_id else "", 30),
    Column("Financeur", lambda f: f.funder.name, 30),
    Column("Programme", lambda f: str(f.program) if f.program_id else "", 30),
    Column("Objet", _funding_object, 30),
    Column("Montant (€)", lambda f: f.amount),
    Column("Part (%)", lambda f: f.share),
    Column("Début", lambda f: f.starts_on),
    Column("Fin", lambda f: f.ends_on),
]

#: Names of the staff: a nominative export (journaled as a read), for the structure only.
MEDIATOR_COLUMNS = [
    Column("Identifiant", lambda m: str(m.pk), 38),
    Column("Prénom", lambda m: m.first_name, 20),
    Column("Nom", lambda m: m.last_name, 20),
    Column("Année de naissance", lambda m: m.birth_year),
    Column("Qualification", lambda m: label(m, "qualification_level"), 24),
    Column("Contrats en cours", lambda m: m.active_contracts),
]

TRAINING_COLUMNS = [
    Column("Identifiant", lambda t: str(t.pk), 38),
    Column("Formation", lambda t: t.title, 30),
    Column("Personne", lambda t: t.mediator.full_name, 24),
    Column("Type", lambda t: label(t, "kind")),
    Column("Organisme", lambda t: t.body, 24),
    Column("Heures", lambda t: t.hours),
    Column("Début", lambda t: t.starts_on),
    Column("Fin", lambda t: t.ends_on),
    Column("Qualification obtenue", lambda t: t.qualification_obtained, 24),
]

PRACTICE_REVIEW_COLUMNS = [
    Column("Identifiant", lambda r: str(r.pk), 38),
    Column("Date", lambda r: r.held_on),
    Column("Intervenant·e", lambda r: r.facilitator, 24),
    Column("Durée (min)", lambda r: r.duration_minutes),
    Column("Participant·es", lambda r: r.attendance),
]
