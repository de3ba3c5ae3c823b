"""The biannual report and the funder activity report: their sections, and their PDF
(WeasyPrint) and XLSX (openpyxl) files.

Both reports are built from the same `Section`s: headline figures, tables and bar charts,
holding only displayed strings (small-cell suppression is applied before anything reaches a
section, so nothing hidden can be read back from a file). `report_generate` runs in a
background job (lien.steering.tasks), saves its progress on the way and keeps both files.
"""

import datetime
import io
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.core.files.base import ContentFile
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from lien.core import suppression
from lien.evaluation.queries import utility_summary
from lien.indicators import dashboards, engine
from lien.indicators.dashboards import Period, cell_text, fr_number
from lien.jobs.models import Funding
from lien.jobs.queries import JobScope, funding_by_program
from lien.steering.models import Decision, Report, ReportKind, ReportState, SteeringMeeting
from lien.steering.queries import indicator_shown, observatory, target_row
from lien.structures.models import AfnorStatus, Service, Structure

logger = logging.getLogger(__name__)


#: A cell that reads as a figure: a number (French format, with a unit), or a hidden one.
FIGURE = re.compile(r"^(?:[<>≤≥]?\s*-?[\d\u202f\u00a0 ]+(?:,\d+)?\s*\S{0,12}|secret|nd|—|)$")


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""

    @cached_property
    def _right(self) -> list[bool]:
        """Per column, whether every cell of it is a figure (read once per table)."""
        return [
            i > 0 and all(FIGURE.match(str(row[i]).strip()) for row in self.rows)
            for i in range(len(self.header))
        ]

    @property
    def aligned(self) -> list[tuple[str, bool]]:
        """(header, right-aligned?) per column: right when every cell of it is a figure."""
        return list(zip(self.header, self._right, strict=True))

    @property
    def cells(self) -> list[list[tuple[str, bool]]]:
        return [list(zip(row, self._right, strict=False)) for row in self.rows]


@dataclass
class Bars:
    title: str
    rows: list[tuple[str, str, float | None]]  # label, shown, value (None: hidden)

    @property
    def drawn(self) -> list[tuple[str, str, float]]:
        """(label, shown, width in % of the largest visible value)."""
        top = max((v for _, _, v in self.rows if v), default=0) or 1
        return [(label, shown, (v or 0) * 100 / top) for label, shown, v in self.rows]


@dataclass
class Section:
    code: str
    title: str
    intro: str = ""
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # label, shown, unit
    tables: list[Table] = field(default_factory=list)
    bars: list[Bars] = field(default_factory=list)


@dataclass
class Content:
    title: str
    subtitle: str
    period_label: str
    perimeter_label: str
    generated_at: datetime.datetime
    protected: bool
    sections: list[Section] = field(default_factory=list)

    @property
    def legend(self) -> str:
        return suppression.legend() if self.protected else ""

    @property
    def running_title(self) -> str:
        """The pages' footer, as the body of a CSS string (the template's <style> is raw
        text: neither HTML entities nor JavaScript escapes mean anything there)."""
        return css_string(f"{self.title} — {self.period_label}")


def css_string(text: str) -> str:
    """`text` escaped for a double-quoted CSS string: backslash, quote, angle brackets (no
    `</style>` can close the element) and line breaks as CSS hexadecimal escapes."""
    return "".join(f"\\{ord(c):X} " if c in '\\"<>\n\r' or ord(c) < 32 else c for c in text)


# --- pieces shared by both reports -----------------------------------------------------------


def _period(report: Report) -> Period:
    kind = "semestre" if report.end == engine.add_months(report.start, 5) else "perso"
    if kind == "semestre" and report.start.month not in (1, 7):
        kind = "perso"
    return Period(kind, report.start, report.end)


def _last_day(report: Report) -> datetime.date:
    return engine.add_months(report.end, 1) - datetime.timedelta(days=1)


def _board_section(code, title, board: dashboards.Board, *, intro="", skip=()) -> Section:
    """A dashboard as a section: its key figures, its tables, its bar charts."""
    section = Section(code, title, intro)
    section.figures = [(f.label, f.shown, f.unit) for f in board.figures]
    for chart in board.all_charts():
        if chart.code in skip:
            continue
        if chart.kind in ("bars", "series") and chart.rows:
            section.bars.append(
                Bars(chart.title, [(r.label, r.shown, r.value) for r in chart.rows])
            )
    for title_, header, lines in board.tables()[1:]:  # the key figures are shown above
        if any(title_ == b.title for b in section.bars):
            continue
        section.tables.append(Table(title_, header, lines))
    return section


