"""Protection of small numbers: worked examples, an attacker that tries to recompute what is
hidden, and a seeded random sweep (hypothesis is not installed)."""

import random

import pytest

from lien.core.suppression import (
    PRIMARY,
    SECONDARY,
    Cell,
    legend,
    protect_mapping,
    protect_rate,
    protect_series,
    protect_table,
)

# --- The attacker -----------------------------------------------------------------------


def attack(shown, threshold, bound, stop_early=False):
    """Every value each hidden figure can take, seen only from what is displayed.

    ``shown`` is the table extended with its margins (last row: column totals, last column: row
    totals; ``None`` where nothing is displayed, "nd" where a total is not published). The
    attacker knows the displayed numbers, that counts are >= 0, that "< t" means 1..t-1 and
    "secret" means 0 or >= t. Values go up to ``bound`` (pass the true grand total + 1: a bound
    tighter than reality only helps him). Returns ``{(r, c): set of possible values}`` for every
    "< t" / "secret" / "nd" position; a set of one element is a recomputed secret. With
    ``stop_early``, each set stops at two values.
    """

    def allowed(s):
        if s is None:
            return None
        if s == "nd":
            return set(range(bound + 1))
        if s == f"< {threshold}":
            return set(range(1, threshold))
        if s == "secret":
            return {0, *range(threshold, bound + 1)}
        return {int(s)}

    dom = [[allowed(s) for s in row] for row in shown]
    seen = {}
    for r, row in enumerate(dom):
        for c, d in enumerate(row):
            if d is None or len(d) == 1:
                continue
            seen[(r, c)] = set()
            for v in sorted(d):
                dom[r][c] = {v}
                if _feasible(dom):
                    seen[(r, c)].add(v)
                    if stop_early and len(seen[(r, c)]) > 1:
                        break
            dom[r][c] = d
    return seen


def _feasible(dom):
    """Whether some table of counts fits every domain (``None``: anything), by backtracking."""
    m, n = len(dom) - 1, len(dom[0]) - 1
    cells = [(r, c) for r in range(m) for c in range(n)]
    rows = [([(r, c) for c in range(n)], dom[r][n]) for r in range(m)]
    cols = [([(r, c) for r in range(m)], dom[m][c]) for c in range(n)]
    x = {}

    def span(members, d):
        """The range of a line's sum given the assignment so far, clipped to its margin."""
        lo = sum(x[p] if p in x else min(dom[p[0]][p[1]]) for p in members)
        hi = sum(x[p] if p in x else max(dom[p[0]][p[1]]) for p in members)
        return (lo, hi) if d is None else (max(lo, min(d)), min(hi, max(d)))

    def possible():
        spans = [[span(*line) for line in lines] for lines in (rows, cols)]
        if any(lo > hi for side in spans for lo, hi in side):
            return False
        lo = max(sum(s[0] for s in side) for side in spans)
        hi = min(sum(s[1] for s in side) for side in spans)
        d = dom[m][n]
        return lo <= hi and (d is None or (lo <= max(d) and hi >= min(d)))

    def rec(k):
        if not possible():
            return False
        if k == len(cells):
            full = [[x[(r, c)] for c in range(n)] for r in range(m)]
            full = [[*row, sum(row)] for row in full]
            full.append([sum(full[r][c] for r in range(m)) for c in range(n + 1)])
            return all(
                d is None or full[r][c] in d for r, row in enumerate(dom) for c, d in enumerate(row)
            )
        r, c = cells[k]
        for v in sorted(dom[r][c]):
            x[(r, c)] = v
            if rec(k + 1):
                return True
        del x[(r, c)]
        return False

    return rec(0)


def table_grid(pt):
    """What ``protect_table`` displays, as the attacker's extended grid."""
    n = len(pt.rows[0])
    grid = [
        [c.display() for c in row] + [pt.row_totals[i].display() if pt.row_totals else None]
        for i, row in enumerate(pt.rows)
    ]
    cols = [c.display() for c in pt.col_totals] if pt.col_totals else [None] * n
    return [*grid, [*cols, pt.grand_total.display() if pt.grand_total else None]]


def series_grid(ps):
    n = len(ps.cells)
    return [[*(c.display() for c in ps.cells), ps.total.display() if ps.total else None],
            [None] * (n + 1)]  # fmt: skip


def displays(cells):
    return [c.display() for c in cells]


# --- Series -----------------------------------------------------------------------------


