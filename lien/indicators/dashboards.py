"""The standard dashboards: which figures, charts and tables each page shows.

`build(code, perimeter)` runs every query a dashboard needs — a fixed handful of indexed
GROUP BYs on the roll-up cubes, whatever the number of interventions — and returns a
`Board` whose figures are already protected (small-cell suppression) when the perimeter
is seen from outside the structures it counts. Pages, exports and the benchmark all use
it, so what is measured is what is shown.

Every number a board holds is a displayed string; the raw value is kept only where a chart
needs a length to draw (`Row.value`), and it is None for a suppressed cell.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from lien.core import suppression
from lien.indicators import engine
from lien.indicators.engine import Perimeter, add_months
from lien.indicators.models import IndicatorDefinition, IndicatorFamily, IndicatorTarget
from lien.referentiel.models import ActivityType, Domain
from lien.territories.models import Level

#: code → (URL slug, title). The order is the order of the tabs.
DASHBOARDS: dict[str, tuple[str, str]] = {
    "overview": ("", "Vue d'ensemble"),
    "activity": ("activite", "Activité"),
    "results": ("resultats", "Résultats"),
    "territories": ("territoires", "Territoires"),
    "indicators": ("indicateurs", "Indicateurs"),
}
STANDARD_DASHBOARDS = tuple(DASHBOARDS)

MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
MONTHS_SHORT = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


# --- periods ------------------------------------------------------------------------------


PERIOD_KINDS = {
    "mois": ("Mois", 1),
    "trimestre": ("Trimestre", 3),
    "semestre": ("Semestre", 6),
    "annee": ("Année", 12),
    "perso": ("Période libre", 0),
}
MAX_CUSTOM_MONTHS = 60


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date  # first month
    end: datetime.date  # last month

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        if self.kind == "mois":
            return f"{MONTHS_FR[s.month - 1]} {s.year}"
        if self.kind == "trimestre":
            return f"{(s.month - 1) // 3 + 1}ᵉ trimestre {s.year}"
        if self.kind == "semestre":
            return f"{(s.month - 1) // 6 + 1}ᵉʳ semestre {s.year}".replace("2ᵉʳ", "2ᵉ")
        if self.kind == "annee":
            return f"année {s.year}"
        if s == e:
            return f"{MONTHS_FR[s.month - 1]} {s.year}"
        return f"de {MONTHS_FR[s.month - 1]} {s.year} à {MONTHS_FR[e.month - 1]} {e.year}"

    def previous(self) -> Period:
        return Period(self.kind, add_months(self.start, -self.months), add_months(self.start, -1))

    @classmethod
    def containing(cls, kind: str, month: datetime.date) -> Period:
        length = PERIOD_KINDS[kind][1]
        first = datetime.date(month.year, ((month.month - 1) // length) * length + 1, 1)
        return cls(kind, first, add_months(first, length - 1))


def month_label(month: datetime.date) -> str:
    return f"{MONTHS_SHORT[month.month - 1]} {month.year}"


# --- numbers as the French read them --------------------------------------------------------


def fr_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal | float):
        text = f"{value:,.1f}"
        if text.endswith(".0"):
            text = text[:-2]
    else:
        text = f"{value:,}"
    return text.replace(",", "\u202f").replace(".", ",")


def fr_change(current, previous) -> str:
    """The relative change, "+12,5 %", or "—" when it cannot be computed."""
    if current is None or previous is None or not previous:
        return "—"
    change = (Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)
    sign = "+" if change > 0 else ("−" if change < 0 else "")
    return f"{sign}{fr_number(abs(change).quantize(Decimal('0.1')))}\u00a0%"


# --- what a board is made of ----------------------------------------------------------------


@dataclass
class Figure:
    """A headline number with its comparison."""

    code: str
    label: str
    unit: str
    shown: str
    previous: str | None = None
    change: str | None = None
    note: str = ""


@dataclass
class Row:
    key: str
    label: str
    shown: str
    value: float | None  # for drawing; None when hidden
    previous: str | None = None
    url_params: dict | None = None  # drill down: the filters that open this row
    territory_id: int | None = None
    extra: list[str] = field(default_factory=list)  # cells of a multi-column table
    description: str = ""
    url: str | None = None  # set by the view from `url_params`
    width: float | None = None  # bar length in % of the largest, set for drawing


@dataclass
class Chart:
    code: str
    title: str
    kind: str  # "series", "bars", "map", "table"
    unit: str
    rows: list[Row]
    total: str | None = None
    previous_total: str | None = None
    description: str = ""
    columns: list[str] = field(default_factory=list)  # extra table columns (kind "table")
    map: object | None = None  # lien.indicators.maps.Choropleth for kind "map"
    layout: dict | None = None  # drawing of a series, set by the view

    @property
    def max_value(self) -> float:
        return max((r.value for r in self.rows if r.value is not None), default=0) or 1

    @property
    def key_label(self) -> str:
        return chart_key_label(self)

    @property
    def value_label(self) -> str:
        return chart_value_label(self)

    @property
    def has_previous(self) -> bool:
        return any(r.previous is not None for r in self.rows)


FIGURES_TITLE = "Chiffres clés"


@dataclass
class Board:
    code: str
    title: str
    perimeter: Perimeter
    period: Period
    compare: bool
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    sections: list[tuple[str, list[Chart]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def protected(self) -> bool:
        return self.perimeter.protected

    @property
    def legend(self) -> str:
        return suppression.legend() if self.protected else ""

    def all_charts(self) -> list[Chart]:
        return self.charts + [chart for _, charts in self.sections for chart in charts]

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, lines) of every table shown — what exports write. Only displayed
        strings: nothing hidden on the page can be read in a file."""
        out = []
        if self.figures:
            header = ["Indicateur", "Valeur", "Unité"]
            if self.compare:
                header += ["Période précédente", "Évolution"]
            lines = []
            for f in self.figures:
                line = [f.label, f.shown, f.unit]
                if self.compare:
                    line += [f.previous or "", f.change or ""]
                lines.append(line)
            out.append((FIGURES_TITLE, header, lines))
        for chart in self.all_charts():
            header = [chart_key_label(chart), chart_value_label(chart)]
            if chart.columns:
                header = ["Indicateur", *chart.columns]
            elif self.compare and chart.has_previous:
                header.append("Période précédente")
            lines = []
            for row in chart.rows:
                if chart.columns:
                    lines.append([row.label, *row.extra])
                    continue
                line = [row.label, row.shown]
                if self.compare and chart.has_previous:
                    line.append(row.previous or "")
                lines.append(line)
            if chart.total is not None:
                line = ["Total", chart.total]
                if self.compare and chart.has_previous:
                    line.append(chart.previous_total or "")
                lines.append(line)
            out.append((chart.title, header, lines))
        return out


