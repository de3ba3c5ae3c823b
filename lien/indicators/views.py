"""Dashboard pages and their downloads.

Each page: the filters, "données à jour au …", headline figures with the previous period,
charts drawn in SVG on the server, each with its table (the accessible alternative and
what the downloads contain). Perimeters come from `engine.perimeter_for`, so a viewer never
counts more than their role allows; outside a structure every count is protected.
"""

import datetime
import re
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from lien.core import tabular
from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.signals import client_ip
from lien.indicators import dashboards, engine
from lien.indicators.forms import DashboardFilterForm
from lien.logbook.models import Intervention
from lien.territories.models import LEVEL_DEPTH, Territory

DASHBOARD_ROLES = (Role.COORDINATOR, Role.FUNDER, Role.STEERING, Role.ADMIN)
EXPORT_FORMATS = set(tabular.FORMATS)


def _url_name(code: str) -> str:
    return "indicators:dashboard" if code == "overview" else f"indicators:dashboard_{code}"


def _tabs(code: str, querystring: str) -> list[dict]:
    return [
        {
            "label": title,
            "url": reverse(_url_name(other)) + (f"?{querystring}" if querystring else ""),
            "current": other == code,
        }
        for other, (_, title) in dashboards.DASHBOARDS.items()
    ]


def _querystring(request, *, drop=("export", "tableau")) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


def dashboard_view(code: str):
    @role_required(*DASHBOARD_ROLES, Role.MEDIATOR)
    def view(request):
        membership = request.membership
        if membership.role == Role.MEDIATOR:
            return redirect("indicators:my_month")
        form = DashboardFilterForm(request.GET or None, membership=membership)
        valid = form.is_valid() if form.is_bound else False
        period = form.period()
        choices = form.choices() if valid else {}
        compare = form.compare if valid else True
        perimeter = engine.perimeter_for(membership, start=period.start, end=period.end, **choices)
        board = dashboards.build(code, perimeter, compare=compare, period=period)
        export = request.GET.get("export")
        if export in EXPORT_FORMATS:
            return _export(request, board, export, request.GET.get("tableau"))
        querystring = _querystring(request)
        for chart in board.all_charts():
            _layout(chart)
            for row in chart.rows:
                if row.url_params:
                    params = request.GET.copy()
                    for key in ("export", "tableau"):
                        params.pop(key, None)
                    params.update(row.url_params)
                    if "territoire" in row.url_params:
                        params.setlist("territoire", [row.url_params["territoire"]])
                    row.url = "?" + params.urlencode()
            if chart.map is not None:
                for shape in chart.map.shapes:
                    if shape.url_params:
                        params = request.GET.copy()
                        params.setlist("territoire", [shape.url_params["territoire"]])
                        shape.url = "?" + params.urlencode()
        return render(
            request,
            "indicators/dashboard.html",
            {
                "board": board,
                "form": form,
                "tabs": _tabs(code, querystring),
                "querystring": querystring,
                "export_prefix": "?" + (querystring + "&" if querystring else ""),
                "scope_label": _scope_label(membership, perimeter),
                "breadcrumb": _breadcrumb(membership, perimeter, request),
            },
        )

    view.__name__ = f"dashboard_{code}"
    return view


SERIES_HEIGHT, SERIES_SLOT = 200, 60


def _layout(chart) -> None:
    """Lengths for drawing: bar widths in %, and the column chart of a monthly series."""
    peak = chart.max_value
    for row in chart.rows:
        row.width = None if row.value is None else round(100 * row.value / peak, 2)
    if chart.kind != "series" or not chart.rows:
        return
    base, top = SERIES_HEIGHT - 28, 22
    bars = []
    for index, row in enumerate(chart.rows):
        x = index * SERIES_SLOT + 8
        height = 0 if row.value is None else round((base - top) * row.value / peak, 1)
        bars.append(
            {
                "x": x,
                "w": SERIES_SLOT - 16,
                "cx": x + (SERIES_SLOT - 16) / 2,
                "y": base - height,
                "h": height,
                "value_y": base - height - 6,
                "hidden": row.value is None,
                "label": row.label,
                "short": row.label.split(" ")[0],
                "shown": row.shown,
            }
        )
        if row.value is None:
            bars[-1]["value_y"] = base - 26
    chart.layout = {
        "width": len(chart.rows) * SERIES_SLOT,
        "height": SERIES_HEIGHT,
        "base": base,
        "label_y": SERIES_HEIGHT - 8,
        "hidden_y": base - 20,
        "hidden_h": 20,
        "bars": bars,
    }


def _scope_label(membership, perimeter) -> str:
    if membership.role in (Role.COORDINATOR, Role.MEDIATOR):
        text = f"Structure : {membership.structure}"
    elif membership.role == Role.FUNDER:
        text = f"Dispositifs financés par {membership.organisation}"
    elif membership.role == Role.STEERING:
        text = f"Périmètre : {membership.territory}"
    else:
        text = "Toute la plateforme"
    if perimeter.territory is not None:
        text += f" — {perimeter.territory.name} ({perimeter.territory.get_level_display()})"
    return text


