"""Keeping the roll-ups in step with the facts, in the same transaction.

The logbook's services call `apply_facts(before=..., after=...)` with the state of the
interventions they remove or replace (`before`) and add (`after`). Each cube receives the
difference as one upsert per key:

    INSERT INTO cube (key…, value…) VALUES (…), (…)
    ON CONFLICT (key…) DO UPDATE SET value = cube.value + excluded.value

which SQLite (≥ 3.24) and PostgreSQL both execute atomically: concurrent writers never
lose an increment. Keys are sorted so that concurrent batches lock rows in the same order.
`rebuild()` recomputes every cube from the facts with one INSERT … SELECT … GROUP BY per
cube; `differences()` compares them (`check_rollups`).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateField, F, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from lien.indicators.models import (
    ActivityCube,
    AreaActivityCube,
    AreaCoverageCube,
    AreaRequestCube,
    AreaResultCube,
    AreaSituationCube,
    RequestCube,
    ResultCube,
    SituationCube,
)


@dataclass(frozen=True)
class FactState:
    """What the cubes need to know of one intervention."""

    month: datetime.date
    structure_id: Any
    service_id: Any
    commune_id: int
    qpv_id: int
    domain_id: int
    activity_type_id: int
    situation_category_id: int
    outcome_id: int
    timing: str
    people_met: int
    minutes: int
    emergency: bool
    requests: tuple[tuple[int, int], ...] = field(default=())


def month_of(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def fact_state(intervention, requests: dict | None = None) -> FactState:
    """The state of `intervention`; `requests` maps theme (or theme id) → count."""
    pairs = tuple(
        sorted(
            ((getattr(theme, "pk", theme), count) for theme, count in (requests or {}).items()),
        )
    )
    return FactState(
        month=month_of(intervention.started_at),
        structure_id=intervention.structure_id,
        service_id=intervention.service_id,
        commune_id=intervention.commune_id,
        qpv_id=intervention.qpv_id or 0,
        domain_id=intervention.domain_id,
        activity_type_id=intervention.activity_type_id,
        situation_category_id=intervention.situation_category_id or 0,
        outcome_id=intervention.outcome_id or 0,
        timing=intervention.timing or "",
        people_met=intervention.people_met,
        minutes=intervention.duration_minutes,
        emergency=bool(intervention.emergency_handoff),
        requests=pairs,
    )


# Each cube: its model, key columns, value columns, and how one fact contributes.
def _activity(f: FactState):
    key = (
        f.month,
        f.structure_id,
        f.service_id,
        f.commune_id,
        f.qpv_id,
        f.domain_id,
        f.activity_type_id,
    )
    yield key, (1, f.people_met, f.minutes, 1 if f.outcome_id else 0, 1 if f.emergency else 0)


def _result(f: FactState):
    key = (
        f.month,
        f.structure_id,
        f.service_id,
        f.commune_id,
        f.domain_id,
        f.activity_type_id,
        f.outcome_id,
        f.timing,
    )
    yield key, (1, f.people_met)


def _situation(f: FactState):
    key = (
        f.month,
        f.structure_id,
        f.service_id,
        f.commune_id,
        f.domain_id,
        f.situation_category_id,
    )
    yield key, (1,)


def _request(f: FactState):
    for theme_id, count in f.requests:
        yield (f.month, f.structure_id, f.service_id, f.commune_id, f.qpv_id, theme_id), (count,)


CUBES = [
    (
        ActivityCube,
        (
            "month",
            "structure_id",
            "service_id",
            "commune_id",
            "qpv_id",
            "domain_id",
            "activity_type_id",
        ),
        ("interventions", "people_met", "minutes", "with_outcome", "emergencies"),
        _activity,
    ),
    (
        ResultCube,
        (
            "month",
            "structure_id",
            "service_id",
            "commune_id",
            "domain_id",
            "activity_type_id",
            "outcome_id",
            "timing",
        ),
        ("interventions", "people_met"),
        _result,
    ),
    (
        SituationCube,
        ("month", "structure_id", "service_id", "commune_id", "domain_id", "situation_category_id"),
        ("interventions",),
        _situation,
    ),
    (
        RequestCube,
        ("month", "structure_id", "service_id", "commune_id", "qpv_id", "theme_id"),
        ("requests",),
        _request,
    ),
]


# Area cubes: the same contributions keyed by région and type of employer.
def _area_activity(f: FactState, dept: int, employer: int):
    key = (f.month, dept, employer, 1 if f.qpv_id else 0, f.domain_id, f.activity_type_id)
    yield key, (1, f.people_met, f.minutes, 1 if f.outcome_id else 0, 1 if f.emergency else 0)


def _area_result(f: FactState, dept: int, employer: int):
    key = (f.month, dept, employer, f.domain_id, f.activity_type_id, f.outcome_id, f.timing)
    yield key, (1, f.people_met)


def _area_situation(f: FactState, dept: int, employer: int):
    yield (f.month, dept, employer, f.domain_id, f.situation_category_id), (1,)


def _area_request(f: FactState, dept: int, employer: int):
    for theme_id, count in f.requests:
        yield (f.month, dept, employer, 1 if f.qpv_id else 0, theme_id), (count,)


def _area_coverage(f: FactState, dept: int, employer: int):
    yield (f.month, dept, employer, f.commune_id, f.qpv_id), (1,)


#: Area cube → (key columns, value columns, contribution, source cube, SELECT that derives
#: it from the source cube: `{dept}` and `{employer}` are the joined columns).
AREA_CUBES = [
    (
        AreaActivityCube,
        ("month", "region_id", "employer_type_id", "in_qpv", "domain_id",
         "activity_type_id"),
        ("interventions", "people_met", "minutes", "with_outcome", "emergencies"),
        _area_activity,
        ActivityCube,
        ("c.month", "{dept}", "{employer}", "CASE WHEN c.qpv_id <> 0 THEN 1 ELSE 0 END",
         "c.domain_id", "c.activity_type_id"),
        ("SUM(c.interventions)", "SUM(c.people_met)", "SUM(c.minutes)", "SUM(c.with_outcome)",
         "SUM(c.emergencies)"),
    ),
    (
        AreaResultCube,
        ("month", "region_id", "employer_type_id", "domain_id", "activity_type_id",
         "outcome_id", "timing"),
        ("interventions", "people_met"),
        _area_result,
        ResultCube,
        ("c.month", "{dept}", "{employer}", "c.domain_id", "c.activity_type_id", "c.outcome_id",
         "c.timing"),
        ("SUM(c.interventions)", "SUM(c.people_met)"),
    ),
    (
        AreaSituationCube,
        ("month", "region_id", "employer_type_id", "domain_id", "situation_category_id"),
        ("interventions",),
        _area_situation,
        SituationCube,
        ("c.month", "{dept}", "{employer}", "c.domain_id", "c.situation_category_id"),
        ("SUM(c.interventions)",),
    ),
    (
        AreaRequestCube,
        ("month", "region_id", "employer_type_id", "in_qpv", "theme_id"),
        ("requests",),
        _area_request,
        RequestCube,
        ("c.month", "{dept}", "{employer}", "CASE WHEN c.qpv_id <> 0 THEN 1 ELSE 0 END",
         "c.theme_id"),
        ("SUM(c.requests)",),
    ),
    (
        AreaCoverageCube,
        ("month", "region_id", "employer_type_id", "commune_id", "qpv_id"),
        ("interventions",),
        _area_coverage,
        ActivityCube,
        ("c.month", "{dept}", "{employer}", "c.commune_id", "c.qpv_id"),
        ("SUM(c.interventions)",),
    ),
]  # fmt: skip


def _regions(commune_ids) -> dict[int, int]:
    """Each commune's région: that of its own département (the one whose INSEE code starts
    its code), never one reached through an EPCI that straddles a border."""
    from lien.territories.models import Level, TerritoryAncestor

    own: dict[int, int] = {}
    other: dict[int, int] = {}  # a code that breaks the INSEE rule: any of its régions
    for commune_id, commune_code, dept_code, region_id in TerritoryAncestor.objects.filter(
        descendant_id__in=set(commune_ids), ancestor__level=Level.DEPARTEMENT
    ).values_list("descendant_id", "descendant__code", "ancestor__code", "ancestor__parent_id"):
        if region_id is None:
            continue
        target = own if commune_code.startswith(dept_code) else other
        target[commune_id] = min(target.get(commune_id, region_id), region_id)
    return {**other, **own}


def _employer_types(structure_ids) -> dict[str, int]:
    from lien.structures.models import Structure

    return {
        str(pk): employer
        for pk, employer in Structure.objects.filter(pk__in=set(structure_ids)).values_list(
            "pk", "employer_type_id"
        )
    }


def apply_facts(*, before: list[FactState] = (), after: list[FactState] = ()) -> None:
    """Subtract `before`, add `after`, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Les agrégats se mettent à jour dans la transaction de l'écriture.")
    facts = [*before, *after]
    if not facts:
        return
    dept_of = _regions(f.commune_id for f in facts)
    type_of = _employer_types(f.structure_id for f in facts)

    def area(contribute):
        def keyed(fact):
            dept = dept_of.get(fact.commune_id, 0)
            return contribute(fact, dept, type_of.get(str(fact.structure_id), 0))

        return keyed

    plans = [(model, keys, values, contribute) for model, keys, values, contribute in CUBES]
    plans += [(m, k, v, area(c)) for m, k, v, c, *_ in AREA_CUBES]
    for model, keys, values, contribute in plans:
        width = len(values)
        deltas: dict[tuple, list[int]] = defaultdict(lambda width=width: [0] * width)
        for sign, facts in ((-1, before), (1, after)):
            for fact in facts:
                for key, amounts in contribute(fact):
                    row = deltas[key]
                    for index, amount in enumerate(amounts):
                        row[index] += sign * amount
        rows = [(key, row) for key, row in deltas.items() if any(row)]
        if rows:
            _upsert(model, keys, values, sorted(rows, key=lambda r: tuple(map(str, r[0]))))


