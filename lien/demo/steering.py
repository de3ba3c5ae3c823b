"""Regional steering for the demonstration: jobs in every demo structure, the 2013–2015
Nord-Pas de Calais framework agreement of the seeds (3,000 jobs) and a current regional plan
with its experiments, steering meetings and decisions.

Jobs are written through the jobs services as the demo administrator (journaled like real
ones). Each structure other than "Trait d'Union" (lien.demo.jobs) gets one post per
mediator of its team, hired between 2023 and last month: adulte-relais, PEC or CDI, some
aided contracts turned into CDI and some posts funded at the pérennisation stage, so the job
observatory has jobs created and consolidated to count. Re-running adds nothing.
"""

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.demo.builder import demo_email
from lien.demo.jobs import _months, _org
from lien.indicators.models import IndicatorDefinition
from lien.jobs import services as jobs
from lien.jobs.models import Post
from lien.referentiel.models import ContractType, FundingProgram, ProjectStage
from lien.steering import services
from lien.steering.models import FrameworkAgreement
from lien.structures.models import Structure
from lien.territories.models import Level, Territory

SEEDS_TITLE = "Convention-cadre régionale de la médiation sociale — Nord-Pas de Calais 2013–2015"


@transaction.atomic
def demo_regional_jobs(seed: int = 2026) -> int:
    """Posts, people and contracts for every demo structure without posts; how many posts."""
    admin = Membership.objects.get(user__email=demo_email("admin"), role=Role.ADMIN)
    rng = random.Random(seed)
    today = timezone.localdate()
    this_month = today.replace(day=1)
    types = {t.code: t for t in ContractType.objects.all()}
    stage = {s.code: s for s in ProjectStage.objects.all()}
    program = {p.code: p for p in FundingProgram.objects.all()}
    state = _org("Préfecture du Nord")
    region = _org("Région Hauts-de-France")
    created = 0
    for structure in Structure.objects.filter(is_active=True).order_by("name"):
        if Post.objects.filter(structure=structure).exists():
            continue
        service = structure.services.order_by("name").first()
        if service is None:
            continue
        team = Membership.objects.filter(structure=structure, role=Role.MEDIATOR).select_related(
            "user"
        )
        for membership in team:
            first, _, last = membership.user.full_name.partition(" ")
            person = jobs.mediator_create(
                actor=admin,
                structure=structure,
                data={"first_name": first, "last_name": last or first, "user": membership.user,
                      "qualification_level": rng.choice(["level_3", "level_4", "level_4"])},
            )  # fmt: skip
            post = jobs.post_create(
                actor=admin,
                structure=structure,
                data={"service": service, "title": "Médiateur·rice social·e",
                      "rome_code": "K1204", "fte": Decimal("1"), "status": "filled"},
            )  # fmt: skip
            created += 1
            start = _months(datetime.date(2023, 1, 1), rng.randint(0, 40))
            if start >= this_month:
                start = _months(this_month, -rng.randint(1, 6))
            kind = rng.choices(["adulte-relais", "pec", "cdi"], weights=[4, 3, 3])[0]
            if kind == "adulte-relais":
                ends = _months(start, 36) - datetime.timedelta(days=1)
                jobs.contract_create(
                    actor=admin,
                    post=post,
                    data={"mediator": person, "contract_type": types["adulte-relais"],
                          "starts_on": start, "ends_on": ends, "fte": Decimal("1"),
                          "agreement_starts_on": start, "agreement_ends_on": ends},
                )  # fmt: skip
                if state is not None:
                    lasting = rng.random() < 0.3
                    jobs.funding_create(
                        actor=admin,
                        holder=structure,
                        data={"funder": state, "program": program["adultes-relais"],
                              "amount": Decimal("21500"), "starts_on": start, "ends_on": ends,
                              "stage": stage["perennisation" if lasting else "developpement"],
                              "post": post},
                    )  # fmt: skip
            elif kind == "pec":
                ends = _months(start, 12) - datetime.timedelta(days=1)
                jobs.contract_create(
                    actor=admin,
                    post=post,
                    data={"mediator": person, "contract_type": types["pec"], "starts_on": start,
                          "ends_on": ends if ends < today else None, "fte": Decimal("0.8")},
                )  # fmt: skip
                if ends < today:
                    # The aided job became a lasting one: a CDI on the same post.
                    jobs.contract_create(
                        actor=admin,
                        post=post,
                        data={"mediator": person, "contract_type": types["cdi"],
                              "starts_on": ends + datetime.timedelta(days=1),
                              "fte": Decimal("1")},
                    )  # fmt: skip
            else:
                jobs.contract_create(
                    actor=admin,
                    post=post,
                    data={"mediator": person, "contract_type": types["cdi"], "starts_on": start,
                          "fte": rng.choice([Decimal("1"), Decimal("0.8")])},
                )  # fmt: skip
                if region is not None and rng.random() < 0.4:
                    jobs.funding_create(
                        actor=admin,
                        holder=structure,
                        data={"funder": region, "program": program["region"],
                              "amount": Decimal("12000"), "starts_on": start,
                              "ends_on": _months(start, 24) - datetime.timedelta(days=1),
                              "stage": stage["demarrage"], "post": post},
                    )  # fmt: skip
    return created