def _breadcrumb(membership, perimeter, request) -> list[dict]:
    """Drill back up: the territory's ancestors within the viewer's scope."""
    territory = perimeter.territory
    if territory is None:
        return []
    top = membership.territory if membership.role == Role.STEERING else None
    chain = sorted(
        Territory.objects.filter(descendant_links__descendant=territory).distinct(),
        key=lambda t: LEVEL_DEPTH[t.level],
    )
    if top is not None:
        inside = set(
            Territory.objects.filter(ancestor_links__ancestor=top).values_list("pk", flat=True)
        )
        chain = [t for t in chain if t.pk in inside]
    # Only the primary line: one territory per level (an EPCI may straddle two départements).
    chain = [t for t in chain if t.pk == territory.pk or territory.path.startswith(t.path)]
    crumbs = []
    for t in chain:
        params = request.GET.copy()
        for key in ("export", "tableau"):
            params.pop(key, None)
        if top is not None and t.pk == top.pk:
            params.pop("territoire", None)
        else:
            params.setlist("territoire", [str(t.pk)])
        crumbs.append({"label": t.name, "url": "?" + params.urlencode(), "current": t == territory})
    return crumbs


# --- downloads ------------------------------------------------------------------------------


FRENCH_NUMBER = re.compile(r"^-?\d{1,3}(?:\u202f\d{3})*(?:,\d+)?$")


def _cell(value):
    """A displayed figure as a spreadsheet reads it: "31 429" → 31429, "12,5" → 12.5 (a
    number cell in XLSX, "12,5" again in CSV); "< 5", "secret", "48,8 %" stay text."""
    text = str(value)
    if not FRENCH_NUMBER.match(text):
        return text
    plain = text.replace("\u202f", "")
    return float(plain.replace(",", ".")) if "," in plain else int(plain)


FIGURES_TABLE = "chiffres-cles"


def _export(request, board, fmt: str, only: str | None) -> HttpResponse:
    """The board's tables as shown (protected cells stay "< 5"), all or the one asked."""
    tables = [
        tabular.Table(
            title=str(title),
            headers=[str(h) for h in header],
            rows=[[_cell(c) for c in line] for line in lines],
            widths=[48],
        )
        for title, header, lines in board.tables()
    ]
    if only:
        titles = {chart.code: str(chart.title) for chart in board.all_charts()}
        titles[FIGURES_TABLE] = dashboards.FIGURES_TITLE
        tables = [t for t in tables if t.title == titles.get(only)] or tables
    heading = [
        f"{board.title} — {board.period.label}",
        f"Données à jour au {timezone.localtime(board.generated_at):%d/%m/%Y %H:%M}",
    ]
    if board.protected:
        heading.append(board.legend)
    tabular.journal_export(
        actor=request.membership,
        what=f"tableau de bord « {board.title} »"
        + (f", tableau {only}" if only and len(tables) == 1 else ""),
        fmt=fmt,
        filters=_querystring(request)[:200],
        ip=client_ip(request),
    )
    return tabular.tables_response(
        name=tabular.stamped(f"tableau-de-bord-{board.code}"),
        tables=tables,
        fmt=fmt,
        heading=heading,
        stream=False,
    )


# --- the mediator's month -------------------------------------------------------------------


@role_required(Role.MEDIATOR, Role.COORDINATOR)
def my_month(request):
    """My own month, from my entries (a few hundred rows at most): no suppression, mine."""
    form = DashboardFilterForm(request.GET or None, membership=request.membership)
    month = None
    if form.is_bound and form.is_valid():
        month = form.cleaned_data.get("date")
    month = month or timezone.localdate().replace(day=1)
    tz = timezone.get_current_timezone()
    start = datetime.datetime(month.year, month.month, 1, tzinfo=tz)
    after = engine.add_months(month, 1)
    end = datetime.datetime(after.year, after.month, 1, tzinfo=tz)
    entries = (
        Intervention.objects.visible_to(request.membership)
        .by_mediator(request.user)
        .in_period(start, end)
    )
    summary = _my_summary(entries, month)
    before = engine.add_months(month, -1)
    return render(
        request,
        "indicators/my_month.html",
        {
            "month": month,
            "month_label": dashboards.month_label(month).replace(".", ""),
            "month_title": f"{dashboards.MONTHS_FR[month.month - 1]} {month.year}",
            "previous_url": "?" + urlencode({"date": before.strftime("%Y-%m")}),
            "next_url": "?" + urlencode({"date": after.strftime("%Y-%m")})
            if after <= timezone.localdate()
            else None,
            "generated_at": timezone.now(),
            **summary,
        },
    )


def _my_summary(entries, month) -> dict:
    from django.db.models import Count, Q, Sum
    from django.db.models.functions import TruncDate

    totals = entries.aggregate(
        count=Count("pk"),
        people=Sum("people_met"),
        minutes=Sum("duration_minutes"),
        with_outcome=Count("pk", filter=Q(outcome__isnull=False)),
        conflicts=Count("pk", filter=Q(activity_type__code="gestion-conflits")),
    )
    by_activity = list(
        entries.values("activity_type__label").annotate(n=Count("pk")).order_by("-n")
    )
    by_day = dict(
        entries.annotate(day=TruncDate("started_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = []
    day = month
    while day.month == month.month:
        days.append({"day": day, "n": by_day.get(day, 0)})
        day += datetime.timedelta(days=1)
    peak = max((d["n"] for d in days), default=0) or 1
    activity_peak = max((a["n"] for a in by_activity), default=0) or 1
    count = totals["count"] or 0
    return {
        "count": count,
        "people": totals["people"] or 0,
        "hours": dashboards.fr_number(
            round((totals["minutes"] or 0) / 60, 1) if totals["minutes"] else 0
        ),
        "outcome_share": (
            dashboards.fr_number(round(100 * totals["with_outcome"] / count, 1)) + "\u00a0%"
            if count
            else "—"
        ),
        "conflicts": totals["conflicts"] or 0,
        "by_activity": [
            {**a, "width": round(100 * a["n"] / activity_peak, 1)} for a in by_activity
        ],
        "days": days,
        "day_peak": peak,
    }
