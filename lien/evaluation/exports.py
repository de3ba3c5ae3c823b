"""The downloads of the evaluation list: evaluations and satisfaction surveys."""

from lien.core.tabular import Column, label

EVALUATION_COLUMNS = [
    Column("Identifiant", lambda e: str(e.pk), 38),
    Column("Dispositif", lambda e: e.service.name, 30),
    Column("Structure", lambda e: e.service.structure.name, 30),
    Column("Début", lambda e: e.starts_on),
    Column("Fin", lambda e: e.ends_on),
    Column("État", lambda e: label(e, "state")),
]

#: The surveys themselves, never their answers (those stay on the survey's page).
SURVEY_COLUMNS = [
    Column("Identifiant", lambda s: str(s.pk), 38),
    Column("Enquête", lambda s: s.title, 40),
    Column("Dispositif", lambda s: s.service.name, 30),
    Column("Public", lambda s: label(s, "audience")),
    Column("Ouverture", lambda s: s.opens_on),
    Column("Clôture", lambda s: s.closes_on),
    Column("Réponses", lambda s: s.answer_count),
]