def _upsert(model, keys, values, rows, chunk: int = 500) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in (*keys, *values)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    conflict = ", ".join(connection.ops.quote_name(model._meta.get_field(k).column) for k in keys)
    updates = ", ".join(
        f"{q} = {table}.{q} + excluded.{q}"
        for q in (connection.ops.quote_name(model._meta.get_field(v).column) for v in values)
    )
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params = []
            for key, amounts in part:
                params += [
                    f.get_db_prep_value(v, connection, prepared=False)
                    for f, v in zip(fields, (*key, *amounts), strict=True)
                ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 — identifiers quoted
                + ", ".join([placeholder] * len(part))
                + f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                params,
            )


# --- rebuild and check -----------------------------------------------------------------


def _fact_aggregates() -> dict:
    """Per cube: the GROUP BY over the facts that it must equal, and its column names.

    The names are in the order the SQL selects them — the `values()` names as given (the
    cube's key order), then the aggregates — which `rebuild()` relies on.
    """
    from lien.logbook.models import AccessRequest, Intervention

    tz = timezone.get_current_timezone()
    zero = Value(0, output_field=IntegerField())
    base = Intervention.objects.annotate(
        k_month=TruncMonth("started_at", tzinfo=tz, output_field=DateField()),
        k_qpv=Coalesce("qpv_id", zero),
        k_situation=Coalesce("situation_category_id", zero),
        k_outcome=Coalesce("outcome_id", zero),
    )
    activity_keys = (
        "k_month",
        "structure_id",
        "service_id",
        "commune_id",
        "k_qpv",
        "domain_id",
        "activity_type_id",
    )
    activity_values = {
        "v_interventions": Count("id"),
        "v_people": Sum("people_met"),
        "v_minutes": Sum("duration_minutes"),
        "v_outcome": Count("id", filter=Q(outcome__isnull=False)),
        "v_emergency": Count("id", filter=~Q(emergency_handoff="")),
    }
    result_keys = (
        "k_month",
        "structure_id",
        "service_id",
        "commune_id",
        "domain_id",
        "activity_type_id",
        "k_outcome",
        "timing",
    )
    result_values = {"v_interventions": Count("id"), "v_people": Sum("people_met")}
    situation_keys = (
        "k_month",
        "structure_id",
        "service_id",
        "commune_id",
        "domain_id",
        "k_situation",
    )
    situation_values = {"v_interventions": Count("id")}
    request_keys = ("k_month", "k_structure", "k_service", "k_commune", "k_qpv", "theme_id")
    request_values = {"v_requests": Sum("count")}
    requests = AccessRequest.objects.annotate(
        k_month=TruncMonth("intervention__started_at", tzinfo=tz, output_field=DateField()),
        k_structure=F("intervention__structure_id"),
        k_service=F("intervention__service_id"),
        k_commune=F("intervention__commune_id"),
        k_qpv=Coalesce("intervention__qpv_id", zero),
    )
    return {
        ActivityCube: (
            base.values(*activity_keys).annotate(**activity_values),
            [*activity_keys, *activity_values],
        ),
        ResultCube: (
            base.values(*result_keys).annotate(**result_values),
            [*result_keys, *result_values],
        ),
        SituationCube: (
            base.values(*situation_keys).annotate(**situation_values),
            [*situation_keys, *situation_values],
        ),
        RequestCube: (
            requests.values(*request_keys).annotate(**request_values),
            [*request_keys, *request_values],
        ),
    }


