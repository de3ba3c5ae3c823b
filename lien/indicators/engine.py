"""Computing figures from the roll-up cubes: measures, perimeters, indicators.

A **measure** is a named sum over one cube (or a count of distinct keys), e.g.
`interventions`, `people_met`, `outreach_hours`, `requests`. A **perimeter** says which
rows a viewer may count and has asked for: months, structures, services, territory,
domains, activities, type of employer. An **indicator** (`IndicatorDefinition`) divides a
filtered measure by another. Every figure is computed from the cubes, never from the facts,
so a dashboard costs a few indexed GROUP BYs whatever the number of interventions.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db.models import Case, Count, Q, Subquery, Sum, Value, When

from lien.core.models import Membership, Role
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
from lien.referentiel.models import (
    ActivityType,
    Domain,
    EmployerType,
    Outcome,
    RequestTheme,
    SituationCategory,
)
from lien.structures.models import Service, Structure
from lien.territories.models import Level, Territory, TerritoryAncestor


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    unit: str
    cube: type | None = None
    column: str = "interventions"
    distinct: bool = False  # count distinct non-zero values of `column`
    divisor: int = 1  # minutes → hours
    base_filters: dict = field(default_factory=dict)
    # Where the figure will come from when it is not the logbook (shown as "à venir").
    source: str = "logbook"


MEASURES: dict[str, Measure] = {
    m.code: m
    for m in [
        Measure("interventions", "Interventions", "interventions", ActivityCube),
        Measure("people_met", "Personnes rencontrées", "personnes", ActivityCube, "people_met"),
        Measure("hours", "Heures d'intervention", "heures", ActivityCube, "minutes", divisor=60),
        Measure(
            "outreach_hours",
            "Heures de présence active de proximité",
            "heures",
            ActivityCube,
            "minutes",
            divisor=60,
            base_filters={"activity": ["presence-active"]},
        ),
        Measure(
            "with_outcome", "Saisies avec une issue", "interventions", ActivityCube, "with_outcome"
        ),
        Measure(
            "emergencies", "Relais vers les secours", "interventions", ActivityCube, "emergencies"
        ),
        Measure(
            "qpv_interventions",
            "Interventions en QPV",
            "interventions",
            ActivityCube,
            base_filters={"in_qpv": True},
        ),
        Measure("qpv_covered", "QPV couverts", "QPV", ActivityCube, "qpv_id", distinct=True),
        Measure(
            "communes_covered",
            "Communes couvertes",
            "communes",
            ActivityCube,
            "commune_id",
            distinct=True,
        ),
        Measure("results", "Interventions (résultats)", "interventions", ResultCube),
        Measure("situations", "Interventions par situation", "interventions", SituationCube),
        Measure("requests", "Demandes", "demandes", RequestCube, "requests"),
        # Records of later capabilities: defined now, computed when their data exists.
        Measure("mediators_in_post", "Médiateurs en poste", "personnes", source="jobs"),
        Measure("fte", "Équivalents temps plein", "ETP", source="jobs"),
        Measure("jobs_created", "Emplois créés et consolidés", "emplois", source="jobs"),
        Measure("positive_exits", "Sorties positives de contrats aidés", "sorties", source="jobs"),
        Measure("aided_exits", "Sorties de contrats aidés", "sorties", source="jobs"),
        Measure("departures", "Départs", "personnes", source="jobs"),
        Measure("training_hours", "Heures de formation", "heures", source="jobs"),
        Measure(
            "practice_review_attendees",
            "Participants à l'analyse de pratiques",
            "personnes",
            source="jobs",
        ),
        Measure(
            "certified_structures", "Structures certifiées AFNOR", "structures", source="structures"
        ),
        Measure("structures", "Structures", "structures", source="structures"),
        Measure("collective_actions", "Actions collectives", "actions", source="followup"),
        Measure(
            "participants", "Participants aux actions collectives", "personnes", source="followup"
        ),
        Measure("referrals", "Mises en relation", "mises en relation", source="followup"),
        Measure(
            "referrals_done", "Mises en relation abouties", "mises en relation", source="followup"
        ),
        Measure(
            "referrals_unanswered",
            "Mises en relation sans réponse",
            "mises en relation",
            source="followup",
        ),
        Measure("partners_mobilised", "Partenaires mobilisés", "partenaires", source="followup"),
        Measure("technical_reports", "Signalements techniques", "signalements", source="followup"),
        Measure(
            "technical_reports_fixed", "Signalements résolus", "signalements", source="followup"
        ),
        Measure("median_fix_days", "Délai médian de résolution", "jours", source="followup"),
        Measure("agreements", "Accords suivis", "accords", source="followup"),
        Measure("agreements_kept", "Accords tenus", "accords", source="followup"),
        Measure("satisfaction", "Satisfaction (enquêtes)", "%", source="utility"),
        Measure("self_assessment", "Auto-évaluation CITER", "note", source="utility"),
    ]
}

#: Filters a measure may take, and the cube column each narrows.
FILTERS = {
    "activity": ("activity_type_id", ActivityType),
    "domain": ("domain_id", Domain),
    "outcome": ("outcome_id", Outcome),
    "situation": ("situation_category_id", SituationCategory),
    "theme": ("theme_id", RequestTheme),
}
EXTRA_FILTERS = {"outcome_family", "timing", "in_qpv", "has_outcome"}


def _cube_has(cube, column: str) -> bool:
    return any(f.name == column for f in cube._meta.fields)


def validate_definition(definition) -> dict[str, list[str]]:
    """Errors of an indicator definition, by field (used by the admin form)."""
    errors: dict[str, list[str]] = defaultdict(list)
    for field_name, filters_name in (
        ("numerator", "numerator_filters"),
        ("denominator", "denominator_filters"),
    ):
        code = getattr(definition, field_name)
        if not code:
            if field_name == "numerator":
                errors[field_name].append("Mesure obligatoire.")
            continue
        measure = MEASURES.get(code)
        if measure is None:
            errors[field_name].append(
                f"Mesure inconnue « {code} ». Mesures possibles : {', '.join(sorted(MEASURES))}."
            )
            continue
        filters = getattr(definition, filters_name) or {}
        if not isinstance(filters, dict):
            errors[filters_name].append("Un objet JSON {filtre: valeurs} est attendu.")
            continue
        for name, value in filters.items():
            if name in FILTERS:
                column, model = FILTERS[name]
                if measure.cube is not None and not _cube_has(measure.cube, column):
                    errors[filters_name].append(
                        f"La mesure « {code} » ne se filtre pas par {name}."
                    )
                known = set(model.objects.filter(code__in=value).values_list("code", flat=True))
                unknown = sorted(set(value) - known)
                if unknown:
                    errors[filters_name].append(
                        f"{name} : code(s) inconnu(s) {', '.join(unknown)}."
                    )
            elif name not in EXTRA_FILTERS:
                errors[filters_name].append(
                    f"Filtre inconnu « {name} » (possibles : "
                    f"{', '.join(sorted([*FILTERS, *EXTRA_FILTERS]))})."
                )
    return dict(errors)


# --- perimeters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Perimeter:
    """Which cube rows a figure counts. `None` means no restriction on that dimension."""

    start: datetime.date  # first month included
    end: datetime.date  # last month included
    structure_ids: tuple | None = None
    service_ids: tuple | None = None
    territory: Territory | None = None
    domains: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    employer_type: str = ""
    # Figures seen from outside the structure(s) counted get small-cell protection.
    protected: bool = True

    def shifted(self, months: int) -> "Perimeter":
        """The same perimeter `months` earlier (for the comparison with the previous period)."""
        return replace(
            self, start=add_months(self.start, -months), end=add_months(self.end, -months)
        )

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


class NoDashboard(Exception):
    """This membership has no dashboard (partners answer referrals, they see no figures)."""


def perimeter_for(membership: Membership, *, start, end, **choices) -> Perimeter:
    """The viewer's own scope, narrowed by what they chose; never wider than their role.

    Mediators and coordinators count their structure (no protection: their own figures);
    funders count the services they commission; steering counts its territory; admins
    count everything. Choices outside the scope narrow to nothing rather than widening.
    """
    role = membership.role if membership else None
    territory = choices.get("territory")
    base = {
        "start": start,
        "end": end,
        "domains": tuple(choices.get("domains") or ()),
        "activities": tuple(choices.get("activities") or ()),
        "employer_type": choices.get("employer_type") or "",
    }
    service_ids = tuple(str(s) for s in choices["services"]) if choices.get("services") else None
    if role in (Role.MEDIATOR, Role.COORDINATOR):
        return Perimeter(
            **base,
            structure_ids=(str(membership.structure_id),),
            service_ids=service_ids,
            territory=territory,
            protected=False,
        )
    if role == Role.FUNDER:
        funded = tuple(
            str(pk)
            for pk in Service.objects.filter(
                commissioning_bodies=membership.organisation_id
            ).values_list("pk", flat=True)
        )
        if service_ids is not None:
            funded = tuple(s for s in funded if s in service_ids)
        return Perimeter(**base, service_ids=funded, territory=territory)
    if role == Role.STEERING:
        scope = membership.territory
        if (
            territory is not None
            and not TerritoryAncestor.objects.filter(ancestor=scope, descendant=territory).exists()
        ):
            territory = None  # outside the steering scope: fall back to the whole scope
        return Perimeter(**base, service_ids=service_ids, territory=territory or scope)
    if role == Role.ADMIN:
        return Perimeter(**base, service_ids=service_ids, territory=territory, protected=False)
    raise NoDashboard()


#: code → id of each référentiel model, per process (ids never change; a new code is
#: picked up at the next miss, and the référentiel's save signal empties it).
_ids_cache: dict = {}


def forget_ids(**kwargs) -> None:
    _ids_cache.clear()


def _codes_to_ids(model, codes) -> list[int]:
    known = _ids_cache.get(model)
    if known is None or any(code not in known for code in codes):
        known = dict(model.objects.values_list("code", "pk"))
        _ids_cache[model] = known
    return [known[code] for code in codes if code in known]


def code_of(model, pk) -> str | None:
    """The code of a référentiel item from its id (for drill-down links)."""
    known = _ids_cache.get(model)
    if known is None or int(pk) not in known.values():
        known = dict(model.objects.values_list("code", "pk"))
        _ids_cache[model] = known
    return next((code for code, value in known.items() if value == int(pk)), None)


def _outcome_ids_of_families(families) -> list[int]:
    key = ("outcome-family", tuple(sorted(families)))
    if key not in _ids_cache:
        _ids_cache[key] = list(
            Outcome.objects.filter(family__in=families).values_list("pk", flat=True)
        )
    return _ids_cache[key]


#: Fine cube → its area cube (same facts, by région and type of employer).
AREA_OF = {
    ActivityCube: AreaActivityCube,
    ResultCube: AreaResultCube,
    SituationCube: AreaSituationCube,
    RequestCube: AreaRequestCube,
}
AREA_CUBES = (*AREA_OF.values(), AreaCoverageCube)


def is_wide(perimeter: Perimeter) -> bool:
    """Every structure of a région or of the country: the area cubes answer."""
    territory = perimeter.territory
    return (
        perimeter.structure_ids is None
        and perimeter.service_ids is None
        and (territory is None or territory.level == Level.REGION)
    )


def _source(measure: Measure, perimeter: Perimeter, filters: dict | None = None, column=None):
    """The cube to read: the area cube for wide perimeters when it has every column the
    question needs, else the measure's own (fine) cube."""
    cube = measure.cube
    if not is_wide(perimeter):
        return cube
    plain = not (perimeter.domains or perimeter.activities or filters or measure.base_filters)
    if measure.distinct or column in ("commune_id", "qpv_id"):
        # Distinct communes / QPV, or interventions by commune or QPV: the coverage cube.
        if not plain or cube is not ActivityCube:
            return cube
        area = AreaCoverageCube
    else:
        area = AREA_OF.get(cube)
    if area is None:
        return cube
    needed = {measure.column} | ({column} if column else set())
    for name in {**measure.base_filters, **(filters or {})}:
        needed.add(
            FILTERS[name][0]
            if name in FILTERS
            else {"in_qpv": "in_qpv", "timing": "timing"}.get(name, "outcome_id")
        )
    return area if all(_cube_has(area, c) for c in needed) else cube


