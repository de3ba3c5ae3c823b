"""Protection of small numbers (secret statistique) for every figure shown outside a structure.

Funders, steering committees and open data only ever see aggregates. In them:

* **primary suppression**: a count with 1 <= value < threshold (``LIEN_SMALL_CELL_THRESHOLD``,
  5 by default) is shown ``"< 5"``, a total too. A true zero stays ``"0"``, as in INSEE tables:
  it names nobody, though it does say that nobody in the group has the attribute;
* **secondary suppression**: other non-zero figures (cells or totals) are shown ``"secret"``
  (INSEE's *secret statistique*) so that no ``"< 5"`` can be recomputed from the figures beside
  it (one hidden cell in a row whose total is shown is a subtraction away);
* **last resort**: when even that cannot work (a line of four 1s under a total "< 5" can only be
  1, 1, 1, 1), a total is not published: ``"nd"`` (*non diffusé*).

The attacker knows every displayed figure, that counts are >= 0, that ``"< 5"`` means 1 to 4 and
``"secret"`` 0 or at least 5. Guarantee: no hidden figure is *exactly* determined by the table.
It is proved constructively: every hidden figure lies on a cycle of hidden positions (cells and
totals of its rows and columns) along which alternate +1/-1 changes keep every total and every
display range, so another table with the same display exists. Complements are chosen by a
cheapest-cycle search (sum of the newly hidden values, then position), so results are
deterministic; the cost is a few shortest-path searches per small count (fine for dashboards).

Limits, by design:

* one table at a time: linked tables (the same population cut differently on two dashboards, two
  periods whose difference is published, a sub-total shown elsewhere) are not jointly protected;
  publish figures from a single protected table, or aggregate further;
* exact disclosure only: an attacker may still narrow a hidden cell down (e.g. "3 or 4"); there is
  no protection interval as in tau-Argus, and an attacker who knows this algorithm is not modelled;
* the complements are a heuristic, not the minimal suppression pattern;
* ``Cell.value`` holds the true count for computation: render ``cell`` (its ``display()``), never
  ``cell.value``, and export ``as_rows()``, which contains only displayed strings.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings

PRIMARY = "primary"
SECONDARY = "secondary"
WITHHELD = "withheld"
MASKED = "secret"  # INSEE's "secret statistique"
NOT_PUBLISHED = "nd"
NOT_DEFINED = "—"
MIN_THRESHOLD = 3  # with 2, "< 2" would read as "1"
_VISIBLE, _HIDDEN = "", "hidden"  # engine states besides PRIMARY/SECONDARY; hidden: not displayed


def legend(threshold: int | None = None) -> str:
    """The explanation to print under a protected table or in an export."""
    t = _threshold(threshold)
    return (
        f"< {t} : effectif compris entre 1 et {t - 1}, masqué (secret statistique). "
        f"{MASKED} : valeur masquée pour qu'un petit effectif ne puisse pas être recalculé. "
        f"{NOT_PUBLISHED} : total non diffusé pour la même raison."
    )


@dataclass(frozen=True)
class Cell:
    """One figure: its true ``value`` (never to be shown) and what may be shown of it."""

    value: int = field(repr=False)
    suppressed: bool = False
    reason: str = ""  # PRIMARY, SECONDARY, WITHHELD or ""
    threshold: int = 5

    def display(self) -> str:
        if self.reason == PRIMARY:
            return f"< {self.threshold}"
        if self.reason == WITHHELD:
            return NOT_PUBLISHED
        return MASKED if self.suppressed else str(self.value)

    __str__ = display


@dataclass(frozen=True)
class Rate:
    """A proportion ``numerator / denominator``, hidden when it would reveal a small count."""

    numerator: int = field(repr=False)
    denominator: int = field(repr=False)
    suppressed: bool = False
    reason: str = ""
    threshold: int = 5
    decimals: int = 1

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def display(self) -> str:
        if self.suppressed:
            return MASKED  # never "< 5": it would read as "under 5 %"
        if self.value is None:
            return NOT_DEFINED
        return f"{100 * self.value:.{self.decimals}f}".replace(".", ",") + "\u00a0%"

    __str__ = display


def protect_rate(
    numerator: int, denominator: int, *, threshold: int | None = None, decimals: int = 1
) -> Rate:
    """Protect a rate: it is hidden (reason PRIMARY) when its denominator, its numerator or the
    complement ``denominator - numerator`` is a small non-zero count (48/50 says "2 did not").
    A zero denominator displays "—". 0 % and 100 % stay visible, like zero counts."""
    t = _threshold(threshold)
    _check_count(numerator)
    _check_count(denominator)
    if numerator > denominator:
        raise ValueError("A rate's numerator cannot exceed its denominator.")
    small = any(0 < n < t for n in (numerator, denominator, denominator - numerator))
    return Rate(numerator, denominator, small, PRIMARY if small else "", t, decimals)


@dataclass(frozen=True)
class ProtectedTable:
    """A protected rows x columns table. A margin not displayed is ``None``."""

    rows: list[list[Cell]]
    row_totals: list[Cell] | None
    col_totals: list[Cell] | None
    grand_total: Cell | None
    threshold: int

    def as_rows(
        self,
        row_labels: Sequence[str] | None = None,
        col_labels: Sequence[str] | None = None,
        total_label: str = "Total",
    ) -> list[list[str]]:
        """The displayed strings, line by line, ready for CSV/XLSX (no hidden value in them)."""
        n = len(self.rows[0]) if self.rows else 0
        totals = self.row_totals or [None] * len(self.rows)
        grid = [[*row, total] for row, total in zip(self.rows, totals, strict=True)]
        grid.append([*(self.col_totals or [None] * n), self.grand_total])
        total_col = self.row_totals is not None or self.grand_total is not None
        total_row = self.col_totals is not None or self.grand_total is not None
        out = [
            [c.display() if c else "" for c in (line if total_col else line[:-1])]
            for line in (grid if total_row else grid[:-1])
        ]
        if row_labels is not None:
            out = [
                [name, *line] for name, line in zip([*row_labels, total_label], out, strict=False)
            ]
        if col_labels is not None:
            head = [""] * (row_labels is not None) + list(col_labels) + [total_label] * total_col
            out.insert(0, head)
        return out


@dataclass(frozen=True)
class ProtectedSeries:
    """A protected one-dimensional breakdown, optionally labelled, with its total (or ``None``)."""

    cells: list[Cell]
    total: Cell | None
    threshold: int
    labels: list[str] | None = None

    def as_dict(self) -> dict[str, Cell]:
        if self.labels is None:
            raise ValueError("This series has no labels.")
        return dict(zip(self.labels, self.cells, strict=True))

    def as_rows(self, total_label: str = "Total") -> list[list[str]]:
        """``[label, shown]`` lines (``[shown]`` without labels), then the total line."""
        lines = [c.display() for c in self.cells] + ([self.total.display()] if self.total else [])
        names = self.labels
        if names is None:
            return [[s] for s in lines]
        return [[n, s] for n, s in zip([*names, total_label], lines, strict=False)]


def protect_series(
    values: Sequence[int], *, show_total: bool = True, threshold: int | None = None
) -> ProtectedSeries:
    """Protect a breakdown whose total (the sum of ``values``) is shown, or known elsewhere.

    ``show_total`` defaults to True: a total is nearly always public somewhere, so assume it is.
    A breakdown with a remainder ("autres") must list the remainder as a cell."""
    table = protect_table([list(values)], row_totals=show_total, col_totals=False,
                          grand_total=False, threshold=threshold)  # fmt: skip
    total = table.row_totals[0] if table.row_totals else None
    return ProtectedSeries(table.rows[0], total, table.threshold)


def protect_mapping(
    counts: Mapping[str, int], *, show_total: bool = True, threshold: int | None = None
) -> ProtectedSeries:
    """``protect_series`` on a labelled breakdown, e.g. ``{"Roubaix": 12, "Lens": 3}``;
    ``.as_dict()`` gives ``{label: Cell}``."""
    series = protect_series(list(counts.values()), show_total=show_total, threshold=threshold)
    return ProtectedSeries(series.cells, series.total, series.threshold, list(counts))


def protect_table(
    matrix: Sequence[Sequence[int]],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    grand_total: bool = True,
    threshold: int | None = None,
) -> ProtectedTable:
    """Protect a rows x columns table of counts whose chosen margins are displayed too.

    A margin below the threshold is itself shown "< 5"; a margin may be hidden as a complement
    (it is a cell of the margin row/column). Margins not displayed give the attacker nothing."""
    t = _threshold(threshold)
    rows = [list(r) for r in matrix]
    n = len(rows[0]) if rows else 0
    if any(len(r) != n for r in rows):
        raise ValueError("All rows of the table must have the same length.")
    for v in (v for r in rows for v in r):
        _check_count(v)
    # The extended grid: row m holds the column totals, column n the row totals.
    grid = [[*r, sum(r)] for r in rows]
    grid.append([sum(r[c] for r in grid) for c in range(n + 1)])
    shown = [[True] * n + [row_totals] for _ in rows] + [[col_totals] * n + [grand_total]]
    state = _Engine(grid, shown, t).run()

    def cell(r: int, c: int) -> Cell:
        st = state[r][c]
        return Cell(grid[r][c], st in (PRIMARY, SECONDARY, WITHHELD), st, t)

    m = len(rows)
    return ProtectedTable(
        rows=[[cell(r, c) for c in range(n)] for r in range(m)],
        row_totals=[cell(r, n) for r in range(m)] if row_totals else None,
        col_totals=[cell(m, c) for c in range(n)] if col_totals else None,
        grand_total=cell(m, n) if grand_total else None,
        threshold=t,
    )


class _Engine:
    """Primary then secondary suppression on the grid extended with its margins.

    Node ``r`` (0..m) is a row, node ``m + 1 + c`` a column; position (r, c) is the edge between
    them. Along a cycle the change alternates +1/-1; on the margin row/column the sign flips
    (adding 1 to a cell adds 1 to its totals), hence ``_sign``."""

    def __init__(self, grid: list[list[int]], shown: list[list[bool]], t: int):
        self.grid, self.t = grid, t
        self.m, self.n = len(grid) - 1, len(grid[0]) - 1
        self.state = [
            [
                _HIDDEN if not shown[r][c] else PRIMARY if 0 < v < t else _VISIBLE
                for c, v in enumerate(row)
            ]
            for r, row in enumerate(grid)
        ]

    def _sign(self, r: int, c: int) -> int:
        return (-1 if r == self.m else 1) * (-1 if c == self.n else 1)

    def _can_move(self, st: str, v: int, delta: int) -> bool:
        """Whether v + delta stays in what the display of state ``st`` allows."""
        if st in (_HIDDEN, WITHHELD):
            return v + delta >= 0
        if st == PRIMARY:
            return 1 <= v + delta < self.t
        return v >= self.t and v + delta >= self.t  # "secret": 0 or >= t; a 0 cannot move

    def _step(self, r: int, c: int, delta: int) -> tuple[int, int] | None:
        """Cost (value newly hidden, cells newly hidden) of moving (r, c) by delta, or None."""
        st, v = self.state[r][c], self.grid[r][c]
        if st == _VISIBLE:
            return (v, 1) if v and self._can_move(SECONDARY, v, delta) else None
        return (0, 0) if self._can_move(st, v, delta) else None

    def _cycle(self, r0: int, c0: int, alt: int) -> tuple[tuple[int, int], list] | None:
        """Cheapest cycle through (r0, c0) with change ``alt`` on it (Dijkstra), or None."""
        col0 = self.m + 1 + c0
        start, goal = (col0, r0) if alt == 1 else (r0, col0)
        best, prev, heap = {start: (0, 0)}, {}, [((0, 0), start)]
        while heap:
            cost, node = heapq.heappop(heap)
            if node == goal:
                break
            if cost > best[node]:
                continue
            if node <= self.m:  # a row: leave by an edge taking +1
                arcs = [(node, c, 1, self.m + 1 + c) for c in range(self.n + 1)]
            else:  # a column: leave by an edge taking -1
                arcs = [(r, node - self.m - 1, -1, r) for r in range(self.m + 1)]
            for r, c, a, nxt in arcs:
                step = None if (r, c) == (r0, c0) else self._step(r, c, a * self._sign(r, c))
                if step is None:
                    continue
                new = (cost[0] + step[0], cost[1] + step[1])
                if nxt not in best or new < best[nxt]:
                    best[nxt], prev[nxt] = new, (node, (r, c))
                    heapq.heappush(heap, (new, nxt))
        else:
            return None
        path, node = [], goal
        while node != start:
            node, edge = prev[node]
            path.append(edge)
        return best[goal], path

    def _witness(self, r: int, c: int) -> tuple[tuple[int, int], list] | None:
        """The cheapest cycle proving (r, c) cannot be recomputed, in either direction."""
        st, v = self.state[r][c], self.grid[r][c]
        found = [
            cyc
            for alt in (1, -1)
            if self._can_move(st, v, alt * self._sign(r, c))
            and (cyc := self._cycle(r, c, alt)) is not None
        ]
        return min(found, key=lambda f: f[0]) if found else None

    def _withhold(self, r: int, c: int) -> list[tuple[int, int]]:
        """Last resort when (r, c) has no cycle even with every non-zero figure hidden (e.g. a
        line of t - 1 ones under a total "< t"): stop publishing ("nd") itself if it is a total,
        else the totals of its row, its column and the table, then publish again those not
        needed, the grand total first. Returns the totals withheld."""
        spare = [
            p
            for p in {(r, self.n), (self.m, c), (self.m, self.n)}
            if self.state[p[0]][p[1]] not in (_HIDDEN, WITHHELD)
        ]
        spare = [(r, c)] if (r, c) in spare else spare
        old = {p: self.state[p[0]][p[1]] for p in spare}
        for rr, cc in spare:
            self.state[rr][cc] = WITHHELD
        grand = (self.m, self.n)
        for rr, cc in sorted(spare, key=lambda p: (p != grand, -self.grid[p[0]][p[1]], p)):
            if (rr, cc) != (r, c):
                self.state[rr][cc] = old[(rr, cc)]
                if not self._witness(r, c):
                    self.state[rr][cc] = WITHHELD
        return [p for p in spare if self.state[p[0]][p[1]] == WITHHELD]

    def run(self) -> list[list[str]]:
        # The small counts, then any total withheld below: neither may be recomputable.
        queue = deque(
            (r, c) for r in range(self.m + 1) for c in range(self.n + 1)
            if self.state[r][c] == PRIMARY
        )  # fmt: skip
        while queue:
            r, c = queue.popleft()
            if found := self._witness(r, c):
                for rr, cc in found[1]:
                    if self.state[rr][cc] == _VISIBLE:
                        self.state[rr][cc] = SECONDARY  # witnessed by the same cycle
                continue
            if withheld := self._withhold(r, c):
                queue.extend(p for p in withheld if p != (r, c))
                queue.append((r, c))
        return self.state


def _threshold(threshold: int | None) -> int:
    t = settings.LIEN_SMALL_CELL_THRESHOLD if threshold is None else threshold
    if not isinstance(t, int) or t < MIN_THRESHOLD:
        raise ValueError(f"The small-cell threshold must be an integer >= {MIN_THRESHOLD}.")
    return t


def _check_count(v: object) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"Counts must be non-negative integers, got {v!r}.")
