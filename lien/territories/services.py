"""Writes on territories: the closure table is rebuilt from the parent links."""

from collections import defaultdict

from django.db import transaction

from lien.territories.models import Territory, TerritoryAncestor


def _ancestor_distances(
    territory_id: int, parents: dict[int, set[int]], memo: dict[int, dict[int, int]]
) -> dict[int, int]:
    if territory_id in memo:
        return memo[territory_id]
    memo[territory_id] = {territory_id: 0}  # guards against a cycle in bad data
    result = {territory_id: 0}
    for parent_id in parents.get(territory_id, ()):
        for ancestor_id, distance in _ancestor_distances(parent_id, parents, memo).items():
            if ancestor_id not in result or result[ancestor_id] > distance + 1:
                result[ancestor_id] = distance + 1
    memo[territory_id] = result
    return result


@transaction.atomic
def territory_rebuild_ancestors() -> int:
    """Recompute the closure table and the paths from every parent link.

    Returns the number of (ancestor, descendant) rows. Cheap enough to run after each load
    (a whole country is ~40,000 territories and ~200,000 rows).
    """
    parents: dict[int, set[int]] = defaultdict(set)
    rows = list(Territory.objects.values_list("id", "parent_id", "code"))
    codes = {pk: code for pk, _, code in rows}
    primary = {pk: parent_id for pk, parent_id, _ in rows}
    for pk, parent_id, _ in rows:
        if parent_id:
            parents[pk].add(parent_id)
    through = Territory.secondary_parents.through
    for child_id, parent_id in through.objects.values_list("from_territory_id", "to_territory_id"):
        parents[child_id].add(parent_id)

    memo: dict[int, dict[int, int]] = {}
    links = [
        TerritoryAncestor(ancestor_id=ancestor_id, descendant_id=pk, distance=distance)
        for pk in codes
        for ancestor_id, distance in _ancestor_distances(pk, parents, memo).items()
    ]
    TerritoryAncestor.objects.all().delete()
    TerritoryAncestor.objects.bulk_create(links, batch_size=5000)

    def path_of(pk: int) -> str:
        chain, seen = [], set()
        while pk and pk not in seen:
            seen.add(pk)
            chain.append(codes[pk])
            pk = primary[pk]
        return "/" + "/".join(reversed(chain)) + "/"

    changed = []
    for territory in Territory.objects.only("id", "path"):
        new_path = path_of(territory.pk)
        if territory.path != new_path:
            territory.path = new_path
            changed.append(territory)
    Territory.objects.bulk_update(changed, ["path"], batch_size=2000)
    return len(links)
