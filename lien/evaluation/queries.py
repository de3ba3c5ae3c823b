"""Reads of the evaluation of social utility: survey results and the per-register summary.

`utility_summary` is the interface the steering reports (biannual report, funder activity
report) call; the evaluation page draws the same rows for one evaluation. Indicators come
from `lien.indicators` (the cubes, for the services and period), so they are "computed
where data exists"; what is shown outside the structure is protected against small cells.
"""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Avg, Count, Q

from lien.core import suppression
from lien.evaluation.models import (
    QUESTIONS,
    AssessmentLevel,
    Audience,
    AvoidedCostEstimate,
    Evaluation,
    EvaluationState,
    Likert,
    SelfAssessment,
    Survey,
    SurveyResponse,
)
from lien.indicators import engine
from lien.indicators.dashboards import fr_number, indicator_text
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import UtilityRegister

CENT = Decimal("0.01")
UTILITY_SOURCE = "utility"


def threshold() -> int:
    """Fewer answers than this and no result of a survey is shown (anonymity)."""
    return settings.LIEN_SMALL_CELL_THRESHOLD


def responses_label(count: int) -> str:
    if 0 < count < threshold():
        return f"< {threshold()} réponses"
    return f"{count} réponse" + ("s" if count > 1 else "")


def _mean(value) -> float | None:
    return None if value is None else round(float(value), 2)


# --- one survey ----------------------------------------------------------------------------


def survey_results(survey: Survey) -> dict:
    """Counts, mean and distribution per question of one survey, in one query.

    Under the threshold (5 answers by default) nothing but the "< 5 réponses" is shown:
    with so few answers a coordinator could tell who answered what.
    """
    aggregates = {"n": Count("pk")}
    for name, _register, _label in QUESTIONS:
        aggregates[f"{name}__avg"] = Avg(name)
        for value in Likert.values:
            aggregates[f"{name}__{value}"] = Count("pk", filter=Q(**{name: value}))
    row = survey.responses.aggregate(**aggregates)
    count = row["n"]
    suppressed = count < threshold()
    questions = []
    for name, register, label in QUESTIONS:
        questions.append(
            {
                "field": name,
                "register": register,
                "label": label,
                "mean": None if suppressed else _mean(row[f"{name}__avg"]),
                "distribution": None
                if suppressed
                else [(v, lbl, row[f"{name}__{v}"]) for v, lbl in Likert.choices],
            }
        )
    return {
        "responses": count,
        "responses_label": responses_label(count),
        "suppressed": suppressed,
        "questions": questions,
    }


def survey_comments(survey: Survey) -> list[str]:
    """The free-text answers, by date then text (never in the order they came in)."""
    return list(
        survey.responses.exclude(comment="")
        .order_by("answered_on", "comment")
        .values_list("comment", flat=True)
    )


# --- the per-register summary --------------------------------------------------------------


def _ids(services) -> list:
    return [getattr(s, "pk", s) for s in services]


def _perimeter(service_ids, start: datetime.date, end: datetime.date, protected: bool):
    return engine.Perimeter(
        start=start.replace(day=1),
        end=end.replace(day=1),
        service_ids=tuple(str(pk) for pk in service_ids),
        protected=protected,
    )


def _indicators(registers, service_ids, start, end, protected) -> dict[int, list[dict]]:
    # Satisfaction and self-assessment are shown in their own sections (per audience and
    # register) rather than as the engine's one overall figure.
    definitions = [
        d
        for d in IndicatorDefinition.objects.filter(
            is_active=True, register__in=registers
        ).order_by("position", "code")
        if engine.MEASURES.get(d.numerator) is None
        or engine.MEASURES[d.numerator].source != UTILITY_SOURCE
    ]
    perimeter = _perimeter(service_ids, start, end, protected)
    values = engine.indicator_values(definitions, perimeter)
    out: dict[int, list[dict]] = defaultdict(list)
    for definition in definitions:
        value = values[definition.code]
        text = indicator_text(definition, value, perimeter)
        # A figure hidden by the small-cell protection never leaves as a number.
        hidden = text.startswith("<") or text in (suppression.MASKED, suppression.NOT_PUBLISHED)
        out[definition.register_id].append(
            {
                "code": definition.code,
                "label": definition.label,
                "value": None if hidden else value.value,
                "text": text,
                "unit": definition.unit,
                "available": value.available,
            }
        )
    return out


