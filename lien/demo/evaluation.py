"""Evaluations of social utility for the demonstration.

For "Trait d'Union Médiation" (Roubaix), through the evaluation services: a final
evaluation of its first service over the last six whole months (a self-assessment on each
CITER register, an avoided cost computed from the real-time conflicts indicator and one
typed by hand), a draft for the current semester, a residents' survey with enough answers
to show its results and a partners' survey with too few (shown "< 5 réponses"), still open
so that its public link can be tried. Re-running
adds nothing.
"""

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.demo.builder import demo_email
from lien.evaluation import services
from lien.evaluation.models import QUESTION_FIELDS, Evaluation, EvaluationState
from lien.indicators.models import IndicatorDefinition
from lien.referentiel.models import UtilityRegister

EVIDENCE = {
    "cohesion-sociale": (3, "Fêtes de voisins co-organisées dans trois résidences ; "
                         "permanences d'accès aux droits chaque semaine."),
    "tranquillite-publique": (3, "Conflits de voisinage traités en temps réel pour la plupart ; "
                              "baisse des plaintes signalée par le bailleur."),
    "innovation-apprentissage": (2, "Médiation en binôme avec le collège à l'essai ; "
                                 "à consolider."),
    "contribution-economique": (2, "Coûts évités estimés avec des hypothèses prudentes "
                                "(voir ci-dessous)."),
    "reconnaissance": (4, "Médiateur·rices identifié·es par les habitants et les partenaires ; "
                       "deux titres professionnels obtenus."),
}  # fmt: skip
COMMENTS = [
    "Présence rassurante le soir.",
    "Plus de permanences le samedi seraient utiles.",
    "",
    "Ils ont aidé à régler le conflit de parking.",
    "",
]


def _months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


@transaction.atomic
def demo_evaluation(seed: int = 2026) -> int:
    """Create the evaluation demo records once; returns how many evaluations were created."""
    coordinator = Membership.objects.select_related("structure").get(
        user__email=demo_email("coordination"), role=Role.COORDINATOR
    )
    structure = coordinator.structure
    if Evaluation.objects.filter(service__structure=structure).exists():
        return 0
    service = structure.services.order_by("name").first()
    if service is None:
        return 0
    rng = random.Random(seed)
    this_month = timezone.localdate().replace(day=1)
    start, end = _months(this_month, -6), this_month - datetime.timedelta(days=1)

    final = services.evaluation_create(
        actor=coordinator, service=service, data={"starts_on": start, "ends_on": end}
    )
    registers = {r.code: r for r in UtilityRegister.objects.all()}
    services.evaluation_assess(
        actor=coordinator,
        evaluation=final,
        assessments={registers[c]: v for c, v in EVIDENCE.items() if c in registers},
    )
    economic = registers.get("contribution-economique")
    conflicts = IndicatorDefinition.objects.filter(code="conflits-temps-reel").first()
    if economic is not None and conflicts is not None:
        services.avoided_cost_create(
            actor=coordinator,
            evaluation=final,
            data={
                "register": economic,
                "label": "Interventions de police ou de secours évitées",
                "unit_cost": Decimal("250"),
                "indicator": conflicts,
                "assumptions": "Hypothèse basse : un conflit sur dix apaisé en temps réel aurait "
                "donné lieu à un déplacement d'équipage (coût moyen 2 500 €, soit 250 € par "
                "conflit). Ordre de grandeur, pas une mesure.",
            },
        )
    if economic is not None:
        services.avoided_cost_create(
            actor=coordinator,
            evaluation=final,
            data={
                "register": economic,
                "label": "Dégradations évitées dans les halls",
                "unit_cost": Decimal("180"),
                "manual_quantity": Decimal("12"),
                "assumptions": "12 réparations de moins que l'an passé selon le bailleur ; coût "
                "moyen d'une réparation déclaré par le bailleur (180 €). Autres causes possibles.",
            },
        )
    services.evaluation_update(
        actor=coordinator, evaluation=final, data={"state": EvaluationState.FINAL}
    )
    services.evaluation_create(
        actor=coordinator,
        service=service,
        data={"starts_on": this_month, "ends_on": _months(this_month, 6) - datetime.timedelta(1)},
    )

    residents = services.survey_create(
        actor=coordinator,
        service=service,
        data={"audience": "residents", "title": "Votre avis sur la médiation dans le quartier",
              "opens_on": start, "closes_on": end},
    )  # fmt: skip
    partners = services.survey_create(
        actor=coordinator,
        service=service,
        data={"audience": "partners", "title": "Enquête auprès des partenaires",
              "opens_on": start,
              "closes_on": _months(this_month, 1)},
    )  # fmt: skip
    days = (end - start).days
    for survey, count in ((residents, 23), (partners, 3)):
        for i in range(count):
            answers = {name: rng.choice([3, 4, 4, 5, 5]) for name in QUESTION_FIELDS}
            answers["comment"] = COMMENTS[i % len(COMMENTS)]
            services.survey_answer(
                survey=survey,
                answers=answers,
                today=start + datetime.timedelta(days=rng.randint(0, days)),
            )
    return 2