def _indicator_table(board: dashboards.Board, family: str) -> Table | None:
    for chart in board.all_charts():
        if chart.code == family:
            header = ["Indicateur", *chart.columns]
            return Table(chart.title, header, [[r.label, *r.extra] for r in chart.rows])
    return None


def _jobs_section(perimeter, indicators, scope: JobScope, report: Report) -> Section:
    section = Section(
        "jobs",
        "Emplois et professionnalisation",
        "Médiateurs et ETP au dernier jour de la période ; emplois créés ou consolidés, sorties "
        "de contrats aidés, formation et analyse de pratiques sur la période.",
    )
    table = _indicator_table(indicators, "jobs")
    if table:
        section.tables.append(table)
    structures = Structure.objects.filter(is_active=True)
    if scope.territory_id is not None:
        structures = structures.filter(commune__ancestor_links__ancestor=scope.territory_id)
    if scope.service_ids is not None:
        structures = structures.filter(services__in=scope.service_ids).distinct()
    statuses = dict(AfnorStatus.choices)
    counts = {
        statuses.get(row["afnor_status"], row["afnor_status"]): row["n"]
        for row in structures.values("afnor_status").annotate(n=Count("pk"))
    }
    if counts:
        labels = sorted(counts)
        if perimeter.protected:
            cells = suppression.protect_mapping({k: counts[k] for k in labels})
            rows = [[k, cell_text(c)] for k, c in zip(labels, cells.cells, strict=True)]
            rows.append(["Total", cell_text(cells.total)])
        else:
            rows = [[k, fr_number(counts[k])] for k in labels]
            rows.append(["Total", fr_number(sum(counts.values()))])
        section.tables.append(
            Table("Certification AFNOR des structures", ["État", "Structures"], rows)
        )
    return section


def _finance_section(scope: JobScope, report: Report, *, funder=None) -> Section:
    start, end = report.start, _last_day(report)
    section = Section(
        "finance",
        "Financements",
        "Montants des lignes de financement au prorata des jours de la période qu'elles couvrent.",
    )
    mix = funding_by_program(scope, start, end)
    total = sum(v for _, v in mix)
    section.figures = [("Financements sur la période", f"{fr_number(total)} €", "euros")]
    if mix:
        section.bars.append(
            Bars(
                "Répartition par programme de financement",
                [(label, f"{fr_number(v)} €", float(v)) for label, v in mix],
            )
        )
        rows = [
            [label, fr_number(v), f"{fr_number(round(v * 100 / total, 1))} %" if total else "—"]
            for label, v in mix
        ]
        section.tables.append(Table("Par programme", ["Programme", "Montant (€)", "Part"], rows))
    if funder is not None:
        ids = scope.service_ids or ()
        lines = (
            Funding.objects.filter(funder=funder, starts_on__lte=end, ends_on__gte=start)
            .filter(Q(service_id__in=ids) | Q(post__service_id__in=ids))
            .select_related("program", "stage", "post", "service", "structure")
            .order_by("starts_on")
        )
        rows = [
            [
                line.program.label,
                str(line.target),
                f"{line.starts_on:%d/%m/%Y} → {line.ends_on:%d/%m/%Y}",
                fr_number(line.amount),
                line.stage.label,
            ]
            for line in lines
        ]
        section.tables.append(
            Table(
                f"Lignes de financement de {funder}",
                ["Programme", "Objet", "Période", "Montant (€)", "Stade"],
                rows,
                "" if rows else "Aucune ligne de ce financeur sur la période.",
            )
        )
    return section


def _quality_section(indicators) -> Section:
    section = Section(
        "quality",
        "Qualité des données",
        "Saisies rapportées aux ETP et part des saisies dont l'issue est renseignée.",
    )
    table = _indicator_table(indicators, "quality")
    if table:
        section.tables.append(table)
    return section