def perimeter_rows(cube, perimeter: Perimeter):
    """The cube rows inside a perimeter (months, structures, services, territory, choices)."""
    qs = cube.objects.filter(month__gte=perimeter.start, month__lte=perimeter.end)
    if cube in AREA_CUBES:
        return _area_rows(qs, cube, perimeter)
    if perimeter.structure_ids is not None:
        qs = qs.filter(structure_id__in=perimeter.structure_ids)
    if perimeter.service_ids is not None:
        qs = qs.filter(service_id__in=perimeter.service_ids)
    if perimeter.employer_type:
        qs = qs.filter(
            structure_id__in=Subquery(
                Structure.objects.filter(employer_type__code=perimeter.employer_type).values("pk")
            )
        )
    if perimeter.territory is not None:
        territory = perimeter.territory
        if territory.level == Level.QPV and _cube_has(cube, "qpv_id"):
            qs = qs.filter(qpv_id=territory.pk)
        else:
            # A QPV on a cube without QPV: the communes it covers (an approximation).
            qs = qs.filter(
                commune_id__in=Subquery(
                    TerritoryAncestor.objects.filter(ancestor=territory).values("descendant_id")
                    if territory.level != Level.QPV
                    else Territory.objects.filter(
                        Q(children=territory) | Q(secondary_children=territory)
                    ).values("pk")
                )
            )
    if perimeter.domains and _cube_has(cube, "domain_id"):
        qs = qs.filter(domain_id__in=_codes_to_ids(Domain, perimeter.domains))
    if perimeter.activities and _cube_has(cube, "activity_type_id"):
        qs = qs.filter(activity_type_id__in=_codes_to_ids(ActivityType, perimeter.activities))
    return qs


