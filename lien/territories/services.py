"""Writes on territories: the closure table is rebuilt from the parent links.

Loading the official files is in `lien.territories.loaders`.
"""

from collections import defaultdict

from django.db import connection, transaction

from lien.territories.models import Level, Territory, TerritoryAncestor

_DELETE_CHUNK = 500  # under SQLite's limit on query parameters
_INSERT_CHUNK = 300  # rows: 900 parameters, under SQLite's oldest limit of 999


def _ancestor_distances(
    territory_id: int,
    parents: dict[int, set[int]],
    levels: dict[int, str],
    memo: dict[int, dict[int, int]],
) -> dict[int, int]:
    if territory_id in memo:
        return memo[territory_id]
    memo[territory_id] = {territory_id: 0}  # guards against a cycle in bad data
    own_departement = any(levels[p] == Level.DEPARTEMENT for p in parents.get(territory_id, ()))
    result = {territory_id: 0}
    for parent_id in parents.get(territory_id, ()):
        if own_departement and levels[parent_id] == Level.EPCI:
            # An EPCI can straddle départements: a commune belongs to its own
            # département only, not to every département of its EPCI.
            inherited = {parent_id: 0}
        else:
            inherited = _ancestor_distances(parent_id, parents, levels, memo)
        for ancestor_id, distance in inherited.items():
            if ancestor_id not in result or result[ancestor_id] > distance + 1:
                result[ancestor_id] = distance + 1
    memo[territory_id] = result
    return result


def _insert_links(rows: list[tuple[int, int, int]]) -> None:
    """Insert (ancestor, descendant, distance) rows, many per statement.

    Not bulk_create: building ~150,000 model instances took most of a whole-country load
    (7 s of 10 on SQLite) for three integers a row; nor executemany, which PostgreSQL
    runs row by row.
    """
    meta = TerritoryAncestor._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column)
        for name in ("ancestor", "descendant", "distance")
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            # Names come from the model; the values go as parameters.
            sql = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])


@transaction.atomic
def territory_rebuild_ancestors() -> int:
    """Recompute the closure table and the paths from every parent link.

    Returns the number of (ancestor, descendant) rows. Only the rows that differ are
    written, so a re-run after an unchanged load or a small admin edit writes little
    (a whole country is ~40,000 territories and ~160,000 rows).

    Every link counts (a QPV is within each commune it covers, an EPCI within each
    département it straddles), except that a territory attached to a département of its
    own does not inherit the départements of its EPCI.
    """
    rows = list(Territory.objects.values_list("id", "parent_id", "code", "level", "path"))
    codes = {pk: code for pk, _, code, _, _ in rows}
    levels = {pk: level for pk, _, _, level, _ in rows}
    primary = {pk: parent_id for pk, parent_id, _, _, _ in rows}
    parents: dict[int, set[int]] = defaultdict(set)
    for pk, parent_id, _, _, _ in rows:
        if parent_id:
            parents[pk].add(parent_id)
    through = Territory.secondary_parents.through
    for child_id, parent_id in through.objects.values_list("from_territory_id", "to_territory_id"):
        parents[child_id].add(parent_id)

    memo: dict[int, dict[int, int]] = {}
    wanted = {
        (ancestor_id, pk): distance
        for pk in codes
        for ancestor_id, distance in _ancestor_distances(pk, parents, levels, memo).items()
    }
    existing = {
        (ancestor_id, descendant_id): (link_id, distance)
        for link_id, ancestor_id, descendant_id, distance in TerritoryAncestor.objects.values_list(
            "id", "ancestor_id", "descendant_id", "distance"
        )
    }
    stale = [
        link_id for key, (link_id, distance) in existing.items() if wanted.get(key) != distance
    ]
    if len(stale) > len(existing) // 2:
        # Mostly new (a first load): emptying the table beats deleting row by row.
        TerritoryAncestor.objects.all().delete()
        existing = {}
    else:
        for start in range(0, len(stale), _DELETE_CHUNK):
            TerritoryAncestor.objects.filter(pk__in=stale[start : start + _DELETE_CHUNK]).delete()
    _insert_links(
        [
            (ancestor_id, pk, distance)
            for (ancestor_id, pk), distance in wanted.items()
            if existing.get((ancestor_id, pk), (None, None))[1] != distance
        ]
    )

    def path_of(pk: int) -> str:
        chain, seen = [], set()
        while pk and pk not in seen:
            seen.add(pk)
            chain.append(codes[pk])
            pk = primary[pk]
        return "/" + "/".join(reversed(chain)) + "/"

    changed = []
    for pk, _, _, _, path in rows:
        new_path = path_of(pk)
        if path != new_path:
            changed.append(Territory(pk=pk, path=new_path))
    Territory.objects.bulk_update(changed, ["path"], batch_size=2000)
    return len(wanted)