def _utility_section(indicators, services) -> Section:
    section = Section(
        "utility",
        "Utilité sociale",
        "Les cinq registres du référentiel d'évaluation de l'utilité sociale (CITER).",
    )
    table = _indicator_table(indicators, "utility")
    if table:
        section.tables.append(table)
    start, end = indicators.perimeter.start, indicators.perimeter.end
    end_day = engine.add_months(end, 1) - datetime.timedelta(days=1)
    for entry in utility_summary(services=services, start=start, end=end_day):
        rows = [[i["label"], i["text"], i.get("unit", "")] for i in entry["indicators"]]
        assessment = entry.get("self_assessment")
        if assessment:
            rows.append(["Auto-évaluation", assessment["level_label"], assessment["evidence"]])
        for survey in entry.get("surveys", []):
            if survey["suppressed"]:
                rows.append([f"Enquête — {survey['audience_label']}",
                             survey["responses_label"], "moyenne non diffusée"])  # fmt: skip
            else:
                rows.append([f"Enquête — {survey['audience_label']}",
                             f"{fr_number(survey['mean'])} / 5",
                             survey["responses_label"]])  # fmt: skip
        for cost in entry.get("avoided_costs", []):
            amount = "—" if cost["amount"] is None else f"{fr_number(cost['amount'])} €"
            rows.append([f"Coûts évités — {cost['label']}", amount,
                         f"Hypothèses : {cost['assumptions']}"])  # fmt: skip
        section.tables.append(
            Table(str(entry["register"]), ["Élément", "Valeur", "Unité ou précision"], rows)
        )
    return section


# --- the two reports ---------------------------------------------------------------------


def _decisions_section(report: Report) -> Section:
    start, end = report.start, _last_day(report)
    meetings = SteeringMeeting.objects.filter(held_on__gte=start, held_on__lte=end)
    open_decisions = Decision.objects.filter(status="open")
    if report.agreement_id:
        meetings = meetings.filter(agreement_id=report.agreement_id)
        open_decisions = open_decisions.filter(meeting__agreement_id=report.agreement_id)
    else:
        meetings = meetings.filter(agreement__territory__ancestor_links__ancestor=report.territory)
        open_decisions = open_decisions.filter(
            meeting__agreement__territory__ancestor_links__ancestor=report.territory
        )
    section = Section("decisions", "Instances et décisions")
    rows = []
    for meeting in meetings.order_by("held_on").prefetch_related("decisions"):
        for d in meeting.decisions.all():
            rows.append(
                [
                    f"{meeting.held_on:%d/%m/%Y}",
                    d.text,
                    d.owner,
                    f"{d.due_on:%d/%m/%Y}" if d.due_on else "",
                    d.get_status_display(),
                ]
            )
    section.figures = [
        ("Réunions sur la période", fr_number(meetings.count()), "réunions"),
        ("Décisions en cours", fr_number(open_decisions.count()), "décisions"),
    ]
    section.tables.append(
        Table(
            "Décisions prises sur la période",
            ["Réunion", "Décision", "Porteur", "Échéance", "Suivi"],
            rows,
            "" if rows else "Aucune réunion sur la période.",
        )
    )
    today = timezone.localdate()
    late = [
        [d.text, d.owner, f"{d.due_on:%d/%m/%Y}", f"{d.meeting.held_on:%d/%m/%Y}"]
        for d in open_decisions.filter(due_on__lt=today).select_related("meeting")
    ]
    if late:
        section.tables.append(
            Table("Décisions en retard", ["Décision", "Porteur", "Échéance", "Réunion"], late)
        )
    return section


def _targets_table(agreement, indicators: dashboards.Board) -> Table | None:
    """The agreement's indicator targets beside the values of the report's period."""
    shown = indicator_shown(indicators)
    rows = [
        target_row(t, shown.get(t.indicator.code, "—"))
        for t in agreement.targets.select_related("indicator")
    ]
    if not rows:
        return None
    return Table(
        "Cibles d'indicateurs de la convention",
        ["Indicateur", "Cible", "Valeur sur la période", "Précision"],
        rows,
    )


def _agreement_section(report: Report, indicators: dashboards.Board) -> Section | None:
    if report.agreement is None:
        return None
    as_of = min(_last_day(report), timezone.localdate())
    obs = observatory(report.agreement, protected=True, as_of=as_of)
    section = Section(
        "agreement",
        f"Objectif d'emplois de la convention : {report.agreement}",
        f"Emplois créés et consolidés du {report.agreement.starts_on:%d/%m/%Y} au "
        f"{obs.as_of:%d/%m/%Y}, comparés à l'objectif de la convention.",
    )
    section.figures = [
        ("Emplois créés", obs.created, "emplois"),
        ("Emplois consolidés", obs.consolidated, "emplois"),
        ("Total", obs.total, "emplois"),
        ("Objectif", obs.target, "emplois"),
        ("Atteinte de l'objectif", obs.progress, ""),
    ]
    for b in obs.breakdowns:
        section.bars.append(Bars(b.title, b.rows))
    targets = _targets_table(report.agreement, indicators)
    if targets:
        section.tables.append(targets)
    section.tables.append(
        Table(
            "Médiateurs et ETP en poste, fin de trimestre",
            ["Date", "Médiateurs", "ETP", "Emplois créés et consolidés depuis le début"],
            [list(row) for row in obs.timeline],
        )
    )
    return section


