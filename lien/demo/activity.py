"""Months of plausible field activity for the demo structures (interventions and shifts).

Written in bulk for speed (tens of thousands of rows), with one journal line for the load:
this is generated demonstration data, not a person's input.
"""

import datetime
import random
import uuid
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lien.core import audit
from lien.core.models import AuditAction, Membership, Role
from lien.indicators import rollups
from lien.logbook.models import AccessRequest, Intervention, Shift, Source
from lien.referentiel.models import (
    ActivityType,
    Outcome,
    PlaceType,
    RequestTheme,
    SituationCategory,
)
from lien.structures.models import Service, Structure
from lien.territories.models import Territory

# Relative weights of activities by domain (what mediators of each field mostly do).
ACTIVITY_WEIGHTS = {
    "espaces-publics": {
        "presence-active": 50,
        "gestion-conflits": 20,
        "veille-sociale": 8,
        "mise-en-relation": 8,
        "veille-technique": 8,
        "concertation": 3,
        "sensibilisation": 3,
    },
    "habitat-social": {
        "presence-active": 30,
        "gestion-conflits": 30,
        "veille-technique": 15,
        "mise-en-relation": 12,
        "concertation": 5,
        "veille-sociale": 8,
    },
    "milieu-scolaire": {
        "presence-active": 25,
        "gestion-conflits": 30,
        "sensibilisation": 20,
        "mise-en-relation": 10,
        "intermediation-culturelle": 10,
        "concertation": 5,
    },
    "services-publics": {
        "mise-en-relation": 55,
        "intermediation-culturelle": 15,
        "presence-active": 10,
        "sensibilisation": 10,
        "gestion-conflits": 5,
        "gestion-projets": 5,
    },
    "transports": {
        "presence-active": 55,
        "gestion-conflits": 30,
        "veille-technique": 10,
        "sensibilisation": 5,
    },
}
SITUATIONS = {
    "espaces-publics": [
        "regroupements",
        "nuisances-sonores",
        "conflit-usage",
        "degradations",
        "insultes-menaces",
        "isolement",
    ],
    "habitat-social": [
        "conflit-voisinage",
        "nuisances-sonores",
        "impayes-loyer",
        "degradations",
        "conflit-usage",
    ],
    "milieu-scolaire": [
        "climat-scolaire",
        "decrochage-scolaire",
        "insultes-menaces",
        "conflit-usage",
    ],
    "services-publics": [
        "acces-droits",
        "illectronisme",
        "difficulte-paiement",
        "tension-usager-institution",
        "isolement",
    ],
    "transports": [
        "incivilite-transport",
        "insultes-menaces",
        "regroupements",
        "tension-usager-institution",
    ],
}
PLACES = {
    "espaces-publics": ["espace-public", "parc", "commerce", "evenement"],
    "habitat-social": ["hall-immeuble", "logement", "espace-public"],
    "milieu-scolaire": ["etablissement-scolaire"],
    "services-publics": ["local-permanence", "telephone", "equipement-public"],
    "transports": ["transport-vehicule", "transport-station"],
}
OUTCOME_WEIGHTS = {
    "apaise-resolu": 30,
    "accord-obtenu": 8,
    "partiellement-resolu": 12,
    "non-resolu": 6,
    "refus-mediation": 3,
    "retrait-partie": 2,
    "oriente-partenaire": 12,
    "information-donnee": 18,
    "relais-secours": 1,
    "suivi-en-cours": 6,
    "sans-objet": 2,
}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _working_days(start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
    day = start
    while day <= end:
        if day.weekday() < 5 or (day.weekday() == 5 and day.day % 2 == 0):
            yield day
        day += datetime.timedelta(days=1)


def _places_of(service: Service) -> tuple[list[Territory], dict[int, list[Territory]]]:
    territories = list(service.territories.all())
    communes = list(
        Territory.objects.communes()
        .filter(
            Q(ancestor_links__ancestor__in=territories)
            | Q(children__in=territories)
            | Q(pk=service.structure.commune_id)
        )
        .distinct()
    )
    qpvs: dict[int, list[Territory]] = {}
    for qpv in (
        Territory.objects.qpvs()
        .filter(Q(parent__in=communes) | Q(secondary_parents__in=communes))
        .distinct()
    ):
        qpvs.setdefault(qpv.parent_id, []).append(qpv)
    return communes, qpvs


@transaction.atomic
def demo_activity(*, months: int = 6, per_day: float = 4.0, seed: int = 2026) -> int:
    """Generate interventions for every demo structure that has none yet; returns the count."""
    rng = random.Random(seed)
    vocab = {
        "activity": {a.code: a for a in ActivityType.objects.all()},
        "situation": {s.code: s for s in SituationCategory.objects.all()},
        "outcome": {o.code: o for o in Outcome.objects.all()},
        "place": {p.code: p for p in PlaceType.objects.all()},
        "theme": list(RequestTheme.objects.all()),
    }
    today = timezone.localdate()
    start = today - datetime.timedelta(days=30 * months)
    total = 0
    for structure in Structure.objects.filter(interventions__isnull=True).distinct():
        total += _structure_activity(structure, start, today, per_day, rng, vocab)
        _structure_shifts(structure, today, rng)
    if total:
        # Generated in bulk, so the roll-ups are recomputed once rather than row by row.
        rollups.rebuild()
        audit.record(
            action=AuditAction.LOAD,
            note=f"Démonstration : {total} interventions générées sur {months} mois",
        )
    return total


def _structure_activity(structure, start, end, per_day, rng, vocab) -> int:
    services = list(structure.services.filter(is_active=True).prefetch_related("domains"))
    mediators = [
        m.user
        for m in Membership.objects.filter(
            structure=structure, role=Role.MEDIATOR, is_active=True
        ).select_related("user")
    ]
    if not services or not mediators:
        return 0
    places = {service.pk: _places_of(service) for service in services}
    tz = timezone.get_current_timezone()
    interventions, pairs, requests = [], [], []
    for day in _working_days(start, end):
        for mediator in mediators:
            for _ in range(max(0, round(rng.gauss(per_day, 1.5)))):
                service = rng.choice(services)
                domain = rng.choice(list(service.domains.all()))
                communes, qpvs = places[service.pk]
                if not communes:
                    continue
                commune = rng.choice(communes)
                qpv = (
                    rng.choice(qpvs[commune.pk])
                    if qpvs.get(commune.pk) and rng.random() < 0.6
                    else None
                )
                activity = vocab["activity"][_weighted(rng, ACTIVITY_WEIGHTS[domain.code])]
                fields = set(activity.entry_fields)
                hour = rng.choice([9, 10, 11, 14, 15, 16, 17, 18, 19, 20])
                started = datetime.datetime.combine(
                    day, datetime.time(hour, rng.randrange(0, 60, 5)), tzinfo=tz
                )
                if started > timezone.now():
                    continue
                intervention = Intervention(
                    id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    structure=structure,
                    service=service,
                    author=mediator,
                    started_at=started,
                    duration_minutes=rng.choice([5, 10, 15, 20, 30, 45, 60]),
                    commune=commune,
                    qpv=qpv,
                    place_type=vocab["place"][rng.choice(PLACES[domain.code])],
                    activity_type=activity,
                    domain=domain,
                    situation_category=(
                        vocab["situation"][rng.choice(SITUATIONS[domain.code])]
                        if "situation_category" in fields and rng.random() < 0.8
                        else None
                    ),
                    origin=rng.choices(
                        ["patrol", "resident", "partner", "commissioner"], weights=[55, 30, 10, 5]
                    )[0],
                    timing=(
                        rng.choices(["real_time", "deferred"], weights=[75, 25])[0]
                        if "timing" in fields
                        else ""
                    ),
                    form=(
                        rng.choices(
                            ["individual", "collective", "shuttle", "round_table"],
                            weights=[60, 25, 10, 5],
                        )[0]
                        if "form" in fields
                        else ""
                    ),
                    people_met=max(0, int(rng.expovariate(1 / 2.5)))
                    + (1 if rng.random() < 0.9 else 0),
                    outcome=(
                        vocab["outcome"][_weighted(rng, OUTCOME_WEIGHTS)]
                        if "outcome" in fields
                        else None
                    ),
                    emergency_handoff=(
                        rng.choice(["emergency", "police"])
                        if "emergency_handoff" in fields and rng.random() < 0.01
                        else ""
                    ),
                    source=rng.choices([Source.WEB, Source.OFFLINE], weights=[70, 30])[0],
                    created_at=started + datetime.timedelta(minutes=rng.randint(1, 240)),
                    updated_at=started + datetime.timedelta(minutes=rng.randint(1, 240)),
                )
                interventions.append(intervention)
                partner = rng.choice(mediators)
                pairs.append((intervention.pk, mediator.pk))
                if partner.pk != mediator.pk and rng.random() < 0.7:
                    pairs.append((intervention.pk, partner.pk))
                if "access_requests" in fields and rng.random() < 0.7:
                    for theme in rng.sample(vocab["theme"], rng.choice([1, 1, 1, 2, 3])):
                        requests.append(
                            AccessRequest(
                                intervention_id=intervention.pk,
                                theme=theme,
                                count=rng.choice([1, 1, 1, 2]),
                            )
                        )
    Intervention.objects.bulk_create(interventions, batch_size=2000)
    through = Intervention.mediators.through
    through.objects.bulk_create(
        [through(intervention_id=i, user_id=u) for i, u in pairs], batch_size=5000
    )
    AccessRequest.objects.bulk_create(requests, batch_size=5000)
    return len(interventions)


def _structure_shifts(structure, today, rng) -> None:
    services = list(structure.services.filter(is_active=True))
    mediators = [
        m.user
        for m in Membership.objects.filter(structure=structure, role=Role.MEDIATOR)
        .select_related("user")
        .order_by("created_at")
    ]
    if not services or len(mediators) < 2:
        return
    tz = timezone.get_current_timezone()
    for offset in range(8):
        day = today + datetime.timedelta(days=offset)
        for slot, (hour, hours) in enumerate([(9, 3), (14, 4)]):
            service = services[(offset + slot) % len(services)]
            communes, _ = _places_of(service)
            if not communes:
                continue
            start = datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz)
            shift = Shift.objects.create(
                structure=structure,
                service=service,
                kind="patrol"
                if slot == 1 or "permanence" not in service.name.lower()
                else "permanence",
                starts_at=start,
                ends_at=start + datetime.timedelta(hours=hours),
                commune=communes[0],
                place_label=f"Secteur {communes[0].name}",
            )
            # The first mediator (the fixed demo account when it is in this team) patrols daily.
            pair = [mediators[-1], rng.choice(mediators[:-1])] if slot else rng.sample(mediators, 2)
            shift.mediators.set(pair)