def _area_rows(qs, cube, perimeter: Perimeter):
    if perimeter.territory is not None:
        qs = qs.filter(region_id=perimeter.territory.pk)
    if perimeter.employer_type:
        qs = qs.filter(employer_type_id__in=_codes_to_ids(EmployerType, [perimeter.employer_type]))
    if perimeter.domains and _cube_has(cube, "domain_id"):
        qs = qs.filter(domain_id__in=_codes_to_ids(Domain, perimeter.domains))
    if perimeter.activities and _cube_has(cube, "activity_type_id"):
        qs = qs.filter(activity_type_id__in=_codes_to_ids(ActivityType, perimeter.activities))
    return qs


def _filters_q(measure: Measure, filters: dict, cube=None) -> Q:
    """The condition a measure's own filters (and a definition's) put on its cube rows."""
    area = cube in AREA_OF.values()
    q = Q()
    for name, value in {**measure.base_filters, **(filters or {})}.items():
        if name in FILTERS:
            column, model = FILTERS[name]
            q &= Q(**{f"{column}__in": _codes_to_ids(model, value)})
        elif name == "outcome_family":
            q &= Q(outcome_id__in=_outcome_ids_of_families(value))
        elif name == "has_outcome":
            q &= ~Q(outcome_id=0) if value else Q(outcome_id=0)
        elif name == "timing":
            q &= Q(timing__in=value)
        elif name == "in_qpv" and area:
            q &= Q(in_qpv=1 if value else 0)
        elif name == "in_qpv":
            q &= ~Q(qpv_id=0) if value else Q(qpv_id=0)
    return q


