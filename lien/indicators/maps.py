"""Choropleth maps drawn as plain SVG from the territories' outlines — no map tiles.

Outlines (GeoJSON, WGS 84) are projected once per territory with a fixed equirectangular
projection centred on metropolitan France and cached per process; a map's view box is the
union of its shapes' boxes. Colours come from quantile classes of the displayed values: a
suppressed figure is hatched, never coloured, so the map reveals no more than the table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from lien.territories.models import Territory

SCALE = 1000.0  # SVG units per degree of latitude
COS_LAT = math.cos(math.radians(46.5))
PALETTE = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
ZERO = "#f7f7f7"
NO_DATA = "#d9d9d9"
HATCH = "url(#lien-hatch)"

#: territory pk → (path data, (min x, min y, max x, max y)) or None (no outline). Outlines
#: change only when `load_territories --geojson` runs: kept PATHS_TTL seconds per process.
_paths: dict[int, tuple[str, tuple[float, float, float, float]] | None] = {}
_loaded_at = [0.0]
PATHS_TTL = 600.0


def forget_paths(**kwargs) -> None:
    _paths.clear()
    _loaded_at[0] = time.monotonic()


@dataclass
class Shape:
    d: str
    fill: str
    title: str
    url_params: dict | None
    url: str | None = None  # set by the view


@dataclass
class Choropleth:
    shapes: list[Shape] = field(default_factory=list)
    view_box: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)
    missing: int = 0  # territories of the table without an outline

    @property
    def available(self) -> bool:
        return bool(self.shapes)


def _ring(coordinates) -> tuple[str, list[float], list[float]]:
    xs = [lon * COS_LAT * SCALE for lon, lat, *_ in coordinates]
    ys = [-lat * SCALE for lon, lat, *_ in coordinates]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return f"M{points}Z", xs, ys


def project(geometry: dict) -> tuple[str, tuple[float, float, float, float]] | None:
    """SVG path data and box of a Polygon or MultiPolygon; None for anything else."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polygons = [geometry.get("coordinates") or []]
    elif kind == "MultiPolygon":
        polygons = geometry.get("coordinates") or []
    else:
        return None
    parts, all_x, all_y = [], [], []
    for polygon in polygons:
        for ring in polygon:
            if len(ring) < 3:
                continue
            d, xs, ys = _ring(ring)
            parts.append(d)
            all_x += xs
            all_y += ys
    if not parts:
        return None
    return "".join(parts), (min(all_x), min(all_y), max(all_x), max(all_y))


def _projected(ids: list[int]) -> dict[int, tuple]:
    if time.monotonic() - _loaded_at[0] > PATHS_TTL:
        forget_paths()
    unknown = [pk for pk in ids if pk not in _paths]
    if unknown:
        found = dict(
            Territory.objects.filter(pk__in=unknown, geometry__isnull=False).values_list(
                "pk", "geometry"
            )
        )
        for pk in unknown:
            _paths[pk] = project(found[pk]) if pk in found else None
    return {pk: _paths[pk] for pk in ids if _paths.get(pk) is not None}


def _classes(values: list[float]) -> list[float]:
    """Upper bounds of up to five quantile classes of the positive values."""
    positive = sorted(v for v in values if v)
    if not positive:
        return []
    bounds = []
    for i in range(1, len(PALETTE) + 1):
        bound = positive[min(len(positive) - 1, math.ceil(i * len(positive) / len(PALETTE)) - 1)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def _fill(value: float | None, shown: str, bounds: list[float]) -> str:
    if value is None:
        return HATCH if shown not in ("", "—") else NO_DATA
    if not value:
        return ZERO
    for colour, bound in zip(PALETTE, bounds, strict=False):
        if value <= bound:
            return colour
    return PALETTE[len(bounds) - 1]


def choropleth(ids: list[int | None], rows) -> Choropleth:
    """The map of `rows` (dashboard rows with `territory_id`, `value`, `shown`, `label`)."""
    paths = _projected([pk for pk in ids if pk])
    result = Choropleth()
    result.missing = sum(1 for row in rows if row.territory_id not in paths)
    if not paths:
        return result
    bounds = _classes([row.value for row in rows if row.value is not None])
    boxes = []
    for row in rows:
        if row.territory_id not in paths:
            continue
        d, box = paths[row.territory_id]
        boxes.append(box)
        result.shapes.append(
            Shape(
                d, _fill(row.value, row.shown, bounds), f"{row.label} : {row.shown}", row.url_params
            )
        )
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(x1 - x0, y1 - y0) * 0.02
    result.view_box = (
        f"{x0 - pad:.1f} {y0 - pad:.1f} {x1 - x0 + 2 * pad:.1f} {y1 - y0 + 2 * pad:.1f}"
    )
    low = 0
    for colour, bound in zip(PALETTE, bounds, strict=False):
        label = f"{_n(low + (1 if low else 0))} à {_n(bound)}" if bound != low else _n(bound)
        result.legend.append((colour, label))
        low = bound
    result.legend.append((ZERO, "0"))
    if any(row.value is None and row.territory_id in paths for row in rows):
        result.legend.append((HATCH, "masqué (petit effectif)"))
    return result


def _n(value: float) -> str:
    from lien.indicators.dashboards import fr_number

    return fr_number(int(value)) if float(value).is_integer() else fr_number(value)