def test_one_small_cell_with_its_total_hides_the_smallest_other_cell():
    ps = protect_series([3, 12, 7, 20], threshold=5)
    assert displays(ps.cells) == ["< 5", "12", "secret", "20"]
    assert [c.reason for c in ps.cells] == [PRIMARY, "", SECONDARY, ""]
    assert ps.total.display() == "42"
    # By hand: hidden sum = 42 - 12 - 20 = 10 = p + s, p in 1..4, s = 0 or >= 5:
    # (1, 9), (2, 8), (3, 7), (4, 6).
    seen = attack(series_grid(ps), 5, 43)
    assert seen == {(0, 0): {1, 2, 3, 4}, (0, 2): {6, 7, 8, 9}}


def test_the_attacker_recomputes_a_naive_suppression():
    # Hiding only the small cell, or pairing a 1 with a 5, gives the secret away.
    assert attack([["< 5", "12", "20", "35"], [None] * 4], 5, 36) == {(0, 0): {3}}
    naive = [["< 5", "secret", "9", "20", "35"], [None] * 5]
    assert attack(naive, 5, 36) == {(0, 0): {1}, (0, 1): {5}}


def test_a_one_is_not_paired_with_a_cell_at_the_threshold():
    ps = protect_series([1, 5, 9, 20])
    assert displays(ps.cells) == ["< 5", "5", "secret", "20"]
    seen = attack(series_grid(ps), 5, 36)
    assert seen == {(0, 0): {1, 2, 3, 4}, (0, 2): {6, 7, 8, 9}}


def test_ties_are_broken_by_position():
    ps = protect_series([3, 7, 7, 20])
    assert displays(ps.cells) == ["< 5", "secret", "7", "20"]
    assert protect_series([3, 7, 7, 20]) == ps  # deterministic


def test_zeros_stay_visible_and_are_never_complements():
    ps = protect_series([0, 3, 0, 8])
    assert displays(ps.cells) == ["0", "< 5", "0", "secret"]
    assert ps.total.display() == "11"
    assert attack(series_grid(ps), 5, 12) == {(0, 1): {1, 2, 3, 4}, (0, 3): {7, 8, 9, 10}}
    assert displays(protect_series([0, 0, 12]).cells) == ["0", "0", "12"]


def test_a_total_below_the_threshold_is_hidden_too():
    ps = protect_series([2, 1, 0])
    assert displays(ps.cells) == ["< 5", "< 5", "0"]
    assert ps.total.display() == "< 5" and ps.total.reason == PRIMARY
    seen = attack(series_grid(ps), 5, 4)
    # a + b = total, all three in 1..4: (1,1,2), (1,2,3), (2,1,3), (1,3,4), (3,1,4), (2,2,4).
    assert seen == {(0, 0): {1, 2, 3}, (0, 1): {1, 2, 3}, (0, 3): {2, 3, 4}}


def test_when_only_the_total_can_protect_it_is_hidden():
    # 1 + x = 6 - 5: the 5 cannot go down (a "secret" is 0 or >= 5), the 1 cannot go down.
    ps = protect_series([1, 0, 0, 5])
    assert displays(ps.cells) == ["< 5", "0", "0", "5"]
    assert ps.total.display() == "secret" and ps.total.reason == SECONDARY
    assert attack(series_grid(ps), 5, 20) == {(0, 0): {1, 2, 3, 4}, (0, 4): {6, 7, 8, 9}}


def test_without_a_total_only_small_cells_are_hidden():
    ps = protect_series([3, 12], show_total=False)
    assert displays(ps.cells) == ["< 5", "12"] and ps.total is None
    assert ps.as_rows() == [["< 5"], ["12"]]


def test_custom_threshold_through_the_argument():
    ps = protect_series([7, 12, 30], threshold=10)
    assert displays(ps.cells) == ["< 10", "secret", "30"]
    assert ps.threshold == 10
    seen = attack(series_grid(ps), 10, 50)
    assert seen == {(0, 0): set(range(1, 10)), (0, 1): set(range(10, 19))}


def test_custom_threshold_through_settings(settings):
    settings.LIEN_SMALL_CELL_THRESHOLD = 10
    assert displays(protect_series([7, 12, 30]).cells) == ["< 10", "secret", "30"]
    settings.LIEN_SMALL_CELL_THRESHOLD = 5
    assert displays(protect_series([7, 12, 30]).cells) == ["7", "12", "30"]