def biannual_content(report: Report, progress=lambda pct, step: None) -> Content:
    """The sections of the steering committee's biannual report."""
    period = _period(report)
    perimeter = engine.Perimeter(report.start, report.end, territory=report.territory)
    scope = JobScope(territory_id=report.territory_id)
    content = Content(
        "Bilan semestriel de la médiation sociale",
        "Rapport au comité de pilotage régional",
        period.label,
        str(report.territory),
        timezone.now(),
        protected=True,
    )
    progress(10, "Indicateurs")
    indicators = dashboards.build("indicators", perimeter, compare=False, period=period)
    progress(20, "Objectif d'emplois")
    agreement = _agreement_section(report, indicators)
    progress(30, "Emplois et professionnalisation")
    content.sections.append(_jobs_section(perimeter, indicators, scope, report))
    if agreement:
        content.sections.append(agreement)
    progress(40, "Activité par domaine et territoire")
    activity = dashboards.build("activity", perimeter, compare=True, period=period)
    section = _board_section("activity", "Activité", activity)
    territories = dashboards.build("territories", perimeter, compare=False, period=period)
    for chart in territories.all_charts():
        if chart.kind == "map":
            section.bars.append(
                Bars(chart.title, [(r.label, r.shown, r.value) for r in chart.rows])
            )
    content.sections.append(section)
    progress(60, "Résultats")
    results = dashboards.build("results", perimeter, compare=True, period=period)
    content.sections.append(_board_section("results", "Résultats", results))
    progress(70, "Utilité sociale")
    services = Service.objects.filter(
        territories__ancestor_links__ancestor=report.territory
    ).distinct()
    content.sections.append(_utility_section(indicators, services))
    progress(80, "Financements")
    content.sections.append(_finance_section(scope, report))
    content.sections.append(_quality_section(indicators))
    content.sections.append(_decisions_section(report))
    return content


def funder_content(report: Report, progress=lambda pct, step: None) -> Content:
    """The sections of a service's activity report (bilan d'activité) for one funder."""
    service = report.service
    period = _period(report)
    perimeter = engine.Perimeter(report.start, report.end, service_ids=(str(service.pk),))
    scope = JobScope(service_ids=(str(service.pk),))
    content = Content(
        f"Bilan d'activité — {service.name}",
        f"{service.structure.name}, pour {report.funder}",
        period.label,
        service.name,
        timezone.now(),
        protected=True,
    )
    territories = ", ".join(t.name for t in service.territories.all())
    domains = ", ".join(d.label for d in service.domains.all())
    bodies = ", ".join(o.name for o in service.commissioning_bodies.all())
    content.sections.append(
        Section(
            "service",
            "Le dispositif",
            service.objectives,
            figures=[
                ("Structure", service.structure.name, ""),
                ("Territoires", territories or "—", ""),
                ("Domaines", domains or "—", ""),
                ("Commanditaires", bodies or "—", ""),
                ("Stade du projet", service.stage.label, ""),
                ("Depuis le", f"{service.starts_on:%d/%m/%Y}", ""),
            ],
        )
    )
    progress(20, "Activité")
    activity = dashboards.build("activity", perimeter, compare=True, period=period)
    content.sections.append(_board_section("activity", "Activité", activity))
    progress(45, "Résultats")
    results = dashboards.build("results", perimeter, compare=True, period=period)
    content.sections.append(_board_section("results", "Résultats", results))
    progress(65, "Emplois et professionnalisation")
    indicators = dashboards.build("indicators", perimeter, compare=False, period=period)
    content.sections.append(_jobs_section(perimeter, indicators, scope, report))
    progress(75, "Utilité sociale")
    content.sections.append(_utility_section(indicators, [service]))
    progress(85, "Financements")
    content.sections.append(_finance_section(scope, report, funder=report.funder))
    content.sections.append(_quality_section(indicators))
    return content