def chart_key_label(chart: Chart) -> str:
    return {"series": "Mois", "map": "Territoire", "table": "Indicateur"}.get(
        chart.kind, "Catégorie"
    )


def chart_value_label(chart: Chart) -> str:
    return chart.unit[:1].upper() + chart.unit[1:]


# --- protection -----------------------------------------------------------------------------


def _protected_counts(values: list[int], protected: bool, show_total: bool = True):
    """(shown strings, drawable values, shown total) for a list of counts."""
    values = [int(v or 0) for v in values]
    total = sum(values)
    if not protected or not values:
        return (
            [fr_number(v) for v in values],
            [float(v) for v in values],
            fr_number(total) if show_total else None,
        )
    series = suppression.protect_series(values, show_total=show_total)
    shown = [cell_text(c) for c in series.cells]
    drawable = [None if c.suppressed or c.reason else float(c.value) for c in series.cells]
    return shown, drawable, cell_text(series.total) if series.total else None


def cell_text(cell) -> str:
    """A protected cell as shown: its mark when hidden, the French number otherwise."""
    text = cell.display()
    return text if cell.suppressed or cell.reason else fr_number(cell.value)


def _protected_count(value, protected: bool) -> str:
    shown, _, _ = _protected_counts([value or 0], protected, show_total=False)
    return shown[0]


def _protected_rate(numerator, denominator, protected: bool) -> str:
    numerator, denominator = int(numerator or 0), int(denominator or 0)
    if protected:
        return suppression.protect_rate(min(numerator, denominator), denominator).display()
    if not denominator:
        return "—"
    return f"{fr_number(Decimal(100 * numerator / denominator).quantize(Decimal('0.1')))}\u00a0%"


def _hidden(shown: str) -> bool:
    return shown.startswith("<") or shown in (suppression.MASKED, suppression.NOT_PUBLISHED)


# --- building blocks ------------------------------------------------------------------------