def test_mapping_keeps_labels_and_exports_only_displayed_strings():
    ps = protect_mapping({"Roubaix": 12, "Lens": 3, "Arras": 8})
    assert {k: c.display() for k, c in ps.as_dict().items()} == {
        "Roubaix": "12",
        "Lens": "< 5",
        "Arras": "secret",
    }
    assert ps.as_rows(total_label="Ensemble") == [
        ["Roubaix", "12"],
        ["Lens", "< 5"],
        ["Arras", "secret"],
        ["Ensemble", "23"],
    ]


def test_a_line_of_ones_under_a_small_total_withholds_the_total():
    # Four cells "< 5" under a total "< 5" can only be 1, 1, 1, 1: the total is not published.
    ps = protect_series([1, 1, 1, 1])
    assert displays(ps.cells) == ["< 5"] * 4
    assert ps.total.display() == "nd" and ps.total.reason == "withheld"
    seen = attack(series_grid(ps), 5, 20)
    assert seen[(0, 0)] == {1, 2, 3, 4} and seen[(0, 4)] == set(range(4, 17))
    # Only the column that needs it loses its total; the row keeps "< 5".
    pt = protect_table([[1, 0], [1, 0]], threshold=3)
    assert table_grid(pt) == [["< 3", "0", "< 3"], ["< 3", "0", "< 3"], ["nd", "0", "nd"]]
    assert all(len(v) > 1 for v in attack(table_grid(pt), 3, 3).values())


# --- Tables -----------------------------------------------------------------------------

MATRIX = [[3, 10, 12], [8, 20, 15], [9, 14, 30]]


def test_one_small_cell_in_a_3x3_table_hides_a_rectangle():
    pt = protect_table(MATRIX)
    # Rectangles through (0, 0) cost 10+8+20=38, 10+9+14=33, 12+8+15=35, 12+9+30=51 (the margins
    # cost more): the cheapest hides (0, 1), (2, 0) and (2, 1).
    assert table_grid(pt) == [
        ["< 5", "secret", "12", "25"],
        ["8", "20", "15", "43"],
        ["secret", "secret", "30", "53"],
        ["20", "44", "57", "121"],
    ]
    hidden = {
        (r, c) for r, row in enumerate(pt.rows) for c, cell in enumerate(row) if cell.suppressed
    }
    assert hidden == {(0, 0), (0, 1), (2, 0), (2, 1)}
    # One degree of freedom d: 3+d in 1..4 (d from -2 to 1), 10-d, 9-d, 14+d all >= 5.
    assert attack(table_grid(pt), 5, 122) == {
        (0, 0): {1, 2, 3, 4},
        (0, 1): {9, 10, 11, 12},
        (2, 0): {8, 9, 10, 11},
        (2, 1): {12, 13, 14, 15},
    }


def test_table_export_contains_no_hidden_value():
    pt = protect_table(MATRIX)
    rows = pt.as_rows(row_labels=["A", "B", "C"], col_labels=["x", "y", "z"])
    assert rows == [
        ["", "x", "y", "z", "Total"],
        ["A", "< 5", "secret", "12", "25"],
        ["B", "8", "20", "15", "43"],
        ["C", "secret", "secret", "30", "53"],
        ["Total", "20", "44", "57", "121"],
    ]
    strings = {s for row in rows for s in row}
    assert strings.isdisjoint({"3", "10", "9", "14"})


def test_a_table_without_small_cells_is_shown_whole():
    pt = protect_table([[5, 10], [7, 0]])
    assert table_grid(pt) == [["5", "10", "15"], ["7", "0", "7"], ["12", "10", "22"]]


def test_a_small_margin_is_protected_as_a_cell_of_its_line():
    # Column 1 sums to 2: its total is primary, and so are its two cells.
    pt = protect_table([[20, 1, 9], [30, 1, 12]])
    grid = table_grid(pt)
    assert grid[2][1] == "< 5" and grid[0][1] == grid[1][1] == "< 5"
    assert all(len(v) > 1 for v in attack(grid, 5, 74).values())


def test_a_table_without_margins_hides_only_small_cells():
    pt = protect_table([[3, 10], [8, 20]], row_totals=False, col_totals=False, grand_total=False)
    assert table_grid(pt) == [["< 5", "10", None], ["8", "20", None], [None, None, None]]
    assert pt.as_rows() == [["< 5", "10"], ["8", "20"]]


def test_grand_total_alone_is_exported_in_a_total_column():
    pt = protect_table([[6, 7], [8, 9]], row_totals=False, col_totals=False)
    assert pt.as_rows(total_label="Total") == [["6", "7", ""], ["8", "9", ""], ["", "", "30"]]