def _rows(measure: Measure, filters: dict, perimeter: Perimeter, column=None):
    """The cube rows a measure sums, for a perimeter and extra filters (from the area cube
    when the perimeter is wide and the question allows it)."""
    cube = _source(measure, perimeter, filters, column)
    return perimeter_rows(cube, perimeter).filter(_filters_q(measure, filters, cube))


def _aggregate(measure: Measure):
    if measure.distinct:
        return Count(measure.column, distinct=True, filter=~Q(**{measure.column: 0}))
    return Sum(measure.column)


def _scaled(measure: Measure, value) -> Decimal | int:
    value = value or 0
    if measure.divisor != 1:
        return (Decimal(value) / measure.divisor).quantize(Decimal("0.1"))
    return value


def measure_value(code: str, perimeter: Perimeter, filters: dict | None = None):
    """A measure's total over the perimeter, or None when its data is not in Lien yet."""
    measure = MEASURES[code]
    if measure.cube is None:
        return _external_value(measure, perimeter)
    total = _rows(measure, filters or {}, perimeter).aggregate(v=_aggregate(measure))["v"]
    return _scaled(measure, total)


def measure_values(requests, perimeter: Perimeter) -> dict:
    """Several measures at once: one aggregate query per cube, whatever their number.

    `requests` is an iterable of (code, filters); the answer maps `(code, key(filters))` —
    see `request_key` — to the value (None when the data is not in Lien yet).
    """
    by_cube: dict = defaultdict(dict)
    out: dict = {}
    followup = {code for code, _ in requests if MEASURES[code].source == "followup"}
    known = _followup_values(followup, perimeter) if followup else {}
    jobs = {code for code, _ in requests if MEASURES[code].source == "jobs"}
    if jobs:
        known.update(_jobs_values(jobs, perimeter))
    for code, filters in requests:
        measure = MEASURES[code]
        key = request_key(code, filters)
        if code in known:
            out[key] = known[code]
            continue
        if measure.cube is None:
            out[key] = _external_value(measure, perimeter)
            continue
        cube = _source(measure, perimeter, filters)
        condition = _filters_q(measure, filters or {}, cube)
        if measure.distinct:
            aggregate = Count(
                measure.column, distinct=True, filter=condition & ~Q(**{measure.column: 0})
            )
        else:
            aggregate = Sum(measure.column, filter=condition) if condition else Sum(measure.column)
        by_cube[cube][key] = (measure, aggregate)
    for cube, wanted in by_cube.items():
        aliases = {f"v{i}": key for i, key in enumerate(wanted)}
        values = perimeter_rows(cube, perimeter).aggregate(
            **{alias: wanted[key][1] for alias, key in aliases.items()}
        )
        for alias, key in aliases.items():
            out[key] = _scaled(wanted[key][0], values[alias])
    return out