@transaction.atomic
def demo_steering() -> int:
    """The two agreements, their experiments, meetings and decisions; how many agreements."""
    if FrameworkAgreement.objects.filter(title=SEEDS_TITLE).exists():
        return 0
    steering = Membership.objects.get(user__email=demo_email("pilotage"), role=Role.STEERING)
    region = Territory.objects.get(code="32", level=Level.REGION)
    funders = [
        o
        for o in (
            _org("Préfecture du Nord"),
            _org("Région Hauts-de-France"),
            _org("Caisse des Dépôts"),
            _org("Département du Nord"),
        )
        if o is not None
    ]
    stage = {s.code: s for s in ProjectStage.objects.all()}
    services.agreement_create(
        actor=steering,
        data={
            "title": SEEDS_TITLE,
            "territory": region,
            "starts_on": datetime.date(2013, 1, 1),
            "ends_on": datetime.date(2015, 12, 31),
            "job_target": 3000,
            "signatories": funders,
            "other_signatories": "Union régionale des PIMMS, France Médiation, CRESS",
            "objectives": (
                "Structurer et professionnaliser la médiation sociale dans la région : un plan "
                "régional, une mission d'appui, un comité de pilotage réuni deux fois par an, "
                "des indicateurs de résultats et de suivi, et 3 000 emplois créés et consolidés, "
                "notamment par la mutualisation des postes entre employeurs. "
                "(Les emplois de la démonstration commencent en 2023 : l'observatoire de cette "
                "convention historique est vide.)"
            ),
        },
    )
    plan = services.agreement_create(
        actor=steering,
        data={
            "title": "Plan régional de la médiation sociale 2024–2027 (démonstration)",
            "territory": region,
            "starts_on": datetime.date(2024, 1, 1),
            "ends_on": datetime.date(2027, 12, 31),
            "job_target": 60,
            "signatories": funders,
            "objectives": (
                "Consolider les emplois d'adultes-relais en emplois durables, mutualiser les "
                "postes entre bailleurs, transporteurs et communes, et évaluer l'utilité sociale "
                "des dispositifs selon le référentiel CITER."
            ),
        },
    )
    indicators = {d.code: d for d in IndicatorDefinition.objects.all()}
    for code, value in (
        ("taux-resolution", "70"),
        ("sorties-positives", "60"),
        ("heures-formation-etp", "35"),
        ("structures-certifiees", "50"),
    ):
        if code in indicators:
            services.agreement_target_set(
                actor=steering, agreement=plan, indicator=indicators[code], value=Decimal(value)
            )
    roubaix = Territory.objects.filter(code="59512", level=Level.COMMUNE).first()
    lens = Territory.objects.filter(code="200033579", level=Level.EPCI).first()
    structures = list(Structure.objects.filter(is_active=True).order_by("name")[:2])
    if roubaix:
        services.experiment_create(
            actor=steering,
            agreement=plan,
            data={"name": "Médiateurs mutualisés bailleurs – ville", "site": "Quartier de l'Alma",
                  "territory": roubaix, "pooling_model": "shared_funding",
                  "structures": structures[:1], "funders": funders[:2],
                  "stage": stage["developpement"], "status": "running",
                  "starts_on": datetime.date(2024, 9, 1),
                  "notes": "Un poste financé à parts égales par le bailleur et la ville."},
        )  # fmt: skip
    if lens:
        services.experiment_create(
            actor=steering,
            agreement=plan,
            data={"name": "Correspondants de nuit en groupement d'employeurs",
                  "site": "Agglomération de Lens-Liévin", "territory": lens,
                  "pooling_model": "employers_group", "structures": structures[1:2],
                  "funders": funders[1:3], "stage": stage["demarrage"], "status": "planned",
                  "starts_on": datetime.date(2026, 1, 5)},
        )  # fmt: skip
    meetings = [
        (datetime.date(2024, 6, 13), [
            ("Recenser les postes adultes-relais arrivant à échéance en 2025", "Mission d'appui",
             datetime.date(2024, 10, 31), "done"),
            ("Proposer un modèle de convention de mutualisation", "Union régionale des PIMMS",
             datetime.date(2024, 12, 15), "done"),
        ]),
        (datetime.date(2024, 12, 12), [
            ("Lancer l'expérimentation bailleurs – ville à Roubaix", "Ville de Roubaix",
             datetime.date(2025, 3, 31), "done"),
            ("Former les encadrants à la saisie dans Lien", "Mission d'appui",
             datetime.date(2025, 6, 30), "done"),
        ]),
        (datetime.date(2025, 6, 19), [
            ("Présenter un premier bilan de l'utilité sociale (CITER)", "Mission d'appui",
             datetime.date(2025, 12, 1), "done"),
            ("Étudier le groupement d'employeurs de Lens-Liévin", "Communauté d'agglomération",
             datetime.date(2025, 11, 30), "open"),
        ]),
        (datetime.date(2025, 12, 11), [
            ("Sécuriser le financement des postes dont la convention finit en 2026",
             "Préfecture (BOP 147)", datetime.date(2026, 4, 30), "open"),
            ("Publier les données ouvertes du premier semestre", "Mission d'appui",
             datetime.date(2026, 9, 30), "open"),
        ]),
    ]  # fmt: skip
    for held_on, decisions in meetings:
        meeting = services.meeting_create(
            actor=steering,
            agreement=plan,
            data={"held_on": held_on, "kind": "steering", "participants": funders,
                  "other_participants": "Structures employeuses, mission d'appui",
                  "summary": "Point sur les emplois, les financements et l'évaluation."},
        )  # fmt: skip
        for text, owner, due_on, status in decisions:
            decision = services.decision_create(
                actor=steering,
                meeting=meeting,
                data={"text": text, "owner": owner, "due_on": due_on},
            )
            if status == "done":
                services.decision_update(
                    actor=steering,
                    decision=decision,
                    data={"status": "done", "follow_up": "Fait, présenté en séance suivante."},
                )
    return 2