def _figure_set(perimeter: Perimeter, previous: Perimeter | None, codes) -> list[Figure]:
    """Headline figures (codes of `FIGURES`), with one query per cube and period."""
    specs = [(code, *astuple_spec(FIGURES[code])) for code in codes]
    wanted = []
    for *_, numerator, denominator in specs:
        wanted += [numerator, denominator] if denominator else [numerator]
    if previous is not None:
        current, before = engine.measure_values_pair(wanted, perimeter, previous)
    else:
        current, before = engine.measure_values(wanted, perimeter), None
    figures = []
    for code, label, unit, kind, numerator, denominator in specs:
        now = _figure_values(current, numerator, denominator)
        source = engine.MEASURES[numerator[0]].source
        figure = Figure(code, label, unit, _figure_text(kind, *now, perimeter.protected, source))
        if before is not None:
            then = _figure_values(before, numerator, denominator)
            figure.previous = _figure_text(kind, *then, perimeter.protected, source)
            if _hidden(figure.shown) or _hidden(figure.previous):
                figure.change = "—"
            elif kind == "rate":
                figure.change = _points_change(now, then)
            else:
                figure.change = fr_change(now[0], then[0])
        figures.append(figure)
    return figures


def astuple_spec(spec: FigureSpec) -> tuple:
    return spec.label, spec.unit, spec.kind, spec.numerator, spec.denominator


def _figure_values(values: dict, numerator, denominator) -> tuple:
    num = values[engine.request_key(*numerator)]
    den = values[engine.request_key(*denominator)] if denominator else None
    return num, den


def _figure_text(kind: str, num, den, protected: bool, source: str = "logbook") -> str:
    if num is None:
        # In Lien with nothing to measure (no fixed report, too few survey answers).
        return "—"
    if kind == "rate":
        return _protected_rate(num, den, protected)
    if kind == "amount":
        return fr_number(num)
    return _protected_count(num, protected)


def _points_change(now: tuple, then: tuple) -> str:
    """The change of a rate, in percentage points."""
    (num, den), (num_before, den_before) = now, then
    if not den or not den_before:
        return "—"
    change = Decimal(num or 0) * 100 / Decimal(den) - Decimal(num_before or 0) * 100 / Decimal(
        den_before
    )
    change = change.quantize(Decimal("0.1"))
    sign = "+" if change > 0 else ("−" if change < 0 else "")
    return f"{sign}{fr_number(abs(change))}\u00a0pt"


def _series_chart(code, title, measure, perimeter: Perimeter, filters=None, description=""):
    points = engine.series(measure, perimeter, filters)
    unit = engine.MEASURES[measure].unit
    if engine.MEASURES[measure].divisor != 1:
        shown = [fr_number(v) for _, v in points]
        drawable = [float(v) for _, v in points]
        total = fr_number(sum((v for _, v in points), Decimal(0)))
    else:
        shown, drawable, total = _protected_counts([v for _, v in points], perimeter.protected)
    rows = [
        Row(month.isoformat()[:7], month_label(month), text, value)
        for (month, _), text, value in zip(points, shown, drawable, strict=True)
    ]
    return Chart(code, title, "series", unit, rows, total, description=description)


def _breakdown_chart(
    code,
    title,
    measure,
    dimension,
    perimeter: Perimeter,
    previous: Perimeter | None,
    filters=None,
    description="",
    limit: int | None = None,
    drill: str | None = None,
):
    """A breakdown by one dimension; beyond `limit` rows the rest is one "Autres" row (a
    cell, so the total still adds up and protection still holds)."""
    if previous is not None:
        items, before_items = engine.breakdown_pair(
            measure, dimension, perimeter, previous, filters
        )
    else:
        items, before_items = engine.breakdown(measure, dimension, perimeter, filters), []
    if dimension == "qpv":
        items = [(k, "Hors QPV" if k == "0" else label, v) for k, label, v in items]
    if limit is not None and len(items) > limit:
        head, rest = items[:limit], items[limit:]
        items = [*head, ("autres", f"Autres ({len(rest)})", sum(v for _, _, v in rest))]
    rows = _rows_from_items(items, perimeter, measure, drill)
    description = " ".join(filter(None, [description, _unfiltered(measure, perimeter)]))
    chart = Chart(
        code, title, "bars", engine.MEASURES[measure].unit, rows, None, description=description
    )
    chart.total = _total_of(items, perimeter, measure)
    if previous is not None:
        before = {key: value for key, _, value in before_items}
        keys = [row.key for row in rows]
        known = [before.get(k, 0) for k in keys if k != "autres"]
        if "autres" in keys:
            known.append(sum(v for k, v in before.items() if k not in keys))
        shown, _, total = _shown(known, previous, measure)
        for row, text in zip(rows, shown, strict=True):
            row.previous = text
        chart.previous_total = total
    return chart


