"""Reads of regional steering: the job observatory of a framework agreement.

Figures for steering are aggregates: every count of jobs or people is protected by small-cell
suppression (`lien.core.suppression`) unless the viewer administers the platform.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from lien.core import suppression
from lien.indicators.dashboards import Board, Period, build, cell_text, fr_number
from lien.indicators.engine import Perimeter, add_months, children_of
from lien.jobs.queries import JobEvent, JobScope, headcount, job_events
from lien.referentiel.models import Domain
from lien.structures.models import Service
from lien.territories.models import TerritoryAncestor


@dataclass
class Breakdown:
    title: str
    key_label: str
    rows: list[tuple[str, str, float | None]]  # (label, shown, value for drawing or None)
    total: str | None = None
    note: str = ""

    @property
    def drawn(self) -> list[tuple[str, str, float | None]]:
        """(label, shown, bar length in % of the largest visible value, None when hidden)."""
        top = max((v for _, _, v in self.rows if v), default=0) or 1
        return [(k, shown, None if v is None else v * 100 / top) for k, shown, v in self.rows]


@dataclass
class Observatory:
    agreement: object
    as_of: datetime.date
    protected: bool
    created: str
    consolidated: str
    total: str
    target: str
    progress: str  # "42,3 %" of the target
    progress_value: float  # for the gauge (0–100)
    fte: str
    breakdowns: list[Breakdown] = field(default_factory=list)
    timeline: list[tuple[str, str, str, str]] = field(default_factory=list)


def _shown_counts(counts: dict[str, int], protected: bool, *, show_total=True):
    """Rows (label, shown, value) and the total, protected when needed."""
    labels = sorted(counts, key=lambda k: (-counts[k], k))
    if not protected:
        rows = [(k, fr_number(counts[k]), float(counts[k])) for k in labels]
        return rows, fr_number(sum(counts.values())) if show_total else None
    series = suppression.protect_mapping({k: counts[k] for k in labels}, show_total=show_total)
    rows = []
    for label, cell in zip(labels, series.cells, strict=True):
        rows.append((label, cell_text(cell), None if cell.suppressed else float(counts[label])))
    return rows, cell_text(series.total) if series.total else None


def _count(value: int, protected: bool) -> str:
    """One count on its own: "< 5" when small and protected."""
    if protected:
        return cell_text(suppression.protect_series([value], show_total=False).cells[0])
    return fr_number(value)


def _small(value: int) -> bool:
    return 0 < value < settings.LIEN_SMALL_CELL_THRESHOLD


def agreement_scope(agreement) -> JobScope:
    return JobScope(territory_id=agreement.territory_id)


def observatory(agreement, *, protected: bool, as_of: datetime.date | None = None) -> Observatory:
    """Jobs created and consolidated since the agreement began (up to `as_of`, at the latest
    its end) against its target, by territory, employer type, domain and contract type, and
    the people and FTE in post at the end of each quarter."""
    today = timezone.localdate()
    as_of = min(as_of or today, agreement.ends_on)
    scope = agreement_scope(agreement)
    events = job_events(scope, agreement.starts_on, as_of) if as_of >= agreement.starts_on else []
    created = sum(e.kind == "created" for e in events)
    consolidated = len(events) - created
    total = len(events)
    progress = Decimal(total * 100) / agreement.job_target
    fte = sum((e.fte for e in events), Decimal("0"))
    # Created + consolidated = total: the three are one protected series.
    split, shown_total = _shown_counts(
        {"created": created, "consolidated": consolidated}, protected
    )
    shown = {key: text for key, text, _ in split}
    result = Observatory(
        agreement=agreement,
        as_of=as_of,
        protected=protected,
        created=shown["created"],
        consolidated=shown["consolidated"],
        total=shown_total,
        target=fr_number(agreement.job_target),
        progress=f"{fr_number(progress.quantize(Decimal('0.1')))}\u00a0%",
        progress_value=float(min(progress, Decimal(100))),
        fte="—" if protected and _small(total) else fr_number(fte.quantize(Decimal("0.1"))),
    )
    if protected and _small(total):
        result.progress, result.progress_value = suppression.MASKED, 0.0
    result.breakdowns = breakdowns(agreement, events, protected)
    result.timeline = timeline(scope, agreement.starts_on, as_of, events, protected)
    return result


def breakdowns(agreement, events: list[JobEvent], protected: bool) -> list[Breakdown]:
    out = []
    # By territory one level below the agreement's (départements of a région…).
    children = children_of(agreement.territory)
    communes = {e.commune_id for e in events if e.commune_id}
    links = dict(
        TerritoryAncestor.objects.filter(
            ancestor__in=children, descendant_id__in=communes
        ).values_list("descendant_id", "ancestor__name")
    )
    by_territory: dict[str, int] = {c.name: 0 for c in children}
    for e in events:
        name = links.get(e.commune_id, "Autre ou non renseigné")
        by_territory[name] = by_territory.get(name, 0) + 1
    level = children[0].get_level_display() if children else "territoire"
    rows, total = _shown_counts(by_territory, protected)
    out.append(Breakdown(f"Emplois par {level}", level.capitalize(), rows, total))
    counts: dict[str, int] = {}
    for e in events:
        counts[e.employer_type] = counts.get(e.employer_type, 0) + 1
    rows, total = _shown_counts(counts, protected)
    out.append(Breakdown("Emplois par type d'employeur", "Type d'employeur", rows, total))
    # A post counts in each domain of its service: the rows do not add up to the total.
    services = {e.service_id for e in events}
    domains_of: dict = {}
    for service_id, label in Service.domains.through.objects.filter(
        service_id__in=services
    ).values_list("service_id", "domain__label"):
        domains_of.setdefault(service_id, []).append(label)
    counts = dict.fromkeys(Domain.objects.values_list("label", flat=True), 0)
    for e in events:
        for label in domains_of.get(e.service_id, ["non renseigné"]):
            counts[label] = counts.get(label, 0) + 1
    rows, _ = _shown_counts(counts, protected, show_total=False)
    out.append(
        Breakdown(
            "Emplois par domaine d'intervention",
            "Domaine",
            rows,
            None,
            "Un emploi compte dans chaque domaine de son dispositif : les lignes ne s'additionnent "
            "pas.",
        )
    )
    counts = {}
    for e in events:
        counts[e.contract_type] = counts.get(e.contract_type, 0) + 1
    rows, total = _shown_counts(counts, protected)
    out.append(Breakdown("Emplois par type de contrat", "Type de contrat", rows, total))
    return out


def quarter_ends(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The last day of each quarter from `start`'s to `end`'s, `end` itself for the last."""
    first = datetime.date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    days = []
    month = first
    while month <= end:
        last = add_months(month, 3) - datetime.timedelta(days=1)
        days.append(min(last, end))
        month = add_months(month, 3)
    return days