# --- files ---------------------------------------------------------------------


def render_pdf(content: Content) -> bytes:
    from weasyprint import HTML

    html = render_to_string("steering/pdf/report.html", {"content": content})
    return HTML(string=html).write_pdf()


def _sheet_title(text: str, used: set[str]) -> str:
    clean = "".join(c for c in text if c not in "[]:*?/\\")[:31].strip() or "Feuille"
    title, n = clean, 2
    while title in used:
        suffix = f" ({n})"
        title, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def _cell(value) -> str:
    """Displayed strings only (lazy translations included); nothing hidden is written."""
    return "" if value is None else str(value)


def render_xlsx(content: Content) -> bytes:
    """One sheet per section after a summary sheet; header rows in bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    workbook = Workbook()
    summary = workbook.active
    used: set[str] = set()
    summary.title = _sheet_title("Sommaire", used)
    for line in (
        [content.title],
        [content.subtitle],
        ["Période", content.period_label],
        ["Périmètre", content.perimeter_label],
        ["Produit le", timezone.localtime(content.generated_at).strftime("%d/%m/%Y %H:%M")],
        [],
        ["Secret statistique", content.legend or "sans objet (données de la structure)"],
        [],
        ["Sections"],
        *[[s.title] for s in content.sections],
    ):
        summary.append(line)
    summary["A1"].font = Font(bold=True, size=14)
    summary.column_dimensions["A"].width = 40
    summary.column_dimensions["B"].width = 60
    for section in content.sections:
        sheet = workbook.create_sheet(_sheet_title(section.title, used))
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True, size=13)
        if section.intro:
            sheet.append([section.intro])
        if section.figures:
            sheet.append([])
            sheet.append(["Chiffre", "Valeur", "Unité"])
            for cell in sheet[sheet.max_row]:
                cell.font = bold
            for figure in section.figures:
                sheet.append([_cell(value) for value in figure])
        tables = section.tables + [
            Table(b.title, ["", "Valeur"], [[label, shown] for label, shown, _ in b.rows])
            for b in section.bars
        ]
        for table in tables:
            sheet.append([])
            sheet.append([table.title])
            sheet[sheet.max_row][0].font = bold
            sheet.append(table.header)
            for cell in sheet[sheet.max_row]:
                cell.font = bold
            for row in table.rows:
                sheet.append([_cell(value) for value in row])
            if table.note:
                sheet.append([table.note])
        sheet.column_dimensions["A"].width = 45
        for letter in "BCDEFG":
            sheet.column_dimensions[letter].width = 18
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BUILDERS = {ReportKind.BIANNUAL: biannual_content, ReportKind.FUNDER: funder_content}


def _file_name(report: Report, ext: str) -> str:
    kind = "bilan-semestriel" if report.kind == ReportKind.BIANNUAL else "bilan-activite"
    return f"{kind}-{report.start:%Y-%m}-{report.end:%Y-%m}.{ext}"


def report_generate(*, report_id) -> Report:
    """Build a report's sections, then its PDF and XLSX; the progress is saved as it goes
    (outside any transaction, so the page polling it sees it). A failure is kept on the
    report, with its message, rather than lost in a log."""
    report = Report.objects.select_related(
        "territory", "agreement", "service__structure", "service__stage", "funder"
    ).get(pk=report_id)
    if report.state == ReportState.DONE:
        return report

    def progress(pct: int, step: str) -> None:
        Report.objects.filter(pk=report.pk).update(
            state=ReportState.RUNNING, progress=pct, step=step
        )

    progress(1, "Démarrage")
    try:
        content = BUILDERS[report.kind](report, progress)
        progress(90, "Mise en page du PDF")
        pdf = render_pdf(content)
        progress(97, "Classeur XLSX")
        xlsx = render_xlsx(content)
    except Exception as exc:  # kept on the report: the page shows it
        logger.exception("Report %s failed", report.pk)
        Report.objects.filter(pk=report.pk).update(
            state=ReportState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        report.refresh_from_db()
        return report
    report.pdf.save(_file_name(report, "pdf"), ContentFile(pdf), save=False)
    report.xlsx.save(_file_name(report, "xlsx"), ContentFile(xlsx), save=False)
    report.state, report.progress, report.step = ReportState.DONE, 100, "Terminé"
    report.error = ""
    report.finished_at = timezone.now()
    report.save(update_fields=["pdf", "xlsx", "state", "progress", "step", "error", "finished_at"])
    return report