def _unfiltered(measure: str, perimeter: Perimeter) -> str:
    """Say when a chart cannot honour the domain or activity chosen (its cube lacks it)."""
    cube = engine.MEASURES[measure].cube
    missing = []
    if perimeter.domains and not engine._cube_has(cube, "domain_id"):
        missing.append("domaine")
    if perimeter.activities and not engine._cube_has(cube, "activity_type_id"):
        missing.append("activité")
    if not missing:
        return ""
    return f"Ce graphique ne se filtre pas par {' ni par '.join(missing)} : toutes sont comptées."


def _shown(values, perimeter, measure):
    if engine.MEASURES[measure].divisor != 1:
        return [fr_number(v) for v in values], [float(v) for v in values], fr_number(sum(values))
    return _protected_counts(values, perimeter.protected)


def _rows_from_items(items, perimeter, measure, drill) -> list[Row]:
    shown, drawable, _ = _shown([v for _, _, v in items], perimeter, measure)
    rows = []
    for (key, label, _), text, value in zip(items, shown, drawable, strict=True):
        params = None
        if drill == "service" and key not in ("autres", "0"):
            params = {drill: key}
        elif drill and key not in ("autres", "0"):
            code = engine.code_of(DRILL_MODELS[drill], key)
            params = {drill: code} if code else None
        rows.append(Row(key, label, text, value, url_params=params))
    return rows


def _total_of(items, perimeter, measure) -> str:
    return _shown([v for _, _, v in items], perimeter, measure)[2]


# --- the dashboards -------------------------------------------------------------------------

CONFLICTS = {"activity": ["gestion-conflits"]}
DRILL_MODELS = {"activite": ActivityType, "domaine": Domain}
HANDLED = {**CONFLICTS, "has_outcome": True}


@dataclass(frozen=True)
class FigureSpec:
    label: str
    unit: str
    kind: str  # "count" (protected), "amount" (not a count of people) or "rate"
    numerator: tuple
    denominator: tuple | None = None


FIGURES: dict[str, FigureSpec] = {
    "interventions": FigureSpec("Interventions", "interventions", "count", ("interventions", {})),
    "people_met": FigureSpec("Personnes rencontrées", "personnes", "count", ("people_met", {})),
    "requests": FigureSpec("Demandes (par thème)", "demandes", "count", ("requests", {})),
    "hours": FigureSpec("Heures d'intervention", "heures", "amount", ("hours", {})),
    "outreach_hours": FigureSpec(
        "Heures de présence active de proximité", "heures", "amount", ("outreach_hours", {})
    ),
    "qpv_share": FigureSpec(
        "Part des interventions en QPV",
        "%",
        "rate",
        ("qpv_interventions", {}),
        ("interventions", {}),
    ),
    "qpv_covered": FigureSpec("QPV couverts", "QPV", "amount", ("qpv_covered", {})),
    "communes_covered": FigureSpec(
        "Communes couvertes", "communes", "amount", ("communes_covered", {})
    ),
    "resolution_rate": FigureSpec(
        "Taux de résolution des conflits",
        "%",
        "rate",
        ("results", {**CONFLICTS, "outcome_family": ["resolved"]}),
        ("results", HANDLED),
    ),
    "refusal_rate": FigureSpec(
        "Taux de refus ou de retrait",
        "%",
        "rate",
        ("results", {**CONFLICTS, "outcome_family": ["refused"]}),
        ("results", HANDLED),
    ),
    "with_outcome": FigureSpec(
        "Saisies avec une issue", "%", "rate", ("with_outcome", {}), ("interventions", {})
    ),
    "conflicts_real_time": FigureSpec(
        "Conflits gérés en temps réel",
        "interventions",
        "count",
        ("results", {**CONFLICTS, "timing": ["real_time"]}),
    ),
    "conflicts_deferred": FigureSpec(
        "Conflits gérés en différé",
        "interventions",
        "count",
        ("results", {**CONFLICTS, "timing": ["deferred"]}),
    ),
    "referred": FigureSpec(
        "Orientations vers un partenaire",
        "interventions",
        "count",
        ("results", {"outcome_family": ["referred"]}),
    ),
    "emergencies": FigureSpec(
        "Relais vers les secours", "interventions", "count", ("emergencies", {})
    ),
    "referral_success": FigureSpec(
        "Mises en relation abouties", "%", "rate", ("referrals_done", {}), ("referrals", {})
    ),
    "referral_unanswered": FigureSpec(
        "Mises en relation sans réponse connue",
        "%",
        "rate",
        ("referrals_unanswered", {}),
        ("referrals", {}),
    ),
    "report_fix_rate": FigureSpec(
        "Signalements techniques résolus",
        "%",
        "rate",
        ("technical_reports_fixed", {}),
        ("technical_reports", {}),
    ),
    "median_fix_days": FigureSpec(
        "Délai médian de résolution (jours)", "jours", "amount", ("median_fix_days", {})
    ),
}