def request_key(code: str, filters: dict | None) -> tuple:
    return (code, tuple(sorted((k, str(v)) for k, v in (filters or {}).items())))


def _external_value(measure: Measure, perimeter: Perimeter):
    if measure.code in ("structures", "certified_structures"):
        qs = Structure.objects.filter(is_active=True)
        if perimeter.structure_ids is not None:
            qs = qs.filter(pk__in=perimeter.structure_ids)
        if perimeter.service_ids is not None:
            qs = qs.filter(services__in=perimeter.service_ids)
        if perimeter.territory is not None:
            qs = qs.filter(commune__ancestor_links__ancestor=perimeter.territory)
        if perimeter.employer_type:
            qs = qs.filter(employer_type__code=perimeter.employer_type)
        if measure.code == "certified_structures":
            qs = qs.filter(afnor_status="certified")
        return qs.distinct().count()
    if measure.source == "followup":
        return _followup_values({measure.code}, perimeter)[measure.code]
    if measure.source == "jobs":
        return _jobs_values({measure.code}, perimeter).get(measure.code)
    return None


def _jobs_values(codes: set[str], perimeter: Perimeter) -> dict:
    """The jobs measures (lien.jobs.queries) over the perimeter's days. Headcounts are taken
    on the last day of the period. An activity filter does not apply to jobs."""
    from lien.jobs.queries import JobScope, jobs_values

    start, end = _bounds(perimeter, aware=False)
    scope = JobScope(
        structure_ids=perimeter.structure_ids,
        service_ids=perimeter.service_ids,
        territory_id=perimeter.territory.pk if perimeter.territory is not None else None,
        employer_type=perimeter.employer_type,
        domains=perimeter.domains,
    )
    return jobs_values(codes, scope, start, end - datetime.timedelta(days=1))


def _bounds(perimeter: Perimeter, aware: bool):
    """[first day, day after the last month) of a perimeter, as dates or aware datetimes."""
    from django.utils import timezone

    start, end = perimeter.start, add_months(perimeter.end, 1)
    if not aware:
        return start, end
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime(start.year, start.month, 1, tzinfo=tz),
        datetime.datetime(end.year, end.month, 1, tzinfo=tz),
    )


def _scoped(qs, perimeter: Perimeter, *, has_qpv: bool, structure_path="structure"):
    if perimeter.structure_ids is not None:
        qs = qs.filter(**{f"{structure_path}_id__in": perimeter.structure_ids})
    if perimeter.service_ids is not None:
        service_path = structure_path.replace("structure", "service")
        qs = qs.filter(**{f"{service_path}_id__in": perimeter.service_ids})
    if perimeter.employer_type:
        qs = qs.filter(**{f"{structure_path}__employer_type__code": perimeter.employer_type})
    territory = perimeter.territory
    if territory is not None:
        prefix = structure_path.rsplit("__", 1)[0] + "__" if "__" in structure_path else ""
        if territory.level == Level.QPV and has_qpv:
            qs = qs.filter(**{f"{prefix}qpv": territory})
        elif territory.level == Level.QPV:
            qs = qs.filter(
                Q(**{f"{prefix}commune__children": territory})
                | Q(**{f"{prefix}commune__secondary_children": territory})
            ).distinct()
        else:
            qs = qs.filter(**{f"{prefix}commune__ancestor_links__ancestor": territory})
    return qs