def _normalise(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return datetime.date.fromisoformat(value[:10])
    return value


def _spec(model):
    return next(cube for cube in CUBES if cube[0] is model)


def expected_rows(model) -> dict[tuple, tuple]:
    """The cube's rows as computed from the facts: {key: values}."""
    _, keys, _, _ = _spec(model)
    queryset, names = _fact_aggregates()[model]
    rows = {}
    for record in queryset:
        cells = [_normalise(record[name]) for name in names]
        rows[tuple(str(c) for c in cells[: len(keys)])] = tuple(
            int(v or 0) for v in cells[len(keys) :]
        )
    return rows


def stored_rows(model) -> dict[tuple, tuple]:
    """The cube's stored rows (all-zero rows, left by corrections, count as absent)."""
    _, keys, values, _ = _spec(model)
    return _stored(model, keys, values)


def _stored(model, keys, values) -> dict[tuple, tuple]:
    return {
        tuple(str(_normalise(c)) for c in row[: len(keys)]): tuple(row[len(keys) :])
        for row in model.objects.values_list(*keys, *values)
        if any(row[len(keys) :])
    }


def _difference_lines(keys, expected: dict, stored: dict, limit: int) -> list[str]:
    lines = [
        f"{dict(zip(keys, key, strict=True))} : attendu {expected.get(key)}, "
        f"stocké {stored.get(key)}"
        for key in sorted(set(expected) | set(stored))
        if expected.get(key) != stored.get(key)
    ]
    return lines[:limit] + ([f"… et {len(lines) - limit} autres"] if len(lines) > limit else [])


def differences(limit: int = 20) -> dict[str, list[str]]:
    """Per cube, up to `limit` keys whose stored values differ from what they derive from
    (the facts for the cubes, the cubes for the area cubes)."""
    report = {}
    for model, keys, _, _ in CUBES:
        report[model.__name__] = _difference_lines(
            keys, expected_rows(model), stored_rows(model), limit
        )
    for spec in AREA_CUBES:
        report[spec[0].__name__] = _difference_lines(
            spec[1], _area_expected(spec), _stored(spec[0], spec[1], spec[2]), limit
        )
    return report


@transaction.atomic
def rebuild() -> dict[str, int]:
    """Empty every cube and refill it from the facts (one INSERT … SELECT per cube)."""
    counts = {}
    for model, (queryset, _names) in _fact_aggregates().items():
        _, keys, values, _ = _spec(model)
        model.objects.all().delete()
        sql, params = queryset.query.sql_with_params()
        columns = ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column)
            for name in (*keys, *values)
        )
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        counts[model.__name__] = model.objects.count()
    for spec in AREA_CUBES:
        model = spec[0]
        model.objects.all().delete()
        columns = ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column)
            for name in (*spec[1], *spec[2])
        )
        select, params = _area_select(spec)
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        counts[model.__name__] = model.objects.count()
    return counts