def _overview(board: Board, previous: Perimeter | None) -> None:
    p = board.perimeter
    board.figures = _figure_set(
        p,
        previous,
        [
            "interventions",
            "people_met",
            "requests",
            "outreach_hours",
            "qpv_share",
            "qpv_covered",
            "resolution_rate",
            "with_outcome",
        ],
    )
    board.charts = [
        _series_chart("monthly", "Interventions par mois", "interventions", p),
        _breakdown_chart(
            "by_activity", "Interventions par activité", "interventions", "activity", p, previous,
            drill="activite",
        ),
        _breakdown_chart(
            "by_domain", "Interventions par domaine", "interventions", "domain", p, previous,
            drill="domaine",
        ),
    ]  # fmt: skip
    if p.structure_ids is not None or p.service_ids is not None:
        # A coordinator's services, or the services a funder commissions: each one's share.
        board.charts.append(
            _breakdown_chart(
                "by_service", "Interventions par dispositif", "interventions", "service", p,
                previous, drill="service",
            )
        )  # fmt: skip


def _activity(board: Board, previous: Perimeter | None) -> None:
    p = board.perimeter
    board.figures = _figure_set(
        p,
        previous,
        ["interventions", "people_met", "requests", "hours", "outreach_hours", "communes_covered"],
    )
    board.charts = [
        _series_chart("people_monthly", "Personnes rencontrées par mois", "people_met", p),
        _breakdown_chart(
            "people_by_domain", "Personnes rencontrées par domaine", "people_met", "domain", p,
            previous, drill="domaine",
        ),
        _breakdown_chart(
            "requests_by_theme", "Demandes par thème (comptées à part des personnes)", "requests",
            "theme", p, previous,
        ),
        _breakdown_chart(
            "by_situation", "Interventions par situation rencontrée", "situations", "situation", p,
            previous, limit=12,
        ),
        _breakdown_chart(
            "hours_by_activity", "Heures par activité", "hours", "activity", p, None,
            drill="activite",
        ),
    ]  # fmt: skip


def _results(board: Board, previous: Perimeter | None) -> None:
    p = board.perimeter
    board.figures = _figure_set(
        p,
        previous,
        [
            "conflicts_real_time",
            "conflicts_deferred",
            "resolution_rate",
            "refusal_rate",
            "referred",
            "emergencies",
            "referral_success",
            "referral_unanswered",
            "report_fix_rate",
            "median_fix_days",
        ],
    )
    board.charts = [
        _series_chart(
            "conflicts_monthly", "Conflits gérés par mois", "results", p, CONFLICTS
        ),
        _breakdown_chart(
            "conflict_outcomes", "Issue des conflits gérés", "results", "outcome", p, previous,
            CONFLICTS,
        ),
        _breakdown_chart(
            "conflict_timing", "Conflits : temps réel ou différé", "results", "timing", p,
            previous, CONFLICTS,
        ),
        _breakdown_chart(
            "all_outcomes", "Issue de toutes les interventions", "results", "outcome", p, None
        ),
    ]  # fmt: skip


def _territories(board: Board, previous: Perimeter | None) -> None:
    from lien.indicators import maps

    p = board.perimeter
    board.figures = _figure_set(
        p, previous, ["interventions", "qpv_share", "qpv_covered", "communes_covered"]
    )
    if p.territory is not None or (p.structure_ids is None and p.service_ids is None):
        pairs = engine.by_child_territory("interventions", p)
        level = pairs[0][0].get_level_display() if pairs else ""
        territories = [t for t, _ in pairs]
        shown, drawable, total = _protected_counts([v for _, v in pairs], p.protected)
        rows = [
            Row(
                str(t.pk), t.name, text, value,
                url_params={"territoire": str(t.pk)} if t.level != Level.QPV else None,
                territory_id=t.pk,
            )
            for t, text, value in zip(territories, shown, drawable, strict=True)
        ]  # fmt: skip
        title = f"Interventions par {level}" if level else "Interventions par territoire"
    else:
        items = engine.breakdown("interventions", "commune", p)
        shown, drawable, total = _protected_counts([v for _, _, v in items], p.protected)
        rows = [
            Row(key, label, text, value, url_params={"territoire": key}, territory_id=int(key))
            for (key, label, _), text, value in zip(items, shown, drawable, strict=True)
            if key != "0"
        ]
        title = "Interventions par commune"
    chart = Chart("map", title, "map", "interventions", rows, total)
    chart.map = maps.choropleth([r.territory_id for r in rows], rows)
    board.charts = [chart]
    if p.territory is None or p.territory.level != Level.QPV:
        board.charts.append(
            _breakdown_chart(
                "by_qpv", "Interventions par QPV", "interventions", "qpv", p, previous, limit=30
            )
        )