def _followup_values(codes: set[str], perimeter: Perimeter) -> dict:
    """Several follow-up measures with one query per table (the median apart)."""
    from lien.followup.models import Referral, ReferralResult, ReferralStatus, TechnicalReport
    from lien.followup.models import ReportStatus as RS

    out = {}
    wanted = codes & {"referrals", "referrals_done", "referrals_unanswered", "partners_mobilised"}
    if wanted:
        start, end = _bounds(perimeter, aware=True)
        qs = _scoped(
            Referral.objects.filter(sent_at__gte=start, sent_at__lt=end), perimeter, has_qpv=False
        )
        done = Q(
            status=ReferralStatus.DONE, result__in=[ReferralResult.SOLVED, ReferralResult.PARTLY]
        )
        unanswered = Q(
            status__in=[ReferralStatus.SENT, ReferralStatus.SEEN, ReferralStatus.EXPIRED],
            answered_at__isnull=True,
        )
        values = qs.aggregate(
            referrals=Count("pk"),
            referrals_done=Count("pk", filter=done),
            referrals_unanswered=Count("pk", filter=unanswered),
            partners_mobilised=Count("partner", distinct=True),
        )
        out.update({code: values[code] for code in wanted})
    wanted = codes & {"technical_reports", "technical_reports_fixed"}
    if wanted:
        start, end = _bounds(perimeter, aware=True)
        qs = _scoped(
            TechnicalReport.objects.filter(reported_at__gte=start, reported_at__lt=end),
            perimeter,
            has_qpv=True,
        )
        values = qs.aggregate(
            technical_reports=Count("pk"),
            technical_reports_fixed=Count("pk", filter=Q(status=RS.RESOLVED)),
        )
        out.update({code: values[code] for code in wanted})
    wanted = codes & {"collective_actions", "participants"}
    if wanted:
        from lien.followup.models import CollectiveAction

        start, end = _bounds(perimeter, aware=False)
        values = _scoped(
            CollectiveAction.objects.filter(held_on__gte=start, held_on__lt=end),
            perimeter,
            has_qpv=True,
        ).aggregate(
            collective_actions=Count("pk"),
            r=Sum("residents"),
            y=Sum("young_people"),
            p=Sum("professionals"),
            i=Sum("institutions"),
        )
        values["participants"] = sum(values[k] or 0 for k in "rypi")
        out.update({code: values[code] for code in wanted})
    wanted = codes & {"agreements", "agreements_kept"}
    if wanted:
        from lien.followup.models import Agreement

        start, end = _bounds(perimeter, aware=False)
        values = _scoped(
            Agreement.objects.filter(
                reviewed_on__gte=start, reviewed_on__lt=end, held__isnull=False
            ),
            perimeter,
            has_qpv=True,
            structure_path="situation__structure",
        ).aggregate(agreements=Count("pk"), agreements_kept=Count("pk", filter=Q(held=True)))
        out.update({code: values[code] for code in wanted})
    if "median_fix_days" in codes:
        out["median_fix_days"] = _median_fix_days(perimeter)
    return out


def _median_fix_days(perimeter: Perimeter):
    """Median days from report to resolution, None when nothing was resolved."""
    import statistics

    from lien.followup.models import ReportStatus, TechnicalReport

    start, end = _bounds(perimeter, aware=True)
    resolved = _scoped(
        TechnicalReport.objects.filter(
            reported_at__gte=start, reported_at__lt=end, status=ReportStatus.RESOLVED
        ),
        perimeter,
        has_qpv=True,
    )
    durations = [
        (closed - reported).total_seconds() / 86400
        for reported, closed in resolved.values_list("reported_at", "closed_at")
        if closed is not None
    ]
    if not durations:
        return None
    return Decimal(str(statistics.median(durations))).quantize(Decimal("0.1"))


def series(code: str, perimeter: Perimeter, filters: dict | None = None) -> list[tuple]:
    """(month, value) for every month of the perimeter (months without data give 0)."""
    measure = MEASURES[code]
    if measure.cube is None:
        return []
    rows = dict(
        _rows(measure, filters or {}, perimeter)
        .values("month")
        .annotate(v=_aggregate(measure))
        .values_list("month", "v")
    )
    out, month = [], perimeter.start
    while month <= perimeter.end:
        out.append((month, _scaled(measure, rows.get(month, 0))))
        month = add_months(month, 1)
    return out