def _area_select(spec, source_sql: str | None = None) -> tuple[str, list]:
    """The SELECT deriving an area cube from its source cube (joined with the structure's
    type of employer and the commune's région); `source_sql` reads another relation with
    the source cube's columns instead (a delta, see `apply_inserted`)."""
    from lien.structures.models import Structure
    from lien.territories.models import Level, Territory, TerritoryAncestor

    _model, _keys, _values, _contribute, source, key_sql, value_sql = spec
    q = connection.ops.quote_name
    dept, employer = "COALESCE(r.region_id, 0)", "COALESCE(s.employer_type_id, 0)"
    keys = [k.format(dept=dept, employer=employer) for k in key_sql]
    territory, closure = q(Territory._meta.db_table), q(TerritoryAncestor._meta.db_table)
    regions = (  # same rule as `_regions`: the région of the commune's own département
        "SELECT l.descendant_id AS commune_id, COALESCE("  # noqa: S608 — identifiers only
        "MIN(CASE WHEN com.code LIKE dep.code || '%%' THEN dep.parent_id END), "
        "MIN(dep.parent_id)) AS region_id "
        f"FROM {closure} l JOIN {territory} dep ON dep.id = l.ancestor_id "
        f"JOIN {territory} com ON com.id = l.descendant_id "
        "WHERE dep.level = %s AND dep.parent_id IS NOT NULL GROUP BY l.descendant_id"
    )
    sql = (
        f"SELECT {', '.join([*keys, *value_sql])} "  # noqa: S608 — identifiers only
        f"FROM {f'({source_sql})' if source_sql else q(source._meta.db_table)} c "
        f"LEFT JOIN {q(Structure._meta.db_table)} s ON s.id = c.structure_id "
        f"LEFT JOIN ({regions}) r ON r.commune_id = c.commune_id "
        f"GROUP BY {', '.join(keys)}"
    )
    return sql, [Level.DEPARTEMENT]