def timeline(
    scope: JobScope, start, end, events, protected: bool
) -> list[tuple[str, str, str, str]]:
    """(quarter end, people in post, FTE, jobs created and consolidated so far). Each line is
    a total of its own; the FTE is withheld with a small headcount."""
    rows = []
    for day in quarter_ends(start, end) if end >= start else []:
        people, fte = headcount(scope, day)
        so_far = sum(e.on <= day for e in events)
        hidden_fte = protected and _small(people)
        rows.append(
            (
                day.strftime("%d/%m/%Y"),
                _count(people, protected),
                "—" if hidden_fte else fr_number(fte.quantize(Decimal("0.1"))),
                _count(so_far, protected),
            )
        )
    return rows


# --- indicator targets --------------------------------------------------------------------


@dataclass(frozen=True)
class TargetProgress:
    """The agreement's indicator targets beside their values since it began."""

    period: Period | None  # whole months from the agreement's start; None before it starts
    rows: list[tuple[object, str]]  # (AgreementTarget, value shown: "—", "< 5", "12,5 %"…)

    @property
    def label(self) -> str:
        if self.period is None:
            return "la convention n'a pas encore commencé"
        return f"de {self.period.start:%m/%Y} à {self.period.end:%m/%Y}"


def target_row(target, shown: str) -> list[str]:
    """One line of a targets table (page download, reports): indicator, target, value
    shown, note."""
    unit = target.indicator.unit
    return [target.indicator.label, f"{fr_number(target.value)} {unit}".strip(), shown, target.note]


def indicator_shown(board: Board) -> dict[str, str]:
    """Each indicator's displayed value on an indicators board, by indicator code."""
    return {row.key: row.shown for chart in board.all_charts() for row in chart.rows}


def target_progress(agreement, *, protected: bool, as_of=None) -> TargetProgress:
    """The indicators of the agreement's targets over its territory, from the month it began
    to the month of `as_of` (today by default; at the latest its end), protected like a
    dashboard seen from outside the structures."""
    targets = list(agreement.targets.select_related("indicator").order_by("indicator__label"))
    start = agreement.starts_on.replace(day=1)
    end = min(as_of or timezone.localdate(), agreement.ends_on).replace(day=1)
    if not targets or end < start:
        return TargetProgress(None if end < start else Period("perso", start, end),
                              [(t, "—") for t in targets])  # fmt: skip
    period = Period("perso", start, end)
    perimeter = Perimeter(start, end, territory=agreement.territory, protected=protected)
    shown = indicator_shown(build("indicators", perimeter, compare=False, period=period))
    return TargetProgress(period, [(t, shown.get(t.indicator.code, "—")) for t in targets])
