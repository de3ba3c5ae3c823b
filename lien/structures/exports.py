"""The columns of the structures' list downloads (structures, organisations)."""

from lien.core.tabular import Column, label

STRUCTURE_COLUMNS = [
    Column("Identifiant", lambda s: str(s.pk), 38),
    Column("Nom", lambda s: s.name, 30),
    Column("Type d'employeur", lambda s: str(s.employer_type), 24),
    Column("SIRET", lambda s: s.siret, 16),
    Column("Réseau", lambda s: s.network, 20),
    Column("Code commune du siège", lambda s: s.commune.code if s.commune_id else ""),
    Column("Siège", lambda s: s.commune.name if s.commune_id else "", 24),
    Column("Dispositifs actifs", lambda s: s.active_services),
    Column("AFNOR", lambda s: label(s, "afnor_status")),
]

ORGANISATION_COLUMNS = [
    Column("Identifiant", lambda o: str(o.pk), 38),
    Column("Nom", lambda o: o.name, 30),
    Column("Nature", lambda o: label(o, "kind")),
    Column("Type", lambda o: str(o.partner_type or o.funding_program or ""), 24),
    Column("Territoire", lambda o: str(o.territory) if o.territory_id else "", 24),
]