# --- Display, rates, validation ---------------------------------------------------------


def test_display_strings_never_show_a_hidden_value():
    assert Cell(3, True, PRIMARY, 5).display() == "< 5"
    assert Cell(3, True, PRIMARY, 10).display() == "< 10"
    assert Cell(47, True, SECONDARY, 5).display() == "secret"
    assert Cell(12).display() == "12" == str(Cell(12))
    assert "47" not in repr(Cell(47, True, SECONDARY, 5))
    assert "< 5" in legend(5) and "secret" in legend(5)


def test_rates():
    assert protect_rate(20, 50).display() == "40,0\u00a0%"
    assert protect_rate(0, 50).display() == "0,0\u00a0%"
    assert protect_rate(50, 50, decimals=0).display() == "100\u00a0%"
    assert protect_rate(3, 50).display() == "secret"  # small numerator
    assert protect_rate(48, 50).reason == PRIMARY  # "2 did not"
    assert protect_rate(4, 4).suppressed  # small denominator
    assert protect_rate(0, 0).display() == "—"
    assert protect_rate(7, 12, threshold=10).suppressed
    assert "7" not in repr(protect_rate(7, 12, threshold=10))
    with pytest.raises(ValueError):
        protect_rate(5, 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: protect_series([3, -1]),
        lambda: protect_series([3, 1.5]),
        lambda: protect_table([[1, 2], [3]]),
        lambda: protect_series([3, 12], threshold=2),
    ],
)
def test_invalid_input_is_refused(call):
    with pytest.raises(ValueError):
        call()


# --- Random sweep -----------------------------------------------------------------------


def _random_table(rng):
    m, n = rng.randint(1, 3), rng.randint(1, 4)
    return [[rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 11, 15]) for _ in range(n)] for _ in range(m)]


def _extended(matrix):
    grid = [[*r, sum(r)] for r in matrix]
    return [*grid, [sum(r[c] for r in grid) for c in range(len(grid[0]))]]


@pytest.mark.parametrize("seed", range(6))
def test_random_tables_are_protected(seed):
    rng = random.Random(seed)
    for _ in range(50):
        matrix, t = _random_table(rng), rng.choice([3, 5, 5, 5, 10])
        flags = {k: rng.random() < 0.75 for k in ("row_totals", "col_totals", "grand_total")}
        pt = protect_table(matrix, threshold=t, **flags)
        assert pt == protect_table(matrix, threshold=t, **flags)  # deterministic
        shown, true = table_grid(pt), _extended(matrix)
        cells = [(r, c) for r in range(len(shown)) for c in range(len(shown[0]))]
        displayed = [(r, c) for r, c in cells if shown[r][c] is not None]
        for r, c in displayed:
            v, s = true[r][c], shown[r][c]
            if s == "nd":  # a total no longer published, the last resort
                assert r == len(matrix) or c == len(matrix[0])
                continue
            assert (s == f"< {t}") == (0 < v < t), (matrix, t, flags)  # every small count
            assert s in (f"< {t}", "secret") or s == str(v)
            assert not (v == 0 and s != "0")  # zeros are shown
        if not any(0 < true[r][c] < t for r, c in displayed):
            assert all(shown[r][c] == str(true[r][c]) for r, c in displayed)
        seen = attack(shown, t, true[-1][-1] + 1, stop_early=True)
        recomputed = {p: v for p, v in seen.items() if len(v) < 2}
        assert not recomputed, (matrix, t, flags, shown)
        # The textbook rule follows: a line whose total is shown hides 0 or >= 2 of its figures.
        lines = [*shown, *zip(*shown, strict=True)]
        for line in (line for line in lines if None not in line):
            assert sum(s in (f"< {t}", "secret", "nd") for s in line) != 1, (matrix, t, shown)
        # The export is exactly the displayed strings.
        assert pt.as_rows()[: len(matrix)] == [
            [s for s in row if s is not None] + ([""] if row[-1] is None and pt.grand_total else [])
            for row in shown[:-1]
        ]


def test_random_series_are_protected():
    rng = random.Random(2024)
    for _ in range(100):
        values = [rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 14]) for _ in range(rng.randint(1, 6))]
        ps = protect_series(values)
        assert all((c.reason == PRIMARY) == (0 < c.value < 5) for c in ps.cells)
        seen = attack(series_grid(ps), 5, sum(values) + 1, stop_early=True)
        assert all(len(v) > 1 for v in seen.values()), (values, series_grid(ps))
