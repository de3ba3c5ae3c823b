"""Posts, people, contracts, funding and trainings for the demonstration.

For "Trait d'Union Médiation" (Roubaix), through the jobs services (journaled like real
ones): two adulte-relais posts (one whose State funding ends in four months with nothing
after, so the alert shows), a permanent post, a post pooled with the Lens PIMMS, an ended
aided contract with its exit, trainings and a practice-review session. Names are those of
the demo accounts. Re-running adds nothing.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lien.core.models import Membership, Role
from lien.demo.builder import demo_email
from lien.jobs import services
from lien.jobs.models import Post
from lien.referentiel.models import ContractType, FundingProgram, ProjectStage
from lien.structures.models import Organisation, Structure


def _member(local: str, role: str) -> Membership:
    return Membership.objects.select_related("structure", "user").get(
        user__email=demo_email(local), role=role
    )


def _org(name_start: str) -> Organisation:
    return Organisation.objects.filter(name__startswith=name_start).order_by("name").first()


def _months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


@transaction.atomic
def demo_jobs() -> int:
    """Create the jobs demo records once; returns how many posts were created."""
    coordinator = _member("coordination", Role.COORDINATOR)
    structure = coordinator.structure
    if Post.objects.filter(structure=structure).exists():
        return 0
    lens = Structure.objects.filter(name__startswith="Point information médiation").first()
    service = structure.services.order_by("name").last()
    today = timezone.localdate()
    this_month = today.replace(day=1)
    adulte_relais = ContractType.objects.get(code="adulte-relais")
    cdi = ContractType.objects.get(code="cdi")
    pec = ContractType.objects.get(code="pec")
    stage = {s.code: s for s in ProjectStage.objects.all()}
    program = {p.code: p for p in FundingProgram.objects.all()}
    state = _org("Préfecture du Nord")
    city = _org("Ville de Roubaix")
    region = _org("Région Hauts-de-France")

    def post(title, **extra):
        data = {"service": service, "title": title, "rome_code": "K1204", "fte": Decimal("1")}
        data.update(extra)
        return services.post_create(actor=coordinator, structure=structure, data=data)

    def person(first, last, **extra):
        data = {"first_name": first, "last_name": last, "qualification_level": "level_4"}
        data.update(extra)
        return services.mediator_create(actor=coordinator, structure=structure, data=data)

    def fund(target, funder, code, amount, start, end, stage_code, **extra):
        data = {
            "funder": funder,
            "program": program[code],
            "amount": Decimal(amount),
            "starts_on": start,
            "ends_on": end,
            "stage": stage[stage_code],
            target[0]: target[1],
        }
        data.update(extra)
        return services.funding_create(actor=coordinator, holder=structure, data=data)

    amina = person("Amina", "Benali", user=_member("mediateur", Role.MEDIATOR).user)
    bilal = person("Bilal", "Vasseur")
    manon = person("Manon", "Delattre", qualification_level="level_5")
    djibril = person("Djibril", "Cissé", qualification_level="level_3")

    # Two adulte-relais posts: three-year agreements, full time.
    ar_1 = post("Adulte-relais — médiation de proximité", status="filled")
    ar_2 = post("Adulte-relais — médiation de proximité (bis)", status="filled")
    agreement_1 = (_months(this_month, -31), _months(this_month, 5) - datetime.timedelta(days=1))
    agreement_2 = (_months(this_month, -8), _months(this_month, 28) - datetime.timedelta(days=1))
    for target, who, agreement in ((ar_1, amina, agreement_1), (ar_2, bilal, agreement_2)):
        services.contract_create(
            actor=coordinator,
            post=target,
            data={
                "mediator": who,
                "contract_type": adulte_relais,
                "starts_on": agreement[0],
                "ends_on": agreement[1],
                "fte": Decimal("1"),
                "agreement_starts_on": agreement[0],
                "agreement_ends_on": agreement[1],
            },
        )
    # The first one's State funding ends within four months and nothing follows: alert.
    fund(("post", ar_1), state, "adultes-relais", "21500", agreement_1[0], agreement_1[1],
         "perennisation")  # fmt: skip
    fund(("post", ar_2), state, "adultes-relais", "21500", agreement_2[0], agreement_2[1],
         "developpement")  # fmt: skip

    # A permanent post, funded by the city for the service.
    permanent = post("Coordinateur·rice de proximité", rome_code="K1205", status="filled")
    services.contract_create(
        actor=coordinator,
        post=permanent,
        data={"mediator": manon, "contract_type": cdi, "fte": Decimal("1"),
              "starts_on": _months(this_month, -40)},
    )  # fmt: skip
    fund(("service", service), city, "epci-commune", "45000", this_month.replace(month=1),
         this_month.replace(month=12, day=31), "developpement")  # fmt: skip

    # A post pooled with the Lens PIMMS (60 / 40), funded by the Région.
    pooled = post("Médiateur·rice mutualisé·e Roubaix – Lens", fte=Decimal("0.8"), status="open")
    if lens is not None:
        services.post_shares_set(
            actor=coordinator,
            post=pooled,
            shares=[(structure, Decimal("60")), (lens, Decimal("40"))],
        )
    fund(("post", pooled), region, "region", "18000", this_month, _months(this_month, 24)
         - datetime.timedelta(days=1), "demarrage")  # fmt: skip

    # An aided contract that ended with a qualifying training.
    ended = services.contract_create(
        actor=coordinator,
        post=permanent,
        data={"mediator": djibril, "contract_type": pec, "fte": Decimal("0.8"),
              "starts_on": _months(this_month, -26), "ends_on": _months(this_month, -14)},
    )  # fmt: skip
    services.contract_update(
        actor=coordinator,
        contract=ended,
        data={"end_reason": "term", "exit_outcome": "qualifying_training"},
    )

    # Professionalisation.
    services.training_create(
        actor=coordinator,
        mediator=amina,
        data={"kind": "qualifying", "title": "Titre professionnel de médiateur social",
              "body": "AFPA Roubaix", "hours": Decimal("420"),
              "starts_on": _months(this_month, -10), "ends_on": _months(this_month, -2),
              "qualification_obtained": "TP médiateur social accès aux droits et services"},
    )  # fmt: skip
    services.training_create(
        actor=coordinator,
        mediator=bilal,
        data={"kind": "continuing", "title": "Gestion des conflits en espace public",
              "body": "France Médiation", "hours": Decimal("21"),
              "starts_on": _months(this_month, -3)},
    )  # fmt: skip
    services.practice_review_create(
        actor=coordinator,
        structure=structure,
        data={"held_on": _months(this_month, -1) + datetime.timedelta(days=9),
              "facilitator": "Psychologue du travail (intervenante extérieure)",
              "duration_minutes": 120},
        attendees=[amina, bilal, manon],
    )  # fmt: skip
    return 4