DIMENSIONS = {
    "activity": ("activity_type_id", ActivityType),
    "domain": ("domain_id", Domain),
    "outcome": ("outcome_id", Outcome),
    "situation": ("situation_category_id", SituationCategory),
    "theme": ("theme_id", RequestTheme),
    "commune": ("commune_id", Territory),
    "qpv": ("qpv_id", Territory),
    "service": ("service_id", Service),
    "structure": ("structure_id", Structure),
    "timing": ("timing", None),
}


def breakdown(
    code: str, dimension: str, perimeter: Perimeter, filters: dict | None = None
) -> list[tuple[str, str, object]]:
    """(key, label, value) by one dimension, largest first; labels from the référentiel."""
    measure = MEASURES[code]
    column, model = DIMENSIONS[dimension]
    if measure.cube is None or not _cube_has(measure.cube, column):
        return []
    rows = (
        _rows(measure, filters or {}, perimeter, column)
        .values(column)
        .annotate(v=_aggregate(measure))
        .values_list(column, "v")
    )
    values = {key: value for key, value in rows if value}
    labels = _labels(model, column, values)
    result = [
        (
            str(key),
            labels.get(key, "Non renseigné" if key in (0, "") else str(key)),
            _scaled(measure, v),
        )
        for key, v in values.items()
    ]
    return sorted(result, key=lambda item: (-float(item[2]), item[1]))


def breakdown_pair(
    code: str, dimension: str, perimeter: Perimeter, previous: Perimeter, filters=None
) -> tuple[list, list]:
    """`breakdown` for a perimeter and for the period just before it, in one query."""
    if not _follows(previous, perimeter):
        return (
            breakdown(code, dimension, perimeter, filters),
            breakdown(code, dimension, previous, filters),
        )
    measure = MEASURES[code]
    column, model = DIMENSIONS[dimension]
    if measure.cube is None or not _cube_has(measure.cube, column):
        return [], []
    both = replace(perimeter, start=previous.start)
    current = Case(When(month__gte=perimeter.start, then=Value(1)), default=Value(0))
    rows = (
        _rows(measure, filters or {}, both, column)
        .annotate(k_current=current)
        .values(column, "k_current")
        .annotate(v=_aggregate(measure))
        .values_list(column, "k_current", "v")
    )
    values: dict[int, dict] = {1: {}, 0: {}}
    for key, is_current, value in rows:
        if value:
            values[is_current][key] = value
    labels = _labels(model, column, {**values[0], **values[1]})

    def items(found):
        result = [
            (
                str(key),
                labels.get(key, "Non renseigné" if key in (0, "") else str(key)),
                _scaled(measure, v),
            )
            for key, v in found.items()
        ]
        return sorted(result, key=lambda item: (-float(item[2]), item[1]))

    return items(values[1]), items(values[0])


def _follows(previous: Perimeter, perimeter: Perimeter) -> bool:
    """Same perimeter, the months just before: one query can answer both."""
    return (
        replace(previous, start=perimeter.start, end=perimeter.end) == perimeter
        and add_months(previous.end, 1) == perimeter.start
    )


def measure_values_pair(requests, perimeter: Perimeter, previous: Perimeter):
    """`measure_values` for a perimeter and for the period just before it: one aggregate
    query per cube for both (each sum filtered by its months)."""
    requests = list(requests)
    if not _follows(previous, perimeter):
        return measure_values(requests, perimeter), measure_values(requests, previous)
    cube_requests = [(c, f) for c, f in requests if MEASURES[c].cube is not None]
    other = [(c, f) for c, f in requests if MEASURES[c].cube is None]
    now = measure_values(other, perimeter) if other else {}
    before = measure_values(other, previous) if other else {}
    both = replace(perimeter, start=previous.start)
    by_cube: dict = defaultdict(dict)
    for code, filters in cube_requests:
        measure = MEASURES[code]
        cube = _source(measure, both, filters)
        condition = _filters_q(measure, filters or {}, cube)
        for label, months in (
            ("now", Q(month__gte=perimeter.start)),
            ("before", Q(month__lt=perimeter.start)),
        ):
            if measure.distinct:
                aggregate = Count(
                    measure.column,
                    distinct=True,
                    filter=condition & months & ~Q(**{measure.column: 0}),
                )
            else:
                aggregate = Sum(measure.column, filter=condition & months)
            by_cube[cube][(label, request_key(code, filters))] = (measure, aggregate)
    for cube, wanted in by_cube.items():
        aliases = {f"v{i}": key for i, key in enumerate(wanted)}
        values = perimeter_rows(cube, both).aggregate(
            **{alias: wanted[key][1] for alias, key in aliases.items()}
        )
        for alias, (label, key) in aliases.items():
            target = now if label == "now" else before
            target[key] = _scaled(wanted[(label, key)][0], values[alias])
    return now, before