def _area_expected(spec) -> dict[tuple, tuple]:
    select, params = _area_select(spec)
    width = len(spec[1])
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        return {
            tuple(str(_normalise(c)) for c in row[:width]): tuple(int(v or 0) for v in row[width:])
            for row in cursor.fetchall()
            if any(row[width:])
        }


# --- bulk additions (imports) -------------------------------------------------------------------


def apply_inserted(**lookups) -> dict[str, int]:
    """Add the interventions matching `lookups` (field lookups of rows just inserted, e.g.
    their structure and common creation instant) to every cube, in SQL, in the caller's
    transaction.

    For a bulk import this replaces `apply_facts`: one INSERT … SELECT … GROUP BY … ON
    CONFLICT DO UPDATE per cube, the area cubes derived from the same delta, so that a
    million imported rows cost a few statements instead of a million Python facts.
    Returns the number of cube rows touched per cube.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Les agrégats se mettent à jour dans la transaction de l'écriture.")
    # Plain filters rather than a subquery of ids: the planner has no statistics yet on
    # rows inserted in this transaction, and a semi-join would be planned as a nested loop.
    q = connection.ops.quote_name
    touched = {}
    deltas = {}
    for model, (queryset, names) in _fact_aggregates().items():
        _, keys, values, _ = _spec(model)
        if model is RequestCube:
            queryset = queryset.filter(**{f"intervention__{k}": v for k, v in lookups.items()})
        else:
            queryset = queryset.filter(**lookups)
        sql, params = queryset.query.sql_with_params()
        columns = [model._meta.get_field(name).column for name in (*keys, *values)]
        # The delta with the cube's own column names, as the area cubes' SELECT reads it.
        renamed = ", ".join(
            f"d.{q(name)} AS {q(column)}" for name, column in zip(names, columns, strict=True)
        )
        deltas[model] = (f"SELECT {renamed} FROM ({sql}) d", params)  # noqa: S608
        touched[model.__name__] = _upsert_select(model, keys, values, *deltas[model])
    for spec in AREA_CUBES:
        delta_sql, delta_params = deltas[spec[4]]
        select, params = _area_select(spec, source_sql=delta_sql)
        touched[spec[0].__name__] = _upsert_select(
            spec[0], spec[1], spec[2], select, [*delta_params, *params]
        )
    return touched


def _upsert_select(model, keys, values, select: str, params) -> int:
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    columns = ", ".join(q(model._meta.get_field(name).column) for name in (*keys, *values))
    conflict = ", ".join(q(model._meta.get_field(k).column) for k in keys)
    updates = ", ".join(
        f"{c} = {table}.{c} + excluded.{c}"
        for c in (q(model._meta.get_field(v).column) for v in values)
    )
    with connection.cursor() as cursor:
        # "WHERE true": SQLite reads "ON CONFLICT" after a join's SELECT as the join's ON.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM ({select}) s WHERE true "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
            params,
        )
        return cursor.rowcount