def _assessments(evaluations) -> dict[int, dict]:
    by_register: dict[int, list[SelfAssessment]] = defaultdict(list)
    for row in (
        SelfAssessment.objects.filter(evaluation__in=evaluations)
        .select_related("evaluation__service")
        .order_by("evaluation__service__name", "evaluation__starts_on")
    ):
        by_register[row.register_id].append(row)
    out = {}
    for register_id, rows in by_register.items():
        if len(rows) == 1:
            row = rows[0]
            out[register_id] = {
                "level": row.level,
                "level_label": row.get_level_display(),
                "evidence": row.evidence,
            }
            continue
        mean = Decimal(sum(r.level for r in rows)) / len(rows)
        level = int(mean.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        out[register_id] = {
            "level": level,
            "level_label": f"{AssessmentLevel(level).label} "
            f"(moyenne de {len(rows)} auto-évaluations)",
            "evidence": "\n".join(
                f"{r.evaluation.service.name} : {r.evidence}" for r in rows if r.evidence
            ),
        }
    return out


def _surveys(service_ids, start, end) -> dict[str, list[dict]]:
    """register code → one row per audience surveyed in the period (answers by date)."""
    aggregates = {"n": Count("pk")}
    for name, _register, _label in QUESTIONS:
        aggregates[name] = Avg(name)
    rows = {
        row["survey__audience"]: row
        for row in SurveyResponse.objects.filter(
            survey__service_id__in=service_ids, answered_on__gte=start, answered_on__lte=end
        )
        .values("survey__audience")
        .annotate(**aggregates)
        .order_by()
    }
    surveyed = set(
        Survey.objects.filter(service_id__in=service_ids, opens_on__lte=end, closes_on__gte=start)
        .values_list("audience", flat=True)
        .distinct()
    ) | set(rows)
    out: dict[str, list[dict]] = defaultdict(list)
    for name, register, _label in QUESTIONS:
        for audience, audience_label in Audience.choices:
            if audience not in surveyed:
                continue
            row = rows.get(audience, {"n": 0, name: None})
            suppressed = row["n"] < threshold()
            out[register].append(
                {
                    "audience": audience,
                    "audience_label": str(audience_label),
                    "responses": row["n"],
                    "responses_label": responses_label(row["n"]),
                    "mean": None if suppressed else _mean(row[name]),
                    "suppressed": suppressed,
                }
            )
    return out


def _avoided_costs(evaluations, protected: bool) -> dict[int, list[dict]]:
    estimates = list(
        AvoidedCostEstimate.objects.filter(evaluation__in=evaluations)
        .select_related("indicator", "evaluation__service")
        .order_by("evaluation__service__name", "created_at", "pk")
    )
    # One indicator computation per evaluation (its service and period).
    computed: dict = {}
    for evaluation_id in {e.evaluation_id for e in estimates if e.indicator_id}:
        evaluation = next(e.evaluation for e in estimates if e.evaluation_id == evaluation_id)
        perimeter = _perimeter(
            [evaluation.service_id], evaluation.starts_on, evaluation.ends_on, protected
        )
        definitions = {e.indicator for e in estimates if e.evaluation_id == evaluation_id}
        computed[evaluation_id] = engine.indicator_values([d for d in definitions if d], perimeter)
    out: dict[int, list[dict]] = defaultdict(list)
    for estimate in estimates:
        out[estimate.register_id].append(_estimate_row(estimate, computed, protected))
    return out


def _fr_quantity(quantity) -> str:
    value = Decimal(quantity)
    if value == value.to_integral_value():
        return fr_number(int(value))
    return f"{value.normalize():f}".replace(".", ",")


def _estimate_row(estimate: AvoidedCostEstimate, computed: dict, protected: bool) -> dict:
    quantity = estimate.manual_quantity
    quantity_text = None
    if estimate.indicator_id:
        value = computed[estimate.evaluation_id][estimate.indicator.code].value
        quantity = value
        small = isinstance(value, int) and 0 < value < threshold()
        if protected and small and not estimate.indicator.denominator:
            # amount / unit cost would give the small count back.
            quantity, quantity_text = None, f"< {threshold()}"
        basis = f"indicateur « {estimate.indicator.label} »"
    else:
        basis = "quantité saisie"
    amount = None
    if quantity is not None:
        amount = (Decimal(quantity) * estimate.unit_cost).quantize(CENT)
    if quantity_text is None:
        quantity_text = "données indisponibles" if quantity is None else _fr_quantity(quantity)
    return {
        "pk": estimate.pk,
        "label": estimate.label,
        "amount": amount,
        "assumptions": estimate.assumptions,
        "unit_cost": estimate.unit_cost,
        "quantity": quantity,
        "quantity_text": quantity_text,
        "basis": basis,
        "service": estimate.evaluation.service.name,
    }


def _register_rows(service_ids, start, end, evaluations, *, protected: bool) -> list[dict]:
    registers = list(UtilityRegister.objects.active().order_by("position", "label"))
    indicators = _indicators(registers, service_ids, start, end, protected)
    assessments = _assessments(evaluations)
    surveys = _surveys(service_ids, start, end)
    costs = _avoided_costs(evaluations, protected)
    return [
        {
            "register": register,
            "indicators": indicators.get(register.pk, []),
            "self_assessment": assessments.get(register.pk),
            "surveys": surveys.get(register.code, []),
            "avoided_costs": costs.get(register.pk, []),
        }
        for register in registers
    ]


def utility_summary(
    *, services, start: datetime.date, end: datetime.date, protected: bool = True
) -> list[dict]:
    """The social utility of `services` (structures.Service: a QuerySet or a list) from
    `start` to `end` (dates, both included), one dict per CITER register in register order:

    - ``register``: the `referentiel.UtilityRegister`;
    - ``indicators``: ``[{"label", "value", "text", "unit", "code", "available"}]`` — the
      active indicator definitions attached to the register, computed by
      `lien.indicators` over the services and the whole months of the period; ``value``
      is the number (int or Decimal), None when there is no data yet or when the small-cell
      protection hides it; ``text`` is what to print ("1 234", "61,3 %", "< 5" when
      `protected` — the default: the summary is for readers outside the structures —,
      "à venir" when its data is not in Lien yet, "—" when nothing can be computed);
    - ``self_assessment``: ``{"level", "level_label", "evidence"}`` or None — from the
      *final* evaluations of the services whose period overlaps (drafts are work in
      progress); several are averaged (level rounded half up) and their evidence joined,
      each line prefixed with its service;
    - ``surveys``: ``[{"audience_label", "responses", "responses_label", "mean",
      "suppressed", "audience"}]`` — one row per audience surveyed in the period (a survey
      open during it, or answers dated in it), over the survey question(s) attached to the
      register; with fewer than 5 answers ``suppressed`` is True and ``mean`` None: print
      ``responses_label`` ("< 5 réponses"), not ``responses``;
    - ``avoided_costs``: ``[{"label", "amount", "assumptions", "quantity",
      "quantity_text", "unit_cost", "basis", "service", "pk"}]`` — from the same final
      evaluations; ``amount`` (Decimal €) is None when its indicator has no data or would
      reveal a small count. Always print ``assumptions`` beside the amount.

    The economic register has no survey question; its avoided costs usually stand there.
    """
    service_ids = _ids(services)
    evaluations = (
        Evaluation.objects.filter(service_id__in=service_ids, state=EvaluationState.FINAL)
        .overlapping(start, end)
        .values("pk")
    )
    return _register_rows(service_ids, start, end, evaluations, protected=protected)


def evaluation_summary(evaluation: Evaluation, *, protected: bool) -> list[dict]:
    """The rows of `utility_summary` for one evaluation, draft or final: its own
    self-assessments and avoided costs, its service's indicators and surveys."""
    return _register_rows(
        [evaluation.service_id],
        evaluation.starts_on,
        evaluation.ends_on,
        Evaluation.objects.filter(pk=evaluation.pk).values("pk"),
        protected=protected,
    )
