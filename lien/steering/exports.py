"""The downloads of the steering pages: the agreements list and the job observatory."""

from lien.core.tabular import Column, Table, label
from lien.steering.queries import target_row

AGREEMENT_COLUMNS = [
    Column("Identifiant", lambda a: str(a.pk), 38),
    Column("Convention", lambda a: a.title, 40),
    Column("Territoire", lambda a: a.territory.name, 24),
    Column("Code du territoire", lambda a: a.territory.code),
    Column("Début", lambda a: a.starts_on),
    Column("Fin", lambda a: a.ends_on),
    Column("Objectif d'emplois", lambda a: a.job_target),
]


def observatory_tables(observatory) -> list[Table]:
    """Every table of the observatory, as displayed (small counts already suppressed)."""
    o = observatory
    tables = [
        Table(
            "Objectif d'emplois",
            ["Chiffre", "Valeur"],
            [
                ["Emplois créés", o.created],
                ["Emplois consolidés", o.consolidated],
                ["Total", o.total],
                ["Objectif", o.target],
                ["Atteinte de l'objectif", o.progress],
                ["ETP correspondants", o.fte],
            ],
            (30, 14),
        )
    ]
    for b in o.breakdowns:
        rows = [[label, shown] for label, shown, _ in b.rows]
        if b.total is not None:
            rows.append(["Total", b.total])
        tables.append(Table(b.title, [b.key_label, "Emplois"], rows, (36, 12)))
    tables.append(
        Table(
            "Médiateur·rices et ETP en poste en fin de trimestre",
            ["Date", "Médiateur·rices", "ETP", "Emplois créés et consolidés depuis le début"],
            [list(row) for row in o.timeline],
            (12, 16, 10, 24),
        )
    )
    return tables


def targets_table(progress) -> Table:
    """The agreement's indicator targets beside their values since it began, as displayed."""
    return Table(
        f"Cibles d'indicateurs ({progress.label})",
        ["Indicateur", "Cible", "Valeur depuis le début", "Précision"],
        [target_row(t, shown) for t, shown in progress.rows],
        (40, 14, 14, 30),
    )


def _report_perimeter(report) -> str:
    if report.territory_id:
        return report.territory.name
    return f"{report.service.name} — {report.funder.name}"


#: The reports prepared: what, on which perimeter, when and in which state (not their files).
REPORT_COLUMNS = [
    Column("Identifiant", lambda r: str(r.pk), 38),
    Column("Nature", lambda r: label(r, "kind"), 20),
    Column("Périmètre", _report_perimeter, 40),
    Column("Premier mois", lambda r: r.start),
    Column("Dernier mois", lambda r: r.end),
    Column("Demandé le", lambda r: r.created_at),
    Column("État", lambda r: label(r, "state")),
    Column("Terminé le", lambda r: r.finished_at),
]
