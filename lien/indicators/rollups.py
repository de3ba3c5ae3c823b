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

from lien.indicators.models import ActivityCube, RequestCube, ResultCube, SituationCube


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


def apply_facts(*, before: list[FactState] = (), after: list[FactState] = ()) -> None:
    """Subtract `before`, add `after`, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Les agrégats se mettent à jour dans la transaction de l'écriture.")
    for model, keys, values, contribute in CUBES:
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
    return {
        tuple(str(_normalise(c)) for c in row[: len(keys)]): tuple(row[len(keys) :])
        for row in model.objects.values_list(*keys, *values)
        if any(row[len(keys) :])
    }


def differences(limit: int = 20) -> dict[str, list[str]]:
    """Per cube, up to `limit` keys whose stored values differ from the facts'."""
    report = {}
    for model, keys, _, _ in CUBES:
        expected, stored = expected_rows(model), stored_rows(model)
        lines = [
            f"{dict(zip(keys, key, strict=True))} : attendu {expected.get(key)}, "
            f"stocké {stored.get(key)}"
            for key in sorted(set(expected) | set(stored))
            if expected.get(key) != stored.get(key)
        ]
        report[model.__name__] = lines[:limit] + (
            [f"… et {len(lines) - limit} autres"] if len(lines) > limit else []
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
    return counts
