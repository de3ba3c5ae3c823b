"""The download of the imports list: each file, its state and its counts (not its rows)."""

from lien.core.tabular import Column, label

IMPORT_COLUMNS = [
    Column("Identifiant", lambda j: str(j.pk), 38),
    Column("Fichier", lambda j: j.original_name, 40),
    Column("Données", lambda j: label(j, "kind"), 20),
    Column("Déposé le", lambda j: j.created_at),
    Column("Par", lambda j: str(j.owner), 24),
    Column("État", lambda j: label(j, "state"), 20),
    Column("Lignes lues", lambda j: j.rows_read),
    Column("Lignes refusées", lambda j: j.rows_rejected),
    Column("Enregistrements créés", lambda j: j.rows_created),
    Column("Terminé le", lambda j: j.finished_at),
]