def _labels(model, column, values) -> dict:
    if column == "timing":
        from lien.logbook.models import Timing

        return {k: Timing(k).label for k in values if k}
    if model is None:
        return {}
    keys = [k for k in values if k not in (0, "")]
    if model is Service or model is Structure:
        return {obj.pk: obj.name for obj in model.objects.filter(pk__in=keys)}
    if model is Territory:
        return {obj.pk: obj.name for obj in Territory.objects.filter(pk__in=keys)}
    return {obj.pk: obj.label for obj in model.objects.filter(pk__in=keys)}


def children_of(territory: Territory | None) -> list[Territory]:
    """The next level down for drilling: régions → départements → EPCI → communes → QPV."""
    if territory is None:
        return list(Territory.objects.filter(level=Level.REGION))
    return list(
        Territory.objects.filter(Q(parent=territory) | Q(secondary_parents=territory))
        .distinct()
        .order_by("name")
    )


def by_child_territory(code: str, perimeter: Perimeter, filters: dict | None = None):
    """(territory, value) for each child of the perimeter's territory, in two queries."""
    measure = MEASURES[code]
    children = children_of(perimeter.territory)
    if measure.cube is None or not children:
        return []
    if children[0].level == Level.QPV:
        if not _cube_has(measure.cube, "qpv_id"):
            return []
        per_qpv = dict(
            _rows(measure, filters or {}, perimeter)
            .values("qpv_id")
            .annotate(v=_aggregate(measure))
            .values_list("qpv_id", "v")
        )
        return [(child, _scaled(measure, per_qpv.get(child.pk, 0))) for child in children]
    column = "commune_id"
    if children[0].level == Level.REGION and is_wide(perimeter):
        column = "region_id"  # the country, région by région
    rows = _rows(measure, filters or {}, perimeter, column)  # `_source` picks the cube
    per_commune = dict(rows.values(column).annotate(v=_aggregate(measure)).values_list(column, "v"))
    links = TerritoryAncestor.objects.filter(
        ancestor__in=children, descendant_id__in=[k for k, v in per_commune.items() if v]
    ).values_list("ancestor_id", "descendant_id")
    totals: dict[int, int] = defaultdict(int)
    for ancestor_id, descendant_id in links:
        totals[ancestor_id] += per_commune.get(descendant_id, 0) or 0
    return [(child, _scaled(measure, totals.get(child.pk, 0))) for child in children]


@dataclass(frozen=True)
class IndicatorValue:
    value: Decimal | int | None
    numerator: Decimal | int | None
    denominator: Decimal | int | None

    @property
    def available(self) -> bool:
        return self.value is not None


def indicator_value(definition, perimeter: Perimeter) -> IndicatorValue:
    """numerator × scale / denominator (or the numerator alone), None when unavailable."""
    numerator = measure_value(definition.numerator, perimeter, definition.numerator_filters)
    if not definition.denominator:
        return IndicatorValue(numerator, numerator, None)
    denominator = measure_value(definition.denominator, perimeter, definition.denominator_filters)
    return _ratio(definition, numerator, denominator)


def indicator_values(definitions, perimeter: Perimeter) -> dict[str, IndicatorValue]:
    """`indicator_value` for many definitions, with one aggregate query per cube."""
    definitions = list(definitions)
    wanted = []
    for definition in definitions:
        wanted.append((definition.numerator, definition.numerator_filters))
        if definition.denominator:
            wanted.append((definition.denominator, definition.denominator_filters))
    values = measure_values(wanted, perimeter)
    out = {}
    for definition in definitions:
        numerator = values[request_key(definition.numerator, definition.numerator_filters)]
        if not definition.denominator:
            out[definition.code] = IndicatorValue(numerator, numerator, None)
            continue
        denominator = values[request_key(definition.denominator, definition.denominator_filters)]
        out[definition.code] = _ratio(definition, numerator, denominator)
    return out


def _ratio(definition, numerator, denominator) -> IndicatorValue:
    if numerator is None or denominator is None or not denominator:
        return IndicatorValue(None, numerator, denominator)
    value = (Decimal(numerator) * definition.scale / Decimal(denominator)).quantize(Decimal("0.1"))
    return IndicatorValue(value, numerator, denominator)