def _indicators(board: Board, previous: Perimeter | None) -> None:
    p = board.perimeter
    definitions = list(
        IndicatorDefinition.objects.filter(is_active=True).select_related("register")
    )
    current = engine.indicator_values(definitions, p)
    before = engine.indicator_values(definitions, previous) if previous else {}
    targets = _targets(definitions, board)
    columns = ["Valeur", "Unité", "Niveau", "Registre CITER", "Cible"]
    if previous is not None:
        columns.insert(1, "Période précédente")
    for family, family_label in IndicatorFamily.choices:
        rows = []
        for d in (d for d in definitions if d.family == family):
            value = indicator_text(d, current[d.code], p)
            row = Row(d.code, d.label, value, None)
            extra = [value]
            if previous is not None:
                row.previous = indicator_text(d, before[d.code], previous)
                extra.append(row.previous)
            extra += [
                d.unit,
                d.get_level_display(),
                d.register.label if d.register else "",
                fr_number(targets[d.pk]) if d.pk in targets else "",
            ]
            row.extra = extra
            row.description = d.description
            rows.append(row)
        if rows:
            chart = Chart(family, family_label, "table", "", rows, columns=columns)
            board.charts.append(chart)
    board.notes.append(
        "« — » : rien à mesurer sur la période (pas de donnée, ou moins de "
        f"{settings.LIEN_SMALL_CELL_THRESHOLD} réponses aux enquêtes de satisfaction)."
    )


def indicator_text(definition, value, perimeter: Perimeter) -> str:
    """An indicator's value as shown for the perimeter: protected rates and counts, "—"
    when there is nothing to measure."""
    if value.numerator is None:
        return "—"
    if value.value is None:
        return "—"
    if definition.denominator:
        if (
            definition.scale == 100
            and isinstance(value.numerator, int)
            and isinstance(value.denominator, int)
        ):
            return _protected_rate(value.numerator, value.denominator, perimeter.protected)
        if perimeter.protected and isinstance(value.denominator, int) and value.denominator < 5:
            return suppression.MASKED
        return fr_number(value.value)
    if isinstance(value.value, int) and definition.unit not in ("QPV", "communes", "structures"):
        return _protected_count(value.value, perimeter.protected)
    return fr_number(value.value)


def _targets(definitions, board: Board) -> dict[int, Decimal]:
    """The target of each indicator whose period overlaps the board's, for the perimeter's
    services when it has some (else the general targets)."""
    end = add_months(board.period.end, 1) - datetime.timedelta(days=1)
    qs = IndicatorTarget.objects.filter(
        indicator__in=definitions, starts_on__lte=end, ends_on__gte=board.period.start
    )
    service_ids = board.perimeter.service_ids
    if service_ids is not None and len(service_ids) == 1:
        qs = qs.filter(service_id__in=service_ids)
    else:
        qs = qs.filter(service__isnull=True)
    return dict(qs.values_list("indicator_id", "value"))


BUILDERS = {
    "overview": _overview,
    "activity": _activity,
    "results": _results,
    "territories": _territories,
    "indicators": _indicators,
}


def build(
    code: str, perimeter: Perimeter, *, compare: bool = True, period: Period | None = None
) -> Board:
    """Every figure of one dashboard for a perimeter (and the previous period if `compare`)."""
    if code not in BUILDERS:
        raise KeyError(code)
    period = period or Period("perso", perimeter.start, perimeter.end)
    board = Board(code, DASHBOARDS[code][1], perimeter, period, compare)
    previous = None
    if compare:
        before = period.previous()
        previous = engine.Perimeter(
            **{**perimeter.__dict__, "start": before.start, "end": before.end}
        )
    BUILDERS[code](board, previous)
    return board
